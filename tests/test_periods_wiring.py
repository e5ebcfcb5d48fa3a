"""The value package numbers periods with the one period clock, and its outputs did not move.

Before issue 11, ``btyd_summary``, ``cohort_table`` and ``purchase_history`` numbered
periods on their own: days and Monday-start weeks from 1970-01-01, but months, quarters and
years from year 0 (``12 year + month - 1``, ``4 year + (month - 1) // 3``, ``year``). They
now use :mod:`crmcore._periods`, whose epoch is 1970-01-01 for every unit. The outputs use
only differences of period numbers and period starts, so they must not change: each test
runs the function twice on a Hypothesis order log, once as it is and once with the old
numbering (written out below, as it was) patched in, and requires equal frames.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore.value.btyd._summary as summary_module
import crmcore.value.economics._migration_chain as chain_module
import crmcore.value.retention._cohorts as cohorts_module
from crmcore.value import btyd_summary, cohort_table, purchase_history

# -- the old numbering, as the value package had it -----------------------------------------


def _old_formula(year: Any, month: Any, days: Any, hour: Any, unit: str) -> Any:
    """The old numbers from calendar parts (numpy arrays or narwhals expressions alike)."""
    if unit == "M":
        return year * 12 + month - 1
    if unit == "Q":
        return year * 4 + (month - 1) // 3
    if unit == "Y":
        return year
    if unit == "h":
        return days * 24 + hour
    return days if unit == "D" else (days + 3) // 7


def _old_numbers(values: Any, unit: str, **_: Any) -> np.ndarray:
    """Old period numbers: days/weeks from 1970-01-01, months/quarters/years from year 0."""
    index = pd.DatetimeIndex(values)
    if index.tz is not None:
        index = index.tz_localize(None)  # the wall clock, as the old code read it
    days = index.to_numpy().astype("datetime64[D]").astype(np.int64)
    parts = (index.year, index.month, index.hour)
    year, month, hour = (np.asarray(p, dtype=np.int64) for p in parts)
    return np.asarray(_old_formula(year, month, days, hour, unit), dtype=np.int64)


def _old_expr(column: str, unit: str) -> nw.Expr:
    """The same numbers as a narwhals expression (days from year and ordinal day, as before)."""
    col = nw.col(column)
    year = col.dt.year().cast(nw.Int64)
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + col.dt.ordinal_day().cast(nw.Int64) - 719163
    month, hour = col.dt.month().cast(nw.Int64), col.dt.hour().cast(nw.Int64)
    expr: nw.Expr = _old_formula(year, month, days, hour, unit)
    return expr


def _old_start(numbers: Any, unit: str, **_: Any) -> pd.DatetimeIndex:
    """First day of each old period number."""
    n = np.asarray(numbers, dtype=np.int64)
    if unit == "M":
        return pd.DatetimeIndex([pd.Timestamp(int(i // 12), int(i % 12) + 1, 1) for i in n])
    if unit == "Q":
        return pd.DatetimeIndex([pd.Timestamp(int(i // 4), int(i % 4) * 3 + 1, 1) for i in n])
    if unit == "Y":
        return pd.DatetimeIndex([pd.Timestamp(int(i), 1, 1) for i in n])
    days = n if unit == "D" else n * 7 - 3
    return pd.DatetimeIndex(pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D"))


def test_the_old_numbering_is_written_as_it_was() -> None:
    # hand values: 1970-01-05 is a Monday, day 4, week 1, month 1970 * 12 = 23640
    when = pd.DatetimeIndex(["1970-01-05 13:00", "1969-12-31", "1997-03-31"])
    assert _old_numbers(when, "D").tolist() == [4, -1, 9951]
    assert _old_numbers(when, "W").tolist() == [1, 0, 1422]
    assert _old_numbers(when, "M").tolist() == [23640, 23639, 23966]
    assert _old_numbers(when, "Q").tolist() == [7880, 7879, 7988]
    assert _old_numbers(when, "h").tolist() == [4 * 24 + 13, -24, 9951 * 24]
    frame = nw.from_native(pd.DataFrame({"t": when}), eager_only=True)
    for unit in ("h", "D", "W", "M", "Q", "Y"):
        expr = frame.select(_old_expr("t", unit).alias("n"))["n"].to_list()
        assert expr == _old_numbers(when, unit).tolist(), unit
    assert _old_start(np.array([23640, 23966]), "M").tolist() == [
        pd.Timestamp("1970-01-01"),
        pd.Timestamp("1997-03-01"),
    ]
    assert _old_start(np.array([7988]), "Q")[0] == pd.Timestamp("1997-01-01")
    assert _old_start(np.array([1]), "W")[0] == pd.Timestamp("1970-01-05")


def test_the_value_package_has_no_period_numbering_of_its_own() -> None:
    assert importlib.util.find_spec("crmcore.value._periods") is None
    for module in (summary_module, cohorts_module, chain_module):
        names = set(vars(module))
        assert not names & {"_period_expr", "_with_period", "_day_numbers", "period_index"}
        assert "_EPOCH" not in names


# -- Hypothesis order logs --------------------------------------------------------------------


@st.composite
def order_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Orders of up to 5 customers within ~3 years of a start between 1955 and 2100.

    Starts before 1970 put negative numbers on both clocks; minutes put orders late in a
    day, week, month or year.
    """
    start = draw(st.integers(-15 * 365, 130 * 365))  # days from 1970-01-01
    n = draw(st.integers(1, 25))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 4), st.integers(0, 1_100 * 24 * 60)),
            min_size=n,
            max_size=n,
        )
    )
    base = np.datetime64("1970-01-01", "m") + np.timedelta64(start * 24 * 60, "m")
    dates = base + np.array([m for _, m in rows], dtype="timedelta64[m]")
    log = pd.DataFrame(
        {
            "customer_id": [f"c{c}" for c, _ in rows],
            "date": dates.astype("datetime64[ns]"),
            "amount": [float(1 + (c * 7 + m) % 50) for c, m in rows],
        }
    )
    as_of = pd.Timestamp(dates.max()).normalize() + pd.Timedelta(days=draw(st.integers(0, 400)))
    return log, as_of


