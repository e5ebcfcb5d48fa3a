"""Pipeline plots draw what they are given (values checked against hand sums)."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from crmcore.exceptions import ValidationError
from crmcore.pipeline import forecast_revenue, simple_pipeline
from crmcore.plotting import plot_backtest_calibration, plot_forecast_distribution, plot_funnel

matplotlib.use("Agg")


def test_funnel_bars_are_open_value_by_stage_in_pipeline_order() -> None:
    deals = pd.DataFrame(
        {"stage": ["Proposal", "Lead", "Lead", "Proposal"], "amount": [5.0, 1.0, 2.0, 7.0]}
    )
    before = deals.copy()
    ax = plot_funnel(deals, pipeline=simple_pipeline(), conversion={"Lead": 0.5})
    assert [p.get_width() for p in ax.patches] == [3.0, 0.0, 12.0]
    texts = [t.get_text() for t in ax.texts]
    assert "2 deals, 3" in texts and "0 deals, 0" in texts and any("50%" in t for t in texts)
    pd.testing.assert_frame_equal(deals, before)
    with pytest.raises(ValidationError, match="Won"):
        plot_funnel(pd.DataFrame({"stage": ["Won"], "amount": [1.0]}), pipeline=simple_pipeline())


def test_forecast_plot_marks_the_quantiles_and_the_target() -> None:
    # 100 at 0.5, 200 at 0.5, 300 at 0.25 (issue 9): quantiles 0, 200, 500; P(R >= 300) = 0.4375
    deals = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "amount": [100.0, 200.0, 300.0],
            "expected_close": pd.to_datetime(["2025-01-15"] * 3),
            "probability": [0.5, 0.5, 0.25],
        }
    )
    fc = forecast_revenue(deals, period_start="2025-01-01", period_end="2025-03-31", grid_step=1)
    ax = plot_forecast_distribution(fc, target=300)
    labels = [line.get_label() for line in ax.lines]
    assert "P10 = 0" in labels and "P50 = 200" in labels and "P90 = 500" in labels
    assert any(label.startswith("target 300") and "44%" in label for label in labels)
    with pytest.raises(ValidationError, match="RevenueForecast"):
        plot_forecast_distribution(deals)


def test_backtest_plot_counts_dates_inside_the_band() -> None:
    bt = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"]),
            "mean": [100.0, 110.0, 120.0, 130.0],
            "p10": [80.0, 90.0, 100.0, 110.0],
            "p90": [120.0, 130.0, 140.0, 150.0],
            "actual": [80.0, 131.0, 99.0, 150.0],  # band ends included
        }
    )
    ax = plot_backtest_calibration(bt)
    assert ax.get_title() == "Back-test: actual inside P10-P90 on 2 of 4 dates (50%)"
