"""BG/NBD and MBG/NBD predictions at and near a = 1 (issue 8, item 8).

At ``a = 1`` the conditional expectation of Fader, Hardie & Lee (2005, eq. 10),

    E[X(T, T + t)] = (a + b + x - 1) / (a - 1)
                     * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
                        2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))] * P(alive),

and the new-customer mean (eq. 9) are 0 / 0: a removable singularity. The references below
evaluate these published closed forms with mpmath at 60 significant digits, where the
cancellation costs nothing, at ``a = 1 + 1e-30`` (the error of that shift is ~1e-30). At
``a = 1`` they are checked once more against the limit derived by hand:
with ``e = a - 1``, ``C = b' + e`` and ``F = 2F1(C - r', e; C; z)`` (Euler's transformation
of eq. 10's 2F1), ``(e)_k = e (1 + e)_{k-1}`` gives ``F = 1 + e S + O(e^2)`` with
``S = sum_{k>=1} (b' - r')_k / ((b')_k k) z^k``, and ``(1 - z)^e = 1 + e ln(1 - z) + O(e^2)``,
so the bracketed mean tends to ``-b' [ln(1 - z) + S]``.

MBG/NBD (Batislam, Denizel & Filiztekin 2007): ``b + x`` becomes ``b + x + 1`` in the mean,
``P(alive) = 1 / (1 + a / (b + x) ((alpha + T) / (alpha + t_x))^(r + x))`` and the new
customer's mean is ``b / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b + 1; a + b; z)]``.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.value import BetaGeoModel, ModifiedBetaGeoModel
from crmcore.value.btyd._bgnbd_kernels import (
    _beta_expectation,
    bgnbd_alive_mean,
    bgnbd_conditional_expected,
)

# CDNOW parameters of Fader, Hardie & Lee (2005), with a replaced by values at and near 1
R, ALPHA, B = 0.243, 4.414, 2.426
HARDIE = (2.0, 30.43, 38.86)  # Hardie's spreadsheet customer (x, t_x, T), predicted 39 weeks
CUSTOMERS = [HARDIE, (0.0, 0.0, 38.86), (1.0, 5.0, 20.0), (15.0, 37.0, 39.0), (60.0, 0.4, 0.5)]
A_VALUES = [1.0, 1 + 1e-12, 1 - 1e-12, 1 + 1e-9, 1 - 1e-9, 1 + 1e-6, 1 - 1e-6]
DPS = 60


def _a(a: float) -> mp.mpf:
    """The float a as an mpf; a = 1 is shifted by 1e-30 (the closed form is 0/0 there)."""
    return mp.mpf(a) if a != 1.0 else mp.mpf(1) + mp.mpf("1e-30")


def _alive_mean_ref(a: mp.mpf, rr: mp.mpf, bb: mp.mpf, ap: mp.mpf, t: mp.mpf) -> mp.mpf:
    """FHL (2005) eq. 9 at (r', alpha', a, b'): the mean of a customer alive at the start."""
    c = a + bb - 1
    return c / (a - 1) * (1 - (ap / (ap + t)) ** rr * mp.hyp2f1(rr, bb, c, t / (ap + t)))


def _alive_mean_limit(rr: mp.mpf, bb: mp.mpf, ap: mp.mpf, t: mp.mpf) -> mp.mpf:
    """The hand-derived limit at a = 1 (module docstring): -b' [ln(1 - z) + S]."""
    z = t / (ap + t)
    s = mp.nsum(lambda k: mp.rf(bb - rr, k) / (mp.rf(bb, k) * k) * z**k, [1, mp.inf])
    return -bb * (mp.log(1 - z) + s)


def _p_alive_ref(
    a: mp.mpf, r: float, alpha: float, b: float, x: float, t_x: float, T: float, modified: bool
) -> mp.mpf:
    r_, al, b_, x_, tx, T_ = (mp.mpf(v) for v in (r, alpha, b, x, t_x, T))
    ratio = ((al + T_) / (al + tx)) ** (r_ + x_)
    if modified:
        return 1 / (1 + a / (b_ + x_) * ratio)
    return mp.mpf(1) if x == 0 else 1 / (1 + a / (b_ + x_ - 1) * ratio)


def _expected_ref(
    a: float, r: float, alpha: float, b: float, x: float, t_x: float, T: float, t: float,
    modified: bool,
) -> float:  # fmt: skip
    """E[X(T, T + t) | x, t_x, T] from the published closed forms, 60 digits."""
    with mp.workdps(DPS):
        am = _a(a)
        r_, al, b_, x_, T_, t_ = (mp.mpf(v) for v in (r, alpha, b, x, T, t))
        bb = b_ + x_ + (1 if modified else 0)
        mean = _alive_mean_ref(am, r_ + x_, bb, al + T_, t_)
        return float(mean * _p_alive_ref(am, r, alpha, b, x, t_x, T, modified))


def _new_customer_ref(
    a: float, r: float, alpha: float, b: float, t: float, modified: bool
) -> float:
    with mp.workdps(DPS):
        am = _a(a)
        r_, al, b_, t_ = (mp.mpf(v) for v in (r, alpha, b, t))
        z = t_ / (al + t_)
        if modified:  # Batislam et al. (2007)
            return float(
                b_ / (am - 1) * (1 - (al / (al + t_)) ** r_ * mp.hyp2f1(r_, b_ + 1, am + b_, z))
            )
        return float(_alive_mean_ref(am, r_, b_, al, t_))  # FHL (2005) eq. 9


def _model(a: float, modified: bool, r: float = R, alpha: float = ALPHA, b: float = B):
    cls = ModifiedBetaGeoModel if modified else BetaGeoModel
    return cls.from_params(r=r, alpha=alpha, a=a, b=b)


# ------------------------------------------------------------------ the references themselves


@pytest.mark.parametrize("customer", CUSTOMERS[:4])
@pytest.mark.parametrize("modified", [False, True])
def test_reference_at_a_plus_1e_30_equals_the_hand_derived_limit(
    customer: tuple[float, float, float], modified: bool
) -> None:
    x, _, T = customer
    with mp.workdps(DPS):
        bb = mp.mpf(B) + x + (1 if modified else 0)
        args = (mp.mpf(R) + x, bb, mp.mpf(ALPHA) + T, mp.mpf(39))
        shifted = _alive_mean_ref(_a(1.0), *args)
        limit = _alive_mean_limit(*args)
        assert abs(shifted / limit - 1) < mp.mpf("1e-25")


def test_hardies_customer_at_a_equal_1_is_1_102_not_0_993() -> None:
    # the numbers: the old per-row fallback returned 0.993 for Hardie's customer
    ref = _expected_ref(1.0, R, ALPHA, B, *HARDIE, 39.0, modified=False)
    assert ref == pytest.approx(1.1021367860, rel=1e-10)
    value = _model(1.0, False).expected_purchases(tuple(np.array([v]) for v in HARDIE), 39.0)
    assert value[0] == pytest.approx(ref, rel=1e-10)


# ------------------------------------------------------------------ predictions at and near a = 1


@pytest.mark.parametrize("a", A_VALUES)
@pytest.mark.parametrize("modified", [False, True])
def test_expected_purchases_near_a_equal_1_match_the_closed_form_in_mpmath(
    a: float, modified: bool
) -> None:
    x, t_x, T = (np.array(v) for v in zip(*CUSTOMERS, strict=True))
    model = _model(a, modified)
    for t in (1.0, 39.0, 520.0):
        ours = model.expected_purchases((x, t_x, T), t)
        ref = [_expected_ref(a, R, ALPHA, B, *c, t, modified) for c in CUSTOMERS]
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=0)


