"""Tests of customer tiers: ABC, Curry's pyramid, quantile, profitability, relationship type."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, CRMWarning, ValidationError
from crmcore.segmentation import (
    abc_tiers,
    profitability_tiers,
    pyramid_tiers,
    quantile_tiers,
    relationship_type,
)

ISSUE_VALUES = [50, 20, 10, 8, 5, 4, 2, 1]


def _issue_series() -> pd.Series:
    return pd.Series(ISSUE_VALUES, index=[f"c{v:02d}" for v in ISSUE_VALUES], dtype=float)


def _members(tiers: pd.DataFrame, label: str) -> set[float]:
    return set(tiers.loc[tiers["tier"] == label, "value"].tolist())


# --- ABC: the acceptance example of issue 3 -------------------------------------------------


def test_abc_inclusive_puts_50_20_10_in_a_8_5_in_b_and_the_rest_in_c() -> None:
    # Hand derivation: total 100, cumulative 50, 70, 80, 88, 93, 97, 99, 100 (%).
    # Inclusive: A if own cumulative share <= 80%, B if <= 95%, else C.
    tiers = abc_tiers(_issue_series())
    assert _members(tiers, "A") == {50, 20, 10}
    assert _members(tiers, "B") == {8, 5}
    assert _members(tiers, "C") == {4, 2, 1}


def test_abc_crossing_puts_the_threshold_crossing_customer_in_the_upper_tier() -> None:
    # Crossing: A if the share before the customer < 80% (0, 50, 70 -> 50, 20, 10);
    # B if the share before < 95% (80, 88, 93 -> 8, 5, 4); C: 2, 1.
    tiers = abc_tiers(_issue_series(), boundary="crossing")
    assert _members(tiers, "A") == {50, 20, 10}
    assert _members(tiers, "B") == {8, 5, 4}
    assert _members(tiers, "C") == {2, 1}


def test_abc_reports_rank_and_cumulative_share_in_the_input_order() -> None:
    shuffled = _issue_series().iloc[[3, 0, 7, 1, 6, 2, 5, 4]]
    tiers = abc_tiers(shuffled)
    assert list(tiers.index) == list(shuffled.index)
    assert tiers.loc["c08", "rank"] == 4
    assert tiers.loc["c08", "cumulative_share"] == pytest.approx(0.88)
    assert tiers.loc["c50", "value_share"] == pytest.approx(0.5)
    assert list(tiers["tier"].cat.categories) == ["A", "B", "C"]


def test_abc_inclusive_leaves_a_dominant_first_customer_out_of_tier_a() -> None:
    # 90 / 100 = 0.90 > 0.80 -> B inclusive; crossing always puts the first in A.
    values = pd.Series([90.0, 5.0, 5.0], index=["x", "y", "z"])
    assert abc_tiers(values).loc["x", "tier"] == "B"
    assert abc_tiers(values, boundary="crossing").loc["x", "tier"] == "A"


def test_abc_breaks_ties_by_customer_id_ascending() -> None:
    # Four equal values of 25: cumulative 25, 50, 75, 100. With (0.5,) inclusive the two
    # smallest ids are A.
    values = pd.Series(25.0, index=["d", "b", "a", "c"])
    tiers = abc_tiers(values, thresholds=(0.5,), labels=("top", "rest"))
    assert sorted(tiers.index[tiers["tier"] == "top"]) == ["a", "b"]


def test_abc_counts_a_share_equal_to_the_threshold_up_to_float_noise() -> None:
    # ten values of 0.1: the cumulative sum of three is 0.30000000000000004 in floating point
    values = pd.Series([0.1] * 10, index=range(10))
    tiers = abc_tiers(values, thresholds=(0.3,), labels=("A", "B"))
    assert (tiers["tier"] == "A").sum() == 3


def test_abc_accepts_a_frame_with_value_and_customer_columns() -> None:
    frame = pd.DataFrame({"cid": list("abcdefgh"), "revenue": ISSUE_VALUES})
    tiers = abc_tiers(frame, value_col="revenue", customer_col="cid")
    assert tiers.loc[["a", "b", "c"], "tier"].tolist() == ["A", "A", "A"]
    assert tiers.index.name == "cid"


def test_abc_accepts_a_polars_frame_with_a_customer_id_column() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"customer_id": list("abcdefgh"), "revenue": ISSUE_VALUES})
    tiers = abc_tiers(frame, value_col="revenue")
    assert "".join(tiers["tier"]) == "AAABBCCC"


def test_abc_rejects_negative_values_with_the_ids() -> None:
    with pytest.raises(ValidationError, match=r"1 of 3 are negative \(first ids: b\)"):
        abc_tiers(pd.Series([5.0, -1.0, 3.0], index=list("abc")))


def test_abc_rejects_a_zero_total() -> None:
    with pytest.raises(ValidationError, match="sum to 0"):
        abc_tiers(pd.Series([0.0, 0.0]))


def test_abc_rejects_missing_values_and_repeated_ids() -> None:
    with pytest.raises(ValidationError, match="1 values are missing"):
        abc_tiers(pd.Series([1.0, np.nan]))
    with pytest.raises(ValidationError, match="repeat"):
        abc_tiers(pd.Series([1.0, 2.0], index=["a", "a"]))


def test_abc_rejects_bad_parameters() -> None:
    with pytest.raises(ValidationError, match="'boundary' parameter"):
        abc_tiers(_issue_series(), boundary="strict")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="strictly increasing"):
        abc_tiers(_issue_series(), thresholds=(0.95, 0.8))
    with pytest.raises(ValidationError, match="3 distinct labels"):
        abc_tiers(_issue_series(), labels=("A", "B"))
    with pytest.raises(ValidationError, match="value_col"):
        abc_tiers(pd.DataFrame({"v": [1.0]}))
    with pytest.raises(ColumnNotFoundError, match="revenue"):
        abc_tiers(pd.DataFrame({"revenue": [1.0]}), value_col="revnue")
    with pytest.raises(ValidationError, match="Series indexed by customer id"):
        abc_tiers([1.0, 2.0])


def test_abc_of_an_empty_series_is_an_empty_frame() -> None:
    tiers = abc_tiers(pd.Series([], dtype=float))
    assert len(tiers) == 0
    assert list(tiers.columns) == ["value", "rank", "value_share", "cumulative_share", "tier"]


# --- Curry's pyramid ---------------------------------------------------------------------


def test_pyramid_on_100_customers_gives_1_4_15_80() -> None:
    revenue = pd.Series(np.arange(100, 0, -1, dtype=float), index=range(100))
    tiers = pyramid_tiers(revenue)
    counts = tiers["tier"].value_counts(sort=False)
    assert counts[["top", "big", "medium", "small"]].tolist() == [1, 4, 15, 80]
    assert tiers.loc[0, "tier"] == "top"  # revenue 100
    assert set(tiers["tier"].iloc[1:5]) == {"big"}


def test_pyramid_rounds_layer_sizes_up_from_the_top() -> None:
    # 50 customers: ceil(0.5) = 1 top, ceil(2.5) = 3 cumulative -> 2 big,
    # ceil(10) = 10 cumulative -> 7 medium, 40 small.
    tiers = pyramid_tiers(pd.Series(np.arange(50, dtype=float)))
    counts = tiers["tier"].value_counts(sort=False)
    assert counts[["top", "big", "medium", "small"]].tolist() == [1, 2, 7, 40]


def test_pyramid_adds_inactive_and_prospect_layers_without_ranks() -> None:
    revenue = pd.Series([10.0, 5.0], index=["a", "b"])
    tiers = pyramid_tiers(revenue, inactive=["c"], prospects=["d", "e"])
    assert list(tiers.index) == ["a", "b", "c", "d", "e"]
    # 2 active: cumulative bounds ceil(0.02)=1, ceil(0.1)=1, ceil(0.4)=1, ceil(2)=2, so
    # position 0 is top and position 1 falls through big and medium to small
    assert tiers["tier"].tolist() == ["top", "small", "inactive", "prospect", "prospect"]
    assert tiers["rank"].isna().tolist() == [False, False, True, True, True]
    assert tiers["value"].isna().tolist() == [False, False, True, True, True]


def test_pyramid_rejects_a_customer_in_two_layers() -> None:
    with pytest.raises(ValidationError, match="both active and inactive"):
        pyramid_tiers(pd.Series([1.0], index=["a"]), inactive=["a"])
    with pytest.raises(ValidationError, match="must sum to 1"):
        pyramid_tiers(pd.Series([1.0]), shares=(0.1, 0.1))


# --- quantile tiers ------------------------------------------------------------------------


def test_quantile_deciles_of_100_distinct_values_hold_10_each_top_decile_largest() -> None:
    values = pd.Series(np.arange(100, dtype=float))
    tiers = quantile_tiers(values)
    assert tiers["tier"].value_counts().tolist() == [10] * 10
    assert tiers.loc[99, "tier"] == 10
    assert tiers.loc[0, "tier"] == 1


def test_quantile_shared_ties_get_one_tier_and_warn_about_empty_tiers() -> None:
    # values 1,1,1,1,2,3 into 3 bins: the four 1s share min-rank 1 -> tier 1; 2 has rank 5
    # -> 1 + 3*4 // 6 = 3; 3 -> rank 6 -> 1 + 15 // 6 = 3. Tier 2 is empty.
    values = pd.Series([1, 1, 1, 1, 2, 3], index=list("abcdef"), dtype=float)
    with pytest.warns(CRMWarning, match="effective tiers: 2"):
        tiers = quantile_tiers(values, bins=3)
    assert tiers["tier"].tolist() == [1, 1, 1, 1, 3, 3]


def test_quantile_forced_rank_orders_ties_by_id() -> None:
    # ranks by value then id: a1 b2 c3 d4 e5 f6 -> tiers 1 1 2 2 3 3
    values = pd.Series([1, 1, 1, 1, 2, 3], index=list("dcba" + "ef"), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiers = quantile_tiers(values, bins=3, ties="rank")
    assert tiers.loc[list("abcdef"), "tier"].tolist() == [1, 1, 2, 2, 3, 3]


def test_quantile_random_ties_are_reproducible_and_balanced() -> None:
    values = pd.Series(np.zeros(30), index=range(30))
    one = quantile_tiers(values, bins=3, ties="random", random_state=7)
    two = quantile_tiers(values.iloc[::-1], bins=3, ties="random", random_state=7)
    pd.testing.assert_frame_equal(one, two.loc[one.index])
    assert one["tier"].value_counts().tolist() == [10, 10, 10]
    other = quantile_tiers(values, bins=3, ties="random", random_state=8)
    assert not other["tier"].equals(one["tier"])


def test_quantile_rejects_one_bin() -> None:
    with pytest.raises(ValidationError, match="'bins' parameter of quantile_tiers"):
        quantile_tiers(pd.Series([1.0, 2.0]), bins=1)


# --- profitability tiers -----------------------------------------------------------------


def test_profitability_tiers_make_negative_profit_lead_and_cut_the_rest_by_count() -> None:
    # 8 customers with profit >= 0: ceil(0.8) = 1 platinum, ceil(2.4) = 3 -> 2 gold, 5 iron.
    profit = pd.Series([120, 80, 40, 30, 20, 10, 5, 0, -5, -40], index=list("abcdefghij"))
    tiers = profitability_tiers(profit)
    assert tiers["tier"].tolist() == ["platinum"] + ["gold"] * 2 + ["iron"] * 5 + ["lead"] * 2
    assert tiers.loc["j", "rank"] == 10


def test_profitability_tiers_accept_other_cutoffs() -> None:
    profit = pd.Series(np.arange(10, 0, -1, dtype=float))
    tiers = profitability_tiers(profit, shares=(0.2, 0.5))
    assert tiers["tier"].value_counts(sort=False).tolist() == [2, 3, 5, 0]
    with pytest.raises(ValidationError, match="2 cumulative shares"):
        profitability_tiers(profit, shares=(0.2,))


# --- relationship type -------------------------------------------------------------------


def _b2b_orders() -> Any:
    # a: monthly orders of ~1000 (gaps 31, 29, 31: CV = 0.93/30.33 = 0.03), contract.
    # b: two small orders -> transactional. c: irregular large orders without contract
    # (gaps 1, 100: CV = 49.5/50.5 = 0.98) -> hybrid (large only).
    return pd.DataFrame(
        {
            "customer_id": ["a"] * 4 + ["b"] * 2 + ["c"] * 3,
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-02-01",
                    "2024-03-01",
                    "2024-04-01",
                    "2024-01-10",
                    "2024-06-20",
                    "2024-01-01",
                    "2024-01-02",
                    "2024-04-11",
                ]
            ),
            "amount": [900.0, 1000.0, 1100.0, 1000.0, 50.0, 80.0, 3000.0, 2500.0, 2800.0],
        }
    )


def test_relationship_type_follows_the_documented_points_rule() -> None:
    out = relationship_type(_b2b_orders(), contracts=["a"])
    assert out["relationship_type"].tolist() == ["relationship", "transactional", "hybrid"]
    # population CV of gaps (31, 29, 31) computed by hand: mean 91/3, std sqrt(8/9)
    assert out.loc["a", "gap_cv"] == pytest.approx(np.sqrt(8 / 9) / (91 / 3))
    assert out.loc["c", "gap_cv"] == pytest.approx(49.5 / 50.5)
    assert out["gap_cv"].isna().tolist() == [False, True, False]
    assert out["regular"].tolist() == [True, False, False]
    # median of mean order values (1000, 65, 2766.67) is 1000 -> a and c are large
    assert out["large"].tolist() == [True, False, True]


def test_relationship_type_thresholds_are_configurable() -> None:
    out = relationship_type(_b2b_orders(), cv_threshold=1.0, size_threshold=10_000)
    assert out["relationship_type"].tolist() == ["hybrid", "transactional", "hybrid"]


def test_relationship_type_counts_same_day_orders_once_for_gaps() -> None:
    orders = _b2b_orders()
    extra = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2024-02-01"]), "amount": [1000.0]}
    )
    out = relationship_type(pd.concat([orders, extra], ignore_index=True))
    assert out.loc["a", "orders"] == 5
    assert out.loc["a", "purchase_days"] == 4


def test_relationship_type_gives_the_same_result_for_polars() -> None:
    pl = pytest.importorskip("polars")
    expected = relationship_type(_b2b_orders(), contracts=["a"])
    got = relationship_type(pl.from_pandas(_b2b_orders()), contracts=["a"])
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_relationship_type_reports_missing_columns_and_values() -> None:
    with pytest.raises(ColumnNotFoundError, match="amount"):
        relationship_type(_b2b_orders().drop(columns="amount"))
    bad = _b2b_orders()
    bad.loc[0, "amount"] = np.nan
    with pytest.raises(ValidationError, match="1 missing values"):
        relationship_type(bad)


# --- invariants ----------------------------------------------------------------------------

values_strategy = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
).filter(lambda xs: sum(xs) > 0)


@settings(max_examples=60, deadline=None)
@given(
    values=values_strategy,
    seed=st.integers(0, 2**32 - 1),
    boundary=st.sampled_from(["inclusive", "crossing"]),
)
def test_abc_is_invariant_to_row_order_partitions_everyone_and_does_not_mutate(
    values: list[float], seed: int, boundary: str
) -> None:
    series = pd.Series(values, index=[f"id{i}" for i in range(len(values))])
    copy = series.copy()
    perm = np.random.default_rng(seed).permutation(len(values))
    one = abc_tiers(series, boundary=boundary)  # type: ignore[arg-type]
    two = abc_tiers(series.iloc[perm], boundary=boundary)  # type: ignore[arg-type]
    pd.testing.assert_series_equal(series, copy)
    pd.testing.assert_frame_equal(one, two.loc[one.index])
    assert len(one) == len(series) and one["tier"].notna().all()
    # tiers are monotone in rank: a better rank never has a worse tier
    by_rank = one.sort_values("rank")["tier"].cat.codes.to_numpy()
    assert np.all(np.diff(by_rank) >= 0)
    # crossing tiers are never worse than inclusive ones
    other = "crossing" if boundary == "inclusive" else "inclusive"
    alt = abc_tiers(series, boundary=other)  # type: ignore[arg-type]
    cross, incl = (alt, one) if other == "crossing" else (one, alt)
    assert np.all(cross["tier"].cat.codes.to_numpy() <= incl["tier"].cat.codes.to_numpy())


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
    bins=st.integers(2, 10),
    ties=st.sampled_from(["shared", "rank", "random"]),
)
def test_quantile_tiers_lie_in_1_to_bins_and_ignore_row_order(
    values: list[int], seed: int, bins: int, ties: str
) -> None:
    series = pd.Series(values, index=[f"id{i}" for i in range(len(values))], dtype=float)
    perm = np.random.default_rng(seed).permutation(len(values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        one = quantile_tiers(series, bins=bins, ties=ties, random_state=3)  # type: ignore[arg-type]
        two = quantile_tiers(series.iloc[perm], bins=bins, ties=ties, random_state=3)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(one, two.loc[one.index])
    assert one["tier"].between(1, bins).all()
    # a larger value never gets a lower tier
    ordered = one.sort_values(["value", "tier"])
    assert np.all(np.diff(ordered["tier"].to_numpy()) >= 0)
    if ties == "shared":
        assert (one.groupby("value")["tier"].nunique() == 1).all()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(-100, 100), min_size=1, max_size=60), seed=st.integers(0, 99))
def test_pyramid_and_profitability_partition_everyone_and_ignore_row_order(
    values: list[int], seed: int
) -> None:
    series = pd.Series(values, index=range(len(values)), dtype=float)
    perm = np.random.default_rng(seed).permutation(len(values))
    for func in (pyramid_tiers, profitability_tiers):
        one = func(series)
        two = func(series.iloc[perm])
        pd.testing.assert_frame_equal(one, two.loc[one.index])
        assert sorted(one.index) == list(range(len(values)))
        assert one["tier"].notna().all()
    prof = profitability_tiers(series)
    assert ((prof["tier"] == "lead") == (series < 0)).all()
