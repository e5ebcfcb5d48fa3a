"""MBG/NBD parity with lifetimes 0.11.3 ``ModifiedBetaGeoFitter``, run side by side.

Batislam, Denizel & Filiztekin (2007) publish no CDNOW estimates, so lifetimes is the only
external reference for the MBG/NBD fit; tests/test_mbgnbd.py checks hand derivations and runs
without lifetimes. Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _btyd_sim import simulate_bgnbd
from _peers import require_peer
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import ValidationError
from crmcore.value import ModifiedBetaGeoModel
from crmcore.value.btyd._bgnbd_kernels import bgnbd_log_likelihood

lifetimes = require_peer("lifetimes")
lifetimes_utils = require_peer("lifetimes.utils")

NAMES = ["r", "alpha", "a", "b"]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel().fit(cdnow)


@pytest.fixture(scope="module")
def reference(cdnow: pd.DataFrame) -> object:
    # peer-computed reference: lifetimes 0.11.3 ModifiedBetaGeoFitter on the same data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.ModifiedBetaGeoFitter().fit(
            cdnow["frequency"], cdnow["recency"], cdnow["T"]
        )


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def test_cdnow_fit_reproduces_lifetimes_parameters(
    fitted: ModifiedBetaGeoModel, reference: object
) -> None:
    for name in NAMES:
        assert fitted.params_[name] == pytest.approx(reference.params_[name], rel=1e-3)  # type: ignore[attr-defined]


def test_cdnow_log_likelihood_is_at_least_lifetimes_on_the_callers_time_scale(
    fitted: ModifiedBetaGeoModel, reference: object, cdnow: pd.DataFrame
) -> None:
    x, t_x, T = _arrays(cdnow)
    theirs = reference.params_[NAMES].to_numpy()  # type: ignore[attr-defined]
    ll_theirs = bgnbd_log_likelihood(theirs, x, t_x, T, modified=True).sum()
    assert fitted.log_likelihood_ >= ll_theirs - 1e-6 * len(x)
    assert fitted.log_likelihood_ == pytest.approx(ll_theirs, abs=0.01)
    assert fitted.time_unit_ == "W"


_params = st.tuples(
    st.floats(0.05, 5.0),
    st.floats(0.5, 50.0),
    st.one_of(st.floats(0.1, 0.9), st.floats(1.1, 5.0)),
    st.floats(0.2, 10.0),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=_params,
    x=st.lists(st.integers(0, 40), min_size=1, max_size=15),
    share=st.floats(0.0, 1.0),
    T=st.floats(0.5, 100.0),
    t=st.floats(0.1, 100.0),
)
def test_predictions_agree_with_lifetimes_at_equal_parameters(
    params: tuple[float, float, float, float], x: list[int], share: float, T: float, t: float
) -> None:
    r, alpha, a, b = params
    model = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    ref = model.to_lifetimes()
    xx = np.array(x, dtype=float)
    TT = np.full_like(xx, T)
    t_x = np.where(xx > 0, T * share, 0.0)
    with np.errstate(all="ignore"):
        exp_ref = np.asarray(
            ref.conditional_expected_number_of_purchases_up_to_time(t, xx, t_x, TT)
        )
    ok = np.isfinite(exp_ref)
    np.testing.assert_allclose(
        model.expected_purchases((xx, t_x, TT), t)[ok], exp_ref[ok], rtol=1e-6, atol=1e-12
    )
    np.testing.assert_allclose(
        model.probability_alive((xx, t_x, TT)),
        ref.conditional_probability_alive(xx, t_x, TT),
        rtol=1e-6,
        atol=1e-300,
    )
    assert model.expected_purchases_new_customer(t) == pytest.approx(
        ref.expected_number_of_purchases_up_to_time(t), rel=1e-6
    )
    for n in range(4):
        assert model.population_purchase_probability(n, t) == pytest.approx(
            ref.probability_of_n_purchases_up_to_time(t, n), rel=1e-6, abs=1e-300
        )


def test_interop_round_trip(reference: object, fitted: ModifiedBetaGeoModel) -> None:
    model = ModifiedBetaGeoModel.from_lifetimes(reference)
    assert type(model.to_lifetimes()).__name__ == "ModifiedBetaGeoFitter"
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-3)
    with pytest.raises(ValidationError, match="ModifiedBetaGeoFitter"):
        ModifiedBetaGeoModel.from_lifetimes(lifetimes.BetaGeoFitter())


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.tuples(
        st.floats(0.2, 2.0), st.floats(1.0, 20.0), st.floats(0.3, 3.0), st.floats(0.5, 6.0)
    ),
    seed=st.integers(0, 2**31 - 1),
)
def test_fitted_log_likelihood_is_at_least_lifetimes(
    params: tuple[float, float, float, float], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    T = rng.uniform(5.0, 60.0, n)
    x, t_x = simulate_bgnbd(np.array(params), T, rng, modified=True)
    assume(x.sum() > 0)  # nobody repeats: neither library can fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ModifiedBetaGeoModel().fit(pd.DataFrame({"frequency": x, "recency": t_x, "T": T}))
        try:
            ref = lifetimes.ModifiedBetaGeoFitter().fit(x, t_x, T)
        except lifetimes_utils.ConvergenceError:
            reject()  # lifetimes' optimiser did not converge: nothing to compare
    theirs = ref.params_[NAMES].to_numpy()
    ll_theirs = float(np.sum(bgnbd_log_likelihood(theirs, x, t_x, T, modified=True)))
    assert model.log_likelihood_ >= ll_theirs - 1e-6 * n
