"""Tests of crmcore.segmentation.rfm_table."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore.segmentation._rfm as rfm_module
from crmcore.exceptions import ColumnNotFoundError, CRMWarning, ValidationError
from crmcore.segmentation import rfm_table

DATA = Path(__file__).resolve().parent / "data" / "rfm_orders.csv"


def _orders() -> pd.DataFrame:
    frame: pd.DataFrame = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", "c"],
            "date": pd.to_datetime(
                [
                    "2024-02-10 00:00",
                    "2024-01-05 00:00",
                    "2024-03-01 09:30",
                    "2024-03-01 17:00",
                    "2024-03-31 00:00",
                ]
            ),
            "amount": [15.0, 20.0, 30.0, 10.0, 5.0],
        }
    )
    return frame


def test_table_matches_a_hand_computation() -> None:
    table = rfm_table(_orders(), as_of="2024-03-31")
    # a: last purchase 1 March (times of day ignored) -> 30 days before 31 March.
    assert table.index.tolist() == ["a", "b", "c"]
    assert table["recency_days"].tolist() == [30.0, 50.0, 0.0]
    assert table["frequency"].tolist() == [3, 1, 1]
    assert table["monetary"].tolist() == [60.0, 15.0, 5.0]
    assert table.loc["a", "first_purchase"] == pd.Timestamp("2024-01-05")
    assert table.loc["a", "last_purchase"] == pd.Timestamp("2024-03-01")
    assert list(table.columns) == [
        "first_purchase", "last_purchase", "recency_days", "frequency", "monetary"
    ]  # fmt: skip
    assert str(table["frequency"].dtype) == "int64"
    assert str(table["first_purchase"].dtype) == "datetime64[ns]"


def test_days_frequency_counts_distinct_purchase_days_and_mean_divides_by_it() -> None:
    table = rfm_table(_orders(), as_of="2024-03-31", frequency="days", monetary="mean")
    assert table.loc["a", "frequency"] == 2  # 5 Jan and 1 Mar
    assert table.loc["a", "monetary"] == pytest.approx(30.0)  # 60 over two days


def test_mean_per_order_divides_total_by_rows() -> None:
    table = rfm_table(_orders(), as_of="2024-03-31", monetary="mean")
    assert table.loc["a", "monetary"] == pytest.approx(20.0)


def test_polars_and_pyarrow_input_give_the_identical_table() -> None:
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    frame = _orders()
    expected = rfm_table(frame, as_of="2024-03-31", frequency="days")
    got_pl = rfm_table(pl.from_pandas(frame), as_of="2024-03-31", frequency="days")
    got_pa = rfm_table(pa.Table.from_pandas(frame), as_of="2024-03-31", frequency="days")
    pd.testing.assert_frame_equal(got_pl, expected)
    pd.testing.assert_frame_equal(got_pa, expected)


def test_polars_matches_pandas_on_the_r_orders_data() -> None:
    pl = pytest.importorskip("polars")
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    orders = pd.read_csv(DATA, parse_dates=["order_date"])
    kw = {"as_of": "2006-12-31", "date_col": "order_date", "amount_col": "revenue"}
    pd.testing.assert_frame_equal(rfm_table(pl.from_pandas(orders), **kw), rfm_table(orders, **kw))


def test_r_orders_table_matches_the_r_package() -> None:
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    orders = pd.read_csv(DATA, parse_dates=["order_date"])
    table = rfm_table(orders, as_of="2006-12-31", date_col="order_date", amount_col="revenue")
    # R package rfm, tests/testthat/test-rfm-table.R: sum(transaction_count) == 4906.
    assert table["frequency"].sum() == 4906
    assert len(table) == 995
    # R package rfm README (rfm_table output): recency_days, transaction_count, amount.
    expected = {
        "Abbey O'Reilly": (205, 6, 472),
        "Add Senger": (140, 3, 340),
        "Agness O'Keefe": (90, 9, 843),
        "Ailene Hermann": (281, 8, 699),
        "Alannah Borer": (619, 4, 196),
    }
    for name, (rec, freq, amount) in expected.items():
        row = table.loc[name]
        assert (row["recency_days"], row["frequency"], row["monetary"]) == (rec, freq, amount)


def test_rows_after_as_of_are_excluded_and_counted() -> None:
    with pytest.warns(CRMWarning, match=r"3 of 5 rows are dated after as_of 2024-02-29"):
        table = rfm_table(_orders(), as_of="2024-02-29")
    assert table["frequency"].sum() == 2
    assert "c" not in table.index


def test_purchases_on_the_as_of_day_count_whatever_the_time() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the 17:00 purchase on the as_of day counts
        table = rfm_table(_orders().iloc[:4], as_of="2024-03-01")
    assert table.loc["a", "frequency"] == 3


def test_customers_without_orders_are_kept_with_documented_values() -> None:
    table = rfm_table(_orders(), as_of="2024-03-31", customers=["a", "b", "c", "z"])
    z = table.loc["z"]
    assert z["frequency"] == 0 and z["monetary"] == 0.0
    assert np.isnan(z["recency_days"]) and pd.isna(z["last_purchase"])
    assert str(table["frequency"].dtype) == "int64"


def test_customers_with_orders_missing_from_the_list_are_kept_and_reported() -> None:
    with pytest.warns(CRMWarning, match=r"1 customers with orders are not in customers"):
        table = rfm_table(_orders(), as_of="2024-03-31", customers=["a", "b"])
    assert "c" in table.index


def test_duplicate_customer_ids_in_the_master_list_are_an_error() -> None:
    with pytest.raises(ValidationError, match="repeats 1 ids"):
        rfm_table(_orders(), as_of="2024-03-31", customers=["a", "a", "b", "c"])


def test_negative_amounts_are_netted_and_reported() -> None:
    frame = _orders()
    frame.loc[4, "amount"] = -5.0
    with pytest.warns(CRMWarning, match="1 rows have negative amounts"):
        table = rfm_table(frame, as_of="2024-03-31")
    assert table.loc["c", "monetary"] == -5.0
    assert table["monetary"].sum() == pytest.approx(frame["amount"].sum())


def test_empty_frame_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="empty"):
        rfm_table(_orders().iloc[:0], as_of="2024-03-31")


def test_all_missing_amounts_are_a_clear_error() -> None:
    frame = _orders().assign(amount=np.nan)
    with pytest.raises(ValidationError, match="all 5 values of column 'amount' are missing"):
        rfm_table(frame, as_of="2024-03-31")


def test_some_missing_amounts_are_reported_with_ids() -> None:
    frame = _orders()
    frame.loc[1, "amount"] = np.nan
    with pytest.raises(ValidationError, match=r"1 missing values \(first ids: a\)"):
        rfm_table(frame, as_of="2024-03-31")


def test_missing_column_suggests_the_nearest_name() -> None:
    with pytest.raises(ColumnNotFoundError, match="did you mean 'amount'"):
        rfm_table(_orders(), as_of="2024-03-31", amount_col="amounts")


def test_all_rows_after_as_of_is_an_error() -> None:
    with pytest.raises(ValidationError, match="no transaction"), pytest.warns(CRMWarning):
        rfm_table(_orders(), as_of="2023-01-01")


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValidationError, match="'frequency' parameter of rfm_table"):
        rfm_table(_orders(), as_of="2024-03-31", frequency="visits")


def test_several_currencies_are_rejected() -> None:
    frame = _orders().assign(currency=["EUR", "USD", "USD", "USD", "USD"])
    with pytest.raises(ValidationError, match="2 currencies"):
        rfm_table(frame, as_of="2024-03-31")


@st.composite
def order_logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(-50, 500), min_size=n, max_size=n))
    frame: pd.DataFrame = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"),
            "amount": np.asarray(amounts, dtype=float),
        }
    )
    return frame


@settings(max_examples=40, deadline=None)
@given(order_logs(), st.randoms())
def test_totals_equal_input_and_row_order_does_not_matter(frame: pd.DataFrame, rnd) -> None:  # type: ignore[no-untyped-def]
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        table = rfm_table(frame, as_of="2024-03-31")
        order = list(range(len(frame)))
        rnd.shuffle(order)
        shuffled = rfm_table(frame.iloc[order], as_of="2024-03-31")
    pd.testing.assert_frame_equal(frame, before)  # input not mutated
    assert table["frequency"].sum() == len(frame)
    assert table["monetary"].sum() == pytest.approx(frame["amount"].sum())
    pd.testing.assert_frame_equal(table, shuffled)
    assert (table["recency_days"] >= 0).all()
    assert (table["first_purchase"] <= table["last_purchase"]).all()


def _boundary_orders() -> pd.DataFrame:
    # Times just either side of midnight, dates before 1970 and before 1900, a leap day,
    # and rows at the very end of the as_of day and the first instant after it.
    frame: pd.DataFrame = pd.DataFrame(
        {
            "customer_id": ["x", "x", "x", "y", "y", "y", "z"],
            "date": pd.to_datetime(
                [
                    "1969-12-31 23:59:59",
                    "1970-01-01 00:00:00",
                    "1970-01-01 23:59:59",
                    "1899-03-01 12:00:00",
                    "2000-02-29 23:00:00",
                    "2000-03-01 23:59:59",  # on the as_of day: counts
                    "2000-03-02 00:00:00",  # first instant after as_of: excluded
                ]
            ),
            "amount": [1.0, 2.0, 4.0, 8.0, -16.0, 32.0, -64.0],
        }
    )
    return frame


def _boundary_expected(frequency: str) -> pd.DataFrame:
    # Hand derivation with the standard library's proleptic Gregorian calendar.
    from datetime import date

    as_of = date(2000, 3, 1)
    first = {"x": date(1969, 12, 31), "y": date(1899, 3, 1)}
    last = {"x": date(1970, 1, 1), "y": date(2000, 3, 1)}
    count = {"x": 2, "y": 3} if frequency == "days" else {"x": 3, "y": 3}
    expected: pd.DataFrame = pd.DataFrame(
        {
            "first_purchase": pd.to_datetime([first["x"], first["y"]]).astype("datetime64[ns]"),
            "last_purchase": pd.to_datetime([last["x"], last["y"]]).astype("datetime64[ns]"),
            "recency_days": [float((as_of - last[c]).days) for c in "xy"],
            "frequency": np.array([count["x"], count["y"]], dtype=np.int64),
            "monetary": [7.0, 24.0],
        },
        index=pd.Index(["x", "y"], name="customer_id").astype("str"),
    )
    return expected


@pytest.mark.parametrize("truncate", [True, False], ids=["dt.truncate", "year-ordinal"])
@pytest.mark.parametrize("frequency", ["orders", "days"])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_whole_days_are_exact_for_every_time_unit_and_backend(
    frequency: str, unit: str, truncate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # truncate=False forces the day-number path used with narwhals releases lacking
    # dt.truncate; both paths must give the hand-derived table.
    if truncate and not rfm_module._HAS_TRUNCATE:
        pytest.skip("this narwhals has no dt.truncate")
    monkeypatch.setattr(rfm_module, "_HAS_TRUNCATE", truncate)
    frame = _boundary_orders().astype({"date": f"datetime64[{unit}]"})
    expected = _boundary_expected(frequency)
    inputs: list[object] = [frame]
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    inputs.append(pa.Table.from_pandas(frame, preserve_index=False))
    if unit != "s":  # Polars has no second-resolution Datetime
        inputs.append(pl.from_pandas(frame).with_columns(pl.col("date").cast(pl.Datetime(unit))))
    for data in inputs:
        with pytest.warns(CRMWarning) as caught:
            table = rfm_table(data, as_of="2000-03-01", frequency=frequency)
        messages = " | ".join(str(w.message) for w in caught)
        assert "1 of 7 rows are dated after as_of 2000-03-01" in messages
        # the late row's return (-64) is excluded, not reported as a kept return
        assert "1 rows have negative amounts" in messages
        pd.testing.assert_frame_equal(table, expected, check_index_type=False)
        assert str(table.index.dtype) in ("str", "string", "object")


def test_text_ids_come_out_sorted_whatever_the_row_order_and_backend() -> None:
    rng = np.random.default_rng(7)
    ids = np.array([f"c{i:03d}" for i in rng.permutation(300)] * 2)
    frame: pd.DataFrame = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, 600), "D"),
            "amount": rng.integers(1, 100, 600).astype(float),
        }
    )
    table = rfm_table(frame, as_of="2024-06-30")
    assert table.index.tolist() == sorted(set(ids.tolist()))
    pl = pytest.importorskip("polars")
    got = rfm_table(pl.from_pandas(frame.iloc[::-1]), as_of="2024-06-30")
    assert got.index.tolist() == table.index.tolist()
    pd.testing.assert_frame_equal(got, table)


def test_missing_ids_and_dates_in_polars_input_are_reported() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(_orders()).with_columns(
        pl.when(pl.col("amount") == 30.0)
        .then(None)
        .otherwise(pl.col("customer_id"))
        .alias("customer_id"),
        pl.when(pl.col("amount") == 15.0).then(None).otherwise(pl.col("date")).alias("date"),
    )
    with pytest.raises(ValidationError, match=r"'customer_id' has 1 missing.*'date' has 1"):
        rfm_table(frame, as_of="2024-03-31")
