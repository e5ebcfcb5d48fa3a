"""The RFM plots of the R package rfm: histograms, scatters, segment medians, order counts.

They draw an :func:`~crmcore.segmentation.rfm_table` (columns ``recency_days``,
``frequency``, ``monetary``) and, where segments matter, the per-customer labels of
:func:`~crmcore.segmentation.assign_segments`. matplotlib is imported inside each function,
so importing this module stays light.

R rfm 0.3 counterparts: ``rfm_plot_histogram`` (formerly ``rfm_histograms``),
``rfm_plot_segment_scatter`` (formerly ``rfm_rf_plot`` / ``rfm_fm_plot`` / ``rfm_rm_plot``),
``rfm_plot_median_recency`` / ``_frequency`` / ``_monetary`` and ``rfm_plot_order_dist``
(formerly ``rfm_order_dist``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._plots._common import axes_or_new
from crmcore._validation import check_param_choice, format_ids, require_columns, to_pandas
from crmcore.exceptions import ValidationError

__all__ = [
    "MEASURE_COLUMNS",
    "plot_order_distribution",
    "plot_rfm_histograms",
    "plot_rfm_scatter",
    "plot_segment_medians",
    "segment_colours",
]

F64 = npt.NDArray[np.float64]

#: The three measures and the :func:`~crmcore.segmentation.rfm_table` column holding each.
MEASURE_COLUMNS = {"recency": "recency_days", "frequency": "frequency", "monetary": "monetary"}

#: Most bars :func:`plot_order_distribution` draws; larger order counts share the last bar.
_MAX_ORDER_BARS = 12

_LOG_CHOICES = (None, "x", "y", "xy")


def _measure_column(measure: Any, who: str, name: str = "measure") -> str:
    """The table column of `measure` (a measure name, or the column name itself)."""
    if measure in MEASURE_COLUMNS.values():
        return str(measure)
    check_param_choice(name, measure, list(MEASURE_COLUMNS), who=who)
    return MEASURE_COLUMNS[str(measure)]


def _axis_label(table: pd.DataFrame, column: str) -> str:
    """Axis text of a measure with its unit, read from the column name and ``table.attrs``."""
    if column == "recency_days":
        return "recency (days since last purchase)"
    if column == "frequency":
        unit = "purchase days" if table.attrs.get("frequency") == "days" else "orders"
        return f"frequency ({unit})"
    if table.attrs.get("monetary") == "mean":
        per = "purchase day" if table.attrs.get("frequency") == "days" else "order"
        return f"monetary (mean per {per})"
    return "monetary (total per customer)"


def _numbers(table: pd.DataFrame, column: str, who: str) -> F64:
    """`column` as float64; text or other non-numbers are a ValidationError naming it."""
    series = table[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise ValidationError(
            f"{who}: column {column!r} must be numeric; got dtype {series.dtype}.",
            rule="column must be numeric",
            column=column,
        )
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _rfm_frame(table: Any, columns: list[str], who: str) -> pd.DataFrame:
    """`table` as pandas (not copied, never mutated) with `columns` checked to exist."""
    if isinstance(table, (pd.Series, list, tuple, dict, np.ndarray)):
        raise ValidationError(
            f"{who}: expected the DataFrame returned by rfm_table (columns recency_days, "
            f"frequency, monetary); got {type(table).__name__}."
        )
    frame = to_pandas(table, who=who)
    require_columns(frame, columns, who=who, col_args=False)
    if len(frame) == 0:
        raise ValidationError(f"{who}: the RFM table is empty (0 customers); nothing to draw.")
    return frame


def _aligned_segments(segments: Any, frame: pd.DataFrame, who: str) -> pd.Series:
    """`segments` reindexed to the table's customers; misaligned or missing labels raise."""
    if not isinstance(segments, pd.Series):
        raise ValidationError(
            f"{who}: segments must be a pandas Series of segment names indexed by customer "
            f"(e.g. from assign_segments); got {type(segments).__name__}."
        )
    if segments.index.has_duplicates:
        dup = segments.index[segments.index.duplicated()].unique()
        raise ValidationError(
            f"{who}: segments must hold one label per customer; {len(dup):,} customer ids "
            f"appear more than once (first ids: {format_ids(dup)}).",
            rule="one segment per customer",
            count=len(dup),
            first_ids=dup[:5],
        )
    if not segments.index.equals(frame.index):
        missing = frame.index.difference(segments.index, sort=False)
        extra = segments.index.difference(frame.index, sort=False)
        if len(missing) or len(extra):
            parts = []
            if len(missing):
                parts.append(
                    f"{len(missing):,} customers of the table have no segment "
                    f"(first ids: {format_ids(missing)})"
                )
            if len(extra):
                parts.append(
                    f"{len(extra):,} segment labels belong to customers not in the table "
                    f"(first ids: {format_ids(extra)})"
                )
            first = missing if len(missing) else extra
            raise ValidationError(
                f"{who}: segments must be indexed by the customers of the table; "
                + "; ".join(parts)
                + ". Hint: compute the segments from this table's scores.",
                rule="segments aligned with the table",
                count=len(missing) + len(extra),
                first_ids=first[:5],
            )
        segments = segments.reindex(frame.index)
    unlabelled = segments.isna().to_numpy()
    if unlabelled.any():
        ids = frame.index[unlabelled]
        raise ValidationError(
            f"{who}: every customer needs a segment; {int(unlabelled.sum()):,} labels are "
            f"missing (first ids: {format_ids(ids)}).",
            rule="no missing segment",
            count=int(unlabelled.sum()),
            first_ids=ids[:5],
        )
    aligned: pd.Series = segments
    return aligned


