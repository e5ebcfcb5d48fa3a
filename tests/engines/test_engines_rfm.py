"""rfm_table on every engine equals the in-memory table (the engine parity suite)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, assert_same_table, is_lazy_result, to_engine

from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.segmentation import rfm_table


def _orders(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Orders with times of day, dates before 1970, same-day repeats, returns, statuses."""
    rng = np.random.default_rng(seed)
    days = rng.integers(-400, 200, n)  # days from 1970-01-01 plus an offset below
    stamp = pd.Timestamp("1969-06-01") + pd.to_timedelta(days, unit="D")
    stamp = stamp + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    return pd.DataFrame(
        {
            "customer_id": [f"c{int(i):03d}" for i in rng.integers(0, 60, n)],
            "date": stamp,
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2) * np.where(rng.random(n) < 0.05, -1, 1),
            "status": rng.choice(["confirmed", "fulfilled", "Cancelled"], n, p=[0.6, 0.3, 0.1]),
        }
    )


@pytest.mark.parametrize(("frequency", "monetary"), [("orders", "total"), ("days", "mean")])
def test_rfm_table_same_on_every_engine(engine: str, frequency: str, monetary: str) -> None:
    orders = _orders()
    as_of = "1969-10-31"
    with warnings.catch_warnings(record=True) as eager_warnings:
        warnings.simplefilter("always", CRMWarning)
        expected = rfm_table(orders, as_of=as_of, frequency=frequency, monetary=monetary)
    with warnings.catch_warnings(record=True) as engine_warnings:
        warnings.simplefilter("always", CRMWarning)
        result = rfm_table(
            to_engine(orders, engine), as_of=as_of, frequency=frequency, monetary=monetary
        )
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    assert_same_table(result, expected, key="customer_id")
    # the same rows are excluded, with the same words
    said = sorted(str(w.message) for w in eager_warnings if w.category is CRMWarning)
    assert sorted(str(w.message) for w in engine_warnings if w.category is CRMWarning) == said
    assert len(said) == 3  # statuses, cut-off, negative amounts


def test_rfm_table_by_hand_on_lazy_engines(engine: str) -> None:
    """A table worked by hand (independent of the in-memory path)."""
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2024-01-05 09:00", "2024-01-05 18:00", "2024-03-01 00:00", "2024-02-10 07:30"]
            ),
            "amount": [20.0, 10.0, 30.0, 15.0],
        }
    )
    result = rfm_table(to_engine(orders, engine), as_of="2024-03-31", frequency="days")
    hand = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "first_purchase": pd.to_datetime(["2024-01-05", "2024-02-10"]),
            "last_purchase": pd.to_datetime(["2024-03-01", "2024-02-10"]),
            "recency_days": [30.0, 50.0],  # 31 March - 1 March; 31 March - 10 February
            "frequency": [2, 1],  # two distinct days for a
            "monetary": [60.0, 15.0],
        }
    )
    assert_same_table(result, hand, key="customer_id")


@pytest.mark.parametrize("lazy_engine", [e for e in LAZY_ENGINES if e != "spark"])
def test_rfm_table_lazy_errors_name_the_problem(lazy_engine: str) -> None:
    orders = _orders(50).assign(currency=["EUR"] * 49 + ["USD"])
    with pytest.raises(ValidationError, match="2 currencies"):
        rfm_table(to_engine(orders, lazy_engine), as_of="1969-10-31")
    with pytest.raises(ValidationError, match="customers="):
        rfm_table(to_engine(_orders(50), lazy_engine), as_of="1969-10-31", customers=["c001"])
    blank = _orders(50).assign(status="confirmed")
    blank.loc[3, "customer_id"] = "(blank)"
    with pytest.raises(ValidationError, match="'no customer'"):
        rfm_table(to_engine(blank, lazy_engine), as_of="1969-10-31")
    text = _orders(50).assign(status="confirmed", date=lambda f: f["date"].dt.strftime("%d/%m/%Y"))
    with pytest.raises(ValidationError, match="date_format"):
        rfm_table(to_engine(text, lazy_engine), as_of="1969-10-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        parsed = rfm_table(to_engine(text, lazy_engine), as_of="31/10/1969", date_format="%d/%m/%Y")
        expected = rfm_table(text, as_of="31/10/1969", date_format="%d/%m/%Y")
    assert_same_table(parsed, expected, key="customer_id")
    with pytest.raises(ValidationError, match="no transaction is dated on or before"):
        rfm_table(
            to_engine(_orders(50).assign(status="confirmed"), lazy_engine), as_of="1900-01-01"
        )