@pytest.mark.parametrize("a", A_VALUES)
@pytest.mark.parametrize("modified", [False, True])
def test_new_customer_expectation_near_a_equal_1_has_no_zero_division(
    a: float, modified: bool
) -> None:
    model = _model(a, modified)
    for t in (0.5, 39.0, 78.0, 1000.0):
        value = model.expected_purchases_new_customer(t)
        assert value == pytest.approx(_new_customer_ref(a, R, ALPHA, B, t, modified), rel=1e-10)
    many = model.expected_purchases_new_customer(np.array([0.0, 39.0, 78.0]))
    assert many[0] == 0.0
    assert many[2] == pytest.approx(_new_customer_ref(a, R, ALPHA, B, 78.0, modified), rel=1e-10)


@pytest.mark.parametrize("modified", [False, True])
def test_probability_alive_now_and_later_at_a_equal_1_match_mpmath(modified: bool) -> None:
    # P(alive at T + u) = P(alive at T) 2F1(r + x, a; a + b' ; -u / (alpha + T)), the
    # posterior expectation of exp(-lambda p u) (Euler's integral), b' = b + x (+ 1 MBG/NBD)
    x, t_x, T = (np.array(v) for v in zip(*CUSTOMERS, strict=True))
    model = _model(1.0, modified)
    for u in (0.0, 10.0, 200.0):
        ours = model.probability_alive((x, t_x, T), t=u)
        ref = []
        with mp.workdps(30):
            for cx, ctx, cT in CUSTOMERS:
                now = _p_alive_ref(mp.mpf(1), R, ALPHA, B, cx, ctx, cT, modified)
                bb = mp.mpf(B) + cx + (1 if modified else 0)
                later = mp.hyp2f1(mp.mpf(R) + cx, 1, 1 + bb, -mp.mpf(u) / (mp.mpf(ALPHA) + cT))
                ref.append(float(now * later))
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=0)


