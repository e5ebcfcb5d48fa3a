"""Seeded synthetic order logs for tests and benchmarks."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from crmcore._validation import check_param_number, coerce_timestamp, format_ids, random_generator
from crmcore.exceptions import ValidationError

__all__ = ["generate_transactions"]

#: Most orders one call may generate (about 2.4 GB of frame); more is almost surely a typo.
_MAX_ORDERS = 50_000_000


def _check_finite(name: str, value: Any, *, who: str, low: float, low_inclusive: bool) -> float:
    check_param_number(name, value, who=who, low=low, low_inclusive=low_inclusive)
    if not math.isfinite(float(value)):
        left = "[" if low_inclusive else "("
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a finite number in the range "
            f"{left}{low:g}, inf). Got {value!r} instead."
        )
    return float(value)


def generate_transactions(
    n_customers: int,
    *,
    start: str | pd.Timestamp = "2024-01-01",
    end: str | pd.Timestamp = "2025-12-31",
    acquisition_share: float = 0.5,
    purchase_rate_shape: float = 0.8,
    purchases_per_year: float = 3.0,
    dropout_per_year: float = 0.4,
    spend_median: float = 40.0,
    spend_sigma: float = 0.8,
    currency: str | None = "USD",
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Generate a heterogeneous order log (one row per order), vectorised and seeded.

    Each customer is acquired at a uniform time in the first `acquisition_share` of the
    window and makes a first order then. Repeat orders follow a Poisson process whose
    rate is gamma distributed across customers (shape `purchase_rate_shape`, mean
    `purchases_per_year`) while the customer is alive; lifetimes are exponential with
    rate `dropout_per_year` (the Pareto/NBD story of Schmittlein, Morrison & Colombo
    1987). Order values are log-normal (median `spend_median`, log-sd `spend_sigma`),
    rounded to cents.

    Parameters
    ----------
    n_customers : int
        Number of customers (>= 1).
    start, end : str or Timestamp
        Observation window.
    acquisition_share : float in [0, 1]
        Share of the window in which customers are acquired.
    purchase_rate_shape : float > 0
        Gamma shape of the repeat-purchase rate (heterogeneity; small = more spread).
    purchases_per_year : float >= 0
        Mean repeat-purchase rate while alive.
    dropout_per_year : float >= 0
        Exponential dropout rate (0: nobody drops out).
    spend_median : float > 0
        Median order value.
    spend_sigma : float >= 0
        Log-sd of order values.
    currency : str or None
        Value of the ``currency`` column; None leaves the column out.
    random_state : int, numpy.random.Generator or None
        Seed (an int >= 0) or generator; the same seed gives the same frame.

    Raises
    ------
    ValidationError
        A parameter of the wrong type or out of range (rates, medians and sigmas must be
        finite), an empty window, a draw of more than 50 million orders, or order values
        beyond the float64 range.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (str), ``order_id`` (str), ``date`` (datetime64, day
        resolution), ``amount`` (float) and, if `currency` is given, ``currency``; sorted
        by customer then date.

    Examples
    --------
    >>> orders = generate_transactions(1_000, random_state=7)
    >>> orders.columns.tolist()
    ['customer_id', 'order_id', 'date', 'amount', 'currency']
    >>> orders["customer_id"].nunique()
    1000
    >>> orders.equals(generate_transactions(1_000, random_state=7))
    True
    """
    who = "generate_transactions"
    check_param_number("n_customers", n_customers, who=who, low=1, integer=True)
    check_param_number("acquisition_share", acquisition_share, who=who, low=0, high=1)
    shape = _check_finite(
        "purchase_rate_shape", purchase_rate_shape, who=who, low=0, low_inclusive=False
    )
    per_year = _check_finite(
        "purchases_per_year", purchases_per_year, who=who, low=0, low_inclusive=True
    )
    dropout = _check_finite(
        "dropout_per_year", dropout_per_year, who=who, low=0, low_inclusive=True
    )
    median = _check_finite("spend_median", spend_median, who=who, low=0, low_inclusive=False)
    sigma = _check_finite("spend_sigma", spend_sigma, who=who, low=0, low_inclusive=True)
    gamma_scale = per_year / shape
    if not math.isfinite(gamma_scale):
        raise ValidationError(
            f"{who}: purchases_per_year / purchase_rate_shape = {per_year:g} / {shape:g} "
            "overflows float64 (the gamma scale of the purchase rate). Hint: use a larger "
            "purchase_rate_shape."
        )
    if currency is not None and not isinstance(currency, str):
        raise ValidationError(
            f"The 'currency' parameter of {who} must be a str or None. Got {currency!r} instead."
        )
    rng = random_generator(random_state, who=who)
    t0 = coerce_timestamp(start, name="start", who=who).normalize()
    t1 = coerce_timestamp(end, name="end", who=who).normalize()
    span_days = int((t1 - t0).days)
    if span_days < 1:
        raise ValidationError(f"{who}: end ({t1.date()}) must be after start ({t0.date()}).")
    years = span_days / 365.25
    first = rng.uniform(0.0, acquisition_share * years, n_customers)
    rate = rng.gamma(shape, gamma_scale, n_customers)
    alive_until = np.full(n_customers, years)
    if dropout > 0:
        life = rng.exponential(1.0 / dropout, n_customers)
        alive_until = np.minimum(first + life, years)
    expected = rate * (alive_until - first)
    total_expected = float(expected.sum())
    if not total_expected <= _MAX_ORDERS:
        raise ValidationError(
            f"{who}: the drawn purchase rates would give about {total_expected:.3g} repeat "
            f"orders, more than {_MAX_ORDERS:,}. Hint: lower purchases_per_year or "
            "n_customers, or raise purchase_rate_shape (less heterogeneity)."
        )
    n_repeat = rng.poisson(expected)
    owner = np.repeat(np.arange(n_customers), n_repeat)
    times = first[owner] + rng.uniform(0.0, 1.0, owner.size) * (alive_until - first)[owner]
    all_owner = np.concatenate([np.arange(n_customers), owner])
    all_times = np.concatenate([first, times])
    order = np.lexsort((all_times, all_owner))
    all_owner = all_owner[order]
    days = np.floor(all_times[order] * 365.25).astype("int64")
    days = np.minimum(days, span_days)
    with np.errstate(over="ignore", invalid="ignore"):
        raw = np.exp(rng.normal(math.log(median), sigma, all_owner.size))
        # values of 2**52 and more are whole numbers already (and *100 could overflow)
        amounts = np.where(raw < 2.0**52, np.round(raw, 2), raw)
    too_big = ~np.isfinite(amounts)
    if too_big.any():
        raise ValidationError(
            f"{who}: {int(too_big.sum()):,} drawn order values exceed the float64 range "
            f"(spend_median={median:g}, spend_sigma={sigma:g}; first orders: "
            f"{format_ids(np.flatnonzero(too_big))}). Hint: use a smaller median or sigma."
        )
    width = len(str(n_customers))
    ids = np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), width))
    data: dict[str, object] = {
        "customer_id": ids[all_owner].astype(object),
        "order_id": np.char.add("O", np.arange(all_owner.size).astype(str)).astype(object),
        "date": t0 + pd.to_timedelta(days, unit="D"),
        "amount": amounts,
    }
    if currency is not None:
        data["currency"] = np.full(all_owner.size, currency, dtype=object)
    return cast(pd.DataFrame, pd.DataFrame(data))
