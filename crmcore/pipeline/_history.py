"""The stage-history event frame: validation, snapshots and readers (private module).

Every function of :mod:`crmcore.pipeline` that reads a history goes through
:func:`read_history`, so one set of rules holds everywhere:

- one row per event (creation, stage change, or a change of amount, expected close or
  probability); like Salesforce OpportunityHistory each row carries the then-current values,
  so a row may repeat the current stage; rows may come in any order and an opportunity's
  first event (earliest ``changed_at``; ties keep the input order) is its creation;
- the whole frame is validated, not only the part before an ``as_of``;
- the input is never mutated.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any, Final, NoReturn, cast

import numpy as np
import pandas as pd

from crmcore._validation import fail_for_ids, format_ids, parse_or_raise, require_columns, to_pandas
from crmcore.exceptions import InvalidStageTransition, ValidationError
from crmcore.money import Money
from crmcore.pipeline._entities import (
    Opportunity,
    Pipeline,
    Stage,
    StageChange,
    StageOutcome,
    salesforce_pipeline,
)

__all__ = [
    "HISTORY_COLUMNS",
    "coerce_as_of",
    "history_from_odoo",
    "history_from_salesforce",
    "history_to_opportunities",
    "opportunities_to_history",
    "read_history",
    "snapshot",
]

#: The columns of the event frame every history reader needs (``probability`` and ``owner``
#: are optional).
HISTORY_COLUMNS: Final[tuple[str, ...]] = (
    "opportunity_id",
    "stage",
    "changed_at",
    "amount",
    "expected_close",
)

_OPTIONAL: Final[tuple[str, ...]] = ("probability", "owner")


# ====================================================================== time


def coerce_as_of(value: Any, *, who: str, name: str = "as_of") -> pd.Timestamp:
    """Return `value` as a tz-aware UTC Timestamp (an instant).

    A naive value (datetime, Timestamp, ISO string without offset, numpy datetime64) is read
    as UTC; a tz-aware one is converted to UTC. A ``datetime.date`` (or a date-only string)
    is midnight UTC at the start of that day.

    Raises
    ------
    ValidationError
        If `value` is not a date, datetime, Timestamp, datetime64 or ISO 8601 string, or is
        outside the years 1677-2262 (e.g. ``"12,50"``, which pandas reads as the year 1).

    Examples
    --------
    >>> coerce_as_of("2024-03-31", who="snapshot")
    Timestamp('2024-03-31 00:00:00+0000', tz='UTC')
    >>> import datetime as dt
    >>> coerce_as_of(dt.datetime(2024, 3, 31, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ...              who="snapshot")
    Timestamp('2024-03-31 10:00:00+0000', tz='UTC')
    """
    expected = "a date, datetime, pandas Timestamp or ISO 8601 string"
    refusal = f"{who}: {name} must be {expected}; got {value!r} ({type(value).__name__})."
    ts = parse_or_raise(pd.Timestamp, value, (str, dt.date, np.datetime64, pd.Timestamp), refusal)
    try:  # every clock of the pipeline counts nanoseconds: years 1677-2262
        ts = ts.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise ValidationError(
            f"{who}: {name} {value!r} is read as {ts}, outside the dates pandas can count in "
            f"nanoseconds ({pd.Timestamp.min.date()} to {pd.Timestamp.max.date()}). Hint: give "
            "an ISO 8601 date such as '2024-03-31'.",
            rule=f"{name} must be a date between 1677 and 2262",
        ) from None
    if ts.tzinfo is None:
        return cast(pd.Timestamp, ts.tz_localize("UTC"))
    return cast(pd.Timestamp, ts.tz_convert("UTC"))


def _parsed_datetimes(series: pd.Series[Any], column: str, who: str, *, utc: bool) -> Any:
    """Parse a datetime column to UTC if `utc` (naive means UTC), else to naive local times."""
    dtype = series.dtype
    noun = "datetimes" if utc else "dates"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC") if utc else series.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(dtype):
        return series.dt.tz_localize("UTC") if utc else series
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ValidationError(
            f"{who}: column {column!r} must hold {noun}; got dtype {dtype} "
            f"(first values: {format_ids(series.head(2))})."
        )
    kind = pd.api.types.infer_dtype(series, skipna=True)
    try:
        if kind == "string":
            out = pd.to_datetime(series, format="ISO8601", utc=utc)
        elif kind in ("datetime", "datetime64", "date", "empty"):
            out = pd.to_datetime(series, utc=utc)
        else:
            raise ValueError(kind)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            f"{who}: column {column!r} must hold {noun} or ISO 8601 strings"
            + ("" if utc else " in one time zone")
            + f" (first values: {format_ids(series.head(2))})."
            + (" Hint: convert it with pandas.to_datetime(..., utc=True) first." if utc else "")
        ) from exc
    if not utc and isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_localize(None)
    return out


def _utc_column(series: pd.Series[Any], column: str, who: str) -> pd.Series[Any]:
    """A datetime column as datetime64[ns, UTC] (naive values are UTC)."""
    out = _parsed_datetimes(series, column, who, utc=True)
    return cast("pd.Series[Any]", out.astype("datetime64[ns, UTC]"))


def _date_column(series: pd.Series[Any], column: str, who: str) -> pd.Series[Any]:
    """A date column as naive datetime64[ns] at midnight (a tz-aware value keeps its date)."""
    out = _parsed_datetimes(series, column, who, utc=False)
    return cast("pd.Series[Any]", out.astype("datetime64[ns]").dt.normalize())


def _float_column(series: pd.Series[Any], column: str, who: str) -> pd.Series[Any]:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise ValidationError(f"{who}: column {column!r} must hold numbers; got booleans.")
    try:
        return pd.to_numeric(series, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{who}: column {column!r} must hold numbers (first values: "
            f"{format_ids(series.head(2))})."
        ) from exc


def _id_text(series: pd.Series[Any]) -> pd.Series[Any]:
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        # whole numbers that int64 holds exactly (not inf, not 1e308) print without ".0"
        if len(whole) and bool(((whole == np.floor(whole)) & (whole.abs() < 2.0**53)).all()):
            series = series.astype("Int64")
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series  # already str: no copy
    return series.astype(str).astype(object)


def _all_str(series: pd.Series[Any]) -> bool:
    """True when `series` is an object column of str only (so no missing values)."""
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string"


def _missing(series: pd.Series[Any]) -> np.ndarray[Any, Any]:
    """The missing-value mask of a column (an all-str object column skips the slow isna)."""
    if _all_str(series):
        return np.zeros(len(series), dtype=bool)
    return np.asarray(series.isna().to_numpy(), dtype=bool)


# ====================================================================== read_history


def _fail_ids(
    kind: type[ValidationError] | type[InvalidStageTransition],
    who: str,
    rule: str,
    ids: pd.Series[Any] | np.ndarray[Any, Any],
    hint: str = "",
    *,
    column: str | None = None,
) -> NoReturn:
    fail_for_ids(who, rule, ids, noun="opportunities", hint=hint, column=column, kind=kind)


def read_history(history: Any, pipeline: Pipeline, *, who: str = "read_history") -> pd.DataFrame:
    """Validate a stage-history event frame against `pipeline` and return it normalised.

    Parameters
    ----------
    history : DataFrame (pandas, Polars or PyArrow)
        One row per event with columns ``opportunity_id``, ``stage`` (a stage name),
        ``changed_at`` (datetime; naive values are UTC), ``amount`` (number),
        ``expected_close`` (date) and optionally ``probability`` (the override in force
        from that event, in [0, 1]; missing = the stage default) and ``owner``. Other
        columns are ignored. Rows may come in any order.
    pipeline : Pipeline
        The pipeline the stage names belong to.
    who : str, default "read_history"
        The name of the calling function, used in error messages.

    Returns
    -------
    pandas.DataFrame
        A new frame (the input is never mutated), RangeIndex, sorted by
        (opportunity_id, changed_at, input row order), with exactly the columns
        ``opportunity_id`` (str), ``stage`` (str), ``changed_at`` (datetime64[ns, UTC]),
        ``amount`` (float64), ``expected_close`` (datetime64[ns], midnight),
        ``probability`` (float64, NaN = stage default), ``stage_order`` (int64),
        ``outcome`` (str: open, won or lost), ``stage_probability`` (float64, the stage
        default) and ``owner`` (str, only when the input has an owner column).

    Raises
    ------
    ColumnNotFoundError
        If a required column is missing.
    ValidationError
        For missing values in a required column (or in ``owner``), values that are not
        dates or numbers, a non-finite amount, a probability outside [0, 1], a stage not in
        the pipeline, a won-stage row with probability < 1 or a lost-stage row with
        probability > 0.
    InvalidStageTransition
        For an opportunity with two closes (a won or lost row after another) or any other
        event after a won or lost row.

    Every message names the rule, the count and the first offending opportunity ids.

    Notes
    -----
    Transitions forbidden by ``pipeline.transitions`` are *not* refused here: real exports
    contain skips and regressions that the analytics must see (the entities enforce the graph).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import read_history, simple_pipeline
    >>> raw = pd.DataFrame({
    ...     "opportunity_id": ["A", "A", "B"],
    ...     "stage": ["Qualified", "Lead", "Lead"],
    ...     "changed_at": ["2024-01-09", "2024-01-02", "2024-01-05T10:00"],
    ...     "amount": [1200, 1000, 500],
    ...     "expected_close": ["2024-03-31", "2024-03-31", "2024-02-29"],
    ... })
    >>> read_history(raw, simple_pipeline())[["opportunity_id", "stage", "changed_at", "outcome"]]
      opportunity_id      stage                changed_at outcome
    0              A       Lead 2024-01-02 00:00:00+00:00    open
    1              A  Qualified 2024-01-09 00:00:00+00:00    open
    2              B       Lead 2024-01-05 10:00:00+00:00    open
    """
    if not isinstance(pipeline, Pipeline):
        raise ValidationError(
            f"The 'pipeline' parameter of {who} must be a crmcore.pipeline.Pipeline. "
            f"Got {type(pipeline).__name__} instead."
        )
    require_columns(history, HISTORY_COLUMNS, who=who, col_args=False)
    raw = to_pandas(history, who=who)
    present = [c for c in _OPTIONAL if c in raw.columns]

    # ---- missing values (reported all at once)
    problems = []
    for col in [*HISTORY_COLUMNS, *(["owner"] if "owner" in present else [])]:
        mask = _missing(raw[col])
        if mask.any():
            col_ids = raw["opportunity_id"].to_numpy()[mask] if col != "opportunity_id" else []
            where = (
                f"first ids: {format_ids(pd.unique(np.asarray(col_ids, dtype=object)))}"
                if col != "opportunity_id"
                else f"first rows: {format_ids(np.flatnonzero(mask))}"
            )
            problems.append(f"column {col!r} has {int(mask.sum()):,} missing values ({where})")
    if problems:
        raise ValidationError(
            f"{who}: " + "; ".join(problems) + ". Hint: drop or fill them before calling."
        )

    ids = _id_text(raw["opportunity_id"])
    stage = _id_text(raw["stage"])
    changed = _utc_column(raw["changed_at"], "changed_at", who)
    amount = _float_column(raw["amount"], "amount", who)
    close = _date_column(raw["expected_close"], "expected_close", who)
    if "probability" in present:
        prob = _float_column(raw["probability"], "probability", who)
    else:
        prob = pd.Series(np.nan, index=raw.index, dtype="float64")

    row_ids = ids.to_numpy()

    def refuse(bad: np.ndarray[Any, Any], rule: str, column: str, hint: str = "") -> None:
        if bad.any():
            _fail_ids(ValidationError, who, rule, row_ids[bad], hint, column=column)

    amt = amount.to_numpy()
    refuse(~np.isfinite(amt), "amount must be a finite number", "amount")
    p = prob.to_numpy()
    refuse(
        ~np.isnan(p) & ~((p >= 0.0) & (p <= 1.0)),
        "probability must be in [0, 1] (or missing for the stage default)",
        "probability",
        "a probability in percent (0-100) must be divided by 100.",
    )

    # ---- stages
    names = pd.Index(pipeline.names)
    stage_codes, stage_uniques = pd.factorize(stage)
    code = names.get_indexer(pd.Index(stage_uniques))[stage_codes]
    bad = code < 0
    if bad.any():
        unknown = pd.unique(stage.to_numpy()[bad])
        refuse(
            bad,
            f"stage must be a stage of the pipeline; unknown stages "
            f"{format_ids(repr(s) for s in unknown)}",
            "stage",
            f"the pipeline's stages are {', '.join(pipeline.names)}.",
        )
    stage_order = np.array([s.order for s in pipeline.stages], dtype=np.int64)[code]
    outcomes = np.array([s.outcome.value for s in pipeline.stages], dtype=object)[code]
    default_p = np.array([s.probability for s in pipeline.stages], dtype=np.float64)[code]
    won = np.array([s.outcome is StageOutcome.WON for s in pipeline.stages], dtype=bool)[code]
    lost = np.array([s.outcome is StageOutcome.LOST for s in pipeline.stages], dtype=bool)[code]
    refuse(
        won & ~np.isnan(p) & (p < 1.0),
        "a row in a won stage must have probability 1 (or missing)",
        "probability",
    )
    refuse(
        lost & ~np.isnan(p) & (p > 0.0),
        "a row in a lost stage must have probability 0 (or missing)",
        "probability",
    )

    # ---- order: (opportunity_id, changed_at, row order)
    id_codes, id_uniques = pd.factorize(ids)  # then rank the few uniques: cheaper than sort=True
    id_codes = np.argsort(np.argsort(np.asarray(id_uniques, dtype=object), kind="stable"))[id_codes]
    t = np.asarray(changed.array.asi8, dtype=np.int64)
    d_id, d_t = np.diff(id_codes), np.diff(t)
    presorted = bool(((d_id > 0) | ((d_id == 0) & (d_t >= 0))).all())
    if presorted:  # already in order (the usual export): the identity
        order = np.arange(len(ids))
    else:  # unique key id rank * n + time rank (ties by row order): one plain argsort
        n = len(ids)
        t_rank = np.empty(n, dtype=np.int64)
        t_rank[np.argsort(t, kind="stable")] = np.arange(n, dtype=np.int64)
        order = np.argsort(id_codes.astype(np.int64) * n + t_rank)
    sorted_ids = id_codes[order]
    closed = (won | lost)[order]
    same = np.zeros(len(order), dtype=bool)
    same[1:] = sorted_ids[1:] == sorted_ids[:-1]
    # closed rows seen earlier in the same opportunity
    cum = np.cumsum(closed)
    start = np.ones(len(order), dtype=bool)
    start[1:] = ~same[1:]
    first_pos = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
    after_close = (cum - closed - (cum[first_pos] - closed[first_pos])) > 0
    if after_close.any():
        ids_sorted = ids.to_numpy()[order]
        twice = after_close & closed
        if twice.any():
            _fail_ids(
                InvalidStageTransition,
                who,
                "an opportunity closes (won or lost) at most once; these have a second "
                "won or lost row after the first",
                ids_sorted[twice],
            )
        _fail_ids(
            InvalidStageTransition,
            who,
            "no event may follow a won or lost row; these have later rows",
            ids_sorted[after_close],
            "a reopened deal must get a new opportunity id.",
        )

    def take(values: Any) -> Any:
        # a new array in every case, so the frame below may hold it without a copy
        return values.copy() if presorted else values[order]

    columns: dict[str, Any] = {
        "opportunity_id": take(ids.to_numpy()),
        "stage": take(stage.to_numpy(dtype=object)),
        "changed_at": pd.Series(take(changed.array)),
        "amount": take(amt),
        "expected_close": take(close.to_numpy()),
        "probability": take(p),
        "stage_order": take(stage_order),
        "outcome": take(outcomes),
        "stage_probability": take(default_p),
    }
    if "owner" in present:
        owner = raw["owner"] if _all_str(raw["owner"]) else raw["owner"].astype(str)
        columns["owner"] = take(owner.to_numpy(dtype=object))
    # copy=False: every array is new (no consolidation copy of a million rows)
    out = pd.DataFrame(columns, copy=False)
    return cast(pd.DataFrame, out)


# ====================================================================== snapshot


def snapshot(history: Any, as_of: Any, *, pipeline: Pipeline) -> pd.DataFrame:
    """The open pipeline as it stood at `as_of`, rebuilt from the event history.

    Parameters
    ----------
    history : DataFrame
        The stage-history event frame (see :func:`read_history`); the whole frame is
        validated, not only the part before `as_of`.
    as_of : datetime, date, Timestamp or ISO string
        The instant (tz-aware, or naive read as UTC; a date is midnight UTC at its start).
    pipeline : Pipeline
        The pipeline of the stage names.

    Returns
    -------
    pandas.DataFrame
        One row per opportunity open at `as_of`: its first event is at or before `as_of` and
        its last event at or before `as_of` (an event exactly at `as_of` counts) is in an open
        stage. Sorted by ``opportunity_id``, RangeIndex, columns ``opportunity_id``, ``stage``,
        ``amount``, ``expected_close``, ``probability`` (the override in force, else the stage
        default), ``probability_override`` (NaN = none), ``stage_order``, ``created_at``
        (first event), ``changed_at`` (last event at or before `as_of`) and ``owner`` (when
        the history has it), all taken from that last event.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidStageTransition
        As :func:`read_history`; ValidationError for a bad `as_of`.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline, snapshot
    >>> history = pd.DataFrame({
    ...     "opportunity_id": ["A", "A", "A", "B", "C"],
    ...     "stage": ["Lead", "Proposal", "Won", "Qualified", "Lead"],
    ...     "changed_at": ["2024-01-02", "2024-02-01", "2024-03-01", "2024-01-20", "2024-02-15"],
    ...     "amount": [1000, 1200, 1200, 500, 700],
    ...     "expected_close": ["2024-03-31"] * 5,
    ... })
    >>> snapshot(history, "2024-02-01", pipeline=simple_pipeline())[
    ...     ["opportunity_id", "stage", "amount", "probability"]]
      opportunity_id     stage  amount  probability
    0              A  Proposal  1200.0          0.6
    1              B Qualified   500.0          0.3
    """
    who = "snapshot"
    events = read_history(history, pipeline, who=who)
    cut = coerce_as_of(as_of, who=who)
    first = np.ones(len(events), dtype=bool)
    ids = events["opportunity_id"].to_numpy()
    first[1:] = ids[1:] != ids[:-1]
    created = events["changed_at"].where(first).ffill() if len(events) else events["changed_at"]
    seen = (events["changed_at"] <= cut).to_numpy()
    kept = events.loc[seen]
    created = created.loc[seen]
    kids = kept["opportunity_id"].to_numpy()
    last = np.ones(len(kept), dtype=bool)
    last[:-1] = kids[:-1] != kids[1:]
    last &= (kept["outcome"] == StageOutcome.OPEN.value).to_numpy()
    rows = kept.loc[last]
    override = rows["probability"].to_numpy()
    out = pd.DataFrame(
        {
            "opportunity_id": rows["opportunity_id"].to_numpy(),
            "stage": rows["stage"].to_numpy(),
            "amount": rows["amount"].to_numpy(),
            "expected_close": rows["expected_close"].to_numpy(),
            "probability": np.where(
                np.isnan(override), rows["stage_probability"].to_numpy(), override
            ),
            "probability_override": override,
            "stage_order": rows["stage_order"].to_numpy(),
        }
    )
    out["created_at"] = pd.Series(created.loc[last].array, index=out.index)
    out["changed_at"] = pd.Series(rows["changed_at"].array, index=out.index)
    if "owner" in rows.columns:
        out["owner"] = rows["owner"].to_numpy()
    return cast(pd.DataFrame, out)


# ====================================================================== entities <-> frame

#: Per-opportunity columns that :func:`opportunities_to_history` repeats on every event row so
#: that :func:`history_to_opportunities` rebuilds the entities losslessly.
_ENTITY_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "name",
    "currency",
    "created_at",
    "forecast_category",
    "lost_reason",
)


def opportunities_to_history(opportunities: Iterable[Opportunity]) -> pd.DataFrame:
    """The event frame of `opportunities`: one row per history event.

    An opportunity built without history contributes one row, its current values at
    ``created_at``. Besides the event columns (``opportunity_id, stage, changed_at, amount,
    expected_close, probability, owner``; ``owner`` is the opportunity's current owner) every
    row repeats ``customer_id, name, currency, created_at, forecast_category, lost_reason``
    (ignored by :func:`read_history`, used by :func:`history_to_opportunities`).

    Returns
    -------
    pandas.DataFrame
        Rows in the order of `opportunities` and of their histories; RangeIndex.

    Raises
    ------
    ValidationError
        If an item is not an Opportunity.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.money import Money
    >>> from crmcore.pipeline import Opportunity, opportunities_to_history, simple_pipeline
    >>> utc = dt.timezone.utc
    >>> deal = Opportunity(id="O-1", customer_id="C-9", name="Fleet", amount=Money(100, "EUR"),
    ...                    stage="Lead", expected_close=dt.date(2024, 6, 30), owner="ann",
    ...                    created_at=dt.datetime(2024, 1, 2, tzinfo=utc))
    >>> deal = deal.close_won(at=dt.datetime(2024, 2, 1, tzinfo=utc), pipeline=simple_pipeline())
    >>> opportunities_to_history([deal])[["opportunity_id", "stage", "changed_at", "amount"]]
      opportunity_id stage                changed_at  amount
    0            O-1  Lead 2024-01-02 00:00:00+00:00   100.0
    1            O-1   Won 2024-02-01 00:00:00+00:00   100.0
    """
    if not isinstance(opportunities, Iterable) or isinstance(opportunities, str | bytes):
        raise ValidationError(
            "The 'opportunities' parameter of opportunities_to_history must be an iterable of "
            f"crmcore.pipeline.Opportunity. Got {type(opportunities).__name__} instead."
        )
    columns: dict[str, list[Any]] = {
        c: [] for c in (*HISTORY_COLUMNS, "probability", "owner", *_ENTITY_COLUMNS)
    }
    for o in opportunities:
        if not isinstance(o, Opportunity):
            raise ValidationError(
                "opportunities_to_history: every item must be a crmcore.pipeline.Opportunity; "
                f"got {type(o).__name__}."
            )
        category = None if o.forecast_category is None else o.forecast_category.value
        for change in o.events():
            columns["opportunity_id"].append(o.id)
            columns["stage"].append(change.stage)
            columns["changed_at"].append(change.at)
            columns["amount"].append(float(change.amount.amount))
            columns["expected_close"].append(change.expected_close)
            columns["probability"].append(
                np.nan if change.probability is None else change.probability
            )
            columns["owner"].append(o.owner)
            columns["customer_id"].append(o.customer_id)
            columns["name"].append(o.name)
            columns["currency"].append(o.amount.currency)
            columns["created_at"].append(o.created_at)
            columns["forecast_category"].append(category)
            columns["lost_reason"].append(o.lost_reason)
    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    out["changed_at"] = pd.to_datetime(out["changed_at"], utc=True).astype("datetime64[ns, UTC]")
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True).astype("datetime64[ns, UTC]")
    out["expected_close"] = pd.to_datetime(out["expected_close"]).astype("datetime64[ns]")
    out["amount"] = out["amount"].astype("float64")
    out["probability"] = out["probability"].astype("float64")
    return cast(pd.DataFrame, out)


def _optional(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def history_to_opportunities(
    history: Any, pipeline: Pipeline, *, currency: str | None = None
) -> list[Opportunity]:
    """Rebuild Opportunity entities (with their histories) from an event frame.

    Each opportunity's current values are those of its last event; its history is every
    event in time order. The optional columns ``customer_id``, ``name``, ``currency``,
    ``created_at``, ``forecast_category`` and ``lost_reason`` (as written by
    :func:`opportunities_to_history`; the first non-missing value per opportunity) fill
    the other fields; without them ``customer_id`` and ``name`` are ``""``, ``owner`` is
    ``""`` and ``created_at`` is the first event. Amounts become Money through their shortest
    decimal text (``1234.56`` stays ``Decimal('1234.56')``).

    Parameters
    ----------
    history : DataFrame
        The event frame (validated as in :func:`read_history`).
    pipeline : Pipeline
        The pipeline of the stage names; every history is checked against it.
    currency : str, optional
        The currency of the amounts when the frame has no ``currency`` column.

    Returns
    -------
    list of Opportunity
        Sorted by opportunity id.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidStageTransition
        As :func:`read_history`; ValidationError without a currency, or when an entity
        rule fails (the message names the opportunity).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import history_to_opportunities, simple_pipeline
    >>> frame = pd.DataFrame({
    ...     "opportunity_id": ["A", "A"], "stage": ["Lead", "Lost"],
    ...     "changed_at": ["2024-01-02", "2024-02-01"], "amount": [250.5, 250.5],
    ...     "expected_close": ["2024-03-31", "2024-03-31"]})
    >>> [deal] = history_to_opportunities(frame, simple_pipeline(), currency="USD")
    >>> deal.stage, deal.amount, deal.last_open_stage(simple_pipeline())
    ('Lost', Money('250.50', 'USD'), 'Lead')
    """
    who = "history_to_opportunities"
    events = read_history(history, pipeline, who=who)
    raw = to_pandas(history, who=who)
    extras = [c for c in _ENTITY_COLUMNS if c in raw.columns]
    if "currency" not in extras and currency is None:
        raise ValidationError(
            f"{who}: the frame has no 'currency' column; pass currency='EUR' (or the "
            "currency of the amounts)."
        )
    per_opp: dict[str, dict[str, Any]] = {}
    if extras:
        side = raw.loc[:, extras].copy()
        side.insert(0, "opportunity_id", _id_text(raw["opportunity_id"]).to_numpy())
        if "created_at" in extras:
            side["created_at"] = _utc_column(side["created_at"], "created_at", who)
        per_opp = side.groupby("opportunity_id", sort=False).first().to_dict(orient="index")
    has_owner = "owner" in events.columns
    out: list[Opportunity] = []
    if len(events) == 0:
        return out
    ids = events["opportunity_id"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])
    records = events.to_dict(orient="records")
    for start, stop in itertools.pairwise(bounds.tolist()):
        rows = records[start:stop]
        oid = str(rows[0]["opportunity_id"])
        info = per_opp.get(oid, {})
        cur = str(_optional(info.get("currency")) or currency)
        changes = tuple(
            StageChange(
                stage=r["stage"],
                at=r["changed_at"].to_pydatetime(),
                amount=Money(repr(float(r["amount"])), cur),
                expected_close=r["expected_close"].date(),
                probability=_optional(r["probability"]),
            )
            for r in rows
        )
        created = _optional(info.get("created_at"))
        last = changes[-1]
        opp = Opportunity(
            id=oid,
            customer_id=str(_optional(info.get("customer_id")) or ""),
            name=str(_optional(info.get("name")) or ""),
            amount=last.amount,
            stage=last.stage,
            expected_close=last.expected_close,
            owner=str(rows[-1]["owner"]) if has_owner else "",
            created_at=changes[0].at if created is None else created.to_pydatetime(),
            probability=last.probability,
            forecast_category=_optional(info.get("forecast_category")),
            lost_reason=_optional(info.get("lost_reason")),
            history=changes,
        )
        out.append(opp.check(pipeline))
    return out


# ====================================================================== CRM export readers

_EVENT_COLUMNS: Final[tuple[str, ...]] = (*HISTORY_COLUMNS, "probability")


def _from_export(
    frame: Any, pipeline: Pipeline, mapping: dict[str, str], *, who: str
) -> pd.DataFrame:
    """Rename an export's columns to the event frame's, percent to [0, 1], then validate."""
    require_columns(frame, list(mapping.values()), who=who)
    raw = to_pandas(frame, who=who)
    renamed = pd.DataFrame({new: raw[old].to_numpy() for new, old in mapping.items()})
    if "probability" in renamed.columns:
        renamed["probability"] = _float_column(renamed["probability"], mapping["probability"], who)
        renamed["probability"] = renamed["probability"] / 100.0
    events = read_history(renamed, pipeline, who=who)
    keep = [c for c in (*_EVENT_COLUMNS, "owner") if c in events.columns]
    return cast(pd.DataFrame, events.loc[:, keep])


def history_from_salesforce(
    frame: Any, *, pipeline: Pipeline | None = None, owner_col: str | None = None
) -> pd.DataFrame:
    """Read a Salesforce OpportunityHistory export into the stage-history event frame.

    Salesforce writes an OpportunityHistory row whenever the stage, amount, close date or
    probability of an opportunity changes; each row carries the then-current values, exactly
    the event frame's convention. Columns used: ``OpportunityId`` -> ``opportunity_id``,
    ``StageName`` -> ``stage``, ``CreatedDate`` (when the change happened, UTC in exports)
    -> ``changed_at``, ``Amount`` -> ``amount``, ``CloseDate`` -> ``expected_close`` and
    ``Probability`` (percent, 0-100) -> ``probability`` (divided by 100). Other columns
    (``ExpectedRevenue``, ``ForecastCategory``, ...) are ignored.

    Parameters
    ----------
    frame : DataFrame (pandas, Polars or PyArrow)
        The export, rows in any order.
    pipeline : Pipeline, optional
        The org's stages; default :func:`salesforce_pipeline` (the standard picklist).
    owner_col : str, optional
        A column to keep as ``owner`` (OpportunityHistory itself has no owner; join it from
        Opportunity.OwnerId first).

    Returns
    -------
    pandas.DataFrame
        The validated event frame: ``opportunity_id, stage, changed_at, amount,
        expected_close, probability`` (and ``owner``), sorted as :func:`read_history`.

    Raises
    ------
    ColumnNotFoundError, ValidationError, InvalidStageTransition
        As :func:`read_history`, naming the opportunity ids (a blank Amount or CloseDate is
        a missing value: fill it first).

    References
    ----------
    Salesforce Object Reference, "OpportunityHistory".

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import history_from_salesforce
    >>> export = pd.DataFrame({
    ...     "OpportunityId": ["0061x01", "0061x01", "0061x02"],
    ...     "StageName": ["Prospecting", "Closed Won", "Negotiation/Review"],
    ...     "CreatedDate": ["2024-01-03T09:15:00.000+0000", "2024-02-20T16:40:00.000+0000",
    ...                     "2024-02-01T08:00:00.000+0000"],
    ...     "Amount": [15000.0, 14000.0, 8000.0],
    ...     "CloseDate": ["2024-03-31", "2024-02-20", "2024-04-15"],
    ...     "Probability": [10, 100, 90],
    ... })
    >>> history_from_salesforce(export)[["opportunity_id", "stage", "amount", "probability"]]
      opportunity_id               stage   amount  probability
    0        0061x01         Prospecting  15000.0          0.1
    1        0061x01          Closed Won  14000.0          1.0
    2        0061x02  Negotiation/Review   8000.0          0.9
    """
    mapping = {
        "opportunity_id": "OpportunityId",
        "stage": "StageName",
        "changed_at": "CreatedDate",
        "amount": "Amount",
        "expected_close": "CloseDate",
        "probability": "Probability",
    }
    if owner_col is not None:
        mapping["owner"] = owner_col
    pipe = salesforce_pipeline() if pipeline is None else pipeline
    return _from_export(frame, pipe, mapping, who="history_from_salesforce")


def history_from_odoo(
    frame: Any,
    *,
    pipeline: Pipeline | None = None,
    lead_col: str = "lead_id",
    stage_col: str = "stage",
    date_col: str = "date",
    amount_col: str = "expected_revenue",
    close_col: str = "date_deadline",
    probability_col: str = "probability",
    owner_col: str | None = None,
) -> pd.DataFrame:
    """Read an Odoo ``crm.lead`` stage-tracking export into the stage-history event frame.

    Odoo records a lead's stage changes as tracking values (``mail.tracking.value`` on the
    lead's chatter messages). Export one row per tracked change with the lead id, the new
    stage name, the message date and the lead's values then in force: expected revenue,
    deadline (expected closing) and probability (percent, 0-100; divided by 100 here). The
    defaults follow Odoo's field names (``expected_revenue``, ``date_deadline``,
    ``probability``); pass the ``*_col`` arguments for other headers.

    Odoo marks a lost lead by archiving it rather than by a stage: add a lost stage to
    `pipeline` and a row for the loss before calling.

    Parameters
    ----------
    frame : DataFrame (pandas, Polars or PyArrow)
        The export, rows in any order.
    pipeline : Pipeline, optional
        The team's stages. Default: Odoo's default CRM stages New (10%), Qualified (30%),
        Proposition (60%), Won, plus a Lost stage for archived-as-lost leads; the open-stage
        probabilities are crmcore's defaults (Odoo computes a per-lead probability, which
        the export's ``probability`` column carries as an override on every row).
    lead_col, stage_col, date_col, amount_col, close_col, probability_col : str
        The export's column names.
    owner_col : str, optional
        A column to keep as ``owner`` (e.g. ``user_id``, the salesperson).

    Returns
    -------
    pandas.DataFrame
        The validated event frame: ``opportunity_id, stage, changed_at, amount,
        expected_close, probability`` (and ``owner``).

    Raises
    ------
    ColumnNotFoundError, ValidationError, InvalidStageTransition
        As :func:`read_history`, naming the lead ids (an empty deadline is a missing value).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import history_from_odoo
    >>> export = pd.DataFrame({
    ...     "lead_id": [42, 42, 42],
    ...     "stage": ["New", "Proposition", "Won"],
    ...     "date": ["2024-01-08 10:00:00", "2024-01-30 14:30:00", "2024-02-12 09:00:00"],
    ...     "expected_revenue": [5000.0, 6500.0, 6500.0],
    ...     "date_deadline": ["2024-03-01", "2024-02-28", "2024-02-28"],
    ...     "probability": [10.0, 55.0, 100.0],
    ... })
    >>> history_from_odoo(export)[["opportunity_id", "stage", "probability"]]
      opportunity_id        stage  probability
    0             42          New         0.10
    1             42  Proposition         0.55
    2             42          Won         1.00
    """
    mapping = {
        "opportunity_id": lead_col,
        "stage": stage_col,
        "changed_at": date_col,
        "amount": amount_col,
        "expected_close": close_col,
        "probability": probability_col,
    }
    if owner_col is not None:
        mapping["owner"] = owner_col
    pipe = _odoo_default_pipeline() if pipeline is None else pipeline
    return _from_export(frame, pipe, mapping, who="history_from_odoo")


def _odoo_default_pipeline() -> Pipeline:
    """Odoo's default CRM stages (New, Qualified, Proposition, Won) and a Lost stage."""
    return Pipeline(
        stages=[
            Stage(name="New", order=1, probability=0.1, outcome="open"),
            Stage(name="Qualified", order=2, probability=0.3, outcome="open"),
            Stage(name="Proposition", order=3, probability=0.6, outcome="open"),
            Stage(name="Won", order=4, probability=1.0, outcome="won"),
            Stage(name="Lost", order=5, probability=0.0, outcome="lost"),
        ]
    )
