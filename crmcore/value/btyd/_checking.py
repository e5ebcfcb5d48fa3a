"""Model checking for the BTYD transaction models: the tables behind the standard plots.

Three checks from Fader, Hardie & Lee (2005, "Counting Your Customers the Easy Way"):

* :func:`calibration_holdout_table` - conditional expectations: customers grouped by their
  calibration-period frequency, mean actual vs model-expected holdout purchases;
* :func:`period_transactions` - the in-sample histogram of repeat-transaction counts,
  actual vs expected number of customers;
* :func:`tracking_table` - cumulative and incremental repeat transactions of the cohort over
  calendar time, actual vs the model's tracking curve.

Each works with any fitted transaction model of :mod:`crmcore.value` (they only call its
public prediction methods) and returns a small DataFrame; the plots in
:mod:`crmcore.plotting` draw these frames.
"""

from __future__ import annotations

import math
from typing import Any

import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._lazy import as_lazy, collect_pandas
from crmcore._validation import (
    check_no_missing,
    check_param_number,
    coerce_number_series,
    first_ids,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import ValidationError

__all__ = ["calibration_holdout_table", "period_transactions", "tracking_table"]


def _buckets(x: np.ndarray[Any, Any], max_frequency: int) -> np.ndarray[Any, Any]:
    # clip before the integer cast: a huge float frequency must not wrap around
    return np.minimum(np.asarray(x, dtype=np.float64), max_frequency).astype(np.int64)


def _check_model(model: Any, method: str, who: str) -> None:
    """Raise ValidationError unless `model` has the public prediction method `method`."""
    if not callable(getattr(model, method, None)):
        raise ValidationError(
            f"The 'model' parameter of {who} must be a fitted crmcore transaction model "
            f"(BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, BetaGeoBetaBinomModel) or "
            f"an object with a {method}() method. Got {model!r} "
            f"({type(model).__name__}) instead."
        )


def _numbers(frame: pd.DataFrame, column: str, who: str) -> npt.NDArray[np.float64]:
    """Column `column` as finite float64 (text, booleans, NaN and inf rejected by name)."""
    return coerce_number_series(frame[column], name=column, who=who, ids=frame.index)


def _safe_group_mean(values: npt.NDArray[np.float64], groups: Any) -> pd.Series:
    """Group means that cannot overflow: the values are scaled by a power of two (exact)."""
    top = float(np.max(np.abs(values))) if values.size else 0.0
    scale = 2.0 ** math.floor(math.log2(top)) if top > 0 else 1.0
    means: pd.Series = pd.Series(values / scale).groupby(groups).mean() * scale
    return means


def calibration_holdout_table(
    model: Any,
    data: Any,
    *,
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    frequency_holdout_col: str = "frequency_holdout",
    duration_holdout_col: str = "duration_holdout",
    max_frequency: int = 7,
) -> pd.DataFrame:
    """Mean actual vs expected holdout purchases by calibration-period frequency.

    Parameters
    ----------
    model : fitted transaction model
        Any model with ``expected_purchases`` (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB).
    data : DataFrame
        One row per customer with calibration columns and holdout columns, e.g.
        ``btyd_summary(..., calibration_end=...)``.
    frequency_col, recency_col, T_col : str
        Calibration-period columns.
    frequency_holdout_col, duration_holdout_col : str
        Holdout purchases and holdout length (model time unit) per customer.
    max_frequency : int, default 7
        Customers with ``frequency >= max_frequency`` share the last row.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``frequency`` (0 .. max_frequency; the last row is "max_frequency or
        more"), columns ``n_customers``, ``actual`` (mean holdout purchases) and ``model``
        (mean of ``E[X(T, T + duration) | x, t_x, T]``). Empty buckets are left out.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        If `model` has no ``expected_purchases`` method, `max_frequency` is not a positive
        integer, a column holds text, booleans, missing or infinite values, or the holdout
        counts or durations are negative.

    Notes
    -----
    The conditional-expectation check of Fader, Hardie & Lee (2005), Figure 4. Every
    customer's own holdout duration is used.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy
    Way". Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> from crmcore.value import ParetoNBDModel
    >>> data = pd.DataFrame({"frequency": [0, 1, 2], "recency": [0.0, 5.0, 20.0],
    ...                      "T": [30.0, 30.0, 30.0], "frequency_holdout": [0, 1, 2],
    ...                      "duration_holdout": [10.0, 10.0, 10.0]})
    >>> m = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    >>> calibration_holdout_table(m, data, max_frequency=2)["n_customers"].tolist()
    [1, 1, 1]
    """
    who = "calibration_holdout_table"
    _check_model(model, "expected_purchases", who)
    check_param_number("max_frequency", max_frequency, who=who, low=1, integer=True)
    frame = to_pandas(data, who=who)
    cols = [frequency_col, recency_col, T_col, frequency_holdout_col, duration_holdout_col]
    require_columns(frame, cols, who=who)
    x, t_x, T, actual, duration = (_numbers(frame, c, who) for c in cols)
    bad = (actual < 0) | (duration < 0)
    if bad.any():
        raise ValidationError(
            f"{who}: {frequency_holdout_col} and {duration_holdout_col} must be >= 0; "
            f"{int(bad.sum())} of {bad.size} rows violate this (first ids: "
            f"{format_ids(frame.index[bad])}).",
            rule=f"{frequency_holdout_col} and {duration_holdout_col} must be >= 0",
            column=frequency_holdout_col if (actual < 0).any() else duration_holdout_col,
            count=int(bad.sum()),
            first_ids=first_ids(frame.index[bad]),
        )
    expected = np.empty_like(actual)
    for d in np.unique(duration):
        rows = duration == d
        expected[rows] = model.expected_purchases((x[rows], t_x[rows], T[rows]), t=float(d))
    bucket = _buckets(x, int(max_frequency))
    grouped = pd.DataFrame({"frequency": bucket, "model": expected}).groupby("frequency")
    table: pd.DataFrame = grouped.agg(n_customers=("model", "size"))
    table["n_customers"] = table["n_customers"].astype(np.int64)
    table["actual"] = _safe_group_mean(actual, bucket)
    table["model"] = _safe_group_mean(expected, bucket)
    return table


def period_transactions(
    model: Any,
    data: Any,
    *,
    frequency_col: str = "frequency",
    T_col: str = "T",
    weights_col: str | None = None,
    max_frequency: int = 7,
) -> pd.DataFrame:
    """Number of customers by repeat-transaction count, actual vs expected (in sample).

    Parameters
    ----------
    model : fitted transaction model
        Any model with ``population_purchase_probability``.
    data : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        The calibration data (one row per customer or per group with `weights_col`). A
        lazy frame (Polars LazyFrame, DuckDB relation, PySpark or Dask DataFrame) is
        reduced on its own engine to its distinct rows, see Notes.
    frequency_col, T_col : str
        Repeat transactions and each customer's age (or opportunities for BG/BB).
    weights_col : str, optional
        Row counts.
    max_frequency : int, default 7
        Counts ``>= max_frequency`` are pooled into the last row.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``frequency`` 0 .. max_frequency (the last row is "or more"), columns
        ``actual`` and ``model`` (``sum_i P(X(T_i) = k)``, the expected number of customers).
        A pandas table for lazy input too (see Notes).

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        If `model` has no ``population_purchase_probability`` method, `max_frequency` is
        not a positive integer, a column holds text, booleans, missing or infinite values,
        a frequency is negative or fractional, an age or weight is negative, or the weights
        sum beyond the float range.

    Notes
    -----
    Fader, Hardie & Lee (2005), Figure 2: each customer contributes the new-customer pmf at
    his own age ``T_i``; the pmf is evaluated once per distinct age.

    A lazy frame is reduced on its engine to its distinct (frequency, T) rows with their
    row counts and weight sums (one group-by, collected: at most distinct frequencies x
    distinct ages rows, a few thousand for a summary in whole periods), checked by the same
    rules, and the table is computed from those rows as from the customers themselves.
    The result is the small pandas table, not a lazy frame, because the ``model`` column
    is the fitted model's pmf, evaluated in memory (as a fit from an engine collects only
    the compressed table); errors count the offending rows but cannot name them (a lazy
    frame has no row labels).

    Examples
    --------
    >>> from crmcore.value import BetaGeoBetaBinomModel
    >>> from crmcore.datasets import load_donations
    >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.75, gamma=0.657, delta=2.783)
    >>> table = period_transactions(m, load_donations(), T_col="periods",
    ...                             weights_col="weights", max_frequency=6)
    >>> table["actual"].tolist()
    [3464, 1823, 1430, 1085, 1036, 1063, 1203]
    """
    who = "period_transactions"
    _check_model(model, "population_purchase_probability", who)
    check_param_number("max_frequency", max_frequency, who=who, low=1, integer=True)
    lazy = as_lazy(data)
    if lazy is not None:
        x, T, w = _compressed_summary_lazy(
            lazy, frequency_col=frequency_col, T_col=T_col, weights_col=weights_col, who=who
        )
        return _period_table(model, x, T, w, max_frequency, weights_col=weights_col, who=who)
    frame = to_pandas(data, who=who)
    cols = [frequency_col, T_col] + ([weights_col] if weights_col else [])
    require_columns(frame, cols, who=who)
    x = _numbers(frame, frequency_col, who)
    T = _numbers(frame, T_col, who)
    w = _numbers(frame, weights_col, who) if weights_col else np.ones(x.shape[0], dtype=np.float64)
    rules = [
        (
            frequency_col,
            f"{frequency_col} must be a whole number >= 0",
            (x < 0) | (x != np.round(x)),
        ),
        (T_col, f"{T_col} must be >= 0", T < 0),
    ]
    if weights_col:
        rules.append((weights_col, f"{weights_col} must be >= 0", w < 0))
    broken = [(col, rule, mask) for col, rule, mask in rules if mask.any()]
    if broken:
        # every problem in the message; the structured fields describe the first one
        col, rule, mask = broken[0]
        raise ValidationError(
            f"{who}: "
            + ". ".join(
                f"{text}; {int(m.sum()):,} of {m.size:,} rows violate this (first ids: "
                f"{format_ids(frame.index[m])})"
                for _, text, m in broken
            )
            + ".",
            rule=rule,
            column=col,
            count=int(mask.sum()),
            first_ids=first_ids(frame.index[mask]),
        )
    return _period_table(model, x, T, w, max_frequency, weights_col=weights_col, who=who)


def _period_table(
    model: Any,
    x: npt.NDArray[np.float64],
    T: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    max_frequency: int,
    *,
    weights_col: str | None,
    who: str,
) -> pd.DataFrame:
    """The table of :func:`period_transactions` from validated (frequency, T, weight) rows.

    The rows may be the customers themselves or groups of identical (frequency, T) rows
    with their summed weights (a lazy frame's compressed rows): the table is the same.
    """
    with np.errstate(over="ignore"):
        total = float(np.sum(w))
    if not math.isfinite(total):
        raise ValidationError(
            f"{who}: the weights in {weights_col!r} sum to more than the largest float "
            f"(about 1.8e308); the number of customers is not representable."
        )
    m = int(max_frequency)
    actual = np.bincount(_buckets(x, m), weights=w, minlength=m + 1)[: m + 1]
    ages, inverse = np.unique(T, return_inverse=True)
    weight_per_age = np.bincount(inverse, weights=w, minlength=ages.shape[0])
    probs = np.empty((m, ages.shape[0]))
    for k in range(m):
        probs[k] = np.asarray(
            model.population_purchase_probability(np.full(ages.shape[0], k), ages),
            dtype=np.float64,
        )
    expected_low = probs @ weight_per_age
    expected = np.append(expected_low, weight_per_age.sum() - expected_low.sum())
    whole = bool(np.all(actual == np.round(actual)))
    result: pd.DataFrame = pd.DataFrame(
        {"actual": actual.astype(np.int64) if whole else actual, "model": expected},
        index=pd.RangeIndex(m + 1, name="frequency"),
    )
    return result


def _compressed_summary_lazy(
    frame: Any,
    *,
    frequency_col: str,
    T_col: str,
    weights_col: str | None,
    who: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Distinct (frequency, T) rows of a lazy summary with their summed weights, validated.

    One group-by on the engine, collected: a row per distinct (frequency, T) pair (a few
    thousand at most for a summary in whole periods) with its row count, weight sum and
    the counts of non-finite and negative weights. The rules of the in-memory path are
    then checked on those rows, counting rows (a lazy frame has no row labels to name).
    """
    names = frame.collect_schema().names()
    cols = [frequency_col, T_col] + ([weights_col] if weights_col else [])
    require_columns(pd.DataFrame(columns=names), cols, who=who)
    schema = frame.collect_schema()
    for col in cols:
        dtype = schema[col]
        if not dtype.is_numeric() or dtype == nw2.Boolean:
            raise ValidationError(
                f"{who}: column {col!r} must hold numbers; got dtype {dtype}. Hint: convert "
                "the column to numbers on your engine first.",
                rule="column must hold numbers",
                column=col,
            )
    weight = nw2.col(weights_col).cast(nw2.Float64) if weights_col else nw2.lit(1.0)
    # flags computed before the group-by: aggregations stay elementary (Dask needs it)
    rows = frame.select(
        nw2.col(frequency_col).cast(nw2.Float64).alias("__x__"),
        nw2.col(T_col).cast(nw2.Float64).alias("__T__"),
        weight.alias("__w__"),
        weight.is_finite().cast(nw2.Int64).alias("__w_ok__"),
        (weight < 0).cast(nw2.Int64).alias("__w_neg__"),
    )
    grouped = collect_pandas(
        rows.group_by("__x__", "__T__").agg(
            nw2.len().alias("__rows__"),
            nw2.col("__w__").sum(),
            nw2.col("__w_ok__").sum(),
            nw2.col("__w_neg__").sum(),
        )
    )
    n = grouped["__rows__"].to_numpy(dtype=np.int64)
    x = grouped["__x__"].to_numpy(dtype=np.float64, na_value=np.nan)
    T = grouped["__T__"].to_numpy(dtype=np.float64, na_value=np.nan)
    w = grouped["__w__"].to_numpy(dtype=np.float64, na_value=np.nan)
    n_total = int(n.sum())
    bad_x, bad_T = ~np.isfinite(x), ~np.isfinite(T)
    rules = [
        (frequency_col, f"{frequency_col} must be a finite number", n[bad_x]),
        (T_col, f"{T_col} must be a finite number", n[bad_T]),
    ]
    x_ok, T_ok = np.where(bad_x, 0.0, x), np.where(bad_T, 0.0, T)
    rules += [
        (
            frequency_col,
            f"{frequency_col} must be a whole number >= 0",
            n[(x_ok < 0) | (x_ok != np.round(x_ok))],
        ),
        (T_col, f"{T_col} must be >= 0", n[T_ok < 0]),
    ]
    if weights_col:
        w_ok = grouped["__w_ok__"].to_numpy(dtype=np.float64, na_value=0.0)
        w_neg = grouped["__w_neg__"].to_numpy(dtype=np.float64, na_value=0.0)
        rules += [
            (weights_col, f"{weights_col} must be a finite number", n - w_ok),
            (weights_col, f"{weights_col} must be >= 0", w_neg),
        ]
    broken = [(col, text, int(np.sum(c))) for col, text, c in rules if np.sum(c) > 0]
    if broken:
        col, rule, count = broken[0]
        raise ValidationError(
            f"{who}: "
            + ". ".join(f"{text}; {c:,} of {n_total:,} rows violate this" for _, text, c in broken)
            + " (a lazy frame has no row labels: filter the rows on your engine to see them).",
            rule=rule,
            column=col,
            count=count,
        )
    return x, T, w


def _float_vector(values: Any, name: str, who: str) -> npt.NDArray[np.float64]:
    try:
        out = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValidationError(
            f"{who}: {name} must be numbers (times in the model's unit); got "
            f"{type(values).__name__}."
        ) from None
    if not np.all(np.isfinite(out)):
        raise ValidationError(f"{who}: {name} must be finite numbers.")
    return out


def tracking_table(
    model: Any,
    transactions: Any,
    *,
    times: Any,
    customer_col: str = "customer_id",
    time_col: str = "time",
    period: float | None = None,
) -> pd.DataFrame:
    """Actual vs expected repeat transactions of a cohort over calendar time.

    Parameters
    ----------
    model : fitted transaction model
        Any model with ``tracking_curve``.
    transactions : DataFrame
        Transaction log with a numeric time column in the model's time unit, measured from a
        common origin (e.g. weeks since the start of the acquisition window:
        ``(date - start) / pd.Timedelta(7, "D")``), the origin at the start of a period
        (midnight for days). A customer's first purchase period is his acquisition; every
        later period with a purchase is one repeat purchase, several transactions in one
        period counting once — the definition of :func:`btyd_summary` and the models.
    times : 1-D array-like of float
        Increasing calendar times (same origin and unit) at which to compare.
    customer_col, time_col : str
        Column names.
    period : float, optional
        Length of a purchase period in the model's time unit, counted from the origin:
        ``1 / 7`` for days when times are in weeks, ``1`` for weekly periods. Default:
        transactions at the same time merge (when times come from dates, several orders
        on one day are one purchase, as in a daily :func:`btyd_summary`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``time``: ``actual_cumulative``, ``model_cumulative``,
        ``actual_incremental``, ``model_incremental``.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        If `model` has no ``tracking_curve`` method, or times are not finite or not
        increasing.

    Notes
    -----
    The tracking plots of Fader, Hardie & Lee (2005), Figure 3: the model curve is
    ``sum_i E[X(t - s_i)]`` over customers acquired at ``s_i``.

    Examples
    --------
    >>> from crmcore.value import ParetoNBDModel
    >>> log = pd.DataFrame({"customer_id": [1, 1, 2], "time": [0.0, 3.0, 1.0]})
    >>> m = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    >>> tracking_table(m, log, times=[2.0, 4.0])["actual_cumulative"].tolist()
    [0.0, 1.0]
    """
    who = "tracking_table"
    _check_model(model, "tracking_curve", who)
    frame = to_pandas(transactions, who=who)
    require_columns(frame, [customer_col, time_col], who=who)
    check_no_missing(frame, [customer_col], who=who)
    grid = _float_vector(times, "times", who)
    column = frame[time_col]
    if pd.api.types.is_bool_dtype(column.dtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        raise ValidationError(
            f"{who}: column {time_col!r} must hold numbers (time since a common origin in "
            f"the model's unit); got dtype {column.dtype}. Hint: from dates, use "
            "(date - start) / pd.Timedelta(7, 'D') for weeks."
        )
    t = column.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(t)):
        bad = ~np.isfinite(t)
        raise ValidationError(
            f"{who}: column {time_col!r} must hold finite numbers; {int(bad.sum()):,} rows "
            f"do not (first rows: {format_ids(frame.index[bad])}).",
            rule="numbers must be finite",
            column=time_col,
            count=int(bad.sum()),
            first_ids=first_ids(frame.index[bad]),
        )
    if period is not None:
        check_param_number("period", period, who=who, low=0, low_inclusive=False)
    codes, _ = pd.factorize(frame[customer_col])
    first = np.full(codes.max() + 1 if codes.size else 0, np.inf)
    np.minimum.at(first, codes, t)
    # one repeat purchase per later period with a purchase (as in btyd_summary)
    key = t if period is None else np.floor(t / float(period) + 1e-9)
    order = np.lexsort((t, key, codes))
    c_sorted, k_sorted = codes[order], key[order]
    new_pair = np.ones(t.shape[0], dtype=bool)
    new_pair[1:] = (c_sorted[1:] != c_sorted[:-1]) | (k_sorted[1:] != k_sorted[:-1])
    new_customer = np.ones(t.shape[0], dtype=bool)
    new_customer[1:] = c_sorted[1:] != c_sorted[:-1]
    repeat_times = np.sort(t[order][new_pair & ~new_customer])
    curve = model.tracking_curve(first, grid)
    actual_cum = np.searchsorted(repeat_times, grid, side="right").astype(np.float64)
    out: pd.DataFrame = pd.DataFrame(
        {
            "actual_cumulative": actual_cum,
            "model_cumulative": curve["cumulative"].to_numpy(),
            "actual_incremental": np.diff(actual_cum, prepend=0.0),
            "model_incremental": curve["incremental"].to_numpy(),
        },
        index=pd.Index(grid, name="time"),
    )
    return out
