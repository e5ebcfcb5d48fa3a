"""Seeded, vectorised simulators for the BTYD transaction models.

Each simulator draws customers from the model's generative story and returns either the
per-customer summary that the models are fitted on (``frequency``, ``recency``, ``T``,
indexed by ``customer_id``) or the full transaction log (``customer_id``, ``time``; the
first purchase at time 0 included, so the log summarises back to the same numbers).

Nothing loops over customers. The continuous-time simulators need no loop at all: given
``N`` Poisson events in ``[0, w]`` the event times are ``N`` sorted uniforms, so the
``k``-th of them is ``w * Beta(k, N - k + 1)``; the BG/BB simulator loops over transaction
opportunities (one vectorised step per opportunity).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_param_choice, check_param_number
from crmcore.exceptions import ValidationError

__all__ = [
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_mbgnbd",
    "simulate_pareto_nbd",
]

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_OUTPUTS = ("summary", "transactions")


_MAX_MEAN_EVENTS = 1e15  # expected purchases of one customer: beyond this, not a CRM
_MAX_LOG_ROWS = 100_000_000  # rows of a simulated transaction log
_MAX_OPPORTUNITIES = 1_000_000  # BG/BB: one vectorised step per opportunity


def _rng(random_state: int | np.random.Generator | None, who: str) -> np.random.Generator:
    from crmcore._validation import check_random_state

    check_random_state(random_state, who=who)
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _check_params(who: str, **params: float) -> None:
    for name, value in params.items():
        check_param_number(name, value, who=who, low=0.0, low_inclusive=False)
        if not math.isfinite(float(value)):
            raise ValidationError(
                f"The {name!r} parameter of {who} must be a finite number in the range "
                f"(0, inf). Got {value!r} instead."
            )


def _check_event_means(means: Array, who: str) -> None:
    """Refuse Poisson means too large to simulate (numpy's Poisson stops near 9.2e18)."""
    too_big = ~(means <= _MAX_MEAN_EVENTS)
    if too_big.any():
        raise ValidationError(
            f"{who}: the simulated customers would make up to {float(np.max(means)):.3g} "
            f"purchases each ({int(too_big.sum())} of {means.size} customers above "
            f"{_MAX_MEAN_EVENTS:.0e}); that many cannot be simulated. Hint: check that r / "
            "alpha (purchase rate per time unit) and T are in the same time unit."
        )


def _check_log_rows(n_rows: int, who: str) -> None:
    if n_rows > _MAX_LOG_ROWS:
        raise ValidationError(
            f"{who}: the transaction log would have {n_rows:,} rows (more than "
            f"{_MAX_LOG_ROWS:,}). Hint: use output='summary' or fewer customers."
        )


def _ages(T: Any, n_customers: int | None, who: str, *, integer: bool = False) -> Array:
    """Broadcast ``T`` (scalar or per-customer array) to a positive float array."""
    message = (
        f"The 'T' parameter of {who} must be a positive number or a 1-d array of positive "
        f"numbers. Got {T!r} instead."
    )
    if isinstance(T, str | bytes | bool | np.bool_):
        if isinstance(T, str) and "," in T:
            message += " Hint: write decimals with a point ('0.5'), not a comma."
        raise ValidationError(message)
    try:
        arr = np.asarray(T, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    if arr.ndim == 0:
        if n_customers is None:
            raise ValidationError(
                f"{who}: pass n_customers when T is a single number (got T={T!r}, "
                "n_customers=None)."
            )
        check_param_number("n_customers", n_customers, who=who, low=1, integer=True)
        arr = np.full(int(n_customers), float(arr))
    elif arr.ndim != 1:
        raise ValidationError(f"{who}: T must be a number or a 1-d array; got shape {arr.shape}.")
    elif n_customers is not None and n_customers != arr.shape[0]:
        raise ValidationError(
            f"{who}: n_customers={n_customers} does not match len(T)={arr.shape[0]}."
        )
    bad = ~np.isfinite(arr) | (arr <= 0)
    if integer:
        bad |= arr != np.round(arr)
    if bad.any():
        rule = "positive integers" if integer else "positive and finite"
        raise ValidationError(
            f"{who}: T must be {rule}; {int(bad.sum())} of {arr.size} values violate this "
            f"(first positions: {', '.join(str(i) for i in np.flatnonzero(bad)[:5])})."
        )
    if integer and float(arr.max()) > _MAX_OPPORTUNITIES:
        raise ValidationError(
            f"{who}: T must be at most {_MAX_OPPORTUNITIES:,} transaction opportunities (the "
            f"simulation takes one step per opportunity); got up to {float(arr.max()):.6g}."
        )
    return arr


def _start(
    who: str,
    params: dict[str, float],
    T: Any,
    n_customers: int | None,
    random_state: int | np.random.Generator | None,
    output: str,
    *,
    integer: bool = False,
) -> tuple[Array, np.random.Generator]:
    """Checks every simulator runs first, in this order: the model parameters (positive,
    finite), `output`, the ages `T` (whole numbers of opportunities when `integer`) and
    `random_state`. Returns the ages and the random generator."""
    _check_params(who, **params)
    check_param_choice("output", output, _OUTPUTS, who=who)
    ages = _ages(T, n_customers, who, integer=integer)
    return ages, _rng(random_state, who)


def _summary_frame(
    x: Array | IntArray, t_x: Array, T: Array, *, integer: bool = False
) -> pd.DataFrame:
    index = pd.RangeIndex(x.shape[0], name="customer_id")
    time_type = np.int64 if integer else np.float64
    frame: pd.DataFrame = pd.DataFrame(
        {
            "frequency": np.asarray(x, dtype=np.int64),
            "recency": np.asarray(t_x).astype(time_type),
            "T": np.asarray(T).astype(time_type),
        },
        index=index,
    )
    return frame


def _log_from_uniform_events(
    rng: np.random.Generator, n_events: IntArray, keep: IntArray, window: Array
) -> pd.DataFrame:
    """Transaction log: ``n_events`` uniform times on ``[0, window]`` per customer, sorted,
    the first ``keep`` of them kept, plus the first purchase at time 0."""
    n = n_events.shape[0]
    owner = np.repeat(np.arange(n, dtype=np.int64), n_events)
    times = rng.random(owner.shape[0]) * window[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    starts = np.concatenate(([0], np.cumsum(n_events)[:-1]))
    rank = np.arange(owner.shape[0]) - starts[owner]
    mask = rank < keep[owner]
    ids = np.concatenate((np.arange(n, dtype=np.int64), owner[mask]))
    all_times = np.concatenate((np.zeros(n), times[mask]))
    order = np.lexsort((all_times, ids))
    log: pd.DataFrame = pd.DataFrame({"customer_id": ids[order], "time": all_times[order]})
    return log


def _bg_family(
    who: str,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    n_customers: int | None,
    random_state: int | np.random.Generator | None,
    output: str,
    *,
    dropout_at_zero: bool,
) -> pd.DataFrame:
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    ages, rng = _start(who, params, T, n_customers, random_state, output)
    n = ages.shape[0]
    lam = rng.gamma(r, 1.0 / alpha, n)
    with np.errstate(over="ignore"):
        _check_event_means(lam * ages, who)
    p = rng.beta(a, b, n)
    # repeat purchases allowed before the dropout coin lands: geometric on {1, 2, ...};
    # MBG/NBD also tosses the coin after the first purchase, so its count starts at 0
    allowed = rng.geometric(np.clip(p, 1e-300, 1.0)).astype(np.int64)
    if dropout_at_zero:
        allowed -= 1
    n_events = rng.poisson(lam * ages).astype(np.int64)
    x = np.minimum(n_events, allowed)
    if output == "transactions":
        _check_log_rows(int(n_events.sum()), who)
        return _log_from_uniform_events(rng, n_events, x, ages)
    has = x > 0
    t_x = np.zeros(n)
    t_x[has] = ages[has] * rng.beta(x[has], n_events[has] - x[has] + 1)
    return _summary_frame(x, t_x, ages)


def simulate_bgnbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    T: Any,
    n_customers: int | None = None,
    random_state: int | np.random.Generator | None = None,
    output: str = "summary",
) -> pd.DataFrame:
    """Simulate customers from the BG/NBD model.

    Parameters
    ----------
    r, alpha : float
        Gamma shape and rate of the transaction rate ``lambda``.
    a, b : float
        Beta parameters of the dropout probability ``p``.
    T : float or array-like
        Time observed since each customer's first purchase (one number for everybody,
        or one per customer).
    n_customers : int, optional
        Number of customers; required when ``T`` is a number.
    random_state : int, numpy.random.Generator or None
        Seed or generator.
    output : {"summary", "transactions"}
        ``"summary"``: ``frequency, recency, T`` indexed by ``customer_id``;
        ``"transactions"``: ``customer_id, time`` (first purchase at time 0 included).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValidationError
        If a parameter is not a positive finite number, ``T`` is not positive, ``output``
        is unknown, ``random_state`` is not None, an int >= 0 or a Generator, a customer's
        expected purchases exceed 1e15 (``r / alpha`` and ``T`` in different time units?)
        or a transaction log would exceed 1e8 rows.

    Notes
    -----
    ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)``; purchases follow a Poisson process and
    after each repeat purchase the customer drops out with probability ``p`` (Fader,
    Hardie & Lee 2005). The number of repeat purchases before dropout is geometric on
    ``{1, 2, ...}``, so ``x = min(N(T), K)`` and, when ``x > 0``,
    ``t_x = T * Beta(x, N(T) - x + 1)``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy
    Way: An Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> sim = simulate_bgnbd(0.243, 4.414, 0.793, 2.426, T=39.0, n_customers=5, random_state=1)
    >>> list(sim.columns), len(sim)
    (['frequency', 'recency', 'T'], 5)
    """
    return _bg_family(
        "simulate_bgnbd",
        r,
        alpha,
        a,
        b,
        T,
        n_customers,
        random_state,
        output,
        dropout_at_zero=False,
    )


def simulate_mbgnbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    *,
    T: Any,
    n_customers: int | None = None,
    random_state: int | np.random.Generator | None = None,
    output: str = "summary",
) -> pd.DataFrame:
    """Simulate customers from the MBG/NBD model.

    Parameters and returns as :func:`simulate_bgnbd`.

    Notes
    -----
    As BG/NBD, except that the dropout coin is also tossed right after the first purchase
    (Batislam, Denizel & Filiztekin 2007), so the number of repeat purchases before
    dropout is geometric on ``{0, 1, ...}``.

    References
    ----------
    Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). "Empirical validation and
    comparison of models for customer base analysis". IJRM 24(3), 201-209.

    Examples
    --------
    >>> sim = simulate_mbgnbd(0.5, 5.0, 0.8, 2.5, T=39.0, n_customers=1000, random_state=2)
    >>> bool((sim["recency"] <= sim["T"]).all())
    True
    """
    return _bg_family(
        "simulate_mbgnbd",
        r,
        alpha,
        a,
        b,
        T,
        n_customers,
        random_state,
        output,
        dropout_at_zero=True,
    )


def simulate_pareto_nbd(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    *,
    T: Any,
    n_customers: int | None = None,
    random_state: int | np.random.Generator | None = None,
    output: str = "summary",
) -> pd.DataFrame:
    """Simulate customers from the Pareto/NBD model.

    Parameters
    ----------
    r, alpha : float
        Gamma shape and rate of the transaction rate ``lambda``.
    s, beta : float
        Gamma shape and rate of the dropout rate ``mu``.
    T, n_customers, random_state, output
        As :func:`simulate_bgnbd`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValidationError
        If a parameter is not a positive finite number, ``T`` is not positive, or as
        :func:`simulate_bgnbd` (``random_state``, too many purchases to simulate).

    Notes
    -----
    The lifetime is ``tau ~ Exponential(mu)``; purchases are Poisson with rate ``lambda``
    on ``[0, min(tau, T)]`` (Schmittlein, Morrison & Colombo 1987). With ``w = min(tau, T)``
    and ``x ~ Poisson(lambda w)``, the last purchase is ``t_x = w U^(1/x)``.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers:
    Who Are They and What Will They Do Next?" Management Science 33(1), 1-24.

    Examples
    --------
    >>> log = simulate_pareto_nbd(0.55, 10.58, 0.61, 11.67, T=39.0, n_customers=3,
    ...                           random_state=0, output="transactions")
    >>> list(log.columns), int((log["time"] == 0).sum())
    (['customer_id', 'time'], 3)
    """
    who = "simulate_pareto_nbd"
    params = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    ages, rng = _start(who, params, T, n_customers, random_state, output)
    n = ages.shape[0]
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    with np.errstate(divide="ignore"):
        tau = rng.exponential(1.0, n) / mu
    window = np.minimum(tau, ages)
    with np.errstate(over="ignore"):
        _check_event_means(lam * window, who)
    x = rng.poisson(lam * window).astype(np.int64)
    if output == "transactions":
        _check_log_rows(int(x.sum()), who)
        return _log_from_uniform_events(rng, x, x, window)
    t_x = np.zeros(n)
    has = x > 0
    t_x[has] = window[has] * rng.random(int(has.sum())) ** (1.0 / x[has])
    return _summary_frame(x, t_x, ages)


def simulate_bgbb(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    *,
    T: Any,
    n_customers: int | None = None,
    random_state: int | np.random.Generator | None = None,
    output: str = "summary",
) -> pd.DataFrame:
    """Simulate customers from the BG/BB model (discrete transaction opportunities).

    Parameters
    ----------
    alpha, beta : float
        Beta parameters of the purchase probability ``p``.
    gamma, delta : float
        Beta parameters of the dropout probability ``theta``.
    T : int or array-like of int
        Number of transaction opportunities after the first purchase.
    n_customers, random_state, output
        As :func:`simulate_bgnbd`; ``time`` in the log is the opportunity number.

    Returns
    -------
    pandas.DataFrame
        Summary with integer ``frequency`` (``x``), ``recency`` (``t_x``, the opportunity
        of the last transaction, 0 if none) and ``T`` (``n``).

    Raises
    ------
    ValidationError
        If a parameter is not a positive finite number, ``T`` is not a positive integer
        or exceeds 1,000,000 opportunities (one vectorised step each), or
        ``random_state`` is invalid.

    Notes
    -----
    At each opportunity ``1..n`` a living customer first dies with probability ``theta``
    and, if still alive, buys with probability ``p`` (Fader, Hardie & Shang 2010). One
    vectorised step per opportunity.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). "Customer-Base Analysis in a
    Discrete-Time Noncontractual Setting". Marketing Science 29(6), 1086-1108.

    Examples
    --------
    >>> sim = simulate_bgbb(1.204, 0.750, 0.657, 2.783, T=6, n_customers=4, random_state=3)
    >>> bool((sim["frequency"] <= sim["recency"]).all() and (sim["recency"] <= 6).all())
    True
    """
    who = "simulate_bgbb"
    params = {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}
    ages, rng = _start(who, params, T, n_customers, random_state, output, integer=True)
    n = ages.shape[0]
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    death = rng.geometric(np.clip(theta, 1e-300, 1.0))  # first opportunity not alive
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    owners: list[IntArray] = [np.arange(n, dtype=np.int64)]
    times: list[Array] = [np.zeros(n)]
    n_max = int(ages.max())
    for t in range(1, n_max + 1):
        buy = (t < death) & (t <= ages) & (rng.random(n) < p)
        x += buy
        t_x[buy] = t
        if output == "transactions":
            who_bought = np.flatnonzero(buy).astype(np.int64)
            owners.append(who_bought)
            times.append(np.full(who_bought.shape[0], float(t)))
    if output == "transactions":
        ids = np.concatenate(owners)
        all_times = np.concatenate(times)
        order = np.lexsort((all_times, ids))
        log: pd.DataFrame = pd.DataFrame({"customer_id": ids[order], "time": all_times[order]})
        return log
    return _summary_frame(x, t_x, ages, integer=True)
