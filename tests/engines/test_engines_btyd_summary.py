"""btyd_summary on every engine equals the in-memory summary (the engine parity suite).

Each case runs one order log through every engine of the harness and compares the result
with the in-memory (pandas) summary and with an independent plain-pandas computation
(pandas ``Period`` ordinals and group-bys, not crmcore's period clock), to 1e-12. Spark runs
only the case that combines every option (weeks, amounts, a holdout cut at noon on a
Wednesday, a unit multiplier, statuses, returns, dates before 1970) and the hand-worked log.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _engine_harness import ENGINES, LAZY_ENGINES, assert_same_table, is_lazy_result, to_engine

from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.value import btyd_summary

AS_OF = "1969-12-31"

CASES: dict[str, dict[str, Any]] = {
    "days-amounts-holdout": {
        "time_unit": "D",
        "amount_col": "amount",
        "calibration_end": "1969-06-30",
    },
    "weeks-every-option": {
        "time_unit": "W",
        "amount_col": "amount",
        "calibration_end": "1969-06-18 12:00",  # a Wednesday noon: its week is split
        "unit_multiplier": 2,
    },
    "months-first-purchase-included": {
        "time_unit": "M",
        "amount_col": "amount",
        "include_first_transaction": True,
    },
    "months-holdout-without-amounts": {"time_unit": "M", "calibration_end": "1969-08-31"},
    "hours-amounts": {"time_unit": "h", "amount_col": "amount"},
}
SPARK_CASES = ("weeks-every-option",)
PARAMS = [
    pytest.param(engine, case, id=f"{engine}-{case}")
    for case in CASES
    for engine in ENGINES
    if engine != "spark" or case in SPARK_CASES
]


def _orders(n: int = 600, seed: int = 11) -> pd.DataFrame:
    """Orders with times of day, dates before 1970, same-period repeats, returns, statuses.

    Some rows fall after `AS_OF` (excluded, with a warning), some customers buy only after
    the holdout starts (absent from the summary).
    """
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 520, n)
    stamp = pd.Timestamp("1968-09-01") + pd.to_timedelta(days, unit="D")
    stamp = stamp + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    sign = np.where(rng.random(n) < 0.05, -1.0, 1.0)
    return pd.DataFrame(
        {
            "customer_id": [f"c{int(i):03d}" for i in rng.integers(0, 80, n)],
            "date": stamp,
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2) * sign,
            "status": rng.choice(["confirmed", "fulfilled", "Cancelled"], n, p=[0.6, 0.3, 0.1]),
        }
    )


_FREQ = {"h": "h", "D": "D", "W": "W-SUN", "M": "M"}


def _reference(
    orders: pd.DataFrame,
    *,
    as_of: str,
    time_unit: str = "D",
    amount_col: str | None = None,
    calibration_end: str | None = None,
    unit_multiplier: float = 1,
    include_first_transaction: bool = False,
) -> pd.DataFrame:
    """The summary by plain pandas: purchases only, pandas Period ordinals, group-bys."""
    freq = _FREQ[time_unit]
    rows = orders[orders["status"].str.strip().str.lower().isin(["confirmed", "fulfilled"])]
    # a date cut-off includes its whole day: its last included instant is 23:59:59.999999
    last_included = pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    rows = rows[rows["date"] <= last_included]
    rows = rows.assign(period=rows["date"].dt.to_period(freq).array.asi8)
    end = pd.Period(last_included, freq).ordinal
    hold = pd.Series(False, index=rows.index)
    if calibration_end is not None:
        cal = pd.Timestamp(calibration_end)
        if cal == cal.normalize():
            cal = cal + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        hold = rows["date"] > cal
        end_of_holdout = end
        end = pd.Period(cal, freq).ordinal
    calib, later = rows[~hold], rows[hold]
    amount = "amount" if amount_col is None else amount_col
    per_period = calib.groupby(["customer_id", "period"])[amount].sum().reset_index()
    by_customer = per_period.groupby("customer_id")["period"]
    first, last, count = by_customer.min(), by_customer.max(), by_customer.size()
    out = pd.DataFrame(
        {
            "frequency": (count if include_first_transaction else count - 1).astype(float),
            "recency": (last - first) / unit_multiplier,
            "T": (end - first) / unit_multiplier,
        }
    )
    if amount_col is not None:
        if include_first_transaction:
            out["monetary_value"] = per_period.groupby("customer_id")[amount].mean()
        else:
            repeat = per_period[per_period["period"] > per_period["customer_id"].map(first)]
            out["monetary_value"] = repeat.groupby("customer_id")[amount].mean()
            out["monetary_value"] = out["monetary_value"].fillna(0.0)
    if calibration_end is not None:
        periods_later = later.groupby("customer_id")["period"].nunique()
        out["frequency_holdout"] = periods_later.reindex(out.index).fillna(0).astype(float)
        if amount_col is not None:
            mean_later = later.groupby("customer_id")[amount].mean()
            out["monetary_value_holdout"] = mean_later.reindex(out.index).fillna(0.0)
        out["duration_holdout"] = (end_of_holdout - end) / unit_multiplier
    out.index.name = "customer_id"
    return out.astype(float)


def _crm_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    ours = [w for w in caught if issubclass(w.category, CRMWarning)]
    assert {w.filename for w in ours} <= {__file__}  # they point at the caller
    return sorted(str(w.message) for w in ours)


@pytest.mark.parametrize(("engine", "case"), PARAMS)
def test_btyd_summary_same_on_every_engine(engine: str, case: str) -> None:
    orders = _orders()
    options = CASES[case]
    with warnings.catch_warnings(record=True) as eager_caught:
        warnings.simplefilter("always", CRMWarning)
        expected = btyd_summary(orders, as_of=AS_OF, **options)
    native = to_engine(orders, engine)
    with warnings.catch_warnings(record=True) as engine_caught:
        warnings.simplefilter("always", CRMWarning)
        result = btyd_summary(native, as_of=AS_OF, **options)
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    if engine in LAZY_ENGINES:  # the caller's own engine comes back
        assert type(result).__module__.split(".")[0] == type(native).__module__.split(".")[0]
    assert_same_table(result, expected, key="customer_id")
    assert_same_table(result, _reference(orders, as_of=AS_OF, **options), key="customer_id")
    # the same rows are excluded, with the same words: statuses, cut-off, returns
    said = _crm_warnings(eager_caught)
    assert _crm_warnings(engine_caught) == said
    assert len(said) == (3 if "amount_col" in options else 2)


def _hand_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3],
            "date": pd.to_datetime(
                [
                    "1969-12-30 10:00",
                    "1969-12-30 18:00",  # same day: one period
                    "1970-01-02 09:00",
                    "1970-01-10 12:00",  # holdout
                    "1970-01-03 08:00",
                    "1970-01-08 08:00",  # customer 3 buys only in the holdout
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 7.0, 8.0, 4.0],
        }
    )


def test_btyd_summary_by_hand_on_every_engine(engine: str) -> None:
    """Days, amounts and a holdout, worked by hand (independent of both code paths)."""
    result = btyd_summary(
        to_engine(_hand_log(), engine),
        amount_col="amount",
        as_of="1970-01-15",
        calibration_end="1970-01-05",
    )
    hand = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "frequency": [1.0, 0.0],  # days 12-30 and 01-02; one day
            "recency": [3.0, 0.0],  # 12-30 to 01-02
            "T": [6.0, 2.0],  # to 01-05: from 12-30, from 01-03
            "monetary_value": [20.0, 0.0],  # the repeat day's total; no repeat
            "frequency_holdout": [1.0, 0.0],
            "monetary_value_holdout": [7.0, 0.0],
            "duration_holdout": [10.0, 10.0],  # 01-05 to 01-15
        }
    )
    assert_same_table(result, hand, key="customer_id")


@pytest.mark.parametrize("npartitions", [1, 24])
def test_dask_summary_holds_for_many_partitions(npartitions: int) -> None:
    """Dask's group-by + join KeyError (from about 12 partitions) does not reach the summary."""
    orders = _orders()
    for options in (CASES["days-amounts-holdout"], {"amount_col": "amount"}, {}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CRMWarning)
            expected = btyd_summary(orders, as_of=AS_OF, **options)
            result = btyd_summary(
                to_engine(orders, "dask", npartitions=npartitions), as_of=AS_OF, **options
            )
        assert_same_table(result, expected, key="customer_id")