def segment_colours(segments: pd.Series) -> dict[str, Any]:
    """One colour per segment name, stable for a given set of segment names.

    A categorical Series (as :func:`~crmcore.segmentation.assign_segments` returns) takes
    its colours in category order, so every plot of one segment map gives a segment the
    same colour whichever segments are present; other Series in sorted name order.
    Colours come from matplotlib's ``tab10`` (up to 10 names), ``tab20`` (up to 20) or
    evenly spaced ``turbo`` colours.

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.Series(pd.Categorical(["b"], categories=["a", "b"]))
    >>> segment_colours(labels)["b"]
    (1.0, 0.4980392156862745, 0.054901960784313725)
    """
    import matplotlib

    if isinstance(segments.dtype, pd.CategoricalDtype):
        names = [str(c) for c in segments.cat.categories]
    else:
        names = sorted({str(v) for v in segments.dropna()})
    n = len(names)
    if n <= 10:
        colours = [matplotlib.colormaps["tab10"](i) for i in range(n)]
    elif n <= 20:
        colours = [matplotlib.colormaps["tab20"](i) for i in range(n)]
    else:
        colours = [matplotlib.colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]
    return {
        name: tuple(float(c) for c in colour[:3])
        for name, colour in zip(names, colours, strict=True)
    }


def _customers(n: int) -> str:
    """``"1 customer"``, ``"2,345 customers"``."""
    return f"{n:,} customer" + ("" if n == 1 else "s")


def _title(ax: Any, title: str, note: str | None = None) -> None:
    """Set the title; a note (what is not drawn) goes on a smaller second line, above the data."""
    if note is None:
        ax.set_title(title)
    else:
        ax.set_title(f"{title}\n({note})", fontsize=9)


