"""Concentration of value across customers: Lorenz curve, Gini, top-x% share, whale curve."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_param_number
from crmcore.exceptions import ValidationError
from crmcore.segmentation._tiers import (
    _check_negative,
    _customer_values,
    _frame,
    _order_desc,
    _unit_scale,
)

__all__ = ["gini", "lorenz_curve", "top_share", "whale_curve"]


def _nonnegative_values(
    values: Any, *, value_col: str | None, customer_col: str | None, who: str
) -> tuple[pd.Index, npt.NDArray[np.float64]]:
    ids, arr = _customer_values(values, value_col=value_col, customer_col=customer_col, who=who)
    if len(arr) == 0:
        raise ValidationError(f"{who}: no customers; concentration needs at least one value.")
    _check_negative(ids, arr, who=who)
    if float(arr.sum()) <= 0:
        raise ValidationError(
            f"{who}: the values of all {len(arr):,} customers sum to 0; shares are undefined."
        )
    # shares are scale-free: work in units of the largest value (no overflow near 1e308)
    return ids, _unit_scale(arr)


def _ids_with_origin(ids: pd.Index) -> pd.Series:
    """Object column of customer ids with None in front (the curve's origin)."""
    column = np.empty(len(ids) + 1, dtype=object)
    column[0] = None
    column[1:] = ids.to_numpy(dtype=object)
    out: pd.Series = pd.Series(
        column, dtype=object, index=pd.RangeIndex(len(ids) + 1, name="point")
    )
    return out


def _share_curve(ids: pd.Index, shares: npt.NDArray[np.float64], share_col: str) -> pd.DataFrame:
    """The frame of the Lorenz and whale curves, one row per point 0..n.

    Point 0 is the origin (no customer), point k the first k customers of `ids`;
    `shares` (n + 1 values) goes to the column `share_col`.
    """
    n = len(ids)
    return _frame(
        {
            "customer_id": _ids_with_origin(ids),
            "customer_share": np.arange(n + 1, dtype=np.float64) / n,
            share_col: shares,
        },
        index=pd.RangeIndex(n + 1, name="point"),
    )


def _gini_kernel(sorted_ascending: npt.NDArray[np.float64]) -> float:
    """Kernel: Gini of non-negative values sorted ascending with a positive sum."""
    n = len(sorted_ascending)
    weights = 2.0 * np.arange(1, n + 1, dtype=np.float64) - n - 1.0
    g = float(weights @ sorted_ascending) / (n * float(sorted_ascending.sum()))
    return min(max(g, 0.0), 1.0)


def lorenz_curve(
    values: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
) -> pd.DataFrame:
    """Lorenz curve: cumulative share of customers vs cumulative share of value.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One non-negative value per customer: a Series indexed by customer id, or a frame
        with `value_col` (ids from `customer_col`, else the frame's index).
    value_col, customer_col : str, optional
        Column roles for a frame input.

    Returns
    -------
    pandas.DataFrame
        n + 1 rows (a RangeIndex named ``point``) from (0, 0) to (1, 1), customers in
        ascending order of value (ties: larger id first), with columns ``customer_id``
        (object dtype, None at the origin), ``customer_share`` and ``value_share``.

    Raises
    ------
    ValidationError
        No customers, missing, non-numeric or negative values, a zero total, repeated ids.

    Notes
    -----
    Point i is :math:`(i/n, \\sum_{j \\le i} x_{(j)} / \\sum_j x_j)` with
    :math:`x_{(1)} \\le \\dots \\le x_{(n)}`. The curve is monotone, convex and lies on or
    below the diagonal.

    References
    ----------
    Lorenz, M. O. (1905). Methods of Measuring the Concentration of Wealth. Publications of
    the American Statistical Association 9(70), 209-219.

    Examples
    --------
    >>> import pandas as pd
    >>> curve = lorenz_curve(pd.Series([1.0, 1.0, 2.0], index=["a", "b", "c"]))
    >>> curve[["customer_share", "value_share"]].round(3).to_numpy().tolist()
    [[0.0, 0.0], [0.333, 0.25], [0.667, 0.5], [1.0, 1.0]]
    """
    who = "lorenz_curve"
    ids, arr = _nonnegative_values(values, value_col=value_col, customer_col=customer_col, who=who)
    order = _order_desc(ids, arr)[::-1]
    cumulative = np.cumsum(arr[order])
    cumulative /= cumulative[-1]
    cumulative[-1] = 1.0
    return _share_curve(ids[order], np.concatenate([[0.0], cumulative]), "value_share")


def gini(values: Any, *, value_col: str | None = None, customer_col: str | None = None) -> float:
    """Gini coefficient of the value distribution across customers.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One non-negative value per customer (see :func:`lorenz_curve`).
    value_col, customer_col : str, optional
        Column roles for a frame input.

    Returns
    -------
    float
        In [0, (n - 1)/n]: 0 when every customer has the same value, (n - 1)/n when one
        customer has everything.

    Raises
    ------
    ValidationError
        As :func:`lorenz_curve`.

    Notes
    -----
    The sample Gini without small-sample correction, twice the area between the diagonal
    and the Lorenz curve: with values sorted ascending and i = 1..n,
    :math:`G = \\sum_i (2i - n - 1)\\, x_{(i)} / (n \\sum_i x_i)`.

    References
    ----------
    Gini, C. (1912). Variabilità e mutabilità. Bologna: Tipografia di Paolo Cuppini.

    Examples
    --------
    >>> import pandas as pd
    >>> round(gini(pd.Series([0.0, 0.0, 0.0, 10.0])), 3)
    0.75
    >>> round(gini(pd.Series([3.0, 3.0, 3.0])), 3)
    0.0
    """
    who = "gini"
    _, arr = _nonnegative_values(values, value_col=value_col, customer_col=customer_col, who=who)
    return _gini_kernel(np.sort(arr))


def top_share(
    values: Any,
    share: float = 0.2,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
) -> float:
    """Share of the total value held by the top `share` of customers.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One non-negative value per customer (see :func:`lorenz_curve`).
    share : float, default 0.2
        Fraction of customers, in [0, 1], taken from the top.
    value_col, customer_col : str, optional
        Column roles for a frame input.

    Returns
    -------
    float
        :math:`1 - L(1 - \\text{share})` with L the Lorenz curve interpolated linearly
        between customers: the top 20% of 8 customers are the largest customer plus 0.6 of
        the second largest.

    Raises
    ------
    ValidationError
        As :func:`lorenz_curve`, or `share` outside [0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> revenue = pd.Series([50.0, 20, 10, 8, 5, 4, 2, 1])
    >>> round(top_share(revenue, 0.25), 3)
    0.7
    >>> round(top_share(revenue, 0.2), 3)
    0.62
    """
    who = "top_share"
    check_param_number("share", share, who=who, low=0, high=1)
    _, arr = _nonnegative_values(values, value_col=value_col, customer_col=customer_col, who=who)
    n = len(arr)
    desc = np.sort(arr)[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(desc) / float(desc.sum())])
    cumulative[-1] = 1.0
    return float(np.interp(float(share) * n, np.arange(n + 1, dtype=np.float64), cumulative))


