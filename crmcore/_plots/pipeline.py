"""Sales-pipeline plots: funnel, forecast distribution, back-test calibration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import require_columns, to_pandas
from crmcore.exceptions import ValidationError
from crmcore.pipeline import Pipeline

__all__ = ["plot_backtest_calibration", "plot_forecast_distribution", "plot_funnel"]


def _label_layout(
    ax: Any, values: Any, labels: list[str], *, fontsize: float
) -> tuple[float, list[bool]]:
    """The x-axis span and, per bar, whether its label goes inside the bar (else after it).

    A label goes inside its bar when the bar is longer than the label; the others go just
    past the end of their bar, and the span grows until they end inside the axes. Widths
    are measured in points against the axes' width less a fifth (room for a layout
    engine), so the labels stay inside the axes.
    """
    from crmcore._plots._common import axes_size_points, text_width_points

    width = 0.8 * axes_size_points(ax)[0]
    share = [min(text_width_points(label, fontsize) / width, 0.9) for label in labels]
    high = float(np.max(values)) if len(values) else 0.0
    if high <= 0:
        return 1.0 + max(share, default=0.0), [False] * len(labels)
    span = 1.05 * high
    inside = [False] * len(labels)
    for _ in range(5):
        inside = [v / span >= s + 0.03 for v, s in zip(values, share, strict=True)]
        needed = [v / (0.97 - s) for v, s, i in zip(values, share, inside, strict=True) if not i]
        wider = max([span, *needed])
        if wider <= span:
            break
        span = wider
    return float(span), inside


def plot_funnel(
    snapshot: Any,
    *,
    pipeline: Pipeline,
    conversion: Mapping[str, float] | pd.Series[Any] | None = None,
    stage_col: str = "stage",
    amount_col: str = "amount",
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw the open pipeline as a funnel: value and count by open stage, in order.

    Parameters
    ----------
    snapshot : DataFrame
        One row per open opportunity (e.g. from :func:`crmcore.pipeline.snapshot`) with a
        stage and an amount column.
    pipeline : crmcore.pipeline.Pipeline
        Gives the open stages and their order (stages without deals show as empty bars).
    conversion : mapping or Series, optional
        Conversion rate from each open stage to the next (e.g. from
        :func:`crmcore.pipeline.stage_conversion`), written between the bars.
    stage_col, amount_col : str
        Column names.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar per open stage (first stage at the top), labelled with its
        deal count and open value: inside the bar when it is long enough, else just past
        its end (the value axis is widened so the label ends inside the axes).

    Raises
    ------
    ValidationError
        If a row's stage is not an open stage of `pipeline`.
    ColumnNotFoundError
        If a column is missing.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline
    >>> from crmcore.plotting import plot_funnel
    >>> open_deals = pd.DataFrame({"stage": ["Lead", "Lead", "Proposal"],
    ...                            "amount": [100.0, 50.0, 300.0]})
    >>> ax = plot_funnel(open_deals, pipeline=simple_pipeline())
    >>> [round(p.get_width()) for p in ax.patches]
    [150, 0, 300]
    """
    import matplotlib.pyplot as plt

    who = "plot_funnel"
    frame = to_pandas(snapshot, who=who)
    require_columns(frame, [stage_col, amount_col], who=who)
    stages = list(pipeline.open_names)
    unknown = sorted(set(frame[stage_col].astype(str)) - set(stages))
    if unknown:
        raise ValidationError(
            f"{who}: the {stage_col!r} column must hold open stages of the pipeline; "
            f"{len(unknown)} other values found (first: {', '.join(unknown[:5])})."
        )
    grouped = frame.groupby(frame[stage_col].astype(str), sort=False)[amount_col]
    value = grouped.sum().reindex(stages, fill_value=0.0).astype(np.float64)
    count = grouped.size().reindex(stages, fill_value=0).astype(np.int64)
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 0.9 + 0.5 * len(stages)))
    y = np.arange(len(stages))
    ax.barh(y, value.to_numpy(), color="tab:blue", alpha=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(stages)
    ax.invert_yaxis()
    labels = [f"{int(count[stage]):,} deals, {float(value[stage]):,.0f}" for stage in stages]
    span, inside = _label_layout(ax, value.to_numpy(), labels, fontsize=8.0)
    for i, (label, fits) in enumerate(zip(labels, inside, strict=True)):
        v = float(value.iloc[i])
        ax.text(
            v - 0.01 * span if fits else v + 0.01 * span,
            i,
            label,
            va="center",
            ha="right" if fits else "left",
            color="white" if fits else "black",
            fontsize=8,
        )
    if conversion is not None:
        rates = pd.Series(conversion, dtype=np.float64)
        for i, stage in enumerate(stages[:-1]):
            if stage in rates.index and np.isfinite(rates[stage]):
                ax.text(0.0, i + 0.5, f" \u2193 {rates[stage]:.0%}", va="center", fontsize=7)
    ax.set_xlim(0.0, span)
    ax.set_xlabel("open value")
    ax.set_title(title if title is not None else "Open pipeline by stage")
    return ax


def plot_forecast_distribution(
    forecast: Any,
    *,
    target: float | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw a revenue forecast's distribution with its P10, P50, P90 and an optional target.

    Parameters
    ----------
    forecast : crmcore.pipeline.RevenueForecast
        From :func:`crmcore.pipeline.forecast_revenue` (uses ``to_frame()``,
        ``quantile`` and ``probability_at_least``).
    target : float, optional
        Revenue target: a vertical line labelled with P(revenue >= target).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        The cumulative probability P(revenue <= x) as a step line, the probability mass
        scaled to half the axis height (grey bars up to 200 points, a grey step area
        beyond: a real forecast has thousands), and vertical lines at P10, P50, P90
        (black) and at the target (red, labelled with P(revenue >= target)).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.pipeline import forecast_revenue
    >>> from crmcore.plotting import plot_forecast_distribution
    >>> deals = pd.DataFrame({"opportunity_id": ["a", "b", "c"],
    ...                       "amount": [100.0, 200.0, 300.0],
    ...                       "expected_close": pd.to_datetime(["2025-01-15"] * 3),
    ...                       "probability": [0.5, 0.5, 0.25]})
    >>> fc = forecast_revenue(deals, period_start="2025-01-01", period_end="2025-03-31",
    ...                       grid_step=1)
    >>> ax = plot_forecast_distribution(fc, target=300)
    >>> [line.get_label() for line in ax.lines][1:4]
    ['P10 = 0', 'P50 = 200', 'P90 = 500']
    """
    import matplotlib.pyplot as plt

    who = "plot_forecast_distribution"
    if not all(hasattr(forecast, a) for a in ("to_frame", "quantile", "probability_at_least")):
        raise ValidationError(
            f"{who}: expected a RevenueForecast (from forecast_revenue). "
            f"Got {type(forecast).__name__} instead."
        )
    pmf = forecast.to_frame()
    revenue = pmf["revenue"].to_numpy(dtype=np.float64)
    prob = pmf["probability"].to_numpy(dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 4.0))
    cdf = np.cumsum(prob)
    ax.step(revenue, np.minimum(cdf, 1.0), where="post", color="tab:blue", label="P(R <= x)")
    if revenue.size:
        peak = float(prob.max()) or 1.0
        relative = prob / peak * 0.5
        if revenue.size <= _MAX_PMF_BARS:
            width = float(np.median(np.diff(revenue))) if revenue.size > 1 else 1.0
            ax.bar(revenue, relative, width=width, color="tab:gray", alpha=0.4)
        else:  # a real forecast has ~20,000 lattice points: one polygon, not 20,000 bars
            ax.fill_between(revenue, relative, step="mid", color="tab:gray", alpha=0.4, linewidth=0)
    for q, style in ((0.1, ":"), (0.5, "--"), (0.9, ":")):
        x = float(forecast.quantile(q))
        ax.axvline(x, color="black", linestyle=style, label=f"P{int(q * 100)} = {x:,.0f}")
    if target is not None:
        p = float(forecast.probability_at_least(target))
        ax.axvline(
            float(target),
            color="tab:red",
            linewidth=2,
            label=f"target {float(target):,.0f}: P(R >= target) = {p:.0%}",
        )
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("revenue closing in the period")
    ax.set_ylabel("cumulative probability (grey: relative pmf)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title if title is not None else "Revenue forecast")
    return ax


#: Above this many pmf points the mass is drawn as one step area instead of one bar each.
_MAX_PMF_BARS = 200


def plot_backtest_calibration(
    backtest: Any,
    *,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Draw a back-test: the P10-P90 band and mean forecast against the actual revenue.

    Parameters
    ----------
    backtest : DataFrame
        From :func:`crmcore.pipeline.backtest`: one row per as-of date with ``as_of``
        (a column or the index), ``mean`` (or ``forecast_mean``), ``p10``, ``p90`` and
        ``actual``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    title : str, optional
        Axes title; default names the share of dates whose actual revenue lies inside
        the band.

    Returns
    -------
    matplotlib.axes.Axes
        A shaded band, a dashed mean line and the actual revenue as points (filled inside
        the band, hollow red outside).

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from crmcore.plotting import plot_backtest_calibration
    >>> bt = pd.DataFrame({"as_of": pd.to_datetime(["2025-01-01", "2025-04-01"]),
    ...                    "mean": [100.0, 120.0], "p10": [60.0, 80.0],
    ...                    "p90": [140.0, 160.0], "actual": [90.0, 170.0]})
    >>> plot_backtest_calibration(bt).get_title()
    'Back-test: actual inside P10-P90 on 1 of 2 dates (50%)'
    """
    import matplotlib.pyplot as plt

    who = "plot_backtest_calibration"
    frame = to_pandas(backtest, who=who)
    if "as_of" not in frame.columns and frame.index.name == "as_of":
        frame = frame.reset_index()
    if "mean" not in frame.columns and "forecast_mean" in frame.columns:
        frame = frame.rename(columns={"forecast_mean": "mean"})
    require_columns(frame, ["as_of", "mean", "p10", "p90", "actual"], who=who)
    frame = frame.sort_values("as_of", kind="stable")
    x = frame["as_of"]
    low = frame["p10"].to_numpy(dtype=np.float64)
    high = frame["p90"].to_numpy(dtype=np.float64)
    actual = frame["actual"].to_numpy(dtype=np.float64)
    inside = (actual >= low) & (actual <= high)
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 4.0))
    ax.fill_between(x, low, high, color="tab:blue", alpha=0.25, label="P10-P90")
    ax.plot(x, frame["mean"].to_numpy(dtype=np.float64), "--", color="tab:blue", label="mean")
    ax.plot(x[inside], actual[inside], "o", color="black", label="actual (inside)")
    ax.plot(
        x[~inside],
        actual[~inside],
        "o",
        markerfacecolor="none",
        color="tab:red",
        label="actual (outside)",
    )
    ax.set_xlabel("as of")
    ax.set_ylabel("revenue closed in the period")
    ax.legend(fontsize=8)
    n = int(inside.size)
    share = f"{inside.mean():.0%}" if n else "-"
    ax.set_title(
        title
        if title is not None
        else f"Back-test: actual inside P10-P90 on {int(inside.sum())} of {n} dates ({share})",
        fontsize="medium",
    )
    return ax
