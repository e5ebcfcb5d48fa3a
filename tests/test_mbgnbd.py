"""MBG/NBD: hand derivations, numerics, contract; runs without lifetimes.

Batislam, Denizel & Filiztekin (2007) publish no CDNOW estimates: the fit is compared with
lifetimes' ModifiedBetaGeoFitter (peer reference) in tests/parity/test_lifetimes_mbgnbd.py.
Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from _btyd_sim import simulate_bgnbd
from scipy import integrate, stats
from scipy.special import gammaln

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import ValidationError
from crmcore.value import BetaGeoModel, ModifiedBetaGeoModel
from crmcore.value.btyd._bgnbd_kernels import BGNBDObjective, bgnbd_log_likelihood


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow)


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def test_mbgnbd_nests_the_possibility_of_inactive_one_time_buyers(
    fitted: ModifiedBetaGeoModel,
) -> None:
    # unlike the BG/NBD, a customer without repeat purchases may be inactive
    p = fitted.probability_alive(([0], [0.0], [38.86]))[0]
    assert 0 < p < 1
    assert BetaGeoModel.from_params(**fitted.params_.to_dict()).probability_alive(
        ([0], [0.0], [38.86])
    )[0] == pytest.approx(1.0)


@pytest.mark.parametrize("history", [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 12.0, 20.0)])
def test_log_likelihood_equals_the_mixture_integral_of_the_individual_process(
    history: tuple[float, float, float],
) -> None:
    # hand derivation (Batislam, Denizel & Filiztekin 2007, sec. 3): given (lambda, p) a
    # customer with x repeat purchases, the last at t_x, either survived every one of the x + 1
    # purchase opportunities, (1-p)^(x+1) lambda^x exp(-lambda T), or dropped out right after
    # the x-th, p (1-p)^x lambda^x exp(-lambda t_x). Over lambda ~ Gamma(r, alpha),
    # E[lambda^x exp(-lambda u)] = Gamma(r+x) / Gamma(r) alpha^r / (alpha+u)^(r+x) (gamma
    # moment); the mixing over p ~ Beta(a, b) is done by numerical integration.
    r, alpha, a, b = 0.5, 6.0, 0.9, 1.6
    x, t_x, T = history

    def gamma_moment(u: float) -> float:
        return float(
            np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + u))
        )

    def integrand(p: float) -> float:
        alive = (1 - p) ** (x + 1) * gamma_moment(T)
        gone = p * (1 - p) ** x * gamma_moment(t_x)
        return float((alive + gone) * stats.beta.pdf(p, a, b))

    expected = integrate.quad(integrand, 0, 1, limit=200, epsabs=0, epsrel=1e-11)[0]
    ours = bgnbd_log_likelihood(
        np.array([r, alpha, a, b]), np.array([x]), np.array([t_x]), np.array([T]), modified=True
    )[0]
    assert ours == pytest.approx(np.log(expected), rel=1e-7)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (0.5, 6.0, 1.9, 1.6)])
def test_new_customer_expectation_equals_numerical_integration(
    params: tuple[float, float, float, float],
) -> None:
    # hand derivation: a new customer survives the first purchase with probability 1 - p and
    # then buys like a BG/NBD customer, so E[X(t) | lambda, p] = (1 - p) (1 - exp(-lambda p t))
    # / p; over lambda ~ Gamma(r, alpha) this is (1 - p) (1 - (alpha / (alpha + p t))^r) / p,
    # then integrate over p ~ Beta(a, b)
    r, alpha, a, b = params
    t = 78.0

    def inner(p: float) -> float:
        return float((1 - p) * (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b))

    expected = integrate.quad(inner, 0, 1, limit=200, epsrel=1e-10)[0]
    model = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    assert model.expected_purchases_new_customer(t) == pytest.approx(expected, rel=1e-7)


def test_purchase_probabilities_sum_to_one_with_the_conditional_mean(
    fitted: ModifiedBetaGeoModel, cdnow: pd.DataFrame
) -> None:
    sample = cdnow.iloc[::60]
    probs = np.array([fitted.purchase_probability(sample, n, 39).to_numpy() for n in range(400)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-8)
    mean = (np.arange(400)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(mean, fitted.expected_purchases(sample, 39).to_numpy(), rtol=1e-6)
    pop = fitted.population_purchase_probability(np.arange(600), 52)
    assert pop.sum() == pytest.approx(1.0, abs=1e-8)
    assert (np.arange(600) * pop).sum() == pytest.approx(
        fitted.expected_purchases_new_customer(52), rel=1e-6
    )


def test_analytic_gradient_and_hessian_match_finite_differences(cdnow: pd.DataFrame) -> None:
    x, t_x, T = _arrays(cdnow)
    obj = BGNBDObjective(x, t_x, T, np.ones_like(x), modified=True)
    point = np.log([0.5, 6.0, 0.9, 1.6])
    value, grad, hess = obj.value_grad_hessian(point)
    expected_value = -bgnbd_log_likelihood(np.exp(point), x, t_x, T, modified=True).sum()
    assert value == pytest.approx(expected_value, rel=1e-12)
    h = 1e-5
    eye = np.eye(4)
    num_grad = np.array([(obj(point + h * e)[0] - obj(point - h * e)[0]) / (2 * h) for e in eye])
    num_hess = np.array([(obj(point + h * e)[1] - obj(point - h * e)[1]) / (2 * h) for e in eye])
    np.testing.assert_allclose(grad, num_grad, rtol=1e-5)
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-6 * np.abs(num_hess).max())


def test_extreme_inputs_give_finite_log_likelihoods_and_gradients() -> None:
    x = np.array([0.0, 10_000.0, 10_000.0, 1.0, 0.0])
    T = np.array([10_000.0, 10_000.0, 10_000.0, 10_000.0, 1e-3])
    t_x = np.array([0.0, 10_000.0, 1.0, 10_000.0, 0.0])
    obj = BGNBDObjective(x, t_x, T, np.ones_like(x), modified=True)
    value, grad, hess = obj.value_grad_hessian(np.log([0.5, 6.0, 0.9, 1.6]))
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
    model = ModifiedBetaGeoModel.from_params(r=0.5, alpha=6.0, a=0.9, b=1.6)
    p = model.probability_alive((x, t_x, T), t=50.0)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.all(np.isfinite(model.expected_purchases((x, t_x, T), 52.0)))


def test_pickle_round_trip_keeps_the_parameters(fitted: ModifiedBetaGeoModel) -> None:
    clone = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_series_equal(clone.params_, fitted.params_)


def test_bad_input_raises_with_the_count_and_first_ids() -> None:
    data = pd.DataFrame(
        {"frequency": [0, 1, 2], "recency": [0.0, 15.0, 2.0], "T": [10.0, 10.0, 10.0]},
        index=[7, 8, 9],
    )
    with pytest.raises(ValidationError, match=r"recency must be <= T; 1 of 3 rows .*first ids: 8"):
        ModifiedBetaGeoModel().fit(data)


@pytest.mark.slow
def test_parameters_are_recovered_from_200k_simulated_customers() -> None:
    rng = np.random.default_rng(7)
    truth = np.array([0.5, 6.0, 0.9, 1.6])
    T = rng.uniform(20.0, 80.0, 200_000)
    x, t_x = simulate_bgnbd(truth, T, rng, modified=True)
    model = ModifiedBetaGeoModel().fit(pd.DataFrame({"frequency": x, "recency": t_x, "T": T}))
    table = model.summary()
    z = np.abs(table["estimate"].to_numpy() - truth) / table["std_err"].to_numpy()
    assert np.all(z < 3), table