def plot_rfm_histograms(table: Any, *, bins: int = 30, axes: Any = None) -> Any:
    """Histograms of recency, frequency and monetary value, one panel each.

    R rfm's ``rfm_plot_histogram`` (``rfm_histograms`` before 0.3), on a crmcore RFM table.

    Parameters
    ----------
    table : DataFrame
        An :func:`~crmcore.segmentation.rfm_table` (columns ``recency_days``,
        ``frequency``, ``monetary``; ``attrs`` naming the frequency and monetary
        definitions are used in the axis labels). Not mutated.
    bins : int, default 30
        Number of equal-width bins per histogram.
    axes : sequence of 3 matplotlib Axes, optional
        Where to draw recency, frequency and monetary; a new 1 x 3 figure when None.

    Returns
    -------
    numpy.ndarray of 3 matplotlib Axes
        Recency, frequency, monetary. Each bar height is a number of customers; the
        heights of a panel sum to the customers with a value.

    Raises
    ------
    ValidationError
        If `table` is not a non-empty frame, a measure column is not numeric, `bins` is
        not an int >= 1, or `axes` is not three Axes.
    ColumnNotFoundError
        If a measure column is missing.

    Notes
    -----
    Customers without purchases (``customers=`` in ``rfm_table``) have no recency; the
    recency panel leaves them out and says how many on a second title line. Their frequency and
    monetary value (0) are drawn.

    References
    ----------
    Hebbali, A. *rfm: Recency, Frequency and Monetary Value Analysis*, R package
    version 0.3.0. https://CRAN.R-project.org/package=rfm

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [3.0, 29, 132, 1, 121],
    ...                       "frequency": [3, 2, 1, 2, 1],
    ...                       "monetary": [125.0, 200, 15, 35, 60]})
    >>> axes = plot_rfm_histograms(table, bins=4)
    >>> [int(sum(p.get_height() for p in ax.patches)) for ax in axes]
    [5, 5, 5]
    >>> axes[0].get_xlabel()
    'recency (days since last purchase)'
    """
    who = "plot_rfm_histograms"
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValidationError(
            f"The 'bins' parameter of {who} must be an int in the range [1, inf). "
            f"Got {bins!r} instead."
        )
    columns = list(MEASURE_COLUMNS.values())
    frame = _rfm_frame(table, columns, who)
    if axes is None:
        import matplotlib.pyplot as plt

        _, created = plt.subplots(1, 3, figsize=(12.0, 3.6), layout="constrained")
        panels = np.asarray(created, dtype=object)
    else:
        panels = np.asarray(list(axes) if isinstance(axes, Sequence) else axes, dtype=object)
        panels = panels.ravel()
        if panels.size != 3 or not all(hasattr(a, "hist") for a in panels):
            raise ValidationError(
                f"The 'axes' parameter of {who} must be a sequence of 3 matplotlib Axes "
                f"(recency, frequency, monetary) or None. Got {panels.size} items instead."
            )
    colours = ("#3b5bdb", "#2b8a3e", "#e67700")
    titles = ("Recency", "Frequency", "Monetary value")
    for ax, column, colour, title in zip(panels, columns, colours, titles, strict=True):
        values = _numbers(frame, column, who)
        finite = values[np.isfinite(values)]
        ax.hist(finite, bins=int(bins), color=colour, edgecolor="white", linewidth=0.5)
        ax.set_xlabel(_axis_label(frame, column))
        left_out = values.size - finite.size
        _title(ax, title, f"{_customers(left_out)} without a value not shown" if left_out else None)
    panels[0].set_ylabel("customers")
    return panels


