"""Exact Pareto/NBD gradient and the 2F1 derivatives behind it (issue 8, fit speed).

``pareto_neg_ll_and_grad`` differentiates the likelihood of Fader & Hardie (2005, note 009,
eq. 18) in closed form; it is checked here against

* the central finite difference of the same objective (``_pareto_neg_ll_and_grad_fd``, nine
  evaluations of the likelihood), on CDNOW and on simulated customers, at parameter points
  covering both branches of the Euler-transformed 2F1 (``alpha > beta``, ``alpha < beta``),
  ``alpha == beta`` (``z = 0``), integer ``r + x`` and ``z`` within ``1e-6`` of 1;
* 30-digit mpmath: ``mpmath.diff`` of ``mpmath.hyp2f1(1, b, c, z)`` for
  ``hyp2f1_a1_with_grad`` (series and Euler-integral branches, ``z`` up to ``1 - 1e-9``,
  integer and near-integer ``c - 1 - b``).

References
----------
Fader, P. S. & Hardie, B. G. S. (2005), "A Note on Deriving the Pareto/NBD Model and Related
Expressions" (note 009); Abramowitz & Stegun (1964), 15.1.1 and 15.3.1.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from crmcore.datasets import load_cdnow_summary
from crmcore.value import simulate_pareto_nbd
from crmcore.value._special import hyp2f1_a1_core, hyp2f1_a1_with_grad
from crmcore.value.btyd._pareto_kernels import (
    _pareto_neg_ll_and_grad_fd,
    pareto_neg_ll_and_grad,
    unique_pairs,
)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# (r, alpha, s, beta): the CDNOW optimum (Fader, Hardie & Lee 2005), alpha == beta (z = 0
# everywhere), alpha < beta and alpha > beta with integer r (integer r + x, integer c - 1 - b
# in the alpha >= beta branch), z near 1 on both branches (1 - z = 2e-6, 5e-6 and
# 1 - 1e-9 at u = 0 and alpha, beta 1e-9 apart.
POINTS = [
    (0.55328, 10.5776, 0.60621, 11.6679),
    (0.5, 8.0, 0.6, 8.0),
    (2.0, 3.0, 1.5, 30.0),
    (1.0, 30.0, 0.5, 2.0),
    (0.5, 1e-4, 0.6, 50.0),
    (0.5, 5e-8, 0.6, 50.0),
    (3.0, 200.0, 0.2, 1e-3),
    (1.0, 5.0, 2.0, 5.0 + 1e-9),
]


def _cdnow() -> Arrays:
    d = load_cdnow_summary()
    x, t_x, T = (d[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return x, t_x, T, np.ones_like(x)


def _simulated() -> Arrays:
    rng = np.random.default_rng(7)
    ages = rng.uniform(0.5, 78.0, 4000)
    sim = simulate_pareto_nbd(r=0.55, alpha=10.58, s=0.61, beta=11.67, T=ages, random_state=3)
    x, t_x, T = (np.array(sim[c], dtype=float) for c in ("frequency", "recency", "T"))
    # customers whose last purchase is at T (no dead term) and uneven weights
    t_x[:50] = T[:50]
    x[:50] = np.maximum(x[:50], 1.0)
    return x, t_x, T, rng.integers(1, 5, x.size).astype(float)


DATA = {"cdnow": _cdnow, "simulated": _simulated}


@pytest.mark.parametrize("point", POINTS, ids=[str(p) for p in POINTS])
@pytest.mark.parametrize("name", list(DATA))
def test_gradient_equals_finite_difference(name: str, point: tuple[float, ...]) -> None:
    x, t_x, T, w = DATA[name]()
    lp = np.log(point)
    value, grad = pareto_neg_ll_and_grad(lp, x, t_x, T, w)
    value_fd, grad_fd = _pareto_neg_ll_and_grad_fd(lp, x, t_x, T, w)
    assert value == pytest.approx(value_fd, rel=1e-13)
    # the central difference (step 1e-5) carries rounding ~1e-16 |LL| / 1e-5 = 1e-11 |LL|
    # and truncation ~1e-10 |LL|: absolute slack 1e-9 |LL| for components near zero (at
    # the optimum), 1e-6 relative everywhere else
    np.testing.assert_allclose(grad, grad_fd, rtol=1e-6, atol=1e-9 * abs(value_fd))


def test_precomputed_pairs_give_the_same_result() -> None:
    x, t_x, T, w = _simulated()
    lp = np.log(POINTS[2])
    plain = pareto_neg_ll_and_grad(lp, x, t_x, T, w)
    shared = pareto_neg_ll_and_grad(lp, x, t_x, T, w, unique_pairs(x, t_x, T))
    assert plain[0] == shared[0]
    np.testing.assert_array_equal(plain[1], shared[1])


def test_gradient_of_one_customer_against_mpmath() -> None:
    """One customer, in 30 digits: mpmath.diff of note 009 eq. 18 written with mpmath.quad."""
    r, alpha, s, beta = 0.7, 4.0, 0.9, 15.0
    x, t_x, T = 3.0, 12.5, 30.0

    def log_lik(lr: mp.mpf, la: mp.mpf, ls: mp.mpf, lb: mp.mpf) -> mp.mpf:
        r_, a_, s_, b_ = mp.exp(lr), mp.exp(la), mp.exp(ls), mp.exp(lb)
        integral = mp.quad(lambda u: (a_ + u) ** -(r_ + x) * (b_ + u) ** -(s_ + 1), [t_x, T])
        pre = mp.loggamma(r_ + x) - mp.loggamma(r_) + r_ * mp.log(a_) + s_ * mp.log(b_)
        alive = (a_ + T) ** -(r_ + x) * (b_ + T) ** -s_
        return pre + mp.log(alive + s_ * integral)

    with mp.workdps(30):  # local precision: other test modules set their own
        lp = [mp.log(mp.mpf(v)) for v in (r, alpha, s, beta)]
        expected = []
        for k in range(4):
            order = tuple(1 if j == k else 0 for j in range(4))
            expected.append(-float(mp.diff(log_lik, lp, order)))
        expected_value = -float(log_lik(*lp))
    one = np.ones(1)
    value, grad = pareto_neg_ll_and_grad(
        np.log([r, alpha, s, beta]), x * one, t_x * one, T * one, one
    )
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=1e-9)


# c - 1 - b = m: integer (0, 1, 7), near-integer (-1e-9) and general; b from 0.05 to 150
# (c = 0.1 <= 1 takes the shifted quadrature); z from 0 to 1 - 1e-9 (series, long series,
# trapezoidal rule on Euler's integral)
_ZETAS = (1.0, 0.7, 0.15, 0.05, 1e-3, 1e-6, 1e-9)  # 1 - z, exact
_GRID = [
    (b, b + 1.0 + m, zeta)
    for b in (0.05, 0.6, 1.0, 3.0, 10.55, 150.0)
    for m in (-0.95, -1e-9, 0.0, 0.39, 1.0, 7.0)
    for zeta in _ZETAS
]


def _mp_value_and_grad(b: float, c: float, zeta: float) -> list[float]:
    B, C, Z = mp.mpf(b), mp.mpf(c), 1 - mp.mpf(zeta)

    def f(bb: mp.mpf, cc: mp.mpf, zz: mp.mpf) -> mp.mpf:
        return mp.hyp2f1(1, bb, cc, zz)

    return [
        float(f(B, C, Z)),
        float(mp.diff(lambda t: f(t, C, Z), B)),
        float(mp.diff(lambda t: f(B, t, Z), C)),
        float(mp.diff(lambda t: f(B, C, t), Z)),
    ]


def test_hyp2f1_derivatives_against_mpmath() -> None:
    b = np.array([g[0] for g in _GRID])
    c = np.array([g[1] for g in _GRID])
    zeta = np.array([g[2] for g in _GRID])
    z = 1.0 - zeta
    got = np.stack(hyp2f1_a1_with_grad(b, c, z, zeta))
    with mp.workdps(30):
        expected = np.array([_mp_value_and_grad(*g) for g in _GRID]).T
    # the inputs are the float64 numbers b, c, 1 - zeta; zeta itself is exact
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    # and the value is that of the package's 2F1 routine
    np.testing.assert_allclose(got[0], hyp2f1_a1_core(b, c, z, zeta), rtol=1e-14, atol=0)


def test_hyp2f1_z_derivative_closed_form_at_zero() -> None:
    """``d/dz 2F1(1, b; c; z) = b/c`` at ``z = 0`` (first series term), b, c derivatives 0."""
    b = np.array([0.3, 2.0, 40.0])
    c = b + np.array([0.5, 1.0, 3.7])
    g, gb, gc, gz = hyp2f1_a1_with_grad(b, c, np.zeros(3), np.ones(3))
    np.testing.assert_array_equal(g, 1.0)
    np.testing.assert_array_equal(gb, 0.0)
    np.testing.assert_array_equal(gc, 0.0)
    np.testing.assert_allclose(gz, b / c, rtol=1e-15)
