"""The stage-history event frame: read_history validation and normalisation, snapshot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, InvalidStageTransition, ValidationError
from crmcore.money import Money
from crmcore.pipeline import (
    ForecastCategory,
    Opportunity,
    history_from_odoo,
    history_from_salesforce,
    history_to_opportunities,
    opportunities_to_history,
    read_history,
    simple_pipeline,
    snapshot,
)

UTC = dt.timezone.utc
PIPE = simple_pipeline()  # Lead 0.1, Qualified 0.3, Proposal 0.6, Won, Lost


def frame(rows: list[tuple[object, ...]], **extra: list[object]) -> pd.DataFrame:
    out = pd.DataFrame(
        rows, columns=["opportunity_id", "stage", "changed_at", "amount", "expected_close"]
    )
    for key, values in extra.items():
        out[key] = values
    return out


GOOD = frame(
    [
        ("B", "Lead", "2024-01-05T10:00", 500, "2024-02-29"),
        ("A", "Qualified", "2024-01-09", 1200, "2024-03-31"),
        ("A", "Lead", "2024-01-02", 1000, "2024-03-31"),
        ("A", "Won", "2024-02-01", 1300, "2024-03-31"),
    ]
)


# ------------------------------------------------------------------ read_history


def test_read_history_sorts_and_types_the_columns_exactly() -> None:
    out = read_history(GOOD, PIPE, who="t")
    assert list(out.columns) == [
        "opportunity_id",
        "stage",
        "changed_at",
        "amount",
        "expected_close",
        "probability",
        "stage_order",
        "outcome",
        "stage_probability",
    ]
    assert isinstance(out.index, pd.RangeIndex)
    assert list(out["opportunity_id"]) == ["A", "A", "A", "B"]
    assert list(out["stage"]) == ["Lead", "Qualified", "Won", "Lead"]
    assert str(out["changed_at"].dtype) == "datetime64[ns, UTC]"
    assert out["changed_at"].iloc[3] == pd.Timestamp("2024-01-05T10:00", tz="UTC")
    assert str(out["expected_close"].dtype) == "datetime64[ns]"
    assert out["amount"].dtype == np.float64 and out["probability"].isna().all()
    assert list(out["stage_order"]) == [1, 2, 4, 1] and out["stage_order"].dtype == np.int64
    assert list(out["outcome"]) == ["open", "open", "won", "open"]
    assert list(out["stage_probability"]) == [0.1, 0.3, 1.0, 0.1]


def test_read_history_never_mutates_its_input() -> None:
    before = GOOD.copy(deep=True)
    read_history(GOOD, PIPE, who="t")
    pd.testing.assert_frame_equal(GOOD, before)


def test_ties_keep_the_input_row_order_and_owner_is_kept() -> None:
    rows = frame(
        [
            ("A", "Lead", "2024-01-02", 1, "2024-03-31"),
            ("A", "Qualified", "2024-01-02", 2, "2024-03-31"),
            ("A", "Lead", "2024-01-02", 3, "2024-03-31"),
        ],
        owner=["ann", "bob", "ann"],
    )
    out = read_history(rows, PIPE, who="t")
    assert list(out["amount"]) == [1.0, 2.0, 3.0]
    assert list(out["owner"]) == ["ann", "bob", "ann"]


def test_tz_aware_times_convert_to_utc_and_close_dates_are_midnight() -> None:
    rows = frame(
        [
            (
                "A",
                "Lead",
                pd.Timestamp("2024-01-02 23:30", tz="America/New_York"),
                1,
                pd.Timestamp("2024-03-31 15:00"),
            )
        ]
    )
    out = read_history(rows, PIPE, who="t")
    assert out["changed_at"].iloc[0] == pd.Timestamp("2024-01-03 04:30", tz="UTC")
    assert out["expected_close"].iloc[0] == pd.Timestamp("2024-03-31")


def test_polars_and_pyarrow_give_the_same_frame() -> None:
    rows = GOOD.assign(
        changed_at=pd.to_datetime(GOOD["changed_at"], format="ISO8601"),
        expected_close=pd.to_datetime(GOOD["expected_close"]),
    )
    want = read_history(rows, PIPE, who="t")
    pd.testing.assert_frame_equal(read_history(pl.from_pandas(rows), PIPE, who="t"), want)
    pd.testing.assert_frame_equal(
        read_history(pa.Table.from_pandas(rows, preserve_index=False), PIPE, who="t"), want
    )


def test_numeric_ids_become_strings() -> None:
    rows = GOOD.assign(opportunity_id=[2, 1, 1, 1])
    assert list(read_history(rows, PIPE, who="t")["opportunity_id"]) == ["1", "1", "1", "2"]


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ColumnNotFoundError, match="expected_close"):
        read_history(GOOD.drop(columns="expected_close"), PIPE, who="t")


def test_missing_values_are_reported_with_ids() -> None:
    rows = GOOD.copy()
    rows.loc[1, "amount"] = np.nan
    with pytest.raises(ValidationError, match=r"'amount' has 1 missing values \(first ids: A\)"):
        read_history(rows, PIPE, who="t")


def test_an_unknown_stage_names_the_stage_and_the_opportunity() -> None:
    rows = GOOD.copy()
    rows.loc[0, "stage"] = "Demo"
    with pytest.raises(ValidationError, match=r"'Demo'.*first ids: B"):
        read_history(rows, PIPE, who="t")


def test_two_closes_raise_invalid_stage_transition_naming_the_id() -> None:
    rows = pd.concat([GOOD, frame([("A", "Lost", "2024-02-03", 0, "2024-03-31")])])
    with pytest.raises(InvalidStageTransition, match=r"at most once.*first ids: A\)"):
        read_history(rows, PIPE, who="t")


def test_an_event_after_a_close_raises_even_after_as_of() -> None:
    rows = pd.concat([GOOD, frame([("A", "Proposal", "2030-01-01", 0, "2030-03-31")])])
    with pytest.raises(InvalidStageTransition, match=r"no event may follow.*first ids: A\)"):
        snapshot(rows, "2024-01-03", pipeline=PIPE)


def test_a_won_row_with_probability_below_one_raises() -> None:
    rows = GOOD.assign(probability=[np.nan, np.nan, np.nan, 0.9])
    with pytest.raises(ValidationError, match=r"won stage.*probability 1.*first ids: A"):
        read_history(rows, PIPE, who="t")


def test_a_lost_row_with_positive_probability_raises() -> None:
    rows = frame(
        [("Z", "Lead", "2024-01-01", 1, "2024-03-31"), ("Z", "Lost", "2024-01-02", 1, "2024-03-31")]
    )
    rows["probability"] = [0.5, 0.2]
    with pytest.raises(ValidationError, match=r"lost stage.*first ids: Z"):
        read_history(rows, PIPE, who="t")


def test_a_percent_probability_is_refused_with_a_hint() -> None:
    rows = GOOD.assign(probability=[10.0, np.nan, np.nan, np.nan])
    with pytest.raises(ValidationError, match="divided by 100"):
        read_history(rows, PIPE, who="t")


def test_a_non_iso_date_string_is_refused() -> None:
    rows = GOOD.assign(changed_at=["01/05/2024"] * 4)
    with pytest.raises(ValidationError, match="changed_at"):
        read_history(rows, PIPE, who="t")


# ------------------------------------------------------------------ snapshot

# Hand-built history; the open pipeline at AS_OF = 2024-02-01 00:00 UTC is worked out by hand:
#   A: Lead -> Proposal exactly at AS_OF (counts), amount 1200, override 0.7 -> in, p 0.7
#   B: Qualified; its later amount (900), close-date and probability changes are not seen
#   C: created after AS_OF -> out;  D: lost exactly at AS_OF -> out;  E: won before -> out
#   F: Lead, won later (2024-03-01) -> in, at the stage default 0.1
HAND = frame(
    [
        ("A", "Lead", "2024-01-02", 1000, "2024-03-31"),
        ("A", "Proposal", "2024-02-01T00:00", 1200, "2024-04-30"),
        ("A", "Won", "2024-03-01", 1200, "2024-04-30"),
        ("B", "Qualified", "2024-01-20", 500, "2024-03-31"),
        ("B", "Qualified", "2024-02-01T00:00:01", 900, "2024-05-31"),
        ("C", "Lead", "2024-02-15", 700, "2024-03-31"),
        ("D", "Lead", "2024-01-05", 300, "2024-03-31"),
        ("D", "Lost", "2024-02-01", 300, "2024-03-31"),
        ("E", "Lead", "2024-01-05", 50, "2024-03-31"),
        ("E", "Won", "2024-01-25", 50, "2024-03-31"),
        ("F", "Lead", "2024-01-06", 80, "2024-02-29"),
        ("F", "Won", "2024-03-01", 80, "2024-02-29"),
    ],
    probability=[
        np.nan,
        0.7,
        np.nan,
        np.nan,
        0.9,
        np.nan,
        np.nan,
        np.nan,
        np.nan,
        1.0,
        np.nan,
        1.0,
    ],
)
AS_OF = dt.datetime(2024, 2, 1, tzinfo=UTC)


def check_hand_snapshot(out: pd.DataFrame) -> None:
    assert list(out["opportunity_id"]) == ["A", "B", "F"]
    assert list(out["stage"]) == ["Proposal", "Qualified", "Lead"]
    assert list(out["amount"]) == [1200.0, 500.0, 80.0]
    assert list(out["expected_close"]) == list(
        pd.to_datetime(["2024-04-30", "2024-03-31", "2024-02-29"])
    )
    assert list(out["probability"]) == [0.7, 0.3, 0.1]
    assert list(out["created_at"]) == list(
        pd.to_datetime(["2024-01-02", "2024-01-20", "2024-01-06"], utc=True)
    )


def test_snapshot_rebuilds_the_open_pipeline_by_hand() -> None:
    before = HAND.copy(deep=True)
    check_hand_snapshot(snapshot(HAND, AS_OF, pipeline=PIPE))
    pd.testing.assert_frame_equal(HAND, before)


def test_snapshot_accepts_naive_and_offset_as_of() -> None:
    check_hand_snapshot(snapshot(HAND, "2024-02-01", pipeline=PIPE))
    plus2 = dt.datetime(2024, 2, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    check_hand_snapshot(snapshot(HAND, plus2, pipeline=PIPE))


@given(st.randoms(use_true_random=False))
@settings(max_examples=30, deadline=None)
def test_snapshot_does_not_depend_on_row_order(rnd: Any) -> None:
    order = list(range(len(HAND)))
    rnd.shuffle(order)
    check_hand_snapshot(snapshot(HAND.iloc[order], AS_OF, pipeline=PIPE))


def test_snapshot_one_nanosecond_earlier_does_not_see_the_event_at_as_of() -> None:
    out = snapshot(HAND, pd.Timestamp(AS_OF) - pd.Timedelta(1, "ns"), pipeline=PIPE)
    assert list(out["opportunity_id"]) == ["A", "B", "D", "F"]
    assert out["stage"].iloc[0] == "Lead" and out["amount"].iloc[0] == 1000.0


def test_snapshot_with_owner_keeps_it() -> None:
    out = snapshot(HAND.assign(owner=list("aaabbcddeeff")), AS_OF, pipeline=PIPE)
    assert list(out["owner"]) == ["a", "b", "f"]


# ------------------------------------------------------------------ entities <-> frame

_STAGE_PATH = st.lists(st.sampled_from(["Lead", "Qualified", "Proposal"]), max_size=4)


@st.composite
def opportunities(draw: Any) -> list[Opportunity]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        created = dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(
            minutes=draw(st.integers(0, 10_000))
        )
        cents = draw(st.integers(0, 10**9))
        o = Opportunity(
            id=f"O{i}",
            customer_id=draw(st.sampled_from(["C1", "C2", ""])),
            name=draw(st.text(max_size=5)),
            amount=Money(f"{cents // 100}.{cents % 100:02d}", "EUR"),
            stage="Lead",
            expected_close=dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 400))),
            owner=draw(st.sampled_from(["ann", "bob"])),
            created_at=created,
            probability=draw(st.none() | st.sampled_from([0.0, 0.25, 1.0])),
            forecast_category=draw(st.none() | st.sampled_from(list(ForecastCategory))),
        )
        when = created
        for stage in draw(_STAGE_PATH):
            when += dt.timedelta(hours=draw(st.integers(0, 500)))
            o = o.move_to(stage, at=when, pipeline=PIPE, probability=draw(st.none() | st.just(0.5)))
        end = draw(st.sampled_from(["open", "won", "lost"]))
        when += dt.timedelta(hours=1)
        if end == "won":
            o = o.close_won(at=when, pipeline=PIPE)
        elif end == "lost":
            o = o.close_lost(at=when, pipeline=PIPE, reason=draw(st.none() | st.just("price")))
        if not o.history:
            o = o.move_to(o.stage, at=when, pipeline=PIPE)
        out.append(o)
    return out


@given(opportunities())
@settings(max_examples=60, deadline=None)
def test_opportunities_round_trip_through_the_event_frame(opps: list[Opportunity]) -> None:
    frame_ = opportunities_to_history(opps)
    before = frame_.copy(deep=True)
    back = history_to_opportunities(frame_, PIPE)
    assert back == sorted(opps, key=lambda o: o.id)
    pd.testing.assert_frame_equal(frame_, before)
    # the frame is a valid history and the last events agree with a snapshot far in the future
    events = read_history(frame_, PIPE, who="t")
    assert len(events) == sum(len(o.history) for o in opps)


def test_history_to_opportunities_needs_a_currency() -> None:
    with pytest.raises(ValidationError, match="currency"):
        history_to_opportunities(GOOD, PIPE)


# ------------------------------------------------------------------ CRM export readers

SF = pd.DataFrame(
    {
        "OpportunityId": ["0061", "0062", "0061"],
        "StageName": ["Closed Won", "Qualification", "Prospecting"],
        "CreatedDate": [
            "2024-02-20T16:40:00.000+0000",
            "2024-01-05T08:00:00.000+0100",
            "2024-01-03T09:15:00.000+0000",
        ],
        "Amount": [14000.0, 500.0, 15000.0],
        "CloseDate": ["2024-02-20", "2024-04-15", "2024-03-31"],
        "Probability": [100, 10, 10],
        "ExpectedRevenue": [14000.0, 50.0, 1500.0],
    }
)


def test_salesforce_export_maps_columns_and_percent() -> None:
    before = SF.copy(deep=True)
    out = history_from_salesforce(SF)
    assert list(out.columns) == [
        "opportunity_id",
        "stage",
        "changed_at",
        "amount",
        "expected_close",
        "probability",
    ]
    assert list(out["opportunity_id"]) == ["0061", "0061", "0062"]
    assert list(out["stage"]) == ["Prospecting", "Closed Won", "Qualification"]
    assert list(out["probability"]) == [0.1, 1.0, 0.1]
    assert out["changed_at"].iloc[2] == pd.Timestamp("2024-01-05T07:00", tz="UTC")
    pd.testing.assert_frame_equal(SF, before)
    pd.testing.assert_frame_equal(history_from_salesforce(pl.from_pandas(SF)), out)


def test_salesforce_won_row_below_100_percent_names_the_id() -> None:
    with pytest.raises(ValidationError, match="first ids: 0061"):
        history_from_salesforce(SF.assign(Probability=[95, 10, 10]))


def test_salesforce_missing_column_is_named() -> None:
    with pytest.raises(ColumnNotFoundError, match="CloseDate"):
        history_from_salesforce(SF.drop(columns="CloseDate"))


def test_odoo_export_with_custom_headers() -> None:
    odoo = pd.DataFrame(
        {
            "Lead": [7, 7],
            "Stage": ["Lead", "Lost"],
            "Date": ["2024-01-08 10:00:00", "2024-01-30 14:30:00"],
            "Expected Revenue": [5000.0, 5000.0],
            "Deadline": ["2024-03-01", "2024-03-01"],
            "Probability": [12.5, 0.0],
            "Salesperson": ["Mitchell Admin", "Mitchell Admin"],
        }
    )
    out = history_from_odoo(
        odoo,
        pipeline=PIPE,
        lead_col="Lead",
        stage_col="Stage",
        date_col="Date",
        amount_col="Expected Revenue",
        close_col="Deadline",
        probability_col="Probability",
        owner_col="Salesperson",
    )
    assert list(out["opportunity_id"]) == ["7", "7"]
    assert list(out["probability"]) == [0.125, 0.0]
    assert list(out["owner"]) == ["Mitchell Admin"] * 2
    assert out["expected_close"].iloc[0] == pd.Timestamp("2024-03-01")