@pytest.mark.parametrize("lazy_engine", [e for e in LAZY_ENGINES if e != "spark"])
def test_string_dates_with_a_format_are_parsed_on_the_engine(lazy_engine: str) -> None:
    orders = _orders(200)
    text = orders.assign(date=orders["date"].dt.strftime("%d/%m/%Y %H:%M:%S"))
    options = {"amount_col": "amount", "calibration_end": "1969-06-30", "time_unit": "W"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        expected = btyd_summary(orders, as_of=AS_OF, **options)
        result = btyd_summary(
            to_engine(text, lazy_engine), as_of=AS_OF, date_format="%d/%m/%Y %H:%M:%S", **options
        )
    assert is_lazy_result(result)
    assert_same_table(result, expected, key="customer_id")


@pytest.mark.parametrize("lazy_engine", [e for e in LAZY_ENGINES if e != "spark"])
@pytest.mark.filterwarnings("ignore::crmcore.exceptions.CRMWarning")
def test_lazy_summary_refuses_what_it_cannot_check(lazy_engine: str) -> None:
    orders = _orders(50)
    with pytest.raises(ValidationError, match=r"unit_multiplier=1e-307.*collect"):
        btyd_summary(to_engine(orders, lazy_engine), as_of=AS_OF, unit_multiplier=1e-307)
    # the same option is fine in memory, where overflow is checked and reported
    with pytest.raises(ValidationError, match="exceed the largest float"):
        btyd_summary(orders, as_of=AS_OF, unit_multiplier=1e-307)
    with pytest.raises(ValidationError, match="no transaction is dated on or before"):
        btyd_summary(to_engine(orders, lazy_engine), as_of="1960-01-01")
