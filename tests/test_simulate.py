"""Simulators: shape, seeding, validation, and moments against independent references.

Runs without lifetimes: the expected moments are the published closed forms evaluated in the
test (scipy hyp2f1), and R BTYD's P(X(39) = 0). Recovery by lifetimes' own fitter is in
tests/parity/test_lifetimes_simulate.py. Sources: tests/results/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, hyp2f1

from crmcore.exceptions import ValidationError
from crmcore.value import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
)
from crmcore.value.btyd._pareto_kernels import pareto_population_pmf

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, CDNOW
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # Fader, Hardie & Lee 2005, JMR
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}  # FHS 2010
N = 200_000


def _bgnbd_mean(r: float, alpha: float, a: float, b: float, t: float) -> float:
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. (7): E[X(t)] for a new customer
    # = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    z = t / (alpha + t)
    return float(
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
    )


def _mbgnbd_mean(r: float, alpha: float, a: float, b: float, t: float) -> float:
    # Batislam, Denizel & Filiztekin (2007), IJRM 24(3): E[X(t)] for a new customer
    # = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]
    z = t / (alpha + t)
    tail = (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, z)
    return float(b / (a - 1) * (1 - tail))


def _pareto_mean(r: float, alpha: float, s: float, beta: float, t: float) -> float:
    # Schmittlein, Morrison & Colombo (1987); Fader & Hardie note 009 ("A Note on Deriving the
    # Pareto/NBD Model and Related Expressions"): E[X(t)] = r beta / (alpha (s-1))
    # [1 - (beta/(beta+t))^(s-1)]
    return float(r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1)))


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


def test_bgnbd_simulation_matches_the_published_expectation_and_zero_probability() -> None:
    sim = simulate_bgnbd(**BG, T=39.0, n_customers=N, random_state=1)
    _mean_within(sim["frequency"].to_numpy(float), _bgnbd_mean(*BG.values(), 39.0))
    # R BTYD at the rounded published parameters: P(X(39) = 0) = 0.5737864 (REFERENCES.md)
    _mean_within((sim["frequency"] == 0).to_numpy(float), 0.5737864)


def test_mbgnbd_simulation_matches_the_published_expectation() -> None:
    sim = simulate_mbgnbd(**BG, T=39.0, n_customers=N, random_state=2)
    _mean_within(sim["frequency"].to_numpy(float), _mbgnbd_mean(*BG.values(), 39.0))


def test_pareto_simulation_matches_the_published_expectation_and_the_pmf() -> None:
    sim = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=N, random_state=3)
    _mean_within(sim["frequency"].to_numpy(float), _pareto_mean(*PNBD.values(), 39.0))
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
