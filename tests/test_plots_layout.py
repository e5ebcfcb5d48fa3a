"""Every public plot keeps its annotations inside its axes, on realistic data.

Each function of ``crmcore.plotting.__all__`` draws on a fixed-size figure (two sizes) from
the embedded CDNOW data or the seeded synthetic pipeline and service data; after
``fig.canvas.draw()`` every text artist of the axes (value labels, notes, annotations) must
lie inside the axes' window extent, and every legend inside the axes too, or inside the
figure for a legend placed outside on purpose. A new public plot function without a case
here fails ``test_every_public_plot_has_a_layout_case``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import crmcore.plotting as plotting
from crmcore.datasets import load_cdnow_master, simulate_pipeline, simulate_tickets
from crmcore.pipeline import backtest, forecast_revenue, salesforce_pipeline, snapshot
from crmcore.segmentation import (
    assign_segments,
    migration_matrix,
    rfm_scores,
    rfm_table,
    segment_summary,
)
from crmcore.service import backlog_ageing, breach_rate, sla_status
from crmcore.value import (
    BetaGeoModel,
    ShiftedBetaGeoModel,
    btyd_summary,
    calibration_holdout_table,
    cohort_table,
    customer_profitability,
    period_transactions,
    probability_alive_path,
    tenure_profit_profile,
    tracking_table,
)

matplotlib.use("Agg")

#: Pixels a text may stick out of its box (anti-aliasing, rounding of the extent).
TOLERANCE = 1.5
SIZES = [(6.4, 4.8), (4.8, 3.6)]
#: Legends placed outside the axes on purpose (they must stay on the figure).
OUTSIDE_LEGENDS = {"plot_rfm_scatter"}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    """Realistic inputs for every plot, built once."""
    master = load_cdnow_master()
    end = master["date"].max()
    table = rfm_table(master, as_of=end)
    scores = rfm_scores(table, bins=5, ties="rank")
    segments = assign_segments(scores, "rf-grid")
    first_half = master[master["date"] <= "1997-09-30"]
    before = assign_segments(
        rfm_scores(rfm_table(first_half, as_of="1997-09-30"), bins=5, ties="rank"), "rf-grid"
    )
    summary = btyd_summary(
        master, as_of=end, time_unit="W", calibration_end="1997-09-30", amount_col="amount"
    )
    model = BetaGeoModel().fit(summary)
    start = master["date"].min()
    weeks = master.assign(time=(master["date"] - start) / pd.Timedelta(7, "D"))
    customer = str(table["frequency"].idxmax())
    pipeline = salesforce_pipeline()
    history = simulate_pipeline(2_000, random_state=42)
    as_of = pd.Timestamp("2025-12-31 23:59:59", tz="UTC")
    open_now = snapshot(history, as_of, pipeline=pipeline)
    tz = "America/New_York"
    stop = pd.Timestamp("1998-06-30 18:00", tz=tz)
    tickets, events = simulate_tickets(
        pd.unique(master["customer_id"])[:3_000],
        start=pd.Timestamp("1997-01-01", tz=tz),
        end=stop,
        tz=tz,
        random_state=7,
    )
    from crmcore._demo._service import POLICY

    mid_month = "1998-03-17"
    return {
        "master": master,
        "table": table,
        "scores": scores,
        "segments": segments,
        "migration": migration_matrix(before, segments, normalize="row"),
        "summary": summary,
        "model": model,
        "holdout": calibration_holdout_table(model, summary),
        "period_tx": period_transactions(model, summary),
        "tracking": tracking_table(model, weeks, times=np.arange(1.0, 79.0)),
        "path": probability_alive_path(model, master, customer_id=customer, time_unit="W"),
        "customer": customer,
        "cohorts": cohort_table(
            master[master["date"] <= mid_month], as_of=mid_month, relative=True
        ),
        "mid_month": mid_month,
        "profit": customer_profitability(master, cogs_rate=0.7, cost_per_order=6.0)["profit"],
        "pipeline": pipeline,
        "open_now": open_now,
        # a 25,000 grid keeps the pmf at a few hundred bars (the default grid gives about
        # 19,000, which take plot_forecast_distribution some 13 s to draw)
        "forecast": forecast_revenue(
            open_now, period_start="2026-01-01", period_end="2026-03-31", grid_step=25_000
        ),
        "backtest": backtest(
            history,
            pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"]),
            pipeline=pipeline,
        ),
        "ageing": backlog_ageing(tickets, events, as_of=stop),
        "breaches": breach_rate(sla_status(tickets, events, POLICY, as_of=stop), by="priority"),
    }


#: One realistic call per public plot function: (axes, data) -> drawn axes.
CASES: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "plot_backlog_ageing": lambda ax, d: plotting.plot_backlog_ageing(d["ageing"], ax=ax),
    "plot_backtest_calibration": lambda ax, d: plotting.plot_backtest_calibration(
        d["backtest"], ax=ax
    ),
    "plot_calibration_holdout": lambda ax, d: plotting.plot_calibration_holdout(
        d["holdout"], ax=ax
    ),
    "plot_cohort_heatmap": lambda ax, d: plotting.plot_cohort_heatmap(
        d["cohorts"], as_of=d["mid_month"], title="Active share by monthly cohort", ax=ax
    ),
    "plot_forecast_distribution": lambda ax, d: plotting.plot_forecast_distribution(
        d["forecast"], target=3_000_000, ax=ax
    ),
    "plot_frequency_recency_matrix": lambda ax, d: plotting.plot_frequency_recency_matrix(
        d["model"], T=39, t=13, ax=ax
    ),
    "plot_funnel": lambda ax, d: plotting.plot_funnel(
        d["open_now"],
        pipeline=d["pipeline"],
        conversion={"Prospecting": 0.45, "Qualification": 0.6},
        ax=ax,
    ),
    "plot_lorenz_curve": lambda ax, d: plotting.plot_lorenz_curve(d["table"]["monetary"], ax=ax),
    "plot_migration_heatmap": lambda ax, d: plotting.plot_migration_heatmap(d["migration"], ax=ax),
    "plot_order_distribution": lambda ax, d: plotting.plot_order_distribution(d["table"], ax=ax),
    "plot_period_transactions": lambda ax, d: plotting.plot_period_transactions(
        d["period_tx"], ax=ax
    ),
    "plot_probability_alive_matrix": lambda ax, d: plotting.plot_probability_alive_matrix(
        d["model"], T=39, ax=ax
    ),
    "plot_probability_alive_path": lambda ax, d: plotting.plot_probability_alive_path(
        d["path"], transactions=d["master"], ax=ax
    ),
    "plot_retention_sensitivity": lambda ax, d: plotting.plot_retention_sensitivity(
        tenure_profit_profile(10, base_profit=40.0, growth=8.0, referrals=4.0),
        discount_rate=0.1,
        mark=[0.8, 0.9],
        ax=ax,
    ),
    "plot_retention_survival": lambda ax, d: plotting.plot_retention_survival(
        ShiftedBetaGeoModel().fit([1000, 869, 743, 653, 593, 551, 517, 491]),
        [1000, 869, 743, 653, 593, 551, 517, 491],
        n_periods=12,
        calibration_periods=7,
        ax=ax,
    ),
    "plot_rfm_heatmap": lambda ax, d: plotting.plot_rfm_heatmap(
        d["scores"], values=d["table"]["monetary"], ax=ax
    ),
    "plot_rfm_histograms": lambda ax, d: plotting.plot_rfm_histograms(d["table"], axes=ax),
    "plot_rfm_scatter": lambda ax, d: plotting.plot_rfm_scatter(
        d["table"], segments=d["segments"], log="y", ax=ax
    ),
    "plot_segment_medians": lambda ax, d: plotting.plot_segment_medians(
        d["table"], d["segments"], measure="monetary", ax=ax
    ),
    "plot_segment_sizes": lambda ax, d: plotting.plot_segment_sizes(
        segment_summary(d["table"], d["segments"]), metric="revenue", ax=ax
    ),
    "plot_sla_breaches": lambda ax, d: plotting.plot_sla_breaches(d["breaches"], ax=ax),
    "plot_tracking": lambda ax, d: plotting.plot_tracking(
        d["tracking"], calibration_end=39.0, ax=ax
    ),
    "plot_whale_curve": lambda ax, d: plotting.plot_whale_curve(d["profit"], ax=ax),
}

#: Functions drawing on several axes: how many.
PANELS = {"plot_rfm_histograms": 3}


def test_every_public_plot_has_a_layout_case() -> None:
    assert sorted(CASES) == sorted(plotting.__all__)


def _outside(inner: Any, outer: Any) -> float:
    """How many pixels `inner` sticks out of `outer` (0 when inside)."""
    return max(
        outer.x0 - inner.x0, inner.x1 - outer.x1, outer.y0 - inner.y0, inner.y1 - outer.y1, 0.0
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}in")
@pytest.mark.parametrize("name", sorted(CASES))
def test_annotations_stay_inside_their_axes(
    name: str, size: tuple[float, float], data: dict[str, Any]
) -> None:
    n = PANELS.get(name, 1)
    figsize = size if n == 1 else (2 * size[0], size[1])
    fig, axes = plt.subplots(1, n, figsize=figsize, dpi=100, layout="constrained")
    try:
        CASES[name](axes, data)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        figure_box = fig.bbox
        problems = []
        for ax in np.atleast_1d(np.asarray(fig.axes, dtype=object)):
            if ax.get_label() == "<colorbar>":
                continue
            box = ax.get_window_extent(renderer)
            for text in ax.texts:
                if not text.get_visible() or not text.get_text().strip():
                    continue
                out = _outside(text.get_window_extent(renderer), box)
                if out > TOLERANCE:
                    problems.append(f"text {text.get_text()!r} sticks out by {out:.0f} px")
            legend = ax.get_legend()
            if legend is not None:
                frame = figure_box if name in OUTSIDE_LEGENDS else box
                out = _outside(legend.get_window_extent(renderer), frame)
                if out > TOLERANCE:
                    problems.append(f"legend sticks out by {out:.0f} px")
            title = ax.title
            if title.get_text():
                out = _outside(title.get_window_extent(renderer), figure_box)
                if out > TOLERANCE:
                    problems.append(f"title {title.get_text()!r} leaves the figure by {out:.0f} px")
        assert not problems, f"{name}: " + "; ".join(problems)
    finally:
        plt.close(fig)
