"""Every fit ends at a verified maximum, or says so (issue 8, item 11).

Reference values: the log-likelihood at lifetimes' optimum reported in the issue
(-2503.38), independent finite-difference gradients and hand-derived quadratic examples;
none is copied from crmcore's own fit. The side-by-side comparisons with lifetimes live in
``tests/parity/test_lifetimes_fit_maximum.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from crmcore.exceptions import ConvergenceWarning
from crmcore.value import BetaGeoModel, ParetoNBDModel, simulate_pareto_nbd
from crmcore.value._base import _maximum_check
from crmcore.value.btyd._pareto_kernels import pareto_log_likelihood

# the issue's case: simulate_pareto_nbd(1.21875, 11.0, 0.328125, 3.25, ...), seed 247
ISSUE_PARAMS = (1.21875, 11.0, 0.328125, 3.25)
# crmcore's log-likelihood at lifetimes' optimum (s=0.223, beta=0.999), as reported in issue 8
LIFETIMES_LL = -2503.38


def _issue_data(seed: int = 247, params: tuple[float, ...] = ISSUE_PARAMS) -> pd.DataFrame:
    ages = np.random.default_rng(seed).uniform(10.0, 40.0, 400).round(2)
    return simulate_pareto_nbd(*params, T=ages, random_state=seed)


def _summed_ll(params: np.ndarray, data: pd.DataFrame) -> float:
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    with np.errstate(invalid="ignore"):
        return float(np.sum(pareto_log_likelihood(*params, x, t_x, T)))


def _log_gradient(params: np.ndarray, data: pd.DataFrame, h: float = 1e-5) -> np.ndarray:
    """Central differences of the summed log-likelihood in log-parameters (independent)."""
    grad = np.empty(4)
    for i in range(4):
        up, down = np.log(params), np.log(params)
        up[i] += h
        down[i] -= h
        grad[i] = (_summed_ll(np.exp(up), data) - _summed_ll(np.exp(down), data)) / (2 * h)
    return grad


@pytest.fixture(scope="module")
def issue_data() -> pd.DataFrame:
    return _issue_data()


def test_pareto_fit_of_the_issue_reaches_the_maximum_lifetimes_found(
    issue_data: pd.DataFrame,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = ParetoNBDModel().fit(issue_data)
    assert model.log_likelihood_ >= LIFETIMES_LL - 1e-6
    # the stopping point of the issue (s=0.390, beta=3.358, LL -2505.60) is not accepted
    assert model.params_["s"] < 0.3 and model.params_["beta"] < 2.0
    # gradient of the summed log-likelihood, by independent finite differences: ~0
    grad = _log_gradient(model.params_.to_numpy(), issue_data)
    assert np.max(np.abs(grad)) < 1e-2, grad
    assert model.converged_
    assert model.max_gradient_ < 1e-2
    assert 0.0 <= model.newton_gain_ < 1e-5
    assert model.fit_notes() == []


def test_a_fit_that_cannot_be_verified_warns_and_reports_not_converged(
    issue_data: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every end point fails the check (as on a likelihood too flat to finish): the fit
    # must say so instead of reporting success
    import crmcore.value._base as base

    monkeypatch.setattr(base, "_maximum_check", lambda grad, hessian, n: (False, 1.0, 1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BetaGeoModel().fit(issue_data)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any("did not reach a verified maximum" in m and "penalizer" in m for m in messages)
    assert not model.converged_
    assert any("verified maximum" in note for note in model.fit_notes())


def test_maximum_check_uses_the_newton_gain_not_only_the_gradient() -> None:
    # one parameter, summed objective f(x) = 0.5 * h * x^2 - g * x around x = 0 with n = 1:
    # the gradient -g is below the per-customer tolerance 1e-4, but on a flat ridge
    # (h = 1e-4) a Newton step still gains g^2 / (2 h) = 1e-8 / 2e-4 = 5e-5 > 1e-5
    ok, max_grad, gain = _maximum_check(np.array([-1e-4 + 1e-12]), np.array([[1e-4]]), 1.0)
    assert not ok
    assert max_grad == pytest.approx(1e-4)
    assert gain == pytest.approx(5e-5, rel=1e-6)
    # with curvature h = 1: gain 5e-9, verified
    ok, _, gain = _maximum_check(np.array([-1e-4 + 1e-12]), np.array([[1.0]]), 1.0)
    assert ok and gain == pytest.approx(5e-9, rel=1e-6)
    # not positive definite: the gradient alone decides, the gain is NaN
    ok, _, gain = _maximum_check(np.array([1e-7, 0.0]), np.diag([1.0, -1.0]), 10.0)
    assert ok and math.isnan(gain)
    ok, _, _ = _maximum_check(np.array([1e-3, 0.0]), np.diag([1.0, -1.0]), 1.0)
    assert not ok


def test_a_degenerate_fit_says_so_in_summary_and_html() -> None:
    # five customers without a repeat purchase and one with two: the dropout parameters are
    # not identified (a -> 0), so the Hessian is singular and the standard errors NaN
    data = pd.DataFrame(
        {
            "frequency": [0, 0, 0, 1, 0, 2],
            "recency": [0.0, 0, 0, 5, 0, 9],
            "T": [10.0, 12, 8, 10, 10, 10],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BetaGeoModel().fit(data)
    assert model.fit_notes(), model.params_
    with pytest.warns(ConvergenceWarning, match="penalizer="):
        table = model.summary()
    assert list(table.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert table.attrs["notes"] == model.fit_notes()
    html = model._repr_html_()
    assert "Warning:" in html and "penalizer=0.001" in html


def test_a_model_built_from_parameters_has_no_notes() -> None:
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert model.fit_notes() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert model.summary().attrs["notes"] == []
