"""Customer lifetime value from a transaction model and a spend model."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np
import pandas as pd

from crmcore._compat import RENAMED_ATTR, move_renamed_keywords
from crmcore._validation import check_param_number, first_ids, format_ids
from crmcore.exceptions import ValidationError
from crmcore.value.btyd._gamma_gamma import GammaGammaModel
from crmcore.value.btyd._transaction import TransactionModel

__all__ = ["customer_lifetime_value"]

_WHO = "customer_lifetime_value"
# length of one unit in days; a month is 365.25 / 12 days (never a hidden 30)
_DAYS = {"h": 1.0 / 24.0, "D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Q": 365.25 / 4.0, "Y": 365.25}
_UNIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([hDWMQY])\s*$")


def unit_in_days(unit: str, *, name: str = "time_unit", who: str = _WHO) -> float:
    """Length in days of a time unit such as ``"h"``, ``"D"``, ``"W"``, ``"M"`` or ``"7D"``.

    Examples
    --------
    >>> unit_in_days("W"), unit_in_days("7D"), round(unit_in_days("M"), 4)
    (7.0, 7.0, 30.4375)
    >>> unit_in_days("h") * 24, unit_in_days("12h")
    (1.0, 0.5)
    """
    match = _UNIT_RE.match(str(unit)) if isinstance(unit, str) else None
    if match is None:
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a time unit 'h' (hour), 'D', 'W', 'M' "
            f"(365.25/12 days), 'Q' or 'Y', optionally with a multiple such as '7D'. "
            f"Got {unit!r} instead."
        )
    count = float(match.group(1)) if match.group(1) else 1.0
    if count <= 0:
        raise ValidationError(f"{who}: {name} {unit!r} must have a positive multiple.")
    return count * _DAYS[match.group(2)]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _old_unit_names(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Refuse the ambiguous pre-rename call; read ``model_time_unit`` as ``time_unit``.

    Before the rename ``time_unit`` was the horizon's unit and ``model_time_unit`` the data's.
    A call with ``time_unit`` and no ``horizon_unit`` may be an old call (the horizon's unit)
    or a lifetimes/pymc-marketing user's ``freq`` (the data's unit): read either way the other
    reading gives a wrong number (``horizon=12, time_unit="D"`` would value 12 days instead of
    12 months), so it is refused with both readings spelled out. ``model_time_unit`` still
    works for one release, with a ``DeprecationWarning``.
    """

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if "horizon_unit" not in kwargs and "time_unit" in kwargs:
            unit = kwargs["time_unit"]
            raise ValidationError(
                f"{_WHO}: time_unit={unit!r} without horizon_unit is ambiguous. time_unit is "
                "the unit of the data's recency and T (as in btyd_summary and lifetimes' "
                "freq); the horizon's unit is horizon_unit, which is required. Hint: for "
                f"horizon periods of one {unit!r} pass horizon_unit={unit!r}; for lifetimes' "
                "months pass horizon_unit='30D' (its 30-day month) or 'M' (365.25/12 days).",
                rule="horizon_unit is required",
            )
        if "model_time_unit" in kwargs:
            move_renamed_keywords(kwargs, {"model_time_unit": "time_unit"}, _WHO)
        return func(*args, **kwargs)

    setattr(wrapper, RENAMED_ATTR, {"model_time_unit": "time_unit"})
    return wrapper


