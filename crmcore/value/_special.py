"""One Gauss hypergeometric routine for every model that needs 2F1.

The BTYD and contractual models need the Gauss hypergeometric function only in the form
``2F1(a, b; c; z)`` with real ``c > a > 0`` (or ``c > b > 0``, 2F1 being symmetric in
``a`` and ``b``) and ``0 <= z < 1`` (``z < 0`` is mapped there by Pfaff's
transformation), mostly with ``a = 1``. scipy's ``hyp2f1`` is not safe there: it returns
``inf`` for ``z > 0.9`` when ``c - a - b`` is an integer (its ``1 - z`` transformation
divides by gamma functions at their poles) and overflows for large ``b`` with ``z`` near 1.
This module evaluates those forms by two methods, each with an error bound:

* **Power series** (``a = 1`` and ``z <= 0.9``). The terms ``T_{k+1} = T_k z (b+k)/(c+k)``
  are positive and their ratios lie in ``[0, z)``, so after ``N`` terms the remainder is
  at most ``z^(N+1) / (1 - z)`` and ``N`` is chosen to make it below ``1e-16`` (relative,
  since ``2F1(1, b; c; z) >= 1``). Summed by Horner's rule in cache-sized blocks.
* **Trapezoidal rule on an Euler integral** (every other case). Euler's transformation and
  Euler's integral give, with ``zeta = 1 - z`` and ``y = zeta e^w``,

      2F1(a, b; c; z) = zeta^(c-a-b) / B(c-a, a)
                        * int_{-inf}^{inf} y e^{-(c-a) y} (1 - e^{-y})^(a-1) D^(-(c-b)) dw,
      D = zeta + z (1 - e^{-y}),

  an integral over the whole real line of a function analytic in the strip
  ``|Im w| < pi/2`` (the nearest singularities are the zeros of ``D``), decaying like
  ``e^{a w}`` on the left and like ``exp(-(c-a) zeta e^w)`` on the right. The trapezoidal
  rule with step ``h`` then has relative discretisation error about ``2 exp(-pi^2 / h)``
  (Trefethen & Weideman 2014, thm 5.1); ``h = 0.25`` gives ``1.4e-17``. The ends are
  cut where the integrand's tails are below ``1e-17`` of the result. Nothing divides by
  ``Gamma(c - a - b)``, so integer and near-integer ``c - a - b`` are ordinary points, and
  ``z`` may be as close to 1 as ``1 - 1e-15``.

Error bound: against 50-digit mpmath (tests/test_hyp2f1.py) the relative error is below
``1e-12`` (typically ``1e-15``) for ``a = 1``, ``b`` up to 150 and ``z`` up to
``1 - 1e-12``, and for ``b`` up to ``1e6`` with ``z <= 0.99``, at integer, near-integer
and general ``c - a - b``. Beyond the discretisation and tail terms above, the
quadrature's rounding error grows like ``1e-16 |(c-a-b) log(1-z)|`` (``log B`` and the
prefactor are large then); the series takes over wherever it converges within 400
terms, which covers large ``c - b`` (e.g. ``2F1(1, 8e5; 1e6; 0.999)``).

References
----------
Abramowitz, M. & Stegun, I. A. (1964), Handbook of Mathematical Functions, 15.3.1
(Euler's integral), 15.3.3 (Euler's transformation), 15.3.4 (Pfaff's transformation).
Trefethen, L. N. & Weideman, J. A. C. (2014), "The exponentially convergent trapezoidal
rule", SIAM Review 56(3), 385-458.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from scipy.special import betaln

__all__ = ["hyp2f1_a1", "hyp2f1_a1_core", "hyp2f1_a1_with_grad", "hyp2f1_guarded", "hyp2f1_pos"]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_H = 0.25  # trapezoid step: discretisation error ~ 2 exp(-pi^2 / h) = 1.4e-17
_LOG_TAIL = np.log(1e-17)
_SERIES_EDGES = (0.125, 0.25, 0.5, 0.75, 0.9)  # z buckets summed by the power series
_BLOCK = 16_384  # rows per block of the series (stays in the L2 cache)
_LONG_SERIES = 400  # terms of the series tried above z = 0.9 before the quadrature
_QUAD_CELLS = 1 << 20  # rows x nodes per block of the trapezoidal rule


def _series_terms(z_max: float) -> int:
    """Number of terms ``N`` with ``z^(N+1) / (1 - z) <= 1e-16`` for every ``z <= z_max``."""
    if z_max <= 0.0:
        return 0
    return max(int(np.ceil((np.log(1e-16 * (1.0 - z_max))) / np.log(z_max))), 1)


def _series_a1(b: Array, c: Array, z: Array, n_terms: int) -> Array:
    """``sum_{k<=N} (b)_k / (c)_k z^k`` by Horner's rule, in blocks of rows."""
    out = np.empty_like(z)
    for lo in range(0, z.shape[0], _BLOCK):
        sl = slice(lo, lo + _BLOCK)
        bb, cc, zz = b[sl], c[sl], z[sl]
        zp = zz * (cc - bb)  # T_{k+1}/T_k = z (b+k)/(c+k) = z - z (c-b)/(c+k)
        acc = np.ones_like(zz)
        tmp = np.empty_like(zz)
        for k in range(n_terms - 1, -1, -1):
            np.add(cc, float(k), out=tmp)
            np.divide(zp, tmp, out=tmp)
            np.subtract(zz, tmp, out=tmp)
            acc *= tmp
            acc += 1.0
        out[sl] = acc
    return out


