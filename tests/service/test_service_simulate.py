"""simulate_tickets: valid histories, seeds, rough proportions, nothing outside the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import simulate_tickets
from crmcore.exceptions import ValidationError
from crmcore.frames import (
    TICKET_COLUMNS,
    TICKET_EVENT_COLUMNS,
    frame_to_tickets,
    ticket_events_to_frame,
    tickets_to_frame,
)
from crmcore.service._entities import TICKET_TRANSITIONS, TicketStatus

CUSTOMERS = [f"C{i:05d}" for i in range(40_000)]
START, END = "2024-01-01", "2024-07-01"  # Berlin wall clock


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, pd.DataFrame]:
    # 40,000 customers x 0.3 -> about 12,000 tickets
    return simulate_tickets(CUSTOMERS, start=START, end=END, random_state=2024)


def test_frames_have_the_canonical_columns_and_dtypes(
    simulated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tickets, events = simulated
    assert tuple(tickets.columns) == TICKET_COLUMNS
    assert tuple(events.columns) == TICKET_EVENT_COLUMNS
    assert str(tickets["opened_at"].dtype) == "datetime64[ns, UTC]"
    assert str(events["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert events["automatic"].dtype == bool
    assert tickets["ticket_id"].is_unique
    assert tickets["opened_at"].is_monotonic_increasing


def test_every_ticket_is_a_valid_entity_and_survives_the_round_trip(
    simulated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tickets, events = simulated
    sample = tickets.iloc[::4].reset_index(drop=True)  # about 3,000 tickets
    mine = events[events["ticket_id"].isin(sample["ticket_id"])].reset_index(drop=True)
    built = frame_to_tickets(sample, mine)  # the Ticket entity replays every transition
    assert len(built) == len(sample)
    pd.testing.assert_frame_equal(tickets_to_frame(built), sample)
    pd.testing.assert_frame_equal(ticket_events_to_frame(built), mine)


def test_every_status_sequence_obeys_the_table_and_ends_in_the_status(
    simulated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    # independent check over the whole frame: a plain replay per ticket
    tickets, events = simulated
    changes = events[events["kind"] == "status_change"]
    final: dict[str, str] = {}
    for tid, group in changes.groupby("ticket_id", sort=False):
        current = TicketStatus.NEW
        for status in group["status"]:
            target = TicketStatus(status)
            assert target in TICKET_TRANSITIONS[current], (tid, current, target)
            current = target
        final[str(tid)] = current.value
    expected = tickets["ticket_id"].map(final).fillna("new")
    assert (expected == tickets["status"]).all()
    # only status changes carry a status
    assert events.loc[events["kind"] != "status_change", "status"].isna().all()


def test_nothing_happens_before_opening_or_after_end(
    simulated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tickets, events = simulated
    start = pd.Timestamp(START, tz="Europe/Berlin")
    end = pd.Timestamp(END, tz="Europe/Berlin")
    assert tickets["opened_at"].min() >= start and tickets["opened_at"].max() < end
    assert events["occurred_at"].max() <= end
    opened = events["ticket_id"].map(tickets.set_index("ticket_id")["opened_at"])
    assert (events["occurred_at"] >= opened).all()
    # events are sorted by ticket, then time
    order = events.assign(o=opened).sort_values(["o", "ticket_id"], kind="stable")
    assert order.index.equals(events.index)
    within = events.groupby("ticket_id", sort=False)["occurred_at"].apply(
        lambda s: s.is_monotonic_increasing
    )
    assert within.all()


def test_rough_proportions(simulated: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tickets, events = simulated
    n = len(tickets)
    # Poisson(0.3) per customer: 12,000 expected, sd sqrt(12,000) ~ 110
    assert abs(n - 0.3 * len(CUSTOMERS)) < 5 * 110
    share = tickets["category"].value_counts(normalize=True)
    assert abs(share["complaint"] - 0.10) < 0.015
    priority = tickets["priority"].value_counts(normalize=True)
    assert 0.02 < priority["urgent"] < 0.06 and priority["normal"] > 0.5
    channel = tickets["channel"].value_counts(normalize=True)
    assert abs(channel["email"] - 0.35) < 0.02
    # opened mostly in Berlin business hours, some at night or on weekends
    local = tickets["opened_at"].dt.tz_convert("Europe/Berlin")
    hours = local.dt.hour + local.dt.minute / 60
    business = ((local.dt.day_of_week < 5) & (hours >= 8) & (hours < 18)).mean()
    assert 0.82 < business < 0.97
    # most tickets solved or closed, a few still open at the end
    status = tickets["status"].value_counts()
    assert (status.get("solved", 0) + status.get("closed", 0)) / n > 0.9
    assert status.get("closed", 0) > status.get("solved", 0)
    assert status.drop(["solved", "closed"], errors="ignore").sum() > 0
    # satisfaction on about 40 % of solved / closed tickets, ints 1..5, none on others
    done = tickets["status"].isin(["solved", "closed"])
    rated = tickets["satisfaction"].notna()
    assert not (rated & ~done).any()
    assert abs(rated[done].mean() - 0.40) < 0.03
    ratings = tickets.loc[rated, "satisfaction"]
    assert all(type(r) is int for r in ratings) and set(ratings) <= {1, 2, 3, 4, 5}
    # reopen: a solved -> open change on about 8 % of tickets solved at least once
    changes = events[events["kind"] == "status_change"]
    solves = changes.groupby("ticket_id")["status"].apply(lambda s: (s == "solved").sum())
    assert 0.05 < (solves >= 2).sum() / (solves >= 1).sum() < 0.11
    pending = changes.loc[changes["status"] == "pending", "ticket_id"].nunique() / n
    assert 0.1 < pending < 0.25


def test_automatic_acknowledgement_one_minute_after_email_and_web_tickets(
    simulated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tickets, events = simulated
    auto = events[events["automatic"]]
    assert set(auto["kind"]) == {"agent_reply"}
    info = tickets.set_index("ticket_id")
    assert set(info.loc[auto["ticket_id"], "channel"]) == {"email", "web"}
    delay = auto["occurred_at"].to_numpy() - info.loc[auto["ticket_id"], "opened_at"].to_numpy()
    assert (delay == np.timedelta64(60, "s")).all()
    # every email/web ticket opened more than a minute before the end has one
    late = info["opened_at"] > pd.Timestamp(END, tz="Europe/Berlin") - pd.Timedelta(minutes=1)
    mail = info.index[info["channel"].isin(["email", "web"]) & ~late]
    assert set(mail) == set(auto["ticket_id"])
    # the first human reply comes after the acknowledgement, with the change to open
    human = events[(events["kind"] == "agent_reply") & ~events["automatic"]]
    first_human = human.groupby("ticket_id")["occurred_at"].min()
    first_open = events[events["status"] == "open"].groupby("ticket_id")["occurred_at"].min()
    assert first_human.reindex(first_open.index).equals(first_open)
    ack = auto.set_index("ticket_id")["occurred_at"]
    both = ack.index.intersection(first_human.index)
    assert (first_human[both] > ack[both]).all()


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    kwargs = dict(start="2024-03-01", end="2024-04-01", tickets_per_customer=2.0)
    a = simulate_tickets(CUSTOMERS[:300], random_state=5, **kwargs)  # type: ignore[arg-type]
    b = simulate_tickets(CUSTOMERS[:300], random_state=5, **kwargs)  # type: ignore[arg-type]
    c = simulate_tickets(CUSTOMERS[:300], random_state=6, **kwargs)  # type: ignore[arg-type]
    d = simulate_tickets(
        CUSTOMERS[:300],
        random_state=np.random.default_rng(5),
        **kwargs,  # type: ignore[arg-type]
    )
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    pd.testing.assert_frame_equal(a[0], d[0])
    assert not a[0]["opened_at"].equals(c[0]["opened_at"])


def test_zone_and_empty_inputs() -> None:
    tickets, _ = simulate_tickets(
        CUSTOMERS[:2000],
        start="2024-06-03",
        end="2024-06-08",
        tz="America/New_York",
        random_state=1,
    )
    local = tickets["opened_at"].dt.tz_convert("America/New_York")
    assert local.min() >= pd.Timestamp("2024-06-03", tz="America/New_York")
    assert ((local.dt.hour >= 8) & (local.dt.hour < 18)).mean() > 0.8
    none, no_events = simulate_tickets([], start=START, end=END, random_state=1)
    assert tuple(none.columns) == TICKET_COLUMNS and len(none) == 0
    assert tuple(no_events.columns) == TICKET_EVENT_COLUMNS and len(no_events) == 0
    zero, _ = simulate_tickets(CUSTOMERS[:10], start=START, end=END, tickets_per_customer=0)
    assert len(zero) == 0
    ints, _ = simulate_tickets([1, 2], start=START, end=END, tickets_per_customer=5)
    assert set(ints["customer_id"]) <= {"1", "2"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(start="2024-02-01", end="2024-01-01"), "end .* must be after start"),
        (dict(start=START, end=END, tickets_per_customer=-1), "tickets_per_customer"),
        (dict(start=START, end=END, tickets_per_customer=float("inf")), "tickets_per_customer"),
        (dict(start=START, end=END, tz="Mars/Olympus"), "'tz'"),
        (dict(start=START, end=END, random_state=-3), "random_state"),
        (dict(start="yesterday-ish", end=END), "'start'"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        simulate_tickets(CUSTOMERS[:10], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="customer_ids"):
        simulate_tickets("C1", start=START, end=END)
