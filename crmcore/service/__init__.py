"""crmcore.service: tickets, business-hours clocks, SLA policies and service analytics.

- Entities: :class:`Ticket`, :class:`TicketEvent`, :class:`TicketStatus` with its transition
  table :data:`TICKET_TRANSITIONS`, channels, categories and priorities. They import only the
  standard library and attrs.
- Clocks: :class:`BusinessCalendar` (working time between timestamps and deadlines in business
  hours, correct across daylight-saving changes).
- SLAs: :class:`SlaPolicy` (targets per priority for first response, next response and
  resolution) and :func:`sla_status` (met, breached or ongoing, with due, elapsed and remaining
  time per ticket and target); :func:`sla_report` counts the outcomes per priority (or any
  column) into an :class:`SlaReport` with breach rates and a Jupyter display.
- Analytics: :func:`ticket_metrics`, :func:`breach_rate`, :func:`reopen_rate`,
  :func:`one_touch_rate`, :func:`csat`, :func:`backlog_ageing`, :func:`complaint_rate`,
  :func:`cost_to_serve`.

Everything beyond the entities needs pandas and is loaded lazily on first access. The frames
the analytics read are described in the service guide (``docs/service.md``) and converted from
and to entities by :mod:`crmcore.frames`.

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
)
from crmcore.service._entities import (
    Ticket as Ticket,
)
from crmcore.service._entities import (
    TicketCategory as TicketCategory,
)
from crmcore.service._entities import (
    TicketChannel as TicketChannel,
)
from crmcore.service._entities import (
    TicketEvent as TicketEvent,
)
from crmcore.service._entities import (
    TicketEventKind as TicketEventKind,
)
from crmcore.service._entities import (
    TicketPriority as TicketPriority,
)
from crmcore.service._entities import (
    TicketStatus as TicketStatus,
)

if TYPE_CHECKING:  # loaded lazily at run time (needs pandas)
    from crmcore.service._calendar import BusinessCalendar as BusinessCalendar
    from crmcore.service._metrics import (
        backlog_ageing as backlog_ageing,
    )
    from crmcore.service._metrics import (
        breach_rate as breach_rate,
    )
    from crmcore.service._metrics import (
        complaint_rate as complaint_rate,
    )
    from crmcore.service._metrics import (
        cost_to_serve as cost_to_serve,
    )
    from crmcore.service._metrics import (
        csat as csat,
    )
    from crmcore.service._metrics import (
        one_touch_rate as one_touch_rate,
    )
    from crmcore.service._metrics import (
        reopen_rate as reopen_rate,
    )
    from crmcore.service._metrics import (
        ticket_metrics as ticket_metrics,
    )
    from crmcore.service._report import (
        SlaReport as SlaReport,
    )
    from crmcore.service._report import (
        sla_report as sla_report,
    )
    from crmcore.service._sla import (
        SLA_TARGETS as SLA_TARGETS,
    )
    from crmcore.service._sla import (
        SlaPolicy as SlaPolicy,
    )
    from crmcore.service._sla import (
        sla_status as sla_status,
    )

_LAZY: dict[str, str] = {
    "BusinessCalendar": "crmcore.service._calendar",
    "SLA_TARGETS": "crmcore.service._sla",
    "SlaPolicy": "crmcore.service._sla",
    "sla_status": "crmcore.service._sla",
    "SlaReport": "crmcore.service._report",
    "sla_report": "crmcore.service._report",
    **dict.fromkeys(
        (
            "backlog_ageing",
            "breach_rate",
            "complaint_rate",
            "cost_to_serve",
            "csat",
            "one_touch_rate",
            "reopen_rate",
            "ticket_metrics",
        ),
        "crmcore.service._metrics",
    ),
}

__all__ = [
    "SLA_TARGETS",
    "TICKET_TRANSITIONS",
    "BusinessCalendar",
    "SlaPolicy",
    "SlaReport",
    "Ticket",
    "TicketCategory",
    "TicketChannel",
    "TicketEvent",
    "TicketEventKind",
    "TicketPriority",
    "TicketStatus",
    "backlog_ageing",
    "breach_rate",
    "complaint_rate",
    "cost_to_serve",
    "csat",
    "one_touch_rate",
    "reopen_rate",
    "sla_report",
    "sla_status",
    "ticket_metrics",
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
