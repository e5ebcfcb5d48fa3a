"""Opportunities frame <-> Opportunity entities (crmcore.frames): round trips, schema, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore.frames as frames
import crmcore.pipeline as pipeline_api
from crmcore.exceptions import ColumnNotFoundError, InvalidStageTransition, ValidationError
from crmcore.frames import (
    OPPORTUNITY_COLUMNS,
    frame_to_opportunities,
    opportunities_to_frame,
    opportunities_to_history,
)
from crmcore.money import Money
from crmcore.pipeline import ForecastCategory, Opportunity, Pipeline, Stage, simple_pipeline

PIPE = simple_pipeline()
UTC = dt.timezone.utc
ZONES = [ZoneInfo(k) for k in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")]


def deal(**kw: Any) -> Opportunity:
    base: dict[str, Any] = dict(
        id="O-1",
        customer_id="C-1",
        name="Fleet",
        amount=Money("1200.50", "EUR"),
        stage="Lead",
        expected_close=dt.date(2024, 6, 30),
        owner="ann",
        created_at=dt.datetime(2024, 1, 2, 9, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    )
    base.update(kw)
    return Opportunity(**base)


def fingerprint(o: Opportunity) -> tuple[object, ...]:
    """What == does not see: Decimal digits and the zone of created_at."""
    return (o.amount.amount.as_tuple(), o.created_at.tzinfo, o.created_at.utcoffset())


# ------------------------------------------------------------------ strategies

amounts = st.integers(0, 4).flatmap(
    lambda places: st.decimals(min_value=0, max_value=10**9, places=places)
)


@st.composite
def plain_opportunities(draw: st.DrawFn) -> list[Opportunity]:
    """Opportunities without history, in any zone and currency, every optional field drawn."""
    out = []
    for i in range(draw(st.integers(0, 4))):
        stage = draw(st.sampled_from(PIPE.names))
        out.append(
            deal(
                id=f"O{i}",
                customer_id=draw(st.sampled_from(["C1", "", "山田"])),
                name=draw(st.text(max_size=6)),
                amount=Money(draw(amounts), draw(st.sampled_from(["EUR", "JPY", "KWD"]))),
                stage=stage,
                expected_close=draw(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))),
                owner=draw(st.sampled_from(["ann", "bob", ""])),
                created_at=draw(
                    st.datetimes(
                        min_value=dt.datetime(1990, 1, 1),
                        max_value=dt.datetime(2100, 1, 1),
                        timezones=st.sampled_from(ZONES),
                    )
                ),
                probability=draw(st.none() | st.floats(0, 1)),
                forecast_category=draw(st.none() | st.sampled_from(list(ForecastCategory))),
                lost_reason=draw(st.none() | st.sampled_from(["price", "", "timing"])),
            )
        )
    return out


@st.composite
def histories(draw: st.DrawFn) -> list[Opportunity]:
    """Opportunities with moves, amount changes and closes (times in UTC)."""
    out = []
    for i in range(draw(st.integers(1, 4))):
        created = dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(
            minutes=draw(st.integers(0, 10_000))
        )
        cents = draw(st.integers(0, 10**9))
        o = deal(
            id=f"O{i}",
            amount=Money(
                f"{cents // 100}.{cents % 100:02d}", draw(st.sampled_from(["EUR", "USD"]))
            ),
            created_at=created,
            probability=draw(st.none() | st.sampled_from([0.0, 0.25])),
        )
        when = created
        for stage in draw(st.lists(st.sampled_from(["Lead", "Qualified", "Proposal"]), max_size=4)):
            when += dt.timedelta(hours=draw(st.integers(0, 500)))
            o = o.move_to(stage, at=when, pipeline=PIPE, probability=draw(st.none() | st.just(0.5)))
        when += dt.timedelta(hours=1)
        end = draw(st.sampled_from(["open", "won", "lost"]))
        if end == "won":
            o = o.close_won(at=when, pipeline=PIPE)
        elif end == "lost":
            o = o.close_lost(at=when, pipeline=PIPE, reason=draw(st.none() | st.just("price")))
        out.append(o)
    return out


# ------------------------------------------------------------------ round trips


@given(plain_opportunities())
@settings(max_examples=80, deadline=None)
def test_opportunities_round_trip_exactly_through_the_frame(opps: list[Opportunity]) -> None:
    frame = opportunities_to_frame(opps)
    before = frame.copy(deep=True)
    back = frame_to_opportunities(frame)
    assert back == opps
    assert [fingerprint(o) for o in back] == [fingerprint(o) for o in opps]
    pd.testing.assert_frame_equal(frame, before)


@given(histories())
@settings(max_examples=60, deadline=None)
def test_opportunities_with_history_round_trip_through_both_frames(
    opps: list[Opportunity],
) -> None:
    frame, events = opportunities_to_frame(opps), opportunities_to_history(opps)
    frame_before, events_before = frame.copy(deep=True), events.copy(deep=True)
    back = frame_to_opportunities(frame, history=events, pipeline=PIPE)
    assert back == opps  # history included: StageChange by StageChange
    assert [len(o.history) for o in back] == [len(o.history) for o in opps]
    pd.testing.assert_frame_equal(frame, frame_before)
    pd.testing.assert_frame_equal(events, events_before)


def test_history_rows_in_any_order_give_the_same_entities() -> None:
    o = deal(created_at=dt.datetime(2024, 1, 2, tzinfo=UTC))
    o = o.move_to("Proposal", at=dt.datetime(2024, 1, 9, tzinfo=UTC), pipeline=PIPE)
    o = o.close_lost(at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=PIPE, reason="price")
    events = opportunities_to_history([o]).iloc[::-1]
    [back] = frame_to_opportunities(opportunities_to_frame([o]), history=events, pipeline=PIPE)
    assert [c.stage for c in back.history] == ["Lead", "Proposal", "Lost"]
    assert back == o


# ------------------------------------------------------------------ schema by hand


def test_the_frame_has_the_documented_columns_and_values() -> None:
    o = deal(probability=0.35, forecast_category="Best Case")
    frame = opportunities_to_frame([o])
    assert tuple(frame.columns) == OPPORTUNITY_COLUMNS
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame["amount"].dtype == np.float64
    assert frame["created_at"].dtype == "datetime64[ns, UTC]"
    assert frame["expected_close"].dtype == "datetime64[ns]"
    row = frame.iloc[0]
    assert row["amount"] == 1200.5
    assert row["amount_exact"] == Decimal("1200.50")
    assert str(row["amount_exact"]) == "1200.50"
    # 09:30 in Berlin on 2 January (CET, UTC+1) is 08:30 UTC
    assert row["created_at"] == pd.Timestamp("2024-01-02 08:30", tz="UTC")
    assert row["created_at_exact"].tzinfo == ZoneInfo("Europe/Berlin")
    assert row["expected_close"] == pd.Timestamp("2024-06-30")
    assert row["probability"] == 0.35
    assert row["forecast_category"] == "Best Case"
    assert row["lost_reason"] is None
    assert opportunities_to_frame([deal()])["probability"].isna().all()


def test_an_empty_list_gives_the_typed_empty_frame() -> None:
    frame = opportunities_to_frame([])
    assert tuple(frame.columns) == OPPORTUNITY_COLUMNS and len(frame) == 0
    assert frame["amount"].dtype == np.float64
    assert frame["created_at"].dtype == "datetime64[ns, UTC]"
    assert frame_to_opportunities(frame) == []


def test_without_exact_columns_the_analytics_columns_are_read() -> None:
    frame = opportunities_to_frame([deal()]).drop(columns=["amount_exact", "created_at_exact"])
    [back] = frame_to_opportunities(frame)
    assert back.amount == Money("1200.5", "EUR")
    assert back.created_at == dt.datetime(2024, 1, 2, 8, 30, tzinfo=UTC)
    assert back == deal()  # the same instant and value


def test_history_helpers_are_reexported_from_frames() -> None:
    assert frames.opportunities_to_history is pipeline_api.opportunities_to_history
    assert frames.history_to_opportunities is pipeline_api.history_to_opportunities


# ------------------------------------------------------------------ errors


def test_a_non_opportunity_item_is_refused_with_its_position() -> None:
    with pytest.raises(ValidationError, match=r"opportunities\[1\].*str"):
        opportunities_to_frame([deal(), "O-2"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="iterable of Opportunity"):
        opportunities_to_frame(deal())  # type: ignore[arg-type]


def test_a_missing_column_is_named_with_the_nearest_name() -> None:
    frame = opportunities_to_frame([deal()]).rename(columns={"owner": "owners"})
    with pytest.raises(ColumnNotFoundError, match=r"'owner'.*'owners'"):
        frame_to_opportunities(frame)


def test_a_bad_row_names_its_position_and_id() -> None:
    frame = opportunities_to_frame([deal(), deal(id="O-2")])
    frame.loc[1, "currency"] = "XXY"
    with pytest.raises(ValidationError, match=r"row 1 \(opportunity_id 'O-2'\)"):
        frame_to_opportunities(frame)


def test_duplicate_ids_are_refused() -> None:
    frame = opportunities_to_frame([deal(), deal(), deal(id="O-3")])
    with pytest.raises(ValidationError, match=r"unique.*O-1"):
        frame_to_opportunities(frame)


def test_history_needs_a_pipeline() -> None:
    o = deal()
    with pytest.raises(ValidationError, match="pipeline="):
        frame_to_opportunities(opportunities_to_frame([o]), history=opportunities_to_history([o]))


def test_history_of_an_unknown_opportunity_is_named() -> None:
    events = opportunities_to_history([deal(), deal(id="O-9")])
    with pytest.raises(ValidationError, match=r"not in the frame.*O-9"):
        frame_to_opportunities(opportunities_to_frame([deal()]), history=events, pipeline=PIPE)


def test_an_inconsistent_history_raises_naming_the_opportunity() -> None:
    events = opportunities_to_history([deal(stage="Won")])
    later = events.assign(changed_at=events["changed_at"] + pd.Timedelta(days=1), stage="Lead")
    events = pd.concat([events, later], ignore_index=True)
    with pytest.raises(InvalidStageTransition, match="O-1"):
        frame_to_opportunities(
            opportunities_to_frame([deal(stage="Won")]), history=events, pipeline=PIPE
        )


def test_a_pipeline_that_forbids_a_move_is_enforced() -> None:
    strict = Pipeline(
        stages=[
            Stage(name="Lead", order=1, probability=0.1, outcome="open"),
            Stage(name="Won", order=2, probability=1.0, outcome="won"),
            Stage(name="Lost", order=3, probability=0.0, outcome="lost"),
        ],
        transitions={"Lead": ["Lost"]},
    )
    events = pd.DataFrame(
        {
            "opportunity_id": ["O-1", "O-1"],
            "stage": ["Lead", "Won"],
            "changed_at": pd.to_datetime(["2024-01-02 08:30", "2024-02-01 00:00"], utc=True),
            "amount": [1200.5, 1200.5],
            "expected_close": pd.to_datetime(["2024-06-30", "2024-06-30"]),
        }
    )
    frame = opportunities_to_frame([deal(stage="Won")])
    with pytest.raises(InvalidStageTransition, match="O-1"):
        frame_to_opportunities(frame, history=events, pipeline=strict)
