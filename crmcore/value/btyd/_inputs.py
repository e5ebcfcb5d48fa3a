"""Model input of the BTYD estimators: frame columns as float arrays, row rules reported at once.

Shared by :class:`~crmcore.value.btyd._transaction.TransactionModel` (``frequency, recency,
T``) and :class:`~crmcore.value.GammaGammaModel` (``frequency, monetary_value``), so that a
column of text, a missing value or a rule broken by some rows reads the same in every model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import as_narwhals, format_ids, require_columns
from crmcore.exceptions import ValidationError
from crmcore.value._base import FloatArray, require_model_columns

__all__ = ["DEFAULT_ID_COL", "data_time_unit", "frame_float_columns", "raise_row_problems"]

# Polars/PyArrow frames have no index: predictions are labelled by this column when present
DEFAULT_ID_COL = "customer_id"


def frame_float_columns(
    data: Any,
    cols: Sequence[str],
    who: str,
    id_col: str | None = DEFAULT_ID_COL,
    *,
    allow_bool: bool = False,
) -> tuple[list[FloatArray], pd.Index | None]:
    """Columns of a pandas/Polars/PyArrow frame as float64 arrays plus the row labels.

    Parameters
    ----------
    data : DataFrame (pandas, Polars or PyArrow)
        The model input.
    cols : sequence of str
        Columns to read; each must be numeric (missing values become NaN for the row rules).
    who : str
        Caller named in the messages.
    id_col : str or None, default "customer_id"
        For a Polars/PyArrow frame (no index), the column whose values label the rows when
        it exists; an `id_col` other than the default that is missing raises
        ColumnNotFoundError. None: no labels.
    allow_bool : bool, default False
        Accept a pandas boolean column as numeric (GammaGammaModel has always done so; the
        transaction models reject it). Polars/PyArrow booleans are rejected either way.

    Returns
    -------
    arrays : list of ndarray
        One float64 array per column of `cols`.
    index : pandas.Index or None
        A pandas frame's own index; for Polars/PyArrow the values of `id_col` as an Index
        named after it when that column exists, else None.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing (an order log or an RFM table is named as such).
    ValidationError
        If a column is not numeric.

    Examples
    --------
    >>> import pandas as pd
    >>> arrays, index = frame_float_columns(
    ...     pd.DataFrame({"x": [1, 2]}, index=["a", "b"]), ["x"], "demo"
    ... )
    >>> arrays[0].tolist(), index.tolist()
    ([1.0, 2.0], ['a', 'b'])
    """
    # checked on the narwhals wrapper so that PyArrow tables list their column names
    require_model_columns(data, list(cols), who=who)
    if isinstance(data, pd.DataFrame):
        arrays = []
        for c in cols:
            series = data[c]
            if not (
                pd.api.types.is_numeric_dtype(series.dtype)
                and (allow_bool or not pd.api.types.is_bool_dtype(series.dtype))
            ):
                raise ValidationError(
                    f"{who}: column {c!r} must be numeric; got dtype {series.dtype}."
                )
            arrays.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
        return arrays, data.index
    frame = as_narwhals(data, who=who)
    arrays = []
    for c in cols:
        dtype = frame.schema[c]
        if not dtype.is_numeric():
            raise ValidationError(f"{who}: column {c!r} must be numeric; got dtype {dtype}.")
        col = frame[c]
        if col.null_count():
            col = col.cast(nw.Float64).fill_null(float("nan"))
        arrays.append(np.asarray(col.to_numpy(), dtype=np.float64))
    ids: pd.Index | None = None
    if id_col is not None:
        if id_col in frame.columns:
            ids = pd.Index(frame[id_col].to_numpy(), name=id_col)
        elif id_col != DEFAULT_ID_COL:
            require_columns(frame, [id_col], who=who)
    return arrays, ids


def raise_row_problems(
    rules: Sequence[tuple[str, npt.NDArray[np.bool_]]],
    ids: Sequence[Any] | pd.Index | Callable[[npt.NDArray[np.bool_]], Sequence[Any]] | None,
    n: int,
    who: str,
    hint: str,
    *,
    row_counts: npt.NDArray[np.float64] | None = None,
) -> None:
    """Raise one ValidationError listing every broken row rule, or return.

    Parameters
    ----------
    rules : sequence of (str, boolean ndarray)
        Rule text and the mask of the rows that break it (all masks of one length).
    ids : sequence or pandas.Index or callable or None
        Row labels named in the message ("first ids"); a callable gets a rule's mask and
        returns the labels of (up to six) offending rows (used for a compressed table,
        whose labels live on an engine); None names row positions ("first rows").
    n : int
        Number of rows (the length of the masks, or the total of `row_counts`).
    who : str
        Caller named in the message.
    hint : str
        Closing sentence of the message (what to do about it).
    row_counts : ndarray, optional
        How many input rows each masked row stands for (a compressed table: distinct rows
        and their counts); a rule's count is then the sum of the counts of its rows.

    Raises
    ------
    ValidationError
        ``"{who}: {rule}; {count} of {n} rows violate this (first ids: ...). ... {hint}"``
        when any mask has a True entry.

    Examples
    --------
    >>> import numpy as np
    >>> raise_row_problems([("x must be >= 0", np.array([False, True]))], ["a", "b"], 2,
    ...                    "demo", "Hint: none.")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: demo: x must be >= 0; 1 of 2 rows violate this (first ids: b). Hint: none.
    """  # noqa: E501
    problems = []
    for rule, mask in rules:
        count = int(np.count_nonzero(mask) if row_counts is None else np.sum(row_counts[mask]))
        if count:
            where = np.flatnonzero(mask)[:6]
            if callable(ids):
                first = list(ids(mask))
            else:
                first = [ids[i] for i in where] if ids is not None else list(where)
            label = "first ids" if ids is not None else "first rows"
            problems.append(
                f"{rule}; {count:,} of {n:,} rows violate this ({label}: {format_ids(first)})"
            )
    if problems:
        raise ValidationError(f"{who}: " + ". ".join(problems) + ". " + hint)


def data_time_unit(data: Any) -> str | None:
    """The time unit recorded in ``data.attrs["time_unit"]`` (set by ``btyd_summary``), or None.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1]})
    >>> frame.attrs["time_unit"] = "W"
    >>> data_time_unit(frame), data_time_unit({"x": [1]})
    ('W', None)
    """
    attrs = getattr(data, "attrs", None)
    unit = attrs.get("time_unit") if isinstance(attrs, dict) else None
    return None if unit is None else str(unit)
