"""Retention plots: cohort heatmap and retention-profit sensitivity curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore.exceptions import ValidationError

__all__ = ["plot_cohort_heatmap", "plot_retention_sensitivity"]


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    ax: Any = None,
    annotate: bool = True,
    fmt: str | None = None,
    cmap: str = "Blues",
    title: str | None = None,
) -> Any:
    """Draw a cohort x age table (from :func:`crmcore.value.cohort_table`) as a heatmap.

    Parameters
    ----------
    table : pandas.DataFrame
        Cohorts in rows, ages in columns; NaN cells (unobserved) are left blank.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    annotate : bool, default True
        Write each value in its cell.
    fmt : str, optional
        Format of the annotations; default ``".0%"`` when every value is <= 1, else
        ``",.0f"``.
    cmap : str, default "Blues"
        Matplotlib colour map.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValidationError
        If `table` is empty.
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame) or table.size == 0:
        raise ValidationError("plot_cohort_heatmap: expected a non-empty cohort table.")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.6 * table.shape[1], 1.0 + 0.4 * table.shape[0]))
    values = table.to_numpy(dtype=np.float64)
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax)
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels([str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]))
    labels = [f"{i:%Y-%m-%d}" if isinstance(i, pd.Timestamp) else str(i) for i in table.index]
    ax.set_yticklabels(labels)
    ax.set_xlabel(str(table.columns.name or "age"))
    ax.set_ylabel(str(table.index.name or "cohort"))
    if annotate:
        finite = values[np.isfinite(values)]
        if fmt is None:
            fmt = ".0%" if finite.size and np.nanmax(np.abs(finite)) <= 1 else ",.0f"
        high = float(np.nanmax(finite)) if finite.size else 0.0
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if np.isfinite(v):
                    colour = "white" if high and v > 0.6 * high else "black"
                    ax.text(
                        j, i, format(v, fmt), ha="center", va="center", fontsize=7, color=colour
                    )
    if title is not None:
        ax.set_title(title)
    return ax


def plot_retention_sensitivity(
    profit_by_tenure: Any,
    *,
    discount_rate: float,
    retention: Sequence[float] | None = None,
    acquisition_cost: float = 0.0,
    mark: Sequence[float] = (),
    ax: Any = None,
) -> Any:
    """Plot the NPV of a new customer against the (constant) yearly retention rate.

    Parameters
    ----------
    profit_by_tenure : array_like, pandas.Series or DataFrame
        Profit in tenure year 1..H (see :func:`crmcore.value.tenure_profit_profile`).
    discount_rate : float
        Yearly discount rate.
    retention : sequence of float, optional
        Retention rates on the x axis; default 0.50 to 0.98 in steps of 0.01.
    acquisition_cost : float, default 0
        Subtracted from every NPV.
    mark : sequence of float, default ()
        Retention rates to mark with a point and a label (e.g. baseline and scenario).
    ax : matplotlib Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        One line (the curve) plus one marker line per marked rate.
    """
    import matplotlib.pyplot as plt

    from crmcore.value import npv_by_retention

    grid = np.round(np.arange(0.50, 0.985, 0.01), 2) if retention is None else retention
    curve = npv_by_retention(
        profit_by_tenure, grid, discount_rate=discount_rate, acquisition_cost=acquisition_cost
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve.index.to_numpy(), curve.to_numpy(), label="NPV per customer")
    if len(mark):
        points = npv_by_retention(
            profit_by_tenure,
            list(mark),
            discount_rate=discount_rate,
            acquisition_cost=acquisition_cost,
        )
        for r, v in zip(points.index.to_numpy(), points.to_numpy(), strict=True):
            ax.plot([r], [v], marker="o", linestyle="none", label=f"r = {float(r):.0%}")
            ax.annotate(
                f"{v:,.0f}",
                (float(r), float(v)),
                textcoords="offset points",
                xytext=(5, -12),
                fontsize=8,
            )
    ax.set_xlabel("yearly retention rate")
    ax.set_ylabel("NPV per customer")
    ax.set_title(f"Retention-profit sensitivity (discount {discount_rate:.0%})")
    ax.legend()
    return ax
