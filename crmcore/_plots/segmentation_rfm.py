"""RFM plots: segment sizes and the R x F heatmap (matplotlib imported inside each function)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_rfm_heatmap", "plot_segment_sizes"]


def plot_segment_sizes(
    summary: pd.DataFrame | pd.Series,
    *,
    metric: str = "customers",
    ax: Any = None,
) -> Any:
    """Bar chart of one metric per segment.

    Parameters
    ----------
    summary : DataFrame or Series
        A :func:`~crmcore.segmentation.segment_summary` frame (one bar per row, `metric`
        column) or an :func:`~crmcore.segmentation.assign_segments` Series (customers per
        segment are counted).
    metric : str
        Column of `summary` to draw (``customers``, ``orders``, ``revenue``,
        ``revenue_share``, ``mean_recency_days``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> ax = plot_segment_sizes(pd.Series(["A", "B", "A"]))
    >>> len(ax.patches)
    2
    """
    import matplotlib.pyplot as plt

    if isinstance(summary, pd.Series):
        if isinstance(summary.dtype, pd.CategoricalDtype):
            values = summary.value_counts(sort=False)
        else:
            values = summary.value_counts(sort=False).sort_index()
        metric = "customers"
    else:
        if metric not in summary.columns:
            raise KeyError(f"plot_segment_sizes: {metric!r} is not a column of summary.")
        values = summary[metric]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    labels = [str(i) for i in values.index]
    ax.bar(labels, values.to_numpy(dtype=float), color="#3b5bdb")
    ax.set_xlabel("segment")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ').capitalize()} by segment")
    ax.tick_params(axis="x", labelrotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    return ax


def plot_rfm_heatmap(
    scores: pd.DataFrame,
    *,
    values: pd.Series | None = None,
    ax: Any = None,
) -> Any:
    """Heatmap over R x F scores: customer counts, or the mean of `values` per cell.

    Parameters
    ----------
    scores : DataFrame
        An :func:`~crmcore.segmentation.rfm_scores` output (``r_score``, ``f_score``).
    values : Series, optional
        A per-customer value aligned with `scores` (e.g. ``table["monetary"]``); the cell
        shows its mean, as the R package rfm's heatmap does with monetary value.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Rows are R scores (highest at the top), columns F scores.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"r_score": [1, 2, 2], "f_score": [1, 1, 2]})
    >>> ax = plot_rfm_heatmap(scores)
    >>> ax.get_ylabel(), ax.get_xlabel()
    ('R score', 'F score')
    """
    import matplotlib.pyplot as plt

    r = scores["r_score"].to_numpy(dtype=np.int64)
    f = scores["f_score"].to_numpy(dtype=np.int64)
    n_r, n_f = int(r.max()), int(f.max())
    counts = np.zeros((n_r, n_f))
    np.add.at(counts, (r - 1, f - 1), 1.0)
    if values is None:
        grid = counts
        label = "customers"
    else:
        v = values.reindex(scores.index).to_numpy(dtype=np.float64)
        sums = np.zeros((n_r, n_f))
        np.add.at(sums, (r - 1, f - 1), v)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
        label = f"mean {values.name}" if values.name else "mean value"
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(grid[::-1], cmap="Blues", aspect="auto")
    ax.set_xticks(range(n_f), [str(i) for i in range(1, n_f + 1)])
    ax.set_yticks(range(n_r), [str(i) for i in range(n_r, 0, -1)])
    ax.set_xlabel("F score")
    ax.set_ylabel("R score")
    ax.set_title(f"RFM heatmap ({label})")
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax
