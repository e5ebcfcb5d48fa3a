"""Cohort tables: customers, revenue or orders by acquisition cohort and customer age.

Written once against narwhals, so pandas, Polars and PyArrow input give the same table.
Cohorts and ages are numbered by the package's one period clock (:mod:`crmcore._periods`);
ages are differences of period numbers and cohorts are labelled by their start date, so the
clock's epoch never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd

from crmcore._orderlog import exclude_after, read_order_log, warn_negative_amounts
from crmcore._periods import DATE_UNIT, period_expr, period_numbers, period_start
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
) -> pd.DataFrame:
    """Return a cohort x age table of active customers, revenue or orders.

    Parameters
    ----------
    transactions : DataFrame
        One row per order (pandas, Polars or PyArrow).
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
        ``strftime`` layout of a string date column (else ISO 8601; never guessed per row).

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (start date of the cohort period), columns ``age`` 0..K. Cells
        no customer of the cohort could reach by `as_of` are NaN; observable cells
        without activity are 0.

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
    """
    who = "cohort_table"
    check_param_choice("cohort", cohort, _FREQS, who=who)
    check_param_choice("period", period, _FREQS, who=who)
    check_param_choice("metric", metric, _METRICS, who=who)
    end = coerce_timestamp(as_of, name="as_of", who=who, date_format=date_format)
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
    if metric != "revenue":
        frame = frame.with_columns(nw.lit(1.0).alias("__amount__"))
    amount = amount_col if metric == "revenue" else "__amount__"
    frame = exclude_after(
        frame, date_col=date_col, customer_col=customer_col, cutoff=end, name="as_of", who=who
    )
    if metric == "revenue":
        warn_negative_amounts(frame, amount_col, who=who, stacklevel=2)
    if len(frame) == 0:
        raise ValidationError(f"{who}: no orders on or before as_of={end.date()}.")
    first = (
        frame.group_by(customer_col)
        .agg(nw.col(date_col).min().alias("__first__"))
        .with_columns(
            period_expr("__first__", cohort).alias("__cohort__"),
            period_expr("__first__", period).alias("__start__"),
        )
        .select(customer_col, "__cohort__", "__start__")
    )
    joined = frame.join(first, on=customer_col, how="left").with_columns(
        (period_expr(date_col, period) - nw.col("__start__")).alias("__age__")
    )
    cells = (
        joined.group_by("__cohort__", "__age__")
        .agg(
            nw.col(customer_col).n_unique().alias("customers"),
            nw.col(amount).sum().alias("revenue"),
            nw.len().alias("orders"),
        )
        .with_columns(nw.col("customers", "revenue", "orders").cast(nw.Float64))
        .to_pandas()
    )
    earliest = (
        first.group_by("__cohort__").agg(nw.col("__start__").min().alias("__min_start__"))
    ).to_pandas()
    last_period = int(period_numbers(pd.DatetimeIndex([end]), period, name="as_of", who=who)[0])
    table = cells.pivot(index="__cohort__", columns="__age__", values=metric)
    cohorts = np.sort(earliest["__cohort__"].to_numpy(dtype=np.int64))
    max_age = int(last_period - earliest["__min_start__"].min())
    ages = np.arange(0, max_age + 1, dtype=np.int64)
    table = table.reindex(index=cohorts, columns=ages).fillna(0.0)
    reach = last_period - earliest.set_index("__cohort__")["__min_start__"].reindex(
        cohorts
    ).to_numpy(np.int64)
    mask = ages[None, :] > reach[:, None]
    values = np.array(table.to_numpy(dtype=np.float64), copy=True)
    values[mask] = np.nan
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
    return out


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
