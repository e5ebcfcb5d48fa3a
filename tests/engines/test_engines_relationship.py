"""relationship_type on every engine equals the in-memory classification (parity suite)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, assert_same_table, is_lazy_result, to_engine

from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.segmentation import relationship_type


def _orders(n: int = 300, seed: int = 11) -> pd.DataFrame:
    """B2B orders: times of day, dates before 1970 and across 2**k day boundaries,
    same-day repeats, statuses, customers with one, two and many purchase days."""
    rng = np.random.default_rng(seed)
    days = rng.integers(-200, 700, n)
    stamp = pd.Timestamp("1969-09-01") + pd.to_timedelta(days, unit="D")
    stamp = stamp + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    # amounts in quarters: sums are exact on every engine, so ties at the median are ties
    many = pd.DataFrame(
        {
            "customer_id": [f"k{int(i):02d}" for i in rng.integers(0, 40, n)],
            "date": stamp,
            "amount": rng.integers(1, 4_000, n) / 4.0,
            "status": rng.choice(["confirmed", "fulfilled", "draft"], n, p=[0.6, 0.3, 0.1]),
        }
    )
    few = pd.DataFrame(
        {
            "customer_id": ["solo", "pair", "pair", "same", "same"],
            "date": pd.to_datetime(
                ["1970-01-01", "1969-12-31", "1970-01-02", "1971-05-05 08:00", "1971-05-05 13:00"],
                format="ISO8601",
            ),
            "amount": [5.0, 2500.0, 2600.0, 1.25, 1.5],
            "status": "confirmed",
        }
    )
    return pd.concat([many, few], ignore_index=True)


def _run(frame: object, **options: object) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CRMWarning)
        result = relationship_type(frame, **options)  # type: ignore[arg-type]
    return result, sorted(str(w.message) for w in caught if w.category is CRMWarning)


def test_relationship_type_same_on_every_engine(engine: str) -> None:
    # every option at once (one Spark case): contracts, the median size threshold,
    # statuses filtered with a warning, a CV threshold
    orders = _orders()
    options = {"contracts": ["k01", "k07", "k33", "absent"], "cv_threshold": 0.8}
    expected, said = _run(orders, **options)
    if engine == "dask":
        with pytest.raises(ValidationError, match="Dask"), warnings.catch_warnings():
            warnings.simplefilter("ignore", CRMWarning)
            relationship_type(to_engine(orders, engine), **options)  # type: ignore[arg-type]
        return
    result, engine_said = _run(to_engine(orders, engine), **options)
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    assert_same_table(result, expected, key="customer_id")
    assert engine_said == said and len(said) == 1  # the draft orders
    # the input has all three types and regular buyers, so the comparison means something
    assert set(expected["relationship_type"]) == {"transactional", "hybrid", "relationship"}
    assert expected["regular"].any() and expected["gap_cv"].isna().any()


@pytest.mark.parametrize("lazy_engine", ["polars-lazy", "duckdb"])
def test_relationship_type_by_hand_on_lazy_engines(lazy_engine: str) -> None:
    """Gaps worked by hand, string dates parsed on the engine, a fixed size threshold."""
    orders = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 1, 2, 2, 3, 3, 3],
            # 1: days 0, 31, 60, 91 (+ a same-day repeat): gaps 31, 29, 31
            # 3: gaps 1 and 99 (crossing 2**k boundaries of the day numbers)
            "date": [
                "01/01/2024",
                "01/02/2024",
                "01/02/2024",
                "01/03/2024",
                "01/04/2024",
                "10/01/2024",
                "20/06/2024",
                "31/12/2023",
                "01/01/2024",
                "09/04/2024",
            ],
            "amount": [900.0, 500.0, 500.0, 1100.0, 1000.0, 50.0, 80.0, 10.0, 20.0, 30.0],
        }
    )
    result = relationship_type(
        to_engine(orders, lazy_engine),
        contracts=[2, "1"],  # "1" is text: it matches no integer id, as in memory
        size_threshold=100.0,
        date_format="%d/%m/%Y",
    )
    # CV = sqrt(k * S2 - S1**2) / S1: customer 1: k=3, S1=91, S2=2763 -> sqrt(8)/91;
    # customer 3: k=2, S1=100, S2=9802 -> sqrt(9604)/100 = 0.98
    hand = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "orders": [5, 2, 3],
            "purchase_days": [4, 2, 3],
            "mean_order_value": [800.0, 65.0, 20.0],
            "gap_cv": [np.sqrt(8.0) / 91.0, np.nan, 0.98],
            "regular": [True, False, False],
            "large": [True, False, False],
            "contract": [False, True, False],
            "relationship_type": ["relationship", "hybrid", "transactional"],
        }
    )
    assert_same_table(result, hand, key="customer_id")
    in_memory = relationship_type(
        orders, contracts=[2, "1"], size_threshold=100.0, date_format="%d/%m/%Y"
    )
    assert_same_table(in_memory, hand, key="customer_id")


@pytest.mark.parametrize("lazy_engine", ["polars-lazy", "duckdb"])
def test_relationship_type_lazy_gaps_match_memory_on_wide_ranges(lazy_engine: str) -> None:
    # days spread over four centuries (high bits of the day numbers differ), dense runs
    rng = np.random.default_rng(5)
    n = 400
    offsets = np.concatenate([rng.integers(-80_000, 80_000, n // 2), rng.integers(0, 40, n // 2)])
    orders = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 12, n),
            "date": pd.Timestamp("1970-01-01") + pd.to_timedelta(offsets, unit="D"),
            "amount": rng.integers(1, 100, n) * 1.0,
        }
    )
    expected = relationship_type(orders)
    assert_same_table(
        relationship_type(to_engine(orders, lazy_engine)), expected, key="customer_id"
    )
