"""Discounted expected lifetime (DEL), residual lifetime (DERL) and customer-base value.

Contractual setting (Fader & Hardie 2010): a customer pays at the start of every contract
period she is still a customer; future payments are discounted at ``discount_rate`` per
period. Under the shifted-beta-geometric (sBG) model both quantities have closed forms in
the Gaussian hypergeometric function 2F1(1, b; c; z) with z = 1 / (1 + discount_rate).
scipy's ``hyp2f1`` loses accuracy or returns NaN when b and c are large (beta of 1e5 and
up), so 2F1 comes from the package's one hypergeometric routine (``_special.hyp2f1_a1``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_param_number
from crmcore.exceptions import ValidationError
from crmcore.value._special import hyp2f1_a1
from crmcore.value.retention._survivors import parse_survivors

__all__ = [
    "aggregate_retention_residual_value",
    "customer_base_residual_value",
    "discounted_expected_lifetime",
    "discounted_expected_residual_lifetime",
]

FloatArray = npt.NDArray[np.float64]


def _check_positive(name: str, value: Any, *, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a number in the range (0, inf). "
            f"Got {value!r} instead."
        )
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a number in the range (0, inf). "
            f"Got {value!r} instead."
        )
    return v


def _check_discount_factor(d: float, *, who: str) -> None:
    """Refuse a positive rate so small that 1 / (1 + d) rounds to 1 in float64."""
    if d > 0.0 and 1.0 / (1.0 + d) == 1.0:
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be 0 or at least about 1e-16 (the "
            f"discount factor 1 / (1 + rate) rounds to 1 in float64 below that). Got {d!r} "
            "instead."
        )


def _check_sbg_pair(a: float, b: float, *, who: str) -> None:
    """Refuse sBG parameters whose sum alpha + beta is not resolved in float64."""
    total = a + b
    if not (math.isfinite(total) and total > a and total > b):
        raise ValidationError(
            f"{who}: alpha={a!r} and beta={b!r} are too far apart in scale (alpha + beta "
            "rounds to one of them in float64), so the churn distribution Beta(alpha, beta) "
            "cannot be evaluated. Hint: check the units of the parameters."
        )


def _check_finite_value(values: FloatArray, labels: list[Any], *, who: str) -> None:
    """Raise when a residual value overflows float64 (the true value is not representable)."""
    bad = ~np.isfinite(values)
    if bad.any():
        from crmcore._validation import format_ids

        raise ValidationError(
            f"{who}: the residual value of {int(bad.sum())} of {bad.size} cohorts is beyond "
            f"the float64 range (first cohorts: {format_ids(np.asarray(labels, dtype=object)[bad])}"
            "). Hint: express the margin in larger units (thousands) or check the counts."
        )


def check_discount_rate(value: Any, *, who: str, allow_zero: bool = True) -> float:
    """Validate a per-period discount rate and return it as a float.

    Raises
    ------
    ValidationError
        If the rate is not a finite number, is <= -1 (1 + rate must be positive) or is
        negative (a negative rate makes every discounted lifetime infinite).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be a number in the range [0, inf). "
            f"Got {value!r} instead."
        )
    d = float(value)
    if math.isnan(d) or math.isinf(d):
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be a finite number. Got {value!r} "
            "instead."
        )
    if d <= -1.0:
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be > -1 (the discount factor "
            f"1 / (1 + rate) needs 1 + rate > 0). Got {value!r} instead. Hint: pass 10% per "
            "period as 0.1, not 10."
        )
    if d == 0.0 and not allow_zero:
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be > 0 for this model (the "
            "undiscounted lifetime has no closed form and may be infinite). Got 0 instead."
        )
    if d < 0.0:
        raise ValidationError(
            f"The 'discount_rate' parameter of {who} must be >= 0; with a negative rate "
            f"every discounted lifetime is infinite. Got {value!r} instead."
        )
    return d


def check_renewals(value: Any, *, who: str) -> int:
    """Validate a number of renewals (an int >= 0)."""
    check_param_number("renewals", value, who=who, low=0, integer=True)
    return int(value)


