"""Tests of crmcore.segmentation.rfm_scores and RFMScorer."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import CRMWarning, NotFittedError, ValidationError
from crmcore.segmentation import (
    SEGMENT_MAPS,
    RFMScorer,
    assign_segments,
    rfm_scores,
    rfm_table,
)

DATA = Path(__file__).resolve().parent / "data" / "rfm_orders.csv"


@pytest.fixture(scope="module")
def r_table() -> pd.DataFrame:
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    orders = pd.read_csv(DATA, parse_dates=["order_date"])
    return rfm_table(orders, as_of="2006-12-31", date_col="order_date", amount_col="revenue")


def test_r_preset_breaks_are_the_r_package_thresholds(r_table: pd.DataFrame) -> None:
    scorer = RFMScorer(method="r-rfm").fit(r_table)
    # The R package's documentation passes its own computed breaks as custom thresholds:
    # rfm_table_order(..., recency_bins = c(115, 181, 297, 482), frequency_bins =
    # c(4, 5, 6, 8), monetary_bins = c(256, 382, 506, 666)) (rounded to whole numbers).
    np.testing.assert_array_equal(np.round(scorer.edges_["recency"]), [115, 181, 297, 482])
    np.testing.assert_array_equal(np.round(scorer.edges_["frequency"]), [4, 5, 6, 8])
    np.testing.assert_array_equal(np.round(scorer.edges_["monetary"]), [256, 382, 506, 666])
    # hand check of R's bins(): type-7 quantiles of the sorted values + 1
    x = np.sort(r_table["recency_days"].to_numpy())
    pos = (len(x) - 1) * 0.6
    lo = int(np.floor(pos))
    expected = x[lo] + (pos - lo) * (x[lo + 1] - x[lo]) + 1
    assert scorer.edges_["recency"][2] == pytest.approx(expected, rel=1e-12)


def test_r_preset_reproduces_the_readme_scores(r_table: pd.DataFrame) -> None:
    scores = rfm_scores(r_table, method="r-rfm")
    # R package rfm README, rfm_table() output for analysis date 2006-12-31.
    readme = {
        "Abbey O'Reilly": 343,
        "Add Senger": 412,
        "Aden Lesch": 323,
        "Admiral Senger": 433,
        "Agness O'Keefe": 555,
        "Aileen Barton": 555,
        "Ailene Hermann": 355,
        "Aiyanna Bruen": 321,
        "Ala Schmidt": 212,
        "Alannah Borer": 121,
    }
    got = scores.loc[list(readme), "rfm_score"].to_dict()
    assert got == readme


def test_r_preset_with_custom_breaks_uses_half_open_bins(r_table: pd.DataFrame) -> None:
    thresholds = {
        "recency": [115, 181, 297, 482],
        "frequency": [4, 5, 6, 8],
        "monetary": [256, 382, 506, 666],
    }
    scores = rfm_scores(r_table, method="r-rfm", thresholds=thresholds)
    # R: score i when lower_i <= x < upper_i; recency reversed.
    f = r_table["frequency"].to_numpy()
    expected_f = 1 + (f >= 4).astype(int) + (f >= 5) + (f >= 6) + (f >= 8)
    np.testing.assert_array_equal(scores["f_score"].to_numpy(), expected_f)
    r = r_table["recency_days"].to_numpy()
    expected_r = 5 - ((r >= 115).astype(int) + (r >= 181) + (r >= 297) + (r >= 482))
    np.testing.assert_array_equal(scores["r_score"].to_numpy(), expected_r)


# pymc-marketing tests/clv/test_utils.py, TestRFM.transaction_data and
# test_rfm_segmentation_config: with the default config the six customers are
# Other, Inactive, At Risk, Premium, Repeat, Top Spender.
PYMC_ROWS = [
    [1, "2015-01-01", 1], [1, "2015-02-06", 2], [2, "2015-01-01", 2],
    [3, "2015-01-01", 3], [3, "2015-01-02", 1], [3, "2015-01-05", 5],
    [4, "2015-01-16", 6], [4, "2015-02-02", 3], [4, "2015-02-05", 3],
    [4, "2015-02-05", 6], [5, "2015-01-16", 3], [5, "2015-01-17", 1],
    [5, "2015-01-18", 8], [6, "2015-02-02", 5],
]  # fmt: skip
PYMC_EXPECTED = [
    "Other", "Inactive Customer", "At Risk Customer",
    "Premium Customer", "Repeat Customer", "Top Spender",
]  # fmt: skip


def _pymc_table(rows: list[list[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["identifier", "date", "monetary_value"])
    frame["date"] = pd.to_datetime(frame["date"])
    # pymc-marketing's rfm_summary(include_first_transaction=True): purchase days,
    # mean spend per purchase day, days since the last purchase up to the last date.
    return rfm_table(
        frame,
        as_of=frame["date"].max(),
        customer_col="identifier",
        amount_col="monetary_value",
        frequency="days",
        monetary="mean",
    )


def test_pymc_preset_reproduces_rfm_segments_on_its_test_fixture() -> None:
    table = _pymc_table(PYMC_ROWS)
    with pytest.warns(CRMWarning, match="frequency has repeated quantile edges; scored with 3"):
        scores = rfm_scores(table, method="pymc-marketing")
    # Hand derivation of pandas.qcut(q=4): recency [0, 36, 32, 1, 19, 4] has edges
    # 1.75, 11.5, 28.75 -> R = 4,1,1,4,2,3; frequency [2,1,3,3,3,1] has edges
    # 1.25, 2.5, (3 = max, dropped) -> F = 2,1,3,3,3,1; monetary [1.5,2,3,6,4,5] has
    # edges 2.25, 3.5, 4.75 -> M = 1,1,2,4,3,4.
    assert scores["rfm_code"].tolist() == ["421", "111", "132", "434", "233", "314"]
    segments = assign_segments(scores, SEGMENT_MAPS["pymc-marketing"])
    assert segments.tolist() == PYMC_EXPECTED


@pytest.mark.filterwarnings("ignore:rfm_scores. monetary has repeated")
def test_pymc_preset_degrades_to_two_bins_like_its_warning_test() -> None:
    # pymc-marketing test_rfm_segmentation_warning: "RFM score will not exceed 2 for
    # f_quartile" on this data.
    rows = [
        [1, "2015-01-01", 1], [1, "2015-02-06", 2], [2, "2015-01-01", 2],
        [3, "2015-01-02", 1], [3, "2015-01-05", 3], [4, "2015-01-16", 4],
        [4, "2015-02-05", 5], [5, "2015-01-17", 1], [5, "2015-01-18", 2],
        [5, "2015-01-19", 2],
    ]  # fmt: skip
    with pytest.warns(CRMWarning, match="frequency has repeated quantile edges; scored with 2"):
        scores = rfm_scores(_pymc_table(rows), method="pymc-marketing")
    assert scores["f_score"].max() == 2


def test_quantile_scores_match_a_hand_computation() -> None:
    table = pd.DataFrame(
        {
            "recency_days": np.arange(1.0, 11.0),
            "frequency": np.arange(1, 11),
            "monetary": np.arange(10.0, 110.0, 10.0),
        },
        index=pd.Index(list("abcdefghij"), name="customer_id"),
    )
    scores = rfm_scores(table, bins=5)
    # type-7 quintile edges of 1..10 are 2.8, 4.6, 6.4, 8.2 (right-closed bins)
    assert scores["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["rfm_code"].iloc[0] == "511"
    assert scores["rfm_score"].iloc[0] == 511
    assert scores["fm_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_repeated_edges_warn_with_the_effective_bin_count() -> None:
    table = pd.DataFrame(
        {
            "recency_days": np.arange(10.0),
            "frequency": [1] * 8 + [2, 5],
            "monetary": 1.0 + np.arange(10),
        }
    )
    with pytest.warns(CRMWarning, match="frequency .* scored with 2 bins instead of 5"):
        scores = rfm_scores(table)
    assert sorted(scores["f_score"].unique()) == [1, 2]


def test_forced_rank_gives_equal_bins_and_breaks_ties_by_id() -> None:
    table = pd.DataFrame(
        {"recency_days": [3.0] * 6, "frequency": [1] * 6, "monetary": [5.0] * 6},
        index=["f", "e", "d", "c", "b", "a"],
    )
    scores = rfm_scores(table, bins=3, ties="rank")
    assert scores["f_score"].to_dict() == {"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 3}
    assert scores["r_score"].value_counts().tolist() == [2, 2, 2]


def test_random_ties_are_reproducible_with_a_seed() -> None:
    table = pd.DataFrame(
        {"recency_days": [3.0] * 40, "frequency": [1] * 40, "monetary": [5.0] * 40},
        index=[f"c{i:02d}" for i in range(40)],
    )
    a = rfm_scores(table, ties="random", random_state=1)
    b = rfm_scores(table, ties="random", random_state=1)
    c = rfm_scores(table, ties="random", random_state=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["f_score"].equals(c["f_score"])
    assert a["f_score"].value_counts().tolist() == [8] * 5
    # the random order is attached to the customer ids, not to the row positions
    shuffled = rfm_scores(table.iloc[::-1], ties="random", random_state=1)
    pd.testing.assert_frame_equal(shuffled.loc[a.index], a)


def test_nested_binning_scores_frequency_within_each_recency_bin() -> None:
    rng = np.random.default_rng(0)
    n = 400
    table = pd.DataFrame(
        {
            "recency_days": rng.permutation(n).astype(float),
            "frequency": rng.permutation(n) + 1,
            "monetary": rng.permutation(n) * 1.0 + 1,
        }
    )
    scores = rfm_scores(table, bins=4, binning="nested", ties="rank")
    counts = scores.groupby(["r_score", "f_score"]).size()
    assert (counts == 25).all() and len(counts) == 16
    shared = rfm_scores(table, bins=4, binning="nested")
    assert shared.groupby("r_score")["f_score"].nunique().eq(4).all()


def test_fixed_thresholds_are_right_closed() -> None:
    table = pd.DataFrame(
        {"recency_days": [10.0, 30, 31], "frequency": [1, 2, 3], "monetary": [50.0, 100, 101]}
    )
    scores = rfm_scores(
        table,
        method="fixed",
        thresholds={"recency": [30], "frequency": [1, 2], "monetary": [100]},
    )
    assert scores["r_score"].tolist() == [2, 2, 1]
    assert scores["f_score"].tolist() == [1, 2, 3]
    assert scores["m_score"].tolist() == [1, 1, 2]


def test_weights_change_rfm_score() -> None:
    table = pd.DataFrame({"recency_days": [1.0, 9.0], "frequency": [1, 9], "monetary": [1.0, 9.0]})
    scores = rfm_scores(table, bins=2, weights=(1, 1, 1))
    assert scores["rfm_score"].tolist() == [4, 5]  # 2+1+1, 1+2+2
    scores = rfm_scores(table, bins=2, weights=(1, 0.5, 0.25))
    assert scores["rfm_score"].tolist() == [2.75, 2.5]  # 2+0.5+0.25, 1+1+0.5


def test_customers_without_purchases_score_one_and_do_not_move_thresholds() -> None:
    base = pd.DataFrame(
        {"recency_days": [1.0, 5.0, 9.0], "frequency": [3, 2, 1], "monetary": [9.0, 5.0, 1.0]},
        index=["a", "b", "c"],
    )
    extra = pd.DataFrame(
        {"recency_days": [np.nan], "frequency": [0], "monetary": [0.0]}, index=["z"]
    )
    with_z = rfm_scores(pd.concat([base, extra]), bins=3)
    without = rfm_scores(base, bins=3)
    pd.testing.assert_frame_equal(with_z.loc[["a", "b", "c"]], without)
    assert with_z.loc["z", "rfm_code"] == "111"


def test_scorer_thresholds_learned_on_one_period_score_another() -> None:
    train = pd.DataFrame(
        {
            "recency_days": np.arange(1.0, 11.0),
            "frequency": np.arange(1, 11),
            "monetary": np.arange(1.0, 11.0),
        }
    )
    other = pd.DataFrame(
        {"recency_days": [0.0, 100.0], "frequency": [50, 0], "monetary": [3.0, 8.3]},
        index=["x", "y"],
    )
    scorer = RFMScorer(bins=5).fit(train)
    scores = scorer.transform(other)
    assert scores["r_score"].tolist() == [5, 1]
    assert scores["f_score"].tolist() == [5, 1]
    assert scores["m_score"].tolist() == [2, 5]  # 3 <= 4.6 -> bin 2; 8.3 > 8.2 -> bin 5
    clone = pickle.loads(pickle.dumps(scorer))
    pd.testing.assert_frame_equal(clone.transform(other), scores)


def test_unfitted_scorer_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        RFMScorer().transform(
            pd.DataFrame({"recency_days": [1.0], "frequency": [1], "monetary": [1.0]})
        )


def test_parameter_errors_read_like_sklearn() -> None:
    table = pd.DataFrame({"recency_days": [1.0], "frequency": [1], "monetary": [1.0]})
    with pytest.raises(
        ValidationError,
        match=r"'bins' parameter of RFMScorer.fit must be an int in the range \[2, inf\). Got 1",
    ):
        rfm_scores(table, bins=1)
    with pytest.raises(ValidationError, match="'ties' parameter"):
        rfm_scores(table, ties="coin")
    with pytest.raises(ValidationError, match="forced rank"):
        rfm_scores(table, ties="rank", method="r-rfm")


@st.composite
def rfm_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(2, 60))
    rec = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    freq = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    mon = draw(st.lists(st.integers(1, 200), min_size=n, max_size=n))
    frame: pd.DataFrame = pd.DataFrame(
        {
            "recency_days": np.asarray(rec, float),
            "frequency": freq,
            "monetary": np.asarray(mon, float),
        },
        index=pd.Index([f"c{i:03d}" for i in range(n)], name="customer_id"),
    )
    return frame


@settings(max_examples=60, deadline=None)
@given(
    rfm_frames(),
    st.integers(2, 7),
    st.sampled_from(["shared", "rank"]),
    st.sampled_from(["independent", "nested"]),
    st.sampled_from(["quantile", "r-rfm"]),
    st.randoms(),
)
def test_score_invariants(table, bins, ties, binning, method, rnd) -> None:  # type: ignore[no-untyped-def]
    if method == "r-rfm" and (ties != "shared" or binning != "independent"):
        method = "quantile"
    before = table.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        scores = rfm_scores(table, bins=bins, ties=ties, binning=binning, method=method)
        order = list(range(len(table)))
        rnd.shuffle(order)
        shuffled = rfm_scores(
            table.iloc[order], bins=bins, ties=ties, binning=binning, method=method
        )
    pd.testing.assert_frame_equal(table, before)  # input not mutated
    for col in ("r_score", "f_score", "m_score", "fm_score"):
        assert scores[col].between(1, bins).all()
    pd.testing.assert_frame_equal(shuffled.loc[scores.index], scores)  # row order irrelevant
    if binning == "independent":
        # a more recent last purchase never gets a lower R score
        rec = table["recency_days"].to_numpy()
        r = scores["r_score"].to_numpy()
        more_recent = rec[:, None] < rec[None, :]
        assert (r[:, None] >= r[None, :])[more_recent].all()
