"""Service analytics (crmcore.service._metrics): hand-worked tickets and a seeded reference."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
import warnings
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore.exceptions import ColumnNotFoundError, CRMWarning, InvalidTransition, ValidationError
from crmcore.frames import ticket_events_to_frame, tickets_to_frame
from crmcore.service._calendar import BusinessCalendar
from crmcore.service._entities import (
    TICKET_TRANSITIONS,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)
from crmcore.service._metrics import (
    backlog_ageing,
    breach_rate,
    complaint_rate,
    cost_to_serve,
    csat,
    one_touch_rate,
    reopen_rate,
    ticket_metrics,
)
from crmcore.value import customer_profitability

UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = pd.Timedelta(hours=1)
M = pd.Timedelta(minutes=1)
NINE_TO_FIVE = {d: [("09:00", "17:00")] for d in range(5)}


def ts(text: str, tz: Any = "UTC") -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


def frames(rows: list[tuple[Any, ...]], tickets: list[tuple[Any, ...]]) -> tuple[Any, Any]:
    """tickets: (id, opened_at, priority); rows: (id, time, kind, status, automatic)."""
    t = pd.DataFrame(tickets, columns=["ticket_id", "opened_at", "priority"])
    t["opened_at"] = pd.to_datetime(t["opened_at"], utc=True)
    e = pd.DataFrame(rows, columns=["ticket_id", "occurred_at", "kind", "status", "automatic"])
    e["occurred_at"] = pd.to_datetime(e["occurred_at"], utc=True)
    e["automatic"] = e["automatic"].astype(bool)
    return t, e


# ====================================================================== hand-worked tickets


def hand_worked() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        # T-A, opened Mon 2024-03-04 09:00 UTC
        ("A", "2024-03-04 09:01", "agent_reply", None, True),  # automatic: not a response
        ("A", "2024-03-04 09:10", "customer_reply", None, False),
        ("A", "2024-03-04 09:20", "internal_note", None, False),
        ("A", "2024-03-04 09:30", "status_change", "open", False),
        ("A", "2024-03-04 09:45", "agent_reply", None, False),  # first response: 45 min
        ("A", "2024-03-04 10:00", "status_change", "pending", False),
        ("A", "2024-03-04 12:00", "status_change", "open", False),
        ("A", "2024-03-04 13:00", "status_change", "solved", False),  # first resolution: 4 h
        ("A", "2024-03-05 09:00", "status_change", "open", False),  # reopen
        ("A", "2024-03-05 10:00", "agent_reply", None, False),
        ("A", "2024-03-05 11:00", "status_change", "on_hold", False),
        ("A", "2024-03-05 12:00", "status_change", "solved", False),  # last solve: 27 h
        ("A", "2024-03-06 09:00", "status_change", "closed", False),
        # T-B, opened Mon 09:00: solved, reopened, open at as_of
        ("B", "2024-03-04 10:00", "status_change", "solved", False),
        ("B", "2024-03-04 11:00", "status_change", "open", False),
        # T-C, opened Mon 09:00: its only reply comes after as_of (ignored)
        ("C", "2024-03-07 16:00", "agent_reply", None, False),
    ]
    tickets = [
        ("A", "2024-03-04 09:00", "high"),
        ("B", "2024-03-04 09:00", "low"),
        ("C", "2024-03-04 09:00", "urgent"),
    ]
    return frames(rows, tickets)


def test_ticket_metrics_match_a_hand_worked_history_in_elapsed_time() -> None:
    t, e = hand_worked()
    m = ticket_metrics(t, e, as_of="2024-03-07T15:00Z")
    assert list(m.index) == ["A", "B", "C"] and m.index.name == "ticket_id"
    a = m.loc["A"]
    assert a["priority"] == "high" and a["status"] == "closed"
    assert a["first_response_time"] == 45 * M  # 09:00 -> 09:45 (the 09:01 reply is automatic)
    assert a["first_resolution_time"] == 4 * H  # 09:00 -> 13:00
    assert a["full_resolution_time"] == 27 * H  # Mon 09:00 -> Tue 12:00
    assert a["reopens"] == 1 and a["agent_replies"] == 2
    # new 09:00-09:30 (0.5 h) + open 09:30-10:00 (0.5) + open 12-13 (1) + open Tue 9-11 (2)
    # + on hold Tue 11-12 (1) = 5 h; closed/solved time does not count
    assert a["requester_wait_time"] == 5 * H
    assert a["agent_wait_time"] == 2 * H  # pending 10:00-12:00
    b = m.loc["B"]
    assert b["status"] == "open" and b["reopens"] == 1
    assert b["first_resolution_time"] == 1 * H
    assert pd.isna(b["full_resolution_time"])  # open at as_of
    assert pd.isna(b["first_response_time"]) and b["agent_replies"] == 0
    # new Mon 09-10 (1 h) + open Mon 11:00 -> Thu 15:00 (3 days 4 h)
    assert b["requester_wait_time"] == 1 * H + pd.Timedelta(days=3, hours=4)
    c = m.loc["C"]
    assert pd.isna(c["first_response_time"]) and c["agent_replies"] == 0  # reply after as_of
    assert c["requester_wait_time"] == pd.Timedelta(days=3, hours=6)  # new Mon 09 -> Thu 15
    assert m["reopens"].dtype == np.int64 and m["first_response_time"].dtype == "m8[ns]"


def test_ticket_metrics_in_business_hours_of_a_nine_to_five_calendar() -> None:
    cal = BusinessCalendar(hours=NINE_TO_FIVE, tz="Europe/Berlin")
    rows = [
        ("X", ts("2024-03-11 10:00", BERLIN), "agent_reply", None, False),
        ("X", ts("2024-03-11 10:00", BERLIN), "status_change", "pending", False),
        ("X", ts("2024-03-11 15:00", BERLIN), "status_change", "open", False),
        ("X", ts("2024-03-12 11:00", BERLIN), "status_change", "solved", False),
    ]
    t, e = frames(rows, [("X", ts("2024-03-08 16:00", BERLIN), "normal")])  # a Friday
    m = ticket_metrics(t, e, as_of=ts("2024-03-13 12:00", BERLIN), calendar=cal).loc["X"]
    assert m["first_response_time"] == 2 * H  # Fri 16-17 + Mon 09-10
    assert m["first_resolution_time"] == 11 * H  # Fri 1 h + Mon 8 h + Tue 09-11 2 h
    assert m["full_resolution_time"] == 11 * H
    # new Fri 16:00 -> Mon 10:00 = 2 h; open Mon 15:00 -> Tue 11:00 = 2 h + 2 h
    assert m["requester_wait_time"] == 6 * H
    assert m["agent_wait_time"] == 5 * H  # pending Mon 10:00-15:00
    elapsed = ticket_metrics(t, e, as_of=ts("2024-03-13 12:00", BERLIN)).loc["X"]
    assert elapsed["first_response_time"] == pd.Timedelta(days=2, hours=18)  # Fri 16 -> Mon 10


def test_ticket_metrics_leave_out_tickets_opened_after_as_of_with_a_warning() -> None:
    t, e = hand_worked()
    with pytest.warns(CRMWarning, match="3 of 3 tickets"):
        m = ticket_metrics(t, e.iloc[:13], as_of="2024-03-04T08:00Z")
    assert len(m) == 0  # all three opened at 09:00
    later = t.assign(opened_at=t["opened_at"] - pd.Timedelta(days=1) * np.array([1, 1, 0]))
    with pytest.warns(CRMWarning, match="1 of 3 tickets"):
        m = ticket_metrics(later, e.iloc[:13], as_of="2024-03-04T08:00Z")
    assert list(m.index) == ["A", "B"]


def test_ticket_metrics_do_not_mutate_and_accept_polars() -> None:
    t, e = hand_worked()
    t_copy, e_copy = t.copy(), e.copy()
    got = ticket_metrics(t, e, as_of="2024-03-07T15:00Z")
    pd.testing.assert_frame_equal(t, t_copy)
    pd.testing.assert_frame_equal(e, e_copy)
    shuffled = e.sample(frac=1.0, random_state=1)  # events in any order
    via_polars = ticket_metrics(
        pl.from_pandas(t), pl.from_pandas(shuffled), as_of="2024-03-07T15:00Z"
    )
    pd.testing.assert_frame_equal(via_polars, got)


def test_ticket_metrics_bad_inputs_raise_clear_errors() -> None:
    t, e = hand_worked()
    with pytest.raises(ValidationError, match="tz-aware"):
        ticket_metrics(t, e, as_of=dt.datetime(2024, 3, 7))
    with pytest.raises(ValidationError, match="calendar"):
        ticket_metrics(t, e, as_of="2024-03-07T15:00Z", calendar="9-17")  # type: ignore[arg-type]
    bad = pd.concat(  # A is closed on Wed 09:00; closed is final
        [
            e,
            pd.DataFrame(
                [["A", ts("2024-03-06 10:00"), "status_change", "open", False]], columns=e.columns
            ),
        ],
        ignore_index=True,
    )
    with pytest.raises(InvalidTransition, match="closed -> open"):
        ticket_metrics(t, bad, as_of="2024-03-07T15:00Z")
    early = e.copy()
    early.loc[0, "occurred_at"] = ts("2024-03-04 08:00")
    with pytest.raises(ValidationError, match="before its ticket's opened_at"):
        ticket_metrics(t, early, as_of="2024-03-07T15:00Z")
    with pytest.raises(ColumnNotFoundError, match="priority"):
        ticket_metrics(t.drop(columns="priority"), e, as_of="2024-03-07T15:00Z")


# ====================================================================== breach_rate


def test_breach_rate_by_priority_and_overall_hand_worked() -> None:
    sla = pd.DataFrame(
        {
            "priority": ["urgent", "urgent", "urgent", "low", "low", "normal"],
            "first_response_status": ["met", "breached", "breached", "met", "ongoing", None],
            "resolution_status": ["ongoing", "met", "breached", "missing", "met", "breached"],
            "first_response_due": pd.NaT,  # other columns are ignored
        }
    )
    got = breach_rate(sla)
    assert list(got.index) == ["low", "normal", "high", "urgent"]
    assert list(got.columns) == ["first_response", "resolution"]
    # urgent first response: 2 breached / (1 met + 2 breached); low: 0 / 1; normal: none decided
    assert got.loc["urgent", "first_response"] == pytest.approx(2 / 3)
    assert got.loc["low", "first_response"] == 0.0
    assert math.isnan(got.loc["normal", "first_response"])
    assert math.isnan(got.loc["high", "resolution"])
    assert got.loc["urgent", "resolution"] == 0.5  # met + breached, ongoing left out
    assert got.loc["normal", "resolution"] == 1.0
    overall = breach_rate(sla, by=None)
    assert list(overall.index) == ["all"]
    assert overall.loc["all", "first_response"] == 0.5  # 2 / (2 met + 2 breached)
    assert overall.loc["all", "resolution"] == 0.5  # 2 / (2 met + 2 breached)


def test_breach_rate_by_another_column_orders_targets() -> None:
    sla = pd.DataFrame(
        {
            "team": ["b", "a", "a"],
            "resolution_status": ["met", "Breached", "met"],
            "next_response_status": ["breached", "met", "met"],
        }
    )
    got = breach_rate(sla, by="team")
    assert list(got.columns) == ["next_response", "resolution"]
    assert list(got.index) == ["a", "b"] and got.index.name == "team"
    assert got.loc["a", "resolution"] == 0.5 and got.loc["b", "next_response"] == 1.0


def test_breach_rate_refuses_bad_frames() -> None:
    with pytest.raises(ValidationError, match="_status"):
        breach_rate(pd.DataFrame({"priority": ["low"], "status": ["met"]}))
    with pytest.raises(ValidationError, match="late"):
        breach_rate(pd.DataFrame({"priority": ["low"], "resolution_status": ["late"]}))
    with pytest.raises(ColumnNotFoundError, match="team"):
        breach_rate(pd.DataFrame({"resolution_status": ["met"]}), by="team")
    with pytest.raises(ValidationError, match="priority"):
        breach_rate(pd.DataFrame({"priority": ["p1"], "resolution_status": ["met"]}))
    with pytest.raises(ValidationError, match="no value"):
        breach_rate(pd.DataFrame({"priority": [None], "resolution_status": ["met"]}))


# ====================================================================== reopen / one-touch


def test_reopen_and_one_touch_rates_hand_worked() -> None:
    t, e = hand_worked()
    # solved at least once: A, B; reopened: A, B -> 2 / 2
    assert reopen_rate(t, e, as_of="2024-03-07T15:00Z") == 1.0
    # before B's reopen (10:30): solved A? no (13:00), B yes; reopened none -> 0 / 1
    assert reopen_rate(t, e, as_of="2024-03-04T10:30Z") == 0.0
    assert math.isnan(reopen_rate(t, e, as_of="2024-03-04T09:30Z"))  # nothing solved yet
    # resolved at as_of: A only (closed) with 2 replies -> 0 / 1
    assert one_touch_rate(t, e, as_of="2024-03-07T15:00Z") == 0.0
    # at Mon 14:00 A is solved with 1 reply, B open again -> 1 / 1
    assert one_touch_rate(t, e, as_of="2024-03-04T14:00Z") == 1.0
    by = reopen_rate(t, e, as_of="2024-03-07T15:00Z", by="priority")
    assert isinstance(by, pd.Series) and by.name == "reopen_rate"
    assert list(by.index) == ["low", "normal", "high", "urgent"]
    assert by["low"] == 1.0 and by["high"] == 1.0 and math.isnan(by["urgent"])


def test_one_touch_ignores_automatic_replies_and_notes() -> None:
    rows = [
        ("P", "2024-03-04 09:05", "agent_reply", None, True),
        ("P", "2024-03-04 09:06", "internal_note", None, False),
        ("P", "2024-03-04 09:10", "agent_reply", None, False),
        ("P", "2024-03-04 09:20", "status_change", "solved", False),
        ("Q", "2024-03-04 09:20", "status_change", "solved", False),  # no reply at all
    ]
    t, e = frames(rows, [("P", "2024-03-04 09:00", "low"), ("Q", "2024-03-04 09:00", "low")])
    assert one_touch_rate(t, e, as_of="2024-03-05T00:00Z") == 0.5  # P yes, Q no -> 1 / 2


# ====================================================================== CSAT


def test_csat_good_bad_case_insensitive_and_missing_left_out() -> None:
    t = pd.DataFrame({"satisfaction": ["good", " GOOD", "bad", None, np.nan, "Good"]})
    assert csat(t) == 0.75  # 3 good / (3 good + 1 bad)
    assert math.isnan(csat(pd.DataFrame({"satisfaction": [None, None]})))


def test_csat_on_a_one_to_five_scale_and_by_group() -> None:
    five = {5: "good", 4: "good", 3: None, 2: "bad", 1: "bad"}
    t = pd.DataFrame({"satisfaction": [5, 4, 3, 3, 2, 1, 1, None], "team": list("aabbbbab")})
    assert csat(t, scale=five) == 0.4  # good 5, 4 = 2; bad 2, 1, 1 = 3 -> 2 / 5
    by = csat(t, scale=lambda r: None if r == 3 else ("good" if r >= 4 else "bad"), by="team")
    assert isinstance(by, pd.Series) and by.name == "csat"
    assert by["a"] == pytest.approx(2 / 3)  # a: 5, 4, 1 -> 2 / 3
    assert by["b"] == 0.0  # b: 3, 3, 2, 1, None -> 0 / 2


def test_csat_refuses_unmapped_ratings_naming_them() -> None:
    with pytest.raises(ValidationError, match=r"values: 5, 4; 2 rows.*Hint: pass scale="):
        csat(pd.DataFrame({"satisfaction": [5, 4, "good"]}))
    with pytest.raises(ValidationError, match=r"values: 2"):
        csat(pd.DataFrame({"satisfaction": [5, 2]}), scale={5: "good"})
    with pytest.raises(ValidationError, match="must map ratings"):
        csat(pd.DataFrame({"satisfaction": [5]}), scale={5: "great"})
    with pytest.raises(ValidationError, match="scale"):
        csat(pd.DataFrame({"satisfaction": [5]}), scale=[5])  # type: ignore[arg-type]
    with pytest.raises(ColumnNotFoundError, match="satisfaction"):
        csat(pd.DataFrame({"rating": [5]}))


# ====================================================================== backlog


def test_backlog_ageing_buckets_by_priority_hand_worked() -> None:
    tickets = [
        ("a", "2024-03-19 12:00", "low"),  # 12 h -> "< 1 day"
        ("b", "2024-03-19 00:00", "high"),  # exactly 1 day -> "1-3 days"
        ("c", "2024-03-10 00:00", "high"),  # 10 days -> "7-14 days"
        ("d", "2024-02-01 00:00", "urgent"),  # 48 days -> "30+ days"
        ("e", "2024-03-18 00:00", "normal"),  # solved -> not in the backlog
        ("f", "2024-03-15 00:00", "normal"),  # pending, 5 days -> "3-7 days"
        ("g", "2024-03-01 00:00", "low"),  # reopened, 19 days -> "14-30 days"
    ]
    rows = [
        ("e", "2024-03-19 00:00", "status_change", "solved", False),
        ("f", "2024-03-16 00:00", "status_change", "pending", False),
        ("g", "2024-03-02 00:00", "status_change", "solved", False),
        ("g", "2024-03-03 00:00", "status_change", "open", False),
    ]
    t, e = frames(rows, tickets)
    got = backlog_ageing(t, e, as_of="2024-03-20T00:00Z")
    assert got.index.name == "age"
    assert list(got.index) == [
        "< 1 day",
        "1-3 days",
        "3-7 days",
        "7-14 days",
        "14-30 days",
        "30+ days",
    ]
    assert list(got.columns) == ["low", "normal", "high", "urgent"]
    expected = np.array(
        [
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [1, 0, 0, 0],
            [0, 0, 0, 1],
        ]
    )
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert (got.dtypes == np.int64).all()


def test_backlog_ageing_in_business_hours() -> None:
    cal = BusinessCalendar(hours=NINE_TO_FIVE, tz="UTC")
    tickets = [
        ("m", "2024-03-18 09:00", "low"),  # Mon 09:00: Mon 8 h + Tue 8 h = 16 h (elapsed 39 h)
        ("n", "2024-03-14 09:00", "low"),  # Thu 09:00: Thu, Fri, Mon, Tue = 32 h (elapsed 135 h)
    ]
    t, e = frames([], tickets)
    as_of = "2024-03-20T00:00Z"  # Wed 00:00
    business = backlog_ageing(t, e, as_of=as_of, buckets=("8h", "1D", "2D"), by=None, calendar=cal)
    assert list(business.index) == ["< 8 hours", "8-24 hours", "24-48 hours", "48+ hours"]
    assert list(business.columns) == ["tickets"]
    assert business["tickets"].tolist() == [0, 1, 1, 0]
    elapsed = backlog_ageing(t, e, as_of=as_of, buckets=("8h", "1D", "2D"), by=None)
    assert elapsed["tickets"].tolist() == [0, 0, 1, 1]


def test_backlog_ageing_refuses_bad_buckets() -> None:
    t, e = hand_worked()
    for bad in (("3D", "1D"), ("1D", "1D"), (), ("-1D",), "1D", ("soon",)):
        with pytest.raises(ValidationError, match="buckets"):
            backlog_ageing(t, e, as_of="2024-03-07T15:00Z", buckets=bad)


# ====================================================================== complaints and cost


def test_complaint_rate_per_customer_with_orders() -> None:
    t = pd.DataFrame(
        {
            "ticket_id": ["1", "2", "3", "4"],
            "customer_id": ["a", "a", "b", "a"],
            "category": ["complaint", "question", "incident", "Complaint"],
        }
    )
    plain = complaint_rate(t)
    assert list(plain.index) == ["a", "b"] and plain.index.name == "customer_id"
    assert plain.loc["a"].tolist() == [3, 2, pytest.approx(2 / 3)]
    assert plain.loc["b"].tolist() == [1, 0, 0.0]
    orders = pd.DataFrame({"customer_id": ["a"] * 4 + ["c"]})
    got = complaint_rate(t, orders=orders)
    assert list(got.index) == ["a", "b", "c"]
    assert got["orders"].tolist() == [4, 0, 1]
    assert got.loc["a", "complaints_per_order"] == 0.5  # 2 complaints / 4 orders
    assert math.isnan(got.loc["b", "complaints_per_order"])  # no orders
    assert got.loc["c", "complaints_per_order"] == 0.0 and math.isnan(
        got.loc["c", "complaint_share"]
    )
    with pytest.raises(ValidationError, match="rant"):
        complaint_rate(t.assign(category=["rant", "question", "incident", "request"]))


def test_cost_to_serve_per_ticket_channel_and_reply_feeds_profitability() -> None:
    t, e = hand_worked()
    t = t.assign(customer_id=["c1", "c2", "c1"], channel=["phone", "email", "chat"])
    got = cost_to_serve(
        t,
        e,
        cost_per_ticket=1.0,
        cost_per_channel={"phone": 6.0, "email": 2.0, "chat": 3.0},
        cost_per_reply=0.5,
        as_of="2024-03-07T15:00Z",
    )
    # c1: A (1 + 6 + 2 replies * 0.5 = 8) + C (1 + 3 + 0 replies: the reply is after as_of) = 12
    # c2: B (1 + 2 + 0) = 3
    assert got.name == "service_cost" and got.index.name == "customer_id"
    assert got.to_dict() == {"c1": 12.0, "c2": 3.0}
    # without as_of every event counts: C's reply adds 0.5
    assert cost_to_serve(t, e, cost_per_reply=0.5).to_dict() == {"c1": 1.5, "c2": 0.0}
    orders = pd.DataFrame({"customer_id": ["c1", "c2"], "amount": [100.0, 50.0]})
    profit = customer_profitability(orders, service_costs=got)
    assert profit.loc["c1", "service_cost"] == 12.0 and profit.loc["c2", "profit"] == 47.0


def test_cost_to_serve_refuses_bad_costs() -> None:
    t = pd.DataFrame({"customer_id": ["a"], "channel": ["phone"]})
    with pytest.raises(ValidationError, match="at least one"):
        cost_to_serve(t)
    with pytest.raises(ValidationError, match="cost_per_ticket"):
        cost_to_serve(t, cost_per_ticket=-1.0)
    with pytest.raises(ValidationError, match="'fax'"):
        cost_to_serve(t, cost_per_channel={"fax": 1.0})
    with pytest.raises(ValidationError, match=r"channels: phone"):
        cost_to_serve(t, cost_per_channel={"email": 1.0})
    with pytest.raises(ValidationError, match="cost_per_channel"):
        cost_to_serve(t, cost_per_channel={"phone": float("nan")})
    with pytest.raises(ValidationError, match="events"):
        cost_to_serve(t, cost_per_reply=1.0)


# ====================================================================== seeded reference


def random_tickets(n: int, seed: int) -> Iterator[tuple[Ticket, int]]:
    """Tickets with valid random histories (and a 1-5 score beside each)."""
    rng = np.random.default_rng(seed)
    zones = [UTC, BERLIN, NEW_YORK]
    base = dt.datetime(2024, 3, 20, tzinfo=UTC)  # histories cross the DST changes
    priorities = ["low", "normal", "high", "urgent"]
    for i in range(n):
        opened = base + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 14)))
        t = Ticket(
            id=f"T-{i:04d}",
            customer_id=f"C-{int(rng.integers(30))}",
            opened_at=opened.astimezone(zones[int(rng.integers(3))]),
            channel=str(rng.choice(["phone", "email", "web", "chat"])),
            category=str(rng.choice(["incident", "question", "complaint"])),
            priority=priorities[int(rng.integers(4))],
            satisfaction=[None, "good", "bad", "Good"][int(rng.integers(4))],
        )
        now = opened
        for _ in range(int(rng.integers(0, 10))):
            now = now + dt.timedelta(minutes=int(rng.integers(0, 60 * 30)))  # ties possible
            when = now.astimezone(zones[int(rng.integers(3))])
            draw = rng.random()
            targets = sorted(TICKET_TRANSITIONS[t.status], key=lambda s: s.value)
            if draw < 0.5 and targets:
                t = t.transition_to(targets[int(rng.integers(len(targets)))], when)
            elif draw < 0.8:
                auto = bool(rng.random() < 0.25)
                t = t.with_event(TicketEvent(kind="agent_reply", occurred_at=when, automatic=auto))
            elif draw < 0.9:
                t = t.with_event(TicketEvent(kind="customer_reply", occurred_at=when))
            else:
                t = t.with_event(TicketEvent(kind="internal_note", occurred_at=when))
        yield t, int(rng.integers(1, 6))


def reference(ticket: Ticket, as_of: dt.datetime, work: Any) -> dict[str, Any]:
    """Plain per-ticket computation; every time in UTC (same-zone datetime subtraction would
    read the wall clock across a DST change)."""
    opened = ticket.opened_at.astimezone(UTC)
    events = [e for e in ticket.events if e.occurred_at.astimezone(UTC) <= as_of]
    replies = [
        e.occurred_at.astimezone(UTC)
        for e in events
        if e.kind is TicketEventKind.AGENT_REPLY and not e.automatic
    ]
    changes = [
        (e.occurred_at.astimezone(UTC), e.status)
        for e in events
        if e.kind is TicketEventKind.STATUS_CHANGE
    ]
    solves = [when for when, status in changes if status is TicketStatus.SOLVED]
    status = changes[-1][1] if changes else TicketStatus.NEW
    resolved = status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
    waits = {"requester": pd.Timedelta(0), "agent": pd.Timedelta(0)}
    current, since = TicketStatus.NEW, opened
    for when, new in [*changes, (as_of, None)]:
        if current in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD):
            waits["requester"] += work(since, when)
        elif current is TicketStatus.PENDING:
            waits["agent"] += work(since, when)
        if new is not None:
            current, since = new, when
    return {
        "status": status.value,
        "first_response_time": work(opened, replies[0]) if replies else pd.NaT,
        "first_resolution_time": work(opened, solves[0]) if solves else pd.NaT,
        "full_resolution_time": work(opened, solves[-1]) if solves and resolved else pd.NaT,
        "reopens": sum(
            1
            for (_, a), (_, b) in itertools.pairwise(changes)
            if a is TicketStatus.SOLVED and b is TicketStatus.OPEN
        ),
        "agent_replies": len(replies),
        "requester_wait_time": waits["requester"],
        "agent_wait_time": waits["agent"],
        "solved_ever": bool(solves),
        "resolved": resolved,
    }


SEEDED = list(random_tickets(500, seed=20240331))
AS_OF = dt.datetime(2024, 4, 1, 12, tzinfo=UTC)


def seeded_frames() -> tuple[list[Ticket], pd.DataFrame, pd.DataFrame]:
    tickets = [t for t, _ in SEEDED]
    return tickets, tickets_to_frame(tickets), ticket_events_to_frame(tickets)


def _same(got: Any, want: Any) -> bool:
    if pd.isna(want):
        return bool(pd.isna(got))
    return bool(got == want)


def test_seeded_ticket_metrics_equal_a_per_ticket_loop() -> None:
    tickets, t, e = seeded_frames()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)  # tickets opened after AS_OF
        m = ticket_metrics(t, e, as_of=AS_OF)
    kept = [x for x in tickets if x.opened_at <= AS_OF]
    assert 50 < len(kept) < len(tickets)  # some are left out, most are kept
    assert list(m.index) == [x.id for x in kept]
    elapsed = lambda a, b: pd.Timedelta(b - a)  # noqa: E731
    columns = [c for c in m.columns if c != "priority"]
    for ticket in kept:
        want = reference(ticket, AS_OF, elapsed)
        for column in columns:
            assert _same(m.loc[ticket.id, column], want[column]), (ticket.id, column)
    # median first response, over the tickets with a response
    values = [
        v for x in kept if not pd.isna(v := reference(x, AS_OF, elapsed)["first_response_time"])
    ]
    assert len(values) > 50
    assert m["first_response_time"].median() == statistics.median(values)
    assert m["reopens"].sum() > 5 and (m["status"] == "closed").sum() > 5  # the draw is varied


def test_seeded_ticket_metrics_in_business_time_equal_a_per_ticket_loop() -> None:
    cal = BusinessCalendar(hours=NINE_TO_FIVE, tz="Europe/Berlin")
    tickets = [t for t, _ in SEEDED[:80] if t.opened_at <= AS_OF]
    m = ticket_metrics(
        tickets_to_frame(tickets), ticket_events_to_frame(tickets), as_of=AS_OF, calendar=cal
    )
    work = lambda a, b: cal.working_time(pd.Timestamp(a), pd.Timestamp(b))  # noqa: E731
    for ticket in tickets:
        want = reference(ticket, AS_OF, work)
        for column in (
            "first_response_time",
            "full_resolution_time",
            "requester_wait_time",
            "agent_wait_time",
        ):
            assert _same(m.loc[ticket.id, column], want[column]), (ticket.id, column)


def test_seeded_rates_equal_a_per_ticket_loop() -> None:
    tickets, t, e = seeded_frames()
    kept = [x for x in tickets if x.opened_at <= AS_OF]
    refs = {x.id: reference(x, AS_OF, lambda a, b: pd.Timedelta(b - a)) for x in kept}
    solved = [r for r in refs.values() if r["solved_ever"]]
    resolved = [r for r in refs.values() if r["resolved"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        reopen = reopen_rate(t, e, as_of=AS_OF)
        one_touch = one_touch_rate(t, e, as_of=AS_OF)
        by_priority = reopen_rate(t, e, as_of=AS_OF, by="priority")
    assert reopen == pytest.approx(sum(r["reopens"] > 0 for r in solved) / len(solved))
    assert one_touch == pytest.approx(
        sum(r["agent_replies"] == 1 for r in resolved) / len(resolved)
    )
    assert 0 < one_touch < 1 and 0 < reopen < 1
    for priority in ("low", "normal", "high", "urgent"):
        group = [
            refs[x.id] for x in kept if x.priority.value == priority and refs[x.id]["solved_ever"]
        ]
        want = sum(r["reopens"] > 0 for r in group) / len(group)
        assert isinstance(by_priority, pd.Series)
        assert by_priority[priority] == pytest.approx(want)


def test_seeded_csat_good_bad_and_five_point_equal_a_loop() -> None:
    tickets = [t for t, _ in SEEDED]
    scores = [s for _, s in SEEDED]
    frame = tickets_to_frame(tickets)
    good = sum(1 for x in tickets if x.satisfaction in ("good", "Good"))
    bad = sum(1 for x in tickets if x.satisfaction == "bad")
    assert csat(frame) == pytest.approx(good / (good + bad))
    five = frame.assign(satisfaction=scores)
    good5 = sum(1 for s in scores if s >= 4)
    bad5 = sum(1 for s in scores if s <= 2)
    scale = {5: "good", 4: "good", 3: None, 2: "bad", 1: "bad"}
    assert csat(five, scale=scale) == pytest.approx(good5 / (good5 + bad5))


def test_seeded_breach_rate_by_priority_equals_a_loop() -> None:
    rng = np.random.default_rng(7)
    n = 500
    priorities = rng.choice(["low", "normal", "high", "urgent"], n)
    first = rng.choice(["met", "breached", "ongoing", "missing"], n, p=[0.5, 0.2, 0.2, 0.1])
    resolution = rng.choice(["met", "breached", "ongoing"], n)
    sla = pd.DataFrame(
        {"priority": priorities, "first_response_status": first, "resolution_status": resolution},
        index=pd.Index([f"T-{i}" for i in range(n)], name="ticket_id"),
    )
    got = breach_rate(sla)
    for priority in ("low", "normal", "high", "urgent"):
        for target, column in (("first_response", first), ("resolution", resolution)):
            breached = decided = 0
            for p, s in zip(priorities, column, strict=True):
                if p == priority and s in ("met", "breached"):
                    decided += 1
                    breached += s == "breached"
            assert got.loc[priority, target] == pytest.approx(breached / decided)


# ====================================================================== edges


def test_aggregates_accept_polars_and_do_not_mutate() -> None:
    t = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "category": ["complaint", "question", "request"],
            "channel": ["phone", "email", "phone"],
            "satisfaction": ["good", "bad", None],
            "priority": ["low", "high", "high"],
            "resolution_status": ["met", "breached", "ongoing"],
        }
    )
    before = t.copy()
    assert csat(pl.from_pandas(t)) == 0.5
    pd.testing.assert_frame_equal(
        breach_rate(pl.from_pandas(t[["priority", "resolution_status"]])),
        breach_rate(t),
    )
    assert complaint_rate(pl.from_pandas(t))["complaints"].tolist() == [1, 0]
    assert cost_to_serve(t, cost_per_channel={"phone": 2.0, "email": 1.0}).tolist() == [4.0, 1.0]
    pd.testing.assert_frame_equal(t, before)


def test_by_must_be_a_column_name() -> None:
    t, e = hand_worked()
    with pytest.raises(ValidationError, match="'by' parameter of reopen_rate"):
        reopen_rate(t, e, as_of="2024-03-07T15:00Z", by=["priority"])  # type: ignore[arg-type]
    with pytest.raises(ColumnNotFoundError, match="channel"):
        one_touch_rate(t, e, as_of="2024-03-07T15:00Z", by="channel")
    with pytest.raises(ValidationError, match="no value"):
        csat(pd.DataFrame({"satisfaction": ["good"], "team": [None]}), by="team")