def _quad_setup(
    a: Array, b: Array, c: Array, z: Array, zeta: Array
) -> tuple[Array, IntArray, Array, Array, Array, BoolArray]:
    """Nodes of :func:`_log_quad`: step, node count, log normaliser, first node, rows to NaN."""
    ca = c - a
    log_zeta = np.log(zeta)
    # B(c-1, 1) = 1/(c-1) exactly; scipy's betaln differences two large lgammas
    # (absolute error ~1e-16 lgamma(c), 1e-10 at c = 1e5)
    log_beta = np.where(a == 1.0, -np.log(ca), betaln(ca, a))
    # The result is >= 1. Left tail (w -> -inf, y -> 0): the integrand times the prefactor
    # is below exp(a w - log B(c-a, a)), whose integral to w_lo is that over a.
    w_lo = (_LOG_TAIL + log_beta + np.log(a)) / a
    # Right tail: below zeta^(c-a-b) / B * exp(-(c-a) y) D(y)^-(c-b) (1-e^-y)^(a-1) / (c-a);
    # every factor after the exponential is non-increasing in y, so a few Newton-like
    # steps of y <- y + excess / (c-a) bring the bound under 1e-17.
    y_hi = 40.0 / ca
    for _ in range(6):
        d_hi = zeta - z * np.expm1(-y_hi)
        with np.errstate(divide="ignore"):
            bound = (
                (c - a - b) * log_zeta
                - log_beta
                - ca * y_hi
                - np.log(ca)
                - np.maximum(c - b, 0.0) * np.log(d_hi)
                + np.minimum(a - 1.0, 0.0) * np.log(-np.expm1(-y_hi))
            )
        y_hi = y_hi + np.maximum(bound - _LOG_TAIL, 0.0) / ca
    w_hi = np.log(y_hi) - log_zeta
    span = np.where(np.isfinite(w_hi - w_lo), w_hi - w_lo, 0.0)
    # (1 - e^-y)^(a-1) narrows the strip of analyticity like 1/sqrt(a), and
    # by powers of two (so that j h stays exact) to keep exp(-pi^2 / h)-level accuracy
    # D^-(c-b) likewise for a large c - b (the series takes most such cases first)
    h = _H / np.exp2(np.ceil(np.log2(np.sqrt(np.maximum(np.maximum(a, c - b), 1.0)))))
    n_nodes = np.ceil(span / h).astype(np.int64) + 1
    log_norm = (c - a - b) * log_zeta - log_beta + np.log(h)
    y_lo = np.exp(log_zeta + w_lo)
    log_y_lo = np.log(y_lo)
    return h, n_nodes, log_norm, y_lo, log_y_lo, ~np.isfinite(w_hi - w_lo)


