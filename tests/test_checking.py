"""Model-checking tables and plots; runs without lifetimes.

The model columns are compared with lifetimes' predictions in
tests/parity/test_lifetimes_checking.py. Sources of every expected number:
tests/results/README.md.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from crmcore._plots.clv_checking import (
    plot_calibration_holdout,
    plot_period_transactions,
    plot_tracking,
)
from crmcore.datasets import load_cdnow_summary, load_donations
from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.value import (
    BetaGeoBetaBinomModel,
    ParetoNBDModel,
    calibration_holdout_table,
    period_transactions,
    simulate_pareto_nbd,
    tracking_table,
)

matplotlib.use("Agg")

# Fader, Hardie & Lee (2005), JMR 42(4): Pareto/NBD on CDNOW (weeks)
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
# Fader, Hardie & Shang (2010), Marketing Science 29(6): BG/BB on the 1995 donor cohort
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def pareto() -> ParetoNBDModel:
    return ParetoNBDModel.from_params(**PNBD)


@pytest.fixture(scope="module")
def with_holdout() -> pd.DataFrame:
    data = load_cdnow_summary()
    rng = np.random.default_rng(0)
    out = data.copy()
    out["frequency_holdout"] = rng.poisson(0.5, len(data))
    out["duration_holdout"] = rng.choice([20.0, 39.0], len(data))
    return out


def test_donations_period_histogram_matches_the_paper() -> None:
    donations = load_donations()
    model = BetaGeoBetaBinomModel.from_params(**BGBB)
    table = period_transactions(
        model, donations, T_col="periods", weights_col="weights", max_frequency=6
    )
    # Fader, Hardie & Shang (2010), the 1995 cohort: donors by number of repeat donations 0-6
    assert table["actual"].tolist() == [3464, 1823, 1430, 1085, 1036, 1063, 1203]
    # the model column is the sum over donors of P(X(n_i) = k) (see the next test for CDNOW)
    assert table["model"].sum() == pytest.approx(11_104, rel=1e-12)


def test_period_histogram_pools_the_tail_and_sums_to_the_customer_count(
    pareto: ParetoNBDModel,
) -> None:
    data = load_cdnow_summary()
    table = period_transactions(pareto, data, max_frequency=7)
    assert list(table.index) == list(range(8))
    assert table["actual"].sum() == len(data)
    assert table["actual"].iloc[-1] == int((data["frequency"] >= 7).sum())
    assert table["model"].sum() == pytest.approx(len(data), rel=1e-12)
    # the model column is the sum over customers of P(X(T_i) = k)
    by_hand = sum(pareto.population_purchase_probability(np.zeros(len(data)), data["T"].to_numpy()))
    assert table["model"].iloc[0] == pytest.approx(by_hand, rel=1e-10)


def test_calibration_holdout_table_uses_each_customers_duration(
    pareto: ParetoNBDModel, with_holdout: pd.DataFrame
) -> None:
    before = with_holdout.copy()
    table = calibration_holdout_table(pareto, with_holdout, max_frequency=5)
    pd.testing.assert_frame_equal(with_holdout, before)
    # the model column averages each customer's own prediction over their holdout duration
    x = with_holdout["frequency"].to_numpy(float)
    duration = with_holdout["duration_holdout"].to_numpy(float)
    predicted = np.empty(len(with_holdout))
    for d in np.unique(duration):
        rows = duration == d
        predicted[rows] = pareto.expected_purchases(with_holdout[rows], float(d)).to_numpy()
    bucket = np.minimum(x, 5)
    for k in range(6):
        rows = bucket == k
        assert table.loc[k, "n_customers"] == rows.sum()
        assert table.loc[k, "actual"] == pytest.approx(
            with_holdout["frequency_holdout"].to_numpy()[rows].mean()
        )
        assert table.loc[k, "model"] == pytest.approx(predicted[rows].mean(), rel=1e-9)


def test_calibration_holdout_table_names_missing_columns(pareto: ParetoNBDModel) -> None:
    with pytest.raises(ColumnNotFoundError, match="frequency_holdout"):
        calibration_holdout_table(pareto, load_cdnow_summary())


def test_calibration_holdout_table_rejects_negative_durations(
    pareto: ParetoNBDModel, with_holdout: pd.DataFrame
) -> None:
    bad = with_holdout.copy()
    bad.loc[bad.index[:2], "duration_holdout"] = -1.0
    with pytest.raises(ValidationError, match=r"2 of 2357 rows"):
        calibration_holdout_table(pareto, bad)


def test_tracking_table_counts_repeat_purchases_and_sums_the_model_curve(
    pareto: ParetoNBDModel,
) -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "a", "b", "b", "c"], "time": [0.0, 2.5, 7.0, 1.0, 3.0, 4.0]}
    )
    times = [1.0, 3.0, 5.0, 8.0]
    table = tracking_table(pareto, log, times=times)
    assert table["actual_cumulative"].tolist() == [0.0, 2.0, 2.0, 3.0]
    assert table["actual_incremental"].tolist() == [0.0, 2.0, 0.0, 1.0]
    # customers a, b, c are acquired at 0, 1 and 4 (their first purchase): the model curve
    # sums the new-customer expectation E[X(t - s)] over those acquisition times
    expected = [
        sum(
            pareto.expected_purchases_new_customer(t - s) if t > s else 0.0 for s in (0.0, 1.0, 4.0)
        )
        for t in times
    ]
    np.testing.assert_allclose(table["model_cumulative"].to_numpy(), expected, rtol=1e-10)


def test_tracking_of_a_simulated_cohort_follows_the_model(pareto: ParetoNBDModel) -> None:
    rng = np.random.default_rng(1)
    log = simulate_pareto_nbd(
        **PNBD, T=78.0, n_customers=20_000, random_state=2, output="transactions"
    )
    start = pd.Series(rng.uniform(0, 12, 20_000))
    log["time"] = log["time"] + start.to_numpy()[log["customer_id"].to_numpy()]
    log = log[log["time"] <= 78.0]
    table = tracking_table(pareto, log, times=np.arange(13.0, 79.0, 13.0))
    np.testing.assert_allclose(
        table["actual_cumulative"].to_numpy(), table["model_cumulative"].to_numpy(), rtol=0.03
    )


def test_plots_draw_the_tables(pareto: ParetoNBDModel, with_holdout: pd.DataFrame) -> None:
    table = calibration_holdout_table(pareto, with_holdout)
    ax = plot_calibration_holdout(table)
    assert [line.get_label() for line in ax.get_lines()] == ["actual", "model"]
    assert ax.get_xticklabels()[-1].get_text() == "7+"
    hist = period_transactions(pareto, with_holdout)
    ax = plot_period_transactions(hist)
    assert len(ax.patches) == 2 * len(hist)
    log = pd.DataFrame({"customer_id": [1, 1, 2], "time": [0.0, 3.0, 1.0]})
    track = tracking_table(pareto, log, times=[1.0, 2.0, 4.0])
    ax = plot_tracking(track, cumulative=False, calibration_end=2.0)
    assert len(ax.get_lines()) == 3
    assert "incremental" in ax.get_ylabel()
