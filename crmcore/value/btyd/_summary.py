"""BTYD summary: from a transaction log to one (frequency, recency, T) row per customer.

The input is read through narwhals (pandas, Polars and PyArrow give identical results) and
validated at that edge. Two engines compute the same numbers (tested against each other and
against lifetimes):

- arrays (used for eager frames): ids are factorised (offsets for compact integer ids),
  dates become whole periods, distinct (customer, period) pairs come from one sort of packed
  integer keys and the totals from bincounts — several times faster than group-bys over
  millions of customers;
- narwhals group-by/join expressions only, kept for engines that cannot hand over arrays.

Both number periods with the package's one period clock (:mod:`crmcore._periods`): the
numpy twin :func:`~crmcore._periods.period_numbers` on the arrays, the expression twin
:func:`~crmcore._periods.period_expr` on the frame. Only differences of period numbers
(recency, T, holdout duration) reach the output, so the clock's epoch never shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._compat import renamed_parameters
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
) -> pd.DataFrame:
    """Summarise a transaction log into the (frequency, recency, T) form of the BTYD models.

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow)
        One row per transaction.
    customer_col, date_col : str
        Customer id and transaction date (dates, datetimes or ISO strings; tz-aware values
        are taken as wall-clock time in their zone).
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
        but reports recency and T in weeks.
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
    pandas.DataFrame
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

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        On missing values, non-numeric amounts, unknown `time_unit`, a non-positive
        `unit_multiplier`, or `calibration_end` not before `as_of`.

    Notes
    -----
    Computed from numpy arrays taken from the frame (one sort of packed (customer, period)
    keys, bincounts), or with narwhals group-bys; both give the same frame.

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
        warn_negative=False,
    )
    frame = exclude_after(
        frame,
        date_col=date_col,
        customer_col=customer_col,
        cutoff=obs_end,
        name="as_of",
        who=_WHO,
    )
    if amount_col is not None:
        warn_negative_amounts(frame, amount_col, who=_WHO, stacklevel=2)
    if len(frame) == 0:
        raise ValidationError(
            f"{_WHO}: no transaction is dated on or before as_of "
            f"{obs_end:%Y-%m-%d}. Hint: check as_of."
        )
    multiplier = float(unit_multiplier)
    unit_label = time_unit if multiplier == 1 else f"{unit_multiplier:g}{time_unit}"
    frame, scale = _scaled_amounts(frame, amount_col)
    if _ARRAY_ENGINE:
        summary = _summary_from_arrays(
            frame,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            unit=time_unit,
            obs_end=obs_end,
            cal_end=cal_end,
            multiplier=multiplier,
            include_first=include_first_transaction,
        )
        summary.attrs["time_unit"] = unit_label
        return _finish(summary, scale)
    frame = frame.with_columns(period_expr(date_col, time_unit).alias("__period__"))

    if cal_end is None:
        end_period = _period_of(_last_instant(obs_end), time_unit)
        calib = frame
    else:
        end_period = _period_of(_last_instant(cal_end), time_unit)
        calib = frame.filter(nw.col(date_col) < cutoff_bound(cal_end).to_pydatetime())
    summary = _summarise(
        calib,
        customer_col=customer_col,
        amount_col=amount_col,
        end_period=end_period,
        multiplier=multiplier,
        include_first=include_first_transaction,
    )
    if cal_end is not None:
        hold = frame.filter(nw.col(date_col) >= cutoff_bound(cal_end).to_pydatetime())
        summary = _add_holdout(hold, summary, customer_col=customer_col, amount_col=amount_col)
        duration = (_period_of(_last_instant(obs_end), time_unit) - end_period) / multiplier
        summary["duration_holdout"] = float(duration)
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