def _sbg_inputs(
    alpha: Any,
    beta: Any,
    discount_rate: Any,
    *,
    who: str,
    renewals: Any = None,
    residual: bool = False,
) -> tuple[float, float, float, int]:
    """Check the sBG parameters, the discount rate and (``residual=True``) the renewals.

    Returns alpha, beta, the rate and the renewals (0 unless `residual`) as numbers. The
    checks run in the order of the arguments; then alpha + beta (beta shifted by
    ``renewals + 1`` for the residual lifetime) must be resolved in float64 and
    1 / (1 + rate) must differ from 1.
    """
    a = _check_positive("alpha", alpha, who=who)
    b = _check_positive("beta", beta, who=who)
    d = check_discount_rate(discount_rate, who=who)
    n = check_renewals(renewals, who=who) if residual else 0
    _check_sbg_pair(a, b + n + 1.0 if residual else b, who=who)
    _check_discount_factor(d, who=who)
    return a, b, d, n


def hyp2f1_one(b: float, c: float, z: float) -> float:
    """Return 2F1(1, b; c; z) for c > b > 0 and 0 <= z < 1.

    Evaluated by the shared routine :func:`crmcore.value._special.hyp2f1_a1` (power
    series with a bounded remainder up to z = 0.9, the trapezoidal rule on Euler's
    integral above; relative error below 1e-13), so large b and c (1e6 and more) and z
    close to 1 neither overflow nor lose accuracy.

    Examples
    --------
    >>> round(hyp2f1_one(1.0, 2.0, 0.5), 12)  # -log(1 - z) / z
    1.386294361120
    """
    if not (c > b > 0.0) or not (0.0 <= z < 1.0):
        raise ValueError("hyp2f1_one needs c > b > 0 and 0 <= z < 1")
    return float(hyp2f1_a1(b, c, z)[()])


def discounted_expected_lifetime(alpha: float, beta: float, discount_rate: float) -> float:
    """Discounted expected lifetime (DEL) of a new sBG customer who pays now.

    Parameters
    ----------
    alpha, beta : float
        sBG parameters (> 0): the churn probability theta of a customer is
        Beta(alpha, beta) distributed across customers.
    discount_rate : float
        Per-period discount rate d >= 0 (0.1 for 10% per contract period).

    Returns
    -------
    float
        DEL = sum_{t>=0} S(t) / (1 + d)^t, in payments (multiply by the margin per period
        to get expected CLV). Always >= 1: the first payment is certain.

    Raises
    ------
    ValidationError
        If a parameter is not positive, the discount rate is <= -1 or negative, or d = 0
        with alpha <= 1 (the undiscounted expected lifetime is then infinite).

    Notes
    -----
    DEL(d | alpha, beta) = 2F1(1, beta; alpha + beta; 1 / (1 + d)) (Fader & Hardie 2010,
    eq. 4), summed by :func:`hyp2f1_one`. At d = 0 and alpha > 1,
    DEL = E[1 / theta] = (alpha + beta - 1) / (alpha - 1).

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

    Examples
    --------
    >>> round(discounted_expected_lifetime(3.80, 15.20, 0.1), 3)  # FH 2010 case 1
    4.009
    """
    who = "discounted_expected_lifetime"
    a, b, d, _ = _sbg_inputs(alpha, beta, discount_rate, who=who)
    if d == 0.0:
        if a <= 1.0:
            raise ValidationError(
                f"{who}: with discount_rate=0 the expected lifetime is infinite unless "
                f"alpha > 1; got alpha={a:g}. Hint: use a positive discount rate."
            )
        return (a + b - 1.0) / (a - 1.0)
    return hyp2f1_one(b, a + b, 1.0 / (1.0 + d))


def discounted_expected_residual_lifetime(
    alpha: float, beta: float, discount_rate: float, renewals: int
) -> float:
    """Discounted expected residual lifetime (DERL) of an sBG customer after `renewals`.

    Parameters
    ----------
    alpha, beta : float
        sBG parameters (> 0).
    discount_rate : float
        Per-period discount rate d >= 0.
    renewals : int
        Renewals the customer has made so far (0 for a customer acquired this period).

    Returns
    -------
    float
        Expected number of further (discounted) payments, standing just before the
        customer's next renewal decision, the next payment undiscounted. It can be below
        1: the next renewal is not certain.

    Raises
    ------
    ValidationError
        On a non-positive parameter, a discount rate <= -1 or negative, a negative or
        non-integer number of renewals, or d = 0 with alpha <= 1.

    Notes
    -----
    With n = renewals, DERL = sum_{k>=0} S(n + 1 + k) / S(n) / (1 + d)^k
    = (beta + n) / (alpha + beta + n) * 2F1(1, beta + n + 1; alpha + beta + n + 1;
    1 / (1 + d)) (Fader & Hardie 2010, eq. 6, with their n - 1 renewals written n here).
    DEL = 1 + DERL(renewals=0) / (1 + d). At d = 0 and alpha > 1,
    DERL = (beta + n) / (alpha - 1).

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

    Examples
    --------
    >>> round(discounted_expected_residual_lifetime(3.80, 15.20, 0.1, renewals=4), 2)
    3.84
    """
    who = "discounted_expected_residual_lifetime"
    a, b, d, n = _sbg_inputs(alpha, beta, discount_rate, who=who, renewals=renewals, residual=True)
    if d == 0.0:
        if a <= 1.0:
            raise ValidationError(
                f"{who}: with discount_rate=0 the expected residual lifetime is infinite "
                f"unless alpha > 1; got alpha={a:g}. Hint: use a positive discount rate."
            )
        return (b + n) / (a - 1.0)
    return (b + n) / (a + b + n) * hyp2f1_one(b + n + 1.0, a + b + n + 1.0, 1.0 / (1.0 + d))


