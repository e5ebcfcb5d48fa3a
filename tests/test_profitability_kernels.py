"""customer_profitability on the kernel layer equals an independent plain-pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.value import customer_profitability


@st.composite
def cases(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    amounts = draw(st.lists(st.integers(-200, 50_000), min_size=n, max_size=n))
    costs = draw(st.lists(st.integers(0, 20_000), min_size=n, max_size=n))
    orders = pd.DataFrame(
        {
            "customer_id": ids,
            "amount": np.asarray(amounts, dtype=np.float64) / 8.0,
            "cost": np.asarray(costs, dtype=np.float64) / 8.0,
        }
    )
    service_ids = draw(st.lists(st.integers(0, 14), unique=True, max_size=6))
    service = pd.Series(
        [draw(st.integers(0, 4_000)) / 4.0 for _ in service_ids], index=service_ids, dtype=float
    )
    acquisition_ids = draw(st.lists(st.integers(0, 14), unique=True, max_size=6))
    acquisition = pd.Series(
        [draw(st.integers(0, 4_000)) / 4.0 for _ in acquisition_ids],
        index=acquisition_ids,
        dtype=float,
    )
    return orders, service, acquisition


def _plain_pandas(
    orders: pd.DataFrame, service: pd.Series, acquisition: pd.Series, cost_per_order: float
) -> pd.DataFrame:
    """Revenue - cost of goods - cost to serve - acquisition cost, by plain pandas."""
    per = orders.groupby("customer_id").agg(
        orders=("amount", "size"), revenue=("amount", "sum"), cogs=("cost", "sum")
    )
    everyone = per.index.union(service.index).union(acquisition.index).sort_values()
    out = per.reindex(everyone).fillna({"orders": 0, "revenue": 0.0, "cogs": 0.0})
    out["orders"] = out["orders"].astype("int64")
    out["gross_margin"] = out["revenue"] - out["cogs"]
    out["service_cost"] = service.reindex(everyone).fillna(0.0) + cost_per_order * out["orders"]
    out["acquisition_cost"] = acquisition.reindex(everyone).fillna(0.0)
    out["profit"] = out["gross_margin"] - out["service_cost"] - out["acquisition_cost"]
    return out


@pytest.mark.filterwarnings("ignore:customer_profitability. .* negative amounts")
@settings(max_examples=120, deadline=None)
@given(case=cases(), cost_per_order=st.sampled_from([0.0, 0.5, 3.25]), seed=st.integers(0, 99))
def test_customer_profitability_equals_plain_pandas_and_ignores_row_order(
    case: tuple[pd.DataFrame, pd.Series, pd.Series], cost_per_order: float, seed: int
) -> None:
    orders, service, acquisition = case
    got = customer_profitability(
        orders,
        cogs_col="cost",
        cost_per_order=cost_per_order,
        service_costs=service,
        acquisition_costs=acquisition,
    )
    ref = _plain_pandas(orders, service, acquisition, cost_per_order)
    assert got.index.tolist() == ref.index.tolist()
    assert got["orders"].tolist() == ref["orders"].tolist()
    for column in ("revenue", "cogs", "gross_margin", "service_cost", "acquisition_cost", "profit"):
        np.testing.assert_allclose(got[column], ref[column], rtol=1e-12, atol=1e-9, err_msg=column)
    shuffled = orders.sample(frac=1.0, random_state=seed)
    again = customer_profitability(
        shuffled,
        cogs_col="cost",
        cost_per_order=cost_per_order,
        service_costs=service,
        acquisition_costs=acquisition,
    )
    pd.testing.assert_frame_equal(again, got)  # correctly rounded sums: bit for bit


def test_customer_profitability_same_for_polars_and_pyarrow_text_ids() -> None:
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(8)
    n = 400
    orders = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in rng.integers(0, 70, n)],
            "amount": rng.integers(1, 10_000, n) / 8.0,
            "cost": rng.integers(0, 5_000, n) / 8.0,
        }
    )
    options = {
        "cogs_col": "cost",
        "cost_per_order": 1.0,
        "service_costs": pd.Series({"c001": 4.0, "zzz": 2.0}),
    }
    expected = customer_profitability(orders, **options)  # type: ignore[arg-type]
    for frame in (pl.from_pandas(orders), pa.Table.from_pandas(orders)):
        pd.testing.assert_frame_equal(customer_profitability(frame, **options), expected)  # type: ignore[arg-type]


def test_customer_profitability_refuses_a_text_cost_column() -> None:
    orders = pd.DataFrame({"customer_id": ["a"], "amount": [1.0], "cost": ["x"]})
    with pytest.raises(ValueError, match="cost"):
        customer_profitability(orders, cogs_col="cost")
