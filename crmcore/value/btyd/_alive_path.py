"""One customer's probability of being alive, period by period (lifetimes' "alive path").

:func:`probability_alive_path` replays a customer's order history on the package's period
clock (:mod:`crmcore._periods`) and scores every period of it with a fitted transaction
model in one vectorised call, as lifetimes' ``calculate_alive_path`` does row by row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._orderlog import exclude_after, read_order_log
from crmcore._periods import PERIOD_UNITS, parse_period_unit, period_numbers, period_start
from crmcore._validation import check_param_number, coerce_timestamp, format_ids
from crmcore.exceptions import ValidationError
from crmcore.value.btyd._transaction import TransactionModel

__all__ = ["probability_alive_path"]

_WHO = "probability_alive_path"
#: Longest path (ten million periods: over a thousand years of hours).
_MAX_PERIODS = 10_000_000


def _path_unit(model: TransactionModel, time_unit: Any) -> str:
    """The calendar unit of the path: `time_unit`, else the model's ``time_unit_``."""
    if time_unit is not None:
        return parse_period_unit(time_unit, who=_WHO)
    unit = getattr(model, "time_unit_", None)
    if unit is None:
        raise ValidationError(
            f"{_WHO}: the model records no time unit (time_unit_ is None); pass time_unit= "
            f"(one of {', '.join(repr(u) for u in PERIOD_UNITS)}), the unit its parameters "
            "were fitted in."
        )
    if unit not in PERIOD_UNITS:
        raise ValidationError(
            f"{_WHO}: the model's time_unit_ {unit!r} is not a calendar period "
            f"(one of {', '.join(repr(u) for u in PERIOD_UNITS)}); pass time_unit= explicitly."
        )
    return str(unit)


