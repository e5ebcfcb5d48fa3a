"""Model input from a lazy engine frame: identical rows counted on the engine, then collected.

The BTYD likelihoods depend on a customer's row only through a few numbers
(``(frequency, recency, T)`` for the transaction models, ``(frequency, monetary_value)`` for
Gamma-Gamma), so a fit needs the *distinct* rows and how many customers each stands for,
not the customers. :func:`compressed_model_input` builds that table on the caller's engine
(a Polars LazyFrame, a DuckDB relation, a PySpark or Dask DataFrame) with one
``group_by(...).agg(len)`` query and collects only it; the estimators then fit it with the
counts as weights, which maximises exactly the likelihood of the uncompressed rows.

Validation stays the in-memory validation: every distinct row reaches the collected table
(with a flag for rows whose weight is bad), so each row rule is broken by some input row
exactly when it is broken by a collected row, and the number of offending input rows is the
sum of the counts of the offending collected rows. Only the ids named in a message need the
engine again: one small query per broken rule, on the error path only.

Engines are never imported here: the estimators recognise a lazy frame with
:func:`crmcore._lazy.as_lazy` (which looks in ``sys.modules`` only), so ``import
crmcore.value`` imports no engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt

from crmcore._validation import require_columns
from crmcore.exceptions import ValidationError
from crmcore.value._base import FloatArray

__all__ = ["CompressedInput", "compressed_model_input"]

# names of the helper columns of the engine query (unlikely to clash with a caller's column)
_ROWS = "__crmcore_rows"
_WEIGHT = "__crmcore_weight"
_BAD_WEIGHT = "__crmcore_bad_weight"
_MAX_IDS = 6


class CompressedInput(NamedTuple):
    """The collected compressed table of :func:`compressed_model_input`."""

    #: one float64 array per key column (NaN for missing values), distinct rows
    columns: list[FloatArray]
    #: the weight of each distinct row: its row count, or the sum of ``weights_col``;
    #: NaN where a row of the group has a missing, negative or infinite weight
    weights: FloatArray
    #: how many input rows each distinct row stands for
    rows: FloatArray
    #: labels of up to six input rows matching a mask over the distinct rows
    find_ids: Callable[[npt.NDArray[np.bool_]], list[Any]]


def _match(column: str, value: float, is_float: bool) -> Any:
    """Expression: `column` equals `value` (NaN matches a missing value or NaN)."""
    col = nw2.col(column)
    if math.isnan(value):
        return (col.is_null() | col.is_nan()) if is_float else col.is_null()
    return col == value


def compressed_model_input(
    lazy: nw2.LazyFrame[Any],
    cols: Sequence[str],
    weights_col: str | None,
    who: str,
    *,
    id_col: str = "customer_id",
) -> CompressedInput:
    """Count identical `cols` rows of a lazy frame on its engine and collect that table.

    Parameters
    ----------
    lazy : narwhals LazyFrame
        The model input on its engine.
    cols : sequence of str
        The columns the likelihood depends on (checked to exist and be numeric).
    weights_col : str or None
        Column of row weights; the weight of a distinct row is their sum (else its count).
    who : str
        Caller named in the messages.
    id_col : str, default "customer_id"
        Column whose values name offending rows in a validation message, when it exists;
        otherwise the offending values themselves are shown.

    Returns
    -------
    CompressedInput

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        If a column is not numeric.

    Notes
    -----
    One query: ``group_by(*cols, bad_weight).agg(len, sum(weights_col))``; missing keys
    form their own group on every engine (narwhals keeps null keys), so a missing value is
    not lost but reported by the model's row rules.
    """
    needed = list(cols) + ([weights_col] if weights_col is not None else [])
    require_columns(lazy, needed, who=who)
    schema = lazy.collect_schema()
    for c in needed:
        if not schema[c].is_numeric():
            raise ValidationError(f"{who}: column {c!r} must be numeric; got dtype {schema[c]}.")
    float_cols = {c for c in cols if schema[c].is_float()}
    frame = lazy
    keys = list(cols)
    aggs = [nw2.len().alias(_ROWS)]
    if weights_col is not None:
        w = nw2.col(weights_col).cast(nw2.Float64)
        bad = (w.is_null() | w.is_nan() | (w < 0) | (w == math.inf)).fill_null(value=True)
        # element-wise work before the group-by: Dask aggregates plain columns only
        frame = frame.with_columns(bad.cast(nw2.Int8).alias(_BAD_WEIGHT), w.alias(_WEIGHT))
        keys.append(_BAD_WEIGHT)
        aggs.append(nw2.col(_WEIGHT).sum())
    table = frame.group_by(*keys).agg(*aggs).collect()
    columns = []
    for c in cols:
        values = table[c].cast(nw2.Float64)
        if values.null_count():
            values = values.fill_null(float("nan"))
        columns.append(np.asarray(values.to_numpy(), dtype=np.float64))
    rows = np.asarray(table[_ROWS].to_numpy(), dtype=np.float64)
    if weights_col is None:
        weights = rows.copy()
    else:
        flagged = np.asarray(table[_BAD_WEIGHT].to_numpy(), dtype=np.int64) != 0
        summed = table[_WEIGHT].cast(nw2.Float64).fill_null(float("nan"))
        weights = np.where(flagged, np.nan, np.asarray(summed.to_numpy(), dtype=np.float64))
    has_ids = id_col in schema

    def find_ids(mask: npt.NDArray[np.bool_]) -> list[Any]:
        # the first distinct rows that break the rule, enough to name six input rows
        where = np.flatnonzero(mask)
        take = where[: int(np.searchsorted(np.cumsum(rows[where]), _MAX_IDS)) + 1]
        if not has_ids:
            return [tuple(float(col[i]) for col in columns) for i in take]
        conditions = []
        for i in take:
            cond = nw2.all_horizontal(
                *[
                    _match(c, float(col[i]), c in float_cols)
                    for c, col in zip(cols, columns, strict=True)
                ],
                ignore_nulls=False,
            )
            if weights_col is not None:
                flag = nw2.col(_BAD_WEIGHT) == int(np.isnan(weights[i]))
                cond = cond & flag
            conditions.append(cond)
        hits = frame.filter(nw2.any_horizontal(*conditions, ignore_nulls=False))
        found = hits.select(id_col).head(_MAX_IDS).collect()[id_col].to_list()
        return list(found)

    return CompressedInput(columns, weights, rows, find_ids)
