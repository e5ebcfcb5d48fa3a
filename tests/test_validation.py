"""Frame validation at the edge: clear errors, every backend, input never mutated."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, CRMError, ValidationError
from crmcore.frames import (
    check_no_duplicates,
    check_no_missing,
    check_param_number,
    check_single_currency,
    coerce_datetime_column,
    require_columns,
)


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", None, "c", np.nan, "a"],
            "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
            "amount": [1.0, 2.0, np.nan, 4.0, 5.0],
        },
        index=[100, 101, 102, 103, 104],
    )


def test_a_missing_column_error_lists_the_columns_and_suggests_the_nearest() -> None:
    frame = pd.DataFrame({"CustomerID": [1], "order_date": ["2024-01-01"], "revenue": [1.0]})
    with pytest.raises(ColumnNotFoundError) as info:
        require_columns(frame, ["customer_id", "date"], who="rfm_table")
    message = str(info.value)
    assert "'customer_id' not found (did you mean 'CustomerID'?)" in message
    assert "'date' not found (did you mean 'order_date'?)" in message
    assert "Available columns: CustomerID, order_date, revenue" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, CRMError)


def test_missing_customer_ids_are_reported_with_count_and_first_row_labels() -> None:
    with pytest.raises(ValidationError) as info:
        check_no_missing(_orders(), ["customer_id", "amount"], who="rfm_table")
    message = str(info.value)
    assert "column 'customer_id' has 2 missing values (first rows: 101, 103)" in message
    assert "column 'amount' has 1 missing values (first rows: 102)" in message


def test_missing_amounts_can_be_reported_by_customer_id() -> None:
    with pytest.raises(ValidationError, match=r"first ids: c\)"):
        check_no_missing(_orders(), ["amount"], who="rfm_table", id_col="customer_id")


@pytest.mark.parametrize("backend", ["polars", "pyarrow"])
def test_missing_values_are_found_in_polars_and_pyarrow_frames(backend: str) -> None:
    data = {"customer_id": ["a", None, "c"], "amount": [1.0, float("nan"), None]}
    frame = pl.DataFrame(data) if backend == "polars" else pa.table(data)
    with pytest.raises(ValidationError) as info:
        check_no_missing(frame, ["customer_id", "amount"], who="rfm_table")
    assert "'customer_id' has 1 missing values (first rows: 1)" in str(info.value)
    # polars keeps NaN and null apart; both are missing for crmcore
    assert "'amount' has 2 missing values" in str(info.value)


def test_a_missing_column_is_found_in_a_polars_frame() -> None:
    with pytest.raises(ColumnNotFoundError, match="did you mean 'customer'"):
        require_columns(pl.DataFrame({"customer": [1]}), ["customer_id"], who="btyd_summary")


def test_validation_never_mutates_the_input_frame() -> None:
    frame = _orders()
    before = frame.copy(deep=True)
    for check in (
        lambda: check_no_missing(frame, ["customer_id"], who="x"),
        lambda: check_no_duplicates(frame, ["customer_id"], who="x"),
        lambda: require_columns(frame, ["nope"], who="x"),
    ):
        with pytest.raises(CRMError):
            check()
    out = coerce_datetime_column(frame, "date", who="x")
    assert str(out["date"].dtype).startswith("datetime64")
    pd.testing.assert_frame_equal(frame, before)


def test_dates_are_coerced_from_strings_dates_and_tz_aware_values() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    frames = {
        "strings": pd.DataFrame({"d": ["2024-03-01 23:30", "2024-03-02"]}),
        "aware": pd.DataFrame({"d": pd.to_datetime(["2024-03-01 23:30", "2024-03-02 00:00"])}),
        "python-aware": pd.DataFrame(
            {
                "d": [
                    datetime(2024, 3, 1, 23, 30, tzinfo=berlin),
                    datetime(2024, 3, 2, tzinfo=berlin),
                ]
            }
        ),
    }
    frames["aware"]["d"] = frames["aware"]["d"].dt.tz_localize("America/New_York")
    for name, frame in frames.items():
        out = coerce_datetime_column(frame, "d", who="x")["d"]
        # wall-clock time in the value's own zone is kept
        assert out.iloc[0] == pd.Timestamp("2024-03-01 23:30"), name
        assert out.dt.tz is None


def test_mixed_time_zones_are_rejected() -> None:
    frame = pd.DataFrame(
        {
            "d": [
                datetime(2024, 3, 1, tzinfo=ZoneInfo("Europe/Berlin")),
                datetime(2024, 3, 1, tzinfo=ZoneInfo("Asia/Tokyo")),
            ]
        }
    )
    with pytest.raises(ValidationError, match="mixes time zones"):
        coerce_datetime_column(frame, "d", who="rfm_table")


def test_unparseable_dates_are_reported_with_their_rows() -> None:
    frame = pd.DataFrame({"d": ["2024-01-01", "not a date", "2024-13-45"]})
    with pytest.raises(
        ValidationError, match=r"2 strings that are not ISO 8601 dates .*first rows: 1, 2"
    ):
        coerce_datetime_column(frame, "d", who="rfm_table")


def test_polars_dates_are_coerced_in_polars() -> None:
    frame = pl.DataFrame({"d": ["2024-01-05", "2024-02-01"]})
    out = coerce_datetime_column(frame, "d", who="x")
    assert isinstance(out, pl.DataFrame)
    assert out["d"].dtype == pl.Datetime
    assert frame["d"].dtype == pl.String


def test_duplicate_keys_are_counted() -> None:
    frame = pd.DataFrame({"order_id": ["o1", "o2", "o1", "o1"]})
    with pytest.raises(ValidationError, match=r"2 rows repeat the key \(order_id\)"):
        check_no_duplicates(frame, ["order_id"], who="orders")


def test_several_currencies_are_rejected_with_their_counts() -> None:
    frame = pd.DataFrame({"currency": ["EUR", "USD", "EUR"]})
    with pytest.raises(ValidationError, match="2 currencies"):
        check_single_currency(frame, who="rfm_table")
    assert check_single_currency(frame.iloc[[0, 2]], who="rfm_table") == "EUR"
    assert check_single_currency(frame.drop(columns="currency"), who="rfm_table") is None


@given(st.one_of(st.integers(-5, 1), st.floats(allow_nan=True), st.booleans(), st.text()))
def test_bins_outside_the_range_are_rejected_in_scikit_learn_words(value: object) -> None:
    with pytest.raises(ValidationError, match=r"The 'bins' parameter of rfm_scores must be an int"):
        check_param_number("bins", value, who="rfm_scores", low=2, integer=True)


def test_a_missing_column_in_a_pyarrow_table_lists_the_column_names() -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        require_columns(pa.table({"customer": [1], "day": [2]}), ["customer_id"], who="x")
    assert "Available columns: customer, day." in str(info.value)
