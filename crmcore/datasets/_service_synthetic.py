"""Seeded synthetic support tickets and their event histories (vectorised).

The generator feeds the service tests, the 1M-ticket SLA benchmark and the demo: it writes the
ticket frame and the ticket-event frame of :mod:`crmcore.frames` directly, with every status
history valid under :data:`crmcore.service.TICKET_TRANSITIONS`.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_param_number, random_generator
from crmcore.exceptions import ValidationError

__all__ = ["simulate_tickets"]

_NS = 1_000_000_000
_HOUR = 3_600
_DAY = 86_400
#: Most tickets one call may generate; more is almost surely a typo.
_MAX_TICKETS = 20_000_000

_CHANNELS = np.array(["phone", "email", "web", "chat", "social", "in_person"], dtype=object)
_CHANNEL_P = np.array([0.20, 0.35, 0.25, 0.12, 0.05, 0.03])
_CATEGORIES = np.array(
    ["incident", "question", "complaint", "request", "return_claim"], dtype=object
)
_CATEGORY_P = np.array([0.30, 0.35, 0.10, 0.15, 0.10])
_PRIORITIES = np.array(["low", "normal", "high", "urgent"], dtype=object)
_PRIORITY_P = np.array([0.20, 0.60, 0.16, 0.04])
_AGENTS = np.array([f"agent-{i:02d}" for i in range(1, 13)], dtype=object)

#: Medians (seconds) per priority low, normal, high, urgent.
_FIRST_REPLY_MEDIAN = np.array([8.0, 4.0, 1.5, 0.25]) * _HOUR
_SOLVE_MEDIAN = np.array([48.0, 24.0, 8.0, 3.0]) * _HOUR
#: Live channels (phone, chat, in person) are answered at once: factor on the first-reply delay.
_LIVE_FACTOR = {"phone": 0.02, "chat": 0.05, "in_person": 0.01}

_BUSINESS_SHARE = 0.85  # tickets opened in local business hours (Mon-Fri 08:00-18:00)
_ONE_TOUCH_P = 0.30  # solved with the first reply (0.6 on live channels)
_PENDING_P = 0.25
_NOTE_P = 0.15
_REOPEN_P = 0.08
_CLOSE_P = 0.75
_RATED_P = 0.40
_RATING_P = np.array([0.04, 0.06, 0.12, 0.33, 0.45])
_COMPLAINT_RATING_P = np.array([0.15, 0.15, 0.20, 0.25, 0.25])

# Event slots: every ticket has the same 15 possible events, in time order (ties in slot
# order); a slot is written when it happens and is not after `end`.
# (kind, new status or None, automatic, author: "agent" | "customer" | None)
_SLOTS: tuple[tuple[str, str | None, bool, str | None], ...] = (
    ("agent_reply", None, True, None),  # 0 auto-acknowledgement (email, web)
    ("status_change", "open", False, "agent"),  # 1 first human reply opens the ticket
    ("agent_reply", None, False, "agent"),  # 2 first human reply
    ("internal_note", None, False, "agent"),  # 3
    ("agent_reply", None, False, "agent"),  # 4 asks the customer ...
    ("status_change", "pending", False, "agent"),  # 5 ... and waits
    ("customer_reply", None, False, "customer"),  # 6 the answer ...
    ("status_change", "open", False, None),  # 7 ... reopens the work (a trigger)
    ("agent_reply", None, False, "agent"),  # 8 the solution
    ("status_change", "solved", False, "agent"),  # 9
    ("customer_reply", None, False, "customer"),  # 10 "still broken" ...
    ("status_change", "open", False, None),  # 11 ... reopens (solved -> open)
    ("agent_reply", None, False, "agent"),  # 12 second solution
    ("status_change", "solved", False, "agent"),  # 13
    ("status_change", "closed", False, None),  # 14 closed by automation days later
)
_K = len(_SLOTS)


def _zone(tz: object) -> zoneinfo.ZoneInfo:
    if not isinstance(tz, str):
        raise ValidationError(
            f"The 'tz' parameter of simulate_tickets must be an IANA zone name such as "
            f"'Europe/Berlin'. Got {tz!r} instead."
        )
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            f"The 'tz' parameter of simulate_tickets must be an IANA zone name such as "
            f"'Europe/Berlin'. Got {tz!r} instead."
        ) from error


def _instant(value: object, name: str, tz: str) -> pd.Timestamp:
    """`value` as a UTC Timestamp; a naive value (or a date) is wall-clock time in `tz`."""
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as error:
        raise ValidationError(
            f"The {name!r} parameter of simulate_tickets must be a date, datetime, Timestamp "
            f"or ISO 8601 string. Got {value!r} instead."
        ) from error
    if stamp is pd.NaT or isinstance(value, (int, float)):
        raise ValidationError(
            f"The {name!r} parameter of simulate_tickets must be a date, datetime, Timestamp "
            f"or ISO 8601 string. Got {value!r} instead."
        )
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    converted: pd.Timestamp = stamp.tz_convert("UTC")
    return converted


def _lognormal(rng: np.random.Generator, median: Any, sigma: float, n: int) -> Any:
    """Whole seconds >= 1 from a log-normal with the given median(s)."""
    draws = np.exp(rng.normal(np.log(median), sigma, n))
    return np.maximum(np.ceil(draws), 1).astype(np.int64)


def _after_delays(
    rng: np.random.Generator, start: Any, medians: tuple[float, ...], n: int
) -> list[Any]:
    """Times of steps that follow each other: each one a log-normal delay after the one before."""
    out: list[Any] = []
    for median in medians:
        start = start + _lognormal(rng, median, 1.0, n)
        out.append(start)
    return out


def _local(seconds: Any, tz: str) -> pd.DatetimeIndex:
    """UTC epoch seconds as naive local wall-clock times in `tz`."""
    index = pd.DatetimeIndex(np.asarray(seconds, dtype=np.int64) * _NS, tz="UTC")
    local: pd.DatetimeIndex = index.tz_convert(tz).tz_localize(None)
    return local


def _utc_seconds(local: pd.DatetimeIndex, tz: str) -> Any:
    """Naive local wall-clock times in `tz` as UTC epoch seconds (gaps shift forward)."""
    aware = local.tz_localize(
        tz, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return aware.asi8 // _NS


def _next_business_start(opened: Any, tz: str) -> Any:
    """The first instant at or after `opened` inside Mon-Fri 08:00-18:00 local time."""
    local = _local(opened, tz)
    weekday = local.day_of_week.to_numpy()
    hour = (local - local.normalize()).to_numpy().astype(np.int64) / (_HOUR * _NS)
    midnight = local.normalize()
    in_hours = (weekday < 5) & (hour >= 8) & (hour < 18)
    morning = (weekday < 5) & (hour < 8)
    next_weekday = (weekday + 1) % 7
    skip = np.where(next_weekday == 5, 2, np.where(next_weekday == 6, 1, 0))
    days = np.where(morning, 0, 1 + skip)
    start_local = midnight + pd.to_timedelta(days, unit="D") + pd.Timedelta(hours=8)
    shifted = _utc_seconds(pd.DatetimeIndex(start_local), tz)
    return np.where(in_hours, opened, np.maximum(shifted, opened))


def _opened_times(rng: np.random.Generator, n: int, start_s: int, end_s: int, tz: str) -> Any:
    """Opening instants in [start_s, end_s): mostly local business hours, some any time."""
    anytime = rng.integers(start_s, end_s, size=n)
    first_day = _local([start_s], tz).normalize()[0]
    last_day = _local([end_s], tz).normalize()[0]
    days = pd.date_range(first_day, last_day, freq="D")
    weekdays = days[days.day_of_week < 5]
    if len(weekdays) == 0:
        return anytime
    pick = weekdays[rng.integers(0, len(weekdays), size=n)]
    # a morning and an afternoon peak inside 08:00-18:00
    peak = np.where(rng.random(n) < 0.55, 10.5, 14.5) * _HOUR
    offset = np.clip(rng.normal(peak, 1.6 * _HOUR), 8 * _HOUR, 18 * _HOUR - 1)
    local = pick + pd.to_timedelta(np.floor(offset).astype(np.int64), unit="s")
    business = _utc_seconds(pd.DatetimeIndex(local), tz)
    use = (rng.random(n) < _BUSINESS_SHARE) & (business >= start_s) & (business < end_s)
    return np.where(use, business, anytime)


def _str(values: Any) -> Any:
    """A string column without missing values, typed as crmcore.frames types it (``str``)."""
    return pd.Series(np.asarray(values, dtype=object), dtype=str)


def _text(values: Any) -> Any:
    """An object column (pandas 3 would infer its ``str`` dtype, turning None into NaN)."""
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def simulate_tickets(
    customer_ids: Iterable[Any],
    *,
    start: Any,
    end: Any,
    tickets_per_customer: float = 0.3,
    tz: str = "Europe/Berlin",
    random_state: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate support tickets of `customer_ids` and their event histories.

    Each customer opens a Poisson(`tickets_per_customer`) number of tickets in
    [`start`, `end`); 85 % are opened in local business hours (Mon-Fri 08:00-18:00 in `tz`,
    peaks at 10:30 and 14:30), the rest at any time, nights and weekends included. Channel
    (email 35 %, web 25 %, phone 20 %, chat 12 %, social 5 %, in person 3 %), category
    (question 35 %, incident 30 %, request 15 %, complaint 10 %, return/claim 10 %) and
    priority (normal 60 %, low 20 %, high 16 %, urgent 4 %) are drawn independently.

    The history of a ticket (one agent per ticket, ``agent-01`` .. ``agent-12``):

    1. email and web tickets get an automatic acknowledgement (``agent_reply``,
       ``automatic=True``) one minute after opening;
    2. the first human reply comes a log-normal delay (log-sd 1) after the ticket reaches the
       agents: at once for urgent tickets and live channels, else at the next business-hours
       instant; medians 8 h, 4 h, 1.5 h, 15 min for low, normal, high, urgent (times 0.02,
       0.05, 0.01 on phone, chat, in person). It is written as ``status_change`` to open
       (from new) followed by the ``agent_reply``, at the same instant;
    3. 30 % of tickets (60 % on live channels) are solved by that reply (one touch); of the
       others, 25 % go pending (the agent asks something, median 2 h later) until a
       customer reply (median 20 h) brings them back to open, and 15 % get an internal
       note; the solving reply comes a log-normal time after the last step (medians 48 h,
       24 h, 8 h, 3 h by priority);
    4. 8 % of solved tickets are reopened by a customer reply (median 1 day after solving,
       ``solved -> open``) and solved again (median 6 h later);
    5. 75 % of solved tickets are closed by automation 4 to 5 days after their last solve;
    6. 40 % of tickets solved or closed at `end` carry a satisfaction rating 1-5 (mostly 4
       and 5; complaints rate lower).

    Events after `end` are not written, so tickets opened shortly before `end` are still new,
    open or pending (right-censored, as in a real export); the ticket's ``status`` is its
    status at `end`.

    Parameters
    ----------
    customer_ids : iterable
        The customers (e.g. the CDNOW ids); written as str.
    start, end : str, date, datetime or Timestamp
        The window: tickets open in [`start`, `end`), no event is after `end`. Naive values are
        wall-clock times in `tz`.
    tickets_per_customer : float, default 0.3
        Expected number of tickets per customer over the whole window (>= 0).
    tz : str, default "Europe/Berlin"
        The help desk's time zone (business hours, opening-time pattern).
    random_state : int, numpy.random.Generator or None
        Seed or generator; one seed gives one pair of frames.

    Returns
    -------
    tickets : pandas.DataFrame
        The ticket frame of :func:`crmcore.frames.tickets_to_frame` (columns
        :data:`crmcore.frames.TICKET_COLUMNS`), one row per ticket, sorted by ``opened_at``;
        ids ``T0000001``, ... in that order; ``contact_id`` is None (the customer is the
        contact); ``satisfaction`` holds ints 1-5 or None.
    events : pandas.DataFrame
        The event frame of :func:`crmcore.frames.ticket_events_to_frame` (columns
        :data:`crmcore.frames.TICKET_EVENT_COLUMNS`), sorted by ticket then time; customer
        replies have the customer id as ``author_id``, automatic events None.

    Raises
    ------
    ValidationError
        For a bad parameter, `end` not after `start`, or more than 20 million tickets.

    Notes
    -----
    The life cycle follows the Zendesk ticket statuses (New, Open, Pending, Solved, Closed;
    automatic closing some days after Solved, reopening of a Solved ticket by the requester's
    reply) that Salesforce Cases and Odoo Helpdesk stages map onto. The rates above are
    plausible defaults, not estimates from real data. Everything is drawn with numpy arrays
    (no loop over tickets): every ticket has the same 15 possible event slots, in time order,
    and a slot is written when it happens before `end`. All times are whole seconds.

    Examples
    --------
    >>> from crmcore.datasets import simulate_tickets
    >>> tickets, events = simulate_tickets([f"C{i}" for i in range(1000)], start="2024-01-01",
    ...                                    end="2024-07-01", random_state=7)
    >>> tickets.columns.tolist()
    ['ticket_id', 'customer_id', 'contact_id', 'opened_at', 'channel', 'category', \
'priority', 'status', 'satisfaction']
    >>> events.columns.tolist()
    ['ticket_id', 'occurred_at', 'kind', 'status', 'automatic', 'author_id']
    >>> bool(events["ticket_id"].isin(tickets["ticket_id"]).all())
    True
    >>> simulate_tickets(["C1"], start="2024-01-01", end="2024-02-01",
    ...                  tickets_per_customer=3, random_state=1)[0].equals(
    ...     simulate_tickets(["C1"], start="2024-01-01", end="2024-02-01",
    ...                      tickets_per_customer=3, random_state=1)[0])
    True
    """
    who = "simulate_tickets"
    if (
        customer_ids is None
        or isinstance(customer_ids, (str, bytes))
        or not isinstance(customer_ids, Iterable)
    ):
        raise ValidationError(
            f"The 'customer_ids' parameter of {who} must be an iterable of ids. Got "
            f"{customer_ids!r} instead."
        )
    if isinstance(customer_ids, np.ndarray | pd.Series | pd.Index) and customer_ids.dtype != object:
        customers = np.asarray(customer_ids).astype(str).astype(object)  # numbers, vectorised
    else:
        customers = np.asarray(list(customer_ids), dtype=object)
    if customers.ndim != 1:
        raise ValidationError(
            f"The 'customer_ids' parameter of {who} must be a flat iterable of ids. Got an "
            f"array of shape {customers.shape} instead."
        )
    if len(customers) and pd.api.types.infer_dtype(customers, skipna=False) != "string":
        customers = np.asarray([str(c) for c in customers], dtype=object)
    check_param_number("tickets_per_customer", tickets_per_customer, who=who, low=0)
    if not math.isfinite(float(tickets_per_customer)):
        raise ValidationError(
            f"The 'tickets_per_customer' parameter of {who} must be a finite number >= 0. "
            f"Got {tickets_per_customer!r} instead."
        )
    _zone(tz)
    rng = random_generator(random_state, who=who)
    t0 = _instant(start, "start", tz)
    t1 = _instant(end, "end", tz)
    start_s = -(-t0.value // _NS)  # first whole second at or after start
    end_s = t1.value // _NS
    if end_s <= start_s:
        raise ValidationError(f"{who}: end ({t1}) must be after start ({t0}).")
    expected = float(tickets_per_customer) * len(customers)
    if expected > _MAX_TICKETS:
        raise ValidationError(
            f"{who}: {len(customers):,} customers x {tickets_per_customer} tickets would make "
            f"about {expected:,.0f} tickets; the limit is {_MAX_TICKETS:,}."
        )

    counts = rng.poisson(float(tickets_per_customer), size=len(customers))
    owner = np.repeat(np.arange(len(customers)), counts)
    n = len(owner)
    opened = _opened_times(rng, n, start_s, end_s, tz)
    order = np.argsort(opened, kind="stable")
    opened, owner = opened[order], owner[order]

    channel = rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_P)
    category = rng.choice(len(_CATEGORIES), size=n, p=_CATEGORY_P)
    priority = rng.choice(len(_PRIORITIES), size=n, p=_PRIORITY_P)
    agent = rng.integers(0, len(_AGENTS), size=n)
    names = _CHANNELS.tolist()
    live_factor = np.ones(n)
    for name, factor in _LIVE_FACTOR.items():
        live_factor[channel == names.index(name)] = factor
    live = live_factor < 1
    acknowledged = (channel == names.index("email")) | (channel == names.index("web"))
    urgent = priority == 3

    times = np.zeros((n, _K), dtype=np.int64)
    happens = np.zeros((n, _K), dtype=bool)

    # 0: automatic acknowledgement; 1-2: first human reply (opens the ticket)
    times[:, 0] = opened + 60
    happens[:, 0] = acknowledged
    reach = np.where(live | urgent, opened, _next_business_start(opened, tz))
    first = reach + _lognormal(rng, _FIRST_REPLY_MEDIAN[priority] * live_factor, 1.0, n)
    first = np.where(acknowledged, np.maximum(first, opened + 61), first)
    times[:, 1] = times[:, 2] = first
    happens[:, 1] = happens[:, 2] = True

    one_touch = rng.random(n) < np.where(live, 2 * _ONE_TOUCH_P, _ONE_TOUCH_P)
    pending = ~one_touch & (rng.random(n) < _PENDING_P)
    asked, answered = _after_delays(rng, first, (2.0 * _HOUR, 20.0 * _HOUR), n)
    times[:, 4] = times[:, 5] = asked
    times[:, 6] = times[:, 7] = answered
    happens[:, 4:8] = pending[:, None]

    resume = np.where(pending, answered, first)
    solved = np.where(one_touch, first, resume + _lognormal(rng, _SOLVE_MEDIAN[priority], 1.0, n))
    times[:, 8] = times[:, 9] = solved
    happens[:, 8] = ~one_touch
    happens[:, 9] = True

    noted = ~one_touch & (rng.random(n) < _NOTE_P)
    until = np.where(pending, asked, solved)
    times[:, 3] = first + np.floor(rng.random(n) * (until - first)).astype(np.int64)
    happens[:, 3] = noted

    reopened = rng.random(n) < _REOPEN_P
    back, solved_again = _after_delays(rng, solved, (1.0 * _DAY, 6.0 * _HOUR), n)
    times[:, 10] = times[:, 11] = back
    times[:, 12] = times[:, 13] = solved_again
    happens[:, 10:14] = reopened[:, None]

    last_solve = np.where(reopened, solved_again, solved)
    times[:, 14] = last_solve + 4 * _DAY + rng.integers(0, _DAY, size=n)
    happens[:, 14] = rng.random(n) < _CLOSE_P

    written = happens & (times <= end_s)

    # the status at `end`: the last written status change, else new
    status_codes = np.array(
        [
            -1 if s is None else ["open", "pending", "solved", "closed"].index(s)
            for _, s, _, _ in _SLOTS
        ]
    )
    is_change = status_codes >= 0
    slot_of_last = np.where(written & is_change, np.arange(_K), -1).max(axis=1)
    status_names = np.array(["new", "open", "pending", "solved", "closed"], dtype=object)
    now = np.where(slot_of_last >= 0, status_codes[np.maximum(slot_of_last, 0)] + 1, 0)
    done = now >= 3
    rated = done & (rng.random(n) < _RATED_P)
    complaint = category == _CATEGORIES.tolist().index("complaint")
    u = rng.random(n)
    rating = np.where(
        complaint,
        np.searchsorted(np.cumsum(_COMPLAINT_RATING_P), u, side="right"),
        np.searchsorted(np.cumsum(_RATING_P), u, side="right"),
    )
    rating = np.minimum(rating, 4) + 1
    satisfaction = np.full(n, None, dtype=object)
    satisfaction[rated] = rating[rated].astype(object)

    width = max(7, len(str(n)))
    ticket_ids = np.asarray([f"T{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    customer_of = customers[owner]
    tickets = pd.DataFrame(
        {
            "ticket_id": _str(ticket_ids),
            "customer_id": _str(customer_of),
            "contact_id": _text(np.full(n, None, dtype=object)),
            "opened_at": pd.DatetimeIndex(opened * _NS, tz="UTC"),
            "channel": _str(_CHANNELS[channel]),
            "category": _str(_CATEGORIES[category]),
            "priority": _str(_PRIORITIES[priority]),
            "status": _str(status_names[now]),
            "satisfaction": _text(satisfaction),
        },
        copy=False,
    )

    flat = np.flatnonzero(written.ravel())
    row, slot = np.divmod(flat, _K)
    kinds = np.array([k for k, _, _, _ in _SLOTS], dtype=object)
    new_status = np.array([s for _, s, _, _ in _SLOTS], dtype=object)
    automatic = np.array([a for _, _, a, _ in _SLOTS], dtype=bool)
    role = np.array(
        [{"agent": 1, "customer": 2}.get(str(w), 0) for _, _, _, w in _SLOTS], dtype=np.int8
    )[slot]
    author = np.full(len(flat), None, dtype=object)
    by_agent = role == 1
    by_customer = role == 2
    author[by_agent] = _AGENTS[agent[row[by_agent]]]
    author[by_customer] = customer_of[row[by_customer]]
    events = pd.DataFrame(
        {
            "ticket_id": _str(ticket_ids[row]),
            "occurred_at": pd.DatetimeIndex(times.ravel()[flat] * _NS, tz="UTC"),
            "kind": _str(kinds[slot]),
            "status": _text(new_status[slot]),
            "automatic": automatic[slot],
            "author_id": _text(author),
        },
        copy=False,
    )
    return tickets, events
