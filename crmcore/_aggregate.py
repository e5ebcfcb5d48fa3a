"""The eager kernel layer: order rows to per-group tables with numpy arrays.

Every aggregation from order rows to per-customer (or per-period) tables of an *eager*
frame (pandas, Polars, PyArrow) pulls the few columns it needs as numpy arrays once and
runs on these kernels (see "Scale: two engines, one contract" in DESIGN.md):

- :func:`factorize_ids` turns customer ids into dense int64 codes ``0..n-1`` in the
  sorted order of the distinct ids (compact integer ids by offset, Polars and PyArrow
  text by the engine's own dense rank / dictionary encoding, anything else by hashing);
- :func:`group_counts`, :func:`group_sums`: ``np.bincount``;
- :func:`group_min_max`: per-group minimum and maximum of integer values (day numbers
  of :mod:`crmcore._periods`) by ``np.minimum.at`` / ``np.maximum.at``;
- :func:`distinct_counts`: distinct (group, value) pairs from one sort of packed int64
  keys, with the first and last value of each group on the way.

The functions are pure (inputs are never modified), take and return numpy arrays, do no
validation (the frame edge, :mod:`crmcore._validation` and :mod:`crmcore._orderlog`,
has done it) and hold no Python loop over rows or groups.

Examples
--------
>>> import numpy as np
>>> codes, ids = factorize_ids(np.array(["b", "a", "b", "c"], dtype=object))
>>> codes.tolist(), ids.tolist()
([1, 0, 1, 2], ['a', 'b', 'c'])
>>> days = np.array([3, 5, 3, 9])
>>> distinct_counts(codes, days, 3)[0].tolist()
[1, 1, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "consecutive_gap_sums",
    "distinct_counts",
    "distinct_pairs",
    "factorize_ids",
    "group_counts",
    "group_min_max",
    "group_sums",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _compact_int_codes(ids: npt.NDArray[Any]) -> tuple[IntArray, npt.NDArray[Any]] | None:
    """Codes of integer ids by offset from the minimum when the range is small, else None."""
    if ids.dtype.kind not in "iu" or ids.size == 0:
        return None
    lo, hi = int(ids.min()), int(ids.max())
    if hi - lo >= 4 * ids.size + 1024:
        return None
    offsets = ids.astype(np.int64, copy=False)
    if lo != 0:
        offsets = offsets - lo
    present = np.bincount(offsets, minlength=hi - lo + 1) > 0
    if present.all():
        return offsets, np.arange(lo, hi + 1, dtype=np.int64).astype(ids.dtype)
    lookup = np.cumsum(present) - 1
    uniques = (np.flatnonzero(present) + lo).astype(ids.dtype)
    return np.asarray(lookup[offsets], dtype=np.int64), uniques


def _native_text_codes(values: Any) -> tuple[IntArray, npt.NDArray[Any]] | None:
    """Dense sorted codes of a Polars or PyArrow text column on its own engine, else None."""
    module = type(values).__module__.split(".")[0]
    if module == "polars":
        import polars as pl

        if values.dtype not in (pl.String, pl.Categorical, pl.Enum):
            return None
        text = values.cast(pl.String)
        try:
            # Arrow's hash dictionary encoding, then a sort of the distinct ids only: about
            # 4x faster than a dense rank, which sorts every row's string (2M rows)
            return _native_text_codes(text.to_arrow())
        except ImportError:  # pragma: no cover - polars without pyarrow
            pass
        codes = (text.rank("dense") - 1).cast(pl.Int64).to_numpy()
        uniques = text.unique().sort().to_numpy()
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)
    if module == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        if not (
            pa.types.is_string(values.type)
            or pa.types.is_large_string(values.type)
            or pa.types.is_string_view(values.type)
        ):
            return None
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()
        dictionary = encoded.dictionary
        order = np.asarray(pc.sort_indices(dictionary).to_numpy(), dtype=np.int64)
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size, dtype=np.int64)
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        uniques = np.asarray(dictionary.take(pa.array(order)).to_pylist(), dtype=object)
        return rank[indices], uniques
    return None


def factorize_ids(values: Any) -> tuple[IntArray, npt.NDArray[Any]]:
    """Dense codes of ids, numbered in the sorted order of the distinct ids.

    Parameters
    ----------
    values : numpy array, or a pandas, Polars or PyArrow series / array
        The ids, without missing values. Polars and PyArrow text columns are encoded on
        their own engine (dense rank, dictionary encoding), so no Python string object is
        made per row; compact integer ids are coded by offset (no hashing).

    Returns
    -------
    codes : numpy.ndarray of int64
        ``codes[i]`` is the position of ``values[i]`` in `uniques` (for int64 ids
        ``0..n-1`` that are all present, `values` itself: treat it as read-only).
    uniques : numpy.ndarray
        The distinct ids, sorted ascending (text as Python ``str`` objects).

    Notes
    -----
    Other inputs go through ``pandas.factorize(sort=True)``, which also sorts ids that
    mix text and numbers (where ``np.unique`` raises).

    Examples
    --------
    >>> import numpy as np
    >>> codes, uniques = factorize_ids(np.array([30, 10, 30, 20]))
    >>> codes.tolist(), uniques.tolist()
    ([2, 0, 2, 1], [10, 20, 30])
    """
    native = _native_text_codes(values)
    if native is not None:
        return native
    array = values if isinstance(values, np.ndarray) else np.asarray(_to_numpy(values))
    compact = _compact_int_codes(array)
    if compact is not None:
        return compact
    import pandas as pd

    codes, uniques = pd.factorize(array, sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques)


def _to_numpy(values: Any) -> Any:
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is None:
        return values
    if type(values).__module__.split(".")[0] == "pyarrow":
        return to_numpy(zero_copy_only=False)
    return to_numpy()


def group_counts(codes: IntArray, n_groups: int) -> IntArray:
    """Rows per group: ``np.bincount(codes, minlength=n_groups)``.

    Examples
    --------
    >>> group_counts(np.array([0, 2, 2]), 4).tolist()
    [1, 0, 2, 0]
    """
    return np.asarray(np.bincount(codes, minlength=n_groups), dtype=np.int64)


def group_sums(codes: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Sum of `values` per group (float64; an empty group sums to 0.0), nearly exact.

    Notes
    -----
    A plain ``np.bincount`` adds in row order, so the last bits of a sum would depend on
    the row order and differ from a pandas (Kahan-compensated) group-by sum; equal totals
    then fall on different sides of a quantile edge. Here each value is split without
    error into a high part on a grid ``g`` (a power of two with ``n * max|value| < 2**51 g``)
    and the remainder ``value - high`` (``|remainder| <= g / 2``): the high parts sum
    exactly in any order, the remainders carry an error far below one unit in the last
    place of the total, and the total is rounded once. Values whose products overflow
    (sums near 1e308) are summed plainly; the caller rescales those.

    Examples
    --------
    >>> group_sums(np.array([0, 2, 2]), np.array([1.5, 2.0, 3.0]), 3).tolist()
    [1.5, 0.0, 5.0]
    >>> group_sums(np.zeros(3, dtype=np.int64), np.array([0.1, 0.2, 0.3]), 1).tolist()
    [0.6]
    >>> [0.1 + 0.2 + 0.3]  # row-order float addition
    [0.6000000000000001]
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if values.size == 0:
            return np.zeros(n_groups, dtype=np.float64)
        bound = max(float(values.max()), -float(values.min())) * values.size
        exponent = np.frexp(bound)[1] if np.isfinite(bound) and bound > 0 else None
        if exponent is None or exponent - 52 < -1000:
            return np.asarray(
                np.bincount(codes, weights=values, minlength=n_groups), dtype=np.float64
            )
        # |value| < 2**e, so value + 1.5 * 2**(e + 1) stays in one binade, whose spacing is
        # the grid 2**(e - 51): adding and subtracting the constant rounds to the grid
        shift = float(np.ldexp(1.5, int(exponent) + 1))
        part = values + shift
        part -= shift  # the high parts
        exact = np.bincount(codes, weights=part, minlength=n_groups)
        np.subtract(values, part, out=part)  # the remainders, in the same buffer
        rest = np.bincount(codes, weights=part, minlength=n_groups)
        return np.asarray(exact + rest, dtype=np.float64)


def group_min_max(codes: IntArray, values: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """Minimum and maximum of integer `values` per group.

    Returns
    -------
    minimum, maximum : numpy.ndarray of int64
        An empty group holds the int64 maximum and minimum respectively.

    Examples
    --------
    >>> lo, hi = group_min_max(np.array([1, 0, 1]), np.array([7, 3, 2]), 2)
    >>> lo.tolist(), hi.tolist()
    ([3, 2], [3, 7])
    """
    info = np.iinfo(np.int64)
    lo = np.full(n_groups, info.max, dtype=np.int64)
    hi = np.full(n_groups, info.min, dtype=np.int64)
    np.minimum.at(lo, codes, values)
    np.maximum.at(hi, codes, values)
    return lo, hi


def distinct_counts(
    codes: IntArray, values: IntArray, n_groups: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct `values` per group, with each group's first and last value.

    Parameters
    ----------
    codes : numpy.ndarray of int64
        Group codes ``0..n_groups-1`` (from :func:`factorize_ids`).
    values : numpy.ndarray of int64
        Integer values, e.g. day numbers of :func:`crmcore._periods.period_numbers`.
    n_groups : int
        Number of groups.

    Returns
    -------
    count, first, last : numpy.ndarray of int64
        Distinct values, minimum and maximum per group (0, 0, 0 for an empty group).

    Notes
    -----
    One sort of packed keys ``code * width + (value - min)``, ``width`` the range of the
    values (int32 keys when they fit: half the memory traffic); duplicates dropped, and each
    group's run of keys found by one ``searchsorted`` of its bounds ``g * width``. For
    ranges too wide to pack, a lexsort of the two columns.

    Examples
    --------
    >>> count, first, last = distinct_counts(np.array([0, 0, 0, 1]), np.array([5, 2, 5, 9]), 2)
    >>> count.tolist(), first.tolist(), last.tolist()
    ([2, 1], [2, 9], [5, 9])
    """
    count = np.zeros(n_groups, dtype=np.int64)
    first = np.zeros(n_groups, dtype=np.int64)
    last = np.zeros(n_groups, dtype=np.int64)
    if codes.size == 0:
        return count, first, last
    v_lo = int(values.min())
    width = int(values.max()) - v_lo + 1
    if n_groups * width < 2**62:
        kind = np.int32 if n_groups * width < 2**31 else np.int64
        # wrapping (mod 2**bits) arithmetic is exact here: the true keys fit in `kind`
        keys = codes.astype(kind)
        keys *= kind(width)
        np.add(keys, values, out=keys, casting="unsafe")
        keys -= np.array(v_lo).astype(kind)
        keys.sort()
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        # group g owns the sorted keys in [g * width, (g + 1) * width): its run bounds come
        # from one searchsorted per group, so no key is divided
        bounds = np.searchsorted(keys, np.arange(n_groups + 1, dtype=kind) * kind(width))
        count[:] = np.diff(bounds)
        present = np.flatnonzero(count)
        base = present * width - v_lo
        first[present] = keys[bounds[present]].astype(np.int64) - base
        last[present] = keys[bounds[present + 1] - 1].astype(np.int64) - base
        return count, first, last
    order = np.lexsort((values, codes))
    c_sorted, v_sorted = codes[order], values[order]
    new = np.concatenate(
        ([True], (c_sorted[1:] != c_sorted[:-1]) | (v_sorted[1:] != v_sorted[:-1]))
    )
    group, value = c_sorted[new], v_sorted[new]
    count += np.bincount(group, minlength=n_groups)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    ends = np.concatenate((starts[1:] - 1, [group.size - 1]))
    first[group[starts]] = value[starts]
    last[group[starts]] = value[ends]
    return count, first, last


