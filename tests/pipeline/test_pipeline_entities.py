"""Stage, Pipeline, Opportunity and StageChange: invariants, moves and their errors."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest

from crmcore.exceptions import CRMError, InvalidStageTransition, ValidationError
from crmcore.money import Money
from crmcore.pipeline import (
    ForecastCategory,
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StageOutcome,
    salesforce_pipeline,
    simple_pipeline,
)

UTC = dt.timezone.utc


def at(day: int, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, tzinfo=UTC)


def deal(**kw: object) -> Opportunity:
    base: dict[str, object] = dict(
        id="O-1",
        customer_id="C-1",
        name="Fleet",
        amount=Money(1000, "USD"),
        stage="Lead",
        expected_close=dt.date(2024, 6, 30),
        owner="ann",
        created_at=at(2),
    )
    base.update(kw)
    return Opportunity(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------ Stage / Pipeline


def test_a_won_stage_with_probability_below_one_names_the_stage() -> None:
    with pytest.raises(CRMError, match="'Signed'"):
        Stage(name="Signed", order=1, probability=0.95, outcome="won")


def test_a_lost_stage_with_positive_probability_names_the_stage() -> None:
    with pytest.raises(CRMError, match="'Gone'"):
        Stage(name="Gone", order=1, probability=0.1, outcome=StageOutcome.LOST)


def test_stage_defaults_its_forecast_category_from_the_outcome() -> None:
    assert Stage(name="A", order=1, probability=0.2, outcome="open").forecast_category is (
        ForecastCategory.PIPELINE
    )
    assert Stage(name="W", order=2, probability=1, outcome="won").forecast_category is (
        ForecastCategory.CLOSED
    )
    assert Stage(name="L", order=3, probability=0, outcome="lost").forecast_category is (
        ForecastCategory.OMITTED
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True])
def test_stage_probability_must_be_a_number_in_0_1(bad: object) -> None:
    with pytest.raises(ValidationError, match="probability"):
        Stage(name="A", order=1, probability=bad, outcome="open")  # type: ignore[arg-type]


def test_pipeline_orders_stages_and_allows_several_closing_stages() -> None:
    p = Pipeline(
        stages=[
            Stage(name="Lost-price", order=5, probability=0, outcome="lost"),
            Stage(name="B", order=2, probability=0.5, outcome="open"),
            Stage(name="A", order=1, probability=0.2, outcome="open"),
            Stage(name="Won", order=3, probability=1, outcome="won"),
            Stage(name="Lost-timing", order=4, probability=0, outcome="lost"),
        ]
    )
    assert p.names == ("A", "B", "Won", "Lost-timing", "Lost-price")
    assert p.lost_names == ("Lost-timing", "Lost-price")
    assert p.allows("A", "Lost-price") and not p.allows("Won", "A")


def test_pipeline_refuses_duplicate_names_and_unknown_transition_targets() -> None:
    a = Stage(name="A", order=1, probability=0.2, outcome="open")
    with pytest.raises(ValidationError, match="'A' appears twice"):
        Pipeline(stages=[a, Stage(name="A", order=2, probability=0.2, outcome="open")])
    with pytest.raises(ValidationError, match="'Z'"):
        Pipeline(stages=[a], transitions={"A": ["Z"]})


def test_transitions_limit_moves_and_an_unlisted_open_stage_cannot_move() -> None:
    p = Pipeline(
        stages=[
            Stage(name="A", order=1, probability=0.2, outcome="open"),
            Stage(name="B", order=2, probability=0.5, outcome="open"),
            Stage(name="W", order=3, probability=1, outcome="won"),
        ],
        transitions={"A": ["B"]},
    )
    assert p.allows("A", "B") and p.allows("A", "A")
    assert not p.allows("A", "W") and not p.allows("B", "W")


def test_presets_match_the_documented_probabilities() -> None:
    sf = salesforce_pipeline()
    want = [0.10, 0.10, 0.20, 0.50, 0.60, 0.70, 0.75, 0.90, 1.0, 0.0]
    assert [s.probability for s in sf.stages] == want
    assert sf.names[0] == "Prospecting" and sf.names[-2:] == ("Closed Won", "Closed Lost")
    assert simple_pipeline().names == ("Lead", "Qualified", "Proposal", "Won", "Lost")


def test_pipeline_pickles() -> None:
    p = salesforce_pipeline()
    assert pickle.loads(pickle.dumps(p)) == p


# ------------------------------------------------------------------ Opportunity


def test_an_opportunity_without_history_is_valid_and_replays_to_its_values() -> None:
    o = deal()
    assert o.history == ()
    state = o.state_at(at(3))
    assert state is not None and state.stage == "Lead" and o.state_at(at(1)) is None


def test_moves_append_to_history_and_keep_the_last_open_stage_before_a_loss() -> None:
    p = simple_pipeline()
    o = deal().move_to("Proposal", at=at(10), pipeline=p, amount=Money(1500, "USD"))
    lost = o.close_lost(at=at(20), pipeline=p, reason="price")
    assert [c.stage for c in lost.history] == ["Lead", "Proposal", "Lost"]
    assert lost.lost_reason == "price" and lost.last_open_stage(p) == "Proposal"
    assert lost.amount == Money(1500, "USD")
    assert o.stage == "Proposal" and deal().stage == "Lead"  # new instances
    won = o.close_won(at=at(20), pipeline=p)
    assert won.stage == "Won" and won.check(p) is won


def test_a_second_close_raises_invalid_stage_transition_naming_the_id() -> None:
    p = simple_pipeline()
    won = deal().close_won(at=at(5), pipeline=p)
    with pytest.raises(InvalidStageTransition, match="'O-1'"):
        won.close_lost(at=at(6), pipeline=p)
    with pytest.raises(InvalidStageTransition, match="'O-1'"):
        won.move_to("Lead", at=at(6), pipeline=p)


def test_a_forbidden_move_raises_invalid_stage_transition() -> None:
    p = Pipeline(stages=simple_pipeline().stages, transitions={"Lead": ["Qualified", "Lost"]})
    with pytest.raises(InvalidStageTransition, match=r"'O-1'.*'Lead' to 'Won'"):
        deal().close_won(at=at(5), pipeline=p)


def test_a_change_before_creation_or_to_an_unknown_stage_raises_naming_the_id() -> None:
    p = simple_pipeline()
    with pytest.raises(CRMError, match=r"'O-1'.*before created_at"):
        deal().move_to("Proposal", at=at(1), pipeline=p)
    with pytest.raises(CRMError, match=r"'O-1'.*'Demo'"):
        deal().move_to("Demo", at=at(5), pipeline=p)
    early = StageChange(
        stage="Lead", at=at(1), amount=Money(1, "USD"), expected_close=dt.date(2024, 6, 30)
    )
    with pytest.raises(CRMError, match=r"'O-1'.*before created_at"):
        deal(history=(early,))


def test_a_history_with_an_event_after_a_close_fails_the_pipeline_check() -> None:
    p = simple_pipeline()
    events = [
        StageChange(stage=s, at=at(d), amount=Money(1, "USD"), expected_close=dt.date(2024, 6, 30))
        for s, d in [("Lead", 2), ("Won", 3), ("Lead", 4)]
    ]
    with pytest.raises(InvalidStageTransition, match="'O-1'"):
        deal(history=events).check(p)


def test_an_out_of_order_move_breaks_append_only() -> None:
    p = simple_pipeline()
    o = deal().move_to("Qualified", at=at(10), pipeline=p)
    with pytest.raises(ValidationError, match="append-only"):
        o.move_to("Proposal", at=at(5), pipeline=p)