def probability_alive_path(
    model: TransactionModel,
    transactions: Any,
    *,
    customer_id: Any,
    n_periods: int | None = None,
    time_unit: str | None = None,
    as_of: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    date_format: str | None = None,
    status_col: str | None = "status",
    statuses: Any = None,
) -> pd.Series:
    """A customer's probability of being alive at each period since the first purchase.

    Period ``k`` of the path (``k = 0`` is the period of the first purchase) is scored as
    the customer looked at the end of that period: ``T = k`` periods of age, frequency
    ``x`` = number of periods with a purchase among periods ``0..k``, minus one (repeat
    purchase periods), and recency ``t_x`` = the index of the last of those periods. Several
    orders in one period count once, as in :func:`btyd_summary`.

    Parameters
    ----------
    model : TransactionModel
        A fitted (or :meth:`~crmcore.value.MaximumLikelihoodModel.from_params`) BG/NBD,
        MBG/NBD or Pareto/NBD model; its parameters must refer to `time_unit`.
    transactions : DataFrame (pandas, Polars or PyArrow)
        Order log, one row per order, read by the rules of :func:`btyd_summary` (status
        filter, one date format, cut-off). It is not modified.
    customer_id : scalar
        The customer whose path to compute (compared with `customer_col` as is, so an int id
        does not match a string column).
    n_periods : int, optional
        Number of periods on the path (at most ten million), the first purchase period
        included (lifetimes' ``t`` is ``n_periods - 1``). By default the path runs to the
        period holding `as_of` (or, without `as_of`, the last order of the whole log). A
        longer path projects periods without purchases; a shorter one ignores later orders.
    time_unit : {"h", "D", "W", "M", "Q", "Y"}, optional
        Calendar period of the path (see :mod:`crmcore._periods`); the model's
        ``time_unit_`` by default.
    as_of : date-like, optional
        Observation end: orders after it (its whole day included) are excluded with a
        ``CRMWarning``.
    customer_col, date_col : str
        Column roles of `transactions`.
    date_format : str, optional
        ``strftime`` layout of a string date column (else ISO 8601), and of a string `as_of`.
    status_col, statuses
        Order status column and the statuses that count as purchases (as in
        :func:`btyd_summary`).

    Returns
    -------
    pandas.Series
        P(alive), named ``probability_alive``, indexed by the start of each period
        (``period_start``, naive datetimes); ``attrs`` hold ``customer_id`` and
        ``time_unit``.

    Raises
    ------
    ValidationError
        If `customer_id` is not a scalar or has no purchase in `transactions` (on or
        before `as_of`), if `n_periods` is not an int in [1, 10**7], if no calendar time
        unit is known, or for the order-log errors of :func:`btyd_summary`.
    ColumnNotFoundError
        If a column is missing.
    NotFittedError
        If `model` is not fitted.

    Notes
    -----
    With purchase flags ``p_j`` (1 when period ``j`` holds an order) and ``k = 0, 1, ...``:
    ``x_k = sum_{j<=k} p_j - 1``, ``t_{x,k} = max{j <= k : p_j = 1}``, ``T_k = k``, and the
    path is ``P(alive | x_k, t_{x,k}, T_k)`` from ``model.probability_alive`` (all in
    periods of `time_unit`). This is lifetimes' ``calculate_alive_path`` on crmcore's period
    clock (ISO weeks, calendar months), scored in one vectorised call.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.value import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=0.5, b=1.0, time_unit="D")
    >>> log = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                     "date": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    >>> probability_alive_path(model, log, customer_id="a").round(4)
    period_start
    2024-01-01    1.0000
    2024-01-02    0.6667
    2024-01-03    0.4706
    Name: probability_alive, dtype: float64
    """
    if not isinstance(model, TransactionModel):
        raise ValidationError(
            f"{_WHO}: model must be a transaction model (BetaGeoModel, ModifiedBetaGeoModel, "
            f"ParetoNBDModel); got {type(model).__name__}."
        )
    unit = _path_unit(model, time_unit)
    if n_periods is not None:
        check_param_number("n_periods", n_periods, who=_WHO, low=1, high=_MAX_PERIODS, integer=True)
    if not pd.api.types.is_scalar(customer_id):
        raise ValidationError(
            f"{_WHO}: customer_id must be one id (a scalar); got {type(customer_id).__name__}."
        )
    frame = read_order_log(
        transactions,
        who=_WHO,
        customer_col=customer_col,
        date_col=date_col,
        status_col=status_col,
        statuses=statuses,
        date_format=date_format,
    )
    end: pd.Timestamp | None = None
    if as_of is not None:
        end = coerce_timestamp(as_of, name="as_of", who=_WHO, date_format=date_format)
        frame = exclude_after(
            frame,
            date_col=date_col,
            customer_col=customer_col,
            cutoff=end,
            name="as_of",
            who=_WHO,
        )
    ids = frame[customer_col].to_numpy()
    dates = np.asarray(frame[date_col].to_numpy(), dtype="datetime64[ns]")
    mine = np.asarray(pd.Series(ids) == customer_id, dtype=bool)
    if not mine.any():
        where = "" if end is None else f" on or before as_of {end:%Y-%m-%d}"
        raise ValidationError(
            f"{_WHO}: customer_id {customer_id!r} has no purchase in column "
            f"{customer_col!r}{where}. Ids present include {format_ids(pd.unique(ids)[:5])}.",
            column=customer_col,
            first_ids=(customer_id,),
        )
    periods = period_numbers(dates[mine], unit, who=_WHO)
    first = int(periods.min())
    if n_periods is None:
        if end is not None:
            last = int(period_numbers(pd.DatetimeIndex([end]), unit, who=_WHO)[0])
        else:
            last = int(period_numbers(dates, unit, who=_WHO).max())
        n = last - first + 1  # at most ~5 million hours within pandas' datetime range
    else:
        n = int(n_periods)
    k = np.arange(n, dtype=np.int64)
    bought = np.zeros(n, dtype=bool)
    rel = np.unique(periods - first)
    bought[rel[rel < n]] = True
    x = np.cumsum(bought) - 1.0
    t_x = np.maximum.accumulate(np.where(bought, k, 0)).astype(np.float64)
    values = model.probability_alive((x, t_x, k.astype(np.float64)))
    index = pd.DatetimeIndex(period_start(first + k, unit), name="period_start")
    path: pd.Series = pd.Series(values, index=index, name="probability_alive", dtype=np.float64)
    path.attrs.update(customer_id=customer_id, time_unit=unit)
    return path
