"""BG/NBD parity with lifetimes 0.11.3 ``BetaGeoFitter``, run side by side (peer reference).

Published BG/NBD numbers (Fader, Hardie & Lee 2005; Hardie's notes; R BTYD) are checked in
tests/test_bgnbd.py, which runs without lifetimes. Every expected value here is computed by
lifetimes in the same process; see tests/results/README.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _btyd_sim import simulate_bgnbd
from _peers import require_peer
from hypothesis import HealthCheck, assume, example, given, reject, settings
from hypothesis import strategies as st

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import ValidationError
from crmcore.value import BetaGeoModel, TransactionModel
from crmcore.value.btyd._bgnbd_kernels import bgnbd_log_likelihood

lifetimes = require_peer("lifetimes")
lifetimes_utils = require_peer("lifetimes.utils")

NAMES = ("r", "alpha", "a", "b")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


@pytest.fixture(scope="module")
def lifetimes_fit(cdnow: pd.DataFrame) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_cdnow_fit_matches_the_lifetimes_optimum(
    fitted: BetaGeoModel, lifetimes_fit: object
) -> None:
    theirs = lifetimes_fit.params_  # type: ignore[attr-defined]
    for name in NAMES:
        assert fitted.params_[name] == pytest.approx(theirs[name], rel=1e-3)


def test_standard_errors_are_close_to_lifetimes(
    fitted: BetaGeoModel, lifetimes_fit: object
) -> None:
    # lifetimes takes standard errors from a numerical Hessian on rescaled time: 2% agreement
    theirs = lifetimes_fit.standard_errors_  # type: ignore[attr-defined]
    for name in NAMES:
        assert fitted.summary().loc[name, "std_err"] == pytest.approx(theirs[name], rel=2e-2)


_params = st.tuples(
    st.floats(0.05, 5.0),
    st.floats(0.5, 50.0),
    st.one_of(st.floats(0.1, 0.9), st.floats(1.1, 5.0)),
    st.floats(0.2, 10.0),
)


@st.composite
def _histories(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 20))
    T = np.array(draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)), dtype=float)
    share = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    t_x = np.where(x > 0, T * share, 0.0)
    return x, t_x, T


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=_params, data=_histories(), t=st.floats(0.1, 100.0))
# a + b = 1, where lifetimes' new-customer expectation is 0/0 (found by the random profile)
@example(
    params=(1.0, 1.0, 0.5, 0.5), data=(np.array([0.0]), np.array([0.0]), np.array([1.0])), t=1.0
)
def test_predictions_agree_with_lifetimes_at_equal_parameters(
    params: tuple[float, float, float, float],
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    t: float,
) -> None:
    r, alpha, a, b = params
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    ref = model.to_lifetimes()
    x, t_x, T = data
    with np.errstate(all="ignore"):
        exp_ref = ref.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)
    ok = np.isfinite(exp_ref)  # lifetimes' hyp2f1 overflows for some inputs; ours does not
    np.testing.assert_allclose(
        model.expected_purchases((x, t_x, T), t)[ok], exp_ref[ok], rtol=1e-6, atol=1e-12
    )
    np.testing.assert_allclose(
        model.probability_alive((x, t_x, T)),
        ref.conditional_probability_alive(x, t_x, T),
        rtol=1e-6,
        atol=1e-300,
    )
    with np.errstate(all="ignore"):
        new_ref = ref.expected_number_of_purchases_up_to_time(t)
    if np.isnan(new_ref) and a + b == 1.0:
        # lifetimes' closed form has a + b - 1 as a hyp2f1 parameter and divides by it: 0/0
        # at a + b = 1, where the expectation is continuous. Its limit: the mean of lifetimes
        # just either side (the two differ by ~1e-7 relative).
        side = [
            BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b * (1.0 + eps))
            .to_lifetimes()
            .expected_number_of_purchases_up_to_time(t)
            for eps in (-1e-7, 1e-7)
        ]
        new_ref = 0.5 * (side[0] + side[1])
    assert model.expected_purchases_new_customer(t) == pytest.approx(new_ref, rel=1e-6)
    for n in range(4):
        assert model.population_purchase_probability(n, t) == pytest.approx(
            ref.probability_of_n_purchases_up_to_time(t, n), rel=1e-6, abs=1e-300
        )


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
    x, t_x = simulate_bgnbd(np.array(params), T, rng)
    assume(x.sum() > 0)  # nobody repeats: neither library can fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BetaGeoModel().fit(pd.DataFrame({"frequency": x, "recency": t_x, "T": T}))
        try:
            ref = lifetimes.BetaGeoFitter().fit(x, t_x, T)
        except lifetimes_utils.ConvergenceError:
            reject()  # lifetimes' optimiser did not converge: nothing to compare
    theirs = bgnbd_log_likelihood(ref.params_[list(NAMES)].to_numpy(), x, t_x, T)
    assert model.log_likelihood_ >= float(np.sum(theirs)) - 1e-6 * n


def test_from_params_and_lifetimes_interop_round_trip(lifetimes_fit: object) -> None:
    model = BetaGeoModel.from_lifetimes(lifetimes_fit, time_unit="W")
    assert isinstance(model, TransactionModel)
    back = model.to_lifetimes()
    assert type(back).__name__ == "BetaGeoFitter"
    pd.testing.assert_series_equal(
        back.params_[list(NAMES)],
        lifetimes_fit.params_[list(NAMES)],  # type: ignore[attr-defined]
        check_names=False,
    )
    assert np.isnan(model.log_likelihood_) and model.time_unit_ == "W"
    assert "r=" in repr(model)
    with pytest.raises(ValidationError, match="BetaGeoFitter"):
        BetaGeoModel.from_lifetimes(lifetimes.GammaGammaFitter())