def _quad_blocks(
    h: Array, n_nodes: IntArray, y_lo: Array
) -> Iterator[tuple[IntArray, Array, Array, Array]]:
    """Blocks of rows of the trapezoidal rule with their nodes (from :func:`_quad_setup`).

    Rows are taken in order of node count, at most ``_QUAD_CELLS`` rows x nodes per block;
    each block gives ``(row indices, j h, y_j, 1 - e^{-y_j})`` with ``j`` up to the block's
    largest node count (a row's extra nodes lie beyond its right tail: negligible terms).
    """
    order = np.argsort(n_nodes, kind="stable")
    rows = max(_QUAD_CELLS // int(n_nodes.max()), 1)
    for pos in range(0, order.size, rows):
        idx = order[pos : pos + rows]
        j_max = int(n_nodes[idx].max())
        # nodes y_j = y_lo e^{j h}: h j is exact, so every node carries the same
        # rounding of y_lo (a harmless shift of the whole grid) plus one ulp of exp
        steps = h[idx, None] * np.arange(j_max, dtype=np.float64)[None, :]
        y = y_lo[idx, None] * np.exp(steps)
        yield idx, steps, y, -np.expm1(-y)


def _log_quad(a: Array, b: Array, c: Array, z: Array, zeta: Array) -> Array:
    """``log 2F1(a, b; c; z)`` for ``c > a > 0``, ``0 <= z < 1`` by the trapezoidal rule.

    ``zeta = 1 - z`` is passed separately so that a caller who knows it to full relative
    precision near ``z = 1`` does not lose it to cancellation.
    """
    out = np.empty_like(z)
    if z.size == 0:
        return out
    ca = c - a
    h, n_nodes, log_norm, y_lo, log_y_lo, bad = _quad_setup(a, b, c, z, zeta)
    for idx, steps, y, one_m in _quad_blocks(h, n_nodes, y_lo):
        d = zeta[idx, None] + z[idx, None] * one_m
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = (
                (log_y_lo[idx, None] + steps)
                - ca[idx, None] * y
                + (a[idx, None] - 1.0) * np.log(one_m)
                - (c - b)[idx, None] * np.log(d)
            )
        lg = np.where(np.isnan(lg), -np.inf, lg)
        top = lg.max(axis=1)
        out[idx] = top + np.log(np.exp(lg - top[:, None]).sum(axis=1)) + log_norm[idx]
    out[bad] = np.nan
    return out


def _broadcast(*args: npt.ArrayLike) -> tuple[Array, ...]:
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in args)))


def hyp2f1_a1(
    b: npt.ArrayLike,
    c: npt.ArrayLike,
    z: npt.ArrayLike,
    one_minus_z: npt.ArrayLike | None = None,
) -> Array:
    """Gauss hypergeometric ``2F1(1, b; c; z)`` for ``c > b > 0`` and ``z < 1``.

    Parameters
    ----------
    b, c, z : array_like
        Broadcast against each other. Entries outside ``c > b > 0``, ``z < 1`` give NaN.
    one_minus_z : array_like, optional
        ``1 - z`` to full relative precision, when the caller has it (``z`` within
        ``1e-12`` of 1 leaves ``1 - z`` only 4 correct digits; near ``z = 1`` the value
        depends on ``1 - z``, e.g. like ``(1 - z)^(c-1-b)`` when ``c - 1 - b < 0``).

    Returns
    -------
    ndarray
        The function values, relative error below ``1e-12`` (see the module notes:
        power series with a bounded remainder for ``0 <= z <= 0.9``, the trapezoidal rule
        on Euler's integral above, Pfaff's transformation for ``z < 0``).

    Notes
    -----
    ``2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k`` is the mean of ``1 / (1 - z U)`` for
    ``U ~ Beta(b, c - b)``, so it lies in ``[1, 1 / (1 - z)]`` for ``0 <= z < 1``.

    Examples
    --------
    ``2F1(1, 1; 2; z) = -log(1 - z) / z``, also where ``c - a - b = 0`` and ``z`` is
    within ``1e-12`` of 1 (scipy's ``hyp2f1`` returns ``inf`` there):

    >>> z = np.array([0.5, 0.95, 1 - 1e-12])
    >>> bool(np.allclose(hyp2f1_a1(1.0, 2.0, z), -np.log1p(-z) / z, rtol=1e-13, atol=0))
    True

    DEL of a contractual customer with a huge ``beta`` (mpmath: 4.98011922526...):

    >>> round(float(hyp2f1_a1(8e5, 2e5 + 8e5, 1 / 1.001)), 10)
    4.9801192253
    """
    zeta_in = 1.0 - np.asarray(z, dtype=np.float64) if one_minus_z is None else one_minus_z
    b_, c_, z_, zeta_ = _broadcast(b, c, z, zeta_in)
    shape = z_.shape
    b_, c_, z_, zeta_ = b_.ravel(), c_.ravel(), z_.ravel(), zeta_.ravel()
    ok = (c_ > b_) & (b_ > 0.0) & (z_ < 1.0) & (zeta_ > 0.0) & np.isfinite(c_) & np.isfinite(z_)
    if ok.all():
        return hyp2f1_a1_core(b_, c_, z_, zeta_).reshape(shape)
    out = np.full(z_.shape, np.nan)
    idx = np.flatnonzero(ok)
    out[idx] = hyp2f1_a1_core(b_[idx], c_[idx], z_[idx], zeta_[idx])
    return out.reshape(shape)


