"""RFM tables and scores: :func:`rfm_table`, :func:`rfm_scores` and :class:`RFMScorer`.

The aggregation from transactions to one row per customer is written once against
narwhals, so pandas, Polars and PyArrow input give identical tables. Scoring works on the
(small) per-customer table with the numpy kernels of :mod:`._rfm_kernels`.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast, overload

import narwhals.stable.v1 as nw
import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import (
    distinct_counts,
    factorize_ids,
    group_counts,
    group_min_max,
    group_sums,
)
from crmcore._lazy import as_lazy, lazy_only_option, read_order_log_lazy
from crmcore._orderlog import exclude_after, read_order_log, warn_negative_amounts
from crmcore._periods import period_expr, period_numbers
from crmcore._validation import (
    as_narwhals,
    check_no_missing,
    check_param_choice,
    check_param_number,
    coerce_timestamp,
    exact_scale,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import CRMWarning, NotFittedError, ValidationError
from crmcore.segmentation._rfm_kernels import (
    bin_left_closed,
    bin_right_closed,
    quantile_edges,
    r_rfm_breaks,
    rank_bins,
    tiebreak_keys,
)

__all__ = ["RFMScorer", "rfm_scores", "rfm_table"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SCORE_COLUMNS = ["r_score", "f_score", "m_score", "rfm_code", "rfm_score", "fm_score"]
_DIMS = ("recency", "frequency", "monetary")
_METHODS = ("quantile", "fixed", "r-rfm", "pymc-marketing")
_BINNINGS = ("independent", "nested")
_TIES = ("shared", "rank", "random")


# ``dt.truncate`` came to narwhals in 2025 (narwhals-dev/narwhals#2465); releases without
# it (the pin allows 1.30) get whole days as day numbers of the period clock instead.
# Both give the same table (tested by forcing the fallback).
_HAS_TRUNCATE = hasattr(nw.col("_").dt, "truncate")

# Eager frames are summarised on the array kernels of crmcore._aggregate (factorised ids,
# day numbers of the period clock, bincounts, one packed-key sort for distinct days). The
# narwhals group-by path below gives the same table (tested) and is the path for engines
# that cannot hand over arrays.
_ARRAY_ENGINE = True


def _day_key(column: str, as_of: pd.Timestamp, *, truncate: bool) -> tuple[nw.Expr, Any]:
    """Row-level whole-day key of `column` and the value of the `as_of` day to compare with.

    With ``dt.truncate`` the key is the midnight starting the day (one cheap pass on every
    backend); otherwise it is the day number since 1970-01-01 of the period clock
    (:func:`crmcore._periods.period_expr`).
    """
    if truncate:
        return nw.col(column).dt.truncate("1d"), datetime.datetime(
            as_of.year, as_of.month, as_of.day
        )
    day = np.datetime64(as_of.date(), "D")
    return period_expr(column, "D"), int(period_numbers(np.array([day]), "D")[0])


def _day_values(series: nw.Series[Any]) -> npt.NDArray[np.datetime64]:
    """Whole days (``datetime64[D]``) of a per-customer column of midnights or day numbers."""
    values = np.asarray(series.to_numpy())
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[D]")
    # day numbers of the period clock count from 1970-01-01, as datetime64[D] does
    return np.asarray(values.astype(np.int64).view("datetime64[D]"))


def _normalise_ids(index: pd.Index) -> pd.Index:
    """Give customer ids one dtype whatever the backend: numbers stay, text becomes str."""
    if pd.api.types.is_numeric_dtype(index.dtype) or pd.api.types.is_datetime64_any_dtype(
        index.dtype
    ):
        return index
    return index.astype("str")


@overload
def rfm_table(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    frequency: str = ...,
    monetary: str = ...,
    customers: Iterable[Any] | None = ...,
    currency_col: str = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    date_format: str | None = ...,
) -> pd.DataFrame: ...


@overload
def rfm_table(
    transactions: Any,
    *,
    as_of: Any,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    frequency: str = ...,
    monetary: str = ...,
    customers: Iterable[Any] | None = ...,
    currency_col: str = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    date_format: str | None = ...,
) -> Any: ...


def rfm_table(
    transactions: Any,
    *,
    as_of: Any,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    frequency: str = "orders",
    monetary: str = "total",
    customers: Iterable[Any] | None = None,
    currency_col: str = "currency",
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
    date_format: str | None = None,
) -> Any:
    """Summarise an order log into one recency / frequency / monetary row per customer.

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per order (or order line), with a customer id, a date and an amount. A
        lazy frame (Polars LazyFrame, DuckDB relation, PySpark or Dask DataFrame) is
        summarised on its own engine, see Returns.
    as_of : date-like
        The analysis date. Rows dated after this day are excluded (and counted in a
        :class:`~crmcore.CRMWarning`); purchases on the `as_of` day itself count.
    customer_col, date_col, amount_col : str
        Column names.
    frequency : {"orders", "days"}
        ``"orders"`` counts rows; ``"days"`` counts distinct purchase days (several orders
        on one day are one purchase, as in lifetimes and pymc-marketing).
    monetary : {"total", "mean"}
        ``"total"`` sums the amounts; ``"mean"`` is the total divided by `frequency`
        (mean per order, or per purchase day when ``frequency="days"``).
    customers : iterable of ids, optional
        Customer master list. Customers in it without any order up to `as_of` are kept
        with ``frequency = 0``, ``monetary = 0.0``, ``recency_days = NaN`` and ``NaT``
        purchase dates. Customers with orders who are missing from the list are kept too,
        and counted in a warning.
    currency_col : str
        If this column exists, all rows must be in one currency (convert first with
        :meth:`crmcore.money.ExchangeRates.convert_frame`).
    status_col : str or None, default "status"
        If this column exists, only purchases count: rows whose status is in `statuses`.
        Excluded rows are counted by status in a :class:`~crmcore.CRMWarning`.
    statuses : iterable of str, optional
        Statuses that count as purchases; default ``("confirmed", "fulfilled")`` (draft,
        cancelled and returned orders do not count, see the order-log rules in the
        architecture guide).
    date_format : str, optional
        ``strftime`` layout of a string date column, e.g. ``"%d/%m/%Y"``; without it,
        strings must be ISO 8601 (a column is never read with two conventions).

    Returns
    -------
    pandas.DataFrame or lazy frame
        Indexed by customer id (sorted ascending; text ids as ``str``), with columns
        ``first_purchase``, ``last_purchase`` (datetime64[ns], midnight),
        ``recency_days`` (float64), ``frequency`` (int64) and ``monetary`` (float64).
        ``attrs`` records ``as_of``, ``frequency`` and ``monetary``.

        For a lazy frame: a lazy frame of the same engine (nothing is computed until the
        caller collects it, apart from the order-log checks, which run two small queries
        on the engine) with the customer id as a column, the same five columns and
        values, in no particular row order. Sums are the engine's own (equal to the
        in-memory table's correctly rounded sums to about 1e-15 relative), string dates
        need `date_format`, and `customers` is not available (left-join your customer
        master on the engine instead).

    Raises
    ------
    ColumnNotFoundError
        If a column is missing (the nearest existing name is suggested).
    ValidationError
        If the frame is empty, has missing ids, dates or amounts (all-missing amounts get
        their own message), non-numeric or infinite amounts, several currencies, or no row
        on or before `as_of` (and no `customers` were given).

    Notes
    -----
    ``recency_days = as_of - last_purchase`` in whole days; times of day are ignored.
    Each date is truncated to its day (``dt.truncate("1d")``, which pandas, Polars and
    PyArrow compute alike for any time unit and for dates before 1970); minimum, maximum
    and the distinct-day count are taken on these midnights, and day differences are
    computed on the per-customer table only, so the row-level work is one truncation.
    (With a narwhals release that lacks ``dt.truncate``, whole days are day numbers of the
    period clock, :mod:`crmcore._periods`, instead; the table is the same.)

    Negative amounts (returns) are kept: they count as rows and are netted into
    ``monetary``; a :class:`~crmcore.CRMWarning` gives their count. Filter them out first
    if returns should not count as orders.

    References
    ----------
    Hughes, A. M. (1994). *Strategic Database Marketing*. Probus.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-10"]),
    ...     "amount": [20.0, 30.0, 15.0],
    ... })
    >>> rfm_table(orders, as_of="2024-03-31")[["recency_days", "frequency", "monetary"]]
                 recency_days  frequency  monetary
    customer_id
    a                    30.0          2      50.0
    b                    50.0          1      15.0
    """
    who = "rfm_table"
    check_param_choice("frequency", frequency, ("orders", "days"), who=who)
    check_param_choice("monetary", monetary, ("total", "mean"), who=who)
    as_of_ts = coerce_timestamp(as_of, name="as_of", who=who, date_format=date_format)
    lazy = as_lazy(transactions)
    if lazy is not None:
        if customers is not None:
            raise lazy_only_option(
                who,
                "customers=",
                "left-join your customer master to the result on your engine; customers "
                "without orders then have frequency 0",
            )
        rows = read_order_log_lazy(
            lazy,
            who=who,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            status_col=status_col,
            statuses=statuses,
            currency_col=currency_col,
            date_format=date_format,
            cutoff=as_of_ts,
        )
        return _table_lazy(rows, customer_col, date_col, amount_col, as_of_ts, frequency, monetary)
    frame = as_narwhals(transactions, who=who)
    cols = [customer_col, date_col, amount_col]
    require_columns(frame, cols, who=who)
    if len(frame) == 0:
        raise ValidationError(
            f"{who}: the transactions frame is empty (0 rows); an RFM table needs at least "
            "one order."
        )
    n_rows = len(frame)
    if frame.schema[amount_col].is_numeric():
        amount = nw.col(amount_col)
        missing_amount = (
            amount.is_null() | amount.is_nan()
            if frame.schema[amount_col].is_float()
            else amount.is_null()
        )
        if int(frame.select(missing_amount.sum()).item()) == n_rows:
            raise ValidationError(
                f"{who}: all {n_rows:,} values of column {amount_col!r} are missing; "
                f"monetary value cannot be computed. Hint: is amount_col={amount_col!r} right?"
            )
    frame = read_order_log(
        transactions,
        who=who,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
        date_format=date_format,
        warn_negative=False,
    )
    n_purchases = len(frame)
    frame = exclude_after(
        frame,
        date_col=date_col,
        customer_col=customer_col,
        cutoff=as_of_ts,
        name="as_of",
        who=who,
    )
    warn_negative_amounts(frame, amount_col, who=who, stacklevel=2)
    if len(frame) == 0 and customers is None:
        raise ValidationError(
            f"{who}: no transaction is dated on or before as_of {as_of_ts:%Y-%m-%d} "
            f"(all {n_purchases:,} rows are later). Hint: check as_of."
        )

    if _ARRAY_ENGINE:
        table = _table_from_arrays(
            frame, customer_col, date_col, amount_col, as_of_ts, frequency, monetary, who=who
        )
    else:
        table = _table_from_group_by(
            frame, customer_col, date_col, amount_col, as_of_ts, frequency, monetary, who=who
        )
    if customers is not None:
        table = _add_customers(table, customers, who=who)
    table.attrs.update({"as_of": as_of_ts, "frequency": frequency, "monetary": monetary})
    return table


def _table_lazy(
    rows: Any,
    customer_col: str,
    date_col: str,
    amount_col: str,
    as_of: pd.Timestamp,
    frequency: str,
    monetary: str,
) -> Any:
    """The per-customer table as a lazy frame of the caller's engine (narwhals only).

    Distinct days are counted as the rows of a (customer, day) group-by, never with
    ``n_unique`` (Dask's is wrong across partitions). Sums are the engine's own (not the
    correctly rounded sums of the in-memory path: equal to about 1e-15 relative).
    """
    date = nw2.col(date_col)
    amount = nw2.col(amount_col)
    # casts outside the aggregations: group-by aggregations stay elementary (Dask needs it)
    rows = rows.with_columns(amount.cast(nw2.Float64))
    if frequency == "days":
        rows = (
            rows.with_columns(period_expr(date_col, "D").alias("__day"))
            .group_by(customer_col, "__day")
            .agg(date.min(), amount.sum())
        )
    table = rows.group_by(customer_col).agg(
        date.min().alias("first_purchase"),
        date.max().alias("last_purchase"),
        nw2.len().alias("frequency"),
        amount.sum().alias("__total"),
    )
    as_of_day = int(period_numbers(np.array([np.datetime64(as_of.date(), "D")]), "D")[0])
    value = nw2.col("__total")
    if monetary == "mean":
        value = value / nw2.col("frequency").cast(nw2.Float64)
    return table.select(
        nw2.col(customer_col),
        nw2.col("first_purchase").dt.truncate("1d"),
        nw2.col("last_purchase").dt.truncate("1d"),
        (nw2.lit(as_of_day) - period_expr("last_purchase", "D"))
        .cast(nw2.Float64)
        .alias("recency_days"),
        nw2.col("frequency").cast(nw2.Int64),
        value.cast(nw2.Float64).alias("monetary"),
    ).to_native()


def _table_from_group_by(
    frame: nw.DataFrame[Any],
    customer_col: str,
    date_col: str,
    amount_col: str,
    as_of: pd.Timestamp,
    frequency: str,
    monetary: str,
    *,
    who: str,
) -> pd.DataFrame:
    """The per-customer table from narwhals group-bys (the path for engines without arrays)."""
    # Row level: every date becomes a whole-day key (min, max and the distinct-day count
    # are then taken on whole days; day differences are only computed on the per-customer
    # result).
    day_key, _ = _day_key(date_col, as_of, truncate=_HAS_TRUNCATE)
    slim = frame.select(
        nw.col(customer_col),
        day_key.alias("__day"),
        nw.col(amount_col).cast(nw.Float64).alias("__amount"),
    )
    agg = _aggregate(slim, customer_col, frequency, 1.0)
    scale = 1.0
    if not np.isfinite(agg["__total"].to_numpy().astype(np.float64)).all():
        # Sums of amounts near 1e308 overflow: sum amounts scaled by a power of two (exact)
        # and scale back per customer; a total that is itself beyond float64 is refused.
        scale = exact_scale([slim.select(nw.col("__amount").abs().max()).item()])
        agg = _aggregate(slim, customer_col, frequency, scale)
    return _table_from_aggregate(agg, customer_col, as_of, monetary, scale=scale, who=who)


def _table_from_arrays(
    frame: nw.DataFrame[Any],
    customer_col: str,
    date_col: str,
    amount_col: str,
    as_of: pd.Timestamp,
    frequency: str,
    monetary: str,
    *,
    who: str,
) -> pd.DataFrame:
    """The per-customer table from the eager kernels of :mod:`crmcore._aggregate`.

    Ids become dense codes, dates whole-day numbers of the period clock, and the counts,
    sums and first / last days come from bincounts (and one packed-key sort for
    ``frequency="days"``); the table equals the group-by path's (tested).
    """
    codes, uniques = factorize_ids(frame[customer_col].to_native())
    n_customers = len(uniques)
    days = period_numbers(np.asarray(frame[date_col].to_numpy()), "D", name=date_col, who=who)
    amounts = np.asarray(frame[amount_col].to_numpy(), dtype=np.float64)
    if frequency == "days":
        count, first, last = distinct_counts(codes, days, n_customers)
    else:
        count = group_counts(codes, n_customers)
        first, last = group_min_max(codes, days, n_customers)
    total = group_sums(codes, amounts, n_customers)
    scale = 1.0
    if not np.isfinite(total).all():
        # Sums of amounts near 1e308 overflow: sum amounts scaled by a power of two (exact)
        # and scale back per customer; a total that is itself beyond float64 is refused.
        scale = exact_scale([float(np.abs(amounts).max())])
        total = group_sums(codes, amounts / scale, n_customers)
    ids = _normalise_ids(pd.Index(uniques, name=customer_col))
    order = None if ids.is_monotonic_increasing else np.asarray(ids.argsort())
    if order is not None:
        ids = ids.take(order)
        count, first, last, total = count[order], first[order], last[order], total[order]
    return _finish_table(
        ids,
        first.view("datetime64[D]"),
        last.view("datetime64[D]"),
        count,
        total,
        as_of,
        monetary,
        scale=scale,
        who=who,
    )


def _aggregate(
    slim: nw.DataFrame[Any], customer_col: str, frequency: str, scale: float
) -> nw.DataFrame[Any]:
    count = nw.col("__day").n_unique() if frequency == "days" else nw.len()
    if scale != 1.0:
        slim = slim.with_columns(nw.col("__amount") / scale)
    with np.errstate(over="ignore"):
        return slim.group_by(customer_col).agg(
            nw.col("__day").min().alias("__first"),
            nw.col("__day").max().alias("__last"),
            count.alias("__n"),
            nw.col("__amount").sum().alias("__total"),
        )


def _table_from_aggregate(
    agg: nw.DataFrame[Any],
    customer_col: str,
    as_of: pd.Timestamp,
    monetary: str,
    *,
    scale: float = 1.0,
    who: str = "rfm_table",
) -> pd.DataFrame:
    ids = _normalise_ids(pd.Index(agg[customer_col].to_pandas(), name=customer_col))
    # Sort the (per-customer) arrays once here instead of sorting the assembled frame.
    order = np.asarray(ids.argsort())
    ids = ids.take(order)
    first = _day_values(agg["__first"])[order]
    last = _day_values(agg["__last"])[order]
    count = agg["__n"].to_numpy().astype(np.int64)[order]
    total = agg["__total"].to_numpy().astype(np.float64)[order]
    return _finish_table(ids, first, last, count, total, as_of, monetary, scale=scale, who=who)


def _finish_table(
    ids: pd.Index,
    first: npt.NDArray[np.datetime64],
    last: npt.NDArray[np.datetime64],
    count: IntArray,
    total: FloatArray,
    as_of: pd.Timestamp,
    monetary: str,
    *,
    scale: float,
    who: str,
) -> pd.DataFrame:
    """Assemble the table from per-customer arrays sorted by id (whole days, sums)."""
    with np.errstate(over="ignore"):
        value = (total if monetary == "total" else total / count) * scale
    overflow = ~np.isfinite(value)
    if overflow.any():
        raise ValidationError(
            f"{who}: the {monetary} amount of {int(overflow.sum()):,} customers exceeds the "
            f"float64 range (about 1.8e308) (first ids: {format_ids(ids[overflow])}). "
            "Hint: express amounts in a larger unit (e.g. thousands)."
        )
    recency = (np.datetime64(as_of.date(), "D") - last).astype(np.int64).astype(np.float64)
    table = pd.DataFrame(
        {
            "first_purchase": first.astype("datetime64[ns]"),
            "last_purchase": last.astype("datetime64[ns]"),
            "recency_days": recency,
            "frequency": count,
            "monetary": value,
        },
        index=ids,
    )
    return cast("pd.DataFrame", table)


def _add_customers(table: pd.DataFrame, customers: Iterable[Any], *, who: str) -> pd.DataFrame:
    master = pd.Index(list(customers) if not isinstance(customers, pd.Index) else customers)
    if master.hasnans:
        raise ValidationError(
            f"{who}: customers holds {int(np.asarray(master.isna()).sum()):,} missing ids. "
            "Hint: drop them first."
        )
    if not master.is_unique:
        dup = master[master.duplicated()]
        raise ValidationError(
            f"{who}: customers repeats {len(dup):,} ids (first: {format_ids(dup)}). "
            "Hint: pass each customer once."
        )
    master = _normalise_ids(master.rename(table.index.name))
    unknown = table.index.difference(master)
    if len(unknown):
        warnings.warn(
            f"{who}: {len(unknown):,} customers with orders are not in customers "
            f"(first: {format_ids(unknown)}); they are kept in the table.",
            CRMWarning,
            stacklevel=3,
        )
    missing = master.difference(table.index)
    if len(missing) == 0:
        return table
    extra = pd.DataFrame(
        {
            "first_purchase": pd.Series(pd.NaT, index=missing, dtype="datetime64[ns]"),
            "last_purchase": pd.Series(pd.NaT, index=missing, dtype="datetime64[ns]"),
            "recency_days": np.nan,
            "frequency": np.zeros(len(missing), dtype=np.int64),
            "monetary": 0.0,
        },
        index=missing,
    )
    out = pd.concat([table, extra]) if len(table) else extra
    out.index = _normalise_ids(out.index.rename(table.index.name))
    out = out.astype({"recency_days": np.float64, "frequency": np.int64, "monetary": np.float64})
    return cast("pd.DataFrame", out.sort_index(kind="stable"))


# --------------------------------------------------------------------------- scoring


ScorerT = TypeVar("ScorerT", bound="RFMScorer")


def _check_weights(weights: Sequence[float], who: str) -> tuple[float, float, float]:
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise ValidationError(
            f"The 'weights' parameter of {who} must hold 3 numbers (R, F, M). Got {weights!r}."
        )
    if len(weights) != 3:
        raise ValidationError(
            f"The 'weights' parameter of {who} must hold 3 numbers (R, F, M). Got {weights!r}."
        )
    for w in weights:
        # a score is a weighted sum of scores <= 99: keep it exact and finite
        check_param_number("weights", w, who=who, low=-1e15, high=1e15)
    return (weights[0], weights[1], weights[2])


def _default_bins(method: str, bins: int | None) -> int:
    if bins is None:
        return 4 if method == "pymc-marketing" else 5
    return bins


def _score_inputs(
    table: Any, cols: tuple[str, str, str], who: str
) -> tuple[pd.Index, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    data = to_pandas(table, who=who)
    require_columns(data, list(cols), who=who)
    check_no_missing(data, [cols[1], cols[2]], who=who)
    from crmcore._validation import coerce_number_series

    r, f, m = (coerce_number_series(data[c], name=c, who=who, allow_missing=True) for c in cols)
    buyer = ~np.isnan(r)
    if not buyer.any():
        raise ValidationError(
            f"{who}: no customer has a purchase ({cols[0]} is missing for all {len(r):,} "
            "rows); there is nothing to score."
        )
    return data.index, r, f, m, buyer


def _warn_degraded(dim: str, effective: int, bins: int, who: str, detail: str = "") -> None:
    warnings.warn(
        f"{who}: {dim} has repeated quantile edges{detail}; scored with {effective} bins "
        f"instead of {bins}. Hint: use ties='rank' for equal-sized bins.",
        CRMWarning,
        stacklevel=4,
    )


class RFMScorer:
    """Learn RFM bin thresholds on one table and score any other table with them.

    Parameters
    ----------
    bins : int, optional
        Bins per dimension (>= 2). Default 5, or 4 for ``method="pymc-marketing"``.
    method : {"quantile", "fixed", "r-rfm", "pymc-marketing"}
        ``"quantile"``: edges at the k/bins quantiles (type 7), bins closed on the right
        (a value on an edge goes to the lower bin), repeated edges merged (fewer bins,
        with a warning naming the effective count). ``"fixed"``: the caller's
        `thresholds`, closed on the right. ``"r-rfm"``: the R package rfm 0.3
        (``rfm_table_order``): breaks = type-7 quantiles + 1, bins ``[lower, upper)``,
        repeated breaks leave a score unused (as in R); with `thresholds`, R's custom
        breaks. ``"pymc-marketing"``: pymc-marketing's ``rfm_segments`` quartiles
        (``pandas.qcut(q=4, duplicates="drop")`` with its fall-back to fewer labels).
    binning : {"independent", "nested"}
        Nested binning scores F within each R score and M within each (R, F) cell.
    thresholds : mapping, optional
        ``{"recency": [...], "frequency": [...], "monetary": [...]}`` ascending inner
        edges (days, count, money) for ``method="fixed"`` or ``"r-rfm"``.
    weights : (float, float, float)
        ``rfm_score = wR * R + wF * F + wM * M`` (default 100, 10, 1).

    Attributes
    ----------
    edges_ : dict
        Inner edges per dimension (``"recency"``, ``"frequency"``, ``"monetary"``); with
        nested binning ``edges_["frequency"]`` maps an R score and
        ``edges_["monetary"]`` an (R, F) pair to its edges.
    n_bins_ : dict
        Effective number of bins per dimension (the largest one with nested binning).

    Notes
    -----
    Recency is reversed: a smaller ``recency_days`` gives a higher R score. Customers
    without purchases (``recency_days`` missing, see :func:`rfm_table`) are left out of
    the thresholds and scored R = F = M = 1.

    References
    ----------
    Hebbali, A. (2023). rfm: Recency, Frequency and Monetary Value Analysis, R package
    0.3.0. Miglautsch, J. (2000). Thoughts on RFM scoring. Journal of Database Marketing
    8(1), 67-72.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [1.0, 10, 20, 30], "frequency": [5, 3, 2, 1],
    ...                       "monetary": [50.0, 30, 20, 10]}, index=["a", "b", "c", "d"])
    >>> scorer = RFMScorer(bins=2).fit(table)
    >>> scorer.edges_["recency"].tolist()
    [15.0]
    >>> scorer.transform(table)["rfm_code"].tolist()
    ['222', '222', '111', '111']
    """

    def __init__(
        self,
        *,
        bins: int | None = None,
        method: str = "quantile",
        binning: str = "independent",
        thresholds: Mapping[str, Sequence[float]] | None = None,
        weights: Sequence[float] = (100, 10, 1),
    ) -> None:
        self.bins = bins
        self.method = method
        self.binning = binning
        self.thresholds = thresholds
        self.weights = weights

    # -- validation -----------------------------------------------------------------
    def _validate(self, who: str) -> int:
        check_param_choice("method", self.method, _METHODS, who=who)
        check_param_choice("binning", self.binning, _BINNINGS, who=who)
        bins = _default_bins(self.method, self.bins)
        check_param_number("bins", bins, who=who, low=2, integer=True)
        _check_weights(self.weights, who)
        if self.method in ("r-rfm", "pymc-marketing") and self.binning != "independent":
            raise ValidationError(
                f"{who}: method={self.method!r} reproduces a tool that bins each dimension "
                "independently; binning='nested' is not available with it."
            )
        if self.method == "fixed" and self.thresholds is None:
            raise ValidationError(f"{who}: method='fixed' needs thresholds for R, F and M.")
        if self.thresholds is not None:
            if self.method not in ("fixed", "r-rfm"):
                raise ValidationError(
                    f"{who}: thresholds are used by method='fixed' or 'r-rfm' only; "
                    f"got method={self.method!r}."
                )
            if self.binning != "independent":
                raise ValidationError(f"{who}: fixed thresholds need binning='independent'.")
            for dim in _DIMS:
                if dim not in self.thresholds:
                    raise ValidationError(
                        f"{who}: thresholds lacks {dim!r}; give ascending edges for "
                        f"{', '.join(_DIMS)}."
                    )
                edges = np.asarray(self.thresholds[dim], dtype=np.float64)
                if edges.ndim != 1 or edges.size == 0 or np.any(np.diff(edges) <= 0):
                    raise ValidationError(
                        f"{who}: thresholds[{dim!r}] must be strictly ascending numbers; "
                        f"got {list(self.thresholds[dim])!r}."
                    )
        return int(bins)

    # -- fitting ----------------------------------------------------------------------
    def _edges(self, values: FloatArray, bins: int, dim: str, who: str, warn: bool) -> FloatArray:
        if self.thresholds is not None:
            return np.asarray(self.thresholds[dim], dtype=np.float64)
        if self.method == "r-rfm":
            return r_rfm_breaks(values, bins)
        edges = np.unique(quantile_edges(values, bins))
        # pandas.qcut merges equal edges; an inner edge equal to the minimum or maximum
        # also leaves an empty outer bin, which qcut drops as well.
        lo, hi = float(values.min()), float(values.max())
        edges = edges[(edges > lo) & (edges < hi)]
        if warn and edges.size + 1 < bins:
            _warn_degraded(dim, edges.size + 1, bins, who)
        return edges

    def fit(
        self: ScorerT,
        table: Any,
        *,
        recency_col: str = "recency_days",
        frequency_col: str = "frequency",
        monetary_col: str = "monetary",
    ) -> ScorerT:
        """Learn the thresholds from `table` (an :func:`rfm_table` output) and return self.

        Raises
        ------
        ValidationError
            On bad settings, missing F or M values, or a table without any purchaser.
        """
        who = "RFMScorer.fit"
        bins = self._validate(who)
        _, r, f, m, buyer = _score_inputs(table, (recency_col, frequency_col, monetary_col), who)
        r, f, m = r[buyer], f[buyer], m[buyer]
        edges: dict[str, Any] = {"recency": self._edges(r, bins, "recency", who, True)}
        n_bins = {"recency": self._n_bins(edges["recency"], bins)}
        if self.binning == "independent":
            edges["frequency"] = self._edges(f, bins, "frequency", who, True)
            edges["monetary"] = self._edges(m, bins, "monetary", who, True)
            n_bins["frequency"] = self._n_bins(edges["frequency"], bins)
            n_bins["monetary"] = self._n_bins(edges["monetary"], bins)
        else:
            r_score = self._apply(r, edges["recency"], bins, reverse=True)
            f_edges: dict[int, FloatArray] = {}
            m_edges: dict[tuple[int, int], FloatArray] = {}
            f_score = np.ones_like(r_score)
            for rs in np.unique(r_score):  # loop over at most `bins` groups
                sel = r_score == rs
                f_edges[int(rs)] = self._edges(f[sel], bins, "frequency", who, False)
                f_score[sel] = self._apply(f[sel], f_edges[int(rs)], bins, reverse=False)
            cells = r_score * 1000 + f_score
            for cell in np.unique(cells):  # at most bins**2 groups
                sel = cells == cell
                key = (int(cell // 1000), int(cell % 1000))
                m_edges[key] = self._edges(m[sel], bins, "monetary", who, False)
            edges["frequency"], edges["monetary"] = f_edges, m_edges
            n_bins["frequency"] = max(self._n_bins(e, bins) for e in f_edges.values())
            n_bins["monetary"] = max(self._n_bins(e, bins) for e in m_edges.values())
            for dim, group_edges in (("frequency", f_edges), ("monetary", m_edges)):
                few = [e for e in group_edges.values() if e.size + 1 < bins]
                if few:
                    smallest = min(e.size + 1 for e in few)
                    _warn_degraded(
                        dim,
                        smallest,
                        bins,
                        who,
                        f" in {len(few)} of {len(group_edges)} nested groups (fewest bins shown)",
                    )
        self.edges_ = edges
        self.n_bins_ = n_bins
        self.bins_ = bins
        return self

    # -- display ----------------------------------------------------------------------
    def _settings_text(self) -> str:
        parts = [] if self.bins is None else [f"bins={self.bins!r}"]
        parts.append(f"method={self.method!r}")
        if self.binning != "independent":
            parts.append(f"binning={self.binning!r}")
        if self.thresholds is not None:
            parts.append("thresholds={...}")
        weights = self.weights
        if not (isinstance(weights, Sequence) and tuple(weights) == (100, 10, 1)):
            parts.append(f"weights={weights!r}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        """``RFMScorer(method='quantile') [not fitted]``, or the settings and, once fitted,
        the effective bins per dimension (``R/F/M bins 5/5/4``)."""
        name = type(self).__name__
        if not hasattr(self, "edges_"):
            return f"{name}({self._settings_text()}) [not fitted]"
        bins = "/".join(str(self.n_bins_[dim]) for dim in _DIMS)
        return f"{name}({self._settings_text()}; R/F/M bins {bins})"

    def _repr_html_(self) -> str:
        """Jupyter display: the repr line and, once fitted, the bins and inner edges per
        dimension (recency in days, reversed: a lower value scores higher). With nested
        binning the edges differ per group; the table gives the number of groups."""
        from crmcore import _display as d

        if not hasattr(self, "edges_"):
            return d.not_fitted(repr(self), "call fit(rfm_table) first")
        units = {"recency": "days", "frequency": "orders", "monetary": "money"}
        rows: list[list[str | d.Cell]] = []
        for dim in _DIMS:
            edges = self.edges_[dim]
            if isinstance(edges, dict):
                text = f"nested: {len(edges):,} groups, each with its own edges"
            else:
                text = ", ".join(d.number(e) for e in np.asarray(edges, dtype=np.float64))
            rows.append([dim, d.count(self.n_bins_[dim]), units[dim], d.Cell(text, align="left")])
        note = (
            "R is reversed: a lower recency_days gives a higher score. Bins are closed on the "
            + ("left ([lower, upper), as R's rfm)." if self.method == "r-rfm" else "right.")
        )
        return d.block(
            type(self).__name__,
            d.code_line(repr(self)),
            d.table(["bins", "unit", "inner edges"], rows, index_header="dimension"),
            notes=[note],
        )

    def _n_bins(self, edges: FloatArray, bins: int) -> int:
        if self.method == "r-rfm" and self.thresholds is None:
            return bins
        return int(edges.size + 1)

    def _apply(
        self, values: FloatArray, edges: FloatArray, bins: int, *, reverse: bool
    ) -> IntArray:
        if self.method == "r-rfm":
            score = bin_left_closed(values, edges)
        else:
            score = bin_right_closed(values, edges)
        if reverse:
            top = bins if (self.method == "r-rfm" and self.thresholds is None) else edges.size + 1
            score = top + 1 - score
        return score

    # -- scoring ----------------------------------------------------------------------
    def transform(
        self,
        table: Any,
        *,
        recency_col: str = "recency_days",
        frequency_col: str = "frequency",
        monetary_col: str = "monetary",
    ) -> pd.DataFrame:
        """Score `table` with the fitted thresholds.

        Returns
        -------
        pandas.DataFrame
            Same index as `table`; columns ``r_score, f_score, m_score`` (int64, 1 =
            worst), ``rfm_code`` (str, e.g. "543"), ``rfm_score`` and ``fm_score``
            (round-half-up mean of F and M, int64).

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        """
        who = "RFMScorer.transform"
        if not hasattr(self, "edges_"):
            raise NotFittedError(
                "This RFMScorer is not fitted yet; call fit(table) before transform()."
            )
        index, r, f, m, buyer = _score_inputs(
            table, (recency_col, frequency_col, monetary_col), who
        )
        bins = self.bins_
        rs = np.ones(r.size, dtype=np.int64)
        fs = np.ones(r.size, dtype=np.int64)
        ms = np.ones(r.size, dtype=np.int64)
        rb, fb, mb = r[buyer], f[buyer], m[buyer]
        r_b = self._apply(rb, self.edges_["recency"], bins, reverse=True)
        if self.binning == "independent":
            f_b = self._apply(fb, self.edges_["frequency"], bins, reverse=False)
            m_b = self._apply(mb, self.edges_["monetary"], bins, reverse=False)
        else:
            f_b = np.ones_like(r_b)
            m_b = np.ones_like(r_b)
            for key, e in self.edges_["frequency"].items():
                sel = r_b == key
                f_b[sel] = self._apply(fb[sel], e, bins, reverse=False)
            fallback_m = max(self.edges_["monetary"].values(), key=lambda e: e.size)
            cells = r_b * 1000 + f_b
            for cell in np.unique(cells):
                sel = cells == cell
                key2 = (int(cell // 1000), int(cell % 1000))
                e = self.edges_["monetary"].get(key2, fallback_m)
                m_b[sel] = self._apply(mb[sel], e, bins, reverse=False)
        rs[buyer], fs[buyer], ms[buyer] = r_b, f_b, m_b
        return _assemble(index, rs, fs, ms, _check_weights(self.weights, who))


def _assemble(
    index: pd.Index,
    r: IntArray,
    f: IntArray,
    m: IntArray,
    weights: tuple[float, float, float],
) -> pd.DataFrame:
    if r.size and max(int(r.max()), int(f.max()), int(m.max())) <= 9:
        # one text label per possible code (0..999), taken per customer: the same Series
        # as ``astype("str")`` on the codes without converting a million integers
        labels = pd.Series(np.arange(1000, dtype=np.int64)).astype("str")
        code = labels.iloc[r * 100 + f * 10 + m].set_axis(index)
    else:
        code = (
            pd.Series(r, index=index).astype("str")
            + "-"
            + pd.Series(f, index=index).astype("str")
            + "-"
            + pd.Series(m, index=index).astype("str")
        )
    if all(float(w).is_integer() for w in weights):
        wr, wf, wm = (int(w) for w in weights)
        score: npt.NDArray[Any] = wr * r + wf * f + wm * m
    else:
        score = weights[0] * r + weights[1] * f + weights[2] * m
    out = pd.DataFrame(
        {
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "rfm_code": code,
            "rfm_score": score,
            "fm_score": (f + m + 1) // 2,
        },
        index=index,
    )
    return cast("pd.DataFrame", out)


def _tiebreak_keys(index: pd.Index, ties: str, random_state: Any) -> IntArray:
    order = np.argsort(index.to_numpy(), kind="stable")
    id_rank = np.empty(len(index), dtype=np.int64)
    id_rank[order] = np.arange(len(index), dtype=np.int64)
    return tiebreak_keys(id_rank, ties, random_state)


def rfm_scores(
    table: Any,
    *,
    bins: int | None = None,
    method: str = "quantile",
    binning: str = "independent",
    ties: str = "shared",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    weights: Sequence[float] = (100, 10, 1),
    random_state: int | np.random.Generator | None = None,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
) -> pd.DataFrame:
    """Score each customer 1..bins on recency, frequency and monetary value.

    Parameters
    ----------
    table : DataFrame
        An :func:`rfm_table` output (or any frame with the three columns).
    bins : int, optional
        Bins per dimension (>= 2); default 5 (4 for ``method="pymc-marketing"``).
    method : {"quantile", "fixed", "r-rfm", "pymc-marketing"}
        See :class:`RFMScorer`.
    binning : {"independent", "nested"}
        Nested: F is binned within each R score, M within each (R, F) cell.
    ties : {"shared", "rank", "random"}
        ``"shared"``: equal values always share a bin (quantile edges; repeated edges
        merge bins, with a warning naming the effective count). ``"rank"``: equal-count
        bins by forced rank, ties broken by customer id (the smaller id gets the lower
        score). ``"random"``: forced rank with ties split at random (`random_state`).
        Forced ranks need ``method="quantile"``.
    thresholds : mapping, optional
        Fixed inner edges for ``method="fixed"`` (or R's custom breaks with "r-rfm").
    weights : (float, float, float)
        Weights of R, F and M in ``rfm_score`` (default 100, 10, 1).
    random_state : int, numpy.random.Generator or None
        Only used by ``ties="random"``.
    recency_col, frequency_col, monetary_col : str
        Column names in `table`.

    Returns
    -------
    pandas.DataFrame
        Indexed like `table`: ``r_score, f_score, m_score`` (int64), ``rfm_code`` (str,
        "543"; digits joined with "-" when a score exceeds 9), ``rfm_score``
        (int64 for integer weights) and ``fm_score`` = round-half-up((F + M) / 2).

    Raises
    ------
    ValidationError
        On unknown options, ``bins < 2``, missing F/M values, or a table without buyers.

    Notes
    -----
    Quantiles are Hyndman & Fan type 7. Recency is reversed (most recent = highest R).
    Customers without purchases (missing ``recency_days``) score 1 / 1 / 1 and do not
    move the thresholds.

    References
    ----------
    Hughes, A. M. (1994). *Strategic Database Marketing*. Miglautsch, J. (2000).
    Thoughts on RFM scoring. Journal of Database Marketing 8(1). Hyndman, R. J. & Fan, Y.
    (1996). Sample quantiles in statistical packages. The American Statistician 50(4).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [5.0, 40, 90, 200, 400],
    ...                       "frequency": [9, 4, 4, 2, 1],
    ...                       "monetary": [900.0, 300, 350, 80, 20]},
    ...                      index=list("abcde"))
    >>> rfm_scores(table, bins=5, ties="rank")[["rfm_code", "rfm_score", "fm_score"]]
      rfm_code  rfm_score  fm_score
    a      555        555         5
    b      433        433         3
    c      344        344         4
    d      222        222         2
    e      111        111         1
    """
    who = "rfm_scores"
    from crmcore._validation import check_random_state

    check_random_state(random_state, who=who)
    check_param_choice("ties", ties, _TIES, who=who)
    scorer = RFMScorer(
        bins=bins, method=method, binning=binning, thresholds=thresholds, weights=weights
    )
    cols = {
        "recency_col": recency_col,
        "frequency_col": frequency_col,
        "monetary_col": monetary_col,
    }
    if ties == "shared":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CRMWarning)
            scorer.fit(table, **cols)
        for w in caught:  # re-issue under this function's name and the caller's line
            warnings.warn(str(w.message).replace("RFMScorer.fit", who), CRMWarning, stacklevel=2)
        return scorer.transform(table, **cols)
    n_bins = scorer._validate(who)
    if method != "quantile":
        raise ValidationError(
            f"{who}: ties={ties!r} (forced rank) works with method='quantile' only; "
            f"got method={method!r}."
        )
    index, r, f, m, buyer = _score_inputs(table, (recency_col, frequency_col, monetary_col), who)
    keys = _tiebreak_keys(index, ties, random_state)
    rs = np.ones(r.size, dtype=np.int64)
    fs = np.ones(r.size, dtype=np.int64)
    ms = np.ones(r.size, dtype=np.int64)
    kb = keys[buyer]
    r_b = rank_bins(-r[buyer], n_bins, kb)
    fb, mb = f[buyer], m[buyer]
    if binning == "independent":
        f_b = rank_bins(fb, n_bins, kb)
        m_b = rank_bins(mb, n_bins, kb)
    else:
        f_b = np.ones_like(r_b)
        m_b = np.ones_like(r_b)
        for rv in np.unique(r_b):
            sel = r_b == rv
            f_b[sel] = rank_bins(fb[sel], n_bins, kb[sel])
        cells = r_b * 1000 + f_b
        for cell in np.unique(cells):
            sel = cells == cell
            m_b[sel] = rank_bins(mb[sel], n_bins, kb[sel])
    rs[buyer], fs[buyer], ms[buyer] = r_b, f_b, m_b
    return _assemble(index, rs, fs, ms, _check_weights(weights, who))
