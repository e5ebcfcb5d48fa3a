"""Helpers shared by the private plot modules (matplotlib is imported only when drawing)."""

from __future__ import annotations

from typing import Any

__all__ = ["axes_or_new"]


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
