"""The one Gauss hypergeometric routine against 50-digit mpmath (issue 8, item 9).

References
----------
Abramowitz & Stegun (1964), 15.1.1 (series), 15.3.1 (Euler's integral).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "A Note on Deriving the Pareto/NBD
Model and Related Expressions" (P(alive) and E[X(t) | x, t_x, T]); Schmittlein, Morrison
& Colombo (1987). The Pareto/NBD references below are written here in mpmath from those
closed forms (the integral I is also checked by mpmath quadrature, independently of 2F1).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from crmcore.value._special import hyp2f1_a1, hyp2f1_pos
from crmcore.value.btyd._pareto_kernels import pareto_conditional_expected, pareto_probability_alive
from crmcore.value.retention._contractual_value import hyp2f1_one


@pytest.fixture(autouse=True)
def _fifty_digits():
    """50-digit references, set per test (other modules set their own precision)."""
    with mp.workdps(50):
        yield


def _mp_series(b: float, c: float, z: float) -> mp.mpf:
    """sum_k (b)_k/(c)_k z^k in 50 digits (for z <= 0.99, where it converges quickly)."""
    b_, c_, z_ = mp.mpf(b), mp.mpf(c), mp.mpf(z)
    term = total = mp.mpf(1)
    k = 0
    while term > total * mp.mpf(10) ** -45:
        term *= z_ * (b_ + k) / (c_ + k)
        total += term
        k += 1
    return total


def _mp_ref(b: float, c: float, z: float) -> mp.mpf:
    if z <= 0.99:
        return _mp_series(b, c, z)
    return mp.hyp2f1(1, mp.mpf(b), mp.mpf(c), mp.mpf(z))


# c - a - b = c - 1 - b = m: integer (0, 1, 2, 7), near-integer (+-1e-9, 1 + 1e-8) and general
_MS = (-0.95, -0.5, -1e-9, 0.0, 1e-9, 0.39, 1.0, 1.0 + 1e-8, 2.0, 7.0)
_ZS = (0.0, 0.3, 0.85, 0.95, 0.999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12)
_GRID = [
    (b, b + 1.0 + m, z)
    for b in (0.05, 0.55, 1.0, 1.61, 3.0, 10.55, 150.0)
    for m in _MS
    for z in _ZS
]
# large b (contractual beta of 1e5 and more): the series reference needs z <= 0.99
_GRID += [
    (b, b + 1.0 + m, z)
    for b in (1e5, 1e6)
    for m in (-0.5, 0.0, 0.61, 1.0)
    for z in (0.5, 0.9, 0.99)
]


def test_hyp2f1_a1_matches_50_digit_mpmath_on_the_grid() -> None:
    b, c, z = (np.array(v) for v in zip(*_GRID, strict=True))
    got = hyp2f1_a1(b, c, z)
    want = np.array([float(_mp_ref(*row)) for row in _GRID])
    rel = np.abs(got / want - 1.0)
    worst = int(np.argmax(rel))
    assert rel.max() < 1e-12, f"worst at (b, c, z) = {_GRID[worst]}: rel {rel.max():.2e}"


def test_hyp2f1_a1_uses_an_exact_one_minus_z_near_one() -> None:
    # z = 1 - 1e-13 is not a float; with 1 - z passed exactly the value is exact too.
    zeta = 1e-13
    b, c = 0.61 + 1.0, 0.55 + 0.61 + 1.0  # c - 1 - b = r - 1 < 0: value ~ zeta^(r-1)
    got = float(hyp2f1_a1(b, c, 1.0 - zeta, one_minus_z=zeta)[()])
    want = mp.hyp2f1(1, mp.mpf(b), mp.mpf(c), 1 - mp.mpf(zeta))
    assert got == pytest.approx(float(want), rel=1e-12)


def test_hyp2f1_a1_maps_negative_z_by_pfaff() -> None:
    for b, c, z in ((1.61, 3.16, -0.5), (3.0, 6.0, -10.0), (150.0, 151.0, -1e6)):
        want = mp.hyp2f1(1, mp.mpf(b), mp.mpf(c), mp.mpf(z))
        assert float(hyp2f1_a1(b, c, z)[()]) == pytest.approx(float(want), rel=1e-12)


def test_hyp2f1_a1_returns_nan_outside_its_domain() -> None:
    got = hyp2f1_a1([2.0, 0.0, 1.0, 1.0], [1.0, 1.0, 2.0, 2.0], [0.5, 0.5, 1.0, np.nan])
    assert np.isnan(got).all()


@pytest.mark.parametrize(
    ("a", "b", "c", "z"),
    [
        (1.16, 50.55, 52.16, 0.09),
        (101.16, 200.55, 202.16, 0.09),
        (2.5, 1.61, 4.11, 1 - 1e-12),  # c - a - b = 0
        (0.3, 20.0, 21.3, 0.999),  # c - a - b = 1
        (10.0, 0.55, 12.0, 0.9),
    ],
)
def test_hyp2f1_pos_matches_mpmath(a: float, b: float, c: float, z: float) -> None:
    want = mp.hyp2f1(mp.mpf(a), mp.mpf(b), mp.mpf(c), mp.mpf(z))
    assert float(hyp2f1_pos(a, b, c, z)[()]) == pytest.approx(float(want), rel=1e-12)


def test_contractual_hyp2f1_one_is_the_shared_routine_for_a_huge_beta() -> None:
    b, c, z = 1e5, 1e5 + 0.5, 0.97
    assert hyp2f1_one(b, c, z) == pytest.approx(float(_mp_series(b, c, z)), rel=1e-13)


# --- Pareto/NBD at integer s with z near 1 -------------------------------------------------


def _mp_palive(r: float, alpha: float, s: float, beta: float, x: float, t_x: float, T: float):
    """P(alive | x, t_x, T) from FHL (2005) note: 1 / (1 + s/(r+s+x) (a+T)^(r+x) (b+T)^s A_0).

    ``A_0 = F(t_x) - F(T)``, ``F(u) = 2F1(r+s+x, s+1; r+s+x+1; (a-b)/(a+u)) / (a+u)^(r+s+x)``
    when alpha >= beta, else ``2F1(r+s+x, r+x; r+s+x+1; (b-a)/(b+u)) / (b+u)^(r+s+x)``.
    The identity ``A_0 / (r+s+x) = int_{t_x}^T (a+u)^-(r+x) (b+u)^-(s+1) du`` is checked
    by quadrature, which does not use 2F1 at all.
    """
    r, alpha, s, beta, x, t_x, T = (mp.mpf(v) for v in (r, alpha, s, beta, x, t_x, T))
    n = r + s + x

    def f(u: mp.mpf) -> mp.mpf:
        if alpha >= beta:
            return mp.hyp2f1(n, s + 1, n + 1, (alpha - beta) / (alpha + u)) / (alpha + u) ** n
        return mp.hyp2f1(n, r + x, n + 1, (beta - alpha) / (beta + u)) / (beta + u) ** n

    a0 = f(t_x) - f(T)
    # scaled to O(1): mpmath's quad stops on an absolute error estimate
    scale = (alpha + t_x) ** (r + x) * (beta + t_x) ** (s + 1)
    integral = mp.quad(
        lambda u: scale * (alpha + u) ** -(r + x) * (beta + u) ** -(s + 1),
        [t_x, T],
        method="gauss-legendre",
    )
    assert abs(a0 * scale / n / integral - 1) < mp.mpf(10) ** -20
    return 1 / (1 + s / n * (alpha + T) ** (r + x) * (beta + T) ** s * a0)


def _mp_expected(r, alpha, s, beta, x, t_x, T, t):
    """E[X(T, T+t) | x, t_x, T] = P(alive) (r+x)(b+T) / ((a+T)(s-1)) [1 - ((b+T)/(b+T+t))^(s-1)]."""
    p = _mp_palive(r, alpha, s, beta, x, t_x, T)
    r, alpha, s, beta, x, T, t = (mp.mpf(v) for v in (r, alpha, s, beta, x, T, t))
    if s == 1:
        tail = (beta + T) * mp.log(1 + t / (beta + T))
    else:
        tail = (beta + T) / (s - 1) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
    return p * (r + x) / (alpha + T) * tail


# (r, alpha, s, beta): integer s, so c - a - b of the note's 2F1 is an integer, and the
# parameters put z = |alpha - beta| / (max + u) within about 1e-12 of 1 at u = 0.
_PARETO = [
    (0.7, 2.0, 1.0, 2e12),  # alpha < beta, s = 1
    (0.55, 3.0, 2.0, 3e12),  # alpha < beta, s = 2
    (0.5, 3e12, 2.0, 3.0),  # alpha >= beta, s = 2
    (1.0, 5e11, 1.0, 0.5),  # alpha >= beta, r = s = 1: every 2F1 parameter an integer
]
_CUSTOMERS = [(0.0, 0.0, 40.0), (2.0, 1e-3, 40.0), (1.0, 30.0, 39.0), (15.0, 38.5, 40.0)]


@pytest.mark.parametrize("params", _PARETO)
def test_pareto_palive_and_expected_purchases_at_integer_s_near_z_one_equal_mpmath(params):
    x, t_x, T = (np.array(v) for v in zip(*_CUSTOMERS, strict=True))
    p = pareto_probability_alive(*params, x, t_x, T)
    e = pareto_conditional_expected(*params, x, t_x, T, 52.0)
    p_ref = np.array([float(_mp_palive(*params, *row)) for row in _CUSTOMERS])
    e_ref = np.array([float(_mp_expected(*params, *row, 52.0)) for row in _CUSTOMERS])
    np.testing.assert_allclose(p, p_ref, rtol=1e-8, atol=0)
    np.testing.assert_allclose(e, e_ref, rtol=1e-8, atol=0)


def test_pareto_palive_on_many_customers_with_a_shared_T_uses_the_table_exactly() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, 10_000).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 39, x.size), 0.0)
    T = np.full(x.size, 39.0)
    params = (0.55, 10.58, 0.61, 11.67)
    fast = pareto_probability_alive(*params, x, t_x, T)
    direct = np.concatenate(
        [
            pareto_probability_alive(*params, x[i : i + 100], t_x[i : i + 100], T[i : i + 100])
            for i in range(0, x.size, 100)
        ]
    )
    np.testing.assert_array_equal(fast, direct)
    idx = [0, 1, 2, 3]
    ref = np.array([float(_mp_palive(*params, x[i], t_x[i], T[i])) for i in idx])
    np.testing.assert_allclose(fast[idx], ref, rtol=1e-12, atol=0)
