"""BTYD model-checking plots (matplotlib imported inside each function).

They draw the frames of :mod:`crmcore.value` model checking:
:func:`~crmcore.value.calibration_holdout_table`, :func:`~crmcore.value.period_transactions`
and :func:`~crmcore.value.tracking_table`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._plots._common import axes_or_new
from crmcore._validation import require_columns

__all__ = ["plot_calibration_holdout", "plot_period_transactions", "plot_tracking"]


def _label_last(index: pd.Index) -> list[str]:
    labels = [str(i) for i in index]
    if labels:
        labels[-1] = labels[-1] + "+"
    return labels


def _frequency_axes(table: pd.DataFrame, ax: Any, who: str) -> tuple[Any, np.ndarray[Any, Any]]:
    """Check an actual/model table by frequency; return the axes (new if None) and positions."""
    require_columns(table, ["actual", "model"], who=who)
    return axes_or_new(ax, (7, 4)), np.arange(len(table))


def _label_frequency_axes(
    ax: Any, table: pd.DataFrame, xlabel: str, ylabel: str, title: str
) -> Any:
    """Tick labels from the frequency index (the last one "or more"), axis texts and legend."""
    ax.set_xticks(np.arange(len(table)))
    ax.set_xticklabels(_label_last(table.index))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax


def plot_calibration_holdout(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Mean actual vs model-expected holdout purchases by calibration frequency.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~crmcore.value.calibration_holdout_table` (columns ``actual`` and
        ``model``, indexed by calibration frequency; the last row is "or more").
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"actual": [0.2, 0.6, 1.5], "model": [0.25, 0.55, 1.4]},
    ...                  index=pd.Index([0, 1, 2], name="frequency"))
    >>> ax = plot_calibration_holdout(t)
    >>> [line.get_label() for line in ax.get_lines()]
    ['actual', 'model']
    """
    ax, pos = _frequency_axes(table, ax, "plot_calibration_holdout")
    ax.plot(pos, table["actual"].to_numpy(), marker="o", label="actual")
    ax.plot(pos, table["model"].to_numpy(), marker="s", linestyle="--", label="model")
    return _label_frequency_axes(
        ax,
        table,
        "purchases in the calibration period",
        "mean purchases in the holdout period",
        "Conditional expectations: calibration vs holdout",
    )


def plot_period_transactions(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """Grouped bars: number of customers by repeat-transaction count, actual vs model.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~crmcore.value.period_transactions`.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"actual": [50, 30, 20], "model": [48.0, 33.0, 19.0]},
    ...                  index=pd.Index([0, 1, 2], name="frequency"))
    >>> ax = plot_period_transactions(t)
    >>> len(ax.patches)
    6
    """
    ax, pos = _frequency_axes(table, ax, "plot_period_transactions")
    width = 0.4
    ax.bar(pos - width / 2, table["actual"].to_numpy(dtype=float), width, label="actual")
    ax.bar(pos + width / 2, table["model"].to_numpy(dtype=float), width, label="model")
    return _label_frequency_axes(
        ax,
        table,
        "number of repeat transactions",
        "customers",
        "Repeat transactions in the calibration period",
    )


def plot_tracking(
    table: pd.DataFrame,
    *,
    cumulative: bool = True,
    calibration_end: float | None = None,
    ax: Any = None,
) -> Any:
    """Tracking plot: actual vs expected repeat transactions over calendar time.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~crmcore.value.tracking_table`.
    cumulative : bool, default True
        Cumulative curves if True, per-period (incremental) curves otherwise.
    calibration_end : float, optional
        Draw a dashed vertical line at the end of the calibration period.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"actual_cumulative": [1.0, 3.0], "model_cumulative": [1.2, 2.8],
    ...                   "actual_incremental": [1.0, 2.0], "model_incremental": [1.2, 1.6]},
    ...                  index=pd.Index([1.0, 2.0], name="time"))
    >>> ax = plot_tracking(t, calibration_end=1.5)
    >>> len(ax.get_lines())
    3
    """
    import matplotlib.pyplot as plt

    kind = "cumulative" if cumulative else "incremental"
    cols = [f"actual_{kind}", f"model_{kind}"]
    require_columns(table, cols, who="plot_tracking")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    time = table.index.to_numpy(dtype=float)
    ax.plot(time, table[cols[0]].to_numpy(), label="actual")
    ax.plot(time, table[cols[1]].to_numpy(), linestyle="--", label="model")
    if calibration_end is not None:
        ax.axvline(calibration_end, color="grey", linestyle=":", label="calibration end")
    ax.set_xlabel("time")
    ax.set_ylabel(f"{kind} repeat transactions")
    ax.set_title(f"Tracking: {kind} repeat transactions")
    ax.legend()
    return ax