def _population_ref(a: float, r: float, alpha: float, b: float, n: int, t: float) -> float:
    """FHL (2005) eq. 8 with the gamma-Poisson tail written as a finite sum."""
    with mp.workdps(30):
        a_, r_, al, b_, t_ = (mp.mpf(v) for v in (a, r, alpha, b, t))
        q, p = al / (al + t_), t_ / (al + t_)

        def nb(j: int) -> mp.mpf:
            return mp.gamma(r_ + j) / (mp.gamma(r_) * mp.factorial(j)) * q**r_ * p**j

        out = mp.beta(a_, b_ + n) / mp.beta(a_, b_) * nb(n)
        if n > 0:
            tail = 1 - mp.fsum(nb(j) for j in range(n))
            out += mp.beta(a_ + 1, b_ + n - 1) / mp.beta(a_, b_) * tail
        return float(out)


def test_purchase_probabilities_at_a_equal_1_match_eq_8_and_average_to_the_mean() -> None:
    model = _model(1.0, False)
    for n in range(5):
        assert model.population_purchase_probability(n, 39.0) == pytest.approx(
            _population_ref(1.0, R, ALPHA, B, n, 39.0), rel=1e-9
        )
    # conditional P(X(T, T + t) = n): sum_n n P_n must equal the conditional expectation
    x, t_x, T = (np.array(v) for v in zip(*CUSTOMERS[:4], strict=True))
    for modified in (False, True):
        model = _model(1.0, modified)
        n = np.arange(400.0)
        probs = np.array([model.purchase_probability((x, t_x, T), k, 39.0) for k in n])
        np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-9)
        np.testing.assert_allclose(
            (n[:, None] * probs).sum(axis=0),
            model.expected_purchases((x, t_x, T), 39.0),
            rtol=1e-7,
        )


# ------------------------------------------------------------------ Hypothesis: a = 1 and around

_a_strategy = st.one_of(
    st.just(1.0),
    st.floats(-1e-6, 1e-6).map(lambda d: 1.0 + d),
    st.floats(0.999, 1.001),
    st.floats(0.1, 5.0),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=_a_strategy,
    r=st.floats(0.05, 5.0),
    alpha=st.floats(0.1, 50.0),
    b=st.floats(0.1, 10.0),
    x=st.integers(0, 200),
    share=st.floats(0.0, 1.0),
    T=st.floats(0.1, 200.0),
    t=st.floats(1e-3, 2000.0),
    modified=st.booleans(),
)
def test_expected_purchases_match_mpmath_for_a_at_and_around_1(
    a: float, r: float, alpha: float, b: float, x: int, share: float, T: float, t: float,
    modified: bool,
) -> None:  # fmt: skip
    t_x = T * share if x > 0 else 0.0
    model = _model(a, modified, r=r, alpha=alpha, b=b)
    ours = model.expected_purchases((np.array([float(x)]), np.array([t_x]), np.array([T])), t)
    ref = _expected_ref(a, r, alpha, b, float(x), t_x, T, t, modified)
    assert ours[0] == pytest.approx(ref, rel=1e-8, abs=1e-300)


