"""Frequency/recency matrices of a fitted transaction model: expected purchases and P(alive).

matplotlib is imported inside each function, so importing this module stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from crmcore._plots._common import axes_or_new

__all__ = [
    "frequency_recency_grid",
    "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix",
]


def frequency_recency_grid(
    model: Any,
    *,
    quantity: str,
    T: float,
    max_frequency: int,
    t: float = 1.0,
    n_recency: int = 50,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Values of `quantity` on a (frequency, recency) grid for customers of age `T`.

    Parameters
    ----------
    model : TransactionModel
        A fitted transaction model.
    quantity : {"expected_purchases", "probability_alive"}
        What to compute.
    T : float
        Age of the customers (model time units).
    max_frequency : int
        Largest frequency on the grid (rows ``0..max_frequency``).
    t : float, default 1.0
        Future window of ``expected_purchases``.
    n_recency : int, default 50
        Number of recency values from 0 to `T`.

    Returns
    -------
    (frequencies, recencies, values)
        ``values[i, j]`` for frequency ``i`` and recency ``recencies[j]``; cells with
        frequency 0 and recency > 0 (impossible histories) are NaN.
    """
    freqs = np.arange(int(max_frequency) + 1, dtype=np.float64)
    recs = np.linspace(0.0, float(T), int(n_recency))
    xx, rr = np.meshgrid(freqs, recs, indexing="ij")
    valid = ~((xx == 0) & (rr > 0))
    x, r = xx[valid], rr[valid]
    ages = np.full_like(x, float(T))
    if quantity == "expected_purchases":
        out = model.expected_purchases((x, r, ages), t)
    elif quantity == "probability_alive":
        out = model.probability_alive((x, r, ages))
    else:
        raise ValueError(
            f"quantity must be 'expected_purchases' or 'probability_alive'; got {quantity!r}"
        )
    values = np.full(xx.shape, np.nan)
    values[valid] = out
    return freqs, recs, values


def _draw(ax: Any, freqs: Any, recs: Any, values: Any, title: str, label: str, cmap: str) -> Any:
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap=cmap,
        extent=(recs[0], recs[-1], freqs[0] - 0.5, freqs[-1] + 0.5),
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("recency (time of last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(
    model: Any,
    *,
    T: float,
    t: float = 1.0,
    max_frequency: int = 20,
    ax: Any = None,
) -> Any:
    """Heatmap of the expected purchases in the next `t` periods by frequency and recency.

    Parameters
    ----------
    model : TransactionModel
        A fitted transaction model (e.g. :class:`~crmcore.value.BetaGeoModel`).
    T : float
        Age of the customers, in the model's time unit.
    t : float, default 1.0
        Length of the future window.
    max_frequency : int, default 20
        Largest frequency shown.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One image, a colour bar, and a title naming `t`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crmcore.value import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> ax = plot_frequency_recency_matrix(model, T=39, t=1)
    >>> ax.get_title()
    'Expected purchases in the next 1 periods (T = 39)'
    """
    freqs, recs, values = frequency_recency_grid(
        model, quantity="expected_purchases", T=T, max_frequency=max_frequency, t=t
    )
    return _draw(
        axes_or_new(ax),
        freqs,
        recs,
        values,
        f"Expected purchases in the next {t:g} periods (T = {T:g})",
        "expected purchases",
        "viridis",
    )


def plot_probability_alive_matrix(
    model: Any,
    *,
    T: float,
    max_frequency: int = 20,
    ax: Any = None,
) -> Any:
    """Heatmap of P(alive) by frequency and recency for customers of age `T`.

    Parameters
    ----------
    model : TransactionModel
        A fitted transaction model.
    T : float
        Age of the customers, in the model's time unit.
    max_frequency : int, default 20
        Largest frequency shown.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
        One image (values in [0, 1]) and a colour bar.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from crmcore.value import BetaGeoModel
    >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> ax = plot_probability_alive_matrix(model, T=39)
    >>> ax.get_title()
    'Probability alive (T = 39)'
    """
    freqs, recs, values = frequency_recency_grid(
        model, quantity="probability_alive", T=T, max_frequency=max_frequency
    )
    return _draw(
        axes_or_new(ax), freqs, recs, values, f"Probability alive (T = {T:g})", "P(alive)", "RdYlGn"
    )