def _last_counts(
    table: Any, *, who: str, layout: str
) -> tuple[list[Any], FloatArray, FloatArray, list[int]]:
    """Cohort labels, current survivors, previous-period survivors (NaN if new), renewals."""
    labels, counts = parse_survivors(table, who=who, layout=layout)
    current = np.array([c[-1] for c in counts], dtype=np.float64)
    previous = np.array([c[-2] if len(c) > 1 else np.nan for c in counts], dtype=np.float64)
    renewals = [len(c) - 1 for c in counts]
    return labels, current, previous, renewals


def _check_margin(margin: Any, *, who: str) -> float:
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
        raise ValidationError(
            f"The 'margin' parameter of {who} must be a finite number. Got {margin!r} instead."
        )
    m = float(margin)
    if not math.isfinite(m):
        raise ValidationError(
            f"The 'margin' parameter of {who} must be a finite number. Got {margin!r} instead."
        )
    return m


def residual_value_by_cohort(
    survivors: Any,
    derl_after: Callable[[int], float],
    *,
    margin: float,
    who: str,
    layout: str,
) -> pd.DataFrame:
    """Residual value by cohort: survivors x DERL(renewals) x margin (the one cohort loop).

    Used by :func:`customer_base_residual_value` (closed-form sBG DERL) and by the fitted
    models' ``residual_value`` (DERL of the model), so both value a table the same way.

    Parameters
    ----------
    survivors : sequence, list of sequences or DataFrame
        Survivor counts per cohort (see :func:`customer_base_residual_value`).
    derl_after : callable
        ``derl_after(n)`` is the discounted expected residual lifetime after ``n`` renewals;
        it is called once per distinct number of renewals.
    margin : float
        Validated net cash flow per customer per period.
    who : str
        Name of the public caller, for error messages.
    layout : {"age", "calendar"}
        Column layout of a DataFrame input.

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort, columns ``survivors``, ``renewals``, ``derl`` and
        ``residual_value``.

    Raises
    ------
    ValidationError
        On invalid survivor counts, or when a value is beyond the float64 range.
    """
    labels, current, _, renewals = _last_counts(survivors, who=who, layout=layout)
    cache: dict[int, float] = {}
    derl = np.empty(len(labels), dtype=np.float64)
    for i, n in enumerate(renewals):
        if n not in cache:
            cache[n] = derl_after(n)
        derl[i] = cache[n]
    with np.errstate(over="ignore"):
        value = current * derl * margin
    _check_finite_value(value, labels, who=who)
    frame: pd.DataFrame = pd.DataFrame(
        {
            "survivors": current,
            "renewals": np.asarray(renewals, dtype=np.int64),
            "derl": derl,
            "residual_value": value,
        },
        index=pd.Index(labels, name="cohort"),
    )
    return frame


