"""cohort_table and purchase_history on the eager kernels equal plain pandas computations.

The references below use pandas' own calendar (``Series.dt.to_period``: calendar months,
quarters, years and Monday-to-Sunday ``W-SUN`` weeks) and group-bys, not crmcore's period
clock or kernels.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import CRMWarning
from crmcore.value.economics._migration_chain import purchase_history
from crmcore.value.retention._cohorts import cohort_table

_PANDAS_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}
AS_OF = "2024-02-05"


def _ordinals(dates: pd.Series, unit: str) -> np.ndarray:
    """pandas' period ordinals (consecutive integers per period) of `dates`."""
    return np.asarray(dates.dt.to_period(_PANDAS_FREQ[unit]).array.asi8, dtype=np.int64)


def _kept(tx: pd.DataFrame, as_of: str) -> pd.DataFrame:
    return tx[tx["date"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]


def _reference_cohort_table(
    tx: pd.DataFrame, *, cohort: str, period: str, metric: str, relative: bool
) -> pd.DataFrame:
    df = _kept(tx, AS_OF).copy()
    first = df.groupby("customer_id")["date"].transform("min")
    df["cohort"] = first.dt.to_period(_PANDAS_FREQ[cohort]).dt.start_time
    df["start"] = _ordinals(first, period)
    df["age"] = _ordinals(df["date"], period) - df["start"]
    grouped = df.groupby(["cohort", "age"])
    if metric == "customers":
        cells = grouped["customer_id"].nunique()
    elif metric == "revenue":
        cells = grouped["amount"].sum()
    else:
        cells = grouped.size()
    last = _ordinals(pd.Series(pd.to_datetime([AS_OF])), period)[0]
    reach = last - df.groupby("cohort")["start"].min()
    ages = np.arange(int(reach.max()) + 1)
    table = cells.astype(float).unstack("age").reindex(index=reach.index, columns=ages)
    table = table.fillna(0.0).where(ages[None, :] <= reach.to_numpy()[:, None])
    if relative:
        table = table.div(table[0], axis=0)
    return table


def _reference_purchase_history(tx: pd.DataFrame, period: str) -> pd.DataFrame:
    df = _kept(tx, AS_OF)
    freq = _PANDAS_FREQ[period]
    counts = df.groupby(["customer_id", df["date"].dt.to_period(freq)]).size().unstack(fill_value=0)
    periods = pd.period_range(df["date"].min().to_period(freq), pd.Period(AS_OF, freq), freq=freq)
    counts = counts.reindex(columns=periods, fill_value=0)
    counts.columns = counts.columns.start_time
    return counts


@st.composite
def order_logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 60))
    text_ids = draw(st.booleans())
    customers = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    minutes = draw(st.lists(st.integers(0, 500 * 24 * 60), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-2_000, 90_000), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "customer_id": [f"c{c:02d}" for c in customers] if text_ids else customers,
            "date": pd.Timestamp("2022-12-20") + pd.to_timedelta(minutes, unit="min"),
            "amount": np.asarray(cents, dtype=np.float64) / 100.0,
        }
    )


def _quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        return function(*args, **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    order_logs(),
    st.sampled_from(["D", "W", "M", "Q", "Y"]),
    st.sampled_from(["D", "W", "M", "Q", "Y"]),
    st.sampled_from(["customers", "revenue", "orders"]),
    st.booleans(),
)
def test_cohort_table_equals_a_plain_pandas_computation(
    tx: pd.DataFrame, cohort: str, period: str, metric: str, relative: bool
) -> None:
    if _kept(tx, AS_OF).empty:
        return
    before = tx.copy()
    table = _quiet(
        cohort_table,
        tx,
        as_of=AS_OF,
        cohort=cohort,
        period=period,
        metric=metric,
        relative=relative,
        status_col=None,
    )
    expected = _reference_cohort_table(
        tx, cohort=cohort, period=period, metric=metric, relative=relative
    )
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-9)
    assert table.index.tolist() == expected.index.tolist()
    assert table.columns.tolist() == expected.columns.tolist()
    pd.testing.assert_frame_equal(tx, before)


@settings(max_examples=60, deadline=None)
@given(order_logs(), st.sampled_from(["D", "W", "M", "Q", "Y"]))
def test_purchase_history_equals_a_plain_pandas_computation(tx: pd.DataFrame, period: str) -> None:
    if _kept(tx, AS_OF).empty:
        return
    history = _quiet(purchase_history, tx, as_of=AS_OF, period=period, status_col=None)
    expected = _reference_purchase_history(tx, period)
    assert history.index.tolist() == expected.index.tolist()
    assert history.columns.tolist() == expected.columns.tolist()
    assert history.to_numpy().tolist() == expected.to_numpy().tolist()
    assert history.dtypes.map(lambda d: d == np.int64).all()


@pytest.mark.parametrize("backend", ["polars", "pyarrow"])
def test_polars_and_pyarrow_input_give_the_pandas_tables(backend: str) -> None:
    rng = np.random.default_rng(11)
    n = 400
    tx = pd.DataFrame(
        {
            "customer_id": [f"k{i}" for i in rng.integers(0, 50, n)],
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )
    native = pl.from_pandas(tx) if backend == "polars" else pa.Table.from_pandas(tx)
    for metric in ("customers", "revenue", "orders"):
        expected = _quiet(cohort_table, tx, as_of=AS_OF, metric=metric, period="W")
        got = _quiet(cohort_table, native, as_of=AS_OF, metric=metric, period="W")
        pd.testing.assert_frame_equal(got, expected, rtol=1e-12)
    expected = _quiet(purchase_history, tx, as_of=AS_OF)
    pd.testing.assert_frame_equal(_quiet(purchase_history, native, as_of=AS_OF), expected)


def test_integer_ids_stay_integers_in_the_history_index() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": [30, 10, 30],
            "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01"]),
        }
    )
    history = purchase_history(tx, as_of="2024-02-29")
    assert history.index.tolist() == [10, 30] and history.index.dtype == np.int64
    assert history.to_numpy().tolist() == [[1, 0], [1, 1]]
