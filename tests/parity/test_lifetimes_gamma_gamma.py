"""Gamma-Gamma parity with lifetimes 0.11.3 ``GammaGammaFitter``, run side by side.

The published CDNOW fit (Fader, Hardie & Lee 2005; Hardie note 025) and the hand formula are in
tests/test_gamma_gamma.py, which runs without lifetimes. Sources: tests/results/README.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from crmcore.datasets import load_cdnow_summary
from crmcore.value import GammaGammaModel
from crmcore.value.btyd._gamma_gamma import gamma_gamma_log_likelihood

lifetimes = require_peer("lifetimes")
lifetimes_utils = require_peer("lifetimes.utils")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def repeat(cdnow: pd.DataFrame) -> pd.DataFrame:
    return cdnow[cdnow["frequency"] > 0]


@pytest.fixture(scope="module")
def fitted(repeat: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(repeat)


def test_cdnow_fit_matches_the_lifetimes_optimum(
    fitted: GammaGammaModel, repeat: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("p", "q", "v"):
        assert fitted.params_[name] == pytest.approx(ref.params_[name], rel=1e-4)


def test_conditional_spend_agrees_with_lifetimes(
    fitted: GammaGammaModel, cdnow: pd.DataFrame
) -> None:
    ref = fitted.to_lifetimes()
    ours = fitted.conditional_expected_average_spend(cdnow)
    theirs = ref.conditional_expected_average_profit(cdnow["frequency"], cdnow["monetary_value"])
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(theirs), rtol=1e-10)
    assert ours.index.equals(cdnow.index)


def test_round_trip_through_lifetimes(fitted: GammaGammaModel) -> None:
    back = GammaGammaModel.from_lifetimes(fitted.to_lifetimes())
    np.testing.assert_allclose(back.params_, fitted.params_)


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(
    params=st.tuples(st.floats(1.0, 10.0), st.floats(2.0, 10.0), st.floats(5.0, 50.0)),
    seed=st.integers(0, 2**31 - 1),
)
def test_fitted_log_likelihood_is_at_least_lifetimes(
    params: tuple[float, float, float], seed: int
) -> None:
    # simulate: nu ~ Gamma(q, rate v); x spends ~ Gamma(p, rate nu); m = their mean
    p, q, v = params
    rng = np.random.default_rng(seed)
    n = 300
    x = rng.integers(1, 15, n).astype(float)
    nu = rng.gamma(q, 1.0 / v, n)
    m = rng.gamma(p * x, 1.0 / nu) / x
    with warnings.catch_warnings():
        # weakly identified draws may warn that standard errors are unavailable
        warnings.simplefilter("ignore")
        model = GammaGammaModel().fit(pd.DataFrame({"frequency": x, "monetary_value": m}))
        try:
            ref = lifetimes.GammaGammaFitter().fit(x, m)
        except lifetimes_utils.ConvergenceError:
            reject()  # lifetimes' optimiser did not converge: nothing to compare
    theirs = ref.params_[["p", "q", "v"]].to_numpy()
    ll_theirs = float(np.sum(gamma_gamma_log_likelihood(theirs, x, m)))
    assert model.log_likelihood_ >= ll_theirs - 1e-6 * n
