"""Pure ndarray kernels for RFM binning (no pandas).

Every function takes and returns numpy arrays; none loops over customers.

Examples
--------
>>> import numpy as np
>>> edges = quantile_edges(np.arange(1.0, 11.0), 5)
>>> edges.tolist()
[2.8, 4.6, 6.4, 8.2]
>>> bin_right_closed(np.array([1.0, 2.8, 2.9, 10.0]), edges).tolist()
[1, 1, 2, 5]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "bin_left_closed",
    "bin_right_closed",
    "quantile_edges",
    "r_quantile_type7",
    "r_rfm_breaks",
    "rank_bins",
    "tiebreak_keys",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def quantile_edges(values: FloatArray, bins: int) -> FloatArray:
    """Inner quantile edges at probabilities k/bins, k = 1..bins-1 (linear interpolation).

    This is Hyndman & Fan's type 7 (numpy's ``"linear"``, pandas' ``qcut``). Edges are not
    de-duplicated here.

    Examples
    --------
    >>> quantile_edges(np.array([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [2.5]
    """
    probs = np.arange(1, bins, dtype=np.float64) / bins
    return np.asarray(np.quantile(values, probs, method="linear"), dtype=np.float64)


def r_quantile_type7(values: FloatArray, probs: FloatArray) -> FloatArray:
    """R's ``quantile(x, probs, type = 7)`` computed with R's own arithmetic.

    R takes ``index = 1 + (n - 1) * p``, ``lo = floor(index)``, ``h = index - lo`` and
    returns ``(1 - h) * x[lo] + h * x[hi]`` only where ``index > lo`` and the two order
    statistics differ; elsewhere ``x[lo]``. Reproducing this form (rather than numpy's
    ``a + (b - a) * h``) keeps the last bit identical, which matters when a break lands
    on an integer.

    Examples
    --------
    >>> r_quantile_type7(np.array([3.0, 1.0, 2.0, 4.0]), np.array([0.0, 0.5, 1.0])).tolist()
    [1.0, 2.5, 4.0]
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    index = (n - 1) * np.asarray(probs, dtype=np.float64)  # 0-based
    lo = np.floor(index).astype(np.int64)
    hi = np.ceil(index).astype(np.int64)
    qs = x[lo].copy()
    h = index - lo
    interpolate = (index > lo) & (x[hi] != qs)
    qs[interpolate] = (1 - h[interpolate]) * qs[interpolate] + h[interpolate] * x[hi[interpolate]]
    return np.asarray(qs, dtype=np.float64)


def r_rfm_breaks(values: FloatArray, bins: int) -> FloatArray:
    """Breaks of the R package rfm (``bins()`` in its ``utils.R``): inner type-7 quantiles + 1.

    Probabilities are ``seq(0, 1, length.out = bins + 1)`` without the two ends.

    Examples
    --------
    >>> r_rfm_breaks(np.arange(1.0, 11.0), 5).tolist()
    [3.8, 5.6, 7.4, 9.2]
    """
    probs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return r_quantile_type7(values, probs) + 1.0


def bin_right_closed(values: FloatArray, edges: FloatArray) -> IntArray:
    """Bin number 1..len(edges)+1 with bins ``(e[j-1], e[j]]`` (a value on an edge goes down).

    The lowest bin is open to the left, the highest to the right (like ``pandas.qcut``
    with ``include_lowest=True``, extended to values outside the fitted range).

    Examples
    --------
    >>> bin_right_closed(np.array([0.0, 1.0, 1.5, 9.0]), np.array([1.0, 2.0])).tolist()
    [1, 1, 2, 3]
    """
    return (np.searchsorted(edges, values, side="left") + 1).astype(np.int64)


def bin_left_closed(values: FloatArray, edges: FloatArray) -> IntArray:
    """Bin number 1..len(edges)+1 with bins ``[e[j-1], e[j])`` (a value on an edge goes up).

    This is the R package rfm's rule ``x >= lower & x < upper``.

    Examples
    --------
    >>> bin_left_closed(np.array([0.0, 1.0, 1.5, 9.0]), np.array([1.0, 2.0])).tolist()
    [1, 2, 2, 3]
    """
    return (np.searchsorted(edges, values, side="right") + 1).astype(np.int64)


def tiebreak_keys(id_rank: IntArray, ties: str, random_state: Any = None) -> IntArray:
    """Keys that order tied rows for the forced-rank tie policies.

    ``"rank"``: ascending customer id (`id_rank` is each row's 0-based rank in id order).
    ``"random"``: a seeded random order attached to the ids, not to the row positions, so
    permuting the input rows never changes the result.

    Examples
    --------
    >>> tiebreak_keys(np.array([2, 0, 1]), "rank").tolist()
    [2, 0, 1]
    >>> a = tiebreak_keys(np.array([2, 0, 1]), "random", 7)
    >>> b = tiebreak_keys(np.array([0, 1, 2]), "random", 7)
    >>> a.tolist() == b[[2, 0, 1]].tolist()
    True
    """
    if ties == "random":
        permutation = np.random.default_rng(random_state).permutation(id_rank.size)
        return np.asarray(permutation, dtype=np.int64)[id_rank]
    return np.asarray(id_rank, dtype=np.int64)


def rank_bins(values: FloatArray, bins: int, tiebreak: npt.NDArray[np.int64]) -> IntArray:
    """Equal-count bins by forced rank: ``floor(rank * bins / n) + 1``.

    Rows are ranked by `values`, then by `tiebreak` (smaller key first); every bin gets
    ``n // bins`` or ``n // bins + 1`` rows, like SQL ``NTILE``.

    Examples
    --------
    >>> rank_bins(np.array([5.0, 5.0, 5.0, 5.0]), 2, np.array([3, 2, 1, 0])).tolist()
    [2, 2, 1, 1]
    """
    n = values.size
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    order = np.lexsort((tiebreak, values))
    ranks = np.arange(n, dtype=np.int64)
    out[order] = ranks * bins // n + 1
    return out