def customer_base_residual_value(
    survivors: Any,
    *,
    alpha: float,
    beta: float,
    discount_rate: float,
    margin: float = 1.0,
    layout: str = "age",
) -> pd.DataFrame:
    """Residual value of a customer base under the sBG model, by cohort.

    Parameters
    ----------
    survivors : sequence, list of sequences or DataFrame
        Survivor counts per cohort, as accepted by :meth:`ShiftedBetaGeoModel.fit`: every
        cohort is observed up to now, so its last count is its current number of
        customers and its number of counts minus one is the renewals they have made.
    alpha, beta : float
        sBG parameters.
    discount_rate : float
        Per-period discount rate d >= 0.
    margin : float, default 1.0
        Net cash flow per customer per period (payments at each renewal).
    layout : {"age", "calendar"}, default "age"
        Column layout of a DataFrame input (see :meth:`ShiftedBetaGeoModel.fit`).

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort, columns ``survivors``, ``renewals``, ``derl`` and
        ``residual_value`` = survivors x DERL(d, renewals) x margin.

    Raises
    ------
    ValidationError
        On invalid survivor counts (see :meth:`ShiftedBetaGeoModel.fit`) or parameters.

    Notes
    -----
    The value is taken just before each cohort's next renewal decision: the next payment
    is undiscounted but uncertain (Fader & Hardie 2010, eq. 6).

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

    Examples
    --------
    >>> rv = customer_base_residual_value(
    ...     [[1000, 631, 468], [1000, 631], [1000]], alpha=0.704, beta=1.182,
    ...     discount_rate=0.1, margin=100.0)
    >>> rv["renewals"].tolist()
    [2, 1, 0]
    >>> round(float(rv["residual_value"].sum()))
    783317
    """
    who = "customer_base_residual_value"
    a, b, d, _ = _sbg_inputs(alpha, beta, discount_rate, who=who)
    m = _check_margin(margin, who=who)
    return residual_value_by_cohort(
        survivors,
        lambda n: discounted_expected_residual_lifetime(a, b, d, n),
        margin=m,
        who=who,
        layout=layout,
    )


def aggregate_retention_residual_value(
    survivors: Any,
    *,
    discount_rate: float,
    margin: float = 1.0,
    layout: str = "age",
) -> pd.DataFrame:
    """Residual value of a customer base under one constant aggregate retention rate.

    This is the "textbook" valuation that Fader & Hardie (2010) show to be biased
    downwards: the retention rate r is the share of last period's customers (of every
    cohort acquired before the current period) still active now, and every current
    customer is valued at r (1 + d) / (1 + d - r) further payments.

    Parameters
    ----------
    survivors : sequence, list of sequences or DataFrame
        Survivor counts per cohort (see :func:`customer_base_residual_value`).
    discount_rate : float
        Per-period discount rate d >= 0.
    margin : float, default 1.0
        Net cash flow per customer per period.
    layout : {"age", "calendar"}, default "age"
        Column layout of a DataFrame input.

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort, columns ``survivors``, ``retention_rate`` (the aggregate rate,
        the same on every row), ``derl`` and ``residual_value``. The rate is also in
        ``attrs["aggregate_retention_rate"]``.

    Raises
    ------
    ValidationError
        On invalid counts, or when no cohort has been observed over a renewal.

    Notes
    -----
    Constant retention r with the next payment undiscounted but uncertain gives
    DERL = sum_{k>=0} r^{k+1} / (1 + d)^k = r (1 + d) / (1 + d - r), the same timing as
    :func:`discounted_expected_residual_lifetime`.

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

    Examples
    --------
    >>> rv = aggregate_retention_residual_value(
    ...     [[1000, 631, 468], [1000, 631], [1000]], discount_rate=0.1, margin=100.0)
    >>> round(rv.attrs["aggregate_retention_rate"], 4)
    0.6738
    """
    who = "aggregate_retention_residual_value"
    d = check_discount_rate(discount_rate, who=who)
    m = _check_margin(margin, who=who)
    labels, current, previous, _ = _last_counts(survivors, who=who, layout=layout)
    seen = ~np.isnan(previous)
    if not seen.any() or float(previous[seen].sum()) <= 0.0:
        raise ValidationError(
            f"{who}: no cohort has been observed over a renewal, so there is no retention "
            "rate to compute. Hint: pass at least one cohort with two or more counts."
        )
    rate = float(current[seen].sum() / previous[seen].sum())
    derl = rate * (1.0 + d) / (1.0 + d - rate) if rate < 1.0 + d else math.inf
    if not math.isfinite(derl):
        raise ValidationError(
            f"{who}: the aggregate retention rate is {rate:g} and discount_rate={d:g}, so "
            "every customer is worth an infinite number of payments. Hint: use a positive "
            "discount rate."
        )
    with np.errstate(over="ignore"):
        _check_finite_value(current * derl * m, labels, who=who)
    out: pd.DataFrame = pd.DataFrame(
        {
            "survivors": current,
            "retention_rate": np.full(len(labels), rate),
            "derl": np.full(len(labels), derl),
            "residual_value": current * derl * m,
        },
        index=pd.Index(labels, name="cohort"),
    )
    out.attrs["aggregate_retention_rate"] = rate
    return out
