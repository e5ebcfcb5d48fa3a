"""customer_profitability on every engine equals the in-memory table (parity suite)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, assert_same_table, is_lazy_result, to_engine

from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.value import customer_profitability


def _orders(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{int(i):02d}" for i in rng.integers(0, 25, n)],
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "cost": np.round(rng.gamma(2.0, 15.0, n), 2),
            "status": rng.choice(["confirmed", "fulfilled", "returned"], n, p=[0.6, 0.3, 0.1]),
            "currency": "EUR",
        }
    )


def _run(frame: object, **options: object) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CRMWarning)
        result = customer_profitability(frame, **options)  # type: ignore[arg-type]
    return result, sorted(str(w.message) for w in caught if w.category is CRMWarning)


def test_customer_profitability_same_on_every_engine(engine: str) -> None:
    # every option at once (one Spark case): a cost-of-goods column, a handling cost, a
    # service-cost Series naming a customer without orders, one acquisition cost for all
    orders = _orders()
    options = {
        "cogs_col": "cost",
        "cost_per_order": 1.5,
        "service_costs": pd.Series({"c03": 40.0, "c11": 12.5, "nobody": 9.0}),
        "acquisition_costs": 20.0,
    }
    expected, said = _run(orders, **options)
    result, engine_said = _run(to_engine(orders, engine), **options)
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    assert_same_table(result, expected, key="customer_id")
    assert engine_said == said and len(said) == 1  # the returned orders
    assert expected.loc["nobody", "orders"] == 0 and expected.loc["nobody", "profit"] == -29.0


@pytest.mark.parametrize("lazy_engine", ["polars-lazy", "duckdb", "dask"])
def test_customer_profitability_by_hand_on_lazy_engines(lazy_engine: str) -> None:
    orders = pd.DataFrame({"customer_id": [1, 1, 2, 3], "amount": [100.0, 50.0, 30.0, 10.0]})
    service = pd.DataFrame({"customer_id": [2, 9], "service_cost": [40.0, 15.0]})
    acquisition = pd.Series({1: 10.0, 3: 5.0})
    result = customer_profitability(
        to_engine(orders, lazy_engine),
        cogs_rate=0.5,
        cost_per_order=2.0,
        service_costs=service,
        acquisition_costs=acquisition,
    )
    # 1: 150 - 75 - 2*2 - 10 = 61; 2: 30 - 15 - (40 + 2) = -27; 3: 10 - 5 - 2 - 5 = -2;
    # 9: no orders, a service cost of 15
    hand = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 9],
            "orders": [2, 1, 1, 0],
            "revenue": [150.0, 30.0, 10.0, 0.0],
            "cogs": [75.0, 15.0, 5.0, 0.0],
            "gross_margin": [75.0, 15.0, 5.0, 0.0],
            "service_cost": [4.0, 42.0, 2.0, 15.0],
            "acquisition_cost": [10.0, 0.0, 5.0, 0.0],
            "profit": [61.0, -27.0, -2.0, -15.0],
        }
    )
    assert_same_table(result, hand, key="customer_id")


@pytest.mark.parametrize("lazy_engine", ["polars-lazy", "duckdb"])
def test_customer_profitability_lazy_errors_name_the_problem(lazy_engine: str) -> None:
    orders = _orders(40).assign(status="confirmed")
    with pytest.raises(ValidationError, match="one type"):
        customer_profitability(
            to_engine(orders, lazy_engine), service_costs=pd.Series({1: 5.0, 2: 1.0})
        )
    with pytest.raises(ValidationError, match="lazy frame"):
        customer_profitability(
            to_engine(orders, lazy_engine),
            acquisition_costs=to_engine(
                pd.DataFrame({"customer_id": ["c01"], "acquisition_cost": [1.0]}), lazy_engine
            ),
        )
    with pytest.raises(ValidationError, match=">= 0"):
        customer_profitability(
            to_engine(orders, lazy_engine), service_costs=pd.Series({"c01": -1.0})
        )
    with pytest.raises(ValidationError, match="2 currencies"):
        customer_profitability(
            to_engine(orders.assign(currency=["EUR"] * 39 + ["USD"]), lazy_engine)
        )
    with pytest.raises(ValidationError, match="numeric"):
        customer_profitability(to_engine(orders.assign(cost="x"), lazy_engine), cogs_col="cost")
