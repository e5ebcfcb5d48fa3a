"""Retention plots: cohort heatmap and retention-profit sensitivity curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._periods import period_numbers, period_start
from crmcore._plots._common import cell_fontsize
from crmcore._validation import check_param_choice, coerce_timestamp, format_ids
from crmcore.exceptions import ValidationError

__all__ = ["partial_cohort_cells", "plot_cohort_heatmap", "plot_retention_sensitivity"]


_COHORT_UNITS = ("D", "W", "M", "Q", "Y")
#: Below this font size (points) cell values are not written: they would not be readable.
_SMALLEST_FONT = 4.5


def partial_cohort_cells(
    table: pd.DataFrame,
    *,
    as_of: Any,
    period: str = "M",
    cohort: str | None = None,
    who: str = "partial_cohort_cells",
) -> npt.NDArray[np.bool_]:
    """Which cells of a cohort table were still incomplete at `as_of`.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`~crmcore.value.cohort_table` result: cohorts (period start dates) in rows,
        ages 0..K in columns.
    as_of : date-like
        The `as_of` the table was built with (a date includes its whole day).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        The table's age unit (``cohort_table(period=...)``).
    cohort : {"D", "W", "M", "Q", "Y"}, optional
        The table's cohort unit (``cohort_table(cohort=...)``); default `period`.
    who : str
        The function named in error messages.

    Returns
    -------
    numpy.ndarray of bool, shape of `table`
        True for a cell with a value whose calendar periods are not all over at `as_of`.

    Raises
    ------
    ValidationError
        If the table is not indexed by cohort start dates with whole ages as columns, or
        if it holds a value at an age no customer of its cohort could reach by `as_of` (the
        table was made with another `as_of` or `period`).

    Notes
    -----
    A customer whose first purchase falls in period ``p0`` (numbered by the package's
    period clock) is at age ``k`` in calendar period ``p0 + k``. The period holding
    `as_of` is complete only when `as_of` is its last day; let ``L`` be the last complete
    period. A cohort's customers start in periods up to ``p_last``, the last period of the
    cohort (or the period of `as_of`, if earlier), so the cell at age ``k`` is incomplete
    when ``p_last + k > L``: either the period is not over, or some customers of the cohort
    had not yet reached that age. With ``cohort == period`` this marks, for each cohort,
    the age that falls in the unfinished period of `as_of` (none when `as_of` is a
    period's last day).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> table = pd.DataFrame([[2.0, 1.0, 1.0], [1.0, 0.0, np.nan]],
    ...                      index=pd.to_datetime(["2024-01-01", "2024-02-01"]))
    >>> partial_cohort_cells(table, as_of="2024-03-15").tolist()
    [[False, False, True], [False, True, False]]
    >>> partial_cohort_cells(table, as_of="2024-03-31").any()
    np.False_
    """
    check_param_choice("period", period, _COHORT_UNITS, who=who)
    cohort_unit = period if cohort is None else cohort
    check_param_choice("cohort", cohort_unit, _COHORT_UNITS, who=who)
    end = coerce_timestamp(as_of, name="as_of", who=who).normalize()
    if not isinstance(table.index, pd.DatetimeIndex):
        raise ValidationError(
            f"{who}: marking partial periods needs a table indexed by cohort start dates (as "
            f"cohort_table returns); got an index of dtype {table.index.dtype}."
        )
    ages = pd.to_numeric(pd.Series(table.columns), errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(ages) & (ages == np.round(ages)) & (ages >= 0)):
        raise ValidationError(
            f"{who}: marking partial periods needs whole ages >= 0 as columns (as "
            f"cohort_table returns); got columns {format_ids(list(table.columns))}."
        )
    age = ages.astype(np.int64)
    now = int(period_numbers(np.array([end.to_datetime64()]), period, who=who)[0])
    next_day = np.array([(end + pd.Timedelta(days=1)).to_datetime64()])
    complete = int(period_numbers(next_day, period, who=who)[0]) > now
    last_complete = now if complete else now - 1
    starts = table.index.tz_localize(None) if table.index.tz is not None else table.index
    first_in = period_numbers(starts, period, who=who)
    cohort_no = period_numbers(starts, cohort_unit, who=who)
    next_cohort = pd.DatetimeIndex(period_start(cohort_no + 1, cohort_unit, who=who))
    last_in = np.minimum(period_numbers(next_cohort - pd.Timedelta(days=1), period, who=who), now)
    values = table.to_numpy(dtype=np.float64)
    observed = ~np.isnan(values)
    beyond = observed & (first_in[:, None] + age[None, :] > now)
    if beyond.any():
        row, col = np.argwhere(beyond)[0]
        raise ValidationError(
            f"{who}: {int(beyond.sum()):,} cells hold a value at an age no customer of the "
            f"cohort could reach by as_of {end:%Y-%m-%d} with period {period!r} (first: cohort "
            f"{table.index[row]:%Y-%m-%d}, age {age[col]}). Hint: pass the as_of and period "
            "the table was made with.",
            rule="cells observable by as_of",
            count=int(beyond.sum()),
        )
    partial: npt.NDArray[np.bool_] = observed & (last_in[:, None] + age[None, :] > last_complete)
    return partial


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    ax: Any = None,
    annotate: bool = True,
    fmt: str | None = None,
    cmap: str = "Blues",
    title: str | None = None,
    as_of: Any = None,
    period: str | None = None,
    cohort: str | None = None,
) -> Any:
    """Draw a cohort x age table (from :func:`crmcore.value.cohort_table`) as a heatmap.

    Parameters
    ----------
    table : pandas.DataFrame
        Cohorts in rows, ages in columns; NaN cells (unobserved) are left blank. Not
        mutated.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    annotate : bool, default True
        Write each value in its cell, at up to 7 points, smaller when the cells are narrow
        so a value stays inside its cell; when even 4.5 points would not fit (many ages on
        a small axes) the values are left out.
    fmt : str, optional
        Format of the annotations; default ``".0%"`` when every value is <= 1, else
        ``",.0f"``.
    cmap : str, default "Blues"
        Matplotlib colour map.
    title : str, optional
        Axes title.
    as_of : date-like, optional
        The data end the table was built with (``cohort_table(as_of=...)``). With it,
        cells whose period was not over at `as_of` (see :func:`partial_cohort_cells`) are
        hatched, so an unfinished last month does not read as a drop, and the title says
        what the hatching means (a legend inside the axes would hide cells of a small
        table). Default ``table.attrs["as_of"]`` when the table carries it and is still
        indexed by cohort start dates; without either, nothing is marked.
    period, cohort : {"D", "W", "M", "Q", "Y"}, optional
        The table's age and cohort units (``cohort_table(period=..., cohort=...)``);
        default ``table.attrs`` when present, else ``"M"`` (cohort_table's default) and
        `period`.

    Returns
    -------
    matplotlib.axes.Axes
        One image; with `annotate`, one text per cell with a value; with partial cells,
        one hatched, unfilled :class:`~matplotlib.patches.Rectangle` per partial cell in
        ``ax.patches`` (covering the cell: ``xy = (age index - 0.5, row - 0.5)``); the
        title (its second line when `title` is given) then explains the hatching.

    Raises
    ------
    ValidationError
        If `table` is empty, or (with `as_of`) is not indexed by cohort start dates,
        has non-integer ages, or holds values at ages that `as_of` and `period` make
        unreachable.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import pandas as pd
    >>> table = pd.DataFrame([[2.0, 1.0, 1.0], [1.0, 0.0, np.nan]],
    ...                      index=pd.to_datetime(["2024-01-01", "2024-02-01"]))
    >>> ax = plot_cohort_heatmap(table, as_of="2024-03-15")
    >>> [p.get_xy() for p in ax.patches]
    [(1.5, -0.5), (0.5, 0.5)]
    >>> ax.get_title()
    'hatched: period not over at the data end 2024-03-15'
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    who = "plot_cohort_heatmap"
    if not isinstance(table, pd.DataFrame) or table.size == 0:
        raise ValidationError(f"{who}: expected a non-empty cohort table.")
    attrs = table.attrs
    end = as_of
    if end is None and isinstance(table.index, pd.DatetimeIndex):
        # a table relabelled by the caller (e.g. "2024-01" strings) keeps cohort_table's
        # attrs but no longer says where its cohorts start: it is drawn unmarked
        end = attrs.get("as_of")
    partial = None
    if end is not None:
        unit = period if period is not None else str(attrs.get("period", "M"))
        cohort_unit = cohort if cohort is not None else attrs.get("cohort")
        partial = partial_cohort_cells(
            table,
            as_of=end,
            period=unit,
            cohort=None if cohort_unit is None else str(cohort_unit),
            who=who,
        )
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
        cells = [(i, j, format(v, fmt)) for (i, j), v in np.ndenumerate(values) if np.isfinite(v)]
        size = cell_fontsize(ax, values.shape[1], [text for _, _, text in cells], 7.0)
        for i, j, text in cells if size >= _SMALLEST_FONT else []:
            v = values[i, j]
            colour = "white" if high and v > 0.6 * high else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=size, color=colour)
    note = None
    if partial is not None and partial.any():
        for i, j in np.argwhere(partial):
            cell = Rectangle(
                (float(j) - 0.5, float(i) - 0.5),
                1.0,
                1.0,
                hatch="////",
                edgecolor="dimgrey",
                fill=False,
                linewidth=0.0,
            )
            ax.add_patch(cell)
        stamp = coerce_timestamp(end, name="as_of", who=who)
        note = f"hatched: period not over at the data end {stamp:%Y-%m-%d}"
    if note is None:
        if title is not None:
            ax.set_title(title)
    else:
        ax.set_title(note if title is None else f"{title}\n({note})", fontsize=9)
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