# ------------------------------------------------------------------ large batches, fallbacks


@pytest.mark.parametrize("modified", [False, True])
def test_scoring_many_customers_at_a_equal_1_interpolates_accurately(modified: bool) -> None:
    # above 200,000 rows the alive mean is tabulated per frequency and interpolated; at a = 1
    # the table must come from the regular form too (the old code fell back to a per-row
    # quadrature loop there: about 3 minutes for a million customers)
    rng = np.random.default_rng(7)
    n = 210_000
    x = rng.poisson(3.0, n).astype(float)
    T = rng.uniform(0.5, 80.0, n)
    t_x = np.where(x > 0, T * rng.uniform(0.0, 1.0, n), 0.0)
    params = np.array([R, ALPHA, 1.0, B])
    model = _model(1.0, modified)
    fast = model.expected_purchases((x, t_x, T), 39.0)
    direct = bgnbd_conditional_expected(params, 39.0, x, t_x, T, modified=modified)
    np.testing.assert_allclose(fast, direct, rtol=1e-9)
    assert not np.array_equal(fast, direct)  # the interpolation path was taken
    check = rng.choice(n, 5, replace=False)
    for i in check:
        ref = _expected_ref(1.0, R, ALPHA, B, x[i], t_x[i], T[i], 39.0, modified)
        assert fast[i] == pytest.approx(ref, rel=1e-9)


def test_rows_where_scipy_hyp2f1_fails_are_integrated_numerically() -> None:
    # scipy 1.17 returns NaN for this row's 2F1 (5,000 purchases, z = 0.9998); the
    # double-exponential quadrature over p ~ Beta(a, b') takes over
    params = np.array([20.0, 0.01, 50.0, 0.05])
    x, T = np.array([5000.0]), np.array([1e-3])
    ours = bgnbd_alive_mean(params, 52.0, x, T)
    with mp.workdps(30):
        ref = _alive_mean_ref(
            mp.mpf(50), mp.mpf(5020), mp.mpf("5000.05"), mp.mpf("0.011"), mp.mpf(52)
        )
    assert ours[0] == pytest.approx(float(ref), rel=1e-10)


@pytest.mark.parametrize(
    ("a", "bb", "shape", "w"),
    [
        (1.0, 2.426, 0.243, 8.8),
        (1.0, 5002.4, 5000.2, 1e4),
        (0.05, 0.1, 0.02, 1e6),
        (30.0, 600.0, 3.0, 0.3),
    ],
)
def test_beta_expectation_quadrature_matches_mpmath(
    a: float, bb: float, shape: float, w: float
) -> None:
    # E[(1 + p w)^-s] = 2F1(s, a; a + b'; -w) and E[(1 - (1 + p w)^-s) / p] (Euler's integral)
    expect = _beta_expectation("expect", a, np.array([bb]), np.array([shape]), np.array([w]))
    survive = _beta_expectation("survive", a, np.array([bb]), np.array([shape]), np.array([w]))
    with mp.workdps(DPS):
        a_, bb_, s_, w_ = (mp.mpf(v) for v in (a, bb, shape, w))
        ref_survive = mp.hyp2f1(s_, a_, a_ + bb_, -w_)
        ref_expect = _alive_mean_ref(_a(a), s_, bb_, mp.mpf(1), w_)
    assert survive[0] == pytest.approx(float(ref_survive), rel=1e-10)
    assert expect[0] == pytest.approx(float(ref_expect), rel=1e-10)
