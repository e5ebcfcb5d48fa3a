"""crmcore.service: the ticket model and business-time clocks (issue 10, in progress).

Built so far: the ticket entities (:class:`Ticket`, :class:`TicketEvent`,
:class:`TicketStatus` and its transition table, channels, categories, priorities), which import
only the standard library and attrs, and :class:`BusinessCalendar` (working time between
timestamps and deadlines in business hours, correct across daylight-saving changes), which
needs pandas and is loaded lazily on first access. SLA policies and service analytics are
still to come.

Examples
--------
>>> from crmcore.service import TicketStatus
>>> TicketStatus.SOLVED.value
'solved'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crmcore.service._entities import (
    TICKET_TRANSITIONS as TICKET_TRANSITIONS,
    Ticket as Ticket,
    TicketCategory as TicketCategory,
    TicketChannel as TicketChannel,
    TicketEvent as TicketEvent,
    TicketEventKind as TicketEventKind,
    TicketPriority as TicketPriority,
    TicketStatus as TicketStatus,
)

if TYPE_CHECKING:  # loaded lazily at run time (needs pandas)
    from crmcore.service._calendar import BusinessCalendar as BusinessCalendar

_LAZY: dict[str, str] = {"BusinessCalendar": "crmcore.service._calendar"}

__all__ = [
    "TICKET_TRANSITIONS",
    "BusinessCalendar",
    "Ticket",
    "TicketCategory",
    "TicketChannel",
    "TicketEvent",
    "TicketEventKind",
    "TicketPriority",
    "TicketStatus",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore.service' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
