"""Simulators: shape, seeding, validation, and moments against independent references."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from crmcore.exceptions import ValidationError
from crmcore.value import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
)
from crmcore.value._pareto_kernels import pareto_population_pmf

lifetimes = pytest.importorskip("lifetimes")

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, CDNOW
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # Fader, Hardie & Lee 2005, JMR
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # FHS 2010
N = 200_000


def _fitter(cls_name: str, params: dict[str, float]) -> object:
    fitter = getattr(lifetimes, cls_name)()
    fitter.params_ = pd.Series(params)
    return fitter


def _mean_within(sample: np.ndarray, expected: float, k: float = 5.0) -> None:
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    assert abs(sample.mean() - expected) < k * se, (sample.mean(), expected, se)


@pytest.mark.parametrize(
    ("simulate", "params"),
    [
        (simulate_bgnbd, BG),
        (simulate_mbgnbd, BG),
        (simulate_pareto_nbd, PNBD),
    ],
)
def test_summaries_have_the_canonical_layout(simulate: object, params: dict[str, float]) -> None:
    sim = simulate(**params, T=39.0, n_customers=1000, random_state=0)  # type: ignore[operator]
    assert list(sim.columns) == ["frequency", "recency", "T"]
    assert sim.index.name == "customer_id" and len(sim) == 1000
    assert sim["frequency"].dtype == np.int64
    assert (sim["recency"] <= sim["T"]).all() and (sim["recency"] >= 0).all()
    assert (sim.loc[sim["frequency"] == 0, "recency"] == 0).all()
    assert (sim.loc[sim["frequency"] > 0, "recency"] > 0).all()


def test_same_seed_gives_same_customers_and_generators_are_accepted() -> None:
    a = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=500, random_state=42)
    b = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=500, random_state=42)
    c = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=500, random_state=np.random.default_rng(42))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    d = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=500, random_state=43)
    assert not a.equals(d)


def test_bgnbd_simulation_matches_lifetimes_expectation_and_zero_probability() -> None:
    sim = simulate_bgnbd(**BG, T=39.0, n_customers=N, random_state=1)
    ref = _fitter("BetaGeoFitter", BG)
    _mean_within(
        sim["frequency"].to_numpy(float), float(ref.expected_number_of_purchases_up_to_time(39.0))
    )
    p0 = float(ref.probability_of_n_purchases_up_to_time(39.0, 0))
    _mean_within((sim["frequency"] == 0).to_numpy(float), p0)


def test_mbgnbd_simulation_matches_lifetimes_expectation() -> None:
    sim = simulate_mbgnbd(**BG, T=39.0, n_customers=N, random_state=2)
    ref = _fitter("ModifiedBetaGeoFitter", BG)
    _mean_within(
        sim["frequency"].to_numpy(float), float(ref.expected_number_of_purchases_up_to_time(39.0))
    )


def test_pareto_simulation_matches_lifetimes_expectation_and_the_pmf() -> None:
    sim = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=N, random_state=3)
    ref = _fitter("ParetoNBDFitter", PNBD)
    _mean_within(
        sim["frequency"].to_numpy(float), float(ref.expected_number_of_purchases_up_to_time(39.0))
    )
    for k in (0, 1, 2):
        p = float(pareto_population_pmf(k, 39.0, *PNBD.values()))
        _mean_within((sim["frequency"] == k).to_numpy(float), p)


def test_bgbb_simulation_matches_the_hand_derived_expectation() -> None:
    # hand derivation: E[X(n)] = E[p] * sum_{t=1}^{n} E[(1-theta)^t]
    #                          = alpha/(alpha+beta) * sum_t B(gamma, delta+t)/B(gamma, delta)
    a, b, g, d = BGBB.values()
    n = 6
    expected = a / (a + b) * sum(np.exp(betaln(g, d + t) - betaln(g, d)) for t in range(1, n + 1))
    sim = simulate_bgbb(**BGBB, T=n, n_customers=N, random_state=4)
    _mean_within(sim["frequency"].to_numpy(float), expected)
    assert (sim["frequency"] <= sim["recency"]).all()
    assert sim["recency"].dtype == np.int64 and (sim["T"] == n).all()


@pytest.mark.parametrize(
    ("simulate", "params", "T"),
    [
        (simulate_bgnbd, BG, 39.0),
        (simulate_mbgnbd, BG, 39.0),
        (simulate_pareto_nbd, PNBD, 39.0),
        (simulate_bgbb, BGBB, 6),
    ],
)
def test_transaction_logs_hold_the_first_purchase_and_summarise_consistently(
    simulate: object, params: dict[str, float], T: float
) -> None:
    log = simulate(**params, T=T, n_customers=20_000, random_state=9, output="transactions")  # type: ignore[operator]
    assert list(log.columns) == ["customer_id", "time"]
    grouped = log.groupby("customer_id")["time"]
    assert grouped.size().shape[0] == 20_000
    assert (grouped.min() == 0).all() and (log["time"] <= T).all()
    assert log.groupby("customer_id")["time"].apply(lambda s: s.is_monotonic_increasing).all()
    # the log and the summary simulator describe the same process: equal mean frequency
    freq_log = (grouped.size() - 1).to_numpy(float)
    summary = simulate(**params, T=T, n_customers=20_000, random_state=10)  # type: ignore[operator]
    freq_sum = summary["frequency"].to_numpy(float)
    se = np.sqrt(freq_log.var() / freq_log.size + freq_sum.var() / freq_sum.size)
    assert abs(freq_log.mean() - freq_sum.mean()) < 5 * se


def test_per_customer_ages_are_used() -> None:
    ages = np.array([1.0, 100.0, 5.0])
    sim = simulate_pareto_nbd(**PNBD, T=ages, random_state=0)
    np.testing.assert_array_equal(sim["T"].to_numpy(), ages)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate_bgnbd(**BG, T=39.0), "n_customers"),
        (lambda: simulate_bgnbd(-1.0, 1.0, 1.0, 1.0, T=39.0, n_customers=3), "'r' parameter"),
        (lambda: simulate_pareto_nbd(**PNBD, T=[1.0, -2.0]), "1 of 2"),
        (lambda: simulate_bgbb(**BGBB, T=2.5, n_customers=3), "positive integers"),
        (lambda: simulate_bgbb(**BGBB, T=6, n_customers=3, output="log"), "'output'"),
    ],
)
def test_bad_arguments_raise_validation_error(call: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call()  # type: ignore[operator]


@pytest.mark.slow
def test_bgnbd_simulation_is_recovered_by_lifetimes() -> None:
    sim = simulate_bgnbd(**BG, T=39.0, n_customers=20_000, random_state=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = lifetimes.BetaGeoFitter().fit(sim["frequency"], sim["recency"], sim["T"])
    se = fitter.summary["se(coef)"]
    for name, value in BG.items():
        assert abs(fitter.params_[name] - value) < 4 * se[name], name
