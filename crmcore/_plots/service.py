"""Customer-service plots: backlog ageing and SLA breach rates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._plots._common import axes_or_new
from crmcore._validation import format_ids
from crmcore.exceptions import ValidationError

F64 = npt.NDArray[np.float64]

__all__ = ["plot_backlog_ageing", "plot_sla_breaches"]

#: Colours of the ticket priorities (other group names use the default colour cycle).
_PRIORITY_COLOURS = {
    "low": "#9ecae1",
    "normal": "#3182bd",
    "high": "#fd8d3c",
    "urgent": "#d62728",
}
_TARGET_LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def _numeric_frame(data: object, who: str, name: str) -> pd.DataFrame:
    """`data` checked to be a non-empty pandas DataFrame of numeric columns."""
    if not isinstance(data, pd.DataFrame):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a pandas DataFrame (indexed by the "
            f"groups, one numeric column per series). Got {type(data).__name__} instead."
        )
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise ValidationError(
            f"{who}: {name} is empty ({data.shape[0]} rows, {data.shape[1]} columns); there "
            "is nothing to draw."
        )
    bad = [
        str(c)
        for c in data.columns
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c])
    ]
    if bad:
        raise ValidationError(
            f"{who}: every column of {name} must be numeric; {len(bad)} are not "
            f"(first: {format_ids(bad)})."
        )
    return data


#: What the cells of a plotted frame must be: (the mask of bad cells, what they must hold,
#: the verdict for the bad ones, the name of the rows).
_CellRule = tuple[Callable[[F64], npt.NDArray[np.bool_]], str, str, str]
_COUNTS: _CellRule = (
    lambda v: ~np.isfinite(v) | (v < 0) | (v != np.floor(v)),
    "ticket counts (whole numbers >= 0, no missing values)",
    "cells do not",
    "age buckets",
)
_RATES: _CellRule = (
    lambda v: ~np.isnan(v) & ((v < 0) | (v > 1)),
    "rates in [0, 1] (or NaN)",
    "values are outside",
    "groups",
)


def _prepare(
    data: object, who: str, name: str, rule: _CellRule, ax: Any, inch_per_row: float
) -> tuple[pd.DataFrame, F64, list[str], list[str], Any]:
    """Check a frame to plot; return it, its float values, row and column names and the axes.

    Cells that break `rule` raise ``"{who}: {name} must hold {what}; {n} {verdict} (first
    {rows}: ...)."``. A new figure is ``max(5, 1 + inch_per_row * rows)`` inches wide.
    """
    invalid, what, verdict, row_noun = rule
    frame = _numeric_frame(data, who, name)
    values = frame.to_numpy(dtype=np.float64)
    bad = invalid(values)
    if bad.any():
        rows = frame.index[np.asarray(bad.any(axis=1), dtype=bool)]
        raise ValidationError(
            f"{who}: {name} must hold {what}; {int(bad.sum())} {verdict} "
            f"(first {row_noun}: {format_ids(rows)})."
        )
    row_names, column_names = _names(frame.index), _names(frame.columns)
    size = (max(5.0, 1.0 + inch_per_row * len(row_names)), 4.0)
    return frame, values, row_names, column_names, axes_or_new(ax, size)


def _names(index: pd.Index) -> list[str]:
    return [str(v) for v in index]


def _colours(names: list[str], plt: Any) -> list[Any]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    out: list[Any] = []
    for i, name in enumerate(names):
        out.append(_PRIORITY_COLOURS.get(name, cycle[i % len(cycle)]))
    return out


def plot_backlog_ageing(ageing: pd.DataFrame, *, ax: Any = None, title: str | None = None) -> Any:
    """Draw the unsolved backlog by age bucket as stacked bars, one stack part per group.

    Parameters
    ----------
    ageing : pandas.DataFrame
        From :func:`crmcore.service.backlog_ageing`: indexed by the age-bucket labels in
        display order (youngest first), one column of ticket counts per group (e.g. the
        priorities low, normal, high, urgent). Not mutated.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    title : str, optional
        Axes title (default "Unsolved tickets by age").

    Returns
    -------
    matplotlib.axes.Axes
        One bar per bucket and group, column by column (``ax.patches`` holds the first
        column's bars for every bucket, then the second column's, ...), each stacked on the
        columns before it; the bucket total written above each stack; a legend of the groups.

    Raises
    ------
    ValidationError
        If `ageing` is not a DataFrame, is empty, has a non-numeric column, or holds
        negative, fractional or missing counts.

    Notes
    -----
    Backlog ageing is the count of tickets not yet solved, by time since they were opened,
    the "unsolved tickets by age" view of Zendesk Explore and of Odoo Helpdesk's ticket
    analysis; stacking by priority shows whether old tickets are the urgent ones.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.plotting import plot_backlog_ageing
    >>> ageing = pd.DataFrame({"normal": [5, 3, 1], "urgent": [2, 0, 1]},
    ...                       index=pd.Index(["<1d", "1-3d", ">3d"], name="age"))
    >>> ax = plot_backlog_ageing(ageing)
    >>> [float(p.get_height()) for p in ax.patches], [t.get_text() for t in ax.texts]
    ([5.0, 3.0, 1.0, 2.0, 0.0, 1.0], ['7', '3', '2'])
    """
    import matplotlib.pyplot as plt

    who = "plot_backlog_ageing"
    frame, values, labels, groups, ax = _prepare(ageing, who, "ageing", _COUNTS, ax, 0.9)
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for column, name, colour in zip(values.T, groups, _colours(groups, plt), strict=True):
        ax.bar(x, column, bottom=bottom, color=colour, label=name, width=0.7)
        bottom = bottom + column
    high = float(bottom.max())
    for i, total in enumerate(bottom):
        ax.text(i, total + 0.01 * high, f"{int(total):,}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylim(0.0, 1.12 * high if high > 0 else 1.0)
    ax.set_xlabel(str(frame.index.name) if frame.index.name is not None else "age")
    ax.set_ylabel("unsolved tickets")
    ax.legend(title=str(frame.columns.name) if frame.columns.name is not None else None)
    ax.set_title(title if title is not None else "Unsolved tickets by age")
    return ax


def plot_sla_breaches(
    breach_rates: pd.DataFrame, *, ax: Any = None, title: str | None = None
) -> Any:
    """Draw SLA breach rates as grouped bars: one group per row, one bar per SLA target.

    Parameters
    ----------
    breach_rates : pandas.DataFrame
        From :func:`crmcore.service.breach_rate`: indexed by priority (or the ``by`` values),
        one column per SLA target (``first_response``, ``next_response``, ``resolution``)
        holding breached / (met + breached) in [0, 1], NaN where no ticket of the group has a
        decided target. Not mutated.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    title : str, optional
        Axes title (default "SLA breach rate").

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.patches`` holds the bars column by column (every group's bar of the first
        target, then the second target's, ...), heights the rates as fractions; the y axis
        is formatted as percent; each bar is labelled with its percentage, a NaN rate with
        a zero-height bar labelled "n/a".

    Raises
    ------
    ValidationError
        If `breach_rates` is not a DataFrame, is empty, has a non-numeric column, or holds
        a rate outside [0, 1].

    Notes
    -----
    The breach rate follows Zendesk's SLA reporting (achieved or breached SLA targets,
    ongoing ones left out) and Salesforce entitlement milestones (violated / completed);
    column names are shown with underscores replaced by spaces.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.plotting import plot_sla_breaches
    >>> rates = pd.DataFrame({"first_response": [0.1, 0.25], "resolution": [0.3, float("nan")]},
    ...                      index=pd.Index(["normal", "urgent"], name="priority"))
    >>> ax = plot_sla_breaches(rates)
    >>> [round(float(p.get_height()), 2) for p in ax.patches]
    [0.1, 0.25, 0.3, 0.0]
    >>> [t.get_text() for t in ax.texts]
    ['10%', '25%', '30%', 'n/a']
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    who = "plot_sla_breaches"
    frame, values, groups, targets, ax = _prepare(
        breach_rates, who, "breach_rates", _RATES, ax, 1.2
    )
    x = np.arange(len(groups))
    width = 0.8 / len(targets)
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for j, target in enumerate(targets):
        column = values[:, j]
        offsets = x - 0.4 + width * (j + 0.5)
        heights = np.where(np.isnan(column), 0.0, column)
        ax.bar(
            offsets,
            heights,
            width=width,
            color=cycle[j % len(cycle)],
            label=_TARGET_LABELS.get(target, target.replace("_", " ")),
        )
        for position, rate in zip(offsets, column, strict=True):
            text = "n/a" if np.isnan(rate) else f"{rate:.0%}"
            height = 0.0 if np.isnan(rate) else float(rate)
            ax.text(position, height + 0.01, text, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels(groups)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    ax.set_ylim(0.0, min(1.0, top) * 1.15 + 0.05)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel(str(frame.index.name) if frame.index.name is not None else "group")
    ax.set_ylabel("breached / (met + breached)")
    ax.legend(title="SLA target")
    ax.set_title(title if title is not None else "SLA breach rate")
    return ax