def hyp2f1_a1_core(b: Array, c: Array, z: Array, zeta: Array) -> Array:
    """:func:`hyp2f1_a1` on 1-d arrays of one length already in its domain (no checks).

    For kernels whose arguments are valid by construction; a NaN entry gives NaN.
    """
    z_min, z_max = float(z.min(initial=0.0)), float(z.max(initial=0.0))
    if z_min >= 0.0 and z_max <= _SERIES_EDGES[-1]:  # the common case: one series pass
        return _series_a1(b, c, z, _series_terms(z_max))
    out = np.empty_like(z)
    # Pfaff: 2F1(1, b; c; z) = 2F1(1, c-b; c; z/(z-1)) / (1 - z) maps z < 0 into (0, 1)
    scale: Array | float = 1.0
    if z_min < 0.0:
        neg = z < 0.0
        scale = np.where(neg, 1.0 / (1.0 - z), 1.0)
        b = np.where(neg, c - b, b)
        zeta = np.where(neg, 1.0 / (1.0 - z), zeta)
        z = np.where(neg, z / (z - 1.0), z)
    bucket = np.searchsorted(np.asarray(_SERIES_EDGES), z)  # z <= edge[k] -> k
    for k, edge in enumerate(_SERIES_EDGES):
        idx = np.flatnonzero(bucket == k)
        if idx.size:
            n = _series_terms(min(edge, float(z[idx].max())))
            out[idx] = _series_a1(b[idx], c[idx], z[idx], n)
    idx = np.flatnonzero(bucket >= len(_SERIES_EDGES))
    if idx.size:
        # z > 0.9, but where b/c is small enough the series still converges fast: after N
        # terms the remainder is below (z (b+N)/(c+N))^N / (1 - z) (ratios increase in k)
        bb, cc, zz, ze = b[idx], c[idx], z[idx], zeta[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = _LONG_SERIES * np.log(zz * (bb + _LONG_SERIES) / (cc + _LONG_SERIES))
            fast = bound - np.log(ze) <= np.log(1e-16)
        if fast.any():
            out[idx[fast]] = _series_a1(bb[fast], cc[fast], zz[fast], _LONG_SERIES)
        slow = ~fast
        if slow.any():
            out[idx[slow]] = np.exp(_log_quad_a1(bb[slow], cc[slow], zz[slow], ze[slow]))
    return np.asarray(out * scale, dtype=np.float64)


def _log_quad_a1(b: Array, c: Array, z: Array, zeta: Array) -> Array:
    """``log 2F1(1, b; c; z)`` by the trapezoidal rule, ``c > 1`` ensured by a shift.

    For ``c <= 1`` the series identity ``2F1(1, b; c; z) = 1 + (b z / c) 2F1(1, b+1; c+1; z)``
    (every term positive) moves to ``c + 1 > 1``.
    """
    low = c <= 1.0
    if not low.any():
        return _log_quad(np.ones_like(z), b, c, z, zeta)
    b1, c1 = np.where(low, b + 1.0, b), np.where(low, c + 1.0, c)
    g = np.exp(_log_quad(np.ones_like(z), b1, c1, z, zeta))
    return np.asarray(np.log(np.where(low, 1.0 + b * z / c * g, g)), dtype=np.float64)


def hyp2f1_pos(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike) -> Array:
    """Gauss hypergeometric ``2F1(a, b; c; z)`` for ``c > a > 0`` or ``c > b > 0``, ``0 <= z < 1``.

    The general form (used by the Pareto/NBD count distribution); ``a = 1`` entries go to
    :func:`hyp2f1_a1`. Where both ``a`` and ``b`` qualify, the one giving the faster
    decaying integrand is used. Entries outside the domain give NaN.

    Examples
    --------
    ``2F1(a, b; b; z) = (1 - z)^-a``, with ``c - a - b = -a``:

    >>> round(float(hyp2f1_pos(2.5, 3.0, 3.0, 0.75)), 12)
    32.0
    """
    a_, b_, c_, z_ = _broadcast(a, b, c, z)
    shape = z_.shape
    a_, b_, c_, z_ = a_.ravel(), b_.ravel(), c_.ravel(), z_.ravel()
    out = np.full(z_.shape, np.nan)
    good_a = (c_ > a_) & (a_ > 0.0)
    good_b = (c_ > b_) & (b_ > 0.0)
    # The quadrature needs c > a' > 0 for the parameter a' in the Beta role; its cost
    # grows like 1/a' (left tail) and sqrt(a') (step, see _log_quad): take the cheaper.
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_a = np.maximum(1.0 / a_, np.sqrt(a_))
        cost_b = np.maximum(1.0 / b_, np.sqrt(b_))
    swap = good_b & (~good_a | (cost_b < cost_a))
    a2 = np.where(swap, b_, a_)
    b2 = np.where(swap, a_, b_)
    ok = (good_a | good_b) & (z_ >= 0.0) & (z_ < 1.0) & np.isfinite(c_)
    one = ok & ((a2 == 1.0) | (b2 == 1.0) & (c_ > a2))
    if one.any():
        idx = np.flatnonzero(one)
        other = np.where(a2[idx] == 1.0, b2[idx], a2[idx])
        out[idx] = hyp2f1_a1(other, c_[idx], z_[idx])
    rest = ok & ~one
    if rest.any():
        idx = np.flatnonzero(rest)
        out[idx] = np.exp(_log_quad(a2[idx], b2[idx], c_[idx], z_[idx], 1.0 - z_[idx]))
    return out.reshape(shape)


def hyp2f1_guarded(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike) -> Array:
    """Backward-compatible name of :func:`hyp2f1_pos` (no more nudging of ``c``).

    Examples
    --------
    >>> round(float(hyp2f1_guarded(1.0, 1.0, 2.0, 0.5)), 12)  # -log(1 - z) / z
    1.386294361120
    """
    return hyp2f1_pos(a, b, c, z)


def _series_a1_grad(
    b: Array, c: Array, z: Array, n_terms: int
) -> tuple[Array, Array, Array, Array]:
    """:func:`_series_a1` with its exact partial derivatives in ``b``, ``c`` and ``z``.

    Forward mode through the same Horner recursion ``S <- 1 + q_k S``, ``q_k = z (b+k)/(c+k)``:
    ``dS <- dq_k S + q_k dS`` with ``dq_k/db = z/(c+k)``, ``dq_k/dc = -q_k/(c+k)`` and
    ``dq_k/dz = q_k/z``. Carried as ``B = dS/db / z``, ``C = dS/dc`` and ``Z = z dS/dz``,
    the recursions are ``B <- q_k B + S/(c+k)``, ``C <- q_k (C - S/(c+k))`` and
    ``Z <- q_k (Z + S)`` (13 operations a term against 5 for the value alone). Term by term
    this is ``sum_k (b)_k/(c)_k z^k`` times ``psi(b+k) - psi(b)``, ``-(psi(c+k) - psi(c))``
    and ``k / z`` (A&S 6.3.5), truncated at the same ``N``; the extra factor (at most ``N``
    or ``log N``) keeps the remainder below ``1e-13`` relative. At ``z = 0``,
    ``dS/dz = b/c``.
    """
    out = np.empty_like(z)
    d_b, d_c, d_z = np.empty_like(z), np.empty_like(z), np.empty_like(z)
    blk = _BLOCK // 2
    order = None
    if n_terms > 12 and z.shape[0] > blk:
        # blocks of similar z: each block sums only the terms its largest z needs
        order = np.argsort(z)
        b, c, z = b[order], c[order], z[order]
    for lo in range(0, z.shape[0], blk):
        sl = slice(lo, lo + blk)
        bb, cc, zz = b[sl], c[sl], z[sl]
        n_blk = n_terms if order is None else min(n_terms, _series_terms(float(zz[-1])))
        zp = zz * (cc - bb)
        acc = np.ones_like(zz)
        gb, gc, gz = np.zeros_like(zz), np.zeros_like(zz), np.zeros_like(zz)
        q, inv, t1 = (np.empty_like(zz) for _ in range(3))
        for k in range(n_blk - 1, -1, -1):
            np.add(cc, float(k), out=inv)
            np.reciprocal(inv, out=inv)  # 1 / (c + k)
            np.multiply(zp, inv, out=q)
            np.subtract(zz, q, out=q)  # q_k = z - z (c-b)/(c+k)
            np.multiply(inv, acc, out=t1)  # S / (c + k)
            gb *= q
            gb += t1
            gc -= t1
            gc *= q
            gz += acc
            gz *= q
            acc *= q
            acc += 1.0
        out[sl], d_c[sl] = acc, gc
        d_b[sl] = gb * zz
        with np.errstate(divide="ignore", invalid="ignore"):
            d_z[sl] = np.where(zz > 0.0, gz / zz, bb / cc)
    if order is None:
        return out, d_b, d_c, d_z
    res = np.empty((4, z.shape[0]))
    res[:, order] = np.stack((out, d_b, d_c, d_z))
    return res[0], res[1], res[2], res[3]


def _log_quad_a1_grad(
    b: Array, c: Array, z: Array, zeta: Array
) -> tuple[Array, Array, Array, Array]:
    """``log 2F1(1, b; c; z)`` and its derivatives in ``b, c, z`` by the trapezoidal rule.

    Same nodes as :func:`_log_quad` with ``a = 1`` (requires ``c > 1``). In Euler's
    integral ``G = (c-1) int_0^1 (1-t)^(c-2) (1-zt)^(-b) dt`` the quadrature node
    ``s = e^{-y}`` is ``t = (1-s)/(1-zs)`` (the substitution behind Euler's
    transformation), so ``1-zt = zeta/D``, ``1-t = s zeta/D`` and ``t/(1-zt) = (1-s)/zeta``.
    Differentiating under the integral, with ``<.>`` the mean under the normalised
    integrand:

        d log G/db = <log(D/zeta)>,   d log G/dc = 1/(c-1) - <y + log(D/zeta)>,
        d log G/dz = b <1 - e^{-y}> / zeta,

    every integrand but the ``c`` one positive (no cancellation near ``z = 1``).
    """
    log_g, m_b, m_c, m_z = (np.empty_like(z) for _ in range(4))
    if z.size == 0:
        return log_g, m_b, m_c, m_z
    a = np.ones_like(z)
    h, n_nodes, log_norm, y_lo, log_y_lo, bad = _quad_setup(a, b, c, z, zeta)
    ca = c - 1.0
    for idx, steps, y, one_m in _quad_blocks(h, n_nodes, y_lo):
        ze = zeta[idx, None]
        d = ze + z[idx, None] * one_m
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lg = (log_y_lo[idx, None] + steps) - ca[idx, None] * y - (c - b)[idx, None] * np.log(d)
            log_d_zeta = np.log1p(z[idx, None] * one_m / ze)
        lg = np.where(np.isnan(lg), -np.inf, lg)
        top = lg.max(axis=1)
        e = np.exp(lg - top[:, None])
        total = e.sum(axis=1)
        log_g[idx] = top + np.log(total) + log_norm[idx]
        m_b[idx] = (e * log_d_zeta).sum(axis=1) / total
        m_c[idx] = (e * y).sum(axis=1) / total
        m_z[idx] = (e * one_m).sum(axis=1) / total
    d_b = m_b
    d_c = 1.0 / (c - 1.0) - m_c - m_b
    d_z = b * m_z / zeta
    log_g[bad] = np.nan
    return log_g, d_b, d_c, d_z


def hyp2f1_a1_with_grad(
    b: Array, c: Array, z: Array, zeta: Array
) -> tuple[Array, Array, Array, Array]:
    """``G = 2F1(1, b; c; z)`` and its exact partial derivatives ``dG/db, dG/dc, dG/dz``.

    Parameters
    ----------
    b, c, z, zeta : ndarray
        1-d arrays of one length with ``c > b > 0`` and ``0 <= z < 1``; ``zeta = 1 - z``
        to full relative precision (as in :func:`hyp2f1_a1`). Not checked: for kernels
        whose arguments are valid by construction.

    Returns
    -------
    value, d_db, d_dc, d_dz : ndarray
        The value as :func:`hyp2f1_a1_core` computes it and the derivatives by the same
        method: the series differentiated term by term
        (``d/db = sum_k (b)_k/(c)_k z^k [psi(b+k) - psi(b)]``,
        ``d/dc = -sum_k (b)_k/(c)_k z^k [psi(c+k) - psi(c)]``,
        ``d/dz = sum_k k (b)_k/(c)_k z^(k-1)``) where the series is used, and Euler's
        integral differentiated under the integral sign, on the same trapezoid nodes,
        elsewhere (see :func:`_log_quad_a1_grad`). Relative error about ``1e-12`` against
        mpmath (tests/test_pareto_gradient.py).

    Examples
    --------
    ``2F1(1, 1; 2; z) = -log(1 - z)/z``, so ``dG/dz = 1/(z (1-z)) + log(1 - z)/z^2``:

    >>> z = np.array([0.5, 0.99])
    >>> g, gb, gc, gz = hyp2f1_a1_with_grad(np.ones(2), np.full(2, 2.0), z, 1.0 - z)
    >>> bool(np.allclose(gz, 1 / (z * (1 - z)) + np.log1p(-z) / z**2, rtol=1e-12))
    True
    """
    n = z.shape[0]
    out, d_b, d_c, d_z = (np.empty(n) for _ in range(4))
    z_max = float(z.max(initial=0.0))
    if z_max <= _SERIES_EDGES[-1]:
        return _series_a1_grad(b, c, z, _series_terms(z_max))
    bucket = np.searchsorted(np.asarray(_SERIES_EDGES), z)
    for k, edge in enumerate(_SERIES_EDGES):
        idx = np.flatnonzero(bucket == k)
        if idx.size:
            n_k = _series_terms(min(edge, float(z[idx].max())))
            res = _series_a1_grad(b[idx], c[idx], z[idx], n_k)
            out[idx], d_b[idx], d_c[idx], d_z[idx] = res
    idx = np.flatnonzero(bucket >= len(_SERIES_EDGES))
    if not idx.size:
        return out, d_b, d_c, d_z
    bb, cc, zz, ze = b[idx], c[idx], z[idx], zeta[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = _LONG_SERIES * np.log(zz * (bb + _LONG_SERIES) / (cc + _LONG_SERIES))
        fast = bound - np.log(ze) <= np.log(1e-16)
    if fast.any():
        res = _series_a1_grad(bb[fast], cc[fast], zz[fast], _LONG_SERIES)
        sel = idx[fast]
        out[sel], d_b[sel], d_c[sel], d_z[sel] = res
    slow = ~fast
    if slow.any():
        sel = idx[slow]
        bs, cs, zs, es = bb[slow], cc[slow], zz[slow], ze[slow]
        # c <= 1: G = 1 + (b z / c) G1, G1 = 2F1(1, b+1; c+1; z) (as in _log_quad_a1)
        low = cs <= 1.0
        b1, c1 = np.where(low, bs + 1.0, bs), np.where(low, cs + 1.0, cs)
        log_g1, lb, lc, lz = _log_quad_a1_grad(b1, c1, zs, es)
        g1 = np.exp(log_g1)
        f = bs * zs / cs
        out[sel] = np.where(low, 1.0 + f * g1, g1)
        d_b[sel] = np.where(low, zs / cs * g1 + f * g1 * lb, g1 * lb)
        d_c[sel] = np.where(low, -f / cs * g1 + f * g1 * lc, g1 * lc)
        d_z[sel] = np.where(low, bs / cs * g1 + f * g1 * lz, g1 * lz)
    return out, d_b, d_c, d_z