def whale_curve(
    profit: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
) -> pd.DataFrame:
    """Whale curve: cumulative profit share with customers sorted by profit, most profitable first.

    Parameters
    ----------
    profit : pandas.Series or DataFrame
        Profit per customer, any sign (see :func:`lorenz_curve` for the input forms).
    value_col, customer_col : str, optional
        Column roles for a frame input.

    Returns
    -------
    pandas.DataFrame
        n + 1 rows (RangeIndex ``point``) from (0, 0) to (1, 1) with columns
        ``customer_id`` (object dtype, None at the origin), ``customer_share`` and
        ``profit_share``
        (cumulative profit / total profit). ``attrs["peak_customer_share"]`` and
        ``attrs["peak_profit_share"]`` hold the peak: the first point where the cumulative
        profit is largest ("20% of customers give 150% of profit").

    Raises
    ------
    ValidationError
        Missing or non-numeric profit, repeated ids, no customers, or a total profit <= 0
        (shares of a non-positive total have no meaning).

    Notes
    -----
    Customers are ranked by profit descending, ties by id ascending. The curve rises while
    profit is positive, is flat over zero-profit customers and falls over the
    loss-makers; it ends at 100%.

    References
    ----------
    Kaplan, R. S. and Narayanan, V. G. (2001). Measuring and Managing Customer
    Profitability. Journal of Cost Management 15(5), 5-15.

    Examples
    --------
    >>> import pandas as pd
    >>> profit = pd.Series([100.0, 60, 20, 0, -30, -50], index=list("abcdef"))
    >>> curve = whale_curve(profit)
    >>> round(curve.attrs["peak_customer_share"], 3), round(curve.attrs["peak_profit_share"], 3)
    (0.5, 1.8)
    """
    who = "whale_curve"
    ids, arr = _customer_values(profit, value_col=value_col, customer_col=customer_col, who=who)
    n = len(arr)
    if n == 0:
        raise ValidationError(f"{who}: no customers; the whale curve needs at least one.")
    order = _order_desc(ids, arr)
    unit = _unit_scale(arr)  # shares are scale-free; no overflow near 1e308
    scale = float(arr[order][0] / unit[order][0]) if unit[order][0] != 0 else 1.0
    total = float(unit[order].sum()) * scale  # sorted: independent of the row order
    if total <= 0:
        raise ValidationError(
            f"{who}: total profit is {total:g} (<= 0); profit shares of a non-positive total "
            "have no meaning. Hint: plot the cumulative profit itself."
        )
    cumulative = np.concatenate([[0.0], np.cumsum(unit[order]) / float(unit[order].sum())])
    cumulative[-1] = 1.0
    peak = int(np.argmax(cumulative))
    curve = _share_curve(ids[order], cumulative, "profit_share")
    curve.attrs["peak_customer_share"] = peak / n
    curve.attrs["peak_profit_share"] = float(cumulative[peak])
    return curve
