"""Segment maps: name RFM score cells. :class:`SegmentMap`, presets and summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import (
    check_param_number,
    coerce_number_series,
    exact_scale,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import ValidationError

__all__ = [
    "SEGMENT_MAPS",
    "SegmentCoverage",
    "SegmentMap",
    "assign_segments",
    "segment_summary",
]

_DIM_COLUMNS = {"r": "r_score", "f": "f_score", "m": "m_score", "fm": "fm_score"}
BoolArray = npt.NDArray[np.bool_]


class SegmentCoverage(NamedTuple):
    """What :meth:`SegmentMap.coverage` found.

    Attributes
    ----------
    unreachable : tuple of str
        Segments that never win a cell (every cell they match is taken by an earlier rule).
    uncovered : tuple of str
        Cell codes (score digits in the map's dimension order) no rule matches; customers
        there get the map's default label.
    overlaps : tuple of (str, tuple of str)
        Cells matched by several segments, with the segments in rule order (the first wins).
    """

    unreachable: tuple[str, ...]
    uncovered: tuple[str, ...]
    overlaps: tuple[tuple[str, tuple[str, ...]], ...]

    def _repr_html_(self) -> str:
        """Jupyter display: counts of the three findings, the unreachable segments, the
        uncovered cells and a table of overlapping cells (the first segment wins)."""
        from crmcore import _display as d

        pairs = [
            ("unreachable segments", ", ".join(self.unreachable) or "none"),
            (
                "uncovered cells",
                f"{len(self.uncovered):,}"
                + (f": {', '.join(self.uncovered[:20])}" if self.uncovered else "")
                + (", ..." if len(self.uncovered) > 20 else ""),
            ),
            ("cells matched by several segments", d.count(len(self.overlaps))),
        ]
        parts = [d.facts(pairs)]
        if self.overlaps:
            rows: list[list[str | d.Cell]] = [
                [code, d.Cell(names[0], align="left"), d.Cell(", ".join(names[1:]), align="left")]
                for code, names in self.overlaps
            ]
            parts.append(d.table(["wins", "also matches"], rows, index_header="cell"))
        return d.block("SegmentCoverage", *parts)


def _maps_to(value: Any, kind: type) -> bool:
    """True when `value` is a Mapping whose every value is a `kind` but not a str."""
    return isinstance(value, Mapping) and all(
        isinstance(v, kind) and not isinstance(v, str) for v in value.values()
    )


def _check_dims(dims: Sequence[str], who: str) -> tuple[str, ...]:
    if not isinstance(dims, Iterable) or isinstance(dims, Mapping):
        raise ValidationError(
            f"{who}: dims must be a sequence of names among {', '.join(_DIM_COLUMNS)}; "
            f"got {dims!r} ({type(dims).__name__})."
        )
    dims = tuple(dims)
    if not dims or any(d not in _DIM_COLUMNS for d in dims) or len(set(dims)) != len(dims):
        raise ValidationError(
            f"{who}: dims must be distinct names among {', '.join(_DIM_COLUMNS)}; got {dims!r}."
        )
    return dims


def _check_bins(bins: int | Sequence[int], n: int, who: str) -> tuple[int, ...]:
    if isinstance(bins, str) or not isinstance(bins, (int, np.integer, Sequence, np.ndarray)):
        raise ValidationError(
            f"{who}: bins must be a positive int or one positive int per dimension; "
            f"got {bins!r} ({type(bins).__name__})."
        )
    items = [bins] * n if isinstance(bins, (int, np.integer)) else list(bins)
    for b in items:
        check_param_number("bins", b, who=who, low=1, integer=True)
    out = tuple(int(b) for b in items)
    if len(out) != n:
        raise ValidationError(f"{who}: bins must be one positive int per dimension; got {bins!r}.")
    return out


class SegmentMap:
    """A first-match map from RFM score cells to segment names.

    Build one with :meth:`from_ranges` (inclusive score ranges per rule, like the R
    package rfm's ``rfm_segment``), :meth:`from_codes` (explicit code lists, like
    pymc-marketing) or :meth:`from_grid` (a 2-D table over R x F or R x FM). Rules are
    tried in order; a customer gets the first rule that matches, else `default`.

    Parameters
    ----------
    names : sequence of str
        One name per rule (a name may repeat to give a segment several rectangles).
    masks : array of bool, shape (len(names), *bins)
        ``masks[i][cell]`` is True where rule i matches; index ``s - 1`` for score s.
    dims : sequence of {"r", "f", "m", "fm"}
        Score dimensions, in the order of the mask axes.
    default : str or None
        Label of cells no rule matches; None makes such customers an error.

    Examples
    --------
    >>> seg = SegmentMap.from_ranges(
    ...     {"Best": {"r": (3, 3), "f": (2, 3)}, "Rest": {}}, dims=("r", "f"), bins=3)
    >>> seg.lookup(r=[3, 1], f=[3, 3])
    ['Best', 'Rest']
    >>> seg.coverage().uncovered
    ()
    """

    def __init__(
        self,
        names: Sequence[str],
        masks: npt.ArrayLike,
        *,
        dims: Sequence[str],
        default: str | None = "Other",
    ) -> None:
        who = "SegmentMap"
        self.dims = _check_dims(dims, who)
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise ValidationError(
                f"{who}: names must be a sequence of segment names (one per rule); "
                f"got {names!r} ({type(names).__name__})."
            )
        try:
            arr = np.asarray(masks, dtype=bool)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"{who}: masks must be an array of bool of shape (len(names), *bins); "
                f"got {type(masks).__name__} ({exc})."
            ) from None
        names = tuple(str(n) for n in names)
        if arr.ndim != len(self.dims) + 1 or arr.shape[0] != len(names):
            raise ValidationError(
                f"{who}: masks must have shape (len(names), *bins) = ({len(names)}, ...) "
                f"with {len(self.dims)} score axes; got {arr.shape}."
            )
        self.names = names
        self.bins: tuple[int, ...] = tuple(int(b) for b in arr.shape[1:])
        self.default = default
        self._masks = arr
        first = np.full(self.bins, -1, dtype=np.int64)
        for i in range(len(names) - 1, -1, -1):  # loop over rules, not customers
            first[arr[i]] = i
        self._first = first
        labels = list(dict.fromkeys(names))
        if default is not None and default not in labels:
            labels.append(default)
        self.labels: tuple[str, ...] = tuple(labels)

    def __repr__(self) -> str:
        return (
            f"SegmentMap({len(set(self.names))} segments, dims={self.dims}, bins={self.bins}, "
            f"default={self.default!r})"
        )

    def _repr_html_(self) -> str:
        """Jupyter display: the map as a grid of score cells, each named and coloured by
        its segment.

        Rows are the first dimension's scores (highest first), columns the second's; a map
        over more dimensions shows one grid per score of the others (e.g. one R x F grid
        per M score). Cells no rule covers show the default label in italics (or a dash
        when the map has none); a legend counts the cells per segment and names segments
        that never win a cell.
        """
        import itertools

        from crmcore import _display as d

        short = {"r": "R", "f": "F", "m": "M", "fm": "FM"}
        names = [short[dim] for dim in self.dims]
        colour = {
            label: d.segment_colour(i, len(self.labels)) for i, label in enumerate(self.labels)
        }
        if self.default is not None and self.default not in self.names:
            colour[self.default] = ""
        code_of = {label: i for i, label in enumerate(self.labels)}
        cells = np.full(self.bins, -1, dtype=np.int64)  # label index per cell, -1 uncovered
        hit = self._first >= 0
        rule_label = np.array([code_of[n] for n in self.names], dtype=np.int64)
        cells[hit] = rule_label[self._first[hit]]
        if self.default is not None:
            cells[~hit] = code_of[self.default]

        def cell(index: tuple[int, ...]) -> d.Cell:
            code = "".join(str(i + 1) for i in index)
            k = int(cells[index])
            if k < 0:
                return d.Cell("-", title=f"{code}: no rule, no default", align="center")
            label = self.labels[k]
            covered = bool(hit[index])
            return d.Cell(
                label,
                background=colour[label] or None,
                title=f"{code}: {label}" + ("" if covered else " (default)"),
                align="center",
                italic=not covered,
            )

        grids = []
        first = range(self.bins[0] - 1, -1, -1)
        second = range(self.bins[1]) if len(self.bins) > 1 else range(1)
        for rest in itertools.product(*(range(b) for b in self.bins[2:])):
            caption = ", ".join(f"{n} = {v + 1}" for n, v in zip(names[2:], rest, strict=True))
            if len(self.bins) == 1:
                header = [f"{names[0]}={i + 1}" for i in range(self.bins[0])]
                rows: list[list[str | d.Cell]] = [
                    ["segment", *(cell((i,)) for i in range(self.bins[0]))]
                ]
                corner = ""
            else:
                header = [f"{names[1]}={j + 1}" for j in second]
                rows = [
                    [f"{names[0]}={i + 1}", *(cell((i, j, *rest)) for j in second)] for i in first
                ]
                corner = f"{names[0]} \\ {names[1]}"
            grids.append(
                d.table(
                    header,
                    rows,
                    index_header=corner,
                    caption=caption or None,
                    header_align="center",
                )
            )
        counts = np.bincount(cells[cells >= 0].ravel(), minlength=len(self.labels))
        legend = d.table(
            ["cells"],
            [
                [d.Cell(label, background=colour[label] or None, align="left"), d.count(n)]
                for label, n in zip(self.labels, counts.tolist(), strict=True)
            ],
            index_header="segment",
        )
        coverage = self.coverage()
        warnings_ = []
        if coverage.unreachable:
            warnings_.append(
                "segments that never win a cell (earlier rules take all their cells): "
                + ", ".join(coverage.unreachable)
            )
        if coverage.uncovered and self.default is None:
            warnings_.append(
                f"{len(coverage.uncovered):,} cells match no rule and the map has no default "
                "(shown as -): assign_segments refuses customers there."
            )
        notes = ["Rules are tried in order; a cell takes the first segment that matches."]
        if self.default is not None:
            notes.append(f"Cells no rule matches get the default label {self.default!r} (italic).")
        wrap = '<div style="display:flex;flex-wrap:wrap;gap:0 1.5em;align-items:flex-start">'
        return d.block(
            "SegmentMap",
            d.code_line(repr(self)),
            wrap + "".join(grids) + "</div>",
            legend,
            notes=notes,
            warnings=warnings_,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SegmentMap):
            return NotImplemented
        return (
            self.names == other.names
            and self.dims == other.dims
            and self.default == other.default
            and np.array_equal(self._masks, other._masks)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_ranges(
        cls,
        rules: Mapping[str, Mapping[str, tuple[int, int]]]
        | Sequence[tuple[str, Mapping[str, tuple[int, int]]]],
        *,
        dims: Sequence[str] = ("r", "f", "m"),
        bins: int | Sequence[int] = 5,
        default: str | None = "Other",
    ) -> SegmentMap:
        """Rules of inclusive score ranges, e.g. ``{"Champions": {"r": (4, 5), "f": (4, 5)}}``.

        A dimension left out of a rule matches any score. Pass a list of
        ``(name, ranges)`` pairs to use one name for several rules.

        Examples
        --------
        >>> m = SegmentMap.from_ranges({"Top": {"r": (5, 5)}}, bins=5)
        >>> m.lookup(r=[5, 4], f=[1, 1], m=[1, 1])
        ['Top', 'Other']
        """
        who = "SegmentMap.from_ranges"
        dims = _check_dims(dims, who)
        shape = _check_bins(bins, len(dims), who)
        if isinstance(rules, Mapping):
            items = list(rules.items())
        elif isinstance(rules, Iterable) and not isinstance(rules, str):
            items = list(rules)
        else:
            items = None
        if items is None or any(
            not isinstance(item, tuple | list) or len(item) != 2 or not isinstance(item[1], Mapping)
            for item in items
        ):
            raise ValidationError(
                f"{who}: rules must map segment names to {{dim: (low, high)}} ranges, or be a "
                f"list of (name, ranges) pairs; got {rules!r}."
            )
        masks = np.ones((len(items), *shape), dtype=bool)
        grids = np.indices(shape) + 1
        for i, (name, ranges) in enumerate(items):
            for dim, bounds in ranges.items():
                if dim not in dims:
                    raise ValidationError(
                        f"{who}: rule {name!r} uses dimension {dim!r}, not in dims {dims}."
                    )
                if (
                    not isinstance(bounds, Sequence)
                    or isinstance(bounds, str)
                    or len(bounds) != 2
                    or any(
                        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in bounds
                    )
                ):
                    raise ValidationError(
                        f"{who}: rule {name!r} has {dim} range {bounds!r}; a range is a pair "
                        "of int scores (low, high)."
                    )
                lo, hi = int(bounds[0]), int(bounds[1])
                axis = dims.index(dim)
                if not 1 <= lo <= hi <= shape[axis]:
                    raise ValidationError(
                        f"{who}: rule {name!r} has {dim} range ({lo}, {hi}); it must satisfy "
                        f"1 <= lower <= upper <= {shape[axis]}."
                    )
                masks[i] &= (grids[axis] >= lo) & (grids[axis] <= hi)
        return cls([n for n, _ in items], masks, dims=dims, default=default)

    @classmethod
    def from_codes(
        cls,
        codes: Mapping[str, Iterable[str]],
        *,
        dims: Sequence[str] = ("r", "f", "m"),
        bins: int | Sequence[int] = 5,
        default: str | None = "Other",
    ) -> SegmentMap:
        """Explicit code lists, e.g. ``{"Premium": ["444", "443"]}`` (one digit per dim).

        Examples
        --------
        >>> m = SegmentMap.from_codes({"Top": ["44"]}, dims=("r", "f"), bins=4)
        >>> m.lookup(r=[4, 1], f=[4, 1])
        ['Top', 'Other']
        """
        who = "SegmentMap.from_codes"
        dims = _check_dims(dims, who)
        shape = _check_bins(bins, len(dims), who)
        if not _maps_to(codes, Iterable):
            raise ValidationError(
                f"{who}: codes must map segment names to lists of code strings, e.g. "
                f'{{"Premium": ["444", "443"]}}; got {codes!r}.'
            )
        names = list(codes)
        masks = np.zeros((len(names), *shape), dtype=bool)
        for i, name in enumerate(names):
            for code in codes[name]:
                text = str(code)
                digits = [int(c) for c in text] if text.isdigit() else []
                if len(digits) != len(dims) or any(
                    not 1 <= d <= b for d, b in zip(digits, shape, strict=True)
                ):
                    raise ValidationError(
                        f"{who}: segment {name!r} has code {text!r}; codes need one digit per "
                        f"dimension {dims} within bins {shape}."
                    )
                cell_index = (i, *(d - 1 for d in digits))
                masks[cell_index] = True
        return cls(names, masks, dims=dims, default=default)

    @classmethod
    def from_grid(
        cls,
        grid: Mapping[int, Sequence[str]],
        *,
        dims: Sequence[str] = ("r", "f"),
        default: str | None = None,
    ) -> SegmentMap:
        """A 2-D grid: ``grid[s1][s2 - 1]`` names the cell (first dim = s1, second = s2).

        Every first-dimension score 1..n must be a key and every row the same length.
        Segment order (for summaries) is the order of first appearance, rows taken from
        the highest first-dimension score down.

        Examples
        --------
        >>> m = SegmentMap.from_grid({2: ["New", "Best"], 1: ["Lost", "Lapsed"]})
        >>> m.lookup(r=[2, 1], f=[2, 1])
        ['Best', 'Lost']
        """
        who = "SegmentMap.from_grid"
        dims = _check_dims(dims, who)
        if len(dims) != 2:
            raise ValidationError(f"{who}: a grid has exactly two dims; got {dims!r}.")
        if not _maps_to(grid, Sequence):
            raise ValidationError(
                f"{who}: grid must map each first-dimension score to a list of segment names, "
                f'e.g. {{2: ["New", "Best"], 1: ["Lost", "Lapsed"]}}; got {grid!r}.'
            )
        n1 = len(grid)
        keys = list(grid)
        if (
            n1 == 0
            or set(keys) != set(range(1, n1 + 1))
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in keys)
        ):
            raise ValidationError(
                f"{who}: grid keys must be the scores 1..{max(n1, 1)}; got {keys!r}."
            )
        widths = {len(row) for row in grid.values()}
        if len(widths) != 1:
            raise ValidationError(f"{who}: grid rows differ in length ({sorted(widths)}).")
        n2 = widths.pop()
        names: list[str] = []
        for s1 in range(n1, 0, -1):
            for label in grid[s1]:
                if label not in names:
                    names.append(label)
        masks = np.zeros((len(names), n1, n2), dtype=bool)
        for s1, row in grid.items():
            for j, label in enumerate(row):
                masks[names.index(label), s1 - 1, j] = True
        return cls(names, masks, dims=dims, default=default)

    # -- use -----------------------------------------------------------------------------
    def lookup(self, **scores: Any) -> list[str]:
        """Segment names for scores given per dimension (small inputs; see assign_segments).

        Examples
        --------
        >>> SEGMENT_MAPS["rf-grid"].lookup(r=[5, 1], f=[5, 1])
        ['Champions', 'Hibernating']
        """
        who = "SegmentMap.lookup"
        if set(scores) != set(self.dims):
            raise ValidationError(
                f"{who}: pass one score array per dimension of the map ({', '.join(self.dims)}); "
                f"got {', '.join(sorted(scores)) or 'none'}."
            )
        arrays = []
        for d in self.dims:
            value = scores[d]
            if isinstance(value, str | bytes | Mapping) or value is None:
                raise ValidationError(
                    f"{who}: {d} must be whole scores (an int or a list of ints); got {value!r}."
                )
            try:
                flat = np.atleast_1d(np.asarray(value, dtype=object)).ravel()
            except (TypeError, ValueError):
                flat = np.array([value], dtype=object)
            numbers = coerce_number_series(pd.Series(flat, dtype=object), name=d, who=who)
            if (numbers != np.round(numbers)).any():
                raise ValidationError(f"{who}: {d} must be whole scores; got {value!r}.")
            arrays.append(numbers.astype(np.int64))
        if len({len(a) for a in arrays}) != 1:
            raise ValidationError(
                f"{who}: the score arrays differ in length "
                f"({', '.join(f'{d}: {len(a)}' for d, a in zip(self.dims, arrays, strict=True))})."
            )
        codes = self._codes(arrays, who=who, ids=None)
        return [self.labels[c] for c in codes]

    def _codes(
        self, arrays: list[npt.NDArray[np.int64]], *, who: str, ids: pd.Index | None
    ) -> npt.NDArray[np.int64]:
        for dim, arr, b in zip(self.dims, arrays, self.bins, strict=True):
            bad = (arr < 1) | (arr > b)
            if bad.any():
                where = "" if ids is None else f" (first ids: {format_ids(ids[bad])})"
                raise ValidationError(
                    f"{who}: {int(bad.sum()):,} {dim} scores lie outside 1..{b}, the map's "
                    f"range{where}. Hint: score with bins={b}."
                )
        rule = self._first[tuple(a - 1 for a in arrays)]
        label_of_rule = np.array([self.labels.index(n) for n in self.names], dtype=np.int64)
        out = np.empty(rule.shape, dtype=np.int64)
        hit = rule >= 0
        out[hit] = label_of_rule[rule[hit]] if len(label_of_rule) else 0
        if (~hit).any():
            if self.default is None:
                where = "" if ids is None else f" (first ids: {format_ids(ids[~hit])})"
                raise ValidationError(
                    f"{who}: {int((~hit).sum()):,} customers fall in cells no rule covers and "
                    f"the map has no default{where}."
                )
            out[~hit] = self.labels.index(self.default)
        return out

    def _rule_hits(self, cell: tuple[int, ...]) -> npt.NDArray[np.bool_]:
        flat = self._masks.reshape(len(self.names), -1)
        return flat[:, int(np.ravel_multi_index(cell, self.bins))]

    def coverage(self) -> SegmentCoverage:
        """Report unreachable segments, uncovered cells and overlapping rules.

        Examples
        --------
        >>> cov = SEGMENT_MAPS["putler"].coverage()
        >>> cov.unreachable, cov.uncovered, cov.overlaps
        ((), (), ())
        """
        winners = set(self._first[self._first >= 0].tolist())
        reached = {self.names[i] for i in winners}
        unreachable = tuple(n for n in dict.fromkeys(self.names) if n not in reached)
        cells = np.argwhere(self._first < 0)
        uncovered = tuple("".join(str(int(v) + 1) for v in cell) for cell in cells)
        counts = self._masks.sum(axis=0)
        overlaps = []
        for cell in np.argwhere(counts > 1):
            idx = tuple(int(v) for v in cell)
            hit = tuple(dict.fromkeys(self.names[i] for i in np.flatnonzero(self._rule_hits(idx))))
            if len(hit) > 1:
                overlaps.append(("".join(str(v + 1) for v in idx), hit))
        return SegmentCoverage(unreachable, uncovered, tuple(overlaps))


def assign_segments(scores: Any, segment_map: SegmentMap | str) -> pd.Series:
    """Label each customer with its segment.

    Parameters
    ----------
    scores : DataFrame
        An :func:`rfm_scores` output (columns ``r_score``, ``f_score``, ``m_score``,
        ``fm_score`` as the map needs).
    segment_map : SegmentMap or str
        A map or the name of a preset in :data:`SEGMENT_MAPS`.

    Returns
    -------
    pandas.Series
        Categorical labels named ``segment``, aligned with ``scores.index``; categories
        in the map's segment order, then its default label.

    Raises
    ------
    ValidationError
        If `segment_map` is neither a SegmentMap nor a preset name, a score is not a whole
        number or lies outside the map's bins, or a cell is uncovered and the map has no
        default.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"r_score": [5, 1], "f_score": [5, 1]}, index=["a", "b"])
    >>> assign_segments(scores, "rf-grid").tolist()
    ['Champions', 'Hibernating']
    """
    who = "assign_segments"
    if isinstance(segment_map, str):
        if segment_map not in SEGMENT_MAPS:
            raise ValidationError(
                f"{who}: unknown preset {segment_map!r}; choose one of "
                f"{', '.join(repr(k) for k in SEGMENT_MAPS)} or pass a SegmentMap."
            )
        segment_map = SEGMENT_MAPS[segment_map]
    if not isinstance(segment_map, SegmentMap):
        raise ValidationError(
            f"{who}: segment_map must be a SegmentMap or the name of a preset "
            f"({', '.join(repr(k) for k in SEGMENT_MAPS)}); got {segment_map!r} "
            f"({type(segment_map).__name__})."
        )
    data = to_pandas(scores, who=who)
    cols = [_DIM_COLUMNS[d] for d in segment_map.dims]
    require_columns(data, cols, who=who)
    arrays = []
    for col in cols:
        values = coerce_number_series(data[col], name=col, who=who, ids=data.index)
        if (values != np.round(values)).any():
            raise ValidationError(f"{who}: column {col!r} must hold whole scores without gaps.")
        arrays.append(values.astype(np.int64))
    codes = segment_map._codes(arrays, who=who, ids=data.index)
    labels = pd.Categorical.from_codes(codes, categories=pd.Index(list(segment_map.labels)))
    return cast("pd.Series", pd.Series(labels, index=data.index, name="segment"))


def segment_summary(
    table: Any,
    segments: pd.Series,
    *,
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
    recency_col: str = "recency_days",
) -> pd.DataFrame:
    """Customers, orders, revenue, revenue share and mean recency per segment.

    Parameters
    ----------
    table : DataFrame
        The :func:`rfm_table` the segments were computed from.
    segments : pandas.Series
        :func:`assign_segments` output, indexed by the same customers.

    Returns
    -------
    pandas.DataFrame
        Indexed by segment (all categories, empty ones with zeros): ``customers``,
        ``orders`` (sum of frequency), ``revenue``, ``revenue_share`` (of the total) and
        ``mean_recency_days`` (customers without purchases left out).

    Notes
    -----
    Revenue is ``monetary`` summed, or ``monetary * frequency`` when the table was built
    with ``monetary="mean"`` (read from ``table.attrs``).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [1.0, 3.0, 9.0], "frequency": [3, 2, 1],
    ...                       "monetary": [60.0, 30.0, 10.0]}, index=["a", "b", "c"])
    >>> segs = pd.Series(pd.Categorical(["Top", "Top", "Low"], ["Top", "Low"]),
    ...                  index=["a", "b", "c"])
    >>> segment_summary(table, segs)
             customers  orders  revenue  revenue_share  mean_recency_days
    segment
    Top              2       5     90.0            0.9                2.0
    Low              1       1     10.0            0.1                9.0
    """
    who = "segment_summary"
    data = to_pandas(table, who=who)
    require_columns(data, [frequency_col, monetary_col, recency_col], who=who)
    if not isinstance(segments, pd.Series):
        raise ValidationError(f"{who}: segments must be a pandas Series from assign_segments.")
    if len(segments) != len(data) or not segments.index.equals(data.index):
        missing = data.index.difference(segments.index)
        if len(missing) or len(segments) != len(data):
            raise ValidationError(
                f"{who}: segments and table must index the same customers; {len(missing):,} "
                f"table customers have no segment (first: {format_ids(missing)})."
            )
        segments = segments.reindex(data.index)
    ids = data.index
    monetary = coerce_number_series(data[monetary_col], name=monetary_col, who=who, ids=ids)
    frequency = coerce_number_series(data[frequency_col], name=frequency_col, who=who, ids=ids)
    not_count = (frequency != np.round(frequency)) | (np.abs(frequency) > 2.0**53)
    if not_count.any():
        raise ValidationError(
            f"{who}: column {frequency_col!r} must hold whole order counts; "
            f"{int(not_count.sum()):,} values are not (first ids: {format_ids(ids[not_count])}).",
            rule="column must hold whole order counts",
            column=frequency_col,
            count=int(not_count.sum()),
            first_ids=ids[not_count][:5],
        )
    # recency is NaN for customers without purchases (rfm_table with `customers`)
    recency = coerce_number_series(
        data[recency_col], name=recency_col, who=who, ids=ids, allow_missing=True
    )
    per_order = data.attrs.get("monetary") == "mean"
    seg = segments.astype("category") if segments.dtype != "category" else segments
    frame = pd.DataFrame(
        {
            "segment": seg.to_numpy(),
            "orders": frequency.astype(np.int64),
            "revenue": monetary * frequency if per_order else monetary,
            "recency": recency,
        }
    )
    frame["segment"] = pd.Categorical(frame["segment"], categories=seg.cat.categories)
    grouped = frame.groupby("segment", observed=False, sort=True)
    with np.errstate(over="ignore", invalid="ignore"):
        revenue = grouped["revenue"].sum().astype(np.float64)
        mean_recency = grouped["recency"].mean().astype(np.float64)
        total = float(revenue.sum())
    scale = 1.0
    if not (np.isfinite(revenue).all() and np.isfinite(total)):
        # amounts near 1e308 overflow the sums: sum them scaled by a power of two (exact)
        scale = exact_scale(monetary)
        frame["revenue"] = (monetary / scale) * frequency if per_order else monetary / scale
        regrouped = frame.groupby("segment", observed=False, sort=True)["revenue"]
        revenue = regrouped.sum().astype(np.float64)
        total = float(revenue.sum())
    has_recency = grouped["recency"].count().to_numpy() > 0
    if not np.isfinite(mean_recency.to_numpy()[has_recency]).all():
        r_scale = exact_scale(recency[~np.isnan(recency)])
        frame["recency"] = recency / r_scale
        scaled = frame.groupby("segment", observed=False, sort=True)["recency"].mean()
        mean_recency = scaled.astype(np.float64) * r_scale
    with np.errstate(over="ignore"):
        revenue_out = revenue * scale
    overflow = ~np.isfinite(revenue_out.to_numpy())
    if overflow.any():
        raise ValidationError(
            f"{who}: the revenue of {int(overflow.sum()):,} segments exceeds the float64 "
            f"range (about 1.8e308) (first: {format_ids(revenue_out.index[overflow])}). "
            "Hint: express amounts in a larger unit (e.g. thousands)."
        )
    out = pd.DataFrame(
        {
            "customers": grouped.size().astype(np.int64),
            "orders": grouped["orders"].sum().astype(np.int64),
            "revenue": revenue_out,
        }
    )
    out["revenue_share"] = revenue / total if total != 0 else np.nan
    out["mean_recency_days"] = mean_recency
    out.index = pd.Index([str(i) for i in out.index], name="segment")
    return cast("pd.DataFrame", out)


# ------------------------------------------------------------------------------ presets

#: The README / vignette rules of the R package rfm 0.3 (``rfm_segment`` example);
#: first match wins, unmatched customers are "Others" as in R.
_R_RFM_RULES: list[tuple[str, Mapping[str, tuple[int, int]]]] = [
    (name, {"r": (rl, ru), "f": (fl, fu), "m": (ml, mu)})
    for name, rl, ru, fl, fu, ml, mu in [
        ("Champions", 5, 5, 5, 5, 5, 5),
        ("Potential Loyalist", 3, 5, 3, 5, 2, 5),
        ("Loyal Customers", 2, 4, 2, 4, 2, 4),
        ("Promising", 3, 4, 1, 3, 3, 5),
        ("New Customers", 4, 5, 1, 3, 1, 5),
        ("Can't Lose Them", 1, 2, 3, 4, 4, 5),
        ("At Risk", 1, 2, 2, 5, 4, 5),
        ("Need Attention", 1, 3, 3, 5, 3, 5),
        ("About To Sleep", 2, 3, 1, 3, 1, 4),
        ("Lost", 1, 1, 1, 5, 1, 5),
    ]
]

#: The common 10-segment R x F grid (rows R = 5..1, columns F = 1..5).
_RF_GRID: dict[int, list[str]] = {
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers",
        "Loyal Customers"],
    3: ["About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers",
        "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}  # fmt: skip

#: Putler's 11-segment chart over R x FM as explicit cells (rows R = 5..1, FM = 1..5).
_PUTLER_GRID: dict[int, list[str]] = {
    5: ["Recent Customers", "Potential Loyalist", "Potential Loyalist", "Loyal Customers",
        "Champions"],
    4: ["Promising", "Potential Loyalist", "Potential Loyalist", "Loyal Customers",
        "Champions"],
    3: ["About To Sleep", "Need Attention", "Need Attention", "Loyal Customers",
        "Loyal Customers"],
    2: ["Hibernating", "About To Sleep", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "Can't Lose Them", "Can't Lose Them"],
}  # fmt: skip

#: pymc-marketing's ``_default_rfm_segment_config`` (quartile codes R, F, M).
_PYMC_CODES: dict[str, list[str]] = {
    "Premium Customer": ["334", "443", "444", "344", "434", "433", "343", "333"],
    "Repeat Customer": ["244", "234", "232", "332", "143", "233", "243"],
    "Top Spender": ["424", "414", "144", "314", "324", "124", "224", "423", "413", "133",
                    "323", "313", "134"],
    "At Risk Customer": ["422", "223", "212", "122", "222", "132", "322", "312", "412",
                         "123", "214"],
    "Inactive Customer": ["411", "111", "113", "114", "112", "211", "311"],
}  # fmt: skip

#: Preset segment maps by name.
SEGMENT_MAPS: dict[str, SegmentMap] = {
    "r-rfm": SegmentMap.from_ranges(_R_RFM_RULES, dims=("r", "f", "m"), bins=5, default="Others"),
    "rf-grid": SegmentMap.from_grid(_RF_GRID, dims=("r", "f")),
    "putler": SegmentMap.from_grid(_PUTLER_GRID, dims=("r", "fm")),
    "pymc-marketing": SegmentMap.from_codes(
        _PYMC_CODES, dims=("r", "f", "m"), bins=4, default="Other"
    ),
}
