"""Plot: a contractual retention model's survival projection against actual survival."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_retention_survival"]


def plot_retention_survival(
    model: Any,
    actual: Any = None,
    *,
    n_periods: int | None = None,
    calibration_periods: int | None = None,
    alpha: float = 0.05,
    ax: Any = None,
) -> Any:
    """Plot projected survival S(t) with its interval band against actual survival.

    Parameters
    ----------
    model : ShiftedBetaGeoModel or BetaDiscreteWeibullModel
        A fitted model (or one built with ``from_params``; then no band is drawn).
    actual : sequence of numbers, optional
        One cohort's survivor counts at t = 0, 1, ... (or proportions); plotted as
        points, divided by the period-0 count.
    n_periods : int, optional
        Last period of the projection; default the longer of 12 and the actuals.
    calibration_periods : int, optional
        Last period used to fit the model; drawn as a dashed vertical line.
    alpha : float, default 0.05
        Level of the (1 - alpha) delta-method band.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with a "projection" line, an "actual" line of markers when `actual` is
        given, and a shaded band.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crmcore.value import ShiftedBetaGeoModel
    >>> data = [1000, 869, 743, 653, 593, 551, 517, 491]
    >>> ax = plot_retention_survival(ShiftedBetaGeoModel().fit(data), data, n_periods=12)
    >>> [line.get_label() for line in ax.get_lines()]
    ['projection', 'actual']
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    observed = None
    if actual is not None:
        observed = np.asarray(list(actual), dtype=np.float64)
        if observed.size == 0 or not observed[0] > 0:
            raise ValueError("actual must start with a positive period-0 count")
        observed = observed / observed[0]
    horizon = n_periods
    if horizon is None:
        horizon = max(12, 0 if observed is None else observed.size - 1)
    proj = model.project(int(horizon), alpha=alpha)
    t = proj.index.to_numpy()
    ax.plot(t, proj["survival"].to_numpy(), "-", color="C0", label="projection")
    lower = proj["survival_lower"].to_numpy()
    upper = proj["survival_upper"].to_numpy()
    if np.isfinite(lower).any():
        ax.fill_between(
            t, lower, upper, color="C0", alpha=0.2, label=f"{100 * (1 - alpha):g}% interval"
        )
    if observed is not None:
        ax.plot(np.arange(observed.size), observed, "o", color="k", markersize=4, label="actual")
    if calibration_periods is not None:
        ax.axvline(calibration_periods + 0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("Period since acquisition (t)")
    ax.set_ylabel("Share of cohort surviving, S(t)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{type(model).__name__}: projected vs actual survival")
    ax.legend(frameon=False)
    return ax
