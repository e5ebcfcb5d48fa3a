"""Invariants of sla_status on Hypothesis-generated tickets (second resolution, three clocks).

Checked against the calendar's public API (working_time / add_working_time), not against
sla_status itself: first-response due and elapsed, remaining = target - elapsed, the status
rule, the resolution due lying before the achievement when the target was reached, events
after as_of changing nothing, and reply targets never un-breaching as as_of moves on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.service._calendar import BusinessCalendar
from crmcore.service._entities import TICKET_TRANSITIONS, TicketStatus
from crmcore.service._sla import SlaPolicy, sla_status

BASE = pd.Timestamp("2024-03-27 00:00", tz="UTC")  # spans the 31 March DST change
CALENDARS: list[BusinessCalendar | None] = [
    None,
    BusinessCalendar(
        hours={d: [("09:00", "17:00")] for d in range(5)},
        tz="Europe/Berlin",
        holidays=[dt.date(2024, 3, 29), dt.date(2024, 4, 1)],
    ),
    BusinessCalendar(
        hours={0: [("22:00", "06:00")], 3: [("20:00", "04:00")]}, tz="America/New_York"
    ),
]
TARGETS = {"first_response": "3h", "next_response": "90min", "resolution": "10h"}
KINDS = ["agent_reply", "customer_reply", "internal_note", "status_change"]


@st.composite
def service_logs(draw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 6))
    tickets, events = [], []
    for i in range(n):
        opened = draw(st.integers(0, 8 * 86400))
        tickets.append((f"H{i}", BASE + pd.Timedelta(seconds=opened)))
        t, status = opened, TicketStatus.NEW
        for _ in range(draw(st.integers(0, 8))):
            t += draw(st.sampled_from([0, 1, 59, 600, 3600, 4 * 3600, 20 * 3600, 50 * 3600]))
            kind = draw(st.sampled_from(KINDS))
            new = None
            if kind == "status_change":
                allowed = sorted(TICKET_TRANSITIONS[status], key=lambda s: s.value)
                if not allowed:
                    continue
                status = draw(st.sampled_from(allowed))
                new = status.value
            auto = kind == "agent_reply" and draw(st.booleans())
            events.append((f"H{i}", BASE + pd.Timedelta(seconds=t), kind, new, auto))
    tk = pd.DataFrame(tickets, columns=["ticket_id", "opened_at"])
    tk["priority"] = "high"
    ev = pd.DataFrame(events, columns=["ticket_id", "occurred_at", "kind", "status", "automatic"])
    ev["occurred_at"] = pd.to_datetime(ev["occurred_at"], utc=True)
    ev["automatic"] = ev["automatic"].astype(bool)
    return tk, ev


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=service_logs(),
    cal=st.sampled_from(CALENDARS),
    as_of_s=st.integers(8 * 86400, 12 * 86400),
)
def test_sla_invariants(data: tuple[pd.DataFrame, pd.DataFrame], cal: Any, as_of_s: int) -> None:
    tickets, events = data
    as_of = BASE + pd.Timedelta(seconds=as_of_s)
    policy = SlaPolicy({"high": TARGETS}, calendar=cal)
    res = sla_status(tickets, events, policy, as_of=as_of)
    opened = pd.DatetimeIndex(tickets["opened_at"])

    def work(a: Any, b: Any) -> Any:
        return (b - a) if cal is None else cal.working_time(a, b)

    def deadline(a: Any, d: pd.Timedelta) -> Any:
        return (a + d) if cal is None else cal.add_working_time(a, d).tz_convert("UTC")

    fr_target = pd.Timedelta(TARGETS["first_response"])
    for i, tid in enumerate(tickets["ticket_id"]):
        r = res.loc[tid]
        due = deadline(opened[i], fr_target)
        assert r["first_response_due"] == due
        end = r["first_response_achieved"] if pd.notna(r["first_response_achieved"]) else as_of
        assert r["first_response_elapsed"] == work(opened[i], end)

    for target, text in TARGETS.items():
        goal = pd.Timedelta(text)
        status = res[f"{target}_status"]
        has = status.notna()
        assert (
            res.loc[has, f"{target}_remaining"] == goal - res.loc[has, f"{target}_elapsed"]
        ).all()
        if target == "next_response":
            continue  # "breached if any cycle was" is checked below
        due, ach = res[f"{target}_due"], res[f"{target}_achieved"]
        done = ach.notna()
        met = done & (ach <= due)
        breached = (done & ~(ach <= due)) | (~done & due.notna() & (as_of > due))
        expected = np.where(met, "met", np.where(breached, "breached", "ongoing"))
        assert (status[has] == pd.Series(expected, index=res.index)[has]).all(), target

    # resolution reached (elapsed >= target): due at or before the achievement / as_of
    res_goal = pd.Timedelta(TARGETS["resolution"])
    reached = res["resolution_elapsed"] >= res_goal
    stop = res["resolution_achieved"].fillna(as_of)
    assert (res.loc[reached, "resolution_due"] <= stop[reached]).all()
    # not reached and not paused: due extrapolated after the stop
    extrapolated = ~reached & res["resolution_due"].notna()
    assert (res.loc[extrapolated, "resolution_due"] >= stop[extrapolated]).all()

    # events after as_of change nothing
    later = events.copy()
    later["occurred_at"] = later["occurred_at"] + pd.Timedelta(days=30)
    shifted = pd.concat([events, later[later["kind"] != "status_change"]], ignore_index=True)
    pd.testing.assert_frame_equal(sla_status(tickets, shifted, policy, as_of=as_of), res)

    # reply targets: a breach stays a breach, a met first response stays met, as time goes on
    after = sla_status(tickets, events, policy, as_of=as_of + pd.Timedelta(days=3))
    for target in ("first_response", "next_response"):
        was = res[f"{target}_status"] == "breached"
        assert (after.loc[was, f"{target}_status"] == "breached").all(), target
    was_met = res["first_response_status"] == "met"
    assert (after.loc[was_met, "first_response_status"] == "met").all()
