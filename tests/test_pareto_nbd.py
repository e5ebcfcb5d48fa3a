"""Pareto/NBD model: published CDNOW fit, hand derivations, extremes; runs without lifetimes.

The lifetimes parity tests are in tests/parity/test_lifetimes_pareto_nbd.py.
Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import gammaln

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import NotFittedError, ValidationError
from crmcore.value import ParetoNBDModel, simulate_pareto_nbd
from crmcore.value.btyd._pareto_kernels import (
    pareto_log_likelihood,
    pareto_neg_ll_and_grad,
    pareto_population_pmf,
)

# Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
# Analysis", JMR 42(4) (and Hardie's Pareto/NBD notes): on the 2,357-customer CDNOW sample in
# weeks, r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67 and LL = -9595.0.
PUBLISHED = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
PUBLISHED_LL = -9595.0


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


def test_cdnow_fit_reproduces_the_published_estimates(fitted: ParetoNBDModel) -> None:
    for name, value in PUBLISHED.items():
        assert round(fitted.params_[name], 2) == value
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LL, rel=1e-5)
    assert fitted.converged_


@pytest.mark.parametrize(
    "params", [(0.5, 2.0, 0.6, 50.0), (0.5, 50.0, 0.6, 2.0), (1.3, 7.0, 2.5, 7.0)]
)
@pytest.mark.parametrize("history", [(0, 0.0, 30.0), (3, 12.5, 30.0), (40, 29.0, 30.0)])
def test_log_likelihood_equals_the_integral_form(
    params: tuple[float, ...], history: tuple[float, float, float]
) -> None:
    # hand derivation: L = Gamma(r+x) a^r b^s / Gamma(r) [(a+T)^-(r+x) (b+T)^-s
    #                      + s int_{t_x}^T (a+u)^-(r+x) (b+u)^-(s+1) du]   (note 009, eq. 13)
    r, a, s, b = params
    x, t_x, T = history
    integral = integrate.quad(
        lambda u: (a + u) ** -(r + x) * (b + u) ** -(s + 1), t_x, T, epsabs=0, epsrel=1e-12
    )[0]
    pre = np.exp(gammaln(r + x) - gammaln(r) + r * np.log(a) + s * np.log(b))
    expected = np.log(pre * ((a + T) ** -(r + x) * (b + T) ** -s + s * integral))
    assert pareto_log_likelihood(r, a, s, b, x, t_x, T) == pytest.approx(expected, rel=1e-9)


def test_standard_errors_match_an_independent_hessian_of_the_log_likelihood(
    fitted: ParetoNBDModel, cdnow: pd.DataFrame
) -> None:
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    theta = np.log(fitted.params_.to_numpy())

    def ll(v: np.ndarray) -> float:
        return float(pareto_log_likelihood(*np.exp(v), x, t_x, T).sum())

    h = 1e-3
    hess = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h, np.eye(4)[j] * h
            hess[i, j] = (
                ll(theta + ei + ej)
                - ll(theta + ei - ej)
                - ll(theta - ei + ej)
                + ll(theta - ei - ej)
            ) / (4 * h * h)
    cov_log = np.linalg.inv(-hess)
    se = np.exp(theta) * np.sqrt(np.diag(cov_log))
    summary = fitted.summary()
    np.testing.assert_allclose(summary["std_err"].to_numpy(), se, rtol=2e-3)
    cov = fitted.covariance_.to_numpy()
    np.testing.assert_array_equal(cov, cov.T)
    assert list(summary.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]


def test_gradient_matches_finite_differences_of_the_objective(cdnow: pd.DataFrame) -> None:
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.ones_like(x)
    lp = np.log([0.8, 6.0, 0.4, 20.0])
    _, grad = pareto_neg_ll_and_grad(lp, x, t_x, T, w)
    h = 1e-4
    numeric = [
        (
            pareto_neg_ll_and_grad(lp + h * e, x, t_x, T, w)[0]
            - pareto_neg_ll_and_grad(lp - h * e, x, t_x, T, w)[0]
        )
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


histories = st.tuples(
    st.integers(0, 60),
    st.floats(0.0, 1.0),
    st.floats(0.5, 80.0),
).map(lambda v: (v[0], 0.0 if v[0] == 0 else min(round(v[1] * v[2], 3), v[2]), v[2]))
param_sets = st.tuples(
    st.floats(0.05, 5.0), st.floats(0.5, 50.0), st.floats(0.05, 5.0), st.floats(0.5, 50.0)
)


def test_expectations_at_s_equal_one_use_the_logarithmic_limit() -> None:
    # hand derivation: with s = 1, int_0^t ((b+T)/(b+T+u))^s du = (b+T) log(1 + t/(b+T))
    model = ParetoNBDModel.from_params(r=0.5, alpha=10.0, s=1.0, beta=12.0)
    assert model.expected_purchases_new_customer(30.0) == pytest.approx(
        0.5 / 10.0 * 12.0 * np.log1p(30.0 / 12.0), rel=1e-12
    )
    data = ([2], [20.0], [30.0])
    p_alive = model.probability_alive(data)[0]
    expected = p_alive * 2.5 / 40.0 * 42.0 * np.log1p(10.0 / 42.0)
    assert model.expected_purchases(data, 10.0)[0] == pytest.approx(expected, rel=1e-12)


def test_population_pmf_equals_numerical_integration_over_the_death_time() -> None:
    # hand derivation: lambda and the lifetime are independent, so
    # P(X(t)=n) = P(N(t)=n) P(tau>t) + int_0^t P(N(u)=n) f_tau(u) du with N the NBD count,
    # P(N(u)=n) = Gamma(r+n)/(Gamma(r) n!) (a/(a+u))^r (u/(a+u))^n,
    # P(tau>u) = (b/(b+u))^s and f_tau(u) = s b^s / (b+u)^(s+1).
    for r, a, s, b in [(0.55, 10.58, 0.61, 11.67), (2.0, 3.0, 1.5, 1.0)]:

        def nbd(n: int, u: float, r: float = r, a: float = a) -> float:
            log = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(a / (a + u))
            return float(np.exp(log + (n * np.log(u / (a + u)) if n else 0.0)))

        t = 20.0
        for n in range(5):
            dead = integrate.quad(
                lambda u, n=n, s=s, b=b: nbd(n, u) * s * b**s / (b + u) ** (s + 1),
                0,
                t,
                epsrel=1e-12,
            )[0]
            expected = nbd(n, t) * (b / (b + t)) ** s + dead
            ours = pareto_population_pmf(n, t, r, a, s, b)
            assert ours == pytest.approx(expected, rel=1e-7)


def test_population_pmf_sums_to_one_and_has_the_expected_mean(fitted: ParetoNBDModel) -> None:
    n = np.arange(400)
    p = fitted.population_purchase_probability(n, np.full(400, 52.0))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * p).sum() == pytest.approx(fitted.expected_purchases_new_customer(52.0), rel=1e-7)


def test_conditional_pmf_sums_to_one_and_has_the_conditional_mean(
    fitted: ParetoNBDModel,
) -> None:
    data = ([0, 2, 7], [0.0, 30.43, 35.0], [38.86, 38.86, 38.86])
    probs = np.array([fitted.purchase_probability(data, n, 39.0) for n in range(300)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-8)
    mean = (np.arange(300)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(mean, fitted.expected_purchases(data, 39.0), rtol=1e-6)


def test_dert_equals_the_discounted_integral_of_the_purchase_rate() -> None:
    # hand derivation: d/dt E[X(T, T+t)] = P_alive (r+x)/(a+T) ((b+T)/(b+T+t))^s, so
    # DERT = P_alive (r+x)/(a+T) int_0^inf exp(-delta t) ((b+T)/(b+T+t))^s dt.
    params = dict(PUBLISHED)
    model = ParetoNBDModel.from_params(**params)
    weekly = 1.15 ** (1 / 52) - 1  # 15% a year (Fader, Hardie & Lee 2005 use delta = 0.0027)
    delta = np.log1p(weekly)
    r, a, s, b = params["r"], params["alpha"], params["s"], params["beta"]
    for x, t_x, T in [(0, 0.0, 38.86), (2, 30.43, 38.86), (10, 20.0, 38.86)]:
        p_alive = model.probability_alive(([x], [t_x], [T]))[0]
        tail = integrate.quad(
            lambda t, T=T: np.exp(-delta * t) * ((b + T) / (b + T + t)) ** s, 0, np.inf
        )[0]
        expected = p_alive * (r + x) / (a + T) * tail
        assert model.dert(([x], [t_x], [T]), discount_rate=weekly)[0] == pytest.approx(
            expected, rel=1e-7
        )


def test_probability_alive_in_the_future_shrinks_by_the_gamma_survival() -> None:
    model = ParetoNBDModel.from_params(**PUBLISHED)
    data = ([3], [20.0], [38.0])
    now = model.probability_alive(data)[0]
    later = model.probability_alive(data, t=10.0)[0]
    beta, s = PUBLISHED["beta"], PUBLISHED["s"]
    assert later == pytest.approx(now * ((beta + 38.0) / (beta + 48.0)) ** s, rel=1e-12)


extreme = st.tuples(st.integers(0, 10_000), st.floats(0.0, 1.0), st.floats(1e-3, 10_000.0)).map(
    lambda v: (v[0], 0.0 if v[0] == 0 else v[1] * v[2], v[2])
)


@settings(max_examples=80, deadline=None)
@given(params=param_sets, history=extreme)
def test_extreme_inputs_give_finite_likelihood_gradient_and_valid_probabilities(
    params: tuple[float, float, float, float], history: tuple[int, float, float]
) -> None:
    x, t_x, T = history
    arrays = tuple(np.array([v], dtype=float) for v in (x, t_x, T))
    value, grad = pareto_neg_ll_and_grad(np.log(params), *arrays, np.ones(1))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    model = ParetoNBDModel.from_params(
        **dict(zip(("r", "alpha", "s", "beta"), params, strict=True))
    )
    for p in (
        model.probability_alive(arrays),
        model.purchase_probability(arrays, 0, 10.0),
        model.purchase_probability(arrays, 2, 10.0),
    ):
        assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.isfinite(model.expected_purchases(arrays, 10.0)))


def test_recency_equal_to_age_and_huge_frequency_give_finite_likelihood() -> None:
    x = np.array([0.0, 10_000.0, 10_000.0, 1.0])
    t_x = np.array([0.0, 10_000.0, 5.0, 10_000.0])
    T = np.array([10_000.0, 10_000.0, 10_000.0, 10_000.0])
    ll = pareto_log_likelihood(0.55, 10.58, 0.61, 11.67, x, t_x, T)
    assert np.all(np.isfinite(ll))


@settings(max_examples=30, deadline=None)
@given(history=histories, t1=st.floats(0.0, 50.0), dt=st.floats(0.0, 50.0))
def test_expected_purchases_grow_with_the_horizon(
    history: tuple[int, float, float], t1: float, dt: float
) -> None:
    model = ParetoNBDModel.from_params(**PUBLISHED)
    data = tuple([v] for v in history)
    assert model.expected_purchases(data, t1 + dt)[0] >= model.expected_purchases(data, t1)[0]


def test_bad_rows_raise_validation_error_with_count_and_ids() -> None:
    data = pd.DataFrame(
        {"frequency": [1, 2, 0], "recency": [5.0, 50.0, 0.0], "T": [10.0, 20.0, 5.0]},
        index=["a", "b", "c"],
    )
    with pytest.raises(ValidationError, match=r"1 of 3 rows.*first ids: b"):
        ParetoNBDModel().fit(data)


def test_fit_does_not_mutate_the_input_and_predictions_keep_the_index(
    cdnow: pd.DataFrame,
) -> None:
    before = cdnow.copy()
    model = ParetoNBDModel().fit(cdnow)
    pd.testing.assert_frame_equal(cdnow, before)
    assert model.expected_purchases(cdnow, 10).index.equals(cdnow.index)


def test_model_pickles(fitted: ParetoNBDModel) -> None:
    clone = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_series_equal(clone.params_, fitted.params_)


def test_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(NotFittedError):
        ParetoNBDModel().expected_purchases(([1], [1.0], [2.0]), 1.0)


@pytest.mark.slow
def test_200k_simulated_customers_recover_the_parameters_within_three_standard_errors() -> None:
    truth = dict(PUBLISHED)
    ages = np.random.default_rng(7).choice([26.0, 39.0, 52.0], 200_000)
    sim = simulate_pareto_nbd(**truth, T=ages, random_state=11)
    model = ParetoNBDModel().fit(sim)
    se = model.summary()["std_err"]
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3 * se[name], name
