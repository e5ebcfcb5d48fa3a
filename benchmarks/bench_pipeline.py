"""Sales pipeline: revenue forecast of many open deals and the weekly Markov fit.

Cases (goals of issue 9; no peer library does deal-level pipeline forecasting, so the rows
report seconds against the goal, not a ratio):

* ``forecast_revenue`` (exact Poisson-binomial on the default grid) for 50,000 open deals
  (quick: 5,000): log-normal amounts, Salesforce default stage probabilities, expected
  close dates spread over two quarters, the period one quarter. Checked: the mean equals
  sum(a q) and P10 <= P50 <= P90. Goal < 1 s.
* ``PipelineMarkovModel(step="W").fit`` on about 1,000,000 stage events (quick: 100,000)
  simulated by :func:`crmcore.datasets.simulate_pipeline`. Checked: largest absolute
  difference between the fitted and the true weekly matrix. Goal < 2 s.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from _timing import best, peak_mb, row

from crmcore.datasets import default_transition_matrix, simulate_pipeline
from crmcore.pipeline import forecast_revenue, salesforce_pipeline

#: Opportunities that simulate_pipeline turns into about 1M events (6.0 events each).
_OPPS_FOR_1M_EVENTS = 167_000


def open_deals(n: int, seed: int = 0) -> pd.DataFrame:
    """`n` open deals with Salesforce default stage probabilities."""
    rng = np.random.default_rng(seed)
    pipeline = salesforce_pipeline()
    stages = np.array(pipeline.open_names, dtype=object)
    stage = stages[rng.integers(0, stages.size, n)]
    prob = np.array([pipeline.stage(s).probability for s in pipeline.open_names])
    days = rng.integers(0, 182, n)
    return pd.DataFrame(
        {
            "opportunity_id": np.char.add("D", np.arange(n).astype(str)).astype(object),
            "stage": stage,
            "amount": np.round(rng.lognormal(np.log(20_000.0), 1.0, n)),
            "expected_close": pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D"),
            "probability": prob[rng.integers(0, stages.size, n)],
        }
    )


def run(quick: bool = False) -> list[dict[str, object]]:
    """Run the benchmark cases; ``quick`` uses small sizes (a few seconds)."""
    warnings.filterwarnings("ignore")
    rows: list[dict[str, object]] = []
    repeat = 2 if quick else 3

    # --- forecast of open deals
    n_deals = 5_000 if quick else 50_000
    deals = open_deals(n_deals)
    kwargs = {"period_start": "2025-01-01", "period_end": "2025-03-31"}
    ours = best(lambda: forecast_revenue(deals, **kwargs), repeat)
    peak = peak_mb(lambda: forecast_revenue(deals, **kwargs))
    fc = forecast_revenue(deals, **kwargs)
    in_period = deals["expected_close"] <= pd.Timestamp("2025-03-31")
    expected_mean = float((deals["amount"] * deals["probability"])[in_period].sum())
    p10, p50, p90 = (float(fc.quantile(q)) for q in (0.1, 0.5, 0.9))
    note = (
        f"mean rel. diff to sum(a q) {abs(fc.mean / expected_mean - 1):.1e}; "
        f"P10/P50/P90 {p10:,.0f} / {p50:,.0f} / {p90:,.0f}; goal < 1 s"
    )
    rows.append(
        row(f"forecast_revenue, {n_deals:,} open deals (exact)", ours, "-", None, peak, note)
    )

    # --- Markov fit from stage events
    from crmcore.pipeline import PipelineMarkovModel

    pipeline = salesforce_pipeline()
    n_opps = _OPPS_FOR_1M_EVENTS // 10 if quick else _OPPS_FOR_1M_EVENTS
    history = simulate_pipeline(n_opps, random_state=0)
    ours = best(lambda: PipelineMarkovModel(step="W").fit(history, pipeline), repeat)
    model = PipelineMarkovModel(step="W").fit(history, pipeline)
    truth = default_transition_matrix(pipeline).to_numpy()
    diff = float(np.abs(model.transition_matrix_.to_numpy() - truth).max())
    note = f"max abs diff to the true weekly matrix {diff:.1e}; goal < 2 s"
    rows.append(
        row(f"Markov fit (weekly), {len(history):,} stage events", ours, "-", None, None, note)
    )
    return rows
