"""Ticket and ticket-event frames <-> Ticket entities (crmcore.frames): round trips, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, InvalidTransition, ValidationError
from crmcore.frames import (
    TICKET_COLUMNS,
    TICKET_EVENT_COLUMNS,
    frame_to_tickets,
    ticket_events_to_frame,
    tickets_to_frame,
)
from crmcore.service._entities import (
    TICKET_TRANSITIONS,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEvent,
    TicketPriority,
    TicketStatus,
)

UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [ZoneInfo(k) for k in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")]


def at(day: int, hour: int, minute: int = 0, tz: Any = UTC) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, tzinfo=tz)


def sample_tickets() -> list[Ticket]:
    a = Ticket(
        id="T-1",
        customer_id="C-1",
        contact_id="K-1",
        opened_at=at(1, 9, tz=BERLIN),  # 08:00 UTC
        channel="email",
        category="complaint",
        priority="high",
        satisfaction=5,
    )
    a = a.with_event(TicketEvent(kind="agent_reply", occurred_at=at(1, 8, 1), automatic=True))
    a = a.transition_to("open", at(1, 9), author_id="ann")
    a = a.with_event(TicketEvent(kind="agent_reply", occurred_at=at(1, 9), author_id="ann"))
    a = a.transition_to("solved", at(1, 12))
    a = a.transition_to("open", at(2, 8))  # reopened
    a = a.transition_to("solved", at(2, 9))
    b = Ticket(
        id="T-2",
        customer_id="C-2",
        opened_at=at(3, 10),
        channel="phone",
        category="question",
        priority="low",
        satisfaction="good",
    )
    c = Ticket(  # a snapshot without history may be in any status
        id="T-3",
        customer_id="C-1",
        opened_at=at(4, 11, tz=ZoneInfo("America/New_York")),
        channel="web",
        category="return_claim",
        priority="urgent",
        status="pending",
    )
    return [a, b, c]


# ------------------------------------------------------------------ to frames


def test_ticket_frame_has_the_documented_columns_and_dtypes() -> None:
    frame = tickets_to_frame(sample_tickets())
    assert tuple(frame.columns) == TICKET_COLUMNS
    assert list(frame.columns) == [
        "ticket_id",
        "customer_id",
        "contact_id",
        "opened_at",
        "channel",
        "category",
        "priority",
        "status",
        "satisfaction",
    ]
    assert str(frame["opened_at"].dtype) == "datetime64[ns, UTC]"
    # 09:00 Berlin (CET, +1) is 08:00 UTC; 11:00 New York (EST, -5) is 16:00 UTC
    assert frame["opened_at"].tolist() == [
        pd.Timestamp("2024-03-01 08:00", tz="UTC"),
        pd.Timestamp("2024-03-03 10:00", tz="UTC"),
        pd.Timestamp("2024-03-04 16:00", tz="UTC"),
    ]
    assert frame["status"].tolist() == ["solved", "new", "pending"]
    assert frame["contact_id"].tolist() == ["K-1", None, None]
    assert frame["satisfaction"].dtype == object
    assert frame["satisfaction"].tolist() == [5, "good", None]
    assert type(frame["satisfaction"][0]) is int


def test_event_frame_has_one_row_per_event_in_entity_order() -> None:
    frame = ticket_events_to_frame(sample_tickets())
    assert tuple(frame.columns) == TICKET_EVENT_COLUMNS
    assert str(frame["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["automatic"].dtype == bool
    # T-1: auto reply, open, reply, solved, open, solved; T-2 and T-3 have no events
    assert frame["ticket_id"].tolist() == ["T-1"] * 6
    assert (
        frame["kind"].tolist()
        == ["agent_reply", "status_change", "agent_reply"] + ["status_change"] * 3
    )
    assert frame["occurred_at"].tolist()[:2] == [
        pd.Timestamp("2024-03-01 08:01", tz="UTC"),
        pd.Timestamp("2024-03-01 09:00", tz="UTC"),
    ]


def test_event_frame_status_column_is_the_new_status_only_on_status_changes() -> None:
    frame = ticket_events_to_frame(sample_tickets())
    assert len(frame) == 2 + 4  # 2 replies + 4 status changes on T-1, nothing on T-2/T-3
    assert frame["status"].tolist() == [None, "open", None, "solved", "open", "solved"]
    assert frame["automatic"].tolist() == [True, False, False, False, False, False]
    assert frame["author_id"].tolist() == [None, "ann", "ann", None, None, None]


def test_empty_inputs_give_empty_frames_with_the_dtypes() -> None:
    tickets = tickets_to_frame([])
    events = ticket_events_to_frame([])
    assert tuple(tickets.columns) == TICKET_COLUMNS and len(tickets) == 0
    assert str(tickets["opened_at"].dtype) == "datetime64[ns, UTC]"
    assert str(events["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert frame_to_tickets(tickets, events) == []


def test_non_tickets_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"tickets\[1\] must be a Ticket"):
        tickets_to_frame([sample_tickets()[0], "T-2"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="iterable of Ticket"):
        ticket_events_to_frame(sample_tickets()[0])  # type: ignore[arg-type]


# ------------------------------------------------------------------ back


def test_round_trip_gives_the_same_tickets() -> None:
    tickets = sample_tickets()
    tickets_frame, events_frame = tickets_to_frame(tickets), ticket_events_to_frame(tickets)
    before = (tickets_frame.copy(), events_frame.copy())
    back = frame_to_tickets(tickets_frame, events_frame)
    assert back == tickets
    assert back[0].opened_at.utcoffset() == dt.timedelta(0)  # instants kept, in UTC
    pd.testing.assert_frame_equal(tickets_frame, before[0])
    pd.testing.assert_frame_equal(events_frame, before[1])


def test_events_may_come_in_any_order_and_ties_keep_row_order() -> None:
    tickets = sample_tickets()
    events = ticket_events_to_frame(tickets)
    shuffled = events.iloc[[5, 1, 4, 0, 2, 3]].reset_index(drop=True)
    assert frame_to_tickets(tickets_to_frame(tickets), shuffled) == tickets
    # rows 1 and 2 of T-1 share 09:00 UTC (status change to open, then the agent reply);
    # swapping them swaps the two events of the rebuilt ticket
    swapped = events.iloc[[0, 2, 1, 3, 4, 5]].reset_index(drop=True)
    rebuilt = frame_to_tickets(tickets_to_frame(tickets), swapped)[0]
    assert [e.kind.value for e in rebuilt.events[:3]] == [
        "agent_reply",
        "agent_reply",
        "status_change",
    ]


def test_without_events_every_ticket_has_no_history_and_keeps_its_status() -> None:
    back = frame_to_tickets(tickets_to_frame(sample_tickets()))
    assert [t.events for t in back] == [(), (), ()]
    assert [t.status.value for t in back] == ["solved", "new", "pending"]


def test_status_column_is_optional_and_then_comes_from_the_events() -> None:
    tickets = sample_tickets()
    frame = tickets_to_frame(tickets).drop(columns=["status", "contact_id", "satisfaction"])
    back = frame_to_tickets(frame, ticket_events_to_frame(tickets))
    # T-1: last status change is to solved; T-2/T-3 have no changes -> "new"
    assert [t.status.value for t in back] == ["solved", "new", "new"]
    assert [t.satisfaction for t in back] == [None, None, None]


def test_polars_and_arrow_inputs_are_accepted() -> None:
    tickets = [t for t in sample_tickets() if not isinstance(t.satisfaction, str)]
    tickets_frame = tickets_to_frame(tickets)
    events_frame = ticket_events_to_frame(tickets)
    as_polars = frame_to_tickets(pl.from_pandas(tickets_frame), pl.from_pandas(events_frame))
    as_arrow = frame_to_tickets(
        pa.Table.from_pandas(tickets_frame), pa.Table.from_pandas(events_frame)
    )
    assert as_polars == tickets
    assert as_arrow == tickets


def test_object_columns_with_mixed_zones_are_read_by_instant() -> None:
    frame = tickets_to_frame(sample_tickets()[1:])
    frame["opened_at"] = [at(3, 11, tz=BERLIN), at(4, 11, tz=ZoneInfo("America/New_York"))]
    back = frame_to_tickets(frame)
    assert back == sample_tickets()[1:]  # 11:00 Berlin = 10:00 UTC = T-2's opened_at


# ------------------------------------------------------------------ errors


def test_missing_columns_are_listed() -> None:
    frame = tickets_to_frame(sample_tickets()).drop(columns=["priority", "opened_at"])
    with pytest.raises(ColumnNotFoundError, match="opened_at") as info:
        frame_to_tickets(frame)
    assert "priority" in str(info.value)
    events = ticket_events_to_frame(sample_tickets()).rename(columns={"kind": "kinds"})
    with pytest.raises(ColumnNotFoundError, match="did you mean 'kinds'"):
        frame_to_tickets(tickets_to_frame(sample_tickets()), events)


def test_naive_timestamps_are_refused() -> None:
    frame = tickets_to_frame(sample_tickets())
    naive = frame.assign(opened_at=frame["opened_at"].dt.tz_localize(None))
    with pytest.raises(ValidationError, match=r"opened_at.*timezone-aware"):
        frame_to_tickets(naive)
    mixed = frame.assign(
        opened_at=pd.Series([at(1, 8), dt.datetime(2024, 3, 3, 10), at(4, 16)], dtype=object)
    )
    with pytest.raises(ValidationError, match=r"1 of 3 values are naive \(first ids: T-2\)"):
        frame_to_tickets(mixed)
    events = ticket_events_to_frame(sample_tickets())
    events["occurred_at"] = events["occurred_at"].dt.tz_localize(None)
    with pytest.raises(ValidationError, match="occurred_at"):
        frame_to_tickets(frame, events)


def test_invalid_transition_names_the_ticket() -> None:
    tickets = sample_tickets()
    events = ticket_events_to_frame(tickets)
    events.loc[1, "status"] = "closed"  # new -> closed is not in the table
    assert TicketStatus.CLOSED not in TICKET_TRANSITIONS[TicketStatus.NEW]
    with pytest.raises(InvalidTransition, match=r"ticket_id 'T-1'.*'new' to 'closed'"):
        frame_to_tickets(tickets_to_frame(tickets), events)


def test_event_before_opening_and_status_mismatch_name_the_ticket() -> None:
    tickets = sample_tickets()
    events = ticket_events_to_frame(tickets)
    events.loc[0, "occurred_at"] = pd.Timestamp("2024-02-01", tz="UTC")
    with pytest.raises(ValidationError, match=r"ticket_id 'T-1'.*before opened_at"):
        frame_to_tickets(tickets_to_frame(tickets), events)
    frame = tickets_to_frame(tickets)
    frame.loc[0, "status"] = "open"
    with pytest.raises(ValidationError, match=r"ticket_id 'T-1'.*must agree"):
        frame_to_tickets(frame, ticket_events_to_frame(tickets))


def test_bad_event_rows_unknown_tickets_and_duplicates_are_refused() -> None:
    tickets = sample_tickets()
    events = ticket_events_to_frame(tickets)
    events.loc[2, "kind"] = "phone_call"
    with pytest.raises(ValidationError, match="ticket_id 'T-1'"):
        frame_to_tickets(tickets_to_frame(tickets), events)
    stranger = ticket_events_to_frame(tickets)
    stranger.loc[3, "ticket_id"] = "T-9"
    with pytest.raises(ValidationError, match=r"1 tickets .*not in the tickets frame.*T-9"):
        frame_to_tickets(tickets_to_frame(tickets), stranger)
    twice = tickets_to_frame([tickets[1], tickets[1]])
    with pytest.raises(ValidationError, match=r"unique.*T-2"):
        frame_to_tickets(twice)
    missing = tickets_to_frame(tickets)
    missing.loc[1, "opened_at"] = pd.NaT
    with pytest.raises(ValidationError, match=r"missing.*T-2"):
        frame_to_tickets(missing)


# ------------------------------------------------------------------ Hypothesis


def in_utc(ticket: Ticket) -> Ticket:
    """`ticket` with every datetime moved to UTC (same instants).

    Needed for ==: Python never calls an aware datetime inside a repeated (fall-back) hour
    equal to one in another zone (PEP 495), even at the same instant.
    """
    events = tuple(
        attrs.evolve(e, occurred_at=e.occurred_at.astimezone(UTC)) for e in ticket.events
    )
    return attrs.evolve(ticket, opened_at=ticket.opened_at.astimezone(UTC), events=events)


@st.composite
def tickets_strategy(draw: st.DrawFn, index: int) -> Ticket:
    # instants drawn in UTC, then read in a zone (st.datetimes with zones can draw wall
    # times inside a spring-forward gap, which name no real instant)
    opened_utc = draw(
        st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2200, 1, 1))
    ).replace(tzinfo=UTC)
    opened = opened_utc.astimezone(draw(st.sampled_from(ZONES)))
    ticket = Ticket(
        id=f"T-{index}",
        customer_id=draw(st.sampled_from(["C-1", "C-2", ""])),
        contact_id=draw(st.none() | st.sampled_from(["K-1", "K-2"])),
        opened_at=opened,
        channel=draw(st.sampled_from(list(TicketChannel))),
        category=draw(st.sampled_from(list(TicketCategory))),
        priority=draw(st.sampled_from(list(TicketPriority))),
        satisfaction=draw(
            st.none() | st.integers(1, 5) | st.sampled_from(["good", "bad"]) | st.just(2.5)
        ),
    )
    moment = opened_utc
    for _ in range(draw(st.integers(0, 8))):
        step = dt.timedelta(microseconds=draw(st.integers(0, 5 * 86_400 * 10**6)))
        moment = moment + step
        zone = draw(st.sampled_from(ZONES))
        when = moment.astimezone(zone)
        allowed = sorted(TICKET_TRANSITIONS[ticket.status], key=lambda s: s.value)
        if allowed and draw(st.booleans()):
            ticket = ticket.transition_to(
                draw(st.sampled_from(allowed)), when, author_id=draw(st.none() | st.just("ann"))
            )
        else:
            kind = draw(st.sampled_from(["agent_reply", "customer_reply", "internal_note"]))
            ticket = ticket.with_event(
                TicketEvent(
                    kind=kind,
                    occurred_at=when,
                    automatic=draw(st.booleans()),
                    author_id=draw(st.none() | st.sampled_from(["ann", "bot"])),
                )
            )
    return ticket


@st.composite
def ticket_lists(draw: st.DrawFn) -> list[Ticket]:
    n = draw(st.integers(0, 6))
    return [draw(tickets_strategy(i)) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(ticket_lists(), st.randoms(use_true_random=False))
def test_round_trip_is_exact_for_any_tickets(tickets: list[Ticket], rnd: Any) -> None:
    tickets_frame = tickets_to_frame(tickets)
    events_frame = ticket_events_to_frame(tickets)
    expected = [in_utc(t) for t in tickets]
    back = frame_to_tickets(tickets_frame, events_frame)
    assert back == expected
    assert [t.opened_at.timestamp() for t in back] == [t.opened_at.timestamp() for t in tickets]
    # events in any order: a stable shuffle that keeps equal-time rows of a ticket in order
    # gives the same tickets (ties are broken by row order, so only move whole time groups)
    keys = events_frame["ticket_id"] + "|" + events_frame["occurred_at"].astype(str)
    groups = list(dict.fromkeys(keys))
    rnd.shuffle(groups)
    rank = {key: i for i, key in enumerate(groups)}
    order = np.argsort(keys.map(rank).to_numpy(), kind="stable")
    shuffled = events_frame.iloc[order].reset_index(drop=True)
    assert frame_to_tickets(tickets_frame, shuffled) == expected
