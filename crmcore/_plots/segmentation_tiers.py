"""Plots of value concentration and tier migration: Lorenz curve, whale curve, migration heatmap.

matplotlib is imported inside each function, so importing this module stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._plots._common import axes_or_new, cell_fontsize

__all__ = ["plot_lorenz_curve", "plot_migration_heatmap", "plot_whale_curve"]


def plot_lorenz_curve(
    values: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot the Lorenz curve of per-customer values with the line of equality.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One non-negative value per customer (see :func:`crmcore.segmentation.lorenz_curve`).
    value_col, customer_col : str, optional
        Column roles for a frame input.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (``Lorenz curve`` and ``equality``); the title gives the Gini coefficient.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> ax = plot_lorenz_curve(pd.Series([1.0, 2.0, 7.0]))
    >>> ax.get_title()
    'Lorenz curve (Gini = 0.400)'
    """
    from crmcore.segmentation import gini, lorenz_curve

    curve = lorenz_curve(values, value_col=value_col, customer_col=customer_col)
    g = gini(values, value_col=value_col, customer_col=customer_col)
    ax = axes_or_new(ax)
    ax.plot(curve["customer_share"], curve["value_share"], label="Lorenz curve")
    ax.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="equality")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("cumulative share of customers (smallest first)")
    ax.set_ylabel("cumulative share of value")
    ax.set_title(f"Lorenz curve (Gini = {g:.3f})")
    ax.legend(loc="upper left")
    return ax


def plot_whale_curve(
    profit: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    ax: Any = None,
) -> Any:
    """Plot the whale curve of cumulative profit and mark its peak.

    Parameters
    ----------
    profit : pandas.Series or DataFrame
        Profit per customer, any sign, positive total (see
        :func:`crmcore.segmentation.whale_curve`).
    value_col, customer_col : str, optional
        Column roles for a frame input.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One line (``whale curve``), a horizontal 100% reference line and a marker at the
        peak, annotated "x% of customers give y% of profit" from the lower right corner
        (with an arrow to the peak).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> ax = plot_whale_curve(pd.Series([100.0, 60, 20, 0, -30, -50]))
    >>> ax.texts[0].get_text()
    '50% of customers give 180% of profit'
    """
    from crmcore.segmentation import whale_curve

    curve = whale_curve(profit, value_col=value_col, customer_col=customer_col)
    x_peak = float(curve.attrs["peak_customer_share"])
    y_peak = float(curve.attrs["peak_profit_share"])
    ax = axes_or_new(ax)
    ax.plot(curve["customer_share"], curve["profit_share"], label="whale curve")
    ax.axhline(1.0, linestyle="--", color="grey", linewidth=1)
    ax.plot([x_peak], [y_peak], marker="o", linestyle="none", color="black", label="peak")
    # the label sits in the lower right corner, which the curve leaves empty (it ends at
    # 100% and starts at 0), and points at the peak: it stays inside the axes wherever the
    # peak is
    ax.annotate(
        f"{x_peak:.0%} of customers give {y_peak:.0%} of profit",
        xy=(x_peak, y_peak),
        xytext=(0.97, 0.06),
        textcoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=9,
        arrowprops={"arrowstyle": "->", "color": "dimgrey", "linewidth": 0.8},
    )
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("cumulative share of customers (most profitable first)")
    ax.set_ylabel("cumulative share of total profit")
    ax.set_title("Whale curve of customer profitability")
    ax.legend(loc="center right")
    return ax


def plot_migration_heatmap(
    matrix: pd.DataFrame,
    *,
    annotate: bool = True,
    cmap: str = "Blues",
    ax: Any = None,
) -> Any:
    """Draw a migration matrix (from :func:`crmcore.segmentation.migration_matrix`) as a heatmap.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Counts or shares, rows = segment before, columns = segment after.
    annotate : bool, default True
        Write each cell's value (integers for counts, percentages for shares), at up to
        10 points, smaller when the cells are narrow so a value stays inside its cell (left
        out below 4.5 points).
    cmap : str, default "Blues"
        matplotlib colour map name.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One image with a tick label per segment, and one text per cell when annotated.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.segmentation import migration_matrix
    >>> m = migration_matrix(pd.Series(["A", "B"], index=[1, 2]), pd.Series(["A", "A"], index=[1, 3]))
    >>> ax = plot_migration_heatmap(m)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['A', 'B', '(new)']
    """  # noqa: E501
    from crmcore.exceptions import ValidationError

    if not isinstance(matrix, pd.DataFrame):
        raise ValidationError(
            "plot_migration_heatmap: expected the DataFrame returned by migration_matrix; "
            f"got {type(matrix).__name__}."
        )
    data = matrix.to_numpy(dtype=np.float64)
    is_counts = bool(np.all(np.isnan(data) | (data == np.round(data)))) and bool(
        np.nanmax(data, initial=0.0) > 1.0 or np.issubdtype(matrix.dtypes.iloc[0], np.integer)
    )
    ax = axes_or_new(ax)
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, aspect="auto")
    ax.set_xticks(range(data.shape[1]))
    ax.set_xticklabels([str(c) for c in matrix.columns])
    if data.shape[1] > 4:  # long segment names side by side would overlap
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_yticks(range(data.shape[0]))
    ax.set_yticklabels([str(r) for r in matrix.index])
    ax.set_xlabel(str(matrix.columns.name or "after"))
    ax.set_ylabel(str(matrix.index.name or "before"))
    ax.set_title("Segment migration")
    if annotate:
        finite = data[np.isfinite(data)]
        middle = float((finite.max() + finite.min()) / 2) if finite.size else 0.0
        rows, cols = np.indices(data.shape)
        texts = [
            "" if np.isnan(v) else (f"{int(v):,}" if is_counts else f"{v:.0%}")
            for v in data.ravel()
        ]
        size = cell_fontsize(ax, data.shape[1], texts, 10.0)
        for i, j, v, text in zip(rows.ravel(), cols.ravel(), data.ravel(), texts, strict=True):
            if size < 4.5:
                break
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=size,
                color="white" if v > middle else "black",
            )
    ax.figure.colorbar(image, ax=ax)
    return ax