def plot_rfm_scatter(
    table: Any,
    *,
    x: str = "frequency",
    y: str = "monetary",
    segments: pd.Series | None = None,
    log: str | None = None,
    ax: Any = None,
) -> Any:
    """Scatter of two RFM measures per customer, optionally coloured by segment.

    R rfm's ``rfm_rf_plot``, ``rfm_fm_plot`` and ``rfm_rm_plot`` (``rfm_plot_segment_scatter``
    since 0.3) in one function: choose the measures with `x` and `y`.

    Parameters
    ----------
    table : DataFrame
        An :func:`~crmcore.segmentation.rfm_table`. Not mutated.
    x, y : {"recency", "frequency", "monetary"}
        Measures on the horizontal and vertical axis (``recency`` is the
        ``recency_days`` column; the column names are accepted too).
    segments : Series, optional
        Segment name per customer, indexed by the table's customers (e.g.
        :func:`~crmcore.segmentation.assign_segments`). Points are then coloured by
        segment with one colour per name (see :func:`segment_colours`: category order
        for a categorical Series, else sorted names), and a legend lists the segments
        present.
    log : {None, "x", "y", "xy"}, default None
        Axes drawn on a log scale. Monetary value is usually right-skewed, so
        ``log="y"`` (with the default ``y="monetary"``) spreads the bulk of customers.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure (constrained layout, room for the legend) is made
        when None.

    Returns
    -------
    matplotlib.axes.Axes
        One point collection per segment (or one for all customers), in legend order.

    Raises
    ------
    ValidationError
        On an unknown measure or `log` value, a non-numeric measure column, or
        `segments` not indexed by the table's customers (the count and first ids of the
        customers without a segment, or of the labels without a customer, are given).
    ColumnNotFoundError
        If a measure column is missing.

    Notes
    -----
    The legend is placed **outside** the axes, to the right of them, so that it never
    hides points; when you pass your own `ax`, make the figure with
    ``layout="constrained"`` (or save it with ``bbox_inches="tight"``) to keep the legend
    on the figure. Customers whose point cannot be drawn (no recency, or a value <= 0 on
    a log axis) are counted in a note inside the axes.

    References
    ----------
    Hebbali, A. *rfm: Recency, Frequency and Monetary Value Analysis*, R package
    version 0.3.0. https://CRAN.R-project.org/package=rfm

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [3.0, 29, 132, 1],
    ...                       "frequency": [3, 2, 1, 2],
    ...                       "monetary": [125.0, 200, 15, 35]}, index=["a", "b", "c", "d"])
    >>> segments = pd.Series(["Loyal", "Loyal", "Lost", "New"], index=table.index)
    >>> ax = plot_rfm_scatter(table, segments=segments, log="y")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['Lost', 'Loyal', 'New']
    >>> ax.get_yscale()
    'log'
    """
    who = "plot_rfm_scatter"
    x_col = _measure_column(x, who, "x")
    y_col = _measure_column(y, who, "y")
    check_param_choice("log", log, list(_LOG_CHOICES), who=who)
    frame = _rfm_frame(table, [x_col, y_col], who)
    xs = _numbers(frame, x_col, who)
    ys = _numbers(frame, y_col, who)
    drawable = np.isfinite(xs) & np.isfinite(ys)
    if log is not None and "x" in log:
        drawable &= xs > 0
    if log is not None and "y" in log:
        drawable &= ys > 0
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    point = {"s": 12, "alpha": 0.6, "linewidths": 0}
    if segments is None:
        ax.scatter(xs[drawable], ys[drawable], color="#3b5bdb", **point)
    else:
        labels = _aligned_segments(segments, frame, who)
        colours = segment_colours(labels)
        names = labels.astype(str).to_numpy()
        for name, colour in colours.items():
            chosen = drawable & (names == name)
            if chosen.any():
                ax.scatter(xs[chosen], ys[chosen], color=colour, label=name, **point)
        ax.legend(
            title=str(labels.name) if labels.name is not None else "segment",
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize=8,
            title_fontsize=8,
            markerscale=1.5,
        )
    if log is not None and "x" in log:
        ax.set_xscale("log")
    if log is not None and "y" in log:
        ax.set_yscale("log")
    ax.set_xlabel(_axis_label(frame, x_col))
    ax.set_ylabel(_axis_label(frame, y_col))
    short = {v: k for k, v in MEASURE_COLUMNS.items()}
    hidden = int((~drawable).sum())
    why = "missing" if log is None else "missing or <= 0"
    _title(
        ax,
        f"{short[y_col].capitalize()} vs {short[x_col]}",
        f"{_customers(hidden)} not shown: {why}" if hidden else None,
    )
    return ax