def distinct_pairs(codes: IntArray, values: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """The distinct (group, value) pairs of two integer columns, sorted by group, then value.

    Parameters
    ----------
    codes : numpy.ndarray of int64
        Group codes ``0..n_groups-1`` (from :func:`factorize_ids`).
    values : numpy.ndarray of int64
        Integer values, e.g. period numbers of :func:`crmcore._periods.period_numbers`.
    n_groups : int
        Number of groups.

    Returns
    -------
    group, value : numpy.ndarray of int64
        One entry per distinct pair (``np.bincount(group)`` is the distinct count per group).

    Notes
    -----
    Pairs are packed into ``code * width + (value - min)``, ``width`` the range of the
    values. When the ``n_groups * width`` grid is small against the rows (at most
    ``8 * rows + 2**20`` cells: monthly or weekly ages of customers) the pairs are marked in
    a boolean grid and read back in order, with no sort; otherwise the packed keys are
    sorted once (int32 keys when they fit) and duplicates dropped, and ranges too wide to
    pack fall back to a lexsort of the two columns.

    Examples
    --------
    >>> group, value = distinct_pairs(np.array([1, 0, 1, 1]), np.array([4, 2, 4, 3]), 2)
    >>> group.tolist(), value.tolist()
    ([0, 1, 1], [2, 3, 4])
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    v_lo = int(values.min())
    width = int(values.max()) - v_lo + 1
    cells = n_groups * width
    if cells <= 8 * codes.size + 2**20:
        seen = np.zeros(cells, dtype=bool)
        keys = codes * width
        keys += values
        if v_lo:
            keys -= v_lo
        seen[keys] = True
        found = np.flatnonzero(seen)
        group, offset = np.divmod(found, width)
        return group.astype(np.int64, copy=False), offset + v_lo
    if cells < 2**62:
        kind = np.int32 if cells < 2**31 else np.int64
        packed = codes.astype(kind)
        packed *= kind(width)
        np.add(packed, values, out=packed, casting="unsafe")
        packed -= np.array(v_lo).astype(kind)
        packed.sort()
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
        group, offset = np.divmod(packed.astype(np.int64), width)
        return group, offset + v_lo
    order = np.lexsort((values, codes))
    c_sorted, v_sorted = codes[order], values[order]
    new = np.concatenate(
        ([True], (c_sorted[1:] != c_sorted[:-1]) | (v_sorted[1:] != v_sorted[:-1]))
    )
    return c_sorted[new], v_sorted[new]


def consecutive_gap_sums(
    group: IntArray, values: IntArray, n_groups: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Gaps between consecutive values within each group: their count, sum and sum of squares.

    Parameters
    ----------
    group, values : numpy.ndarray of int64
        Pairs sorted by group, then value (e.g. the distinct (customer, day) pairs of
        :func:`distinct_pairs`); a gap is ``values[i + 1] - values[i]`` where both rows
        belong to the same group.
    n_groups : int
        Number of groups.

    Returns
    -------
    count, total, total_sq : numpy.ndarray of int64
        Per group: the number of gaps, their sum (``last - first``) and the sum of their
        squares (all 0 for a group with fewer than two rows).

    Notes
    -----
    Exact integer results: each squared gap is summed by ``np.bincount`` in float64, which
    is exact while a group's sum of squares stays below ``2**53`` (gaps of day numbers:
    any span under 260,000 years). With these three sums the population variance of a
    group's gaps is the exact integer ratio ``(count * total_sq - total**2) / count**2``.

    Examples
    --------
    >>> group, value = np.array([0, 0, 0, 0, 1]), np.array([1, 32, 61, 92, 5])
    >>> count, total, total_sq = consecutive_gap_sums(group, value, 3)
    >>> count.tolist(), total.tolist(), total_sq.tolist()
    ([3, 0, 0], [91, 0, 0], [2763, 0, 0])
    """
    same = group[1:] == group[:-1]
    owner = group[1:][same]
    gaps = (values[1:] - values[:-1])[same]
    count = np.bincount(owner, minlength=n_groups).astype(np.int64)
    total = np.bincount(owner, weights=gaps, minlength=n_groups).astype(np.int64)
    squares = gaps.astype(np.float64)
    squares *= squares
    total_sq = np.bincount(owner, weights=squares, minlength=n_groups).astype(np.int64)
    return count, total, total_sq