@_old_unit_names
def customer_lifetime_value(
    transaction_model: TransactionModel,
    spend_model: GammaGammaModel,
    data: pd.DataFrame,
    *,
    horizon: int,
    horizon_unit: str,
    discount_rate: float,
    margin: float = 1.0,
    time_unit: str | None = None,
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_value_col: str = "monetary_value",
) -> pd.Series:
    """Discounted expected margin of each customer over the next `horizon` periods.

    Parameters
    ----------
    transaction_model : TransactionModel
        A fitted BG/NBD, MBG/NBD, Pareto/NBD, ... model (or one built with ``from_params``).
    spend_model : GammaGammaModel
        A fitted spend model.
    data : pandas.DataFrame
        One row per customer with frequency, recency, T (in the transaction model's time
        unit) and monetary value, e.g. from :func:`~crmcore.value.btyd_summary`.
    horizon : int
        Number of horizon periods to value.
    horizon_unit : str
        Length of one horizon period: ``"D"``, ``"W"``, ``"M"`` (365.25/12 days), ``"Q"``,
        ``"Y"`` or a multiple such as ``"4W"``. Required: before the rename this was
        ``time_unit``, so a call with ``time_unit`` and no ``horizon_unit`` is refused as
        ambiguous rather than read one way or the other.
    discount_rate : float
        Discount rate per period of `horizon_unit` (e.g. 0.01 per month), >= 0.
    margin : float, default 1.0
        Share of revenue kept as profit, in (0, 1] typically (any value > 0 is accepted).
    time_unit : str, optional
        Time unit of the data and of the transaction model's recency and T (the meaning
        ``time_unit`` has in :func:`btyd_summary` and the models); defaults to the model's
        ``time_unit_`` (recorded by ``fit`` from :func:`btyd_summary`). For a model whose
        unit is recorded it must be that unit (a different one would scale the horizon
        wrongly); pass it for models without one (``from_params`` without ``time_unit``).
        Formerly ``model_time_unit`` (deprecated alias).
    frequency_col, recency_col, T_col, monetary_value_col : str
        Column names.

    Returns
    -------
    pandas.Series
        CLV per customer, named ``clv``, aligned with ``data.index``.

    Raises
    ------
    ValidationError
        On a bad argument, if `time_unit` is given without `horizon_unit` (ambiguous, see
        `horizon_unit`) or differs from the model's recorded unit, if the transaction
        model's time unit is unknown and `time_unit` is not given, or if a customer's value
        exceeds the float range (about 1.8e308: spends or margins near 1e308 are data
        errors).

    Notes
    -----
    With ``Delta`` the length of one period in model time units, ``s_i`` the expected average
    spend from `spend_model` and ``X_i(T, T + u)`` the transaction model's expected number of
    purchases in the next ``u`` model time units,

    ``CLV_i = sum_{k=1..horizon} margin * s_i * (E[X_i(T, T + k Delta)] - E[X_i(T, T +
    (k - 1) Delta)]) / (1 + d)^k``,

    i.e. each period's expected purchases are discounted at the end of the period. With
    ``d = 0`` the sum telescopes to ``margin * s_i * E[X_i(T, T + horizon Delta)]``.
    lifetimes' ``customer_lifetime_value`` is the special case ``horizon_unit="M"`` with a
    30-day month and (for weekly data) 4.345 weeks per month.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
    for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.value import BetaGeoModel, GammaGammaModel, customer_lifetime_value
    >>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    >>> customers = pd.DataFrame({"frequency": [2, 0], "recency": [30.43, 0.0],
    ...                           "T": [38.86, 38.86], "monetary_value": [40.0, 0.0]},
    ...                          index=["c1", "c2"])
    >>> clv = customer_lifetime_value(bg, gg, customers, horizon=12, horizon_unit="M",
    ...                               discount_rate=0.01)
    >>> clv.round(2).to_dict()
    {'c1': 57.62, 'c2': 8.37}
    """
    if not isinstance(transaction_model, TransactionModel):
        raise ValidationError(
            f"{_WHO}: transaction_model must be a crmcore transaction model (e.g. BetaGeoModel); "
            f"got {type(transaction_model).__name__}."
        )
    if not isinstance(spend_model, GammaGammaModel):
        raise ValidationError(
            f"{_WHO}: spend_model must be a GammaGammaModel; got {type(spend_model).__name__}."
        )
    check_param_number("horizon", horizon, who=_WHO, low=1, integer=True)
    check_param_number("discount_rate", discount_rate, who=_WHO, low=0.0)
    check_param_number("margin", margin, who=_WHO, low=0.0, low_inclusive=False)
    period_days = unit_in_days(horizon_unit, name="horizon_unit")
    transaction_model._check_fitted()
    recorded = transaction_model.time_unit_
    if (
        time_unit is not None
        and recorded is not None
        and unit_in_days(time_unit, name="time_unit") != unit_in_days(recorded, name="time_unit_")
    ):
        raise ValidationError(
            f"{_WHO}: time_unit={time_unit!r} but the transaction model was fitted on data in "
            f"{recorded!r} (its time_unit_): recency and T are in {recorded!r}, and valuing them "
            f"as {time_unit!r} scales the horizon wrongly. Hint: leave time_unit out (the "
            "model's unit is used) and give the horizon's unit as horizon_unit.",
            rule="time_unit must be the model's time unit",
        )
    unit = time_unit if time_unit is not None else recorded
    if unit is None:
        raise ValidationError(
            f"{_WHO}: the time unit of the transaction model is unknown (it was fitted on a "
            "frame without attrs['time_unit']). Hint: pass time_unit='D' (or 'W', ...; "
            "model_time_unit before the rename) to say in which unit recency and T are "
            "measured, and horizon_unit for the horizon."
        )
    model_days = unit_in_days(unit, name="time_unit")
    delta = period_days / model_days
    spend = np.asarray(
        spend_model.conditional_expected_average_spend(
            data, frequency_col=frequency_col, monetary_value_col=monetary_value_col
        ),
        dtype=np.float64,
    )
    cols = {"frequency_col": frequency_col, "recency_col": recency_col, "T_col": T_col}
    previous = np.zeros(len(spend))
    value = np.zeros(len(spend))
    for k in range(1, int(horizon) + 1):
        cumulative = np.asarray(
            transaction_model.expected_purchases(data, k * delta, **cols), dtype=np.float64
        )
        # a huge rate discounts to 0 (np.power overflows to inf instead of raising)
        with np.errstate(over="ignore"):
            factor = np.power(1.0 + float(discount_rate), float(k))
        value += (cumulative - previous) / factor
        previous = cumulative
    with np.errstate(over="ignore", invalid="ignore"):
        out = float(margin) * spend * value
    index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(len(out))
    bad = ~np.isfinite(out)
    if bad.any():
        # an intermediate product may overflow when the result does not: retry in logs
        with np.errstate(divide="ignore", over="ignore"):
            out[bad] = np.exp(np.log(float(margin)) + np.log(spend[bad]) + np.log(value[bad]))
        bad = ~np.isfinite(out)
    if bad.any():
        raise ValidationError(
            f"{_WHO}: the lifetime value of {int(bad.sum()):,} of {bad.size:,} customers is "
            f"larger than the largest float (about 1.8e308) and cannot be represented (first "
            f"ids: {format_ids(index[bad])}). Hint: check {monetary_value_col!r} and margin "
            "(amounts near 1e308 are data errors).",
            rule="results must fit in float64",
            count=int(bad.sum()),
            first_ids=first_ids(index[bad]),
        )
    return pd.Series(out, index=index, name="clv")