def _value_text(value: float, column: str) -> str:
    """A bar label: thousands separators, decimals only when the value is not whole."""
    if value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if column == "monetary" else f"{value:,.1f}"


def plot_segment_medians(
    table: Any,
    segments: pd.Series,
    *,
    measure: str = "recency",
    ax: Any = None,
) -> Any:
    """Median recency, frequency or monetary value per segment, as sorted horizontal bars.

    R rfm's ``rfm_plot_median_recency``, ``rfm_plot_median_frequency`` and
    ``rfm_plot_median_monetary`` in one function (with R's ``sort = TRUE, flip = TRUE``).

    Parameters
    ----------
    table : DataFrame
        An :func:`~crmcore.segmentation.rfm_table`. Not mutated.
    segments : Series
        Segment name per customer, indexed by the table's customers (e.g.
        :func:`~crmcore.segmentation.assign_segments`).
    measure : {"recency", "frequency", "monetary"}, default "recency"
        The measure whose median is drawn (``recency`` is the ``recency_days`` column).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per segment with customers (empty categories are left out), the largest
        median at the top; ``ax.patches`` in that order, widths the medians. Each bar is
        labelled with its median (thousands separators), inside the bar when the bar is
        long, else just past its end, always inside the axes.

    Raises
    ------
    ValidationError
        On an unknown measure, a non-numeric measure column, or `segments` not indexed
        by the table's customers (count and first ids given).
    ColumnNotFoundError
        If the measure's column is missing.

    Notes
    -----
    Customers without a value (no recency when ``rfm_table`` kept customers without
    purchases) are left out of their segment's median; a segment with no value at all
    gets no bar and is named on a second line of the title.

    References
    ----------
    Hebbali, A. *rfm: Recency, Frequency and Monetary Value Analysis*, R package
    version 0.3.0. https://CRAN.R-project.org/package=rfm

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recency_days": [3.0, 29, 132, 1, 121],
    ...                       "frequency": [3, 2, 1, 2, 1],
    ...                       "monetary": [125.0, 200, 15, 35, 60]},
    ...                      index=["a", "b", "c", "d", "e"])
    >>> segments = pd.Series(["Loyal", "Loyal", "Lost", "New", "Lost"], index=table.index)
    >>> ax = plot_segment_medians(table, segments, measure="recency")
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['Lost', 'Loyal', 'New'], [126.5, 16.0, 1.0])
    """
    who = "plot_segment_medians"
    column = _measure_column(measure, who)
    frame = _rfm_frame(table, [column], who)
    values = _numbers(frame, column, who)
    labels = _aligned_segments(segments, frame, who)
    by = pd.Series(values, index=frame.index).groupby(labels.astype(str).to_numpy(), sort=True)
    medians = by.median()
    present = sorted({str(v) for v in labels})
    no_value = [name for name in present if not np.isfinite(medians.get(name, np.nan))]
    medians = medians[np.isfinite(medians.to_numpy(dtype=np.float64))]
    medians = medians.sort_values(ascending=False, kind="stable")
    ax = axes_or_new(ax, (7.0, 1.2 + 0.4 * max(len(medians), 1)))
    heights = medians.to_numpy(dtype=np.float64)
    positions = np.arange(len(medians))
    ax.barh(positions, heights, color="#3b5bdb", height=0.7)
    ax.set_yticks(positions, [str(i) for i in medians.index])
    ax.invert_yaxis()
    low = min(0.0, float(heights.min())) if heights.size else 0.0
    high = max(0.0, float(heights.max())) if heights.size else 1.0
    span = (high - low) or 1.0
    ax.set_xlim(low - (0.08 * span if low < 0 else 0.0), high + 0.08 * span)
    for pos, value in zip(positions, heights, strict=True):
        long_bar = abs(value) >= 0.5 * span
        sign = 1.0 if value >= 0 else -1.0
        offset = -0.01 * span * sign if long_bar else 0.01 * span * sign
        ax.text(
            value + offset,
            pos,
            _value_text(float(value), column),
            va="center",
            ha=("right" if sign > 0 else "left") if long_bar else ("left" if sign > 0 else "right"),
            color="white" if long_bar else "black",
            fontsize=8,
        )
    short = {v: k for k, v in MEASURE_COLUMNS.items()}[column]
    ax.set_xlabel("median " + _axis_label(frame, column))
    _title(
        ax,
        f"Median {short} by segment",
        f"no {short} value in {format_ids(no_value, limit=3)}" if no_value else None,
    )
    return ax


