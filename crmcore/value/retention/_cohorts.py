"""Cohort tables: customers, revenue or orders by acquisition cohort and customer age.

Two paths, one table (tested equal on every engine): eager frames (pandas, Polars,
PyArrow) run on the array kernels of :mod:`crmcore._aggregate`; lazy frames (Polars
LazyFrame, DuckDB, Spark, Dask) stay on their engine through narwhals expressions and come
back as a long lazy table. Cohorts and ages are numbered by the package's one period clock
(:mod:`crmcore._periods`); ages are differences of period numbers and cohorts are labelled
by their start date, so the clock's epoch never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

import narwhals.stable.v1 as nw
import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import (
    distinct_pairs,
    factorize_ids,
    group_counts,
    group_min_max,
    group_sums,
)
from crmcore._lazy import as_lazy, read_order_log_lazy
from crmcore._orderlog import exclude_after, read_order_log, warn_negative_amounts
from crmcore._periods import (
    DATE_UNIT,
    period_expr,
    period_numbers,
    period_start,
    with_period_start,
)
from crmcore._validation import (
    check_param_choice,
    coerce_number_series,
    coerce_timestamp,
    format_ids,
)
from crmcore.exceptions import ValidationError

__all__ = ["cohort_churn_rates", "cohort_table"]

_FREQS = ("D", "W", "M", "Q", "Y")
_METRICS = ("customers", "revenue", "orders")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@overload
def cohort_table(
    transactions: pd.DataFrame,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    cohort: str = ...,
    period: str = ...,
    metric: str = ...,
    as_of: Any,
    relative: bool = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> pd.DataFrame: ...


@overload
def cohort_table(
    transactions: Any,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    cohort: str = ...,
    period: str = ...,
    metric: str = ...,
    as_of: Any,
    relative: bool = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> Any: ...


def cohort_table(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cohort: str = "M",
    period: str = "M",
    metric: str = "customers",
    as_of: Any,
    relative: bool = False,
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
    currency_col: str | None = "currency",
    date_format: str | None = None,
) -> Any:
    """Return a cohort x age table of active customers, revenue or orders.

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per order. A lazy frame (Polars LazyFrame, DuckDB relation, PySpark or
        Dask DataFrame) is aggregated on its own engine into a long table, see Returns.
    customer_col, date_col, amount_col : str
        Column roles; `amount_col` is only read for ``metric="revenue"``.
    cohort : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period of a customer's first purchase that defines its cohort
        (month = calendar month, week = Monday to Sunday).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Unit of customer age: age k = calendar periods between the customer's first
        purchase and the order (0 = the period of the first purchase).
    metric : {"customers", "revenue", "orders"}, default "customers"
        Distinct active customers, sum of `amount_col`, or number of rows.
    as_of : date-like
        End of observation; a date includes its whole day. Orders after it are excluded
        (counted in a :class:`~crmcore.exceptions.CRMWarning`); the period containing it
        is included even if incomplete.
    relative : bool, default False
        Divide each row by its age-0 value (share of period 0).
    status_col : str or None, default "status"
        When this column exists only purchases count (status in `statuses`); the other
        rows are counted by status in a ``CRMWarning``.
    statuses : iterable of str, optional
        Statuses that count as purchases; default ``("confirmed", "fulfilled")``.
    currency_col : str or None, default "currency"
        For ``metric="revenue"``, every row must be in one currency when this column
        exists (convert with :meth:`crmcore.money.ExchangeRates.convert_frame`).
    date_format : str, optional
        ``strftime`` layout of a string date column (else ISO 8601; never guessed per row;
        required for a string column of a lazy frame).

    Returns
    -------
    pandas.DataFrame or lazy frame
        For eager input: index ``cohort`` (start date of the cohort period), columns
        ``age`` 0..K. Cells no customer of the cohort could reach by `as_of` are NaN;
        observable cells without activity are 0. ``attrs`` records ``as_of``, ``cohort``,
        ``period``, ``metric`` and ``relative`` (:func:`crmcore.plotting.plot_cohort_heatmap`
        reads them to mark the cells of periods not yet over at `as_of`).

        For a lazy frame: a lazy frame of the same engine in **long form**, one row per
        (cohort, age) cell with at least one order, row order unspecified. Columns
        ``cohort`` (Date, start of the cohort period), ``age`` (Int64), the metric
        (``customers``, ``revenue`` or ``orders``, Float64, relative when asked) and
        ``max_age`` (Int64, the cohort's last observable age at `as_of`). Absent cells
        with ``age <= max_age`` are the wide table's zeros, ages beyond it its NaN: pivot
        the collected frame on ``age`` and fill accordingly to get the eager table.
        With ``relative=True`` a cohort whose age-0 value is 0 (only possible for
        revenue) has null cells (the eager table divides by zero: NaN or +-inf).

    Raises
    ------
    ValidationError
        On a bad choice, missing values, unparsable dates or no order before `as_of`.
    ColumnNotFoundError
        If a column is missing.

    Notes
    -----
    Ages count from each customer's own first-purchase period, so age 0 of the
    ``customers`` table is the cohort size. When `cohort` is coarser than `period`
    (e.g. quarterly cohorts, monthly ages), the last observable ages of a cohort are
    reached only by its earliest customers.

    Why a lazy result is long: the wide table's columns (ages 0..K) and its NaN corner
    depend on the data, and a lazy engine cannot pivot to columns it does not know
    before running the query. The long table is the same cells (plus ``max_age``, which
    says where the zeros end and the unobservable corner starts), computed where the
    data lives; it stays lazy so it can be written to a table, joined or collected (it
    has at most cohorts x ages rows). In memory the cells are bincounts over packed
    (cohort, age) keys and, for active customers, over the distinct (customer, age)
    pairs (:func:`crmcore._aggregate.distinct_pairs`); revenue sums are correctly rounded
    in memory and the engine's own sums on a lazy engine (equal to about 1e-15).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-01-20",
    ...                             "2024-03-01", "2024-02-14"]),
    ...     "amount": [10.0, 5.0, 20.0, 8.0, 7.0]})
    >>> cohort_table(tx, as_of="2024-03-31")
    age           0    1    2
    cohort
    2024-01-01  2.0  1.0  1.0
    2024-02-01  1.0  0.0  NaN

    A lazy frame gives the long table, on its engine (Polars here):

    >>> import polars as pl
    >>> long = cohort_table(pl.from_pandas(tx).lazy(), as_of="2024-03-31")
    >>> long.collect().sort("cohort", "age").drop("cohort").rows()
    [(0, 2.0, 2), (1, 1.0, 2), (2, 1.0, 2), (0, 1.0, 1)]
    """
    who = "cohort_table"
    check_param_choice("cohort", cohort, _FREQS, who=who)
    check_param_choice("period", period, _FREQS, who=who)
    check_param_choice("metric", metric, _METRICS, who=who)
    end = coerce_timestamp(as_of, name="as_of", who=who, date_format=date_format)
    last_period = int(period_numbers(pd.DatetimeIndex([end]), period, name="as_of", who=who)[0])
    lazy = as_lazy(transactions)
    if lazy is not None:
        rows = read_order_log_lazy(
            lazy,
            who=who,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col if metric == "revenue" else None,
            status_col=status_col,
            statuses=statuses,
            currency_col=currency_col,
            date_format=date_format,
            cutoff=end,
        )
        return _cohort_cells_lazy(
            rows,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            cohort=cohort,
            period=period,
            metric=metric,
            relative=relative,
            last_period=last_period,
        )
    frame = read_order_log(
        transactions,
        who=who,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col if metric == "revenue" else None,
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
        date_format=date_format,
        warn_negative=False,
    )
    frame = exclude_after(
        frame, date_col=date_col, customer_col=customer_col, cutoff=end, name="as_of", who=who
    )
    if metric == "revenue":
        warn_negative_amounts(frame, amount_col, who=who, stacklevel=2)
    if len(frame) == 0:
        raise ValidationError(f"{who}: no orders on or before as_of={end.date()}.")
    cohorts, reach, cells = _cells_from_arrays(
        frame,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col if metric == "revenue" else None,
        cohort=cohort,
        period=period,
        metric=metric,
        last_period=last_period,
        who=who,
    )
    ages = np.arange(cells.shape[1], dtype=np.int64)
    values = cells
    values[ages[None, :] > reach[:, None]] = np.nan
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = values / values[:, :1]
    out: pd.DataFrame = pd.DataFrame(
        values,
        index=pd.DatetimeIndex(period_start(cohorts, cohort, who=who), name="cohort").as_unit(
            DATE_UNIT
        ),
        columns=pd.Index(ages, name="age"),
    )
    # what plot_cohort_heatmap needs to mark the cells of periods not over at as_of
    out.attrs.update(
        {"as_of": end, "cohort": cohort, "period": period, "metric": metric, "relative": relative}
    )
    return out


def _numbers_from_days(days: IntArray, unit: str, who: str) -> IntArray:
    """Period numbers (`unit` ``"D"`` or coarser) of whole-day numbers of the period clock."""
    if unit == "D":
        return days
    return period_numbers(days.view("datetime64[D]"), unit, who=who)


def _cells_from_arrays(
    frame: nw.DataFrame[Any],
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    cohort: str,
    period: str,
    metric: str,
    last_period: int,
    who: str,
) -> tuple[IntArray, IntArray, FloatArray]:
    """The cohort x age cells of an eager order log, from the kernels of :mod:`crmcore._aggregate`.

    Ids become dense codes and dates whole-day numbers (one pass each); a customer's first
    day is a per-group minimum, its cohort and age-0 period the period numbers of that day;
    each row's cell is ``cohort_index * n_ages + age``, so orders and revenue are bincounts
    over cells and active customers a bincount over the distinct (customer, age) pairs.

    Returns
    -------
    cohorts : int64 array
        Cohort period numbers (`cohort` unit), ascending.
    reach : int64 array
        Highest observable age of each cohort: ``last_period`` minus the earliest age-0
        period of its customers.
    cells : float64 array, shape (n_cohorts, n_ages)
        The metric per cohort and age 0..max(reach); unobservable cells are 0 here.
    """
    codes, uniques = factorize_ids(frame[customer_col].to_native())
    n_customers = len(uniques)
    days = period_numbers(np.asarray(frame[date_col].to_numpy()), "D", name=date_col, who=who)
    first_day, _ = group_min_max(codes, days, n_customers)
    start = _numbers_from_days(first_day, period, who)
    cohorts, cohort_index = np.unique(
        _numbers_from_days(first_day, cohort, who), return_inverse=True
    )
    n_cohorts = len(cohorts)
    earliest, _ = group_min_max(cohort_index, start, n_cohorts)
    reach = last_period - earliest
    n_ages = int(reach.max()) + 1
    n_cells = n_cohorts * n_ages
    age = _numbers_from_days(days, period, who) - start[codes]
    if metric == "customers":
        group, pair_age = distinct_pairs(codes, age, n_customers)
        cell = cohort_index[group] * n_ages + pair_age
        counts = group_counts(cell, n_cells).astype(np.float64)
        return cohorts, reach, counts.reshape(n_cohorts, n_ages)
    cell = cohort_index[codes] * n_ages
    cell += age
    if metric == "orders":
        values = group_counts(cell, n_cells).astype(np.float64)
    else:
        assert amount_col is not None
        amounts = np.asarray(frame[amount_col].to_numpy(), dtype=np.float64)
        values = group_sums(cell, amounts, n_cells)
    return cohorts, reach, values.reshape(n_cohorts, n_ages)


def _cohort_cells_lazy(
    rows: nw2.LazyFrame[Any],
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    cohort: str,
    period: str,
    metric: str,
    relative: bool,
    last_period: int,
) -> Any:
    """The long cohort table of a lazy order log, on its engine (narwhals expressions only).

    Each customer's cohort and age-0 period are the minimum period numbers of its rows (the
    period clock is monotone, so they are those of its first purchase); rows join back to
    them for their age. Active customers are counted as rows of the distinct (customer,
    cohort, age) triples (never ``n_unique``: Dask's adds up partitions). Only cells with
    orders are rows; ``max_age`` (``last_period`` minus the cohort's earliest age-0
    period) marks which absent cells are observable zeros.
    """
    rows = rows.with_columns(
        period_expr(date_col, period).alias("__period__"),
        period_expr(date_col, cohort).alias("__cohort__"),
    )
    if metric == "revenue":
        # casts outside the aggregations: group-by aggregations stay elementary (Dask)
        rows = rows.with_columns(nw2.col(amount_col).cast(nw2.Float64).alias("__amount__"))
    first = rows.group_by(customer_col).agg(
        nw2.col("__period__").min().alias("__start__"),
        nw2.col("__cohort__").min().alias("__cohort_n__"),
    )
    joined = rows.join(first, on=customer_col, how="inner").with_columns(
        (nw2.col("__period__") - nw2.col("__start__")).alias("age")
    )
    keys = ("__cohort_n__", "age")
    if metric == "customers":
        cells = (
            joined.select(customer_col, *keys).unique().group_by(*keys).agg(nw2.len().alias(metric))
        )
    elif metric == "orders":
        cells = joined.group_by(*keys).agg(nw2.len().alias(metric))
    else:
        cells = joined.group_by(*keys).agg(nw2.col("__amount__").sum().alias(metric))
    reach = first.group_by("__cohort_n__").agg(nw2.col("__start__").min().alias("__earliest__"))
    out = cells.join(reach, on="__cohort_n__", how="inner")
    value = nw2.col(metric).cast(nw2.Float64)
    if relative:
        base = cells.filter(nw2.col("age") == 0).select(
            nw2.col("__cohort_n__"), nw2.col(metric).cast(nw2.Float64).alias("__base__")
        )
        out = out.join(base, on="__cohort_n__", how="left")
        value = nw2.when(nw2.col("__base__") != 0).then(value / nw2.col("__base__"))
    out = with_period_start(out, "__cohort_n__", cohort, name="cohort")
    return out.select(
        nw2.col("cohort"),
        nw2.col("age").cast(nw2.Int64),
        value.alias(metric),
        (nw2.lit(last_period) - nw2.col("__earliest__")).cast(nw2.Int64).alias("max_age"),
    ).to_native()


def cohort_churn_rates(table: pd.DataFrame) -> pd.DataFrame:
    """Return the period-over-period churn rate of an absolute ``customers`` cohort table.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`cohort_table` with ``metric="customers"`` and ``relative=False``.

    Returns
    -------
    pandas.DataFrame
        Same index; columns ages 1..K; ``1 - active_k / active_{k-1}`` (NaN where
        unobserved or where no customer was active at age k - 1).

    Raises
    ------
    ValidationError
        If the table has fewer than two age columns, text, booleans or infinite values
        (``None`` and NaN are unobserved cells), or negative counts.

    Notes
    -----
    In a contractual setting active customers only decline and this is the churn rate.
    In a non-contractual setting customers return after idle periods, so the rate can
    be negative; it then measures the period-over-period decline of activity.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame([[100.0, 80.0, 60.0]], columns=[0, 1, 2])
    >>> cohort_churn_rates(t).round(2).to_numpy().tolist()
    [[0.2, 0.25]]
    """
    who = "cohort_churn_rates"
    if not isinstance(table, pd.DataFrame) or table.shape[1] < 2:
        raise ValidationError(f"{who}: expected a cohort table with at least two age columns.")
    # column by column (ages, not rows): text and booleans are rejected by name, None is
    # an unobserved cell like NaN, +-inf is rejected
    values = np.column_stack(
        [
            coerce_number_series(
                table.iloc[:, j], name=str(table.columns[j]), who=who, allow_missing=True
            )
            for j in range(table.shape[1])
        ]
    ).reshape(table.shape)
    negative = np.asarray((values < 0).any(axis=1), dtype=bool)
    if negative.any():
        raise ValidationError(
            f"{who}: counts must be >= 0; {int(negative.sum()):,} of {negative.size:,} cohorts "
            f"have negative counts (first cohorts: {format_ids(table.index[negative])})."
        )
    prev = values[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        churn = np.where(prev > 0, 1.0 - values[:, 1:] / prev, np.nan)
    rates: pd.DataFrame = pd.DataFrame(churn, index=table.index, columns=table.columns[1:])
    return rates
