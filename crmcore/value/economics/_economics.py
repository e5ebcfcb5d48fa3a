"""Retention economics: margin multiples, constant-retention CLV, retention-profit impact.

Closed-form customer lifetime value under constant retention (Gupta & Lehmann 2003;
Berger & Nasr 1998), with an explicit payment timing, margin growth and a finite horizon;
the Reichheld mechanism of tenure-growing profit and the value of a retention gain under
constant or heterogeneous (shifted-beta-geometric) retention; and the Blattberg & Deighton
(1996) customer-equity test with acquisition and retention response curves.

Everything here is a pure function of numbers (no frames in); results are floats, NumPy
arrays or small pandas objects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_param_choice, check_param_number
from crmcore.exceptions import ConvergenceError, ValidationError

__all__ = [
    "constant_retention_clv",
    "customer_equity",
    "margin_multiple",
    "npv_by_retention",
    "optimal_customer_equity",
    "retention_profit_impact",
    "tenure_profit_profile",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | Sequence[float] | FloatArray
RetentionCurve = Callable[[FloatArray], Any] | Sequence[float] | FloatArray

_TIMINGS = ("start", "end", "just_renewed")


def _df(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """pd.DataFrame with a precise static type (the stubs return Any for some inputs).

    The one copy for :mod:`crmcore.value.economics` (``_migration_chain`` imports it).
    """
    out: pd.DataFrame = pd.DataFrame(*args, **kwargs)
    return out


def _as_float_array(value: Any, name: str, who: str) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{who}: {name} must be numeric; got {value!r}.") from exc
    if np.isnan(arr).any():
        raise ValidationError(f"{who}: {name} contains NaN.")
    return arr


def _check_discount(discount_rate: FloatArray, who: str) -> None:
    if (discount_rate <= -1).any():
        bad = discount_rate[discount_rate <= -1].ravel()[:3]
        raise ValidationError(
            f"{who}: discount_rate must be > -1 (a rate of -100% or less makes the discount "
            f"factor 1/(1+i) undefined or negative); got {', '.join(f'{b:g}' for b in bad)}."
        )


def _check_retention(retention: FloatArray, who: str, name: str = "retention") -> None:
    if ((retention < 0) | (retention > 1)).any():
        bad = retention[(retention < 0) | (retention > 1)].ravel()[:3]
        raise ValidationError(
            f"{who}: {name} must be a probability in [0, 1]; got "
            f"{', '.join(f'{b:g}' for b in bad)}. Hint: pass 0.8, not 80."
        )


def _check_representable(values: Any, who: str, inputs: str) -> None:
    """Raise when a result computed from finite inputs overflowed float64."""
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValidationError(
            f"{who}: the result is beyond the float64 range (about 1.8e308) for "
            f"{int(bad.sum())} of {arr.size} values; check {inputs} (e.g. express money in "
            "thousands)."
        )


def _scalar_or_array(arr: FloatArray) -> float | FloatArray:
    return float(arr) if arr.ndim == 0 else arr


def margin_multiple(retention: ArrayLike, discount_rate: ArrayLike) -> float | FloatArray:
    """Return the Gupta-Lehmann margin multiple r / (1 + i - r).

    The value of a customer who has just paid, per unit of constant per-period margin,
    when the customer stays each period with probability `retention` and cash is
    discounted at `discount_rate` per period (infinite horizon, margin received at the
    start of each future period the customer is retained).

    Parameters
    ----------
    retention : float or array_like
        Per-period retention probability r in [0, 1].
    discount_rate : float or array_like
        Per-period discount rate i > -1. Broadcast against `retention`.

    Returns
    -------
    float or numpy.ndarray
        r / (1 + i - r); a float for scalar input, else an array of the broadcast shape.

    Raises
    ------
    ValidationError
        If r is outside [0, 1], i <= -1, or 1 + i - r <= 0 (the series diverges).

    Notes
    -----
    ``sum_{t>=1} r^t / (1+i)^t = r / (1 + i - r)``. Multiply by the per-period margin to
    get the customer's lifetime value. Equals :func:`constant_retention_clv` with
    ``timing="just_renewed"`` and margin 1.

    References
    ----------
    Gupta, S. & Lehmann, D. R. (2003). Customers as assets. Journal of Interactive
    Marketing 17(1), 9-24 (Table 1: margin multiples).

    Examples
    --------
    >>> round(margin_multiple(0.9, 0.12), 2)
    4.09
    >>> import numpy as np
    >>> np.round(margin_multiple([0.6, 0.7, 0.8], 0.10), 2)
    array([1.2 , 1.75, 2.67])
    """
    who = "margin_multiple"
    r = _as_float_array(retention, "retention", who)
    i = _as_float_array(discount_rate, "discount_rate", who)
    _check_retention(r, who)
    _check_discount(i, who)
    denom = 1.0 + i - r
    if (denom <= 0).any():
        raise ValidationError(
            f"{who}: 1 + discount_rate - retention must be > 0 for the series to converge; "
            "a zero or negative discount rate with retention 1 has no finite value."
        )
    return _scalar_or_array(r / denom)


def constant_retention_clv(
    margin: ArrayLike,
    retention: ArrayLike,
    discount_rate: ArrayLike,
    *,
    timing: str = "start",
    growth: ArrayLike = 0.0,
    horizon: int | None = None,
) -> float | FloatArray:
    """Return the expected lifetime value of one customer under constant retention.

    Parameters
    ----------
    margin : float or array_like
        Margin of the first payment counted (per period, in money).
    retention : float or array_like
        Per-period retention probability r in [0, 1].
    discount_rate : float or array_like
        Per-period discount rate i > -1.
    timing : {"start", "end", "just_renewed"}, default "start"
        When payments happen (see Notes).
    growth : float or array_like, default 0
        Per-period margin growth g: the k-th payment counted is ``margin * (1+g)**k``.
    horizon : int or None, default None
        Number of payments counted (periods); None for an infinite horizon.

    Returns
    -------
    float or numpy.ndarray
        Expected discounted value; arrays broadcast.

    Raises
    ------
    ValidationError
        If r is outside [0, 1], i <= -1, `timing` is unknown, `horizon` < 0, the
        infinite series diverges (r (1+g) >= 1 + i), or the value is beyond the float64
        range (about 1.8e308; the margin multiple is formed first, so a huge margin
        overflows only when the value itself does).

    Notes
    -----
    With q = r (1+g) / (1+i) and H payments (H -> infinity when `horizon` is None):

    * ``"start"``: the customer pays at the start of every period it is active, the first
      payment now (certain, undiscounted): ``CLV = m (1 - q^H) / (1 - q)``; infinite
      horizon ``m (1+i) / (1+i - r(1+g))``.
    * ``"end"``: the customer is active in the current period and pays at its end; later
      periods are paid at their end if retained: ``CLV = start / (1+i)``; infinite horizon
      ``m / (1+i - r(1+g))``.
    * ``"just_renewed"``: the customer has just paid (that payment is sunk and not
      counted); the next payment is due one period from now if the customer renews:
      ``CLV = start * r / (1+i)``; infinite horizon ``m r / (1+i - r(1+g))`` (margin
      multiple times m, Gupta & Lehmann 2003).

    The three differ only in timing, which is the point of Fader & Hardie's note: the
    textbook formula ``m r / (1+i-r)`` silently assumes the "just renewed" case.

    References
    ----------
    Berger, P. D. & Nasr, N. I. (1998). Customer lifetime value: marketing models and
    applications. Journal of Interactive Marketing 12(1), 17-30.
    Gupta, S. & Lehmann, D. R. (2003). Customers as assets. Journal of Interactive
    Marketing 17(1), 9-24.
    Fader, P. S. & Hardie, B. G. S. (2012). "What's wrong with this CLV formula?"
    http://brucehardie.com/notes/024/.

    Examples
    --------
    >>> round(constant_retention_clv(100, 0.8, 0.1, timing="start"), 2)
    366.67
    >>> round(constant_retention_clv(100, 0.8, 0.1, timing="just_renewed"), 2)
    266.67
    >>> round(constant_retention_clv(100, 0.8, 0.1, timing="end", horizon=3), 2)
    205.11
    """
    who = "constant_retention_clv"
    check_param_choice("timing", timing, _TIMINGS, who=who)
    m = _as_float_array(margin, "margin", who)
    r = _as_float_array(retention, "retention", who)
    i = _as_float_array(discount_rate, "discount_rate", who)
    g = _as_float_array(growth, "growth", who)
    _check_retention(r, who)
    _check_discount(i, who)
    if (g <= -1).any():
        raise ValidationError(f"{who}: growth must be > -1; got {g.ravel()[:3]}.")
    q = r * (1.0 + g) / (1.0 + i)
    if horizon is None:
        if (q >= 1).any():
            raise ValidationError(
                f"{who}: the infinite-horizon value diverges when retention*(1+growth) >= "
                "1 + discount_rate. Hint: pass a finite horizon or a higher discount rate."
            )
        geometric = 1.0 / (1.0 - q)
    else:
        check_param_number("horizon", horizon, who=who, low=0, integer=True)
        h = float(horizon)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # (1 - q^h) / (1 - q) = -expm1(h log q) / (1 - q): no cancellation near q = 1
            power_m1 = np.expm1(h * np.log(q)) if h > 0 else np.zeros_like(q)
            geometric = np.where(q == 1.0, h, -power_m1 / np.where(q == 1.0, 1.0, 1.0 - q))
    # the multiple of the margin first, the margin last: no intermediate overflow
    if timing == "start":
        multiple = geometric
    elif timing == "end":
        multiple = geometric / (1.0 + i)
    else:
        multiple = geometric * r / (1.0 + i)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(m * multiple, dtype=np.float64)
    _check_representable(out, who, "margin, growth and horizon")
    return _scalar_or_array(out)


def tenure_profit_profile(
    years: int,
    *,
    base_profit: float,
    growth: float = 0.0,
    cost_savings: float = 0.0,
    referrals: float = 0.0,
    price_premium: float = 0.0,
) -> pd.DataFrame:
    """Return Reichheld's profit-by-tenure profile: base profit plus components that grow.

    Parameters
    ----------
    years : int
        Number of tenure years (rows), >= 1.
    base_profit : float
        Profit per year from a customer's base purchases (constant over tenure).
    growth, cost_savings, referrals, price_premium : float, default 0
        Yearly increments of profit per year of tenure from increased purchases, lower
        operating cost, referrals and price premium. In tenure year t (t = 1, 2, ...)
        each contributes ``increment * (t - 1)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``tenure_year`` 1..years with columns ``base_profit, growth,
        cost_savings, referrals, price_premium, total``; ``total`` is the input of
        :func:`retention_profit_impact`.

    Raises
    ------
    ValidationError
        If `years` < 1, a component is not a finite number, or a profit is beyond the
        float64 range.

    Notes
    -----
    Reichheld & Sasser (1990) decompose the profit a customer generates into the base
    profit and four sources that grow with tenure; the linear form here is the simplest
    profile with that shape. Pass your own vector to :func:`retention_profit_impact` for
    any other shape.

    References
    ----------
    Reichheld, F. F. & Sasser, W. E. (1990). Zero defections: quality comes to services.
    Harvard Business Review 68(5), 105-111.

    Examples
    --------
    >>> profile = tenure_profit_profile(3, base_profit=10, growth=2, referrals=1)
    >>> profile["total"].tolist()
    [10.0, 13.0, 16.0]
    """
    who = "tenure_profit_profile"
    check_param_number("years", years, who=who, low=1, integer=True)
    components = {
        "growth": growth,
        "cost_savings": cost_savings,
        "referrals": referrals,
        "price_premium": price_premium,
    }
    check_param_number("base_profit", base_profit, who=who)
    for name, value in components.items():
        check_param_number(name, value, who=who)
    t = np.arange(1, years + 1, dtype=np.float64)
    data: dict[str, FloatArray] = {"base_profit": np.full(years, float(base_profit))}
    for name, value in components.items():
        with np.errstate(over="ignore"):
            data[name] = float(value) * (t - 1.0)
    frame = _df(data, index=pd.RangeIndex(1, years + 1, name="tenure_year"))
    with np.errstate(over="ignore", invalid="ignore"):
        frame["total"] = frame.sum(axis=1)
    _check_representable(frame.to_numpy(), who, "the profit components and years")
    return frame


def _sbg_retention(alpha: float, beta: float, n: int) -> FloatArray:
    """Retention r_t = (beta + t - 1) / (alpha + beta + t - 1), t = 1..n (Fader & Hardie 2007)."""
    t = np.arange(1, n + 1, dtype=np.float64)
    out: FloatArray = (beta + t - 1.0) / (alpha + beta + t - 1.0)
    return out


def _survival_from_retention(retention: FloatArray) -> FloatArray:
    """Probability of being a customer in tenure year t = 1..n given r_1..r_{n-1}."""
    n = retention.shape[-1]
    surv = np.ones((*retention.shape[:-1], n), dtype=np.float64)
    if n > 1:
        surv[..., 1:] = np.cumprod(retention[..., : n - 1], axis=-1)
    return surv


def _npv(
    profit: FloatArray, survival: FloatArray, discount_rate: float, acquisition_cost: float
) -> FloatArray:
    t = np.arange(1, profit.shape[0] + 1, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        disc = np.power(1.0 + discount_rate, -t)
        # summed on a scaled profit vector: no intermediate overflow for huge amounts
        scale = float(np.max(np.abs(profit))) or 1.0
        total = scale * (survival * (profit / scale) * disc).sum(axis=-1) - acquisition_cost
    return cast(FloatArray, total)


def _profit_vector(profit_by_tenure: Any, who: str) -> FloatArray:
    if isinstance(profit_by_tenure, pd.DataFrame):
        if "total" not in profit_by_tenure.columns:
            raise ValidationError(
                f"{who}: a profit-by-tenure frame needs a 'total' column (as returned by "
                "tenure_profit_profile); pass a Series or array otherwise."
            )
        profit_by_tenure = profit_by_tenure["total"]
    profit = _as_float_array(profit_by_tenure, "profit_by_tenure", who)
    if profit.ndim != 1 or profit.size == 0:
        raise ValidationError(
            f"{who}: profit_by_tenure must be a non-empty 1-d vector (profit in tenure "
            f"year 1, 2, ...); got shape {profit.shape}."
        )
    if not np.isfinite(profit).all():
        raise ValidationError(f"{who}: profit_by_tenure must be finite.")
    return profit


def npv_by_retention(
    profit_by_tenure: Any,
    retention: ArrayLike,
    *,
    discount_rate: float,
    acquisition_cost: float = 0.0,
) -> pd.Series:
    """Return the NPV of a newly acquired customer for each constant retention rate.

    Parameters
    ----------
    profit_by_tenure : array_like, pandas.Series or DataFrame
        Profit in tenure year 1, 2, ..., H (a frame from :func:`tenure_profit_profile`
        is read from its ``total`` column). Profit after year H is zero.
    retention : float or array_like
        Constant yearly retention rates to evaluate.
    discount_rate : float
        Yearly discount rate (> -1).
    acquisition_cost : float, default 0
        Spent at time 0 and subtracted.

    Returns
    -------
    pandas.Series
        NPV indexed by ``retention``, named ``npv_per_customer``.

    Raises
    ------
    ValidationError
        On bad rates, a retention array that is not 1-d, an empty profit vector, or an
        NPV beyond the float64 range (the sum itself is formed on a scaled vector).

    Notes
    -----
    ``NPV(r) = -AC + sum_{t=1}^{H} profit_t r^(t-1) / (1+d)^t``: the customer is active in
    year 1 with certainty, and each year's profit is received at its end.

    References
    ----------
    Reichheld, F. F. & Sasser, W. E. (1990). Zero defections. HBR 68(5), 105-111.

    Examples
    --------
    >>> npv = npv_by_retention([10.0, 10.0], [0.5, 1.0], discount_rate=0.0)
    >>> npv.tolist()
    [15.0, 20.0]
    """
    who = "npv_by_retention"
    profit = _profit_vector(profit_by_tenure, who)
    r = np.atleast_1d(_as_float_array(retention, "retention", who))
    if r.ndim != 1:
        raise ValidationError(
            f"{who}: retention must be a number or a 1-d sequence of rates; got an array of "
            f"shape {r.shape}."
        )
    _check_retention(r, who)
    check_param_number("discount_rate", discount_rate, who=who, low=-1, low_inclusive=False)
    check_param_number("acquisition_cost", acquisition_cost, who=who)
    n = profit.shape[0]
    surv = np.power(r[:, None], np.arange(n, dtype=np.float64)[None, :])
    values = _npv(profit, surv, float(discount_rate), float(acquisition_cost))
    _check_representable(values, who, "profit_by_tenure, discount_rate and acquisition_cost")
    return pd.Series(values, index=pd.Index(r, name="retention"), name="npv_per_customer")


def retention_profit_impact(
    profit_by_tenure: Any,
    *,
    discount_rate: float,
    retention: float | None = None,
    sbg_params: tuple[float, float] | None = None,
    retention_curve: RetentionCurve | None = None,
    retention_change: float = 0.05,
    acquisition_cost: float = 0.0,
    customers: float = 1.0,
) -> pd.DataFrame:
    """Return the change in NPV per customer and in customer equity from a retention gain.

    Exactly one retention model is given: a constant `retention`, shifted-beta-geometric
    `sbg_params` ``(alpha, beta)``, or a caller's `retention_curve`.

    Parameters
    ----------
    profit_by_tenure : array_like, pandas.Series or DataFrame
        Profit in tenure year 1..H (e.g. :func:`tenure_profit_profile`; its ``total``
        column is used). Profit after year H is zero.
    discount_rate : float
        Yearly discount rate (> -1).
    retention : float, optional
        Constant yearly retention r; the scenario uses ``r + retention_change``.
    sbg_params : (float, float), optional
        (alpha, beta) of an sBG model; retention in year t is
        ``r_t = (beta + t - 1) / (alpha + beta + t - 1)``. The scenario moves the mean
        first-year retention ``beta / (alpha + beta)`` by `retention_change` keeping
        ``alpha + beta`` (the polarisation of the churn probabilities) fixed.
    retention_curve : callable or array_like, optional
        Renewal probabilities r_1, r_2, ... (r_t = probability that a customer of year t
        stays into year t + 1); a callable receives ``t = 1..H-1`` as a float array. The
        scenario adds `retention_change` to every r_t (clipped to [0, 1]).
    retention_change : float, default 0.05
        Points of retention added (0.05 = five points); may be negative.
    acquisition_cost : float, default 0
        Acquisition cost per customer at time 0.
    customers : float, default 1
        Number of newly acquired customers whose equity is valued.

    Returns
    -------
    pandas.DataFrame
        Index ``baseline, scenario, change, relative_change``; columns
        ``first_year_retention`` (r_1), ``expected_tenure`` (expected years within the
        horizon, sum of survival), ``npv_per_customer`` and ``customer_equity``
        (= customers * npv). ``change`` = scenario - baseline; ``relative_change`` =
        change / |baseline| (NaN where the baseline is 0).

    Raises
    ------
    ValidationError
        If not exactly one retention model is given, a probability or parameter is out
        of range, the scenario retention leaves [0, 1] (constant or sBG case), or a
        value is beyond the float64 range.

    Notes
    -----
    ``NPV = -AC + sum_{t=1}^{H} profit_t S(t) / (1+d)^t`` with ``S(1) = 1`` and
    ``S(t) = r_1 ... r_{t-1}``. Under heterogeneous retention the aggregate retention
    rises with tenure (sorting), so a retention gain is worth a different amount than
    under constant retention with the same first-year rate (Fader & Hardie 2010).

    References
    ----------
    Reichheld, F. F. & Sasser, W. E. (1990). Zero defections: quality comes to services.
    Harvard Business Review 68(5), 105-111.
    Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. Journal of
    Interactive Marketing 21(1), 76-90.

    Examples
    --------
    >>> impact = retention_profit_impact([10.0] * 20, retention=0.90, discount_rate=0.1)
    >>> round(float(impact.loc["relative_change", "npv_per_customer"]), 3)
    0.286
    """
    who = "retention_profit_impact"
    profit = _profit_vector(profit_by_tenure, who)
    check_param_number("discount_rate", discount_rate, who=who, low=-1, low_inclusive=False)
    check_param_number("retention_change", retention_change, who=who, low=-1, high=1)
    check_param_number("acquisition_cost", acquisition_cost, who=who)
    check_param_number("customers", customers, who=who, low=0)
    given = [x is not None for x in (retention, sbg_params, retention_curve)]
    if sum(given) != 1:
        raise ValidationError(
            f"{who}: give exactly one retention model: retention=, sbg_params=(alpha, beta) "
            f"or retention_curve=; got {sum(given)}."
        )
    n = profit.shape[0]
    steps = max(n - 1, 1)
    if retention is not None:
        check_param_number("retention", retention, who=who, low=0, high=1)
        new = float(retention) + float(retention_change)
        if not 0 <= new <= 1:
            raise ValidationError(
                f"{who}: retention + retention_change = {new:g} is outside [0, 1]."
            )
        base = np.full(steps, float(retention))
        scen = np.full(steps, new)
    elif sbg_params is not None:
        if len(sbg_params) != 2:
            raise ValidationError(f"{who}: sbg_params must be (alpha, beta).")
        alpha, beta = (float(v) for v in sbg_params)
        check_param_number("alpha", alpha, who=who, low=0, low_inclusive=False)
        check_param_number("beta", beta, who=who, low=0, low_inclusive=False)
        kappa = alpha + beta
        mean_r = beta / kappa + float(retention_change)
        if not 0 < mean_r < 1:
            raise ValidationError(
                f"{who}: the scenario's mean first-year retention beta/(alpha+beta) + "
                f"retention_change = {mean_r:g} must be in (0, 1)."
            )
        base = _sbg_retention(alpha, beta, steps)
        scen = _sbg_retention(kappa * (1.0 - mean_r), kappa * mean_r, steps)
    else:
        t = np.arange(1, steps + 1, dtype=np.float64)
        raw = retention_curve(t) if callable(retention_curve) else retention_curve
        base = _as_float_array(raw, "retention_curve", who).ravel()
        if base.shape[0] < steps:
            raise ValidationError(
                f"{who}: retention_curve has {base.shape[0]} values; {steps} are needed "
                f"(r_1..r_{{H-1}} for a {n}-year profit vector)."
            )
        base = base[:steps]
        _check_retention(base, who, "retention_curve")
        scen = np.clip(base + float(retention_change), 0.0, 1.0)
    rows = []
    for curve in (base, scen):
        surv = _survival_from_retention(np.concatenate([curve[: n - 1], [0.0]]))[:n]
        npv = float(_npv(profit, surv, float(discount_rate), float(acquisition_cost)))
        rows.append(
            {
                "first_year_retention": float(curve[0]),
                "expected_tenure": float(surv.sum()),
                "npv_per_customer": npv,
                "customer_equity": float(customers) * npv,
            }
        )
    frame = _df(rows, index=["baseline", "scenario"])
    with np.errstate(over="ignore", invalid="ignore"):
        change = frame.loc["scenario"] - frame.loc["baseline"]
    _check_representable(
        np.concatenate([frame.to_numpy().ravel(), change.to_numpy()]),
        who,
        "profit_by_tenure, discount_rate, acquisition_cost and customers",
    )
    denom = frame.loc["baseline"].abs().replace(0.0, np.nan)
    frame.loc["change"] = change
    frame.loc["relative_change"] = change / denom
    return frame


# --- Blattberg & Deighton customer equity --------------------------------------------


def _check_bd(
    margin: float,
    acquisition_ceiling: float,
    acquisition_k: float,
    retention_ceiling: float,
    retention_k: float,
    discount_rate: float,
    who: str,
) -> tuple[float, float, float, float, float, float]:
    """Check the Blattberg-Deighton inputs; return them as floats, in the order given."""
    check_param_number("margin", margin, who=who)
    check_param_number(
        "acquisition_ceiling", acquisition_ceiling, who=who, low=0, high=1, low_inclusive=False
    )
    check_param_number("acquisition_k", acquisition_k, who=who, low=0, low_inclusive=False)
    check_param_number(
        "retention_ceiling", retention_ceiling, who=who, low=0, high=1, low_inclusive=False
    )
    check_param_number("retention_k", retention_k, who=who, low=0, low_inclusive=False)
    check_param_number("discount_rate", discount_rate, who=who, low=-1, low_inclusive=False)
    if retention_ceiling >= 1.0 + discount_rate:
        raise ValidationError(
            f"{who}: retention_ceiling must be < 1 + discount_rate for customer equity to be "
            f"finite; got {retention_ceiling:g} and {discount_rate:g}."
        )
    return (
        float(margin),
        float(acquisition_ceiling),
        float(acquisition_k),
        float(retention_ceiling),
        float(retention_k),
        float(discount_rate),
    )


def _bd_value(
    a_spend: float,
    r_spend: float,
    margin: float,
    ca: float,
    ka: float,
    cr: float,
    kr: float,
    d: float,
) -> tuple[float, float, float, float, float]:
    """Return (CE, dCE/dA, dCE/dR, a, r)."""
    ea = math.exp(-ka * a_spend)
    er = math.exp(-kr * r_spend)
    a = -ca * math.expm1(-ka * a_spend)  # ca (1 - ea), accurate for a tiny k * spend
    r = -cr * math.expm1(-kr * r_spend)
    denom = 1.0 + d - r
    # V = m + (m r - R) / denom, every product formed so that it overflows only when the
    # quantity itself does (a huge margin, spend or discount rate)
    surplus = margin * r - r_spend
    value = margin + surplus / denom
    ce = a * margin + (a / denom) * surplus - a_spend
    da = ca * ka * ea
    dr = cr * kr * er
    dvalue = (margin * dr - 1.0) / denom + (surplus / denom) * (dr / denom)
    return ce, da * value - 1.0, a * dvalue, a, r


def customer_equity(
    acquisition_spend: float,
    retention_spend: float,
    *,
    margin: float,
    acquisition_ceiling: float,
    acquisition_k: float,
    retention_ceiling: float,
    retention_k: float,
    discount_rate: float,
) -> float:
    """Return Blattberg & Deighton's customer equity per prospect.

    Parameters
    ----------
    acquisition_spend : float
        A, acquisition spending per prospect (>= 0).
    retention_spend : float
        R, retention spending per customer per period (>= 0).
    margin : float
        m, margin per customer per period.
    acquisition_ceiling, acquisition_k : float
        Acquisition response ``a = ceiling * (1 - exp(-k A))``; ceiling in (0, 1], k > 0.
    retention_ceiling, retention_k : float
        Retention response ``r = ceiling * (1 - exp(-k R))``; ceiling in (0, 1], k > 0.
    discount_rate : float
        d per period; ``retention_ceiling < 1 + d`` is required.

    Returns
    -------
    float
        ``CE = a m - A + a (m - R/r) r'/(1 - r')`` with ``r' = r / (1 + d)``.

    Raises
    ------
    ValidationError
        If a parameter is out of range, a spend is negative, or the equity is beyond the
        float64 range.

    Notes
    -----
    The prospect is acquired with probability a and yields m in the first period; each
    later period the customer is retained with probability r and yields m - R/r per
    retained customer (the retention budget R is spent on every customer, i.e. R/r per
    retained one). Computed as ``a [m + (m r - R)/(1 + d - r)] - A``, the same formula
    without the 0/0 at R = 0.

    References
    ----------
    Blattberg, R. C. & Deighton, J. (1996). Manage marketing by the customer equity test.
    Harvard Business Review 74(4), 136-144.

    Examples
    --------
    >>> round(customer_equity(10, 20, margin=100, acquisition_ceiling=0.5,
    ...     acquisition_k=0.1, retention_ceiling=0.8, retention_k=0.05,
    ...     discount_rate=0.15), 3)
    36.602
    """
    who = "customer_equity"
    params = _check_bd(
        margin,
        acquisition_ceiling,
        acquisition_k,
        retention_ceiling,
        retention_k,
        discount_rate,
        who,
    )
    check_param_number("acquisition_spend", acquisition_spend, who=who, low=0)
    check_param_number("retention_spend", retention_spend, who=who, low=0)
    ce = _bd_value(float(acquisition_spend), float(retention_spend), *params)[0]
    _check_representable(ce, who, "margin and the spends")
    return ce


def optimal_customer_equity(
    *,
    margin: float,
    acquisition_ceiling: float,
    acquisition_k: float,
    retention_ceiling: float,
    retention_k: float,
    discount_rate: float,
) -> pd.Series:
    """Return the acquisition and retention spend that maximise customer equity.

    Parameters
    ----------
    margin, acquisition_ceiling, acquisition_k, retention_ceiling, retention_k, discount_rate
        As in :func:`customer_equity`.

    Returns
    -------
    pandas.Series
        ``acquisition_spend, retention_spend, acquisition_rate, retention_rate,
        customer_equity, gradient_norm`` at the optimum.

    Raises
    ------
    ValidationError
        If a parameter is out of range or the optimal equity is beyond the float64 range.
    ConvergenceError
        If the search fails.

    Notes
    -----
    Because ``CE = a(A) V(R) - A``, the optimal R maximises the per-customer value V and
    the optimal A then solves ``a'(A) V = 1``, i.e. ``A* = ln(c_a k_a V*) / k_a`` (0 if
    negative), evaluated in log form. V(0) = m and a spend with ``m r(R) < R`` gives
    ``V < m``, so R* lies in ``[0, m c_r]``; R is searched there as ``x m c_r`` on the
    scale-free ``V / m`` (bounded Brent search, then Newton steps on the analytic
    derivative), so huge or tiny margins and response constants neither overflow nor
    stall the search. A result beyond the float64 range is a ValidationError.

    References
    ----------
    Blattberg, R. C. & Deighton, J. (1996). Manage marketing by the customer equity test.
    Harvard Business Review 74(4), 136-144.

    Examples
    --------
    >>> best = optimal_customer_equity(margin=100, acquisition_ceiling=0.5,
    ...     acquisition_k=0.1, retention_ceiling=0.8, retention_k=0.05, discount_rate=0.15)
    >>> round(float(best["retention_spend"]), 2), round(float(best["acquisition_spend"]), 2)
    (37.61, 21.04)
    """
    from scipy.optimize import minimize_scalar

    who = "optimal_customer_equity"
    m, ca, ka, cr, kr, d = _check_bd(
        margin,
        acquisition_ceiling,
        acquisition_k,
        retention_ceiling,
        retention_k,
        discount_rate,
        who,
    )
    # Stage 1: R* maximises V(R). V(0) = m and any R with m r(R) - R < 0 gives V < m, so
    # R* lies in [0, m c_r] (R* = 0 when m <= 0). With R = x m c_r, V / m is scale free:
    # f(x) = 1 + c_r (rho - x) / (1 + d - c_r rho), rho = 1 - exp(-k_r m c_r x).
    r_max = m * cr if m > 0 else 0.0
    log_scale = math.log(kr) + math.log(r_max) if r_max > 0 else -math.inf

    def rho(x: float) -> float:
        return -math.expm1(-kr * r_max * x)

    def f(x: float) -> float:
        q = rho(x)
        return 1.0 + cr * (q - x) / (1.0 + d - cr * q)

    def f_prime(x: float) -> float:
        q = rho(x)
        dq = math.exp(min(log_scale - kr * r_max * x, 700.0))
        denom = 1.0 + d - cr * q
        return cr * ((dq - 1.0) * denom + (q - x) * cr * dq) / (denom * denom)

    x = 0.0
    if r_max > 0:
        found = minimize_scalar(
            lambda v: -f(v), bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-14}
        )
        x = float(found.x)
        for _ in range(4):  # Newton polish on f' (Brent stops near sqrt(eps) relative)
            h = 1e-6 * max(x, 1e-12)
            curvature = (f_prime(x + h) - f_prime(x - h)) / (2 * h) if x > h else 0.0
            if not curvature < 0:
                break
            step = x - f_prime(x) / curvature
            if not 0.0 < step < 1.0 or f(step) < f(x):
                break
            x = step
        if f(x) < f(0.0):
            x = 0.0
    f_star = f(x)
    if not math.isfinite(f_star):
        raise ConvergenceError(f"{who}: the retention-spend search failed (V/m = {f_star}).")
    r_spend = x * r_max
    r = cr * rho(x)
    # Stage 2: a'(A) V = 1, A* = ln(c_a k_a V*) / k_a in log form (0 if negative)
    if m > 0:
        log_v = math.log(m) + math.log(f_star)
        log_gain = math.log(ca) + math.log(ka) + log_v
        a_spend = log_gain / ka if log_gain > 0 else 0.0
        ga = math.expm1(min(log_gain - ka * a_spend, 700.0))  # a'(A) V - 1
    else:
        a_spend, ga = 0.0, -1.0
    a = -ca * math.expm1(-ka * a_spend)
    with np.errstate(over="ignore"):
        ce = float(np.float64(a * f_star) * m - a_spend)
    gr = a * f_prime(x) / cr if m > 0 else -1.0  # dCE/dR = a m f'(x) / (m c_r)
    # projected gradient: a component at a bound with the gradient pointing outward is 0
    grad = np.array([ga, gr])
    at_bound = np.array([a_spend <= 0.0, r_spend <= 0.0]) & (grad < 0)
    grad[at_bound] = 0.0
    optimum: pd.Series = pd.Series(
        {
            "acquisition_spend": a_spend,
            "retention_spend": r_spend,
            "acquisition_rate": a,
            "retention_rate": r,
            "customer_equity": ce,
            "gradient_norm": float(np.linalg.norm(grad)),
        },
        name="optimum",
    )
    _check_representable(optimum.to_numpy(), who, "margin")
    return optimum
