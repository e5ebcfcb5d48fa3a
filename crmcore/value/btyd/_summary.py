"""BTYD summary: from a transaction log to one (frequency, recency, T) row per customer.

Eager frames (pandas, Polars, PyArrow) are read through narwhals and validated at that edge
(:func:`crmcore._orderlog.read_order_log`); lazy frames (Polars LazyFrame, DuckDB, PySpark,
Dask) are validated on their engine (:func:`crmcore._lazy.read_order_log_lazy`). Two
engines compute the same numbers (tested against each other, on every engine of the parity
suite, and against lifetimes):

- arrays (eager frames): the kernels of :mod:`crmcore._aggregate` — ids factorised
  (offsets for compact integer ids, the engine's own encoding for Polars and PyArrow
  text), dates as whole periods, distinct (customer, period) pairs from one sort of packed
  integer keys (calibration and holdout in the same sort), exact sums from bincounts;
- narwhals group-by / join expressions only (lazy frames, which stay on their engine and
  come back as the engine's lazy frame; also used on eager frames when ``_ARRAY_ENGINE``
  is switched off, which is how the two engines are tested equal in memory).

Both number periods with the package's one period clock (:mod:`crmcore._periods`): the
numpy twin :func:`~crmcore._periods.period_numbers` on the arrays, the expression twin
:func:`~crmcore._periods.period_expr` on the frame. Only differences of period numbers
(recency, T, holdout duration) reach the output, so the clock's epoch never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

import narwhals.stable.v1 as nw
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import distinct_counts, factorize_ids, group_counts, group_sums
from crmcore._compat import renamed_parameters
from crmcore._lazy import as_lazy, lazy_only_option, read_order_log_lazy
from crmcore._orderlog import cutoff_bound, exclude_after, read_order_log, warn_negative_amounts
from crmcore._periods import period_expr, period_numbers
from crmcore._validation import (
    check_param_choice,
    check_param_number,
    coerce_timestamp,
    first_ids,
    format_ids,
)
from crmcore.exceptions import ValidationError

__all__ = ["btyd_summary"]

_WHO = "btyd_summary"
_UNITS = ("h", "D", "W", "M")


def _period_of(ts: pd.Timestamp, unit: str) -> int:
    """Period number of one instant on the package's clock (wall clock of a tz-aware value)."""
    return int(period_numbers(pd.DatetimeIndex([ts]), unit, who=_WHO)[0])


def _last_instant(ts: pd.Timestamp) -> pd.Timestamp:
    """The last instant a cut-off includes (the end of the day for a date)."""
    last: pd.Timestamp = pd.Timestamp(cutoff_bound(ts) - pd.Timedelta(microseconds=1))
    return last


@overload
def btyd_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str | None = ...,
    as_of: Any,
    time_unit: str = ...,
    unit_multiplier: float = ...,
    calibration_end: Any = ...,
    include_first_transaction: bool = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> pd.DataFrame: ...


