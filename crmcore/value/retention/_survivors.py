"""Survivor tables of the contractual retention models: parsing and validation.

One reader for the survivor counts that :class:`~crmcore.value.ShiftedBetaGeoModel`,
:class:`~crmcore.value.BetaDiscreteWeibullModel` and the residual-value functions accept: a
sequence of counts, a list of such sequences (one per cohort) or a cohort x period table
(``layout="age"`` rows start at period 0, ``layout="calendar"`` is a staircase of calendar
periods). All problems of a table are collected and reported at once (the first five).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore.exceptions import ValidationError

__all__ = ["parse_survivors"]

FloatArray = npt.NDArray[np.float64]

_LAYOUTS = ("age", "calendar")
_MAX_PROBLEMS = 5
_MAX_COUNT = 2.0**53  # whole numbers above this are not exact in float64


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real | np.number) and not isinstance(value, bool)


def _rows_from_frame(frame: pd.DataFrame, *, who: str, layout: str) -> list[tuple[Any, FloatArray]]:
    try:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{who}: the survivor table must hold numbers (NaN where a cohort is not "
            f"observed); {exc}."
        ) from None
    columns = list(frame.columns)
    rows: list[tuple[Any, FloatArray]] = []
    problems: list[str] = []
    for label, row in zip(frame.index, values, strict=True):
        observed = ~np.isnan(row)
        if not observed.any():
            problems.append(f"cohort {label} has no counts")
            continue
        idx = np.flatnonzero(observed)
        first, last = int(idx[0]), int(idx[-1])
        gap = np.flatnonzero(~observed[first : last + 1])
        if gap.size:
            missing = columns[first + int(gap[0])]
            problems.append(
                f"cohort {label} has a missing count at period {missing} between observed counts"
            )
            continue
        if layout == "age" and first != 0:
            problems.append(
                f"cohort {label} has no count at period {columns[0]} (layout='age' expects "
                "each row to start at period 0; for a staircase table of calendar periods "
                "pass layout='calendar')"
            )
            continue
        if layout == "calendar" and last != len(columns) - 1:
            problems.append(
                f"cohort {label} stops at period {columns[last]} before the last period "
                f"{columns[-1]} (layout='calendar' expects every cohort observed up to the "
                "last column)"
            )
            continue
        if layout == "calendar" and label in columns and columns.index(label) != first:
            problems.append(
                f"cohort {label} has a count at period {columns[first]}, before its "
                "acquisition period (the cohort is longer than the period table allows)"
            )
            continue
        rows.append((label, row[first : last + 1].copy()))
    if problems:
        more = (
            f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        )
        raise ValidationError(f"{who}: " + "; ".join(problems[:_MAX_PROBLEMS]) + more + ".")
    return rows


def _rows_from_sequence(data: Any, *, who: str) -> list[tuple[Any, FloatArray]]:
    if isinstance(data, np.ndarray) and data.ndim == 2:
        return _rows_from_frame(pd.DataFrame(data), who=who, layout="age")
    if isinstance(data, pd.Series):
        items: list[Any] = list(data.to_numpy())
    elif (isinstance(data, np.ndarray) and data.ndim == 1) or (
        isinstance(data, Sequence) and not isinstance(data, str | bytes)
    ):
        items = list(data)
    else:
        raise ValidationError(
            f"{who}: survivors must be a sequence of counts, a list of such sequences (one per "
            f"cohort) or a cohort x period DataFrame; got {type(data).__name__}."
        )
    if not items:
        raise ValidationError(f"{who}: survivors is empty; pass at least one cohort.")
    if all(_is_number(v) for v in items):
        return [(0, np.asarray(items, dtype=np.float64))]
    rows: list[tuple[Any, FloatArray]] = []
    for i, item in enumerate(items):
        if _is_number(item) or isinstance(item, str | bytes):
            raise ValidationError(
                f"{who}: survivors mixes numbers and sequences (item {i} is {item!r}); pass "
                "one sequence of counts, or a list of sequences (one per cohort)."
            )
        try:
            arr = np.asarray(list(item), dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(
                f"{who}: cohort {i} must be a sequence of numbers; got {item!r}."
            ) from None
        if arr.size == 0:
            raise ValidationError(f"{who}: cohort {i} has no counts.")
        if np.isnan(arr).any():
            raise ValidationError(
                f"{who}: cohort {i} has a missing count at period "
                f"{int(np.flatnonzero(np.isnan(arr))[0])}; in a list of cohorts give only "
                "the observed counts (cohorts may have different lengths)."
            )
        rows.append((i, arr))
    return rows


def parse_survivors(
    data: Any, *, who: str, layout: str = "age", n_periods: int | None = None
) -> tuple[list[Any], list[FloatArray]]:
    """Validate survivor counts and return cohort labels and count arrays (t = 0..n).

    All problems are collected and reported at once (the first five).
    """
    if layout not in _LAYOUTS:
        raise ValidationError(
            f"The 'layout' parameter of {who} must be one of 'age', 'calendar'. "
            f"Got {layout!r} instead."
        )
    if not isinstance(data, pd.DataFrame) and hasattr(data, "columns"):
        from crmcore._validation import to_pandas

        data = to_pandas(data, who=who)  # Polars / PyArrow tables: rows are cohorts
    if isinstance(data, pd.DataFrame):
        if data.shape[0] == 0 or data.shape[1] == 0:
            raise ValidationError(f"{who}: the survivor table is empty.")
        rows = _rows_from_frame(data, who=who, layout=layout)
    else:
        rows = _rows_from_sequence(data, who=who)
    problems: list[str] = []
    for label, counts in rows:
        periods = np.arange(counts.size)
        bad = ~np.isfinite(counts)
        for p in periods[bad]:
            problems.append(f"cohort {label}, period {p}: count {counts[p]!r} is not finite")
        finite = np.where(bad, 0.0, counts)
        for p in periods[finite < 0]:
            problems.append(f"cohort {label}, period {p}: negative count {counts[p]:g}")
        for p in periods[finite > _MAX_COUNT]:
            problems.append(
                f"cohort {label}, period {p}: count {counts[p]:g} is larger than 2**53 "
                "customers (not a whole number in float64)"
            )
        for p in periods[(finite != np.round(finite))]:
            problems.append(
                f"cohort {label}, period {p}: count {counts[p]:g} is not a whole number of "
                "customers"
            )
        rises = np.flatnonzero(np.diff(finite) > 0)
        for p in rises:
            problems.append(
                f"cohort {label}: survivors increase from {finite[p]:g} at period {p} to "
                f"{finite[p + 1]:g} at period {p + 1} (a cohort can only lose customers)"
            )
        if counts.size and finite[0] == 0:
            problems.append(f"cohort {label} starts with 0 customers")
        if n_periods is not None and counts.size - 1 > n_periods:
            problems.append(
                f"cohort {label} has counts for periods 0..{counts.size - 1}, longer than the "
                f"period table (n_periods={n_periods})"
            )
    if problems:
        more = (
            f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        )
        raise ValidationError(f"{who}: " + "; ".join(problems[:_MAX_PROBLEMS]) + more + ".")
    return [label for label, _ in rows], [counts for _, counts in rows]
