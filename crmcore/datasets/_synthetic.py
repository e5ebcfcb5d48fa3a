"""Seeded synthetic order logs for tests and benchmarks."""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from crmcore._validation import check_param_number, coerce_timestamp

__all__ = ["generate_transactions"]


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
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same seed gives the same frame.

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
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    t0 = coerce_timestamp(start, name="start", who=who).normalize()
    t1 = coerce_timestamp(end, name="end", who=who).normalize()
    span_days = int((t1 - t0).days)
    if span_days < 1:
        from crmcore.exceptions import ValidationError

        raise ValidationError(f"{who}: end ({t1.date()}) must be after start ({t0.date()}).")
    years = span_days / 365.25
    first = rng.uniform(0.0, acquisition_share * years, n_customers)
    rate = rng.gamma(purchase_rate_shape, purchases_per_year / purchase_rate_shape, n_customers)
    alive_until = np.full(n_customers, years)
    if dropout_per_year > 0:
        life = rng.exponential(1.0 / dropout_per_year, n_customers)
        alive_until = np.minimum(first + life, years)
    n_repeat = rng.poisson(rate * (alive_until - first))
    owner = np.repeat(np.arange(n_customers), n_repeat)
    times = first[owner] + rng.uniform(0.0, 1.0, owner.size) * (alive_until - first)[owner]
    all_owner = np.concatenate([np.arange(n_customers), owner])
    all_times = np.concatenate([first, times])
    order = np.lexsort((all_times, all_owner))
    all_owner = all_owner[order]
    days = np.floor(all_times[order] * 365.25).astype("int64")
    days = np.minimum(days, span_days)
    amounts = np.round(np.exp(rng.normal(np.log(spend_median), spend_sigma, all_owner.size)), 2)
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
