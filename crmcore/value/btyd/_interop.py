"""Conversion between crmcore models and ``lifetimes`` fitters (lifetimes imported lazily).

The models call these helpers from their ``from_lifetimes`` / ``to_lifetimes`` methods;
lifetimes is imported only inside :func:`fitter_to_lifetimes`, so crmcore never depends on it.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore.exceptions import ValidationError

__all__ = ["fitter_to_lifetimes", "params_from_lifetimes"]


def params_from_lifetimes(
    fitter: Any,
    *,
    expected_class: str | None,
    names: Sequence[str],
    lifetimes_names: Sequence[str] | None = None,
    who: str,
) -> dict[str, float]:
    """Read the fitted parameters of a lifetimes fitter as ``{crmcore name: value}``.

    Parameters
    ----------
    fitter : object
        A fitted lifetimes fitter (anything with a ``params_`` mapping works).
    expected_class : str or None
        The lifetimes class name the model mirrors; a different class is rejected.
    names : sequence of str
        crmcore parameter names.
    lifetimes_names : sequence of str, optional
        lifetimes' names of the same parameters, in the same order (default: `names`).
    who : str
        Calling function, for error messages.

    Returns
    -------
    dict of str to float

    Raises
    ------
    ValidationError
        If the fitter is of another class, is not fitted or lacks a parameter.

    Examples
    --------
    >>> class FakeFitter:
    ...     params_ = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
    >>> params_from_lifetimes(FakeFitter(), expected_class=None,
    ...                       names=("r", "alpha", "a", "b"), who="demo")
    {'r': 0.24, 'alpha': 4.41, 'a': 0.79, 'b': 2.43}
    """
    if expected_class is not None and type(fitter).__name__ != expected_class:
        raise ValidationError(
            f"{who}: expected a lifetimes {expected_class}; got {type(fitter).__name__}."
        )
    params = getattr(fitter, "params_", None)
    if params is None:
        raise ValidationError(f"{who}: the lifetimes fitter is not fitted (no params_).")
    source = list(lifetimes_names) if lifetimes_names is not None else list(names)
    out: dict[str, float] = {}
    for ours, theirs in zip(names, source, strict=True):
        try:
            value = float(params[theirs])
        except (KeyError, IndexError, TypeError):
            raise ValidationError(
                f"{who}: the lifetimes fitter has no parameter {theirs!r}."
            ) from None
        if not math.isfinite(value):
            raise ValidationError(f"{who}: lifetimes parameter {theirs!r} is {value}.")
        out[ours] = value
    return out


def fitter_to_lifetimes(
    *,
    class_name: str | None,
    params: pd.Series,
    lifetimes_names: Sequence[str] | None = None,
    penalizer: float = 0.0,
    who: str,
) -> Any:
    """Build a lifetimes fitter of class `class_name` holding `params` (ready for scoring).

    Parameters
    ----------
    class_name : str
        A class of ``lifetimes`` (e.g. ``"BetaGeoFitter"``).
    params : pandas.Series
        crmcore parameters in the model's order.
    lifetimes_names : sequence of str, optional
        lifetimes' names for the parameters (default: the Series index).
    penalizer : float
        Copied to the fitter's ``penalizer_coef``.
    who : str
        Calling function, for error messages.

    Returns
    -------
    lifetimes fitter

    Raises
    ------
    ValidationError
        If the model has no lifetimes counterpart.
    ImportError
        If lifetimes is not installed.
    """
    if class_name is None:
        raise ValidationError(f"{who}: this model has no lifetimes counterpart.")
    try:
        module = importlib.import_module("lifetimes")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{who}: lifetimes is not installed (pip install lifetimes); it is only needed "
            "for interoperability."
        ) from exc
    cls = getattr(module, class_name)
    fitter = cls(penalizer_coef=penalizer)
    names = list(lifetimes_names) if lifetimes_names is not None else [str(i) for i in params.index]
    fitter.params_ = pd.Series(
        np.asarray(params.to_numpy(dtype=np.float64)), index=names, dtype=np.float64
    )
    for method in (
        "conditional_expected_number_of_purchases_up_to_time",
        "conditional_expected_average_profit",
    ):
        if hasattr(fitter, method):
            fitter.predict = getattr(fitter, method)
            break
    return fitter
