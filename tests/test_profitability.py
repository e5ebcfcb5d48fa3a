"""Tests for customer profitability and the retention plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore._plots.retention import plot_cohort_heatmap, plot_retention_sensitivity
from crmcore.exceptions import ValidationError
from crmcore.value.economics._profitability import customer_profitability
from crmcore.value.retention._cohorts import cohort_table


def _tx():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "amount": [100.0, 50.0, 30.0, 10.0],
            "cost": [60.0, 20.0, 25.0, 2.0],
        }
    )


def test_profit_is_revenue_minus_cogs_service_and_acquisition_by_hand():
    service = pd.DataFrame({"customer_id": ["b", "z"], "service_cost": [40.0, 15.0]})
    out = customer_profitability(
        _tx(),
        cogs_col="cost",
        cost_per_order=2.0,
        service_costs=service,
        acquisition_costs=pd.Series({"a": 10.0, "c": 5.0}),
    )
    assert out.index.tolist() == ["a", "b", "c", "z"]
    # a: 150 - 80 - 2*2 - 10 = 56; b: 30 - 25 - (40 + 2) - 0 = -37; c: 10 - 2 - 2 - 5 = 1
    # z: no orders, only a service cost of 15
    assert out["profit"].tolist() == [56.0, -37.0, 1.0, -15.0]
    assert out.loc["z", "orders"] == 0
    np.testing.assert_allclose(
        out["profit"], out["revenue"] - out["cogs"] - out["service_cost"] - out["acquisition_cost"]
    )


def test_cogs_rate_and_polars_input_agree_with_pandas():
    a = customer_profitability(_tx(), cogs_rate=0.5, acquisition_costs=3.0)
    b = customer_profitability(pl.from_pandas(_tx()), cogs_rate=0.5, acquisition_costs=3.0)
    pd.testing.assert_frame_equal(a, b)
    assert a.loc["a", "cogs"] == 75.0
    assert a["acquisition_cost"].tolist() == [3.0, 3.0, 3.0]


def test_whale_curve_input_total_profit_is_conserved():
    out = customer_profitability(_tx(), cogs_col="cost")
    ranked = out["profit"].sort_values(ascending=False).cumsum()
    assert ranked.iloc[-1] == pytest.approx(190.0 - 107.0)


def test_input_is_not_mutated():
    tx = _tx()
    before = tx.copy()
    costs = pd.Series({"a": 1.0})
    customer_profitability(tx, cogs_col="cost", service_costs=costs)
    pd.testing.assert_frame_equal(tx, before)
    assert costs.to_dict() == {"a": 1.0}


def test_bad_input_raises():
    with pytest.raises(ValidationError, match="not both"):
        customer_profitability(_tx(), cogs_col="cost", cogs_rate=0.5)
    with pytest.raises(ValidationError, match="cogs_rate"):
        customer_profitability(_tx(), cogs_rate=1.5)
    with pytest.raises(ValidationError, match=">= 0"):
        customer_profitability(_tx(), service_costs=pd.Series({"a": -1.0}))
    with pytest.raises(ValidationError, match="more than once"):
        customer_profitability(_tx(), service_costs=pd.Series([1.0, 2.0], index=["a", "a"]))
    bad = _tx().assign(currency=["EUR", "USD", "EUR", "EUR"])
    with pytest.raises(ValidationError, match="currencies"):
        customer_profitability(bad)


def test_cohort_heatmap_draws_one_cell_per_value():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-01-20", "2024-02-14"]),
        }
    )
    table = cohort_table(tx, as_of="2024-02-29", relative=True)
    ax = plot_cohort_heatmap(table, title="retention")
    assert len(ax.images) == 1
    assert [t.get_text() for t in ax.texts] == ["100%", "50%", "100%"]
    assert ax.get_title() == "retention"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01-01", "2024-02-01"]


def test_retention_sensitivity_plot_has_a_curve_and_marks():
    ax = plot_retention_sensitivity([10.0] * 10, discount_rate=0.1, mark=[0.8, 0.85])
    lines = ax.get_lines()
    assert len(lines) == 3
    x, y = lines[0].get_data()
    assert len(x) == 49 and (np.diff(y) > 0).all()
    assert ax.get_xlabel() == "yearly retention rate"