def plot_order_distribution(table: Any, *, ax: Any = None) -> Any:
    """Number of customers by number of orders, bars labelled with their counts.

    R rfm's ``rfm_plot_order_dist`` (``rfm_order_dist`` before 0.3).

    Parameters
    ----------
    table : DataFrame
        An :func:`~crmcore.segmentation.rfm_table` (column ``frequency``: orders, or
        purchase days for ``frequency="days"``). Not mutated.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per order count from the smallest to the largest in the table (counts
        nobody has get an empty bar), each labelled with its number of customers
        (thousands separators). At most 12 bars: when the counts span more, the last bar
        gathers every larger count and its tick reads e.g. ``"12+"``.

    Raises
    ------
    ValidationError
        If ``frequency`` is not numeric, holds a missing, negative or fractional value.
    ColumnNotFoundError
        If the ``frequency`` column is missing.

    References
    ----------
    Hebbali, A. *rfm: Recency, Frequency and Monetary Value Analysis*, R package
    version 0.3.0. https://CRAN.R-project.org/package=rfm

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"frequency": [1, 1, 1, 2, 4]})
    >>> ax = plot_order_distribution(table)
    >>> [int(p.get_height()) for p in ax.patches], [t.get_text() for t in ax.texts]
    ([3, 1, 0, 1], ['3', '1', '0', '1'])
    """
    who = "plot_order_distribution"
    frame = _rfm_frame(table, ["frequency"], who)
    values = _numbers(frame, "frequency", who)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        ids = frame.index[bad]
        raise ValidationError(
            f"{who}: column 'frequency' must hold whole order counts >= 0; "
            f"{int(bad.sum()):,} values do not (first ids: {format_ids(ids)}).",
            rule="column must hold whole order counts",
            column="frequency",
            count=int(bad.sum()),
            first_ids=ids[:5],
        )
    counts = values.astype(np.int64)
    first = int(counts.min())
    last = min(int(counts.max()), first + _MAX_ORDER_BARS - 1)
    tail = int(counts.max()) > last
    bars = np.bincount(np.minimum(counts, last) - first, minlength=last - first + 1)
    ticks = [str(k) for k in range(first, last + 1)]
    if tail:
        ticks[-1] = f"{last}+"
    ax = axes_or_new(ax, (7.0, 4.0))
    positions = np.arange(len(bars))
    ax.bar(positions, bars.astype(np.float64), color="#3b5bdb", width=0.8)
    ax.set_xticks(positions, ticks)
    top = float(bars.max())
    ax.set_ylim(0.0, 1.15 * top if top > 0 else 1.0)
    for pos, count in zip(positions, bars, strict=True):
        ax.text(
            pos,
            float(count) + 0.01 * top,
            f"{int(count):,}",
            ha="center",
            va="bottom",
            fontsize=7 if len(bars) > 8 else 8,
        )
    unit = "purchase days" if frame.attrs.get("frequency") == "days" else "orders"
    ax.set_xlabel(f"number of {unit}")
    ax.set_ylabel("customers")
    ax.set_title(f"Customers by number of {unit}")
    return ax
