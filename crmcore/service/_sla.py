"""SLA policies and the SLA clocks of tickets: first response, next response, resolution.

:class:`SlaPolicy` holds targets per priority (Zendesk's "policy metrics"), the calendar the
clocks run on, the statuses that pause the resolution clock and the conditions (category,
customer tier) that select the tickets it applies to. :func:`sla_status` reads the tickets and
their events (see :mod:`crmcore.service._log` for the frame rules) and returns, per ticket and
target, the status (met, breached, ongoing), the due instant, the achievement, the elapsed
business time and the time left.

Everything is vectorised: each clock is read as a monotone "business-time coordinate"
``W(t)`` (working time since a fixed origin; ``W(t) = t`` without a calendar), so the business
time between two instants is ``W(b) - W(a)`` and a deadline is the earliest instant at which
``W`` reaches a value -- one ``np.searchsorted`` per row.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from crmcore._validation import format_ids, nearest_name, parse_or_raise
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.service._calendar import BusinessCalendar
from crmcore.service._entities import TicketCategory, TicketStatus
from crmcore.service._log import (
    KIND,
    NAT,
    PRIORITIES,
    STATUS,
    ServiceLog,
    priority_column,
    read_service_log,
)

__all__ = ["SLA_TARGETS", "SlaPolicy", "sla_status"]

I64 = np.ndarray[Any, np.dtype[np.int64]]
I8 = np.ndarray[Any, np.dtype[np.int8]]
B = np.ndarray[Any, np.dtype[np.bool_]]

#: The SLA targets, in the order of the output columns.
SLA_TARGETS: Final[tuple[str, ...]] = ("first_response", "next_response", "resolution")

_PRIORITIES: Final[tuple[str, ...]] = PRIORITIES
_CATEGORIES: Final[tuple[str, ...]] = tuple(c.value for c in TicketCategory)
_STATUSES: Final[tuple[str, ...]] = tuple(s.value for s in TicketStatus)
_MET, _BREACHED, _ONGOING = 0, 1, 2
_STATUS_TEXT = np.array(["met", "breached", "ongoing", None], dtype=object)  # code -1 -> None
_NS_MIN: Final[int] = 60 * 1_000_000_000
_NS_DAY: Final[int] = 1440 * _NS_MIN
_LIMIT: Final[int] = int(pd.Timestamp.max.value) - 30 * _NS_DAY


# ====================================================================== the policy


def _fmt_td(td: pd.Timedelta) -> str:
    """``'1D4h30m'``-style text of a positive Timedelta (for the repr)."""
    total = int(td.value)
    parts = []
    for unit, size in (("D", _NS_DAY), ("h", 60 * _NS_MIN), ("m", _NS_MIN), ("s", 10**9)):
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    if total:
        parts.append(f"{total}ns")
    return "".join(parts)


def _duration(value: Any, where: str) -> pd.Timedelta:
    td = parse_or_raise(
        pd.Timedelta,
        value,
        (str, dt.timedelta, np.timedelta64, pd.Timedelta),
        "The 'targets' parameter of SlaPolicy must give durations as Timedelta-likes "
        f"(pd.Timedelta, datetime.timedelta or strings such as '4h'); {where} is {value!r} "
        f"({type(value).__name__}).",
    )
    if td <= pd.Timedelta(0):
        raise ValidationError(
            f"The 'targets' parameter of SlaPolicy must give positive durations; {where} is {td}."
        )
    out: pd.Timedelta = pd.Timedelta(td).as_unit("ns")
    return out


def _enum_text(value: Any) -> str | None:
    if isinstance(value, str):  # str enums are str too; .value gives the plain text
        return str(getattr(value, "value", value)).strip().lower()
    return None


def _to_targets(value: Any) -> dict[str, dict[str, pd.Timedelta]]:
    if not isinstance(value, Mapping) or not value:
        raise ValidationError(
            "The 'targets' parameter of SlaPolicy must be a non-empty mapping of priority "
            "(low, normal, high, urgent) to {target: duration}, target one of "
            f"{', '.join(SLA_TARGETS)}. Got {value!r} instead."
        )
    out: dict[str, dict[str, pd.Timedelta]] = {}
    for key, per in value.items():
        prio = _enum_text(key)
        if prio not in _PRIORITIES:
            raise ValidationError(
                f"The 'targets' parameter of SlaPolicy must be keyed by priority, one of "
                f"{', '.join(_PRIORITIES)}. Got {key!r}."
            )
        if prio in out:
            raise ValidationError(
                f"The 'targets' parameter of SlaPolicy names priority {prio!r} twice."
            )
        if not isinstance(per, Mapping) or not per:
            raise ValidationError(
                f"The 'targets' parameter of SlaPolicy must map priority {prio!r} to a non-empty "
                f"mapping of target to duration, e.g. {{'first_response': '4h'}}. Got {per!r}."
            )
        inner: dict[str, pd.Timedelta] = {}
        for name, duration in per.items():
            if name not in SLA_TARGETS:
                near = nearest_name(str(name), SLA_TARGETS)
                hint = f" (did you mean {near!r}?)" if near else ""
                raise ValidationError(
                    f"The 'targets' parameter of SlaPolicy knows the targets "
                    f"{', '.join(SLA_TARGETS)}; priority {prio!r} has {name!r}{hint}."
                )
            inner[name] = _duration(duration, f"{prio}/{name}")
        out[prio] = {t: inner[t] for t in SLA_TARGETS if t in inner}
    return {p: out[p] for p in _PRIORITIES if p in out}


def _collection(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"The '{name}' parameter of SlaPolicy must be a collection (list, tuple or set); got "
            f"{value!r} ({type(value).__name__}). Hint: write ({value!r},) for a single value."
        )
    items = list(value)
    if not items:
        raise ValidationError(
            f"The '{name}' parameter of SlaPolicy must not be empty (it would match no ticket); "
            f"pass None to match every ticket."
        )
    return items


def _member_names(
    items: Sequence[Any], allowed: Sequence[str], param: str, noun: str
) -> list[str | None]:
    """The lower-case enum texts of `items`; any not in `allowed` raise, naming `param`."""
    names = [_enum_text(v) for v in items]
    bad = [v for v, n in zip(items, names, strict=True) if n not in allowed]
    if bad:
        raise ValidationError(
            f"The '{param}' parameter of SlaPolicy must hold {noun} "
            f"({', '.join(allowed)}); got {format_ids(bad)}."
        )
    return names


def _to_paused(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"The 'paused_statuses' parameter of SlaPolicy must be a collection of statuses; "
            f"got {value!r} ({type(value).__name__}). Hint: write ({value!r},) for one status."
        )
    names = _member_names(list(value), _STATUSES, "paused_statuses", "ticket statuses")
    running = [s for s in ("new", "open") if s in names]
    if running:
        raise ValidationError(
            f"The 'paused_statuses' parameter of SlaPolicy cannot pause {', '.join(running)}: "
            f"the clock always runs while a ticket waits for the agents."
        )
    return tuple(s for s in _STATUSES if s in names)


def _to_categories(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = _collection(value, "categories")
    names = _member_names(items, _CATEGORIES, "categories", "ticket categories")
    return tuple(c for c in _CATEGORIES if c in names)


def _to_tiers(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    items = _collection(value, "tiers")
    unhashable = [v for v in items if not isinstance(v, (str, int, np.integer))]
    if unhashable:
        raise ValidationError(
            f"The 'tiers' parameter of SlaPolicy must hold tier labels (str or int); got "
            f"{format_ids(unhashable)}."
        )
    return tuple(dict.fromkeys(items))


def _check_calendar(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, BusinessCalendar):
        raise ValidationError(
            f"The 'calendar' parameter of SlaPolicy must be a BusinessCalendar or None (elapsed "
            f"24/7 time). Got {type(value).__name__} instead."
        )
    if value is not None and value._week_minutes == 0:
        raise ValidationError(
            "The 'calendar' parameter of SlaPolicy has no working hours: no target could ever "
            "be reached. Hint: give the calendar some hours, or pass calendar=None."
        )


def _check_name(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(
            f"The 'name' parameter of SlaPolicy must be a non-empty str or None. Got {value!r}."
        )


@attrs.frozen(repr=False)
class SlaPolicy:
    """Targets per priority for first response, next response and resolution.

    Parameters
    ----------
    targets : mapping
        ``{priority: {target: duration}}``; priority one of ``low, normal, high, urgent``
        (:class:`~crmcore.service.TicketPriority` members or strings), target one of
        ``first_response, next_response, resolution``, duration a positive Timedelta-like
        (``pd.Timedelta``, ``datetime.timedelta`` or a string such as ``"4h"``).
    calendar : BusinessCalendar, optional
        The clocks count business time of this calendar; None (default) counts elapsed 24/7
        time (Zendesk's "calendar hours").
    paused_statuses : collection of str, default ("pending", "on_hold")
        Statuses during which the resolution clock stops. ``new`` and ``open`` cannot be
        paused; ``solved`` and ``closed`` always stop the clock.
    categories : collection of str, optional
        The policy applies only to tickets whose ``category`` is one of these (None: all).
    tiers : collection of str or int, optional
        The policy applies only to tickets whose ``tier`` column (the customer's tier, e.g.
        from :mod:`crmcore.tiers`) is one of these labels (None: all).
    name : str, optional
        Shown in the ``policy`` column of :func:`sla_status` when several policies are given.

    Raises
    ------
    ValidationError
        Unknown priorities, targets, statuses or categories, non-positive durations, empty
        collections, ``new``/``open`` as paused statuses, or a calendar without hours.

    Notes
    -----
    A policy *matches* a ticket when the ticket's category and tier satisfy ``categories``
    and ``tiers`` and its priority is a key of ``targets``: the priorities listed act as the
    policy's priority condition (Zendesk policies state priority among their conditions and
    give targets per priority), so a priority left out falls through to the next policy of a
    sequence. A matching policy without, say, a ``next_response`` target for the ticket's
    priority leaves that target missing for the ticket.

    References
    ----------
    Zendesk, "Defining and using SLA policies" (policy conditions, targets per priority and
    metric, calendar or business hours; "the first policy whose conditions are satisfied by
    the ticket is applied"): https://support.zendesk.com/hc/en-us/articles/4408829459866

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.service._calendar import BusinessCalendar
    >>> cal = BusinessCalendar(hours={d: [("09:00", "17:00")] for d in range(5)},
    ...                        tz="Europe/Berlin", holidays=[dt.date(2024, 12, 25)])
    >>> policy = SlaPolicy({"urgent": {"first_response": "1h", "resolution": "8h"},
    ...                     "high": {"first_response": "4h"}}, calendar=cal, name="standard")
    >>> policy.targets["urgent"]["resolution"]
    Timedelta('0 days 08:00:00')
    >>> SlaPolicy({"high": {"resolution": "1D12h"}}, categories=["incident"])
    SlaPolicy({'high': {'resolution': '1D12h'}}, paused_statuses=('pending', 'on_hold'), \
categories=('incident',))
    """

    targets: dict[str, dict[str, pd.Timedelta]] = attrs.field(converter=_to_targets, hash=False)
    calendar: BusinessCalendar | None = attrs.field(
        default=None, kw_only=True, validator=_check_calendar
    )
    paused_statuses: tuple[str, ...] = attrs.field(
        default=("pending", "on_hold"), kw_only=True, converter=_to_paused
    )
    categories: tuple[str, ...] | None = attrs.field(
        default=None, kw_only=True, converter=_to_categories
    )
    tiers: tuple[Any, ...] | None = attrs.field(default=None, kw_only=True, converter=_to_tiers)
    name: str | None = attrs.field(default=None, kw_only=True, validator=_check_name)

    def __repr__(self) -> str:
        rows = ", ".join(
            f"{prio!r}: {{" + ", ".join(f"{t!r}: {_fmt_td(d)!r}" for t, d in per.items()) + "}"
            for prio, per in self.targets.items()
        )
        parts = [f"{{{rows}}}"]
        if self.calendar is not None:
            parts.append(f"calendar={self.calendar!r}")
        parts.append(f"paused_statuses={self.paused_statuses!r}")
        if self.categories is not None:
            parts.append(f"categories={self.categories!r}")
        if self.tiers is not None:
            parts.append(f"tiers={self.tiers!r}")
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        return f"SlaPolicy({', '.join(parts)})"

    def _repr_html_(self) -> str:
        """Jupyter display: the targets as a priority x target table (``-`` where the policy
        sets none), the clock (elapsed 24/7 time or the calendar's business hours, shown
        below), the paused statuses and the conditions (categories, tiers) that select the
        tickets."""
        from crmcore import _display as d

        def duration(td: pd.Timedelta) -> str:
            total = int(td.value)
            parts = []
            for unit, size in (("d", _NS_DAY), ("h", 60 * _NS_MIN), ("min", _NS_MIN)):
                amount, total = divmod(total, size)
                if amount:
                    parts.append(f"{amount} {unit}")
            if total:
                parts.append(f"{total / 1e9:g} s")
            return " ".join(parts)

        rows: list[list[str | d.Cell]] = [
            [prio, *(duration(per[t]) if t in per else "-" for t in SLA_TARGETS)]
            for prio, per in self.targets.items()
        ]
        table = d.table([t.replace("_", " ") for t in SLA_TARGETS], rows, index_header="priority")
        clock = (
            "elapsed 24/7 time"
            if self.calendar is None
            else f"business hours of the calendar below (time zone {self.calendar.tz})"
        )
        pairs = [
            ("clocks count", clock),
            ("resolution clock paused in", ", ".join(self.paused_statuses) or "none"),
            (
                "applies to categories",
                "all" if self.categories is None else ", ".join(self.categories),
            ),
            (
                "applies to customer tiers",
                "all" if self.tiers is None else ", ".join(str(t) for t in self.tiers),
            ),
        ]
        title = "SlaPolicy" if self.name is None else f"SlaPolicy {self.name!r}"
        parts = [d.facts(pairs), table]
        if self.calendar is not None:
            parts.append(self.calendar._repr_html_())
        return d.block(
            title,
            *parts,
            notes=[
                "Priorities not listed fall through to the next policy of a sequence; a "
                "target shown as - is not measured for that priority."
            ],
        )

    def _table(self, target: str) -> I64:
        """Target in ns per priority code (-1: no such target)."""
        return np.array(
            [
                int(self.targets[p][target].value)
                if p in self.targets and target in self.targets[p]
                else -1
                for p in _PRIORITIES
            ],
            dtype=np.int64,
        )


# ====================================================================== the clock


class _SpanTooShort(Exception):
    """A deadline lies beyond the laid-out calendar intervals (internal)."""


class _Clock:
    """Business time as a monotone coordinate ``W(t)`` (ns), with its earliest inverse."""

    def __init__(self, calendar: BusinessCalendar | None, lo: int, hi: int) -> None:
        self.calendar = calendar
        if calendar is not None:
            self.starts, self.ends, self.cum = calendar._intervals(lo, hi)
            self.cum_end = self.cum + (self.ends - self.starts)
            # day buckets from the first interval: the last interval starting at or before
            # each bucket's start, so a lookup is a gather plus a few steps (no binary search)
            n = len(self.starts)
            self.origin = int(self.starts[0]) if n else lo
            buckets = self.origin + np.arange((hi - self.origin) // _NS_DAY + 2) * _NS_DAY
            self.bucket = (np.searchsorted(self.starts, buckets, side="right") - 1).astype(np.int64)
            self.steps = int(np.diff(np.r_[self.bucket, n - 1]).max()) if n else 0
            self.next_start = np.r_[self.starts[1:], np.iinfo(np.int64).max, 0]

    def at(self, t: I64) -> I64:
        """``W(t)``; every ``t`` must lie in the span the clock was laid out for."""
        if self.calendar is None:
            return t
        if not len(self.starts):
            return np.zeros(len(t), dtype=np.int64)
        t = np.maximum(t, self.origin)  # W is 0 up to the first interval's start
        b = np.minimum((t - self.origin) // _NS_DAY, len(self.bucket) - 1)
        j = self.bucket[b]
        for _ in range(self.steps):
            j += self.next_start[j] <= t
        inside = np.minimum(t - self.starts[j], self.ends[j] - self.starts[j])
        out: I64 = (self.cum[j] + np.maximum(inside, 0)).astype(np.int64)
        return out

    def until(self, v: I64) -> I64:
        """The earliest instant ``t`` with ``W(t) >= v`` (``v`` above the clock's origin)."""
        if self.calendar is None or len(v) == 0:
            return v
        k = np.searchsorted(self.cum_end, v, side="left")
        if bool((k >= len(self.starts)).any()):
            raise _SpanTooShort
        out: I64 = (self.starts[k] + (v - self.cum[k])).astype(np.int64)
        return out


def _judge(due: I64, achieved: I64, as_of: int) -> I8:
    """Met: achieved at or before due; breached: achieved after due, or unachieved past due."""
    done = achieved != NAT
    late = np.where(done, achieved > due, (due != NAT) & (as_of > due))
    status = np.where(late, _BREACHED, np.where(done, _MET, _ONGOING)).astype(np.int8)
    return status


def _unpaused(
    clock: _Clock, start: I64, achieved: I64, target: I64, as_of: int
) -> tuple[I64, I64, I8]:
    """(due, elapsed, status) of clocks that are never paused (replies)."""
    w_start = clock.at(start)
    end = np.where(achieved != NAT, achieved, as_of).astype(np.int64)
    elapsed = (clock.at(end) - w_start).astype(np.int64)
    due = clock.until(w_start + target)
    return due, elapsed, _judge(due, achieved, as_of)


# ====================================================================== per-ticket facts


class _Facts:
    """What the clocks need from the log, computed once for every policy."""

    def __init__(self, log: ServiceLog) -> None:
        self.log = log
        reply = log.public_agent_replies()
        solved = log.status_changes("solved")
        self.first_reply = log.first_time(reply)
        self.first_solve = log.first_time(solved)
        self.last_solve = log.last_time(solved)
        self.segments = log.status_segments()
        self.cycle_ticket, self.cycle_start, self.cycle_end = self._cycles(reply, solved)

    def _cycles(self, reply: B, solved: B) -> tuple[I64, I64, I64]:
        """Next-response cycles: (ticket code, start, end or NAT), sorted by ticket and time."""
        log = self.log
        code, time, kind = log.ev_ticket, log.ev_time, log.ev_kind
        empty = np.empty(0, dtype=np.int64)
        replies = np.flatnonzero(kind == KIND["customer_reply"])
        enders = np.flatnonzero(reply | solved)
        if not len(replies) or not len(enders):
            return empty, empty, empty
        # the last ender before each customer reply, in the same ticket (none: -1)
        k = np.searchsorted(enders, replies)
        before = enders[np.clip(k - 1, 0, None)]
        before = np.where((k > 0) & (code[before] == code[replies]), before, -1)
        # the status at the reply's instant: every change at that instant applied
        instant = np.cumsum(np.r_[True, (code[1:] != code[:-1]) | (time[1:] != time[:-1])])
        changes = np.flatnonzero(kind == KIND["status_change"])
        c = np.searchsorted(instant[changes], instant[replies], side="right") - 1
        last_change = changes[np.clip(c, 0, None)] if len(changes) else replies
        known = (c >= 0) & (code[last_change] == code[replies])
        now = np.where(known, log.ev_status[last_change], STATUS["new"])
        waiting = (now != STATUS["solved"]) & (now != STATUS["closed"])
        # a cycle starts at the oldest unanswered customer reply after the first response
        ok = (before >= 0) & waiting
        starts, before = replies[ok], before[ok]
        first = np.r_[True, before[1:] != before[:-1]][: len(starts)]
        starts = starts[first]
        # ... and ends at the next ender of the same ticket
        nxt = np.searchsorted(enders, starts, side="right")
        end_at = enders[np.clip(nxt, 0, len(enders) - 1)]
        ended = (nxt < len(enders)) & (code[end_at] == code[starts])
        end_time = np.where(ended, time[end_at], NAT).astype(np.int64)
        return code[starts], time[starts], end_time


# ====================================================================== evaluation


def _span(policy: SlaPolicy) -> int:
    longest = max(int(d.value) for per in policy.targets.values() for d in per.values())
    cal = policy.calendar
    if cal is None:
        return 0
    weekly = max(cal._week_minutes, 1) * _NS_MIN
    return longest // weekly * 7 * _NS_DAY * 2 + 21 * _NS_DAY


def _empty_result(n: int) -> dict[str, I64]:
    return {
        "status": np.full(n, -1, dtype=np.int64),
        "due": np.full(n, NAT, dtype=np.int64),
        "achieved": np.full(n, NAT, dtype=np.int64),
        "elapsed": np.full(n, NAT, dtype=np.int64),
        "remaining": np.full(n, NAT, dtype=np.int64),
    }


def _first_response(
    facts: _Facts, clock: _Clock, sel: I64, target: I64, out: dict[str, I64]
) -> None:
    """First response: from opened_at, never paused, achieved by the first reply or solve."""
    log = facts.log
    has = target >= 0
    rows, tg = sel[has], target[has]
    reply, solve = facts.first_reply[rows], facts.first_solve[rows]
    achieved = np.where(
        reply == NAT, solve, np.where(solve == NAT, reply, np.minimum(reply, solve))
    ).astype(np.int64)
    due, elapsed, status = _unpaused(clock, log.opened[rows], achieved, tg, log.as_of)
    out["status"][rows] = status
    out["due"][rows] = due
    out["achieved"][rows] = achieved
    out["elapsed"][rows] = elapsed
    out["remaining"][rows] = tg - elapsed


def _next_response(
    facts: _Facts, clock: _Clock, in_policy: B, target_of: I64, out: dict[str, I64]
) -> None:
    """Next response: per cycle, never paused; breached if any cycle was."""
    log = facts.log
    ticket = facts.cycle_ticket
    keep = in_policy[ticket] & (target_of[ticket] >= 0)
    ticket, start, end = ticket[keep], facts.cycle_start[keep], facts.cycle_end[keep]
    if not len(ticket):
        return
    tg = target_of[ticket]
    due, elapsed, status = _unpaused(clock, start, end, tg, log.as_of)
    breached = np.bincount(ticket, weights=status == _BREACHED, minlength=log.n) > 0
    last = np.flatnonzero(np.r_[ticket[1:] != ticket[:-1], True])
    rows = ticket[last]
    out["status"][rows] = np.where(breached[rows], _BREACHED, status[last])
    out["due"][rows] = due[last]
    out["achieved"][rows] = end[last]
    out["elapsed"][rows] = elapsed[last]
    out["remaining"][rows] = tg[last] - elapsed[last]


def _resolution(
    facts: _Facts,
    clock: _Clock,
    in_policy: B,
    target_of: I64,
    paused: tuple[str, ...],
    out: dict[str, I64],
) -> None:
    """Resolution: runs outside paused and solved/closed statuses; due found per segment."""
    log = facts.log
    codes, starts, _, status = facts.segments
    keep = in_policy[codes] & (target_of[codes] >= 0)
    if not keep.all():
        codes, starts, status = codes[keep], starts[keep], status[keep]
    if not len(codes):
        return
    stop_codes = [STATUS[s] for s in (*paused, "solved", "closed")]
    running = ~np.isin(status, stop_codes)
    w_start = clock.at(starts)
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    last = np.r_[first[1:] - 1, len(codes) - 1]
    # a segment ends where the ticket's next one starts; the last one at as_of
    w_end = np.r_[w_start[1:], np.int64(0)]
    w_end[last] = clock.at(np.array([log.as_of], dtype=np.int64))[0]
    length = np.where(running, w_end - w_start, 0).astype(np.int64)
    cum = np.cumsum(length)
    rows = codes[first]
    tg = target_of[rows]
    base = np.where(first > 0, cum[first - 1], 0)
    elapsed = cum[last] - base
    done = np.isin(status[last], [STATUS["solved"], STATUS["closed"]])
    achieved = np.where(done, facts.last_solve[rows], NAT).astype(np.int64)

    goal = base + tg
    j = np.searchsorted(cum, goal, side="left")
    found = j <= last
    due = np.full(len(rows), NAT, dtype=np.int64)
    jf = j[found]
    due[found] = clock.until(w_start[jf] + (goal[found] - (cum[jf] - length[jf])))
    rest = tg - elapsed
    from_done = ~found & done
    due[from_done] = clock.until(clock.at(achieved[from_done]) + rest[from_done])
    from_now = ~found & ~done & running[last]
    due[from_now] = clock.until(clock.at(np.full(int(from_now.sum()), log.as_of)) + rest[from_now])

    out["status"][rows] = _judge(due, achieved, log.as_of)
    out["due"][rows] = due
    out["achieved"][rows] = achieved
    out["elapsed"][rows] = elapsed
    out["remaining"][rows] = rest


def _evaluate(
    facts: _Facts, policy: SlaPolicy, in_policy: B, results: dict[str, dict[str, I64]]
) -> None:
    log = facts.log
    sel = np.flatnonzero(in_policy)
    lo = int(log.opened[sel].min())
    span = _span(policy)
    while True:
        hi = min(log.as_of + span, _LIMIT)
        clock = _Clock(policy.calendar, lo, hi)
        trial = {t: _empty_result(log.n) for t in results}
        try:
            for target, out in trial.items():
                table = policy._table(target)
                target_of = np.where(in_policy, table[log.priority], -1).astype(np.int64)
                if target == "first_response":
                    _first_response(facts, clock, sel, target_of[sel], out)
                elif target == "next_response":
                    _next_response(facts, clock, in_policy, target_of, out)
                else:
                    _resolution(facts, clock, in_policy, target_of, policy.paused_statuses, out)
        except _SpanTooShort:
            if hi >= _LIMIT:
                raise ValidationError(
                    "sla_status: a due date falls after the last representable timestamp."
                ) from None
            span = span * 2 + 21 * _NS_DAY
            continue
        for target, out in trial.items():
            for key, values in out.items():
                results[target][key][sel] = values[sel]
        return


# ====================================================================== matching


def _policies(policy: Any) -> tuple[list[SlaPolicy], bool]:
    if isinstance(policy, SlaPolicy):
        return [policy], False
    if isinstance(policy, Sequence) and not isinstance(policy, (str, bytes)) and policy:
        bad = [i for i, p in enumerate(policy) if not isinstance(p, SlaPolicy)]
        if not bad:
            return list(policy), True
        raise ValidationError(
            f"The 'policy' argument of sla_status must be an SlaPolicy or a sequence of them; "
            f"items at positions {bad[:5]} are not (first: {type(policy[bad[0]]).__name__})."
        )
    raise ValidationError(
        f"The 'policy' argument of sla_status must be an SlaPolicy or a non-empty sequence of "
        f"them. Got {type(policy).__name__} instead."
    )


def _labels(series: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """Category labels as lower-case text (enum members allowed); missing as None."""
    inverse, uniques = pd.factorize(series, use_na_sentinel=True)
    names = [_enum_text(u) if isinstance(u, str) else u for u in uniques]
    table = np.array([*names, None], dtype=object)
    return np.asarray(table[inverse], dtype=object)


def _match(log: ServiceLog, policies: list[SlaPolicy]) -> I64:
    """Per ticket, the position of the first matching policy (-1: none)."""
    which = np.full(log.n, -1, dtype=np.int64)
    free = np.ones(log.n, dtype=bool)
    category = _labels(log.tickets["category"]) if "category" in log.tickets else None
    tier = log.tickets.get("tier")
    for i, policy in enumerate(policies):
        prios = np.array([p in policy.targets for p in _PRIORITIES], dtype=bool)
        ok = free & prios[log.priority]
        if policy.categories is not None and category is not None:
            ok &= np.isin(category, np.array(policy.categories, dtype=object))
        if policy.tiers is not None and tier is not None:
            ok &= tier.isin(list(policy.tiers)).to_numpy(dtype=bool)
        which[ok] = i
        free &= ~ok
    return which


# ====================================================================== public


def sla_status(tickets: Any, events: Any, policy: Any, *, as_of: Any) -> pd.DataFrame:
    """SLA status per ticket and target: met, breached or ongoing, with due and time left.

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with ``ticket_id``, ``opened_at`` (tz-aware) and ``priority``;
        ``category`` and ``tier`` when a policy matches on them. pandas, Polars or PyArrow.
    events : DataFrame
        ``ticket_id, occurred_at, kind, status, automatic`` (see
        :func:`crmcore.frames.ticket_events_to_frame`); any order; events after ``as_of``
        are ignored.
    policy : SlaPolicy or sequence of SlaPolicy
        With a sequence, each ticket gets the first policy that matches it (see
        :class:`SlaPolicy`) and the result has a ``policy`` column (the policy's name, or its
        position when unnamed).
    as_of : tz-aware datetime or ISO 8601 string with an offset
        The moment the clocks are read.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``ticket_id`` in the tickets' order (tickets opened after ``as_of`` are
        left out with a warning), with ``priority``, ``policy`` (for a sequence) and, per
        target of the policies in the order first_response, next_response, resolution:
        ``<target>_status`` (``"met"``, ``"breached"``, ``"ongoing"``; None when the ticket's
        policy has no such target for its priority), ``<target>_due`` and
        ``<target>_achieved`` (UTC, NaT if none), ``<target>_elapsed`` and
        ``<target>_remaining`` (Timedelta; remaining = target - elapsed, negative when
        exceeded); and ``next_response_cycles`` (int) after the next-response columns.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidTransition
        Invalid frames (see :func:`crmcore.service._log.read_service_log`), a naive
        ``as_of``, or a policy argument that is not an SlaPolicy or sequence of them.

    Warns
    -----
    CRMWarning
        Tickets that no policy matches (they keep their row, with missing targets) and
        tickets opened after ``as_of``.

    Notes
    -----
    Every clock starts at ``opened_at`` and counts business time of the policy's calendar
    (elapsed time without one). ``elapsed`` is the clock's business time up to the
    achievement or ``as_of``; ``due`` is the earliest instant at which the clock reaches the
    target. **Met**: achieved at or before due. **Breached**: achieved after due, or
    unachieved with ``as_of`` after due, even when no business time passed in between (a
    Monday 08:30 reply to a Friday 17:00 deadline is breached). Otherwise **ongoing**.

    - *first_response* (Zendesk "first reply time"): achieved by the first public agent
      reply that is not automatic (customer replies, internal notes and automatic replies do
      not count) or, when the ticket is solved before any such reply, by that solve: a
      solve ends an active reply-time SLA (as fivetran/dbt_zendesk, which rebuilds Zendesk's
      SLA reports from its ticket events, counts it since its PR #136: a reply target is
      breached only when neither a reply nor a solve came before the breach). Zendesk's
      *reporting* metric "first reply time" instead waits for the first public comment,
      even after a reopen; :func:`ticket_metrics` follows that one. Never paused.
    - *next_response* (Zendesk "next reply time"): a cycle starts at the oldest unanswered
      customer reply, that is the first customer reply after the latest public non-automatic
      agent reply or solve (further customer replies do not restart it); customer replies
      before the first response is achieved belong to the first response, and those while the
      ticket is solved or closed (status after every change at that instant) start none.
      A cycle ends at the next such agent reply or solve and is never paused. The columns
      describe the latest cycle; its status is ``"breached"`` when any cycle up to
      ``as_of`` was breached, else the latest cycle's; no cycle leaves the target missing.
    - *resolution* (Zendesk "requester wait time" with pending and on-hold excluded by the
      default ``paused_statuses``; Odoo SLA "excluding stages"): the clock runs while the
      status is neither paused nor solved/closed; achieved when the ticket is solved or
      closed at ``as_of``, at its last change to solved; a reopen resumes the clock without
      a reset. Its due lies in the running status segment where the cumulative business time
      crosses the target; when the target is not reached, due is extrapolated as if the
      clock ran on from ``as_of`` (clock running) or from the achievement (met early), and is
      NaT while the ticket is paused at ``as_of`` (ongoing).

    Vectorised: replies and cycles by cumulative maxima over the sorted events, status
    segments by a cumulative sum per ticket searched with ``np.searchsorted``, business time
    by one ``np.searchsorted`` into the calendar's working intervals per instant.

    References
    ----------
    Zendesk, "Defining and using SLA policies",
    https://support.zendesk.com/hc/en-us/articles/4408829459866 (metrics, policy order);
    Zendesk, "Ticket metric events", https://developer.zendesk.com/api-reference/ticketing/
    tickets/ticket_metric_events/ (activate, pause, fulfill and breach of each metric);
    Zendesk, "Calculating first reply time",
    https://support.zendesk.com/hc/en-us/articles/4408821871642 (the reporting metric);
    fivetran/dbt_zendesk, ``models/sla_policy/reply_time/int_zendesk__reply_time_combined.sql``
    (a solve or close ends a reply-time SLA);
    Odoo, "Service level agreements (SLA)", Helpdesk documentation (working hours, excluded
    stages).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": ["T1", "T2"], "priority": ["high", "high"],
    ...                   "opened_at": pd.to_datetime(["2024-03-04 09:00", "2024-03-04 10:00"],
    ...                                               utc=True)})
    >>> e = pd.DataFrame({"ticket_id": ["T1", "T2"], "kind": ["agent_reply", "agent_reply"],
    ...                   "status": [None, None], "automatic": [False, True],
    ...                   "occurred_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 10:05"],
    ...                                                 utc=True)})
    >>> sla = sla_status(t, e, SlaPolicy({"high": {"first_response": "2h"}}),
    ...                  as_of="2024-03-04T13:00Z")
    >>> sla[["first_response_status", "first_response_remaining"]]
              first_response_status first_response_remaining
    ticket_id
    T1                          met          0 days 01:00:00
    T2                     breached        -1 days +23:00:00
    """
    who = "sla_status"
    policies, is_sequence = _policies(policy)
    require = ["priority"]
    if any(p.categories is not None for p in policies):
        require.append("category")
    if any(p.tiers is not None for p in policies):
        require.append("tier")
    log = read_service_log(tickets, events, as_of=as_of, who=who, require=tuple(require))
    targets = [
        t for t in SLA_TARGETS if any(t in per for p in policies for per in p.targets.values())
    ]
    results = {t: _empty_result(log.n) for t in targets}
    which = _match(log, policies)
    facts = _Facts(log)
    for i, pol in enumerate(policies):
        in_policy = which == i
        if in_policy.any():
            _evaluate(facts, pol, in_policy, results)

    unmatched = which < 0
    if unmatched.any():
        warnings.warn(
            f"{who}: {int(unmatched.sum()):,} of {log.n:,} tickets match no policy (no target "
            f"for their priority, or their category or tier is not covered); they keep their "
            f"rows with missing targets (first ids: {format_ids(log.ids[unmatched])}).",
            CRMWarning,
            stacklevel=2,
        )

    columns: dict[str, Any] = {
        "priority": priority_column(log.priority),
    }
    if is_sequence:
        labels = np.array(
            [p.name if p.name is not None else i for i, p in enumerate(policies)] + [None],
            dtype=object,
        )
        columns["policy"] = pd.Series(labels[which], index=log.ids, dtype=object)
    for target in targets:
        res = results[target]
        columns[f"{target}_status"] = pd.Series(
            _STATUS_TEXT[res["status"]], index=log.ids, dtype=object
        )
        for key in ("due", "achieved"):
            columns[f"{target}_{key}"] = pd.DatetimeIndex(res[key].view("datetime64[ns]"), tz="UTC")
        for key in ("elapsed", "remaining"):
            columns[f"{target}_{key}"] = pd.TimedeltaIndex(res[key].view("timedelta64[ns]"))
        if target == "next_response":
            columns["next_response_cycles"] = np.bincount(
                facts.cycle_ticket, minlength=log.n
            ).astype(np.int64)
    frame: pd.DataFrame = pd.DataFrame(columns, index=log.ids.copy())
    return frame
