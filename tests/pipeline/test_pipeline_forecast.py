"""Revenue forecast (part C of issue 9): exact Poisson-binomial, Monte Carlo, back-test.

Expected values are hand derivations written here or an independent dynamic programme over
deals written in this file (never crmcore's own output).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.pipeline import (
    PipelineMarkovModel,
    backtest,
    expected_new_business,
    forecast_revenue,
    salesforce_pipeline,
    simple_pipeline,
)

START, END = "2024-01-01", "2024-03-31"


def _deals(amounts: list[float], probs: list[float], close: str = "2024-02-01") -> pd.DataFrame:
    n = len(amounts)
    return pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(n)],
            "amount": np.asarray(amounts, dtype=float),
            "probability": np.asarray(probs, dtype=float),
            "expected_close": pd.to_datetime([close] * n),
        }
    )


def _reference_pmf(units: np.ndarray, q: np.ndarray) -> np.ndarray:
    """P(sum units B = x), x = 0..sum(units), by the textbook DP over deals."""
    pmf = np.zeros(int(units.sum()) + 1)
    pmf[0] = 1.0
    for k, p in zip(units, q, strict=True):
        new = pmf * (1 - p)
        new[k:] += p * pmf[: pmf.size - k]
        pmf = new
    return pmf


def _quantile(values: np.ndarray, pmf: np.ndarray, q: float) -> float:
    cdf = np.cumsum(pmf)
    return float(values[np.searchsorted(cdf, q - 1e-12)])


def test_hand_example_gives_the_exact_distribution() -> None:
    # 100 at 0.5, 200 at 0.5, 300 at 0.25: P(0)=.5*.5*.75, P(100)=P(200)=.1875,
    # P(300)=.25*.75+.25*.25 = .25, P(400)=P(500)=P(600)=.0625
    f = forecast_revenue(
        _deals([100, 200, 300], [0.5, 0.5, 0.25]), period_start=START, period_end=END, grid_step=1
    )
    assert [f.quantile(0.1), f.quantile(0.5), f.quantile(0.9)] == [0.0, 200.0, 500.0]
    assert f.probability_at_least(300) == pytest.approx(0.4375, abs=1e-15)
    frame = f.to_frame()
    assert frame["revenue"].tolist() == [0, 100, 200, 300, 400, 500, 600]
    np.testing.assert_allclose(
        frame["probability"], [0.1875, 0.1875, 0.1875, 0.25, 0.0625, 0.0625, 0.0625], atol=1e-15
    )
    assert f.mean == 225.0
    assert f.variance == pytest.approx(100**2 * 0.25 + 200**2 * 0.25 + 300**2 * 0.1875, abs=1e-9)


def test_deals_outside_the_period_do_not_count_and_both_ends_are_included() -> None:
    deals = _deals([100, 200, 300, 400], [0.5, 0.5, 0.5, 0.5])
    deals["expected_close"] = pd.to_datetime(
        ["2024-01-01", "2024-03-31", "2023-12-31", "2024-04-01"]
    )
    f = forecast_revenue(deals, period_start=START, period_end=END, grid_step=1)
    assert f.deal_probability.tolist() == [0.5, 0.5, 0.0, 0.0]
    assert f.mean == 150.0
    slipped = forecast_revenue(
        deals, period_start=START, period_end=END, grid_step=1, close_slip_days=1
    )
    assert slipped.deal_probability.tolist() == [0.5, 0.0, 0.5, 0.0]


def test_mean_and_variance_are_exact_on_the_default_grid() -> None:
    rng = np.random.default_rng(5)
    a = rng.lognormal(9, 1.2, 3000)
    q = rng.random(3000)
    f = forecast_revenue(_deals(list(a), list(q)), period_start=START, period_end=END)
    assert f.mean == pytest.approx(float(np.sum(a * q)), rel=1e-12, abs=1e-9)
    assert f.variance == pytest.approx(float(np.sum(a * a * q * (1 - q))), rel=1e-12, abs=1e-9)


def test_fft_lattice_equals_the_dp_and_default_grid_is_within_a_tenth_of_a_percent() -> None:
    rng = np.random.default_rng(11)
    units = rng.integers(1, 3000, 400)
    q = rng.choice([0.1, 0.3, 0.5, 0.75, 0.9], 400)
    deals = _deals(list(units.astype(float)), list(q))
    ref = _reference_pmf(units, q)
    values = np.arange(ref.size, dtype=float)
    exact = forecast_revenue(deals, period_start=START, period_end=END, grid_step=1)
    frame = exact.to_frame()
    full = np.zeros(ref.size)
    full[frame["revenue"].to_numpy().astype(int)] = frame["probability"].to_numpy()
    np.testing.assert_allclose(full, ref, atol=1e-13)
    coarse = forecast_revenue(deals, period_start=START, period_end=END)
    assert coarse.grid_step > 1  # really a coarser lattice
    value = float(units.sum())
    for p in (0.01, 0.1, 0.5, 0.9, 0.99):
        assert abs(coarse.quantile(p) - _quantile(values, ref, p)) <= 1e-3 * value
        assert exact.quantile(p) == _quantile(values, ref, p)
    assert exact.probability_at_least(value / 2) == pytest.approx(
        ref[values >= value / 2].sum(), abs=1e-12
    )


def test_monte_carlo_agrees_repeats_and_changes_with_the_seed() -> None:
    deals = _deals([100, 200, 300], [0.5, 0.5, 0.25])
    n = 200_000
    mc = forecast_revenue(
        deals,
        period_start=START,
        period_end=END,
        method="monte_carlo",
        n_simulations=n,
        random_state=1,
    )
    p = 0.4375
    assert abs(mc.probability_at_least(300) - p) < 5 * np.sqrt(p * (1 - p) / n)
    sd = np.sqrt(29375.0)
    assert abs(mc.mean - 225.0) < 5 * sd / np.sqrt(n)
    assert [mc.quantile(0.1), mc.quantile(0.5), mc.quantile(0.9)] == [0.0, 200.0, 500.0]
    again = forecast_revenue(
        deals,
        period_start=START,
        period_end=END,
        method="monte_carlo",
        n_simulations=n,
        random_state=np.random.default_rng(1),
    )
    assert again.to_frame().equals(mc.to_frame())
    other = forecast_revenue(
        deals,
        period_start=START,
        period_end=END,
        method="monte_carlo",
        n_simulations=n,
        random_state=2,
    )
    assert not other.to_frame().equals(mc.to_frame())


def test_markov_model_sets_q_from_the_chain() -> None:
    pipe = simple_pipeline()
    names = list(pipe.names)
    matrix = pd.DataFrame(0.0, index=names, columns=names)
    for name in pipe.open_names:
        matrix.loc[name, name] = 0.5
        matrix.loc[name, pipe.won_names[0]] = 0.5
    model = PipelineMarkovModel.from_params(matrix, pipeline=pipe, step="W")
    snap = pd.DataFrame(
        {"opportunity_id": ["a", "b"], "stage": ["Lead", "Proposal"], "amount": [100.0, 200.0]}
    )
    # period of 14 days from the snapshot: 2 weekly steps, P(won within 2) = 1 - 0.5**2
    f = forecast_revenue(
        snap, model=model, period_start="2024-01-01", period_end="2024-01-14", grid_step=1
    )
    assert f.deal_probability.tolist() == [0.75, 0.75]
    # snapshot one week before the period: won in steps 2..3 only, 0.5**1 - 0.5**3
    later = forecast_revenue(
        snap,
        model=model,
        period_start="2024-01-08",
        period_end="2024-01-21",
        as_of="2024-01-01",
        grid_step=1,
    )
    assert later.deal_probability.tolist() == [0.375, 0.375]


def test_bad_input_raises_and_input_is_not_mutated() -> None:
    deals = _deals([100, 200], [0.5, 0.2])
    before = deals.copy()
    forecast_revenue(deals, period_start=START, period_end=END, amount_slip=0.1)
    pd.testing.assert_frame_equal(deals, before)
    with pytest.raises(ColumnNotFoundError):
        forecast_revenue(deals.drop(columns="probability"), period_start=START, period_end=END)
    bad = deals.assign(probability=[0.5, 1.5])
    with pytest.raises(ValidationError, match="o1"):
        forecast_revenue(bad, period_start=START, period_end=END)
    with pytest.raises(ValidationError, match="o0"):
        forecast_revenue(deals.assign(amount=[-1.0, 2.0]), period_start=START, period_end=END)
    with pytest.raises(ValidationError, match="grid_step"):
        forecast_revenue(deals, period_start=START, period_end=END, grid_step=1e-9)
    with pytest.raises(ValidationError, match="period_end"):
        forecast_revenue(deals, period_start=END, period_end=START)


def test_amount_slip_scales_amounts() -> None:
    f = forecast_revenue(
        _deals([100, 200], [0.5, 0.5]),
        period_start=START,
        period_end=END,
        amount_slip=0.5,
        grid_step=1,
    )
    assert f.mean == 75.0


def test_expected_new_business_by_hand() -> None:
    history = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "B", "C", "C"],
            "stage": ["Lead", "Won", "Lead", "Won", "Lead", "Won"],
            "changed_at": [
                "2024-01-01",
                "2024-01-11",
                "2024-02-01",
                "2024-05-01",
                "2024-12-20",
                "2024-12-21",
            ],
            "amount": [300.0, 300.0, 100.0, 100.0, 50.0, 50.0],
            "expected_close": ["2024-03-31"] * 6,
        }
    )
    # A: won after 10 days <= 30 -> 300 * 20; B: 90 days > 30; C: created in the last 30
    # days (no full follow-up) -> left out. Window 390 - 30 = 360 days.
    got = expected_new_business(
        history, pipeline=simple_pipeline(), as_of="2024-12-31", period_days=30, lookback_days=390
    )
    assert got == pytest.approx(300 * 20 / 360)


@pytest.mark.slow
def test_backtest_interval_covers_70_to_90_percent_of_dates_on_simulated_data() -> None:
    from crmcore.datasets import simulate_pipeline

    history = simulate_pipeline(20_000, random_state=7)
    before = history.copy()
    dates = pd.date_range("2024-04-01", "2025-11-30", freq="14D")
    result = backtest(
        history, dates, pipeline=salesforce_pipeline(), model="markov", horizon_days=28
    )
    pd.testing.assert_frame_equal(history, before)
    assert len(result) == len(dates)
    coverage = result["covered"].mean()
    assert 0.70 <= coverage <= 0.90
    assert result.attrs["coverage"] == coverage
    assert (result["p10"] <= result["forecast_mean"]).all()
    assert (result["forecast_mean"] <= result["p90"]).all()


def test_backtest_actual_is_what_closed_won_in_the_period() -> None:
    history = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "B", "C", "D", "D"],
            "stage": ["Lead", "Won", "Lead", "Won", "Proposal", "Lead", "Won"],
            "changed_at": [
                "2024-01-01",
                "2024-01-20",
                "2024-01-01",
                "2024-03-15",
                "2024-01-05",
                "2024-01-12",
                "2024-01-13",
            ],
            "amount": [100.0, 150.0, 200.0, 200.0, 400.0, 50.0, 50.0],
            "expected_close": [
                "2024-01-31",
                "2024-01-31",
                "2024-01-31",
                "2024-01-31",
                "2024-01-20",
                "2024-01-31",
                "2024-01-31",
            ],
        }
    )
    # at 2024-01-10 A, B, C are open (D not yet created). Period Jan 10 .. Feb 8: A is won
    # (at its won amount 150); B wins after the period; D is not in the snapshot.
    result = backtest(history, ["2024-01-10"], pipeline=simple_pipeline(), horizon_days=30)
    row = result.iloc[0]
    assert row["n_open"] == 3
    assert row["actual"] == 150.0
    # q: A and B Lead 0.1 (close Jan 31 inside), C Proposal 0.6 (Jan 20 inside)
    probs = simple_pipeline()
    expected = (
        100 * probs.stage("Lead").probability
        + 200 * probs.stage("Lead").probability
        + 400 * probs.stage("Proposal").probability
    )
    assert row["forecast_mean"] == pytest.approx(expected)
