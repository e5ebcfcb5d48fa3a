"""Ticket, TicketEvent and the service enums (private module; import from crmcore.service).

Only the standard library, attrs and dateutil are imported here, never numpy or pandas, so
importing the ticket entities stays cheap for help-desk and ERP code.

The status model follows the common help-desk life cycle (Zendesk ticket statuses New, Open,
Pending, On-hold, Solved, Closed; Salesforce Case and Odoo Helpdesk stages map onto it): a
solved ticket may be reopened by the requester, a closed ticket is terminal.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import types
from collections.abc import Mapping
from typing import Any

import attrs

from crmcore._entity_checks import (
    aware_datetime,
    enum_value,
    fail,
    member_of,
    non_empty_str,
    optional_str,
    to_tuple,
)
from crmcore.exceptions import InvalidTransition, ValidationError

__all__ = [
    "TICKET_TRANSITIONS",
    "Ticket",
    "TicketCategory",
    "TicketChannel",
    "TicketEvent",
    "TicketEventKind",
    "TicketPriority",
    "TicketStatus",
]


# ====================================================================== enums


class TicketStatus(str, enum.Enum):
    """The status of a support ticket.

    ``new`` (not yet looked at), ``open`` (being worked on), ``pending`` (waiting for the
    requester), ``on_hold`` (waiting for a third party), ``solved`` (answered; the requester
    may reopen it) and ``closed`` (final).

    Examples
    --------
    >>> TicketStatus("on_hold")
    <TicketStatus.ON_HOLD: 'on_hold'>
    >>> TicketStatus.SOLVED == "solved"
    True
    """

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


_S = TicketStatus

#: Allowed status changes: ``TICKET_TRANSITIONS[source]`` is the frozenset of statuses a ticket
#: in ``source`` may move to. ``solved -> open`` is the reopen; ``closed`` is terminal (an empty
#: set). Staying in the same status is not a change and is not listed.
TICKET_TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = types.MappingProxyType(
    {
        _S.NEW: frozenset({_S.OPEN, _S.PENDING, _S.ON_HOLD, _S.SOLVED}),
        _S.OPEN: frozenset({_S.PENDING, _S.ON_HOLD, _S.SOLVED}),
        _S.PENDING: frozenset({_S.OPEN, _S.ON_HOLD, _S.SOLVED}),
        _S.ON_HOLD: frozenset({_S.OPEN, _S.PENDING, _S.SOLVED}),
        _S.SOLVED: frozenset({_S.OPEN, _S.CLOSED}),
        _S.CLOSED: frozenset(),
    }
)


class TicketChannel(str, enum.Enum):
    """The channel a ticket came in through.

    Examples
    --------
    >>> TicketChannel("in_person")
    <TicketChannel.IN_PERSON: 'in_person'>
    """

    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    SOCIAL = "social"
    IN_PERSON = "in_person"


class TicketCategory(str, enum.Enum):
    """What a ticket is about.

    Examples
    --------
    >>> TicketCategory("return_claim")
    <TicketCategory.RETURN_CLAIM: 'return_claim'>
    """

    INCIDENT = "incident"
    QUESTION = "question"
    COMPLAINT = "complaint"
    REQUEST = "request"
    RETURN_CLAIM = "return_claim"


class TicketPriority(str, enum.Enum):
    """The priority of a ticket (Zendesk's four levels).

    Examples
    --------
    >>> [p.value for p in TicketPriority]
    ['low', 'normal', 'high', 'urgent']
    """

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketEventKind(str, enum.Enum):
    """The kind of a ticket event.

    ``status_change`` (carries the new status), ``agent_reply`` (a public reply by an agent,
    possibly automatic), ``customer_reply`` (a reply by the requester) and ``internal_note``
    (private, never seen by the requester).

    Examples
    --------
    >>> TicketEventKind("agent_reply")
    <TicketEventKind.AGENT_REPLY: 'agent_reply'>
    """

    STATUS_CHANGE = "status_change"
    AGENT_REPLY = "agent_reply"
    CUSTOMER_REPLY = "customer_reply"
    INTERNAL_NOTE = "internal_note"


# ====================================================================== TicketEvent


def _to_kind(value: Any) -> Any:
    return enum_value(TicketEventKind, value)


def _to_status(value: Any) -> Any:
    return enum_value(TicketStatus, value)


def _to_channel(value: Any) -> Any:
    return enum_value(TicketChannel, value)


def _to_category(value: Any) -> Any:
    return enum_value(TicketCategory, value)


def _to_priority(value: Any) -> Any:
    return enum_value(TicketPriority, value)


def _bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise fail(instance, attribute.name, "a bool", value)


def _plain_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise fail(instance, attribute.name, "a str", value)


@attrs.frozen(kw_only=True)
class TicketEvent:
    """One event of a ticket's history.

    Parameters
    ----------
    kind : TicketEventKind or {"status_change", "agent_reply", "customer_reply", \
"internal_note"}
        What happened.
    occurred_at : datetime
        When it happened (timezone-aware, any zone).
    status : TicketStatus or str, optional
        The new status; required for a ``status_change`` and must be None otherwise.
    automatic : bool, default False
        Whether the event was produced by an automation (an auto-acknowledgement, a trigger);
        automatic agent replies do not count as a first response.
    author_id : str, optional
        Who wrote the reply or made the change.

    Raises
    ------
    ValidationError
        For an unknown kind or status, a naive datetime, a status change without a status,
        a status on another kind of event, or a non-bool `automatic`.

    Examples
    --------
    >>> import datetime as dt
    >>> utc = dt.timezone.utc
    >>> TicketEvent(kind="agent_reply", occurred_at=dt.datetime(2024, 3, 1, 9, tzinfo=utc)).kind
    <TicketEventKind.AGENT_REPLY: 'agent_reply'>
    >>> TicketEvent(kind="status_change", occurred_at=dt.datetime(2024, 3, 1, 9))
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: TicketEvent.occurred_at must be a timezone-aware datetime; ...
    """  # noqa: E501

    kind: TicketEventKind = attrs.field(converter=_to_kind, validator=member_of(TicketEventKind))
    occurred_at: dt.datetime = attrs.field(validator=aware_datetime)
    status: TicketStatus | None = attrs.field(
        default=None, converter=_to_status, validator=member_of(TicketStatus, optional=True)
    )
    automatic: bool = attrs.field(default=False, validator=_bool)
    author_id: str | None = attrs.field(default=None, validator=optional_str)

    def __attrs_post_init__(self) -> None:
        if self.kind is TicketEventKind.STATUS_CHANGE and self.status is None:
            raise ValidationError(
                "TicketEvent.status is required for a status_change event (the new status); "
                "got None."
            )
        if self.kind is not TicketEventKind.STATUS_CHANGE and self.status is not None:
            raise ValidationError(
                f"TicketEvent.status must be None for a {self.kind.value} event (only a "
                f"status_change carries a status); got {self.status.value!r}."
            )


# ====================================================================== Ticket


def _events(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(e, TicketEvent) for e in value):
        raise fail(instance, attribute.name, "a tuple of TicketEvent", value)


def _satisfaction(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, str) and value.strip():
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return
    raise fail(
        instance,
        attribute.name,
        "None, a non-empty str or a finite number",
        value,
        "ratings are raw ('good'/'bad', or a score such as 1-5); csat() maps them.",
    )


def _as_status(value: object) -> TicketStatus:
    converted = enum_value(TicketStatus, value)
    if not isinstance(converted, TicketStatus):
        allowed = ", ".join(repr(s.value) for s in TicketStatus)
        raise fail("Ticket", "transition_to(status=...)", "a TicketStatus", value, allowed)
    return converted


def _check_aware(value: object, field: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise fail("Ticket", field, "a timezone-aware datetime", value)


@attrs.frozen(kw_only=True)
class Ticket:
    """A customer-service ticket (case); every change returns a new instance.

    Parameters
    ----------
    id : str
        The ticket id (non-empty).
    customer_id : str
        The customer (account) the ticket belongs to.
    opened_at : datetime
        When the ticket was opened (timezone-aware); the SLA clocks start here.
    channel : TicketChannel or {"phone", "email", "web", "chat", "social", "in_person"}
        The channel it came in through.
    category : TicketCategory or {"incident", "question", "complaint", "request", \
"return_claim"}
        What it is about.
    priority : TicketPriority or {"low", "normal", "high", "urgent"}
        Its priority.
    status : TicketStatus or str, default "new"
        The current status.
    contact_id : str, optional
        The person who asked (a contact of the customer).
    events : sequence of TicketEvent, default ()
        The append-only history, in time order (equal times allowed), none before
        `opened_at`. Its status changes must follow :data:`TICKET_TRANSITIONS` starting from
        ``new``, and when there is at least one, the last one's status is `status`. A ticket
        without status changes may be in any status (a snapshot without history).
    satisfaction : str or float, optional
        The raw satisfaction rating (``"good"`` / ``"bad"``, or a score that ``csat(scale=...)``
        maps); None when not rated.

    Raises
    ------
    ValidationError
        For a bad field, a naive datetime, an event before `opened_at`, events out of time
        order, or a last status change that disagrees with `status` (the message names the
        ticket).
    InvalidTransition
        If the status changes in `events` make a move the table does not allow.

    Examples
    --------
    >>> import datetime as dt
    >>> utc = dt.timezone.utc
    >>> t = Ticket(id="T-1", customer_id="C-7", opened_at=dt.datetime(2024, 3, 1, 9, tzinfo=utc),
    ...            channel="email", category="question", priority="high")
    >>> t = t.transition_to("open", dt.datetime(2024, 3, 1, 9, 30, tzinfo=utc))
    >>> t = t.transition_to("solved", dt.datetime(2024, 3, 1, 11, tzinfo=utc))
    >>> t = t.transition_to("open", dt.datetime(2024, 3, 2, 8, tzinfo=utc))  # reopened
    >>> t.status, [e.status.value for e in t.events if e.status is not None]
    (<TicketStatus.OPEN: 'open'>, ['open', 'solved', 'open'])
    >>> t.transition_to("closed", dt.datetime(2024, 3, 3, tzinfo=utc))
    Traceback (most recent call last):
    ...
    crmcore.exceptions.InvalidTransition: Ticket 'T-1': cannot change status from 'open' to 'closed' (allowed: 'on_hold', 'pending', 'solved').
    """  # noqa: E501

    id: str = attrs.field(validator=non_empty_str)
    customer_id: str = attrs.field(validator=_plain_str)
    opened_at: dt.datetime = attrs.field(validator=aware_datetime)
    channel: TicketChannel = attrs.field(converter=_to_channel, validator=member_of(TicketChannel))
    category: TicketCategory = attrs.field(
        converter=_to_category, validator=member_of(TicketCategory)
    )
    priority: TicketPriority = attrs.field(
        converter=_to_priority, validator=member_of(TicketPriority)
    )
    status: TicketStatus = attrs.field(
        default=TicketStatus.NEW, converter=_to_status, validator=member_of(TicketStatus)
    )
    contact_id: str | None = attrs.field(default=None, validator=optional_str)
    events: tuple[TicketEvent, ...] = attrs.field(default=(), converter=to_tuple, validator=_events)
    satisfaction: str | float | None = attrs.field(default=None, validator=_satisfaction)

    def __attrs_post_init__(self) -> None:
        previous = self.opened_at
        current = TicketStatus.NEW
        changed = False
        for index, event in enumerate(self.events):
            if event.occurred_at < self.opened_at:
                raise ValidationError(
                    f"Ticket {self.id!r}: event {index} ({event.kind.value}) at "
                    f"{event.occurred_at.isoformat()} is dated before opened_at "
                    f"{self.opened_at.isoformat()}."
                )
            if event.occurred_at < previous:
                raise ValidationError(
                    f"Ticket {self.id!r}: events must be in time order (append-only); event "
                    f"{index} at {event.occurred_at.isoformat()} follows "
                    f"{previous.isoformat()}."
                )
            previous = event.occurred_at
            if event.status is not None:
                self._check_move(current, event.status)
                current = event.status
                changed = True
        if changed and current is not self.status:
            raise ValidationError(
                f"Ticket {self.id!r}: status is {self.status.value!r} but the last status "
                f"change in events is to {current.value!r}; they must agree."
            )

    def _check_move(self, source: TicketStatus, target: TicketStatus) -> None:
        allowed = TICKET_TRANSITIONS[source]
        if target in allowed:
            return
        if not allowed:
            raise InvalidTransition(
                f"Ticket {self.id!r}: cannot change status from {source.value!r} to "
                f"{target.value!r}: a closed ticket is final (open a follow-up ticket instead)."
            )
        names = ", ".join(repr(s.value) for s in sorted(allowed, key=lambda s: s.value))
        raise InvalidTransition(
            f"Ticket {self.id!r}: cannot change status from {source.value!r} to "
            f"{target.value!r} (allowed: {names})."
        )

    # ------------------------------------------------------------ queries

    def allows(self, status: TicketStatus | str) -> bool:
        """Whether the ticket may change from its current status to `status`.

        Raises
        ------
        ValidationError
            If `status` is not a ticket status.

        Examples
        --------
        >>> import datetime as dt
        >>> t = Ticket(id="T-2", customer_id="C-1", channel="web", category="incident",
        ...            priority="low", status="closed",
        ...            opened_at=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
        >>> t.allows("open")
        False
        """
        return _as_status(status) in TICKET_TRANSITIONS[self.status]

    # ------------------------------------------------------------ changes

    def _check_time(self, at: dt.datetime, what: str) -> None:
        _check_aware(at, f"{what}(at=...)")
        if at < self.opened_at:
            raise ValidationError(
                f"Ticket {self.id!r}: {what} at {at.isoformat()} is dated before opened_at "
                f"{self.opened_at.isoformat()}."
            )
        if self.events and at < self.events[-1].occurred_at:
            raise ValidationError(
                f"Ticket {self.id!r}: the history is append-only; {what} at {at.isoformat()} "
                f"is dated before the last event {self.events[-1].occurred_at.isoformat()}."
            )

    def transition_to(
        self, status: TicketStatus | str, at: dt.datetime, *, author_id: str | None = None
    ) -> Ticket:
        """Return a new Ticket in `status`, with a ``status_change`` event at `at` appended.

        Raises
        ------
        ValidationError
            If `status` is unknown, `at` is naive, before `opened_at` or before the last
            event (the message names the ticket).
        InvalidTransition
            If :data:`TICKET_TRANSITIONS` does not allow the change (closed is final).
        """
        target = _as_status(status)
        self._check_time(at, "transition_to")
        self._check_move(self.status, target)
        event = TicketEvent(
            kind=TicketEventKind.STATUS_CHANGE, occurred_at=at, status=target, author_id=author_id
        )
        return attrs.evolve(self, status=target, events=(*self.events, event))

    def with_event(self, event: TicketEvent) -> Ticket:
        """Return a new Ticket with `event` appended (a status change also sets `status`).

        Raises
        ------
        ValidationError
            If `event` is not a TicketEvent or is dated before `opened_at` or the last event.
        InvalidTransition
            For a status change the table does not allow.

        Examples
        --------
        >>> import datetime as dt
        >>> utc = dt.timezone.utc
        >>> t = Ticket(id="T-3", customer_id="C-1", channel="chat", category="request",
        ...            priority="normal", opened_at=dt.datetime(2024, 1, 2, tzinfo=utc))
        >>> reply = TicketEvent(kind="agent_reply", occurred_at=dt.datetime(2024, 1, 2, 1, tzinfo=utc))
        >>> len(t.with_event(reply).events), len(t.events)
        (1, 0)
        """  # noqa: E501
        if not isinstance(event, TicketEvent):
            raise fail(self, "with_event(event=...)", "a TicketEvent", event)
        self._check_time(event.occurred_at, f"a {event.kind.value} event")
        if event.status is None:
            return attrs.evolve(self, events=(*self.events, event))
        self._check_move(self.status, event.status)
        return attrs.evolve(self, status=event.status, events=(*self.events, event))
