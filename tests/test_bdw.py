"""Tests of the beta-discrete-Weibull (BdW) retention model.

Fader, Hardie, Liu, Davin & Steenburgh (2018), "'How to Project Customer Retention'
Revisited: The Role of Duration Dependence", Journal of Interactive Marketing 43, 1-16.
No published BdW estimates could be verified, so the model is checked by: the c = 1
reduction to the sBG (closed forms of FH 2007), a likelihood derived by hand from
S(t) = B(alpha, beta + t^c) / B(alpha, beta), nesting (the BdW log-likelihood is at least
the sBG one on the same data), recovery of known parameters from simulated cohorts, and
the pymc-marketing reference pmf (tests/clv/models/test_beta_discrete_weibull.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from crmcore.exceptions import ValidationError
from crmcore.value import BetaDiscreteWeibullModel, ShiftedBetaGeoModel

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def hand_survival(alpha: float, beta: float, c: float, t: np.ndarray) -> np.ndarray:
    return np.exp(betaln(alpha, beta + t.astype(float) ** c) - betaln(alpha, beta))


def hand_log_likelihood(alpha: float, beta: float, c: float, survivors: list[int]) -> float:
    s = np.asarray(survivors, dtype=float)
    surv = hand_survival(alpha, beta, c, np.arange(s.size))
    churn = surv[:-1] - surv[1:]
    return float(np.sum((s[:-1] - s[1:]) * np.log(churn)) + s[-1] * np.log(surv[-1]))


def test_c_equal_one_reduces_to_the_sbg_model():
    bdw = BetaDiscreteWeibullModel.from_params(alpha=0.668, beta=3.806, c=1.0)
    sbg = ShiftedBetaGeoModel.from_params(alpha=0.668, beta=3.806)
    t = np.arange(1, 40)
    np.testing.assert_allclose(bdw.survival(t), sbg.survival(t), rtol=1e-12)
    np.testing.assert_allclose(bdw.retention_rate(t), sbg.retention_rate(t), rtol=1e-12)
    np.testing.assert_allclose(bdw.churn_probability(t), sbg.churn_probability(t), rtol=1e-9)
    # DEL / DERL: BdW sums survival terms, the sBG uses the 2F1 closed form
    assert bdw.discounted_expected_lifetime(0.1) == pytest.approx(
        sbg.discounted_expected_lifetime(0.1), rel=1e-10
    )
    for n in (0, 3, 10):
        assert bdw.discounted_expected_residual_lifetime(0.1, n) == pytest.approx(
            sbg.discounted_expected_residual_lifetime(0.1, n), rel=1e-10
        )


def test_pmf_matches_the_reference_closed_form():
    # pymc-marketing's _bdw_pmf_reference: S(t - 1) - S(t) with S from beta functions
    for alpha, beta, c in ((1.0, 1.0, 1.0), (0.8, 2.0, 0.7), (2.0, 3.0, 1.8)):
        model = BetaDiscreteWeibullModel.from_params(alpha=alpha, beta=beta, c=c)
        t = np.arange(1, 50)
        expected = hand_survival(alpha, beta, c, t - 1) - hand_survival(alpha, beta, c, t)
        np.testing.assert_allclose(model.churn_probability(t), expected, rtol=1e-6, atol=1e-12)


def test_fit_maximises_the_hand_derived_likelihood():
    model = BetaDiscreteWeibullModel().fit(HIGH_END)
    a, b, c = model.params_
    assert model.log_likelihood_ == pytest.approx(hand_log_likelihood(a, b, c, HIGH_END), rel=1e-10)
    h = 1e-5
    for i in range(3):
        up = np.array([a, b, c], dtype=float)
        down = up.copy()
        up[i] *= 1 + h
        down[i] *= 1 - h
        assert hand_log_likelihood(*up, HIGH_END) <= model.log_likelihood_ + 1e-6
        assert hand_log_likelihood(*down, HIGH_END) <= model.log_likelihood_ + 1e-6


def test_bdw_nests_the_sbg_so_its_likelihood_is_never_lower():
    for data in (REGULAR, HIGH_END):
        sbg = ShiftedBetaGeoModel().fit(data)
        bdw = BetaDiscreteWeibullModel().fit(data)
        assert bdw.log_likelihood_ >= sbg.log_likelihood_ - 1e-6


def test_parameters_are_recovered_from_simulated_cohorts():
    truth = np.array([1.5, 4.0, 0.7])
    model = BetaDiscreteWeibullModel.from_params(alpha=1.5, beta=4.0, c=0.7)
    rng = np.random.default_rng(2018)
    cohorts = []
    for length in (12, 10, 8, 6):
        life = model._draw_lifetimes(truth, 40_000, rng)
        cohorts.append([int((life > t).sum()) for t in range(length + 1)])
    fitted = BetaDiscreteWeibullModel().fit(cohorts)
    table = fitted.summary()
    within = (table["ci_lower"] < truth) & (truth < table["ci_upper"])
    assert within.all(), table
    np.testing.assert_allclose(fitted.params_, truth, rtol=0.15)


def test_simulated_lifetimes_follow_the_survival_function():
    params = np.array([1.2, 2.5, 1.4])
    model = BetaDiscreteWeibullModel.from_params(alpha=1.2, beta=2.5, c=1.4)
    life = model._draw_lifetimes(params, 200_000, np.random.default_rng(1))
    t = np.arange(0, 8)
    empirical = (life[None, :] > t[:, None]).mean(axis=1)
    np.testing.assert_allclose(empirical, model.survival(t), atol=5e-3)


def test_summary_and_projection_have_the_house_columns():
    model = BetaDiscreteWeibullModel().fit(REGULAR)
    assert list(model.summary().columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert list(model.summary().index) == ["alpha", "beta", "c"]
    proj = model.project(10)
    assert (proj["survival_lower"].iloc[1:] <= proj["survival"].iloc[1:]).all()
    cov = model.covariance_.to_numpy()
    assert np.array_equal(cov, cov.T)


def test_bad_parameters_and_counts_are_rejected():
    with pytest.raises(ValidationError, match="'c' parameter"):
        BetaDiscreteWeibullModel.from_params(alpha=1.0, beta=1.0, c=0.0)
    with pytest.raises(ValidationError, match="survivors increase"):
        BetaDiscreteWeibullModel().fit([100, 90, 95])
    with pytest.raises(ValidationError, match="must be > -1"):
        BetaDiscreteWeibullModel.from_params(
            alpha=1.0, beta=1.0, c=1.0
        ).discounted_expected_lifetime(-1.0)


@settings(max_examples=40, deadline=None)
@given(
    alpha=st.floats(1e-2, 1e4),
    beta=st.floats(1e-2, 1e4),
    c=st.floats(0.2, 3.0),
)
def test_bdw_survival_is_non_increasing_and_probabilities_are_valid(alpha, beta, c):
    model = BetaDiscreteWeibullModel.from_params(alpha=alpha, beta=beta, c=c)
    t = np.arange(0, 40)
    surv = model.survival(t)
    assert np.all((surv >= 0) & (surv <= 1)) and np.all(np.diff(surv) <= 0)
    churn = model.churn_probability(t[1:])
    assert np.all((churn >= 0) & (churn <= 1))
