"""One customer's P(alive) history (matplotlib imported inside the function)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._periods import period_numbers
from crmcore._plots._common import axes_or_new
from crmcore._validation import require_columns
from crmcore.exceptions import ValidationError

__all__ = ["plot_probability_alive_path"]

_WHO = "plot_probability_alive_path"


def _purchase_positions(
    path: pd.Series, transactions: Any, customer_col: str, date_col: str
) -> np.ndarray[Any, Any]:
    """Positions of the path periods that hold a purchase (dates from `transactions`)."""
    if isinstance(transactions, pd.DataFrame):
        customer = path.attrs.get("customer_id")
        frame = transactions
        if customer is not None and customer_col in frame.columns:
            frame = frame[frame[customer_col] == customer]
        require_columns(frame, [date_col], who=_WHO)
        dates = pd.DatetimeIndex(pd.to_datetime(frame[date_col]))
    else:
        dates = pd.DatetimeIndex(pd.to_datetime(list(transactions)))
    starts = pd.DatetimeIndex(path.index)
    unit = path.attrs.get("time_unit")
    if unit is not None:  # the package's clock: same period number, same period
        held = np.isin(period_numbers(starts, str(unit)), period_numbers(dates, str(unit)))
        return np.flatnonzero(held)
    # no unit recorded: a purchase belongs to the last period start on or before it, and the
    # last period is as long as the one before it
    step = starts[-1] - starts[-2] if len(starts) > 1 else pd.Timedelta(days=1)
    inside = dates[(dates >= starts[0]) & (dates < starts[-1] + step)]
    return np.unique(np.searchsorted(starts, inside, side="right") - 1)


def plot_probability_alive_path(
    path: pd.Series,
    *,
    ax: Any = None,
    transactions: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> Any:
    """Plot a customer's probability of being alive over time, purchases marked.

    Parameters
    ----------
    path : Series
        Output of :func:`~crmcore.value.probability_alive_path` (P(alive) indexed by period
        start).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if None.
    transactions : pandas DataFrame or sequence of dates, optional
        The customer's purchases: an order log (rows of other customers than the path's
        ``attrs["customer_id"]`` are dropped when it has `customer_col`), or the purchase
        dates. Periods holding a purchase are marked with a dashed vertical line; without
        `transactions`, nothing is marked.
    customer_col, date_col : str
        Column roles of a `transactions` frame.

    Returns
    -------
    matplotlib.axes.Axes
        One line (the path), plus one vertical marker per purchase period.

    Raises
    ------
    ValidationError
        If `path` is not a Series indexed by dates, or is empty.
    ColumnNotFoundError
        If a `transactions` frame has no `date_col`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> path = pd.Series([1.0, 0.67, 0.47, 0.35],
    ...                  index=pd.date_range("2024-01-01", periods=4, name="period_start"))
    >>> ax = plot_probability_alive_path(path, transactions=["2024-01-01", "2024-01-02"])
    >>> len(ax.get_lines()), len(ax.collections)
    (1, 1)
    """
    if not isinstance(path, pd.Series) or not isinstance(path.index, pd.DatetimeIndex):
        raise ValidationError(
            f"{_WHO}: path must be a Series indexed by period start dates (the output of "
            f"probability_alive_path); got {type(path).__name__}."
        )
    if len(path) == 0:
        raise ValidationError(f"{_WHO}: path is empty.")
    ax = axes_or_new(ax, (8, 4))
    ax.plot(path.index, path.to_numpy(dtype=np.float64), drawstyle="steps-post", label="P(alive)")
    if transactions is not None:
        pos = _purchase_positions(path, transactions, customer_col, date_col)
        if len(pos):
            ax.vlines(
                path.index[pos],
                0.0,
                1.0,
                colors="grey",
                linestyles="dashed",
                linewidth=0.8,
                label="purchase",
            )
    ax.set_ylim(0.0, 1.05)
    customer = path.attrs.get("customer_id")
    ax.set_title("P(alive) history" + ("" if customer is None else f" of {customer}"))
    ax.set_xlabel("period")
    ax.set_ylabel("probability alive")
    ax.legend(loc="lower left")
    return ax
