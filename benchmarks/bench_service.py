"""Customer service: SLA status and ticket metrics of many tickets in business hours.

Cases (goal of issue 10; no peer library computes business-hours SLA clocks from ticket
events, so the rows report seconds against the goal, not a ratio):

* ``sla_status`` of 1,000,000 tickets (quick: 50,000) simulated by
  :func:`crmcore.datasets.simulate_tickets`, with first-response, next-response and resolution
  targets per priority on a Monday-Friday 9-17 Europe/Berlin calendar with holidays. Reported:
  the met / breached / ongoing counts of the resolution target. Goal < 5 s.
* ``ticket_metrics`` of the same tickets in business time. Reported: tickets without a reply
  and the count of negative first-response times (must be 0).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
from _timing import best, peak_mb, row

from crmcore.datasets import simulate_tickets
from crmcore.service import BusinessCalendar, SlaPolicy, sla_status, ticket_metrics

_TZ = "Europe/Berlin"
_HOLIDAYS = [
    dt.date(*d)
    for d in [
        (2024, 1, 1), (2024, 3, 29), (2024, 4, 1), (2024, 5, 1), (2024, 5, 9), (2024, 5, 20),
        (2024, 10, 3), (2024, 12, 25), (2024, 12, 26), (2025, 1, 1), (2025, 4, 18),
        (2025, 4, 21), (2025, 5, 1), (2025, 5, 29), (2025, 6, 9), (2025, 10, 3),
        (2025, 12, 25), (2025, 12, 26),
    ]
]  # fmt: skip


def run(quick: bool = False) -> list[dict[str, object]]:
    """Run the benchmark cases; ``quick`` uses small sizes (a few seconds)."""
    warnings.filterwarnings("ignore")
    repeat = 2 if quick else 3
    n_customers = 150_000 if quick else 3_000_000
    calendar = BusinessCalendar(
        hours={day: [("09:00", "17:00")] for day in range(5)}, tz=_TZ, holidays=_HOLIDAYS
    )
    policy = SlaPolicy(
        targets={
            "urgent": {"first_response": "1h", "next_response": "2h", "resolution": "8h"},
            "high": {"first_response": "4h", "next_response": "8h", "resolution": "16h"},
            "normal": {"first_response": "8h", "next_response": "16h", "resolution": "24h"},
            "low": {"first_response": "16h", "next_response": "24h", "resolution": "40h"},
        },
        calendar=calendar,
    )
    as_of = pd.Timestamp("2025-12-31 18:00", tz=_TZ)
    tickets, events = simulate_tickets(
        np.arange(n_customers),
        start=pd.Timestamp("2024-01-01", tz=_TZ),
        end=as_of,
        tickets_per_customer=1 / 3,
        tz=_TZ,
        random_state=0,
    )
    size = f"{len(tickets):,} tickets, {len(events):,} events"

    ours = best(lambda: sla_status(tickets, events, policy, as_of=as_of), repeat)
    peak = peak_mb(lambda: sla_status(tickets, events, policy, as_of=as_of))
    sla = sla_status(tickets, events, policy, as_of=as_of)
    counts = sla["resolution_status"].value_counts()
    note = (
        "resolution met/breached/ongoing "
        f"{counts.get('met', 0):,}/{counts.get('breached', 0):,}/{counts.get('ongoing', 0):,}; "
        "goal < 5 s"
    )
    rows = [row(f"sla_status, {size}, business hours", ours, "-", None, peak, note)]

    ours = best(lambda: ticket_metrics(tickets, events, as_of=as_of, calendar=calendar), repeat)
    metrics = ticket_metrics(tickets, events, as_of=as_of, calendar=calendar)
    first = metrics["first_response_time"]
    negative = int((first < pd.Timedelta(0)).sum())
    note = f"{int(first.isna().sum()):,} tickets without a reply; {negative} negative times"
    rows.append(row(f"ticket_metrics, {size}, business hours", ours, "-", None, None, note))
    return rows
