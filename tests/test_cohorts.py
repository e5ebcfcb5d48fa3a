"""Tests for cohort tables and cohort churn rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, CRMWarning, ValidationError
from crmcore.value.retention._cohorts import cohort_churn_rates, cohort_table


def _tx():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d"],
            "date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-01-20",
                    "2024-02-09",
                    "2024-01-31",
                    "2024-03-01",
                    "2024-02-14",
                    "2024-03-31",
                ]
            ),
            "amount": [10.0, 1.0, 5.0, 20.0, 8.0, 7.0, 3.0],
        }
    )


def test_customers_table_by_hand():
    table = cohort_table(_tx(), as_of="2024-03-31")
    # January cohort {a, b}: month 0 both, month 1 a, month 2 b; Feb {c}; Mar {d}
    expected = pd.DataFrame(
        [[2.0, 1.0, 1.0], [1.0, 0.0, np.nan], [1.0, np.nan, np.nan]],
        index=pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01"], name="cohort"),
        columns=pd.Index([0, 1, 2], name="age"),
    )
    pd.testing.assert_frame_equal(table, expected)


def test_revenue_and_orders_tables_by_hand_and_relative_values():
    revenue = cohort_table(_tx(), as_of="2024-03-31", metric="revenue")
    assert revenue.iloc[0].tolist() == [31.0, 5.0, 8.0]
    orders = cohort_table(_tx(), as_of="2024-03-31", metric="orders")
    assert orders.iloc[0].tolist() == [3.0, 1.0, 1.0]
    rel = cohort_table(_tx(), as_of="2024-03-31", relative=True)
    assert rel.iloc[0].tolist() == [1.0, 0.5, 0.5]


def test_later_orders_are_excluded_with_a_warning():
    with pytest.warns(CRMWarning, match="2 of 7 rows are dated after as_of 2024-02-29"):
        table = cohort_table(_tx(), as_of="2024-02-29", metric="orders")
    assert table.shape == (2, 2)
    assert np.nansum(table.to_numpy()) == 5


def test_pandas_and_polars_give_identical_tables():
    tx = _tx()
    for metric in ("customers", "revenue", "orders"):
        for freq in ("D", "W", "M", "Q", "Y"):
            a = cohort_table(tx, as_of="2024-03-31", metric=metric, cohort=freq, period=freq)
            b = cohort_table(
                pl.from_pandas(tx), as_of="2024-03-31", metric=metric, cohort=freq, period=freq
            )
            pd.testing.assert_frame_equal(a, b)


def test_weeks_start_on_monday_and_quarters_group_months():
    weekly = cohort_table(_tx(), as_of="2024-03-31", cohort="W", period="W")
    assert (weekly.index.day_of_week == 0).all()
    assert weekly.index[0] == pd.Timestamp("2024-01-01")
    quarterly = cohort_table(_tx(), as_of="2024-03-31", cohort="Q", period="M")
    assert quarterly.index.tolist() == [pd.Timestamp("2024-01-01")]
    assert quarterly.iloc[0, 0] == 4.0  # every customer is in age 0 of Q1


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 400), st.floats(0.01, 500.0)),
        min_size=1,
        max_size=60,
    )
)
def test_totals_equal_input_totals_and_input_is_not_mutated(rows):
    tx = pd.DataFrame(
        {
            "customer_id": [f"c{c}" for c, _, _ in rows],
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta([d for _, d, _ in rows], unit="D"),
            "amount": [a for _, _, a in rows],
        }
    )
    before = tx.copy()
    as_of = "2024-02-05"
    revenue = cohort_table(tx, as_of=as_of, metric="revenue", cohort="M", period="W")
    orders = cohort_table(tx, as_of=as_of, metric="orders")
    customers = cohort_table(tx, as_of=as_of, metric="customers")
    assert np.nansum(revenue.to_numpy()) == pytest.approx(tx["amount"].sum())
    assert np.nansum(orders.to_numpy()) == len(tx)
    assert np.nansum(customers[0].to_numpy()) == tx["customer_id"].nunique()
    pd.testing.assert_frame_equal(tx, before)


def test_churn_rates_by_hand():
    table = pd.DataFrame([[100.0, 60.0, 30.0], [50.0, 40.0, np.nan]], columns=[0, 1, 2])
    churn = cohort_churn_rates(table)
    np.testing.assert_allclose(churn.to_numpy(), [[0.4, 0.5], [0.2, np.nan]])
    assert churn.columns.tolist() == [1, 2]


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValidationError, match="metric"):
        cohort_table(_tx(), as_of="2024-03-31", metric="profit")
    with pytest.raises(ColumnNotFoundError, match="amount"):
        cohort_table(_tx().drop(columns="amount"), as_of="2024-03-31", metric="revenue")
    with pytest.raises(ValidationError, match="no orders"), pytest.warns(CRMWarning):
        cohort_table(_tx(), as_of="2020-01-01")
    with pytest.raises(ValidationError, match="as_of"):
        cohort_table(_tx(), as_of="not a date")
    with pytest.raises(ValidationError, match="two age columns"):
        cohort_churn_rates(pd.DataFrame([[1.0]]))
