"""Guarded special functions shared by the BTYD kernels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import hyp2f1

__all__ = ["hyp2f1_guarded"]

_C_NUDGE = 1e-7


def hyp2f1_guarded(
    a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Gauss hypergeometric 2F1(a, b; c; z) for real z < 1, guarded against scipy's poles.

    scipy's ``hyp2f1`` (checked on 1.13 and 1.17) returns ``inf`` for ``z > 0.9`` when
    ``c - a - b`` is an integer: its ``1 - z`` transformation divides by gamma functions at
    their poles. The Pareto/NBD likelihood meets this whenever ``r + x`` is an integer
    (e.g. ``r = 1``). 2F1 is analytic in ``c``, so at those points the value is taken as
    the mean of 2F1 at ``c (1 +- 1e-7)``; the first-order error cancels, and the result
    agrees with the Euler integral to about 1e-12 relative.

    Examples
    --------
    Against the Euler integral ``(c - 1) int_0^1 (1-t)^(c-2) (1-zt)^(-b) dt`` (a = 1):

    >>> from scipy.integrate import quad
    >>> b, c, z = 2.0, 101.0, 0.95
    >>> exact = (c - 1) * quad(lambda t: (1 - t) ** (c - 2) * (1 - z * t) ** -b, 0, 1,
    ...                        epsabs=0, epsrel=1e-13)[0]
    >>> bool(np.isclose(hyp2f1_guarded(1.0, b, c, z), exact, rtol=1e-10, atol=0))
    True

    A large ``b`` with ``z`` near 1, where scipy returns ``inf``:

    >>> b, c, z = 169.52536935808, 171.7564458277406, 0.9978492741548862
    >>> integrand = lambda t: np.exp((c - 2) * np.log1p(-t) - b * np.log1p(-z * t))
    >>> exact = (c - 1) * quad(integrand, 0, 1, epsabs=0, epsrel=1e-12, limit=500)[0]
    >>> bool(np.isclose(hyp2f1_guarded(1.0, b, c, z), exact, rtol=1e-10, atol=0))
    True
    """
    a_, b_, c_, z_ = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    with np.errstate(all="ignore"):
        out = np.asarray(hyp2f1(a_, b_, c_, z_), dtype=np.float64)
        bad = ~np.isfinite(out) & (z_ < 1.0) & np.isfinite(z_)
        if bad.any():
            cb = c_[bad]
            up = hyp2f1(a_[bad], b_[bad], cb * (1.0 + _C_NUDGE), z_[bad])
            down = hyp2f1(a_[bad], b_[bad], cb * (1.0 - _C_NUDGE), z_[bad])
            out = out.copy()
            out[bad] = 0.5 * (up + down)
        # scipy also overflows for large b with z near 1 (e.g. 2F1(1, 169.5; 171.8; 0.998)
        # = inf, true value 91.4). For a = 1 and c > b > 0 every term of the power series
        # is positive and below the one before, so the series itself is the safe fallback.
        bad = ~np.isfinite(out) & (a_ == 1.0) & (c_ > b_) & (b_ > 0) & (z_ >= 0) & (z_ < 1)
        if bad.any():
            out = out.copy()
            out[bad] = _series_a1(b_[bad], c_[bad], z_[bad])
    return out


_CHUNK = 2048
_MAX_TERMS = 131_072


def _series_a1(
    b: npt.NDArray[np.float64], c: npt.NDArray[np.float64], z: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Sum 2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k, vectorised over the entries.

    The loop runs over chunks of terms, never over entries; it needs about
    ``35 / (1 - z)`` terms, and returns NaN where ``z`` is so close to 1 (above about
    0.9997) that more than 131,072 terms would be needed; the likelihood optimiser treats
    such a point as infeasible and steps back.
    """
    total = np.ones_like(z)
    term = np.ones_like(z)
    active = np.ones(z.shape, dtype=bool)
    k0 = 0
    while active.any() and k0 < _MAX_TERMS:
        k = np.arange(k0, k0 + _CHUNK, dtype=np.float64)[None, :]
        idx = np.flatnonzero(active)
        ratios = z[idx, None] * (b[idx, None] + k) / (c[idx, None] + k)
        terms = term[idx, None] * np.cumprod(ratios, axis=1)
        total[idx] += terms.sum(axis=1)
        term[idx] = terms[:, -1]
        active[idx] = term[idx] > 1e-17 * total[idx]
        k0 += _CHUNK
    total[active] = np.nan
    return total
