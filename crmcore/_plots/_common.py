"""Helpers shared by the private plot modules (matplotlib is imported only when drawing)."""

from __future__ import annotations

from typing import Any

__all__ = ["axes_or_new", "axes_size_points", "cell_fontsize", "text_width_points"]


def axes_or_new(ax: Any, figsize: tuple[float, float] | None = None) -> Any:
    """Return `ax`, or the axes of a new figure of `figsize` (matplotlib's default if None).

    Every public plot function takes ``ax=None``. matplotlib is imported here, only when a
    figure is made, so that importing :mod:`crmcore.plotting` never imports it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = axes_or_new(None, (4, 3))
    >>> ax.figure.get_size_inches().tolist()
    [4.0, 3.0]
    >>> axes_or_new(ax) is ax
    True
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def text_width_points(text: str, fontsize: float) -> float:
    """Width of one line of `text` at `fontsize`, in points, measured without drawing.

    Examples
    --------
    >>> text_width_points("100%", 10) > text_width_points("1%", 10) > 0
    True
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    if not text:
        return 0.0
    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False
    )
    return float(width)


def axes_size_points(ax: Any) -> tuple[float, float]:
    """Width and height of the axes' box in points, from its current position on the figure.

    A layout engine (``layout="constrained"``, ``tight_layout``) may shrink the box when the
    figure is drawn; callers that place labels keep a margin for that.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = axes_or_new(None, (4, 3))
    >>> [round(v) for v in axes_size_points(ax)]
    [223, 166]
    """
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    return float(box.width * width_in * 72.0), float(box.height * height_in * 72.0)


def cell_fontsize(ax: Any, n_columns: int, labels: list[str], largest: float) -> float:
    """Font size at which the widest of `labels` fits in one of `n_columns` equal cells.

    At most `largest`; the cell width assumes the box may lose a fifth of its width to a
    layout engine or a colour bar, so labels stay inside their cells (and the first and
    last column's labels inside the axes).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = axes_or_new(None, (4, 3))
    >>> cell_fontsize(ax, 2, ["100%"], 7.0), cell_fontsize(ax, 40, ["100%"], 7.0) < 7.0
    (7.0, True)
    """
    widest = max((text_width_points(label, 10.0) for label in labels), default=0.0)
    if widest <= 0 or n_columns <= 0:
        return largest
    cell = 0.8 * axes_size_points(ax)[0] / n_columns
    return float(min(largest, 10.0 * 0.9 * cell / widest))