def _distinct_periods(
    codes: npt.NDArray[np.int64], periods: npt.NDArray[np.int64], n_customers: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per customer code: number of distinct periods, first period, last period."""
    count = np.zeros(n_customers, dtype=np.int64)
    first = np.zeros(n_customers, dtype=np.int64)
    last = np.zeros(n_customers, dtype=np.int64)
    if len(codes) == 0:
        return count, first, last
    p_lo = int(periods.min())
    width = int(periods.max()) - p_lo + 1
    if n_customers * width < 2**62:
        # packed keys; int32 when they fit (half the memory traffic of the sort)
        kind = np.int32 if n_customers * width < 2**31 else np.int64
        keys = np.sort((codes * width + (periods - p_lo)).astype(kind)).astype(np.int64)
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
        cust = keys // width
        per = keys % width + p_lo
    else:  # pragma: no cover - needs an enormous id x period range
        order = np.lexsort((periods, codes))
        c_sorted, p_sorted = codes[order], periods[order]
        new = np.concatenate(
            ([True], (c_sorted[1:] != c_sorted[:-1]) | (p_sorted[1:] != p_sorted[:-1]))
        )
        cust, per = c_sorted[new], p_sorted[new]
    count += np.bincount(cust, minlength=n_customers)
    starts = np.flatnonzero(np.concatenate(([True], cust[1:] != cust[:-1])))
    ends = np.concatenate((starts[1:] - 1, [len(cust) - 1]))
    first[cust[starts]] = per[starts]
    last[cust[starts]] = per[ends]
    return count, first, last


def _customer_codes(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Dense codes of the ids in sorted order of the distinct ids, and those ids."""
    if ids.dtype.kind in "iu" and len(ids):
        lo, hi = int(ids.min()), int(ids.max())
        if hi - lo < 4 * len(ids) + 1024:
            # compact integer ids: offsets instead of hashing
            offsets = ids.astype(np.int64) - lo
            present = np.bincount(offsets, minlength=hi - lo + 1) > 0
            lookup = np.cumsum(present) - 1
            uniques = (np.flatnonzero(present) + lo).astype(ids.dtype)
            return lookup[offsets].astype(np.int64), uniques
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


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
    codes, uniques = _customer_codes(np.asarray(frame[customer_col].to_numpy()))
    dates = np.asarray(frame[date_col].to_numpy()).astype("datetime64[us]")
    periods = period_numbers(dates, unit, name=date_col, who=_WHO)
    amounts = (
        np.asarray(frame[amount_col].to_numpy(), dtype=np.float64)
        if amount_col is not None
        else None
    )
    n_customers = len(uniques)
    if cal_end is None:
        end_period = _period_of(_last_instant(obs_end), unit)
        keep = np.ones(dates.shape[0], dtype=bool)
    else:
        end_period = _period_of(_last_instant(cal_end), unit)
        keep = dates < _as_us(cutoff_bound(cal_end))
    c, p = codes[keep], periods[keep]
    count, first, last = _distinct_periods(c, p, n_customers)
    present = count > 0
    n_f = count[present].astype(np.float64)
    # a tiny unit_multiplier can overflow the times: btyd_summary reports it (_finish)
    with np.errstate(over="ignore"):
        data: dict[str, Any] = {
            "frequency": n_f if include_first else n_f - 1.0,
            "recency": (last[present] - first[present]).astype(np.float64) / multiplier,
            "T": (float(end_period) - first[present].astype(np.float64)) / multiplier,
        }
    if amounts is not None:
        a = amounts[keep]
        total = np.bincount(c, weights=a, minlength=n_customers)[present]
        if include_first:
            data["monetary_value"] = total / n_f
        else:
            in_first = p == first[c]
            first_total = np.bincount(c[in_first], weights=a[in_first], minlength=n_customers)
            repeat = n_f - 1.0
            data["monetary_value"] = np.where(
                repeat > 0, (total - first_total[present]) / np.maximum(repeat, 1.0), 0.0
            )
    if cal_end is not None:
        hold = ~keep
        hold_count, _, _ = _distinct_periods(codes[hold], periods[hold], n_customers)
        data["frequency_holdout"] = hold_count[present].astype(np.float64)
        if amounts is not None:
            n_tx = np.bincount(codes[hold], minlength=n_customers)[present]
            spent = np.bincount(codes[hold], weights=amounts[hold], minlength=n_customers)[present]
            data["monetary_value_holdout"] = np.where(n_tx > 0, spent / np.maximum(n_tx, 1), 0.0)
        duration = (_period_of(_last_instant(obs_end), unit) - end_period) / multiplier
        data["duration_holdout"] = np.full(int(present.sum()), float(duration))
    index = pd.Index(np.asarray(uniques)[present], name=customer_col)
    result: pd.DataFrame = pd.DataFrame(data, index=index, dtype=np.float64)
    return result


def _summarise(
    frame: nw.DataFrame[Any],
    *,
    customer_col: str,
    amount_col: str | None,
    end_period: int,
    multiplier: float,
    include_first: bool,
) -> pd.DataFrame:
    # one single-key group-by: first and last period, number of distinct periods, total
    cust_aggs = [
        nw.col("__period__").min().alias("__first__"),
        nw.col("__period__").max().alias("__last__"),
        nw.col("__period__").n_unique().alias("__count__"),
    ]
    if amount_col is not None:
        cust_aggs.append(nw.col(amount_col).sum().alias("__total__"))
    customers = frame.group_by(customer_col).agg(*cust_aggs)
    if amount_col is not None:
        # total of the first period: transactions joined to their customer's first period
        first = (
            frame.select(customer_col, "__period__", amount_col)
            .join(customers.select(customer_col, "__first__"), on=customer_col)
            .filter(nw.col("__period__") == nw.col("__first__"))
            .group_by(customer_col)
            .agg(nw.col(amount_col).sum().alias("__first_amount__"))
        )
        customers = customers.join(first, on=customer_col)
    customers = customers.sort(customer_col)
    ids = customers[customer_col].to_list()
    first_p = customers["__first__"].to_numpy().astype(np.float64)
    last_p = customers["__last__"].to_numpy().astype(np.float64)
    count = customers["__count__"].to_numpy().astype(np.float64)
    with np.errstate(over="ignore"):  # reported by btyd_summary (_finish)
        data: dict[str, Any] = {
            "frequency": count if include_first else count - 1.0,
            "recency": (last_p - first_p) / multiplier,
            "T": (float(end_period) - first_p) / multiplier,
        }
    if amount_col is not None:
        total = customers["__total__"].to_numpy().astype(np.float64)
        if include_first:
            data["monetary_value"] = total / count
        else:
            first_amount = customers["__first_amount__"].to_numpy().astype(np.float64)
            repeat = count - 1.0
            with np.errstate(invalid="ignore", divide="ignore"):
                data["monetary_value"] = np.where(
                    repeat > 0, (total - first_amount) / np.maximum(repeat, 1.0), 0.0
                )
    index = pd.Index(ids, name=customer_col)
    result: pd.DataFrame = pd.DataFrame(data, index=index, dtype=np.float64)
    return result


def _add_holdout(
    hold: nw.DataFrame[Any],
    summary: pd.DataFrame,
    *,
    customer_col: str,
    amount_col: str | None,
) -> pd.DataFrame:
    freq = hold.group_by(customer_col).agg(nw.col("__period__").n_unique().alias("__freq__"))
    out: pd.DataFrame = summary.copy()
    ids = freq[customer_col].to_list()
    values = pd.Series(
        freq["__freq__"].to_numpy().astype(np.float64), index=pd.Index(ids), dtype=np.float64
    )
    out["frequency_holdout"] = values.reindex(out.index).fillna(0.0).to_numpy()
    if amount_col is not None:
        spend = hold.group_by(customer_col).agg(nw.col(amount_col).mean().alias("__mean__"))
        mean = pd.Series(
            spend["__mean__"].to_numpy().astype(np.float64),
            index=pd.Index(spend[customer_col].to_list()),
            dtype=np.float64,
        )
        out["monetary_value_holdout"] = mean.reindex(out.index).fillna(0.0).to_numpy()
    return out