def _twice(patch: dict[str, Any], module: Any, call: Any) -> tuple[Any, Any]:
    """`call()` as it is, then with the old numbering patched into `module`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = call()
        with pytest.MonkeyPatch.context() as mp:
            for name, value in patch.items():
                mp.setattr(module, name, value)
            old = call()
    return new, old


@settings(max_examples=40, deadline=None)
@given(
    case=order_logs(),
    cohort=st.sampled_from(["D", "W", "M", "Q", "Y"]),
    period=st.sampled_from(["D", "W", "M", "Q", "Y"]),
    metric=st.sampled_from(["customers", "revenue", "orders"]),
)
def test_cohort_table_is_unchanged_by_the_clock(
    case: tuple[pd.DataFrame, pd.Timestamp], cohort: str, period: str, metric: str
) -> None:
    log, as_of = case
    patch = {"period_expr": _old_expr, "period_numbers": _old_numbers, "period_start": _old_start}
    new, old = _twice(
        patch,
        cohorts_module,
        lambda: cohort_table(log, as_of=as_of, cohort=cohort, period=period, metric=metric),
    )
    pd.testing.assert_frame_equal(new, old)


@settings(max_examples=40, deadline=None)
@given(case=order_logs(), period=st.sampled_from(["D", "W", "M", "Q", "Y"]))
def test_purchase_history_is_unchanged_by_the_clock(
    case: tuple[pd.DataFrame, pd.Timestamp], period: str
) -> None:
    log, as_of = case
    patch = {"period_numbers": _old_numbers, "period_start": _old_start}
    new, old = _twice(
        patch, chain_module, lambda: purchase_history(log, as_of=as_of, period=period)
    )
    pd.testing.assert_frame_equal(new, old)
    assert int(new.to_numpy().sum()) == len(log)  # every order counted once


@settings(max_examples=40, deadline=None)
@given(
    case=order_logs(),
    unit=st.sampled_from(["h", "D", "W", "M"]),
    holdout=st.booleans(),
    arrays=st.booleans(),
)
def test_btyd_summary_is_unchanged_by_the_clock(
    case: tuple[pd.DataFrame, pd.Timestamp], unit: str, holdout: bool, arrays: bool
) -> None:
    log, as_of = case
    first = pd.Timestamp(log["date"].min()).normalize()
    calibration_end = None
    if holdout:
        calibration_end = first + (as_of - first) / 2
        if calibration_end.normalize() >= as_of.normalize():
            calibration_end = None
        else:
            calibration_end = calibration_end.normalize()
    patch = {"period_expr": _old_expr, "period_numbers": _old_numbers}

    def call() -> pd.DataFrame:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(summary_module, "_ARRAY_ENGINE", arrays)
            return btyd_summary(
                log,
                amount_col="amount",
                as_of=as_of,
                time_unit=unit,
                calibration_end=calibration_end,
            )

    new, old = _twice(patch, summary_module, call)
    pd.testing.assert_frame_equal(new, old)
