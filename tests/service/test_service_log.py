"""The shared ticket/event reader every service analytic goes through (crmcore.service._log)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.exceptions import ColumnNotFoundError, CRMWarning, InvalidTransition, ValidationError
from crmcore.service._log import KIND, NAT, STATUS, read_service_log

BERLIN = "Europe/Berlin"


def ts(text: str, tz: str = "UTC") -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


def ns(text: str) -> int:
    return int(ts(text).value)


def tickets(**extra: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "ticket_id": ["A", "B"],
            "opened_at": [ts("2024-03-04 09:00"), ts("2024-03-04 10:00", BERLIN)],
            "priority": ["high", "Low"],
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def events(rows: list[tuple[str, str, str, str | None]], **extra: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ticket_id", "occurred_at", "kind", "status"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    for name, values in extra.items():
        frame[name] = values
    return frame


ROWS = [
    ("A", "2024-03-04 12:00", "status_change", "solved"),  # given out of order on purpose
    ("A", "2024-03-04 09:30", "agent_reply", None),
    ("A", "2024-03-04 09:10", "status_change", "open"),
    ("B", "2024-03-04 09:05", "customer_reply", None),  # 10:05 Berlin = 09:05 UTC
    ("A", "2024-03-05 08:00", "status_change", "open"),  # reopen, after as_of below
]
AS_OF = "2024-03-04T18:00:00+00:00"


def test_events_are_sorted_per_ticket_and_cut_at_as_of() -> None:
    log = read_service_log(tickets(), events(ROWS), as_of=AS_OF, who="t")
    assert list(log.ids) == ["A", "B"]
    # A: open 09:10, reply 09:30, solved 12:00 (the 08:00 reopen on 5 March is after as_of)
    assert log.ev_ticket.tolist() == [0, 0, 0, 1]
    assert log.ev_time.tolist() == [
        ns("2024-03-04 09:10"),
        ns("2024-03-04 09:30"),
        ns("2024-03-04 12:00"),
        ns("2024-03-04 09:05"),
    ]
    assert log.ev_kind.tolist() == [
        KIND["status_change"],
        KIND["agent_reply"],
        KIND["status_change"],
        KIND["customer_reply"],
    ]
    assert log.opened.tolist() == [ns("2024-03-04 09:00"), ns("2024-03-04 09:00")]
    assert log.status_at_as_of().tolist() == [STATUS["solved"], STATUS["new"]]
    assert log.first_time(log.public_agent_replies()).tolist() == [ns("2024-03-04 09:30"), NAT]
    assert log.count(log.public_agent_replies()).tolist() == [1, 0]


def test_status_segments_cover_opened_to_as_of() -> None:
    log = read_service_log(tickets(), events(ROWS), as_of=AS_OF, who="t")
    codes, starts, ends, status = log.status_segments()
    assert codes.tolist() == [0, 0, 0, 1]
    assert starts.tolist() == [
        ns("2024-03-04 09:00"),
        ns("2024-03-04 09:10"),
        ns("2024-03-04 12:00"),
        ns("2024-03-04 09:00"),
    ]
    assert ends.tolist() == [
        ns("2024-03-04 09:10"),
        ns("2024-03-04 12:00"),
        ns("2024-03-04 18:00"),
        ns("2024-03-04 18:00"),
    ]
    assert status.tolist() == [STATUS["new"], STATUS["open"], STATUS["solved"], STATUS["new"]]


def test_reopens_count_solved_to_open_changes() -> None:
    later = "2024-03-06T00:00:00+00:00"
    log = read_service_log(tickets(), events(ROWS), as_of=later, who="t")
    assert log.reopens().tolist() == [1, 0]
    assert log.status_at_as_of().tolist() == [STATUS["open"], STATUS["new"]]


def test_ties_keep_the_input_order() -> None:
    rows = [
        ("A", "2024-03-04 10:00", "status_change", "open"),
        ("A", "2024-03-04 10:00", "status_change", "solved"),
        ("A", "2024-03-04 10:00", "status_change", "open"),
    ]
    log = read_service_log(tickets(), events(rows), as_of=AS_OF, who="t")
    assert log.ev_status.tolist() == [STATUS["open"], STATUS["solved"], STATUS["open"]]
    assert log.reopens().tolist() == [1, 0]


def test_a_closed_ticket_cannot_reopen() -> None:
    rows = [
        ("A", "2024-03-04 10:00", "status_change", "solved"),
        ("A", "2024-03-04 11:00", "status_change", "closed"),
        ("A", "2024-03-04 12:00", "status_change", "open"),
    ]
    with pytest.raises(InvalidTransition, match=r"ids: A; first bad change: closed -> open"):
        read_service_log(tickets(), events(rows), as_of=AS_OF, who="sla_status")


def test_first_change_is_checked_from_new() -> None:
    rows = [("B", "2024-03-04 10:00", "status_change", "closed")]
    with pytest.raises(InvalidTransition, match="new -> closed"):
        read_service_log(tickets(), events(rows), as_of=AS_OF, who="t")


def test_transitions_after_as_of_are_still_validated() -> None:
    rows = [("A", "2030-01-01 10:00", "status_change", "closed")]
    with pytest.raises(InvalidTransition, match="ids: A"):
        read_service_log(tickets(), events(rows), as_of=AS_OF, who="t")


def test_an_event_before_its_ticket_opened_is_refused() -> None:
    rows = [("A", "2024-03-04 08:59", "agent_reply", None)]
    with pytest.raises(ValidationError, match=r"before its ticket's opened_at.*ids: A"):
        read_service_log(tickets(), events(rows), as_of=AS_OF, who="t")


def test_naive_timestamps_and_naive_as_of_are_refused() -> None:
    naive = tickets()
    naive["opened_at"] = pd.to_datetime(["2024-03-04 09:00", "2024-03-04 10:00"])
    with pytest.raises(ValidationError, match="'opened_at' holds naive"):
        read_service_log(naive, events([]), as_of=AS_OF, who="t")
    strings = tickets()
    strings["opened_at"] = ["2024-03-04T09:00+01:00", "2024-03-04 10:00"]
    with pytest.raises(ValidationError, match=r"tz-aware.*ids: B"):
        read_service_log(strings, events([]), as_of=AS_OF, who="t")
    with pytest.raises(ValidationError, match="as_of must be tz-aware"):
        read_service_log(tickets(), events([]), as_of="2024-03-04 18:00", who="t")
    with pytest.raises(ValidationError, match="as_of must be"):
        read_service_log(tickets(), events([]), as_of=dt.date(2024, 3, 4), who="t")


def test_iso_strings_with_offsets_in_mixed_zones_are_read() -> None:
    strings = tickets()
    strings["opened_at"] = ["2024-03-04T10:00+01:00", "2024-03-04T04:00-05:00"]
    log = read_service_log(strings, events([]), as_of=AS_OF, who="t")
    assert log.opened.tolist() == [ns("2024-03-04 09:00"), ns("2024-03-04 09:00")]


def test_unknown_ids_values_and_missing_columns_are_named() -> None:
    with pytest.raises(ValidationError, match=r"unknown ticket ids.*ids: Z"):
        read_service_log(
            tickets(),
            events([("Z", "2024-03-04 10:00", "agent_reply", None)]),
            as_of=AS_OF,
            who="t",
        )
    with pytest.raises(ValidationError, match=r"'kind' must be one of.*got phone_call"):
        read_service_log(
            tickets(), events([("A", "2024-03-04 10:00", "phone_call", None)]), as_of=AS_OF, who="t"
        )
    with pytest.raises(ValidationError, match=r"'priority' must be one of.*got p1"):
        read_service_log(tickets(priority=["P1", "low"]), events([]), as_of=AS_OF, who="t")
    with pytest.raises(ColumnNotFoundError, match="priority"):
        read_service_log(tickets().drop(columns="priority"), events([]), as_of=AS_OF, who="t")
    dup = tickets()
    dup["ticket_id"] = ["A", "A"]
    with pytest.raises(ValidationError, match=r"unique.*ids: A"):
        read_service_log(dup, events([]), as_of=AS_OF, who="t")


def test_status_only_on_status_changes() -> None:
    with pytest.raises(ValidationError, match="needs its new status"):
        read_service_log(
            tickets(),
            events([("A", "2024-03-04 10:00", "status_change", None)]),
            as_of=AS_OF,
            who="t",
        )
    with pytest.raises(ValidationError, match="only status_change events carry"):
        read_service_log(
            tickets(),
            events([("A", "2024-03-04 10:00", "agent_reply", "open")]),
            as_of=AS_OF,
            who="t",
        )


def test_the_status_column_must_agree_with_the_events() -> None:
    ok = tickets(status=["open", "new"])  # A's events end in 'open' (the reopen)
    read_service_log(ok, events(ROWS), as_of=AS_OF, who="t")
    with pytest.raises(ValidationError, match=r"status their events lead to.*ids: B"):
        read_service_log(tickets(status=["open", "solved"]), events(ROWS), as_of=AS_OF, who="t")


def test_automatic_must_be_boolean_without_gaps() -> None:
    rows = [("A", "2024-03-04 10:00", "agent_reply", None)]
    log = read_service_log(tickets(), events(rows, automatic=[True]), as_of=AS_OF, who="t")
    assert log.count(log.public_agent_replies()).tolist() == [0, 0]
    with pytest.raises(ValidationError, match="'automatic' must hold booleans"):
        read_service_log(tickets(), events(rows, automatic=[None]), as_of=AS_OF, who="t")


def test_tickets_opened_after_as_of_are_left_out_with_a_count() -> None:
    early_b = tickets()
    early_b.loc[1, "opened_at"] = ts("2024-03-04 07:00")
    with pytest.warns(CRMWarning, match=r"1 of 2 tickets were opened after as_of.*ids: A"):
        log = read_service_log(early_b, events(ROWS), as_of="2024-03-04T08:30:00+00:00", who="t")
    assert list(log.ids) == ["B"]
    assert log.ev_ticket.tolist() == []  # B's customer reply (09:05) is after as_of


def test_the_callers_frames_are_not_mutated() -> None:
    t, e = tickets(), events(ROWS)
    t_copy, e_copy = t.copy(deep=True), e.copy(deep=True)
    read_service_log(t, e, as_of=AS_OF, who="t")
    pd.testing.assert_frame_equal(t, t_copy)
    pd.testing.assert_frame_equal(e, e_copy)


def test_polars_frames_are_read() -> None:
    pl = pytest.importorskip("polars")
    log = read_service_log(
        pl.from_pandas(tickets()), pl.from_pandas(events(ROWS)), as_of=AS_OF, who="t"
    )
    assert log.status_at_as_of().tolist() == [STATUS["solved"], STATUS["new"]]
    assert np.array_equal(
        log.opened, read_service_log(tickets(), events(ROWS), as_of=AS_OF, who="t").opened
    )


def test_automatic_accepts_zero_one_and_an_empty_object_column() -> None:
    rows = [("A", "2024-03-04 10:00", "agent_reply", None)] * 2
    log = read_service_log(tickets(), events(rows, automatic=[1, 0]), as_of=AS_OF, who="t")
    assert log.ev_automatic.tolist() == [True, False]
    empty = events([], automatic=pd.Series([], dtype=object))
    assert read_service_log(tickets(), empty, as_of=AS_OF, who="t").ev_automatic.size == 0
    with pytest.raises(ValidationError, match=r"booleans \(or 0/1\).*1 rows.*ids: A"):
        read_service_log(tickets(), events(rows, automatic=[True, "yes"]), as_of=AS_OF, who="t")


def test_an_event_without_a_ticket_id_is_refused() -> None:
    rows = [
        ("A", "2024-03-04 10:00", "agent_reply", None),
        (None, "2024-03-04 11:00", "agent_reply", None),
    ]
    with pytest.raises(ValidationError, match="unknown ticket ids"):
        read_service_log(tickets(), events(rows), as_of=AS_OF, who="t")  # type: ignore[list-item]
