"""Pure ndarray kernels of the BG/BB model (no pandas).

Beta-geometric/beta-binomial model for discrete transaction opportunities (Fader, Hardie &
Shang 2010). A customer alive at an opportunity buys with probability ``p ~ Beta(alpha,
beta)``; at the start of each opportunity a living customer dies with probability
``theta ~ Beta(gamma, delta)``. Data per customer: ``x`` transactions in ``n``
opportunities, the last one at opportunity ``t_x`` (``t_x = 0`` when ``x = 0``).

Likelihood (FHS 2010, eq. 5)::

    L = B(alpha+x, beta+n-x)/B(alpha,beta) * B(gamma, delta+n)/B(gamma,delta)
        + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha,beta)
                              * B(gamma+1, delta+t_x+i)/B(gamma,delta)

Every term is a product of beta functions, so ``log L`` is a log-sum-exp of sums of
``betaln`` and its gradient is exact: ``d/da log B(a, b) = psi(a) - psi(a+b)``. The sum is
accumulated in blocks of opportunities with a running maximum, so ``n`` in the tens of
thousands neither overflows nor needs an ``(rows x n)`` array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, gammaln

Array = npt.NDArray[np.float64]
ArrayLike = Any

__all__ = [
    "bgbb_conditional_expected",
    "bgbb_expected_new",
    "bgbb_log_likelihood",
    "bgbb_log_likelihood_and_grad",
    "bgbb_neg_ll_and_grad",
    "bgbb_population_pmf",
    "bgbb_probability_alive",
]

_BLOCK = 256


def _f(value: ArrayLike) -> Array:
    return np.asarray(value, dtype=np.float64)


def _dbeta(a: Array, b: Array) -> tuple[Array, Array]:
    """Partial derivatives of ``log B(a, b)``."""
    ab = digamma(a + b)
    return digamma(a) - ab, digamma(b) - ab


def bgbb_log_likelihood_and_grad(
    alpha: float, beta: float, gamma: float, delta: float, x: Array, t_x: Array, n: Array
) -> tuple[Array, Array]:
    """Per-customer log-likelihood and its gradient in (alpha, beta, gamma, delta).

    Returns ``(ll, grad)`` with ``ll`` of shape ``(rows,)`` and ``grad`` of shape
    ``(rows, 4)`` (derivatives with respect to the parameters, not their logs).
    """
    x_, tx_, n_ = _f(x), _f(t_x), _f(n)
    base = -betaln(alpha, beta) - betaln(gamma, delta)
    da0, db0 = _dbeta(np.float64(alpha), np.float64(beta))
    dg0, dd0 = _dbeta(np.float64(gamma), np.float64(delta))
    const_grad = -np.array([da0, db0, dg0, dd0])

    # term A (alive through all n opportunities)
    a1, b1 = alpha + x_, beta + n_ - x_
    c1, d1 = gamma + 0.0 * x_, delta + n_
    log_top = betaln(a1, b1) + betaln(c1, d1)
    ga, gb = _dbeta(a1, b1)
    gc, gd = _dbeta(c1, d1)
    acc = np.ones_like(x_)  # sum of exp(term - top)
    gacc = np.stack([ga, gb, gc, gd], axis=1)  # sum of exp(term - top) * dterm

    span = n_ - tx_  # number of "died after t_x" terms
    max_span = int(np.max(span)) if span.size else 0
    for start in range(0, max_span, _BLOCK):
        i = np.arange(start, min(start + _BLOCK, max_span), dtype=np.float64)[None, :]
        active = i < span[:, None]
        if not active.any():
            break
        a = (alpha + x_)[:, None] + 0.0 * i
        b = (beta + tx_ - x_)[:, None] + i
        c = gamma + 1.0 + 0.0 * a
        d = (delta + tx_)[:, None] + i
        lt = np.where(active, betaln(a, b) + betaln(c, d), -np.inf)
        block_top = np.max(lt, axis=1)
        new_top = np.maximum(log_top, block_top)
        scale_old = np.exp(log_top - new_top)
        wts = np.exp(lt - new_top[:, None])  # zero where inactive
        ta, tb = _dbeta(a, b)
        tc, td = _dbeta(c, d)
        acc = acc * scale_old + wts.sum(axis=1)
        gblock = np.stack(
            [
                np.sum(wts * ta, axis=1),
                np.sum(wts * tb, axis=1),
                np.sum(wts * tc, axis=1),
                np.sum(wts * td, axis=1),
            ],
            axis=1,
        )
        gacc = gacc * scale_old[:, None] + gblock
        log_top = new_top
    ll = base + log_top + np.log(acc)
    grad = gacc / acc[:, None] + const_grad[None, :]
    return np.asarray(ll, dtype=np.float64), np.asarray(grad, dtype=np.float64)


def bgbb_log_likelihood(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
) -> Array:
    """Per-customer BG/BB log-likelihood (Fader, Hardie & Shang 2010, eq. 5).

    Examples
    --------
    One opportunity, no purchase: ``L = E[(1-theta)(1-p)] + E[theta]``.

    >>> a, b, g, d = 1.2, 0.75, 0.66, 2.78
    >>> hand = (1 - g / (g + d)) * (b / (a + b)) + g / (g + d)
    >>> bool(np.isclose(np.exp(bgbb_log_likelihood(a, b, g, d, [0], [0], [1]))[0], hand))
    True
    """
    ll, _ = bgbb_log_likelihood_and_grad(
        alpha,
        beta,
        gamma,
        delta,
        np.atleast_1d(_f(x)),
        np.atleast_1d(_f(t_x)),
        np.atleast_1d(_f(n)),
    )
    return ll


def bgbb_neg_ll_and_grad(
    log_params: Array, x: Array, t_x: Array, n: Array, w: Array
) -> tuple[float, Array]:
    """Weighted negative log-likelihood and its exact gradient in log-parameters."""
    p = np.exp(np.asarray(log_params, dtype=np.float64))
    ll, grad = bgbb_log_likelihood_and_grad(p[0], p[1], p[2], p[3], x, t_x, n)
    value = -float(np.sum(w * ll))
    g = -(w[:, None] * grad).sum(axis=0) * p
    return value, np.asarray(g, dtype=np.float64)


def bgbb_probability_alive(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
    future_t: ArrayLike = 0,
) -> Array:
    """P(alive at opportunity ``n + future_t`` | x, t_x, n) (FHS 2010, eq. 11 / A10).

    ``B(alpha+x, beta+n-x)/B(alpha,beta) * B(gamma, delta+n+m)/B(gamma,delta) / L``;
    ``future_t = 1`` is the paper's "alive at the next opportunity".
    """
    x_, tx_, n_, m_ = (np.atleast_1d(_f(v)) for v in (x, t_x, n, future_t))
    ll = bgbb_log_likelihood(alpha, beta, gamma, delta, x_, tx_, n_)
    log_p = (
        betaln(alpha + x_, beta + n_ - x_)
        - betaln(alpha, beta)
        + betaln(gamma, delta + n_ + m_)
        - betaln(gamma, delta)
        - ll
    )
    return np.asarray(np.clip(np.exp(log_p), 0.0, 1.0), dtype=np.float64)


def _gamma_ratio_diff(gamma: float, delta: float, n0: Array, n1: Array) -> Array:
    """``delta/(gamma-1) Gamma(gamma+delta)/Gamma(1+delta)`` times
    ``[Gamma(1+delta+n0)/Gamma(gamma+delta+n0) - Gamma(1+delta+n1)/Gamma(gamma+delta+n1)]``.

    This is ``sum_{j=n0+1}^{n1} P(alive at j | alive at 0)``-style survival sum of FHS eq. 8
    and 13; near ``gamma = 1`` the expression is evaluated at ``gamma = 1 +- 1e-7`` and
    averaged (the function is smooth in ``gamma``).
    """

    def raw(g: float) -> Array:
        lead = np.log(delta) + gammaln(g + delta) - gammaln(1.0 + delta)
        e0 = gammaln(1.0 + delta + n0) - gammaln(g + delta + n0)
        e1 = gammaln(1.0 + delta + n1) - gammaln(g + delta + n1)
        return np.asarray(np.exp(lead) * (np.exp(e0) - np.exp(e1)) / (g - 1.0), dtype=np.float64)

    if abs(gamma - 1.0) < 1e-7:
        return np.asarray(0.5 * (raw(1.0 + 1e-7) + raw(1.0 - 1e-7)), dtype=np.float64)
    return raw(gamma)


def bgbb_expected_new(alpha: float, beta: float, gamma: float, delta: float, n: ArrayLike) -> Array:
    """E[X(n)] for a new customer over ``n`` opportunities (FHS 2010, eq. 8).

    ``alpha/(alpha+beta) * delta/(gamma-1) * [1 - Gamma(gamma+delta) Gamma(1+delta+n) /
    (Gamma(gamma+delta+n) Gamma(1+delta))]``.

    Examples
    --------
    One opportunity: ``E[X(1)] = E[p] E[1-theta]``.

    >>> a, b, g, d = 1.2, 0.75, 0.66, 2.78
    >>> bool(np.isclose(bgbb_expected_new(a, b, g, d, 1)[0], a / (a + b) * d / (g + d)))
    True
    """
    n_ = np.atleast_1d(_f(n))
    out = alpha / (alpha + beta) * _gamma_ratio_diff(gamma, delta, np.zeros_like(n_), n_)
    return np.asarray(out, dtype=np.float64)


def bgbb_conditional_expected(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    x: ArrayLike,
    t_x: ArrayLike,
    n: ArrayLike,
    m: ArrayLike,
) -> Array:
    """E[X(n, n+m) | x, t_x, n] over the next ``m`` opportunities (FHS 2010, eq. 13)."""
    x_, tx_, n_, m_ = (np.atleast_1d(_f(v)) for v in (x, t_x, n, m))
    ll = bgbb_log_likelihood(alpha, beta, gamma, delta, x_, tx_, n_)
    log_p = betaln(alpha + x_ + 1.0, beta + n_ - x_) - betaln(alpha, beta) - ll
    surv = _gamma_ratio_diff(gamma, delta, n_, n_ + m_)
    return np.asarray(np.exp(log_p) * surv, dtype=np.float64)


def bgbb_population_pmf(
    alpha: float, beta: float, gamma: float, delta: float, k: ArrayLike, n: ArrayLike
) -> Array:
    """P(X(n) = k) for a new customer over ``n`` opportunities (FHS 2010, eq. 7).

    ``C(n,k) B(alpha+k, beta+n-k)/B(alpha,beta) B(gamma,delta+n)/B(gamma,delta)
    + sum_{i=k}^{n-1} C(i,k) B(alpha+k, beta+i-k)/B(alpha,beta) B(gamma+1,delta+i)/B(gamma,
    delta)``, evaluated in logarithms. ``k`` and ``n`` broadcast (integers, ``0 <= k``).

    Examples
    --------
    >>> p = bgbb_population_pmf(1.204, 0.750, 0.657, 2.783, np.arange(7), 6)
    >>> round(float(p.sum()), 10)
    1.0
    """
    k_, n_ = np.broadcast_arrays(_f(k), _f(n))
    k_ = np.asarray(k_, dtype=np.float64)
    n_ = np.asarray(n_, dtype=np.float64)
    shape = k_.shape
    kf, nf = k_.ravel(), n_.ravel()
    base = -betaln(alpha, beta) - betaln(gamma, delta)

    def log_comb(top: Array, bot: Array) -> Array:
        return np.asarray(gammaln(top + 1.0) - gammaln(bot + 1.0) - gammaln(top - bot + 1.0))

    with np.errstate(invalid="ignore"):
        first = (
            log_comb(nf, kf) + betaln(alpha + kf, beta + nf - kf) + betaln(gamma, delta + nf) + base
        )
    first = np.where(kf <= nf, first, -np.inf)
    total = np.exp(first)
    max_n = int(np.max(nf)) if nf.size else 0
    for start in range(0, max_n, _BLOCK):
        i = np.arange(start, min(start + _BLOCK, max_n), dtype=np.float64)[None, :]
        active = (i >= kf[:, None]) & (i < nf[:, None])
        if not active.any():
            continue
        with np.errstate(invalid="ignore"):
            lt = (
                log_comb(i + 0.0 * kf[:, None], kf[:, None] + 0.0 * i)
                + betaln(alpha + kf[:, None], beta + i - kf[:, None])
                + betaln(gamma + 1.0, delta + i)
                + base
            )
        total = total + np.sum(np.where(active, np.exp(lt), 0.0), axis=1)
    return np.asarray(np.clip(total, 0.0, 1.0).reshape(shape), dtype=np.float64)
