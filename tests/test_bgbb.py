"""BG/BB model: the published donations fit, hand derivations, extremes; runs without lifetimes.

The lifetimes parity tests are in tests/parity/test_lifetimes_bgbb.py.
Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import roots_jacobi

from crmcore.datasets import load_donations
from crmcore.exceptions import ValidationError
from crmcore.value import BetaGeoBetaBinomModel, simulate_bgbb
from crmcore.value.btyd._bgbb_kernels import (
    bgbb_log_likelihood_and_grad,
    bgbb_neg_ll_and_grad,
    bgbb_population_pmf,
)

# Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual
# Setting", Marketing Science 29(6): the 11,104 members of the 1995 donor cohort, 6 annual
# opportunities: alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33,225.6.
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PUBLISHED_LL = -33225.6
COLS = {"T_col": "periods"}


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return load_donations()


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donations, weights_col="weights", **COLS)


def test_donations_fit_reproduces_the_published_estimates(
    fitted: BetaGeoBetaBinomModel,
) -> None:
    for name, value in PUBLISHED.items():
        assert fitted.params_[name] == pytest.approx(value, rel=1e-3)
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LL, rel=1e-5)
    assert fitted.converged_


def test_analytic_gradient_matches_finite_differences(donations: pd.DataFrame) -> None:
    x, t_x, n, w = (
        donations[c].to_numpy(float) for c in ("frequency", "recency", "periods", "weights")
    )
    lp = np.log([0.9, 1.3, 0.4, 5.0])
    _, grad = bgbb_neg_ll_and_grad(lp, x, t_x, n, w)
    h = 1e-5
    numeric = [
        (
            bgbb_neg_ll_and_grad(lp + h * e, x, t_x, n, w)[0]
            - bgbb_neg_ll_and_grad(lp - h * e, x, t_x, n, w)[0]
        )
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def _exact_pmf_given(p: float, theta: float, n: int) -> np.ndarray:
    """Hand derivation: dynamic programme over the n opportunities for fixed (p, theta)."""
    alive = np.zeros(n + 1)
    alive[0] = 1.0
    dead = np.zeros(n + 1)
    for _ in range(n):
        dead = dead + theta * alive
        stay = (1 - theta) * alive
        alive = stay * (1 - p)
        alive[1:] += stay[:-1] * p
    return alive + dead


def _beta_nodes(a: float, b: float, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and weights for E[f(p)], p ~ Beta(a, b) (exact for polynomials of
    degree < 2k)."""
    u, w = roots_jacobi(k, b - 1.0, a - 1.0)
    return (1.0 + u) / 2.0, w / w.sum()


@pytest.mark.parametrize("params", [(2.0, 3.0, 1.5, 4.0), (1.204, 0.750, 0.657, 2.783)])
def test_population_pmf_equals_the_beta_mixture_of_the_exact_process(
    params: tuple[float, float, float, float],
) -> None:
    # given (p, theta) the pmf is a polynomial of degree <= n in each, so Gauss-Jacobi
    # quadrature over the two beta mixing distributions is exact
    a, b, g, d = params
    n = 5
    p_nodes, p_w = _beta_nodes(a, b)
    t_nodes, t_w = _beta_nodes(g, d)
    expected = sum(
        wp * wt * _exact_pmf_given(p, th, n)
        for p, wp in zip(p_nodes, p_w, strict=True)
        for th, wt in zip(t_nodes, t_w, strict=True)
    )
    ours = bgbb_population_pmf(a, b, g, d, np.arange(n + 1), n)
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_new_customer_expectation_is_the_mean_of_the_pmf(
    fitted: BetaGeoBetaBinomModel,
) -> None:
    for n in (1, 6, 25):
        p = fitted.population_purchase_probability(np.arange(n + 1), np.full(n + 1, n))
        assert p.sum() == pytest.approx(1.0, abs=1e-10)
        mean = float((np.arange(n + 1) * p).sum())
        assert fitted.expected_purchases_new_customer(float(n)) == pytest.approx(mean, rel=1e-9)


def test_conditional_pmf_sums_to_one_with_the_conditional_mean(
    fitted: BetaGeoBetaBinomModel, donations: pd.DataFrame
) -> None:
    probs = np.array([fitted.purchase_probability(donations, k, 5, **COLS) for k in range(6)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)
    mean = (np.arange(6)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(mean, fitted.expected_purchases(donations, 5, **COLS), rtol=1e-9)


def test_thousands_of_opportunities_give_finite_likelihood_and_gradient() -> None:
    x = np.array([0.0, 10_000, 5_000, 1, 10_000])
    t_x = np.array([0.0, 10_000, 6_000, 1, 10_000])
    n = np.array([10_000.0, 10_000, 10_000, 10_000, 10_000])
    ll, grad = bgbb_log_likelihood_and_grad(1.204, 0.75, 0.657, 2.783, x, t_x, n)
    assert np.all(np.isfinite(ll)) and np.all(np.isfinite(grad))
    model = BetaGeoBetaBinomModel.from_params(**PUBLISHED)
    p = model.probability_alive((x, t_x, n))
    assert np.all((p >= 0) & (p <= 1))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"frequency": [1, 1], "recency": [1.5, 2], "T": [6, 6]}, "whole number"),
        ({"frequency": [3, 1], "recency": [2, 2], "T": [6, 6]}, "frequency must be <= recency"),
        ({"frequency": [1, 1], "recency": [2, 2], "T": [6, 6.5]}, "whole number"),
    ],
)
def test_bad_rows_raise_validation_error(frame: dict[str, list[float]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BetaGeoBetaBinomModel().fit(pd.DataFrame(frame, index=["u", "v"]))


def test_fit_leaves_input_untouched_and_pickles(
    donations: pd.DataFrame, fitted: BetaGeoBetaBinomModel
) -> None:
    before = donations.copy()
    BetaGeoBetaBinomModel().fit(donations, weights_col="weights", **COLS)
    pd.testing.assert_frame_equal(donations, before)
    clone = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(clone.covariance_, fitted.covariance_)
    cov = fitted.covariance_.to_numpy()
    np.testing.assert_array_equal(cov, cov.T)


@pytest.mark.slow
def test_200k_simulated_customers_recover_the_parameters_within_three_standard_errors() -> None:
    sim = simulate_bgbb(**PUBLISHED, T=6, n_customers=200_000, random_state=5)
    model = BetaGeoBetaBinomModel().fit(sim)
    se = model.summary()["std_err"]
    for name, value in PUBLISHED.items():
        assert abs(model.params_[name] - value) < 3 * se[name], name
