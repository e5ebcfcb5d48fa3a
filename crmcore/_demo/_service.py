"""Demo section: seeded synthetic support tickets for the CDNOW customers, with an SLA report."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crmcore.datasets import load_cdnow_master, simulate_tickets
from crmcore.service import (
    BusinessCalendar,
    SlaPolicy,
    backlog_ageing,
    breach_rate,
    cost_to_serve,
    csat,
    one_touch_rate,
    reopen_rate,
    sla_status,
    ticket_metrics,
)
from crmcore.value import customer_profitability

__all__ = ["CALENDAR", "POLICY", "demo_report"]

_TZ = "America/New_York"
_AS_OF = pd.Timestamp("1998-06-30 18:00", tz=_TZ)

#: US federal holidays of 1997-1998 that fall on weekdays (CDNOW was a US shop).
_HOLIDAYS = [
    dt.date(*d)
    for d in [
        (1997, 1, 1), (1997, 1, 20), (1997, 2, 17), (1997, 5, 26), (1997, 7, 4),
        (1997, 9, 1), (1997, 11, 27), (1997, 12, 25), (1998, 1, 1), (1998, 1, 19),
        (1998, 2, 16), (1998, 5, 25),
    ]
]  # fmt: skip

#: The demo's support desk: Monday to Friday, 9:00-17:00 New York time.
CALENDAR = BusinessCalendar(
    hours={day: [("09:00", "17:00")] for day in range(5)}, tz=_TZ, holidays=_HOLIDAYS
)

#: Zendesk-style targets per priority, in business hours of :data:`CALENDAR`.
POLICY = SlaPolicy(
    targets={
        "urgent": {"first_response": "1h", "resolution": "8h"},
        "high": {"first_response": "4h", "next_response": "8h", "resolution": "16h"},
        "normal": {"first_response": "8h", "next_response": "16h", "resolution": "24h"},
        "low": {"first_response": "16h", "resolution": "40h"},
    },
    calendar=CALENDAR,
    name="CDNOW desk",
)

#: Cost of a ticket by channel and of each agent reply (USD), for the cost to serve.
_CHANNEL_COST = {
    "phone": 6.0,
    "email": 2.5,
    "web": 2.0,
    "chat": 3.0,
    "social": 2.0,
    "in_person": 12.0,
}


def _hours(value: pd.Timedelta) -> str:
    if pd.isna(value):
        return "-"
    minutes = round(value / pd.Timedelta(minutes=1))
    return f"{minutes // 60} h {minutes % 60:02d} min"


def demo_report() -> str:
    """Return the customer-service section of ``python -m crmcore demo``.

    Examples
    --------
    >>> print(demo_report().splitlines()[0])  # doctest: +ELLIPSIS
    Simulated support tickets for the 23,570 CDNOW customers, 1997-01-01 to 1998-06-30: ...
    """
    master = load_cdnow_master()
    customers = pd.unique(master["customer_id"])
    tickets, events = simulate_tickets(
        customers,
        start=pd.Timestamp("1997-01-01", tz=_TZ),
        end=_AS_OF,
        tickets_per_customer=0.3,
        tz=_TZ,
        random_state=7,
    )
    sla = sla_status(tickets, events, POLICY, as_of=_AS_OF)
    metrics = ticket_metrics(tickets, events, as_of=_AS_OF, calendar=CALENDAR)
    by_priority = metrics.groupby("priority", observed=True)["first_response_time"].median()
    rates = breach_rate(sla, by="priority")
    ageing = backlog_ageing(tickets, events, as_of=_AS_OF)
    costs = cost_to_serve(
        tickets, events, cost_per_channel=_CHANNEL_COST, cost_per_reply=1.5, as_of=_AS_OF
    )
    profit = customer_profitability(master, cogs_rate=0.7, cost_per_order=1.0, service_costs=costs)
    served = profit.loc[costs.index]
    lost = int(((served["profit"] < 0) & (served["profit"] + costs > 0)).sum())
    lines = [
        f"Simulated support tickets for the {len(customers):,} CDNOW customers, 1997-01-01 to "
        f"1998-06-30: {len(tickets):,} tickets, {len(events):,} events",
        f"Calendar: {CALENDAR!r}",
        "",
        "SLA breach rate by priority (breached / (met + breached))",
        rates.map(lambda v: "-" if pd.isna(v) else f"{v:.1%}").to_string(),
        "",
        "Median first response time (business hours) by priority",
        by_priority.map(_hours).to_string(),
        "",
        f"reopen rate          {reopen_rate(tickets, events, as_of=_AS_OF):.1%}",
        f"one-touch rate       {one_touch_rate(tickets, events, as_of=_AS_OF):.1%}",
        "CSAT (1-5; 4-5 good, 1-2 bad) "
        f"{csat(tickets, scale={1: 'bad', 2: 'bad', 3: None, 4: 'good', 5: 'good'}):.1%}",
        "",
        f"Backlog at {_AS_OF:%Y-%m-%d %H:%M %Z} by age (calendar time since opened)",
        ageing.to_string(),
        "",
        f"Cost to serve: {costs.sum():,.0f} USD over {len(costs):,} customers; "
        f"{lost:,} of them are profitable before service costs and unprofitable after "
        "(70% cost of goods, 1 USD per order)",
    ]
    return "\n".join(lines)
