"""Issue 8, bad-input fixes (fixer 1): validation helpers, entities, frames, segment maps,
migration, rfm_table overflow, synthetic data and money.

Each test pins one rule of DESIGN.md ("bad input gets a clear error, and nothing is lost")
with an expected value derived by hand in the test: either the error class and the words
that name the parameter/column and the rule, or an exact number (sums and means of values
near the float64 maximum, 1.7976931348623157e308, whose true value is representable).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import crmcore.customers as cu
import crmcore.datasets as ds
import crmcore.frames as fr
import crmcore.money as mo
import crmcore.segmentation as seg
from crmcore._validation import exact_scale
from crmcore.exceptions import ColumnNotFoundError, ValidationError

HUGE = 1.7e308  # representable; HUGE + HUGE is not (float64 max is about 1.798e308)


def _orders(amount: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-10"]),
            "amount": [amount, amount, 15.0],
        }
    )


# --- exact_scale -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    # frexp: max = m * 2**e with 0.5 <= m < 1, scale = 2**(e - 1), so max / scale is in [1, 2):
    # 5 = 0.625 * 2**3 -> 4;  1 = 0.5 * 2**1 -> 1;  1.7e308 = 0.946 * 2**1024 -> 2**1023
    [([3.0, -5.0], 4.0), ([1.0], 1.0), ([HUGE], 2.0**1023), ([], 1.0), ([0.0], 1.0)],
)
def test_exact_scale_is_a_power_of_two_bounding_the_values(
    values: list[float], expected: float
) -> None:
    assert exact_scale(values) == expected
    arr = np.asarray(values, dtype=float)
    assert np.all(np.abs(arr / expected) < 2.0)


# --- rfm_table: sums near the float64 maximum ------------------------------------------------


def test_rfm_table_mean_of_huge_amounts_is_exact() -> None:
    # customer a: two orders of 1.7e308; the mean per order is 1.7e308 (the sum is not
    # representable, the mean is). Customer b: one order of 15.
    table = seg.rfm_table(_orders(HUGE), as_of="2024-03-31", monetary="mean")
    assert table.loc["a", "monetary"] == HUGE
    assert table.loc["b", "monetary"] == 15.0
    assert table.loc["a", "frequency"] == 2


def test_rfm_table_total_beyond_float64_is_refused_with_the_ids() -> None:
    with pytest.raises(
        ValidationError, match=r"total amount of 1 customers exceeds .*first ids: a"
    ):
        seg.rfm_table(_orders(HUGE), as_of="2024-03-31", monetary="total")


def test_rfm_table_ordinary_amounts_are_unchanged() -> None:
    # hand: a = 20 + 20 = 40, b = 15
    table = seg.rfm_table(_orders(20.0), as_of="2024-03-31")
    assert table["monetary"].tolist() == [40.0, 15.0]


# --- segment_summary ---------------------------------------------------------------------------


def _rfm_segments(monetary: list[float], recency: list[float]) -> tuple[pd.DataFrame, pd.Series]:
    table = pd.DataFrame(
        {"recency_days": recency, "frequency": [1, 1, 1, 1], "monetary": monetary},
        index=list("abcd"),
    )
    segments = pd.Series(pd.Categorical(["T", "T", "L", "L"], ["T", "L"]), index=list("abcd"))
    return table, segments


def test_segment_summary_huge_values_keep_exact_shares_and_means() -> None:
    # T = HUGE + 0 = HUGE, L = HUGE + 0 = HUGE: shares 1/2 each (the total 2*HUGE overflows);
    # mean recency of T = (HUGE + HUGE) / 2 = HUGE.
    table, segments = _rfm_segments([HUGE, 0.0, HUGE, 0.0], [HUGE, HUGE, 2.0, 4.0])
    out = seg.segment_summary(table, segments)
    assert out["revenue"].tolist() == [HUGE, HUGE]
    assert out["revenue_share"].tolist() == [0.5, 0.5]
    assert out["mean_recency_days"].tolist() == [HUGE, 3.0]


def test_segment_summary_revenue_beyond_float64_is_refused() -> None:
    table, segments = _rfm_segments([HUGE, HUGE, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValidationError, match=r"revenue of 1 segments exceeds .*first: T"):
        seg.segment_summary(table, segments)


@pytest.mark.parametrize("bad", ["abc", "12,50"])
def test_segment_summary_text_in_a_numeric_column_is_named(bad: str) -> None:
    table, segments = _rfm_segments([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    table["monetary"] = table["monetary"].astype(object)
    table.loc["b", "monetary"] = bad
    with pytest.raises(ValidationError, match=r"column 'monetary' must hold numbers.*first ids: b"):
        seg.segment_summary(table, segments)


def test_segment_summary_fractional_order_counts_are_refused() -> None:
    table, segments = _rfm_segments([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    table["frequency"] = [1.0, 2.5, 1.0, 1.0]
    with pytest.raises(ValidationError, match=r"'frequency' must hold whole order counts"):
        seg.segment_summary(table, segments)


# --- segment maps ------------------------------------------------------------------------------


def test_lookup_validates_scores_and_dimensions() -> None:
    rf = seg.SEGMENT_MAPS["rf-grid"]
    assert rf.lookup(r=[5, 1], f=[5, 1]) == ["Champions", "Hibernating"]
    assert rf.lookup(r=5.0, f=5) == ["Champions"]  # a whole float is a score
    with pytest.raises(ValidationError, match="differ in length"):
        rf.lookup(r=[], f=[5, 1])
    with pytest.raises(ValidationError, match=r"column 'r' must hold numbers"):
        rf.lookup(r=["abc"], f=[1])
    with pytest.raises(ValidationError, match=r"one score array per dimension of the map \(r, f\)"):
        rf.lookup(r=[1])
    with pytest.raises(ValidationError, match="missing or infinite"):
        rf.lookup(r=[float("nan")], f=[1])


def test_segment_map_constructors_refuse_malformed_arguments() -> None:
    with pytest.raises(ValidationError, match="bins must be a positive int"):
        seg.SegmentMap.from_ranges({"hi": {"r": (4, 5)}}, dims=("r",), bins=2.5)
    with pytest.raises(ValidationError, match="dims must be a sequence"):
        seg.SegmentMap.from_codes({"hi": ["5"]}, dims=None, bins=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="rules must map segment names"):
        seg.SegmentMap.from_ranges("abc", dims=("r",), bins=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a range is a pair of int scores"):
        seg.SegmentMap.from_ranges({"hi": {"r": "45"}}, dims=("r",), bins=5)  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="grid must map each first-dimension score"):
        seg.SegmentMap.from_grid([])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="names must be a sequence"):
        seg.SegmentMap(None, np.ones((1, 2), bool), dims=("r",))  # type: ignore[arg-type]


def test_assign_segments_names_a_wrong_segment_map() -> None:
    scores = pd.DataFrame({"r_score": [5], "f_score": [5]}, index=["a"])
    with pytest.raises(ValidationError, match="segment_map must be a SegmentMap"):
        seg.assign_segments(scores, None)  # type: ignore[arg-type]


# --- migration_matrix --------------------------------------------------------------------------


def test_migration_matrix_refuses_a_multiindex_on_one_side() -> None:
    before = pd.Series(["A", "B"], index=pd.MultiIndex.from_arrays([[1, 2], [0, 0]]))
    after = pd.Series(["A", "B"], index=[1, 2])
    with pytest.raises(ValidationError, match="before is indexed by a MultiIndex"):
        seg.migration_matrix(before, after)


def test_migration_matrix_empty_row_is_nan_by_design() -> None:
    # no entrants: the "(new)" row has 0 customers, so its row shares are 0/0 (documented NaN);
    # A -> A, A -> B: shares 1/2, 1/2.
    before = pd.Series(["A", "A"], index=[1, 2])
    after = pd.Series(["A", "B"], index=[1, 2])
    out = seg.migration_matrix(before, after, normalize="row")
    assert out.loc["A"].tolist() == [0.5, 0.5, 0.0]
    assert out.loc["(new)"].isna().all()


# --- validation helpers ------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02"]})


@pytest.mark.parametrize("columns", [None, 3, float("nan")])
def test_column_list_parameters_must_be_lists(columns: object) -> None:
    for helper in (fr.require_columns, fr.check_no_missing, fr.check_no_duplicates):
        with pytest.raises(ValidationError, match=r"'columns' parameter of t must be a list"):
            helper(_frame(), columns, who="t")  # type: ignore[arg-type]


def test_missing_columns_are_reported_by_every_frame_helper() -> None:
    frame = _frame().drop(columns=["date"])
    with pytest.raises(ColumnNotFoundError, match="column 'date' not found"):
        fr.check_no_missing(frame, ["date"], who="t")
    with pytest.raises(ColumnNotFoundError, match="column 'date' not found"):
        fr.check_no_duplicates(frame, ["date"], who="t")
    with pytest.raises(ColumnNotFoundError, match="column 'date' not found"):
        fr.coerce_datetime_column(frame, "date", who="t")
    with pytest.raises(ColumnNotFoundError, match="column 'None' not found"):
        fr.coerce_datetime_column(_frame(), None, who="t")  # type: ignore[arg-type]


def test_one_string_is_one_column_name_and_non_string_labels_work() -> None:
    fr.require_columns(_frame(), "date", who="t")
    fr.check_no_missing(_frame(), "date", who="t")
    with pytest.raises(ValidationError, match="must name at least one key column"):
        fr.check_no_duplicates(_frame(), [], who="t")
    numbered = pd.DataFrame({3: ["2024-01-01"]})
    out = fr.coerce_datetime_column(numbered, 3, who="t")  # type: ignore[arg-type]
    assert out[3].iloc[0] == pd.Timestamp("2024-01-01")


def test_check_single_currency_with_a_number_among_codes() -> None:
    frame = pd.DataFrame({"currency": ["EUR", 1.5, "EUR"]})
    with pytest.raises(ValidationError, match=r"2 currencies \(1.5: 1 rows, EUR: 2 rows\)"):
        fr.check_single_currency(frame, who="t")


def test_parameter_helpers_validate_their_own_arguments() -> None:
    with pytest.raises(ValidationError, match="'low' parameter of check_param_number"):
        fr.check_param_number("x", 0.5, who="t", low="0")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'choices' parameter of check_param_choice"):
        fr.check_param_choice("x", "a", None, who="t")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'limit' parameter of format_ids"):
        fr.format_ids(["a"], limit=-1)
    with pytest.raises(ValidationError, match="'ids' parameter of format_ids"):
        fr.format_ids(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'name' parameter of nearest_name must be a str"):
        fr.nearest_name(3, ["a"])  # type: ignore[arg-type]
    assert fr.format_ids(["a", "b", "c"], limit=2) == "a, b, ..."


# --- entities and frames -----------------------------------------------------------------------


def test_entity_edges() -> None:
    customer = cu.Customer(
        id="C1", name="Ann", created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    )
    with pytest.raises(ValidationError, match=r"Customer\.tags item must be a non-empty str"):
        customer.with_tag(["a"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"Customer\.tags item must be a str"):
        customer.without_tag(["a"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"from_record\(record\) must be a mapping"):
        cu.Customer.from_record(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"from_record\(field_map\) must be a mapping"):
        cu.Customer.from_record({"id": "C1"}, field_map="abc")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="orders must be an iterable of Order"):
        fr.orders_to_frame(None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="customers must be an iterable of Customer"):
        fr.customers_to_frame(3)  # type: ignore[arg-type]


# --- money -------------------------------------------------------------------------------------


def test_money_edges() -> None:
    with pytest.raises(ValidationError, match=r"'rounding' parameter .* 'ROUND_HALF_UP'"):
        mo.Money("1.005", "EUR").round_to_minor_units("bogus")
    with pytest.raises(ValidationError, match="records must be an iterable"):
        mo.ExchangeRates(None)  # type: ignore[arg-type]
    rates = mo.ExchangeRates([("EUR", "USD", dt.date(2024, 1, 1), "1.10")])
    frame = pd.DataFrame(
        {"date": ["2024-02-01", "2024-02-01"], "amount": [HUGE, 10.0], "currency": "EUR"}
    )
    # HUGE * 1.10 is about 1.87e308 > float64 max: not representable
    with pytest.raises(ValidationError, match=r"1 converted amounts .* exceed .*first rows: 0"):
        rates.convert_frame(frame, to="USD")
    # HUGE / 1.10 is representable (USD -> EUR through the inverse pair)
    back = rates.convert_frame(frame.assign(currency="USD"), to="EUR")
    assert back["amount"].iloc[0] == pytest.approx(HUGE / 1.10, rel=1e-15)


# --- generate_transactions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"purchase_rate_shape": 0.0}, "'purchase_rate_shape' parameter"),
        ({"purchase_rate_shape": "0.8"}, "'purchase_rate_shape' parameter"),
        ({"purchases_per_year": float("inf")}, "'purchases_per_year' parameter .* finite"),
        ({"purchases_per_year": 1e12}, "more than 50,000,000"),
        ({"purchases_per_year": HUGE}, "overflows float64"),
        ({"purchase_rate_shape": 5e-324}, "overflows float64"),
        ({"dropout_per_year": -1.0}, "'dropout_per_year' parameter"),
        ({"spend_median": -5.0}, "'spend_median' parameter"),
        ({"spend_median": HUGE}, "exceed the float64 range"),
        ({"spend_sigma": None}, "'spend_sigma' parameter"),
        ({"random_state": -1}, "'random_state' parameter"),
        ({"random_state": 0.5}, "'random_state' parameter"),
        ({"currency": 3}, "'currency' parameter"),
    ],
)
def test_generate_transactions_refuses_bad_parameters(
    kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        ds.generate_transactions(20, **{"random_state": 1, **kwargs})  # type: ignore[arg-type]


def test_generate_transactions_edge_values_that_are_valid() -> None:
    # no repeat purchases: exactly one (first) order per customer
    out = ds.generate_transactions(20, purchases_per_year=0.0, random_state=1)
    assert len(out) == 20 and out["customer_id"].is_unique
    # a zero log-sd gives every order the median, rounded to cents
    flat = ds.generate_transactions(5, spend_median=12.345, spend_sigma=0.0, random_state=1)
    assert set(flat["amount"]) == {12.35} or set(flat["amount"]) == {12.34}


# --- the campaign's oracle ---------------------------------------------------------------------


def test_oracle_treats_an_unchanged_nat_as_unchanged() -> None:
    import tests.test_bad_inputs as campaign

    assert campaign._same(pd.NaT, pd.NaT)
    assert not campaign._same(pd.NaT, pd.Timestamp("2024-01-01"))


def test_oracle_fast_frame_comparison_agrees_with_assert_frame_equal() -> None:
    import tests.test_bad_inputs as campaign

    a = pd.DataFrame({"x": [1.0, np.nan], "y": ["a", "b"]}, index=[10, 11])
    assert campaign._same(a, a.copy())
    assert not campaign._same(a, a.astype({"x": "float32"}))  # dtype change
    assert not campaign._same(a, a.rename_axis("id"))  # index name
    b = a.copy()
    b.iloc[0, 0] = 2.0
    assert not campaign._same(a, b)
    assert not campaign._same(a, a.set_axis([10.0, 11.0]))  # index dtype
