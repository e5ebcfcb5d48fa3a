"""Pure ndarray kernels of the Pareto/NBD model (no pandas).

Every function broadcasts NumPy-style over its arguments, so a parameter can be a
column vector ``(k, 1)`` to evaluate ``k`` parameter sets against ``n`` customers at once
(this is how the finite-difference gradient is vectorised).

Notation (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note 009):
``x`` repeat transactions, ``t_x`` time of the last one, ``T`` time observed, all measured
from the first purchase; transaction rate ``lambda ~ Gamma(r, alpha)``, dropout rate
``mu ~ Gamma(s, beta)``.

Overflow-safe likelihood
------------------------
The likelihood is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s  +  s * I(t_x, T) ],
    I(t_x, T) = int_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du = A_0 / (r+s+x),

where ``A_0`` is the difference of two Gauss hypergeometric terms of note 009 (eqs. 19-20,
with the ``alpha >= beta`` and ``alpha < beta`` cases). Applying Euler's transformation
``2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z)`` to those terms gives

    alpha >= beta:  F(u) = (alpha+u)^-(r+x)   (beta+u)^-s     * 2F1(1, r+x; r+s+x+1; z_u)
    alpha <  beta:  F(u) = (alpha+u)^(1-r-x)  (beta+u)^-(s+1) * 2F1(1, s+1; r+s+x+1; z_u)

with ``z_u = |alpha-beta| / (max(alpha,beta)+u)`` in ``[0, 1)`` and ``A_0 = F(t_x) - F(T)``.
The remaining ``2F1(1, b; c; z)`` with ``c > b > 0`` is the mean of ``1/(1 - zU)`` for
``U ~ Beta(b, c-b)``: it lies in ``[1, 1/(1-z)]`` and never overflows, whatever ``x`` and
``T``. It is evaluated by the package's one hypergeometric routine,
:func:`crmcore.value._special.hyp2f1_a1` (relative error below ``1e-13`` for every ``z``
up to ``1 - 1e-12`` and integer or near-integer ``c - a - b``), with ``1 - z_u`` passed as
``(min(alpha,beta)+u)/(max(alpha,beta)+u)`` so that it keeps full precision near 1.
P(alive) needs neither the gamma-function prefactor nor a power of ``alpha+T``: it is
``1/(1+R)`` with ``R`` of :func:`_log_dead_to_alive`. Everything else is carried in
logarithms and combined with log-sum-exp (``log A_0 = log F(t_x) + log1p(-F(T)/F(t_x))``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyperu

from crmcore.value._special import hyp2f1_a1_core, hyp2f1_a1_with_grad, hyp2f1_pos

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ArrayLike = Any

__all__ = [
    "pareto_conditional_expected",
    "pareto_conditional_pmf",
    "pareto_dert",
    "pareto_expected_new",
    "pareto_log_integral",
    "pareto_log_likelihood",
    "pareto_neg_ll_and_grad",
    "pareto_population_pmf",
    "pareto_probability_alive",
    "unique_pairs",
]


def _f(value: ArrayLike) -> Array:
    return np.asarray(value, dtype=np.float64)


def _log_h_term(r: Array, alpha: Array, s: Array, beta: Array, x: Array, u: Array) -> Array:
    """``log H(u)`` with ``F(u) = (alpha+u)^-(r+x) (beta+u)^-s H(u)`` (module docstring).

    ``H = 2F1(1, r+x; r+s+x+1; z_u)`` when ``alpha >= beta`` and
    ``(1 - z_u) 2F1(1, s+1; r+s+x+1; z_u)`` otherwise, ``z_u = |alpha-beta|/(max+u)``.
    """
    a_ge_b = alpha >= beta
    top = np.maximum(alpha, beta) + u
    z = np.abs(alpha - beta) / top
    one_minus_z = (np.minimum(alpha, beta) + u) / top  # exact near z = 1, unlike 1 - z
    c = x + (r + s + 1.0)
    if np.ndim(a_ge_b) == 0:  # one parameter set: no per-entry branch
        b = r + x if bool(a_ge_b) else s + 1.0
    else:
        b = np.where(a_ge_b, r + x, s + 1.0)
    b, c, z, one_minus_z = np.broadcast_arrays(b, c, z, one_minus_z)
    g = hyp2f1_a1_core(b.ravel(), c.ravel(), z.ravel(), one_minus_z.ravel()).reshape(z.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.ndim(a_ge_b) == 0:
            h = g if bool(a_ge_b) else np.multiply(g, one_minus_z, out=g)
            return np.asarray(np.log(h, out=h), dtype=np.float64)
        return np.asarray(np.log(np.where(a_ge_b, g, one_minus_z * g)), dtype=np.float64)


_TABLE_MIN_ROWS = 4096
_TABLE_MAX_X = 100_000


def _log_h_rows(r: Array, alpha: Array, s: Array, beta: Array, x: Array, u: Array) -> Array:
    """:func:`_log_h_term` for one parameter set over many customers, sharing work.

    ``H`` depends on the customer only through ``(x, u)``. When every customer has the
    same ``u`` (a common ``T``: one observation window) and integer ``x``, ``H`` comes from
    a table indexed by ``x`` (the same values as :func:`_log_h_term`, bit for bit).
    Splitting a partly shared ``u`` was measured slower than the direct evaluation
    (boolean gathers cost more than the series they save), so it is not done.
    """
    n = x.shape[0] if x.ndim == 1 else 0
    if (
        n < _TABLE_MIN_ROWS
        or u.shape != x.shape
        or any(np.ndim(p) != 0 for p in (r, alpha, s, beta))
    ):
        return _log_h_term(r, alpha, s, beta, x, u)
    u0 = float(u[0])
    if not (u.min() == u0 == u.max()):
        return _log_h_term(r, alpha, s, beta, x, u)
    xi = x.astype(np.int64)
    if not (np.array_equal(xi, x) and xi.min() >= 0 and xi.max() <= _TABLE_MAX_X):
        return _log_h_term(r, alpha, s, beta, x, u)
    grid = np.arange(int(xi.max()) + 1, dtype=np.float64)
    table = _log_h_term(r, alpha, s, beta, grid, np.full_like(grid, u0))
    return np.asarray(table[xi], dtype=np.float64)


def _log_f_term(r: Array, alpha: Array, s: Array, beta: Array, x: Array, u: Array) -> Array:
    """log F(u) of the module docstring (Euler-transformed 2F1 term)."""
    log_h = _log_h_term(r, alpha, s, beta, x, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        lead = -(r + x) * np.log(alpha + u) - s * np.log(beta + u)
    return np.asarray(lead + log_h, dtype=np.float64)


def pareto_log_integral(
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> Array:
    """Return ``log I(t_x, T)``, ``-inf`` where ``t_x == T``.

    ``I(t_x, T) = int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du``.

    Examples
    --------
    >>> from scipy.integrate import quad
    >>> exact = quad(lambda u: (2.0 + u) ** -3.5 * (5.0 + u) ** -1.6, 1.0, 4.0)[0]
    >>> val = pareto_log_integral(0.5, 2.0, 0.6, 5.0, 3, 1.0, 4.0)
    >>> bool(np.isclose(np.exp(val), exact, rtol=1e-10))
    True
    """
    r_, a_, s_, b_, x_, tx_, T_ = (_f(v) for v in (r, alpha, s, beta, x, t_x, T))
    log_f_tx = _log_f_term(r_, a_, s_, b_, x_, tx_)
    log_f_T = _log_f_term(r_, a_, s_, b_, x_, T_)
    ratio = np.minimum(np.exp(log_f_T - log_f_tx), 1.0)
    with np.errstate(divide="ignore"):
        log_a0 = log_f_tx + np.log1p(-ratio)
    log_a0 = np.where(tx_ >= T_, -np.inf, log_a0)
    return np.asarray(log_a0 - np.log(r_ + s_ + x_), dtype=np.float64)


def _parts(
    r: Array, alpha: Array, s: Array, beta: Array, x: Array, t_x: Array, T: Array
) -> tuple[Array, Array, Array]:
    """Return (log prefactor, log alive term, log s*I term)."""
    log_pre = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_dead = np.log(s) + pareto_log_integral(r, alpha, s, beta, x, t_x, T)
    return log_pre, log_alive, log_dead


def pareto_log_likelihood(
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> Array:
    """Per-customer Pareto/NBD log-likelihood (Fader & Hardie 2005, note 009, eq. 18).

    Examples
    --------
    A customer with no repeat purchase: ``L = (alpha/(alpha+T))^r (beta/(beta+T))^s
    + s int_0^T ...``; at ``T -> 0`` the likelihood tends to 1.

    >>> round(float(pareto_log_likelihood(0.55, 10.58, 0.61, 11.67, 0, 0.0, 1e-12)), 9)
    -0.0
    """
    r_, a_, s_, b_, x_, tx_, T_ = (_f(v) for v in (r, alpha, s, beta, x, t_x, T))
    log_pre, log_alive, log_dead = _parts(r_, a_, s_, b_, x_, tx_, T_)
    return np.asarray(log_pre + np.logaddexp(log_alive, log_dead), dtype=np.float64)


_FD_STEP = 1e-5


def unique_pairs(x: Array, t_x: Array, T: Array) -> tuple[Array, Array, IntArray, IntArray]:
    """Unique ``(x, u)`` pairs over ``u in {t_x, T}`` and the inverse indices of each."""
    keys = np.concatenate((x + 1j * t_x, x + 1j * T))
    uniq, inverse = np.unique(keys, return_inverse=True)
    inv = np.asarray(inverse, dtype=np.int64).ravel()
    n = x.shape[0]
    ux = np.asarray(uniq.real, dtype=np.float64).copy()
    uu = np.asarray(uniq.imag, dtype=np.float64).copy()
    return ux, uu, inv[:n], inv[n:]


def _log_f_and_grad(
    r: float, alpha: float, s: float, beta: float, x: Array, u: Array
) -> tuple[Array, Array]:
    """``log F(u)`` (module docstring) and its gradient in ``(r, alpha, s, beta)``, shape (4, n).

    ``alpha >= beta``: ``H = G(r+x, c; z)``, ``z = (alpha-beta)/(alpha+u)``, so
    ``dz/dalpha = (beta+u)/(alpha+u)^2`` and ``dz/dbeta = -1/(alpha+u)``.
    ``alpha < beta``: ``H = (alpha+u)/(beta+u) G(s+1, c; z)``, ``z = (beta-alpha)/(beta+u)``,
    ``dz/dalpha = -1/(beta+u)`` and ``dz/dbeta = (alpha+u)/(beta+u)^2``. In both
    ``c = r+s+x+1`` and ``G = 2F1(1, b; c; z)`` with its partial derivatives from
    :func:`crmcore.value._special.hyp2f1_a1_with_grad`.
    """
    ap, bp = alpha + u, beta + u
    log_ap, log_bp = np.log(ap), np.log(bp)
    c = x + (r + s + 1.0)
    grad = np.empty((4, x.shape[0]))
    if alpha >= beta:
        z = (alpha - beta) / ap
        g, gb, gc, gz = hyp2f1_a1_with_grad(r + x, c, z, bp / ap)
        gb /= g
        gc /= g
        gz /= g
        log_h = np.log(g)
        grad[0] = gb + gc
        grad[1] = gz * bp / (ap * ap)
        grad[2] = gc
        grad[3] = -gz / ap
    else:
        z = (beta - alpha) / bp
        g, gb, gc, gz = hyp2f1_a1_with_grad(np.full_like(x, s + 1.0), c, z, ap / bp)
        gb /= g
        gc /= g
        gz /= g
        log_h = np.log(g) + log_ap - log_bp
        grad[0] = gc
        grad[1] = 1.0 / ap - gz / bp
        grad[2] = gb + gc
        grad[3] = gz * ap / (bp * bp) - 1.0 / bp
    grad[0] -= log_ap
    grad[1] -= (r + x) / ap
    grad[2] -= log_bp
    grad[3] -= s / bp
    log_f = log_h - (r + x) * log_ap - s * log_bp
    return np.asarray(log_f, dtype=np.float64), grad


def pareto_neg_ll_and_grad(
    log_params: Array,
    x: Array,
    t_x: Array,
    T: Array,
    w: Array,
    pairs: tuple[Array, Array, IntArray, IntArray] | None = None,
) -> tuple[float, Array]:
    """Weighted negative log-likelihood and its exact gradient in log-parameters.

    Per customer ``log L = log pre + logaddexp(log alive, log dead)`` (note 009 eq. 18)
    with ``log dead = log s + log(F(t_x) - F(T)) - log(r+s+x)``; the gradient is the
    chain rule through these terms, with ``d log(F(t_x) - F(T)) = (d log F(t_x) -
    rho d log F(T)) / (1 - rho)``, ``rho = F(T)/F(t_x)``, and ``d log F`` from
    :func:`_log_f_and_grad` (the 2F1 derivatives in closed form, evaluated with the
    value: one evaluation per call instead of the nine of a central difference,
    :func:`_pareto_neg_ll_and_grad_fd`). The hypergeometric terms are evaluated once per
    distinct ``(x, t)`` pair (every ``x = 0`` customer shares one ``F(0)``); pass
    ``pairs=unique_pairs(x, t_x, T)`` to reuse them across calls.
    """
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    p = np.exp(np.asarray(log_params, dtype=np.float64))
    r, alpha, s, beta = (float(v) for v in p)
    ux, uu, inv_tx, inv_T = unique_pairs(x, t_x, T) if pairs is None else pairs
    m = ux.shape[0]
    log_f, d_log_f = _log_f_and_grad(r, alpha, s, beta, ux, uu)
    ap, bp = alpha + uu, beta + uu
    log_ap, log_bp = np.log(ap), np.log(bp)
    # per customer: the dead term (needs F(t_x) and F(T)) and the alive term (u = T)
    log_f_tx = log_f[inv_tx]
    ratio = np.minimum(np.exp(log_f[inv_T] - log_f_tx), 1.0)
    dead_ok = t_x < T
    n = x + (r + s)
    with np.errstate(divide="ignore"):
        log_dead = np.log1p(-ratio)
    log_dead += log_f_tx
    log_dead += np.log(s)
    log_dead -= np.log(n)
    log_dead = np.where(dead_ok, log_dead, -np.inf)
    log_alive = (-(r + ux) * log_ap - s * log_bp)[inv_T]
    log_mix = np.logaddexp(log_alive, log_dead)
    wd = w * np.exp(log_dead - log_mix)  # weight times the dead term's share, 0 if t_x == T
    wa_pair = np.bincount(inv_T, weights=w - wd, minlength=m)
    # d log(F(t_x) - F(T)) = (d log F(t_x) - ratio d log F(T)) / (1 - ratio), summed with
    # weights wd by gathering the weights onto the (x, u) pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(dead_ok & (ratio < 1.0), wd / (1.0 - ratio), 0.0)
    pair_w = np.bincount(inv_tx, weights=coef, minlength=m)
    pair_w -= np.bincount(inv_T, weights=coef * ratio, minlength=m)
    # no `@` here: a BLAS call on a shared machine spins its threads (tens of ms per call)
    d_a0_w = (d_log_f * pair_w).sum(axis=1)
    inv_n_w = float((wd / n).sum())
    # the prefactor log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta depends on the
    # customer through x only: summed over the distinct x values
    w_pair = np.bincount(inv_T, weights=w, minlength=m)
    if m and bool(np.all(ux[1:] >= ux[:-1])):  # unique_pairs sorts by x
        starts = np.flatnonzero(np.concatenate(([True], ux[1:] != ux[:-1])))
        x_values, w_x = ux[starts], np.add.reduceat(w_pair, starts)
    else:
        x_values, x_inv = np.unique(ux, return_inverse=True)
        w_x = np.bincount(np.asarray(x_inv).ravel(), weights=w_pair, minlength=x_values.size)
    w_sum = float(w.sum())
    g = np.array(
        [
            float((digamma(r + x_values) * w_x).sum())
            + w_sum * (np.log(alpha) - float(digamma(r)))
            - float((log_ap * wa_pair).sum())
            - inv_n_w,
            w_sum * r / alpha - float(((r + ux) / ap * wa_pair).sum()),
            w_sum * np.log(beta) - float((log_bp * wa_pair).sum()) + float(wd.sum()) / s - inv_n_w,
            w_sum * s / beta - s * float((wa_pair / bp).sum()),
        ]
    )
    g += d_a0_w
    pre_total = float((gammaln(r + x_values) * w_x).sum()) + w_sum * (
        -float(gammaln(r)) + r * np.log(alpha) + s * np.log(beta)
    )
    total = -(pre_total + float((log_mix * w).sum()))
    return total, np.asarray(-g * p, dtype=np.float64)


def _pareto_neg_ll_and_grad_fd(
    log_params: Array,
    x: Array,
    t_x: Array,
    T: Array,
    w: Array,
    pairs: tuple[Array, Array, IntArray, IntArray] | None = None,
) -> tuple[float, Array]:
    """:func:`pareto_neg_ll_and_grad` with a finite-difference gradient (kept for tests).

    The gradient is a central finite difference with step ``1e-5`` in each
    log-parameter, all eight shifted parameter sets evaluated in one vectorised call.
    (Derivatives of ``2F1`` with respect to its parameters have no closed form;
    complex steps do not pass through ``_special.hyp2f1_a1``.) Truncation and rounding
    errors are both about ``1e-10`` relative, far below the optimiser's tolerance. The
    hypergeometric terms are evaluated once per distinct ``(x, t)`` pair (every ``x = 0``
    customer shares one ``F(0)``); pass ``pairs=unique_pairs(x, t_x, T)`` to reuse them
    across calls.
    """
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    lp = np.asarray(log_params, dtype=np.float64)
    shifts = np.vstack([np.zeros(4), np.eye(4) * _FD_STEP, -np.eye(4) * _FD_STEP])
    p = np.exp(lp[None, :] + shifts)  # (9, 4)
    r, alpha, s, beta = p[:, 0:1], p[:, 1:2], p[:, 2:3], p[:, 3:4]
    ux, uu, inv_tx, inv_T = unique_pairs(x, t_x, T) if pairs is None else pairs
    log_f = _log_f_term(r, alpha, s, beta, ux[None, :], uu[None, :])
    log_f_tx, log_f_T = log_f[:, inv_tx], log_f[:, inv_T]
    ratio = np.minimum(np.exp(log_f_T - log_f_tx), 1.0)
    with np.errstate(divide="ignore"):
        log_a0 = log_f_tx + np.log1p(-ratio)
    log_a0 = np.where((t_x >= T)[None, :], -np.inf, log_a0)
    xr = x[None, :]
    log_dead = np.log(s) + log_a0 - np.log(r + s + xr)
    log_alive = -(r + xr) * np.log(alpha + T[None, :]) - s * np.log(beta + T[None, :])
    # the prefactor log Gamma(r+x) - log Gamma(r) + r log alpha + s log beta depends on the
    # customer through x only: its weighted sum is taken over the distinct x values
    x_values, x_inv = np.unique(x, return_inverse=True)
    w_x = np.bincount(np.asarray(x_inv).ravel(), weights=w, minlength=x_values.size)
    pre_total = (gammaln(r + x_values[None, :]) * w_x[None, :]).sum(axis=1) + float(w.sum()) * (
        -gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    ).ravel()
    totals = -(pre_total + (np.logaddexp(log_alive, log_dead) * w[None, :]).sum(axis=1))
    grad = (totals[1:5] - totals[5:9]) / (2.0 * _FD_STEP)
    return float(totals[0]), np.asarray(grad, dtype=np.float64)


def pareto_probability_alive(
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    future_t: ArrayLike = 0.0,
) -> Array:
    """P(alive at ``T + future_t`` | x, t_x, T) (note 009 eq. 36; Gamma(s, beta+T) survival).

    Given alive at ``T`` the dropout rate is ``Gamma(s, beta+T)``, so surviving a further
    ``future_t`` multiplies by ``((beta+T)/(beta+T+future_t))^s``.
    """
    r_, a_, s_, b_, x_, tx_, T_, ft = (_f(v) for v in (r, alpha, s, beta, x, t_x, T, future_t))
    log_r = _log_dead_to_alive(r_, a_, s_, b_, x_, tx_, T_)
    p = expit(np.negative(log_r, out=log_r))  # in [0, 1] by construction
    if np.any(ft != 0.0):
        p = p * np.exp(-s_ * np.log1p(ft / (b_ + T_)))
    return np.asarray(p, dtype=np.float64)


def _log_dead_to_alive(
    r: Array, alpha: Array, s: Array, beta: Array, x: Array, t_x: Array, T: Array
) -> Array:
    """``log R``, R = (s I(t_x, T)) / ((alpha+T)^-(r+x) (beta+T)^-s): P(alive) = 1/(1+R).

    With ``F(u) = (alpha+u)^-(r+x) (beta+u)^-s H(u)`` and ``I = (F(t_x) - F(T)) / n``,
    ``n = r+s+x``, the ratio is ``(s/n) [e^L H(t_x) - H(T)]`` with
    ``L = (r+x) log((alpha+T)/(alpha+t_x)) + s log((beta+T)/(beta+t_x))``; no gamma
    function and no power of ``alpha + T`` is formed, so nothing overflows.
    """
    gap = T - t_x
    with np.errstate(divide="ignore", invalid="ignore"):
        big_l = (r + x) * np.log1p(gap / (alpha + t_x)) + s * np.log1p(gap / (beta + t_x))
        log_h_tx = _log_h_rows(r, alpha, s, beta, x, t_x)
        log_h_T = _log_h_rows(r, alpha, s, beta, x, T)
        ratio = np.minimum(np.exp(log_h_T - log_h_tx - big_l), 1.0)
        log_r = np.log(s / (x + (r + s))) + log_h_tx + big_l + np.log1p(-ratio)
    if gap.size and gap.min() > 0.0:
        return np.asarray(log_r, dtype=np.float64)
    return np.asarray(np.where(gap <= 0.0, -np.inf, log_r), dtype=np.float64)


def _survival_integral(k: Array, log_ratio: Array) -> Array:
    """``(1 - exp(-k * L)) / k`` with its ``k -> 0`` limit ``L`` (``L = log((b+t)/b)``)."""
    if np.ndim(k) == 0 and abs(float(k)) >= 1e-200:
        # -expm1(-kL)/k is accurate for every L when k is not (close to) zero
        return np.asarray(-np.expm1(-k * log_ratio) / k, dtype=np.float64)
    kl = k * log_ratio
    small = np.abs(kl) < 1e-8
    safe_k = np.where(small, 1.0, k)
    general = -np.expm1(-kl) / safe_k
    limit = log_ratio * (1.0 - 0.5 * kl)
    return np.asarray(np.where(small, limit, general), dtype=np.float64)


def pareto_expected_new(
    r: ArrayLike, alpha: ArrayLike, s: ArrayLike, beta: ArrayLike, t: ArrayLike
) -> Array:
    """E[X(t)] for a new customer: ``r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``.

    Note 009 eq. 27; the ``s = 1`` limit ``(r beta / alpha) log(1 + t/beta)`` is used near 1.

    Examples
    --------
    >>> round(float(pareto_expected_new(0.55, 10.58, 0.61, 11.67, 39.0)), 4)
    1.2024
    """
    r_, a_, s_, b_, t_ = (_f(v) for v in (r, alpha, s, beta, t))
    out = r_ / a_ * b_ * _survival_integral(s_ - 1.0, np.log1p(t_ / b_))
    return np.asarray(out, dtype=np.float64)


def pareto_conditional_expected(
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    t: ArrayLike,
) -> Array:
    """E[X(T, T+t) | x, t_x, T] (note 009 eq. 41).

    ``P(alive) * (r+x)/(alpha+T) * (beta+T)/(s-1) * [1 - ((beta+T)/(beta+T+t))^(s-1)]``.
    """
    r_, a_, s_, b_, x_, tx_, T_, t_ = (_f(v) for v in (r, alpha, s, beta, x, t_x, T, t))
    p_alive = pareto_probability_alive(r_, a_, s_, b_, x_, tx_, T_)
    rate = (r_ + x_) / (a_ + T_)
    out = p_alive * rate * (b_ + T_) * _survival_integral(s_ - 1.0, np.log1p(t_ / (b_ + T_)))
    return np.asarray(out, dtype=np.float64)


def pareto_population_pmf(
    n: ArrayLike, t: ArrayLike, r: ArrayLike, alpha: ArrayLike, s: ArrayLike, beta: ArrayLike
) -> Array:
    """P(X(t) = n) for a new customer (Fader, Hardie & Lee 2006 note, eq. for P(X(t)=x)).

    ``NB(n; r, alpha/(alpha+t)) (beta/(beta+t))^s`` (alive throughout) plus
    ``alpha^r beta^s B(r+n, s+1)/B(r, s) [B_1 - sum_{i=0}^n Gamma(r+s+i)/(Gamma(r+s) i!)
    t^i B_2(i)]`` (died in ``(0, t)`` after ``n`` purchases), with the ``B`` terms in
    logarithms and the bracket by signed log-sum-exp. ``n`` and ``t`` broadcast; the result
    is clipped to ``[0, 1]``.

    Examples
    --------
    >>> p = pareto_population_pmf(np.arange(200), 39.0, 0.55, 10.58, 0.61, 11.67)
    >>> round(float(p.sum()), 8)
    1.0
    """
    n_, t_, r_, a_, s_, b_ = np.broadcast_arrays(*(_f(v) for v in (n, t, r, alpha, s, beta)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_t = np.log(t_)
        log_alive = (
            gammaln(r_ + n_)
            - gammaln(r_)
            - gammaln(n_ + 1.0)
            + r_ * np.log(a_ / (a_ + t_))
            + n_ * (log_t - np.log(a_ + t_))
            + s_ * np.log(b_ / (b_ + t_))
        )
        log_alive = np.where((n_ == 0) & (t_ == 0), 0.0, log_alive)
        a_ge_b = a_ >= b_
        m = np.maximum(a_, b_)
        d = np.abs(a_ - b_)
        p = np.where(a_ge_b, s_ + 1.0, r_ + n_)
        c = r_ + s_ + n_ + 1.0
        log_b1 = np.log(hyp2f1_pos(r_ + s_, p, c, d / m)) - (r_ + s_) * np.log(m)
        log_pre = r_ * np.log(a_) + s_ * np.log(b_) + betaln(r_ + n_, s_ + 1.0) - betaln(r_, s_)
        n_max = int(np.max(n_)) if n_.size else 0
        terms = [log_b1]
        signs = [np.ones_like(log_b1)]
        for i in range(n_max + 1):
            log_b2 = (
                gammaln(r_ + s_ + i)
                - gammaln(r_ + s_)
                - gammaln(i + 1.0)
                + i * log_t
                + np.log(hyp2f1_pos(r_ + s_ + i, p, c, d / (m + t_)))
                - (r_ + s_ + i) * np.log(m + t_)
            )
            if i == 0:
                log_b2 = np.where(t_ == 0, log_b1, log_b2)
            active = i <= n_
            terms.append(np.where(active, log_b2, -np.inf))
            signs.append(-np.ones_like(log_b1))
        stack = np.stack(terms)
        top = np.max(stack, axis=0)
        top = np.where(np.isfinite(top), top, 0.0)
        bracket = np.sum(np.stack(signs) * np.exp(stack - top), axis=0)
        dead = np.where(bracket > 0, np.exp(log_pre + top + np.log(np.maximum(bracket, 1e-300))), 0)
    out = np.exp(log_alive) + dead
    return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


def pareto_conditional_pmf(
    n: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> Array:
    """P(X(T, T+t) = n | x, t_x, T) (Fader & Hardie 2006, note 028).

    Alive at ``T`` with probability ``P_A``, the customer's rates are ``Gamma(r+x, alpha+T)``
    and ``Gamma(s, beta+T)``, so the answer is ``(1-P_A) [n = 0] + P_A * P(X(t) = n)`` under
    the population pmf with parameters ``(r+x, alpha+T, s, beta+T)``.
    """
    r_, a_, s_, b_, x_, tx_, T_ = (_f(v) for v in (r, alpha, s, beta, x, t_x, T))
    n_ = _f(n)
    p_alive = pareto_probability_alive(r_, a_, s_, b_, x_, tx_, T_)
    pop = pareto_population_pmf(n_, t, r_ + x_, a_ + T_, s_, b_ + T_)
    out = np.where(n_ == 0, 1.0 - p_alive, 0.0) + p_alive * pop
    return np.asarray(np.clip(out, 0.0, 1.0), dtype=np.float64)


def pareto_dert(
    r: ArrayLike,
    alpha: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    delta: ArrayLike,
) -> Array:
    """Discounted expected residual transactions (Fader, Hardie & Lee 2005, JMR, eq. 2).

    ``DERT = P_A (r+x)/(alpha+T) (beta+T)^s delta^(s-1) U(s, s; delta (beta+T))`` with
    ``U`` Tricomi's confluent hypergeometric function and ``delta`` the continuously
    compounded discount rate per time unit. The last three factors equal
    ``E[1/(delta + mu)]`` for ``mu ~ Gamma(s, beta+T)``.
    """
    r_, a_, s_, b_, x_, tx_, T_, d_ = (_f(v) for v in (r, alpha, s, beta, x, t_x, T, delta))
    p_alive = pareto_probability_alive(r_, a_, s_, b_, x_, tx_, T_)
    bt = b_ + T_
    log_disc = s_ * np.log(bt) + (s_ - 1.0) * np.log(d_) + np.log(hyperu(s_, s_, d_ * bt))
    out = p_alive * (r_ + x_) / (a_ + T_) * np.exp(log_disc)
    return np.asarray(out, dtype=np.float64)
