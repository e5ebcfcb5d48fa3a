"""Demo section: a simulated sales pipeline, its weekly chain, a forecast and a back-test."""

from __future__ import annotations

import pandas as pd

from crmcore.datasets import default_transition_matrix, simulate_pipeline
from crmcore.pipeline import (
    PipelineMarkovModel,
    backtest,
    forecast_revenue,
    salesforce_pipeline,
    snapshot,
)

__all__ = ["demo_report"]

_AS_OF = pd.Timestamp("2025-12-31 23:59:59", tz="UTC")


def _backtest_lines(history: pd.DataFrame) -> list[str]:
    """The back-test part (quarterly as-of dates in 2025)."""
    dates = pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"])
    table = backtest(history, dates, pipeline=salesforce_pipeline(), model="markov")
    shown = table[["n_open", "forecast_mean", "p10", "p90", "actual"]].round(0)
    shown.index = pd.DatetimeIndex(shown.index).strftime("%Y-%m-%d")
    inside = ((table["actual"] >= table["p10"]) & (table["actual"] <= table["p90"])).mean()
    return [
        "Back-test: the next 90 days forecast from the pipeline as it stood on each date",
        "(weekly chain refitted on the history known then)",
        shown.to_string(),
        f"actual revenue inside P10-P90 on {inside:.0%} of the dates",
    ]


def demo_report() -> str:
    """Return the sales-pipeline section of ``python -m crmcore demo``.

    Examples
    --------
    >>> print(demo_report().splitlines()[0])
    Simulated Salesforce-like pipeline: 20,000 opportunities created 2024-01-01 to 2025-12-31
    """
    pipeline = salesforce_pipeline()
    history = simulate_pipeline(20_000, random_state=42)
    open_now = snapshot(history, _AS_OF, pipeline=pipeline)
    funnel = (
        open_now.groupby("stage", sort=False)["amount"]
        .agg(deals="size", open_value="sum")
        .reindex(list(pipeline.open_names), fill_value=0)
    )
    funnel["open_value"] = funnel["open_value"].round(0)

    model = PipelineMarkovModel(step="W").fit(history, pipeline, as_of=_AS_OF)
    truth = PipelineMarkovModel.from_params(default_transition_matrix(pipeline), pipeline=pipeline)
    chain = pd.DataFrame(
        {
            "win_prob_fitted": model.win_probability_.round(3),
            "win_prob_true": truth.win_probability_.round(3),
            "weeks_to_close": model.expected_steps_to_close_.round(1),
        }
    )

    start, end = "2026-01-01", "2026-03-31"
    by_stage = forecast_revenue(open_now, period_start=start, period_end=end)
    target = round(by_stage.mean, -5)
    by_stage = forecast_revenue(open_now, period_start=start, period_end=end, target=target)
    by_chain = forecast_revenue(
        open_now, period_start=start, period_end=end, model=model, as_of=_AS_OF, target=target
    )
    forecast = pd.DataFrame(
        {
            name: [
                f.mean,
                f.quantile(0.1),
                f.quantile(0.5),
                f.quantile(0.9),
                f.probability_at_least(target),
            ]
            for name, f in (("stage probabilities", by_stage), ("weekly chain", by_chain))
        },
        index=["mean", "P10", "P50", "P90", f"P(R >= {target:,.0f})"],
    ).T
    lines = [
        "Simulated Salesforce-like pipeline: 20,000 opportunities created 2024-01-01 to 2025-12-31",
        f"{'stage events':<22} {len(history):>9,}",
        f"{'won / lost / open':<22} "
        + " / ".join(
            f"{int(n):,}"
            for n in history.groupby("opportunity_id")["stage"]
            .last()
            .map(lambda s: pipeline.stage(s).outcome.value)
            .value_counts()
            .reindex(["won", "lost", "open"], fill_value=0)
        ),
        "",
        "Open pipeline on 2025-12-31",
        funnel.to_string(),
        "",
        "Weekly Markov chain fitted from the history (true values: the simulator's chain)",
        chain.to_string(),
        "",
        "Revenue closing won in 2026-Q1 (exact Poisson-binomial)",
        forecast.to_string(float_format=lambda v: f"{v:,.2f}" if v < 1 else f"{v:,.0f}"),
        "",
        *_backtest_lines(history),
    ]
    return "\n".join(lines)