@overload
def btyd_summary(
    transactions: Any,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str | None = ...,
    as_of: Any,
    time_unit: str = ...,
    unit_multiplier: float = ...,
    calibration_end: Any = ...,
    include_first_transaction: bool = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> Any: ...


@renamed_parameters(observation_end="as_of")
def btyd_summary(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = None,
    as_of: Any,
    time_unit: str = "D",
    unit_multiplier: float = 1,
    calibration_end: Any = None,
    include_first_transaction: bool = False,
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
    currency_col: str | None = "currency",
    date_format: str | None = None,
) -> Any:
    """Summarise a transaction log into the (frequency, recency, T) form of the BTYD models.

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per transaction. A lazy frame (Polars LazyFrame, DuckDB relation, PySpark
        DataFrame; Dask experimental) is summarised on its own engine, see Returns.
    customer_col, date_col : str
        Customer id and transaction date (dates, datetimes or ISO strings; tz-aware values
        are taken as wall-clock time in their zone). On a lazy frame a string date column
        needs `date_format`.
    amount_col : str, optional
        Transaction value; adds ``monetary_value`` (and ``monetary_value_holdout``). All
        purchase rows must then be in one currency when `currency_col` exists (convert
        with :meth:`crmcore.money.ExchangeRates.convert_frame`).
    as_of : date-like
        End of the observation period (required: the clock is never read). A date includes
        its whole day; later transactions are left out and counted (rows, and customers
        seen only after it) in a :class:`~crmcore.CRMWarning`. Strings must be ISO 8601
        (or match `date_format`). Formerly ``observation_end``, which still works for one
        release with a ``DeprecationWarning``.
    time_unit : {"h", "D", "W", "M"}, default "D"
        Period of the summary: clock hours, calendar days, Monday-to-Sunday weeks (pandas'
        ``"W"``) or calendar months. Purchases in the same period merge into one (the one
        definition of a repeat purchase used by every model and checking table).
    unit_multiplier : float, default 1
        Periods per time unit of the output: ``time_unit="D", unit_multiplier=7`` counts days
        but reports recency and T in weeks. A lazy frame needs at least ``1e-290`` (smaller
        ones could overflow recency and T, which cannot be checked without collecting).
    calibration_end : date-like, optional
        End of the calibration period. The summary then describes transactions up to and
        including this instant, and holdout columns describe those after it, up to
        `as_of`.
    include_first_transaction : bool, default False
        Count the first period in ``frequency`` and ``monetary_value`` (keep False for the
        BTYD models, which model repeat purchases).
    status_col : str or None, default "status"
        When this column exists only purchases count (rows whose status is in
        `statuses`); the others are counted by status in a ``CRMWarning``.
    statuses : iterable of str, optional
        Statuses that count as purchases; default ``("confirmed", "fulfilled")``.
    currency_col : str or None, default "currency"
        Currency column checked when `amount_col` is given.
    date_format : str, optional
        ``strftime`` layout of a string date column (else ISO 8601; never guessed per row).

    Returns
    -------
    pandas.DataFrame or lazy frame
        Indexed by customer id (sorted, index named `customer_col`), float columns:

        - ``frequency``: number of repeat periods with a purchase (all periods with
          ``include_first_transaction``);
        - ``recency``: time from the first to the last purchase period;
        - ``T``: time from the first purchase period to the period of the end of observation
          (of calibration when `calibration_end` is given);
        - ``monetary_value`` (with `amount_col`): mean of the per-period totals of the repeat
          periods, 0 for customers without repeat purchases (all periods with
          ``include_first_transaction``);
        - with `calibration_end`: ``frequency_holdout`` (number of periods with a purchase
          after the calibration end), ``monetary_value_holdout`` (mean transaction amount in
          the holdout, 0 if none) and ``duration_holdout`` (periods from the calibration end
          to the observation end).

        ``attrs["time_unit"]`` holds the time unit (e.g. ``"W"``, or ``"7D"`` for days with
        ``unit_multiplier=7``); models fitted on the frame record it.

        For a lazy frame: a lazy frame of the same engine (Polars ``LazyFrame``, DuckDB
        relation, Spark or Dask DataFrame) with the customer id as a column (`customer_col`,
        its dtype as on the engine) followed by the same Float64 columns with the same
        values; row order unspecified; no ``attrs`` (the engine's frames have none), so
        pass the time unit on to whatever reads it.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        On missing values, non-numeric or infinite amounts, unknown `time_unit`, a
        non-positive `unit_multiplier` (below ``1e-290`` for a lazy frame), or
        `calibration_end` not before `as_of`.

    Notes
    -----
    Eager frames are computed from numpy arrays taken from the frame (one sort of packed
    (customer, period) keys for calibration and holdout together, exact order-independent
    sums); lazy frames with narwhals group-bys and joins on their engine (distinct
    (customer, period) pairs from a group-by on both keys, never ``n_unique``, which Dask
    gets wrong inside a group-by; no ``over()``, no ``dt.total_*``). Both use the same
    period clock and the same cut-off rules, and give the same numbers (tested to 1e-12 on
    every engine). The monetary value is the spending of the repeat periods divided by
    their number, summed directly (not as a total minus the first period's spending,
    which loses digits when the first period dominates).

    On a lazy frame amounts are summed divided by ``2**64`` (exact for every amount of
    magnitude 1e-288 or more) and the means multiplied back, so a sum of amounts near the
    float maximum cannot overflow there. Dask is experimental: its group-by followed by a
    join can fail with a ``KeyError`` from about 12 partitions (a Dask bug); the summary
    filters between its group-bys, which avoids it (tested equal from 1 to 40 partitions).

    The numbers equal lifetimes' ``summary_data_from_transaction_data`` and
    ``calibration_and_holdout_data`` for ``freq="D"`` and ``"W"`` (the calibration columns
    without the ``_cal`` suffix) when the cut-offs are whole days at the end of a period.
    One difference by design: lifetimes keeps a transaction later in the same week or
    month as `as_of`; crmcore applies the one cut-off rule of every order-log
    function (the cut-off day is included, later days are not). ``T`` runs to the period
    containing the cut-off. Customers whose first purchase is after the (calibration) end
    do not appear (counted in the warning), and the holdout monetary value is the mean of
    individual transactions rather than of period totals, as in lifetimes.

    A customer whose first purchase falls in the last period has ``T = 0``; every model
    accepts such rows (they carry no information about the purchase process).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "a"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-03",
    ...                             "2024-01-15"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0, 30.0],
    ... })
    >>> btyd_summary(log, amount_col="amount", as_of="2024-01-31")
                 frequency  recency     T  monetary_value
    customer_id
    a                  2.0     14.0  30.0            25.0
    b                  0.0      0.0  28.0             0.0

    A lazy frame stays on its engine (here Polars; DuckDB and Spark alike):

    >>> import polars as pl
    >>> lazy = btyd_summary(pl.from_pandas(log).lazy(), amount_col="amount",
    ...                     as_of="2024-01-31")
    >>> lazy.sort("customer_id").collect().to_pandas()
      customer_id  frequency  recency     T  monetary_value
    0           a        2.0     14.0  30.0            25.0
    1           b        0.0      0.0  28.0             0.0
    """
    check_param_choice("time_unit", time_unit, _UNITS, who=_WHO)
    check_param_number("unit_multiplier", unit_multiplier, who=_WHO, low=0.0, low_inclusive=False)
    if not isinstance(include_first_transaction, bool):
        raise ValidationError(
            f"The 'include_first_transaction' parameter of {_WHO} must be a bool. "
            f"Got {include_first_transaction!r} instead."
        )
    obs_end = coerce_timestamp(as_of, name="as_of", who=_WHO, date_format=date_format)
    cal_end = (
        None
        if calibration_end is None
        else coerce_timestamp(
            calibration_end, name="calibration_end", who=_WHO, date_format=date_format
        )
    )
    if cal_end is not None and cal_end >= obs_end:
        raise ValidationError(
            f"{_WHO}: calibration_end ({cal_end.date()}) must be before as_of ({obs_end.date()})."
        )
    multiplier = float(unit_multiplier)
    options: dict[str, Any] = {
        "customer_col": customer_col,
        "date_col": date_col,
        "amount_col": amount_col,
        "unit": time_unit,
        "obs_end": obs_end,
        "cal_end": cal_end,
        "multiplier": multiplier,
        "include_first": include_first_transaction,
    }
    lazy = as_lazy(transactions)
    if lazy is not None:
        if multiplier < _LAZY_MIN_MULTIPLIER:
            raise lazy_only_option(
                _WHO,
                f"unit_multiplier={unit_multiplier!r} (below {_LAZY_MIN_MULTIPLIER:g})",
                "recency and T could overflow float64, which cannot be checked without "
                "collecting the frame",
            )
        rows = read_order_log_lazy(
            lazy,
            who=_WHO,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            status_col=status_col,
            statuses=statuses,
            currency_col=currency_col,
            date_format=date_format,
            stacklevel=4,
            cutoff=obs_end,
            cutoff_name="as_of",
        )
        return _summary_frame(rows, **options, scale=_LAZY_SCALE).to_native()
    frame = read_order_log(
        transactions,
        who=_WHO,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
        date_format=date_format,
        stacklevel=4,  # warnings point at the caller, past the renamed_parameters wrapper
        warn_negative=False,
    )
    frame = exclude_after(
        frame,
        date_col=date_col,
        customer_col=customer_col,
        cutoff=obs_end,
        name="as_of",
        who=_WHO,
        stacklevel=4,
    )
    if amount_col is not None:
        warn_negative_amounts(frame, amount_col, who=_WHO, stacklevel=4)
    if len(frame) == 0:
        raise ValidationError(
            f"{_WHO}: no transaction is dated on or before as_of "
            f"{obs_end:%Y-%m-%d}. Hint: check as_of."
        )
    unit_label = time_unit if multiplier == 1 else f"{unit_multiplier:g}{time_unit}"
    frame, scale = _scaled_amounts(frame, amount_col)
    if _ARRAY_ENGINE:
        summary = _summary_from_arrays(frame, **options)
    else:
        grouped = _summary_frame(frame, **options, scale=1.0).to_pandas()
        summary = grouped.set_index(customer_col).sort_index()
    summary.attrs["time_unit"] = unit_label
    return _finish(summary, scale)


# amounts above this are divided by a power of two (exact) while summing, so that totals
# of amounts near the float maximum do not overflow when their means do not
_SCALE_ABOVE = 2.0**900


def _scaled_amounts(frame: nw.DataFrame[Any], amount_col: str | None) -> tuple[Any, float]:
    """(frame, scale): the amount column divided by `scale` (1 unless amounts are huge)."""
    if amount_col is None or len(frame) == 0:
        return frame, 1.0
    amounts = np.asarray(frame[amount_col].to_numpy(), dtype=np.float64)
    top = float(np.max(np.abs(amounts)))
    if not top > _SCALE_ABOVE:
        return frame, 1.0
    scale = 2.0 ** np.floor(np.log2(top))
    return frame.with_columns(nw.col(amount_col) / scale), float(scale)


def _finish(summary: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Undo the amount scaling; raise if a value is beyond the float range."""
    if scale != 1.0:
        for col in ("monetary_value", "monetary_value_holdout"):
            if col in summary.columns:
                with np.errstate(over="ignore"):
                    summary[col] = summary[col] * scale
    values = summary.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = bad.any(axis=1)
        columns = [str(c) for c, b in zip(summary.columns, bad.any(axis=0), strict=True) if b]
        raise ValidationError(
            f"{_WHO}: {', '.join(columns)} of {int(rows.sum()):,} of {rows.size:,} customers "
            f"exceed the largest float (about 1.8e308) and cannot be represented (first ids: "
            f"{format_ids(summary.index[rows])}). Hint: amounts near 1e308 are data errors; "
            "a tiny unit_multiplier makes recency and T overflow.",
            rule="results must fit in float64",
            column=columns[0],
            count=int(rows.sum()),
            first_ids=first_ids(summary.index[rows]),
        )
    return summary


# Eager frames are summarised from numpy arrays (hash factorisation of the ids, one sort of
# packed (customer, period) keys, bincounts): several times faster than group-bys over a
# million customers. The narwhals group-by implementation below gives identical results
# (tested) and is the path for engines that cannot hand over arrays.
_ARRAY_ENGINE = True


def _as_us(ts: pd.Timestamp) -> np.datetime64:
    return np.datetime64(ts.to_pydatetime(), "us")


def _summary_from_arrays(
    frame: nw.DataFrame[Any],
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    unit: str,
    obs_end: pd.Timestamp,
    cal_end: pd.Timestamp | None,
    multiplier: float,
    include_first: bool,
) -> pd.DataFrame:
    """The summary from the kernels of :mod:`crmcore._aggregate`.

    With a holdout every row goes to group ``2 * customer + (row after calibration_end)``,
    so one packed-key sort gives the calibration and the holdout periods of every customer
    (no masked copies of the columns), and one exact, order-independent sum
    (:func:`~crmcore._aggregate.group_sums`) gives the repeat (or all) spending of the
    calibration and the spending of the holdout.
    """
    codes, uniques = factorize_ids(frame[customer_col].to_native())
    n_customers = len(uniques)
    dates = np.asarray(frame[date_col].to_numpy())
    periods = period_numbers(dates, unit, name=date_col, who=_WHO)
    amounts = (
        np.asarray(frame[amount_col].to_numpy(), dtype=np.float64)
        if amount_col is not None
        else None
    )
    hold: npt.NDArray[np.bool_] | None = None
    if cal_end is None:
        end_period = _period_of(_last_instant(obs_end), unit)
        groups, n_groups, cal = codes, n_customers, slice(None)
    else:
        end_period = _period_of(_last_instant(cal_end), unit)
        hold = dates.astype("datetime64[us]", copy=False) >= _as_us(cutoff_bound(cal_end))
        groups = codes * 2
        groups += hold
        n_groups, cal = 2 * n_customers, slice(0, None, 2)
    count_g, first_g, last_g = distinct_counts(groups, periods, n_groups)
    count, first, last = count_g[cal], first_g[cal], last_g[cal]
    present = count > 0
    n_f = count[present].astype(np.float64)
    # a tiny unit_multiplier can overflow the times: btyd_summary reports it (_finish)
    with np.errstate(over="ignore"):
        data: dict[str, Any] = {
            "frequency": n_f if include_first else n_f - 1.0,
            "recency": (last[present] - first[present]).astype(np.float64) / multiplier,
            "T": (float(end_period) - first[present].astype(np.float64)) / multiplier,
        }
    sums: npt.NDArray[np.float64] | None = None
    if amounts is not None:
        weights = amounts
        if not include_first:
            # spending of the repeat periods: rows outside their customer's first period
            # (every holdout row counts for the holdout spending)
            repeat_rows = periods != first_g[groups]
            if hold is not None:
                repeat_rows |= hold
            weights = np.where(repeat_rows, amounts, 0.0)
        sums = group_sums(groups, weights, n_groups)
        spent = sums[cal][present]
        if include_first:
            data["monetary_value"] = spent / n_f
        else:
            repeat = n_f - 1.0
            data["monetary_value"] = np.where(repeat > 0, spent / np.maximum(repeat, 1.0), 0.0)
    if cal_end is not None:
        data["frequency_holdout"] = count_g[1::2][present].astype(np.float64)
        if sums is not None:
            n_tx = group_counts(groups, n_groups)[1::2][present]
            spent_hold = sums[1::2][present]
            data["monetary_value_holdout"] = np.where(
                n_tx > 0, spent_hold / np.maximum(n_tx, 1), 0.0
            )
        duration = (_period_of(_last_instant(obs_end), unit) - end_period) / multiplier
        data["duration_holdout"] = np.full(int(present.sum()), float(duration))
    index = pd.Index(np.asarray(uniques)[present], name=customer_col)
    result: pd.DataFrame = pd.DataFrame(data, index=index, dtype=np.float64)
    return result


# A lazy frame cannot be checked for float overflow without collecting it: its amounts are
# summed divided by this power of two (exact for every |amount| >= 1e-288, and no sum of
# fewer than 1e19 float64 amounts overflows), and unit multipliers below the minimum (which
# could overflow recency and T: periods of years 1 to 9999 differ by less than 1e8 hours)
# are refused.
_LAZY_SCALE = 2.0**64
_LAZY_MIN_MULTIPLIER = 1e-290

_PERIOD = "__period__"
_HOLD = "__hold__"
_AMOUNT = "__amount__"


def _summary_frame(
    frame: Any,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    unit: str,
    obs_end: pd.Timestamp,
    cal_end: pd.Timestamp | None,
    multiplier: float,
    include_first: bool,
    scale: float,
) -> Any:
    """The summary as narwhals expressions: a frame of the input's kind, customer id a column.

    Runs on an eager narwhals DataFrame (the group-by engine of eager frames) and on a
    narwhals LazyFrame of any engine (Polars, DuckDB, Spark, Dask), with group-by, join,
    filter, select, ``when`` and casts only: distinct (customer, period) pairs come from a
    group-by on both keys (on Dask ``n_unique`` inside a group-by is wrong), the repeat
    spending from the pairs joined to their customer's first period. Amounts are divided by
    `scale` (a power of two, exact) while summed and the means multiplied back.
    """
    cols: list[Any] = [nw.col(customer_col), period_expr(date_col, unit).alias(_PERIOD)]
    keys = [customer_col, _PERIOD]
    if amount_col is not None:
        cols.append((nw.col(amount_col).cast(nw.Float64) / scale).alias(_AMOUNT))
    if cal_end is not None:
        bound = cutoff_bound(cal_end).to_pydatetime()
        cols.append((nw.col(date_col) >= nw.lit(bound)).alias(_HOLD))
        keys.append(_HOLD)
    rows = frame.select(*cols)
    # one row per (customer, period[, holdout]) with its spending and number of purchases
    pair_stats = [nw.len().alias("__n_tx__")]
    if amount_col is not None:
        pair_stats.append(nw.col(_AMOUNT).sum().alias("__spent__"))
    pairs = rows.group_by(keys).agg(*pair_stats)
    end_period = _period_of(_last_instant(obs_end if cal_end is None else cal_end), unit)
    # the calibration pairs; the period bound always holds (the rows end at the cut-off),
    # but a filter here also keeps Dask's group-by + join from raising a KeyError (its
    # shuffle bookkeeping, from about 12 partitions; measured with dask 2026.8)
    in_calibration = nw.col(_PERIOD) <= end_period
    if cal_end is not None:
        in_calibration = in_calibration & ~nw.col(_HOLD)
    calib = pairs.filter(in_calibration)
    stats = [
        nw.col(_PERIOD).min().alias("__first__"),
        nw.col(_PERIOD).max().alias("__last__"),
        nw.len().alias("__count__"),
    ]
    if amount_col is not None and not include_first:
        first = calib.group_by(customer_col).agg(nw.col(_PERIOD).min().alias("__first_p__"))
        calib = calib.join(first, on=customer_col).with_columns(
            nw.when(nw.col(_PERIOD) != nw.col("__first_p__"))
            .then(nw.col("__spent__"))
            .otherwise(nw.lit(0.0))
            .alias("__spent__")
        )
    if amount_col is not None:
        stats.append(nw.col("__spent__").sum().alias("__total__"))
    customers = calib.group_by(customer_col).agg(*stats)

    count = nw.col("__count__").cast(nw.Float64)
    first_p = nw.col("__first__").cast(nw.Float64)
    out: list[Any] = [
        nw.col(customer_col),
        (count if include_first else count - 1.0).alias("frequency"),
        ((nw.col("__last__").cast(nw.Float64) - first_p) / multiplier).alias("recency"),
        ((nw.lit(float(end_period), nw.Float64) - first_p) / multiplier).alias("T"),
    ]
    total = nw.col("__total__").cast(nw.Float64)
    if amount_col is not None and include_first:
        out.append((total / count * scale).alias("monetary_value"))
    elif amount_col is not None:
        out.append(
            nw.when(count > 1.0)
            .then(total / (count - 1.0) * scale)
            .otherwise(nw.lit(0.0))
            .alias("monetary_value")
        )
    if cal_end is not None:
        hold_stats = [nw.len().alias("__h_count__")]
        if amount_col is not None:
            hold_stats += [
                nw.col("__n_tx__").sum().alias("__h_n_tx__"),
                nw.col("__spent__").sum().alias("__h_spent__"),
            ]
        holdout = pairs.filter(nw.col(_HOLD)).group_by(customer_col).agg(*hold_stats)
        customers = customers.join(holdout, on=customer_col, how="left")
        out.append(nw.col("__h_count__").cast(nw.Float64).fill_null(0.0).alias("frequency_holdout"))
        if amount_col is not None:
            n_tx = nw.col("__h_n_tx__").cast(nw.Float64).fill_null(0.0)
            out.append(
                nw.when(n_tx > 0.0)
                .then(nw.col("__h_spent__").cast(nw.Float64) / n_tx * scale)
                .otherwise(nw.lit(0.0))
                .alias("monetary_value_holdout")
            )
        end = _period_of(_last_instant(obs_end), unit)
        out.append(
            nw.lit(float((end - end_period) / multiplier), nw.Float64).alias("duration_holdout")
        )
    return customers.select(*out).with_columns(
        nw.col(c).cast(nw.Float64) for c in _output_columns(amount_col, cal_end)
    )


def _output_columns(amount_col: str | None, cal_end: pd.Timestamp | None) -> list[str]:
    columns = ["frequency", "recency", "T"]
    if amount_col is not None:
        columns.append("monetary_value")
    if cal_end is not None:
        columns.append("frequency_holdout")
        if amount_col is not None:
            columns.append("monetary_value_holdout")
        columns.append("duration_holdout")
    return columns
