"""Model-checking tables against lifetimes 0.11.3's own predictions, run side by side.

The published donor counts (Fader, Hardie & Shang 2010) and the table construction are checked
in tests/test_checking.py, which runs without lifetimes. Sources: tests/results/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer

from crmcore.datasets import load_cdnow_summary, load_donations
from crmcore.value import (
    BetaGeoBetaBinomModel,
    ParetoNBDModel,
    calibration_holdout_table,
    period_transactions,
    tracking_table,
)

require_peer("lifetimes")

PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # Fader, Hardie & Lee 2005
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # FHS 2010


@pytest.fixture(scope="module")
def pareto() -> ParetoNBDModel:
    return ParetoNBDModel.from_params(**PNBD)


def test_donations_period_histogram_model_column_equals_lifetimes() -> None:
    donations = load_donations()
    model = BetaGeoBetaBinomModel.from_params(**BGBB)
    table = period_transactions(
        model, donations, T_col="periods", weights_col="weights", max_frequency=6
    )
    theirs = model.to_lifetimes()
    theirs.data = donations[["frequency", "weights"]]
    expected = theirs.expected_number_of_transactions_in_first_n_periods(6)["model"]
    np.testing.assert_allclose(table["model"].to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_calibration_holdout_model_column_equals_lifetimes_predictions(
    pareto: ParetoNBDModel,
) -> None:
    data = load_cdnow_summary()
    rng = np.random.default_rng(0)
    data = data.assign(
        frequency_holdout=rng.poisson(0.5, len(data)),
        duration_holdout=rng.choice([20.0, 39.0], len(data)),
    )
    table = calibration_holdout_table(pareto, data, max_frequency=5)
    ref = pareto.to_lifetimes()
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    predicted = np.array(
        [
            ref.conditional_expected_number_of_purchases_up_to_time(d, xi, ti, Ti)
            for d, xi, ti, Ti in zip(data["duration_holdout"], x, t_x, T, strict=True)
        ]
    )
    bucket = np.minimum(x, 5)
    for k in range(6):
        assert table.loc[k, "model"] == pytest.approx(predicted[bucket == k].mean(), rel=1e-9)


def test_tracking_model_curve_equals_lifetimes_new_customer_expectations(
    pareto: ParetoNBDModel,
) -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "a", "b", "b", "c"], "time": [0.0, 2.5, 7.0, 1.0, 3.0, 4.0]}
    )
    times = [1.0, 3.0, 5.0, 8.0]
    table = tracking_table(pareto, log, times=times)
    ref = pareto.to_lifetimes()
    expected = [
        sum(
            float(ref.expected_number_of_purchases_up_to_time(t - s)) if t > s else 0.0
            for s in (0.0, 1.0, 4.0)
        )
        for t in times
    ]
    np.testing.assert_allclose(table["model_cumulative"].to_numpy(), expected, rtol=1e-10)
