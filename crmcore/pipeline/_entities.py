"""Stage, Pipeline, Opportunity and StageChange (private module; import from crmcore.pipeline).

Only the standard library, attrs and dateutil are imported here, never numpy or pandas, so
``from crmcore.pipeline import Stage, Pipeline, Opportunity`` stays cheap for ERP code.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmcore._entity_checks import (
    aware_datetime,
    enum_value,
    fail,
    member_of,
    non_empty_str,
    optional_str,
    to_tuple,
)
from crmcore.exceptions import InvalidStageTransition, ValidationError
from crmcore.money import Money

__all__ = [
    "ForecastCategory",
    "Opportunity",
    "Pipeline",
    "Stage",
    "StageChange",
    "StageOutcome",
    "salesforce_pipeline",
    "simple_pipeline",
]


# ====================================================================== enums


class StageOutcome(str, enum.Enum):
    """Whether a stage is still open or closes the deal as won or lost.

    Examples
    --------
    >>> StageOutcome("won")
    <StageOutcome.WON: 'won'>
    >>> StageOutcome.LOST == "lost"
    True
    """

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ForecastCategory(str, enum.Enum):
    """Salesforce-style forecast categories (the values are the labels users see).

    Examples
    --------
    >>> ForecastCategory("Best Case")
    <ForecastCategory.BEST_CASE: 'Best Case'>
    """

    PIPELINE = "Pipeline"
    BEST_CASE = "Best Case"
    COMMIT = "Commit"
    CLOSED = "Closed"
    OMITTED = "Omitted"


_DEFAULT_CATEGORY = {
    StageOutcome.OPEN: ForecastCategory.PIPELINE,
    StageOutcome.WON: ForecastCategory.CLOSED,
    StageOutcome.LOST: ForecastCategory.OMITTED,
}


# ====================================================================== Stage


def _to_outcome(value: Any) -> Any:
    return enum_value(StageOutcome, value)


def _to_category(value: Any) -> Any:
    return enum_value(ForecastCategory, value)


def _probability(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(instance, attribute.name, "a number in [0, 1]", value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise fail(instance, attribute.name, "a number in [0, 1]", value)


def _order(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(instance, attribute.name, "an int", value)


@attrs.frozen(kw_only=True)
class Stage:
    """One stage of a sales pipeline.

    Parameters
    ----------
    name : str
        The stage name as the CRM shows it (unique within a pipeline).
    order : int
        Position in the pipeline; stages are ordered by it (unique within a pipeline).
    probability : float
        Default probability, in [0, 1], that a deal in this stage is won. A won stage must
        have probability 1 and a lost stage probability 0.
    outcome : StageOutcome or {"open", "won", "lost"}
        Whether the stage is open or closes the deal as won or lost.
    forecast_category : ForecastCategory or str, optional
        Default forecast category of deals in the stage; ``None`` means Pipeline for an open
        stage, Closed for a won stage and Omitted for a lost one (the value is filled in).

    Raises
    ------
    ValidationError
        (a :class:`~crmcore.exceptions.CRMError`) for a blank name, a non-int order, a
        probability outside [0, 1], an unknown outcome or category, a won stage whose
        probability is not 1 or a lost stage whose probability is not 0 (the message names
        the stage).

    Examples
    --------
    >>> from crmcore.pipeline import Stage
    >>> Stage(name="Proposal", order=3, probability=0.5, outcome="open")
    Stage(name='Proposal', order=3, probability=0.5, outcome=<StageOutcome.OPEN: 'open'>, forecast_category=<ForecastCategory.PIPELINE: 'Pipeline'>)
    >>> Stage(name="Won", order=9, probability=0.9, outcome="won")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: Stage 'Won' is a won stage, so its probability must be 1; got 0.9.
    """  # noqa: E501

    name: str = attrs.field(validator=non_empty_str)
    order: int = attrs.field(validator=_order)
    probability: float = attrs.field(validator=_probability)
    outcome: StageOutcome = attrs.field(converter=_to_outcome, validator=member_of(StageOutcome))
    forecast_category: ForecastCategory = attrs.field(
        default=None,
        converter=_to_category,
        validator=member_of(ForecastCategory, optional=True),
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "probability", float(self.probability))
        if self.outcome is StageOutcome.WON and self.probability != 1.0:
            raise ValidationError(
                f"Stage {self.name!r} is a won stage, so its probability must be 1; "
                f"got {self.probability!r}."
            )
        if self.outcome is StageOutcome.LOST and self.probability != 0.0:
            raise ValidationError(
                f"Stage {self.name!r} is a lost stage, so its probability must be 0; "
                f"got {self.probability!r}."
            )
        if self.forecast_category is None:
            object.__setattr__(self, "forecast_category", _DEFAULT_CATEGORY[self.outcome])

    @property
    def is_open(self) -> bool:
        """True for an open stage (neither won nor lost)."""
        return self.outcome is StageOutcome.OPEN

    @property
    def is_closed(self) -> bool:
        """True for a won or lost stage."""
        return self.outcome is not StageOutcome.OPEN


# ====================================================================== Pipeline


def _to_stages(value: Any) -> Any:
    value = to_tuple(value)
    if isinstance(value, tuple) and all(isinstance(s, Stage) for s in value):
        return tuple(sorted(value, key=lambda s: s.order))
    return value


def _to_transitions(value: Any) -> Any:
    if value is None or not isinstance(value, Mapping):
        return value
    out: dict[str, frozenset[str]] = {}
    for key, targets in value.items():
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            return value  # the validator names it
        out[key] = frozenset(targets)
    return out


@attrs.frozen(kw_only=True)
class Pipeline:
    """An ordered set of stages, with an optional graph of allowed moves.

    Parameters
    ----------
    stages : sequence of Stage
        At least one stage; names and orders unique. Stored sorted by ``order``. Several won
        or lost stages are allowed.
    transitions : mapping of str to iterable of str, optional
        For an open stage, the stage names it may move to (a closing stage included only
        where listed). An open stage missing from the mapping may not move at all. ``None``
        (the default) allows every move from an open stage. Staying in the same stage (an
        amount or close-date change) is always allowed; nothing may follow a won or lost
        stage.

    Raises
    ------
    ValidationError
        For an empty or non-Stage list, duplicate names or orders, and transitions that name
        unknown stages or start from a closed stage.

    Examples
    --------
    >>> from crmcore.pipeline import Pipeline, Stage
    >>> p = Pipeline(stages=[
    ...     Stage(name="Lead", order=1, probability=0.1, outcome="open"),
    ...     Stage(name="Won", order=2, probability=1.0, outcome="won"),
    ...     Stage(name="Lost", order=3, probability=0.0, outcome="lost"),
    ... ], transitions={"Lead": ["Won", "Lost"]})
    >>> p.names, p.open_names, p.won_names, p.lost_names
    (('Lead', 'Won', 'Lost'), ('Lead',), ('Won',), ('Lost',))
    >>> p.allows("Lead", "Won"), p.allows("Won", "Lead")
    (True, False)
    >>> p.stage("Lead").probability
    0.1
    """

    stages: tuple[Stage, ...] = attrs.field(converter=_to_stages)
    transitions: dict[str, frozenset[str]] | None = attrs.field(
        default=None, converter=_to_transitions, hash=False
    )
    _by_name: dict[str, Stage] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        stages = self.stages
        if not isinstance(stages, tuple) or not stages:
            raise fail(self, "stages", "a non-empty sequence of Stage", stages)
        bad = [s for s in stages if not isinstance(s, Stage)]
        if bad:
            raise fail(self, "stages", "a sequence of Stage", bad[0])
        by_name: dict[str, Stage] = {}
        for s in stages:
            if s.name in by_name:
                raise ValidationError(f"Pipeline.stages: stage name {s.name!r} appears twice.")
            by_name[s.name] = s
        orders = [s.order for s in stages]
        dup = sorted({o for o in orders if orders.count(o) > 1})
        if dup:
            names = [s.name for s in stages if s.order == dup[0]]
            raise ValidationError(
                f"Pipeline.stages: order {dup[0]} is used by several stages ({', '.join(names)}); "
                "orders must be unique."
            )
        object.__setattr__(self, "_by_name", by_name)
        trans = self.transitions
        if trans is None:
            return
        if not isinstance(trans, dict):
            raise fail(self, "transitions", "a mapping of stage name to stage names or None", trans)
        for key, targets in trans.items():
            if key not in by_name:
                raise ValidationError(
                    f"Pipeline.transitions: {key!r} is not a stage of this pipeline "
                    f"(stages: {', '.join(by_name)})."
                )
            if by_name[key].is_closed:
                raise ValidationError(
                    f"Pipeline.transitions: {key!r} is a {by_name[key].outcome.value} stage; "
                    "nothing may follow a closed stage, so it cannot have transitions."
                )
            unknown = sorted(t for t in targets if t not in by_name)
            if unknown:
                raise ValidationError(
                    f"Pipeline.transitions[{key!r}]: {', '.join(map(repr, unknown))} "
                    f"{'is' if len(unknown) == 1 else 'are'} not stages of this pipeline "
                    f"(stages: {', '.join(by_name)})."
                )

    # ------------------------------------------------------------ helpers

    @property
    def names(self) -> tuple[str, ...]:
        """Every stage name, in pipeline order."""
        return tuple(s.name for s in self.stages)

    @property
    def open_names(self) -> tuple[str, ...]:
        """The open stage names, in pipeline order."""
        return tuple(s.name for s in self.stages if s.outcome is StageOutcome.OPEN)

    @property
    def won_names(self) -> tuple[str, ...]:
        """The won stage names, in pipeline order."""
        return tuple(s.name for s in self.stages if s.outcome is StageOutcome.WON)

    @property
    def lost_names(self) -> tuple[str, ...]:
        """The lost stage names, in pipeline order."""
        return tuple(s.name for s in self.stages if s.outcome is StageOutcome.LOST)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def stage(self, name: str) -> Stage:
        """Return the stage called `name`.

        Raises
        ------
        ValidationError
            If the pipeline has no such stage (the message lists the stages).
        """
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise ValidationError(
                f"Pipeline: {name!r} is not a stage of this pipeline "
                f"(stages: {', '.join(self.names)})."
            ) from None

    def allows(self, from_name: str, to_name: str) -> bool:
        """Whether a deal in `from_name` may move to `to_name`.

        Staying in an open stage is always allowed; nothing may follow a closed stage;
        otherwise ``transitions`` decides (``None``: every move allowed).

        Raises
        ------
        ValidationError
            If either name is not a stage of the pipeline.
        """
        source = self.stage(from_name)
        self.stage(to_name)
        if source.is_closed:
            return False
        if from_name == to_name or self.transitions is None:
            return True
        return to_name in self.transitions.get(from_name, frozenset())


# ====================================================================== presets


def salesforce_pipeline() -> Pipeline:
    """The ten-stage pipeline of Salesforce's standard Opportunity Stage picklist.

    Probabilities are Salesforce's defaults: Prospecting 10%, Qualification 10%, Needs
    Analysis 20%, Value Proposition 50%, Id. Decision Makers 60%, Perception Analysis 70%,
    Proposal/Price Quote 75%, Negotiation/Review 90%, Closed Won 100%, Closed Lost 0%.
    Forecast categories (crmcore's choice): Pipeline up to Perception Analysis, Best Case
    for Proposal/Price Quote, Commit for Negotiation/Review, Closed and Omitted for the
    closing stages. No transition graph (every move allowed).

    References
    ----------
    Salesforce Help, "Opportunity Stage" standard picklist values.

    Examples
    --------
    >>> from crmcore.pipeline import salesforce_pipeline
    >>> p = salesforce_pipeline()
    >>> len(p.names), p.stage("Value Proposition").probability, p.won_names
    (10, 0.5, ('Closed Won',))
    """
    open_stages = [
        ("Prospecting", 0.10, None),
        ("Qualification", 0.10, None),
        ("Needs Analysis", 0.20, None),
        ("Value Proposition", 0.50, None),
        ("Id. Decision Makers", 0.60, None),
        ("Perception Analysis", 0.70, None),
        ("Proposal/Price Quote", 0.75, ForecastCategory.BEST_CASE),
        ("Negotiation/Review", 0.90, ForecastCategory.COMMIT),
    ]
    stages = [
        Stage(name=n, order=i + 1, probability=p, outcome="open", forecast_category=c)
        for i, (n, p, c) in enumerate(open_stages)
    ]
    stages.append(Stage(name="Closed Won", order=9, probability=1.0, outcome="won"))
    stages.append(Stage(name="Closed Lost", order=10, probability=0.0, outcome="lost"))
    return Pipeline(stages=stages)


def simple_pipeline() -> Pipeline:
    """A short five-stage pipeline: Lead 10%, Qualified 30%, Proposal 60%, Won, Lost.

    The open probabilities are crmcore's choice (roughly the Salesforce values of the
    matching stages: Prospecting 10%, between Qualification and Value Proposition, between
    Value Proposition and Proposal/Price Quote). Forecast categories: Pipeline, Pipeline,
    Best Case, Closed, Omitted. No transition graph.

    Examples
    --------
    >>> from crmcore.pipeline import simple_pipeline
    >>> p = simple_pipeline()
    >>> p.names
    ('Lead', 'Qualified', 'Proposal', 'Won', 'Lost')
    >>> [p.stage(n).probability for n in p.open_names]
    [0.1, 0.3, 0.6]
    """
    return Pipeline(
        stages=[
            Stage(name="Lead", order=1, probability=0.1, outcome="open"),
            Stage(name="Qualified", order=2, probability=0.3, outcome="open"),
            Stage(
                name="Proposal",
                order=3,
                probability=0.6,
                outcome="open",
                forecast_category="Best Case",
            ),
            Stage(name="Won", order=4, probability=1.0, outcome="won"),
            Stage(name="Lost", order=5, probability=0.0, outcome="lost"),
        ]
    )


# ====================================================================== Opportunity


def _plain_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise fail(instance, attribute.name, "a datetime.date (not a datetime)", value)


def _money(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        raise fail(instance, attribute.name, "a crmcore.Money", value)


def _optional_probability(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _probability(instance, attribute, value)


def _plain_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise fail(instance, attribute.name, "a str", value)


@attrs.frozen(kw_only=True)
class StageChange:
    """One event of an opportunity's history: the values in force from `at` on.

    Like a Salesforce OpportunityHistory row it carries the then-current stage, amount,
    expected close and probability override, so a change of amount alone repeats the stage.

    Parameters
    ----------
    stage : str
        The stage name in force from `at`.
    at : datetime
        When the event happened (tz-aware).
    amount : Money
        The amount in force from `at`.
    expected_close : date
        The expected close date in force from `at`.
    probability : float, optional
        The probability override in force from `at` (None: the stage default).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.money import Money
    >>> from crmcore.pipeline import StageChange
    >>> StageChange(stage="Lead", at=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
    ...             amount=Money(1000, "USD"), expected_close=dt.date(2024, 3, 31)).stage
    'Lead'
    """

    stage: str = attrs.field(validator=non_empty_str)
    at: dt.datetime = attrs.field(validator=aware_datetime)
    amount: Money = attrs.field(validator=_money)
    expected_close: dt.date = attrs.field(validator=_plain_date)
    probability: float | None = attrs.field(default=None, validator=_optional_probability)


def _stage_changes(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(c, StageChange) for c in value):
        raise fail(instance, attribute.name, "a tuple of StageChange", value)


@attrs.frozen(kw_only=True)
class Opportunity:
    """A sales opportunity (deal); every change returns a new instance.

    Parameters
    ----------
    id, customer_id, name : str
        The opportunity id (non-empty), the customer's id and a display name.
    amount : Money
        The current amount.
    stage : str
        The current stage name.
    expected_close : date
        The current expected close date.
    owner : str
        The sales rep who owns the deal.
    created_at : datetime
        When the deal was created (tz-aware).
    probability : float, optional
        A probability override in [0, 1] (None: the stage default).
    forecast_category : ForecastCategory or str, optional
        A forecast-category override (None: the stage's category).
    lost_reason : str, optional
        Why the deal was lost.
    history : tuple of StageChange, default ()
        The append-only event history, in time order; its first event is the creation. An
        opportunity built without history is valid (its current values are its history).

    Raises
    ------
    ValidationError
        For a bad field, a history event dated before `created_at`, events out of time
        order, or history amounts in another currency (the message names the opportunity).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.money import Money
    >>> from crmcore.pipeline import Opportunity, simple_pipeline
    >>> utc = dt.timezone.utc
    >>> pipe = simple_pipeline()
    >>> deal = Opportunity(id="O-1", customer_id="C-9", name="Fleet renewal",
    ...                    amount=Money(12000, "EUR"), stage="Lead",
    ...                    expected_close=dt.date(2024, 6, 30), owner="ann",
    ...                    created_at=dt.datetime(2024, 1, 2, tzinfo=utc))
    >>> deal = deal.move_to("Proposal", at=dt.datetime(2024, 2, 1, tzinfo=utc), pipeline=pipe)
    >>> lost = deal.close_lost(at=dt.datetime(2024, 3, 1, tzinfo=utc), pipeline=pipe,
    ...                        reason="price")
    >>> lost.stage, lost.lost_reason, lost.last_open_stage(pipe)
    ('Lost', 'price', 'Proposal')
    >>> [c.stage for c in lost.history]
    ['Lead', 'Proposal', 'Lost']
    >>> lost.state_at(dt.datetime(2024, 2, 15, tzinfo=utc)).stage
    'Proposal'
    >>> lost.move_to("Lead", at=dt.datetime(2024, 4, 1, tzinfo=utc), pipeline=pipe)
    Traceback (most recent call last):
    ...
    crmcore.exceptions.InvalidStageTransition: Opportunity 'O-1': cannot move from 'Lost' to 'Lead': the deal is already closed (lost).
    """  # noqa: E501

    id: str = attrs.field(validator=non_empty_str)
    customer_id: str = attrs.field(validator=_plain_str)
    name: str = attrs.field(validator=_plain_str)
    amount: Money = attrs.field(validator=_money)
    stage: str = attrs.field(validator=non_empty_str)
    expected_close: dt.date = attrs.field(validator=_plain_date)
    owner: str = attrs.field(validator=_plain_str)
    created_at: dt.datetime = attrs.field(validator=aware_datetime)
    probability: float | None = attrs.field(default=None, validator=_optional_probability)
    forecast_category: ForecastCategory | None = attrs.field(
        default=None,
        converter=_to_category,
        validator=member_of(ForecastCategory, optional=True),
    )
    lost_reason: str | None = attrs.field(default=None, validator=optional_str)
    history: tuple[StageChange, ...] = attrs.field(
        default=(), converter=to_tuple, validator=_stage_changes
    )

    def __attrs_post_init__(self) -> None:
        previous = self.created_at
        for change in self.history:
            if change.at < self.created_at:
                raise ValidationError(
                    f"Opportunity {self.id!r}: a history event at {change.at.isoformat()} is "
                    f"dated before created_at {self.created_at.isoformat()}."
                )
            if change.at < previous:
                raise ValidationError(
                    f"Opportunity {self.id!r}: history events must be in time order (append-"
                    f"only); {change.at.isoformat()} follows {previous.isoformat()}."
                )
            previous = change.at
            if change.amount.currency != self.amount.currency:
                raise ValidationError(
                    f"Opportunity {self.id!r}: a history amount is in "
                    f"{change.amount.currency}, the opportunity in {self.amount.currency}."
                )

    # ------------------------------------------------------------ replay

    def events(self) -> tuple[StageChange, ...]:
        """The history, or (built without history) the current values at `created_at`."""
        if self.history:
            return self.history
        return (self._current(self.created_at),)

    def _current(self, at: dt.datetime) -> StageChange:
        return StageChange(
            stage=self.stage,
            at=at,
            amount=self.amount,
            expected_close=self.expected_close,
            probability=self.probability,
        )

    def state_at(self, at: dt.datetime) -> StageChange | None:
        """Replay the history: the event in force at `at` (None before creation).

        Raises
        ------
        ValidationError
            If `at` is not a timezone-aware datetime.
        """
        if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise fail(self, "state_at(at=...)", "a timezone-aware datetime", at)
        state = None
        for change in self.events():
            if change.at <= at:
                state = change
            else:
                break
        return state

    def last_open_stage(self, pipeline: Pipeline) -> str | None:
        """The last open stage the deal was in (before a loss or win); None if never open."""
        self._require_pipeline(pipeline, "last_open_stage")
        found = None
        for change in self.events():
            if change.stage in pipeline and pipeline.stage(change.stage).is_open:
                found = change.stage
        return found

    def check(self, pipeline: Pipeline) -> Opportunity:
        """Check the stages and history against `pipeline`; return self.

        Raises
        ------
        ValidationError
            For a stage not in the pipeline.
        InvalidStageTransition
            For any event after a won or lost stage, or a move the pipeline forbids.
        """
        self._require_pipeline(pipeline, "check")
        events = self.events()
        for change in events:
            if change.stage not in pipeline:
                raise ValidationError(
                    f"Opportunity {self.id!r}: stage {change.stage!r} is not a stage of the "
                    f"pipeline (stages: {', '.join(pipeline.names)})."
                )
        if self.stage not in pipeline:
            raise ValidationError(
                f"Opportunity {self.id!r}: stage {self.stage!r} is not a stage of the "
                f"pipeline (stages: {', '.join(pipeline.names)})."
            )
        for before, after in itertools.pairwise(events):
            self._check_move(before.stage, after.stage, pipeline)
        return self

    def _require_pipeline(self, pipeline: object, method: str) -> None:
        if not isinstance(pipeline, Pipeline):
            raise ValidationError(
                f"Opportunity {self.id!r}: the 'pipeline' parameter of {method} must be a "
                f"crmcore.pipeline.Pipeline. Got {type(pipeline).__name__} instead."
            )

    def _check_move(self, source: str, target: str, pipeline: Pipeline) -> None:
        for name in (source, target):
            if name not in pipeline:
                raise ValidationError(
                    f"Opportunity {self.id!r}: stage {name!r} is not a stage of the pipeline "
                    f"(stages: {', '.join(pipeline.names)})."
                )
        current = pipeline.stage(source)
        if current.is_closed:
            raise InvalidStageTransition(
                f"Opportunity {self.id!r}: cannot move from {source!r} to {target!r}: the deal "
                f"is already closed ({current.outcome.value})."
            )
        if not pipeline.allows(source, target):
            allowed = sorted((pipeline.transitions or {}).get(source, frozenset()))
            raise InvalidStageTransition(
                f"Opportunity {self.id!r}: the pipeline does not allow a move from {source!r} "
                f"to {target!r} (allowed: {', '.join(allowed) or 'none'})."
            )

    # ------------------------------------------------------------ changes

    def move_to(
        self,
        stage: str,
        *,
        at: dt.datetime,
        pipeline: Pipeline,
        amount: Money | None = None,
        expected_close: dt.date | None = None,
        probability: float | None = None,
    ) -> Opportunity:
        """Return a new Opportunity in `stage` from `at`, with the event appended to history.

        `amount` and `expected_close` default to the current values; `probability` (the
        override) resets to None (the new stage's default) unless given. Moving to the current
        stage records a change of the other values. A deal built without history first gets
        its current values recorded at `created_at`.

        Raises
        ------
        ValidationError
            If `stage` is not in `pipeline`, or `at` is before `created_at` or before the
            last history event (the message names the opportunity).
        InvalidStageTransition
            If the deal is already won or lost, or `pipeline.transitions` forbids the move.
        """
        if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise fail(self, "move_to(at=...)", "a timezone-aware datetime", at)
        self._require_pipeline(pipeline, "move_to")
        events = self.events()
        if at < self.created_at:
            raise ValidationError(
                f"Opportunity {self.id!r}: a change at {at.isoformat()} is dated before "
                f"created_at {self.created_at.isoformat()}."
            )
        if at < events[-1].at:
            raise ValidationError(
                f"Opportunity {self.id!r}: the history is append-only; a change at "
                f"{at.isoformat()} is dated before the last event {events[-1].at.isoformat()}."
            )
        self._check_move(self.stage, stage, pipeline)
        target = pipeline.stage(stage)
        if target.is_closed:
            probability = None
        change = StageChange(
            stage=stage,
            at=at,
            amount=self.amount if amount is None else amount,
            expected_close=self.expected_close if expected_close is None else expected_close,
            probability=probability,
        )
        return attrs.evolve(
            self,
            stage=stage,
            amount=change.amount,
            expected_close=change.expected_close,
            probability=probability,
            history=(*events, change),
        )

    def close_won(self, *, at: dt.datetime, pipeline: Pipeline) -> Opportunity:
        """Return a new Opportunity in the pipeline's first won stage (see :meth:`move_to`).

        Raises
        ------
        ValidationError
            If the pipeline has no won stage (or as :meth:`move_to`).
        InvalidStageTransition
            As :meth:`move_to` (a second close included).
        """
        return self._close("won", at, pipeline)

    def close_lost(
        self, *, at: dt.datetime, pipeline: Pipeline, reason: str | None = None
    ) -> Opportunity:
        """Return a new Opportunity in the pipeline's first lost stage, with `reason`.

        The last open stage stays in the history (:meth:`last_open_stage`).

        Raises
        ------
        ValidationError
            If the pipeline has no lost stage (or as :meth:`move_to`).
        InvalidStageTransition
            As :meth:`move_to` (a second close included).
        """
        return attrs.evolve(self._close("lost", at, pipeline), lost_reason=reason)

    def _close(self, outcome: str, at: dt.datetime, pipeline: Pipeline) -> Opportunity:
        """Move to the pipeline's first stage of `outcome` ("won" or "lost")."""
        self._require_pipeline(pipeline, f"close_{outcome}")
        names = pipeline.won_names if outcome == "won" else pipeline.lost_names
        if not names:
            raise ValidationError(f"Opportunity {self.id!r}: the pipeline has no {outcome} stage.")
        return self.move_to(names[0], at=at, pipeline=pipeline)
