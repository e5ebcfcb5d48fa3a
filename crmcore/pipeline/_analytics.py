"""Funnel analytics on a pipeline snapshot or a stage-history event frame.

Definitions used throughout (every function states which it uses):

- *Cohort* definition: the opportunities created in ``[start, as_of]`` (all created up to
  `as_of` when `start` is None), followed from creation to `as_of`.
- *Snapshot* definition: the opportunities open at `start` (as :func:`snapshot` rebuilds
  them), followed from `start` to `as_of`.
- *Right-censoring*: an opportunity still open at `as_of` has no outcome yet; it is counted
  in ``open`` but left out of the denominators of rates (won / (won + lost), advanced /
  (advanced + lost)). Such rates describe the resolved deals only; they lean towards
  outcomes that come quickly. The time-aware estimate is
  :func:`crmcore.pipeline.close_time_curves` (Aalen-Johansen cumulative incidence).

Nothing reads the clock: `as_of` is always an argument (tz-aware, or naive read as UTC).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._compat import renamed_parameters
from crmcore._periods import period_numbers, period_start
from crmcore._validation import (
    check_param_choice,
    check_param_number,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import ColumnNotFoundError, ValidationError

if TYPE_CHECKING:
    from crmcore.pipeline._entities import Pipeline

__all__ = [
    "forecast_category_rollup",
    "pipeline_coverage",
    "sales_velocity",
    "slip_rates",
    "stage_conversion",
    "weighted_pipeline",
    "win_rates",
]

_PERIODS = ("D", "W", "M", "Q", "Y")
_DEFINITIONS = ("cohort", "snapshot")
_NS_PER_DAY = 86_400 * 10**9
_UNIT_DAYS = {"D": 1.0, "W": 7.0}
_CATEGORIES = ("Pipeline", "Best Case", "Commit", "Closed", "Omitted")


def _df(data: Any, **kwargs: Any) -> pd.DataFrame:
    out: pd.DataFrame = pd.DataFrame(data, **kwargs)
    return out


def _dates(values: pd.Series, column: str, who: str) -> pd.Series:
    """`values` parsed as datetimes; a ValidationError naming `column` if they are not dates."""
    try:
        out: pd.Series = pd.to_datetime(values)
    except (TypeError, ValueError, OverflowError) as exc:  # OutOfBounds, DateParseError
        raise ValidationError(
            f"{who}: column {column!r} must hold dates (first values: "
            f"{format_ids(values.head(2))}); {str(exc).splitlines()[0][:80]}."
        ) from exc
    return out


def _check_date(value: Any, name: str, who: str) -> pd.Timestamp:
    """A date parameter as a Timestamp (normalised), or a ValidationError naming it."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a date. Got {value!r} instead."
        ) from exc
    if stamp is pd.NaT or pd.isna(stamp):
        raise ValidationError(f"The {name!r} parameter of {who} must be a date. Got NaT instead.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    out: pd.Timestamp = stamp.normalize()
    return out


def _check_by(by: Any, who: str) -> tuple[str, ...]:
    """The `by` parameter as a tuple of str (a single str allowed)."""
    if isinstance(by, str):
        return (by,)
    if isinstance(by, Sequence) and all(isinstance(b, str) for b in by):
        return tuple(by)
    raise ValidationError(
        f"The 'by' parameter of {who} must be a str or a sequence of str (column names or "
        f"period codes {', '.join(_PERIODS)}). Got {by!r} instead."
    )


def _check_finite_result(frame: pd.DataFrame, columns: Sequence[str], who: str) -> None:
    """Sums of finite amounts that overflow float64: not representable, say so."""
    values = frame.loc[:, list(columns)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValidationError(
            f"{who}: the sums of the amounts overflow float64 (amounts near 1e308); "
            "express the amounts in a larger unit (thousands, millions)."
        )


def _period_start(values: pd.Series, period: str, who: str = "", column: str = "") -> pd.Series:
    """Start date of the calendar period (week = Monday to Sunday) of each date (NaT kept).

    Periods of the package's period clock (:mod:`crmcore._periods`); tz-aware dates are
    taken in UTC (the clock numbers the wall clock it is given).
    """
    naive = _dates(values, column, who)
    if getattr(naive.dt, "tz", None) is not None:
        naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
    ok = naive.notna().to_numpy()
    starts = np.full(len(naive), np.datetime64("NaT"), dtype="datetime64[ns]")
    numbers = period_numbers(naive.to_numpy()[ok], period, name=column, who=who)
    starts[ok] = period_start(numbers, period, who=who)
    out: pd.Series = pd.Series(starts, index=naive.index, name=naive.name)
    return out


def _numbers(frame: pd.DataFrame, column: str, who: str) -> npt.NDArray[np.float64]:
    try:
        values = np.array(pd.to_numeric(frame[column], errors="raise"), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{who}: column {column!r} must hold numbers.") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        ids: Any = frame["opportunity_id"].to_numpy()[bad] if "opportunity_id" in frame else []
        raise ValidationError(
            f"{who}: column {column!r} must be finite numbers; {int(bad.sum())} of "
            f"{len(values):,} rows are missing or infinite (first ids: {format_ids(ids)}).",
            rule="column must be finite numbers",
            column=column,
            count=int(bad.sum()),
            first_ids=ids[:5],
        )
    return values


def _snapshot_probability(
    frame: pd.DataFrame, pipeline: Pipeline | None, who: str
) -> npt.NDArray[np.float64]:
    """The probability column, NaN filled with the stage default (needs a pipeline)."""
    if "probability" in frame.columns:
        # a copy: the stage defaults are filled in below and the input must not change
        prob = np.array(pd.to_numeric(frame["probability"], errors="coerce"), dtype=np.float64)
    else:
        prob = np.full(len(frame), np.nan)
    missing = np.isnan(prob)
    if missing.any():
        if pipeline is None or "stage" not in frame.columns:
            raise ValidationError(
                f"{who}: {int(missing.sum())} rows have no probability; pass pipeline= and a "
                "'stage' column so the stage default can be used."
            )
        stages = frame["stage"].astype(str).to_numpy()
        unknown = sorted({s for s in stages[missing] if s not in pipeline})
        if unknown:
            raise ValidationError(
                f"{who}: stages not in the pipeline: {format_ids(unknown)}; "
                f"known stages: {', '.join(pipeline.names)}."
            )
        defaults = {n: pipeline.stage(n).probability for n in pipeline.names}
        prob[missing] = [defaults[s] for s in stages[missing]]
    if ((prob < 0) | (prob > 1)).any():
        raise ValidationError(f"{who}: probability must be in [0, 1].")
    return prob


def _group_keys(
    frame: pd.DataFrame, by: Sequence[str], date_col: str, who: str
) -> tuple[pd.DataFrame, list[str]]:
    """Grouping columns: a column name, or a period code (D/W/M/Q/Y) of `date_col`."""
    if isinstance(by, str):
        by = (by,)
    keys: dict[str, Any] = {}
    for item in by:
        if item in _PERIODS:
            keys["period"] = _period_start(frame[date_col], item, who, date_col).to_numpy()
            missing = pd.isna(keys["period"])
        elif item in frame.columns:
            keys[item] = frame[item].to_numpy()
            missing = pd.isna(frame[item]).to_numpy()
        else:
            missing = None
        if missing is not None and missing.any():
            column = date_col if item in _PERIODS else item
            ids: Any = (
                frame["opportunity_id"].to_numpy()[missing]
                if "opportunity_id" in frame
                else (np.flatnonzero(missing))
            )
            raise ValidationError(
                f"{who}: cannot group by {item!r}: column {column!r} has {int(missing.sum()):,} "
                f"missing values (first ids: {format_ids(ids)}). Hint: fill them first.",
                rule="group-by columns must not have missing values",
                column=column,
                count=int(missing.sum()),
                first_ids=ids[:5],
            )
        if item not in _PERIODS and item not in frame.columns:
            raise ColumnNotFoundError(
                f"{who}: cannot group by {item!r}: it is neither a column ({list(frame.columns)}) "
                f"nor a period code ({', '.join(_PERIODS)})."
            )
    return _df(keys, index=frame.index), list(keys)


def weighted_pipeline(
    snapshot: Any,
    *,
    pipeline: Pipeline | None = None,
    by: Sequence[str] = ("owner", "Q"),
) -> pd.DataFrame:
    """Weighted pipeline: the sum of amount x probability by owner and close period.

    Parameters
    ----------
    snapshot : DataFrame
        Open opportunities (e.g. :func:`crmcore.pipeline.snapshot`) with ``amount``,
        ``expected_close`` and ``probability`` (NaN = the stage default, which then needs
        `pipeline` and a ``stage`` column).
    pipeline : Pipeline, optional
        Supplies stage default probabilities.
    by : sequence of str, default ("owner", "Q")
        Grouping: column names, and at most one period code (``"D"``, ``"W"``, ``"M"``,
        ``"Q"``, ``"Y"``) meaning the calendar period of ``expected_close`` (column
        ``period``, its start date; weeks start on Monday). ``()`` gives one total row.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted), columns: the group keys, ``n_opportunities``,
        ``amount`` (unweighted) and ``weighted_amount`` (sum of amount x probability).

    Raises
    ------
    ColumnNotFoundError
        If a needed column (or a ``by`` column) is missing.
    ValidationError
        On missing or non-finite amounts or probabilities outside [0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "owner": ["x", "x", "y"],
    ...     "amount": [100.0, 200.0, 50.0], "probability": [0.5, 0.1, 1.0],
    ...     "expected_close": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-04-01"])})
    >>> weighted_pipeline(snap, by=("owner", "Q"))
      owner     period  n_opportunities  amount  weighted_amount
    0     x 2024-01-01                2   300.0             70.0
    1     y 2024-04-01                1    50.0             50.0
    """
    who = "weighted_pipeline"
    by = _check_by(by, who)
    frame = to_pandas(snapshot, who=who)
    needs = ["amount"] + (["expected_close"] if any(b in _PERIODS for b in by) else [])
    require_columns(frame, needs, who=who)
    amount = _numbers(frame, "amount", who)
    prob = _snapshot_probability(frame, pipeline, who)
    keys, names = _group_keys(frame, by, "expected_close", who)
    work = keys.assign(n_opportunities=1, amount=amount, weighted_amount=amount * prob).reset_index(
        drop=True
    )
    if not names:
        out = _df(
            {
                "n_opportunities": [len(frame)],
                "amount": [float(amount.sum())],
                "weighted_amount": [float((amount * prob).sum())],
            }
        )
    else:
        out = work.groupby(names, sort=True, dropna=False).sum().reset_index()
    _check_finite_result(out, ["amount", "weighted_amount"], who)
    result: pd.DataFrame = out
    return result


# ------------------------------------------------------------------ history helpers


def _read(history: Any, pipeline: Pipeline, as_of: Any, who: str) -> tuple[pd.DataFrame, int]:
    from crmcore.pipeline._history import coerce_as_of, read_history

    events = read_history(history, pipeline, who=who)
    cut = int(coerce_as_of(as_of, who=who).value)
    return events, cut


def _first_flags(ids: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    first = np.ones(ids.shape[0], dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return first


def _suffix_max(values: npt.NDArray[np.int64], group: npt.NDArray[np.int64]) -> Any:
    """Within each group (contiguous), the max of values from each row to the group's end."""
    rev = pd.Series(values[::-1]).groupby(group[::-1], sort=False).cummax().to_numpy()
    return rev[::-1]


class _Deals:
    """Per-event arrays cut at `as_of` and per-opportunity facts (private helper)."""

    def __init__(self, events: pd.DataFrame, cut: int, pipeline: Pipeline) -> None:
        times = pd.DatetimeIndex(events["changed_at"]).asi8
        keep = times <= cut
        ev = events.loc[keep].reset_index(drop=True)
        self.events = ev
        self.t = pd.DatetimeIndex(ev["changed_at"]).asi8
        ids = ev["opportunity_id"].to_numpy(dtype=object)
        first = _first_flags(ids)
        self.first = first
        self.group = np.cumsum(first) - 1
        self.starts = np.flatnonzero(first)
        self.ids = ids[first]
        n = self.starts.shape[0]
        self.created = self.t[first]
        outcome = ev["outcome"].to_numpy(dtype=object)
        self.order = ev["stage_order"].to_numpy(dtype=np.int64)
        self.is_open_event = outcome == "open"
        self.is_won_event = outcome == "won"
        last = np.r_[first[1:], True] if len(ev) else first
        self.last = last
        final = outcome[last]
        self.won = final == "won"
        self.lost = final == "lost"
        self.open = final == "open"
        closed_at = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        closed_at[~self.open] = self.t[last][~self.open]
        self.closed_at = closed_at
        self.final_amount = ev["amount"].to_numpy(dtype=np.float64)[last]
        self.final_stage = ev["stage"].to_numpy(dtype=object)[last]
        self.first_stage = ev["stage"].to_numpy(dtype=object)[first]
        self.owner = ev["owner"].to_numpy(dtype=object)[first] if "owner" in ev else None
        # open-stage order, -1 on closed rows, and the max from each row onwards
        open_order = np.where(self.is_open_event, self.order, -1)
        self.after_max = _suffix_max(open_order, self.group) if len(ev) else open_order


def _rate_table(
    won: npt.NDArray[np.int64], lost: npt.NDArray[np.int64], rate_name: str
) -> dict[str, Any]:
    resolved = won + lost
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(resolved > 0, won / np.maximum(resolved, 1), np.nan)
        se = np.where(resolved > 0, np.sqrt(rate * (1 - rate) / np.maximum(resolved, 1)), np.nan)
    return {rate_name: rate, "std_err": se}


def _cohort_mask(deals: _Deals, start: Any, who: str) -> npt.NDArray[np.bool_]:
    from crmcore.pipeline._history import coerce_as_of

    if start is None:
        return np.ones(deals.ids.shape[0], dtype=bool)
    lo = int(coerce_as_of(start, who=who, name="start").value)
    out: npt.NDArray[np.bool_] = deals.created >= lo
    return out


def _at_start(deals: _Deals, start: Any, who: str) -> tuple[Any, Any]:
    """Per opportunity: the index of its last event at or before `start` (-1: none), open flag."""
    from crmcore.pipeline._history import coerce_as_of

    if start is None:
        raise ValidationError(f"{who}: definition='snapshot' needs start= (the snapshot date).")
    lo = int(coerce_as_of(start, who=who, name="start").value)
    seen = deals.t <= lo
    idx = np.arange(deals.t.shape[0])
    last_seen = (
        pd.Series(np.where(seen, idx, -1)).groupby(deals.group).max().to_numpy()
        if idx.size
        else np.array([], dtype=np.int64)
    )
    has = last_seen >= 0
    open_at = np.zeros(last_seen.shape[0], dtype=bool)
    open_at[has] = deals.is_open_event[last_seen[has]]
    return last_seen, open_at


def win_rates(
    history: Any,
    *,
    pipeline: Pipeline,
    as_of: Any,
    definition: str = "cohort",
    start: Any = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Win rates won / (won + lost), with deals still open at `as_of` right-censored.

    Parameters
    ----------
    history : DataFrame
        Stage-history event frame (validated whole, see :func:`read_history`).
    pipeline : Pipeline
    as_of : date-like
        End of observation; later events are not seen.
    definition : {"cohort", "snapshot"}, default "cohort"
        ``"cohort"``: opportunities created in ``[start, as_of]`` (all up to `as_of` when
        `start` is None). ``"snapshot"``: opportunities open at `start` (required).
    start : date-like, optional
        Start of the cohort window, or the snapshot date.
    by : {None, "owner", "stage"}, default None
        Group rows: ``"stage"`` is the creation stage (cohort) or the stage at `start`
        (snapshot).

    Returns
    -------
    pandas.DataFrame
        Index: the group (``"all"`` when `by` is None). Columns ``n_opportunities``,
        ``won``, ``lost``, ``open`` (censored), ``win_rate`` = won / (won + lost) (NaN
        when nothing is resolved) and ``std_err`` (binomial).

    Notes
    -----
    Open deals are right-censored: they are counted in ``open`` but not in the rate.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline, win_rates
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a", "b", "b", "c"],
    ...     "stage": ["Lead", "Won", "Lead", "Lost", "Lead"],
    ...     "changed_at": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02",
    ...                                   "2024-01-03", "2024-01-04"]),
    ...     "amount": 10.0, "expected_close": pd.Timestamp("2024-02-01")})
    >>> win_rates(h, pipeline=simple_pipeline(), as_of="2024-01-31")[["won", "lost", "open", "win_rate"]]
         won  lost  open  win_rate
    all    1     1     1       0.5
    """  # noqa: E501
    who = "win_rates"
    check_param_choice("definition", definition, _DEFINITIONS, who=who)
    check_param_choice("by", by, (None, "owner", "stage"), who=who)
    events, cut = _read(history, pipeline, as_of, who)
    deals = _Deals(events, cut, pipeline)
    if definition == "cohort":
        member = _cohort_mask(deals, start, who)
        stage = deals.first_stage
    else:
        last_seen, member = _at_start(deals, start, who)
        stage = np.where(
            last_seen >= 0, deals.events["stage"].to_numpy(dtype=object)[last_seen], None
        )
    if by == "owner" and deals.owner is None:
        raise ColumnNotFoundError(f"{who}: by='owner' needs an 'owner' column in the history.")
    key: Any = np.full(member.shape[0], "all", dtype=object)
    if by == "owner":
        key = deals.owner
    elif by == "stage":
        key = stage
    table = _df(
        {
            "key": key[member],
            "n_opportunities": 1,
            "won": deals.won[member].astype(np.int64),
            "lost": deals.lost[member].astype(np.int64),
            "open": deals.open[member].astype(np.int64),
        }
    )
    out = table.groupby("key", sort=True).sum()
    if by == "stage":
        order = [n for n in pipeline.names if n in out.index]
        out = out.loc[order]
    out.index.name = by
    rates = _rate_table(out["won"].to_numpy(), out["lost"].to_numpy(), "win_rate")
    result: pd.DataFrame = out.assign(**rates)
    return result


def stage_conversion(
    history: Any,
    *,
    pipeline: Pipeline,
    as_of: Any,
    definition: str = "cohort",
    start: Any = None,
) -> pd.DataFrame:
    """Stage-to-later-stage conversion, with deals still open at `as_of` right-censored.

    A deal *advances* from open stage s when, after it is in s, it reaches an open stage of
    higher order or a won stage (skips count). It is *lost* from s when it closes lost
    without advancing, and *open* (censored) otherwise.

    Parameters
    ----------
    history : DataFrame
        Stage-history event frame (validated whole).
    pipeline : Pipeline
    as_of : date-like
        End of observation.
    definition : {"cohort", "snapshot"}, default "cohort"
        ``"cohort"``: every opportunity created in ``[start, as_of]`` that reached s (first
        entry), followed to `as_of`. ``"snapshot"``: the opportunities in s at `start`
        (required), followed from `start` to `as_of`.
    start : date-like, optional

    Returns
    -------
    pandas.DataFrame
        Index: open stages in pipeline order. Columns ``entered`` (deals in the stage's
        cohort), ``advanced``, ``lost``, ``open`` (censored), ``conversion_rate`` =
        advanced / (advanced + lost) and ``std_err`` (binomial); both NaN for a stage where
        no deal has advanced or been lost yet.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline, stage_conversion
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a", "b", "b", "c"],
    ...     "stage": ["Lead", "Proposal", "Lead", "Lost", "Lead"],
    ...     "changed_at": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02",
    ...                                   "2024-01-03", "2024-01-04"]),
    ...     "amount": 10.0, "expected_close": pd.Timestamp("2024-02-01")})
    >>> stage_conversion(h, pipeline=simple_pipeline(), as_of="2024-01-31")["advanced"].tolist()
    [1, 0, 0]
    """
    who = "stage_conversion"
    check_param_choice("definition", definition, _DEFINITIONS, who=who)
    events, cut = _read(history, pipeline, as_of, who)
    deals = _Deals(events, cut, pipeline)
    opens = list(pipeline.open_names)
    n_events = deals.t.shape[0]
    stage_of_event = deals.events["stage"].to_numpy(dtype=object)
    if definition == "cohort":
        member = _cohort_mask(deals, start, who)
        # first entry of each (opportunity, stage) among open events
        frame = _df({"g": deals.group, "stage": stage_of_event, "i": np.arange(n_events)}).loc[
            deals.is_open_event
        ]
        entry = frame.drop_duplicates(["g", "stage"], keep="first")
        entry = entry.loc[member[entry["g"].to_numpy()]]
        rows_g = entry["g"].to_numpy(dtype=np.int64)
        rows_i = entry["i"].to_numpy(dtype=np.int64)
        rows_stage = entry["stage"].to_numpy(dtype=object)
    else:
        last_seen, open_at = _at_start(deals, start, who)
        rows_g = np.flatnonzero(open_at)
        rows_i = last_seen[rows_g]
        rows_stage = stage_of_event[rows_i]
    order_of = {n: pipeline.stage(n).order for n in opens}
    s_order = np.array([order_of[s] for s in rows_stage], dtype=np.int64)
    advanced = (deals.after_max[rows_i] > s_order) | deals.won[rows_g]
    lost = ~advanced & deals.lost[rows_g]
    still = ~advanced & ~lost
    table = _df(
        {
            "stage": rows_stage,
            "entered": 1,
            "advanced": advanced.astype(np.int64),
            "lost": lost.astype(np.int64),
            "open": still.astype(np.int64),
        }
    )
    out = table.groupby("stage").sum().reindex(opens, fill_value=0)
    out.index.name = "stage"
    rates = _rate_table(out["advanced"].to_numpy(), out["lost"].to_numpy(), "conversion_rate")
    result: pd.DataFrame = out.assign(**rates)
    return result


@renamed_parameters(unit="time_unit")
def sales_velocity(
    history: Any,
    *,
    pipeline: Pipeline,
    as_of: Any,
    start: Any = None,
    time_unit: str = "D",
) -> pd.Series:
    """Sales velocity = open deals x win rate x mean won deal size / mean cycle length.

    Parameters
    ----------
    history : DataFrame
        Stage-history event frame (validated whole).
    pipeline : Pipeline
    as_of : date-like
        End of observation; the open deals are those open at `as_of`.
    start : date-like, optional
        The win rate, deal size and cycle length come from the cohort created in
        ``[start, as_of]`` (default: every deal created up to `as_of`).
    time_unit : {"D", "W"}, default "D"
        Time unit of the cycle length and of the velocity (revenue per day or week).
        Formerly ``unit`` (deprecated alias).

    Returns
    -------
    pandas.Series
        ``open_opportunities`` (at `as_of`), ``win_rate`` (cohort won / (won + lost), open
        deals censored), ``mean_won_amount`` (last amount of the won deals),
        ``mean_cycle_length`` (creation to won, in `time_unit`s) and ``velocity``. ``win_rate`` is
        NaN when no deal of the cohort has closed; ``mean_won_amount``,
        ``mean_cycle_length`` and ``velocity`` are NaN when none was won (``velocity`` also
        when the mean cycle length is 0).

    Raises
    ------
    ValidationError
        As :func:`crmcore.pipeline.read_history`; also when the velocity overflows float64
        (amounts near 1e308).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import sales_velocity, simple_pipeline
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a", "b", "b", "c"],
    ...     "stage": ["Lead", "Won", "Lead", "Lost", "Lead"],
    ...     "changed_at": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-02",
    ...                                   "2024-01-03", "2024-01-04"]),
    ...     "amount": 100.0, "expected_close": pd.Timestamp("2024-02-01")})
    >>> float(sales_velocity(h, pipeline=simple_pipeline(), as_of="2024-01-31")["velocity"])
    5.0
    """
    who = "sales_velocity"
    check_param_choice("time_unit", time_unit, tuple(_UNIT_DAYS), who=who)
    events, cut = _read(history, pipeline, as_of, who)
    deals = _Deals(events, cut, pipeline)
    member = _cohort_mask(deals, start, who)
    won = deals.won & member
    lost = deals.lost & member
    resolved = int(won.sum() + lost.sum())
    win_rate = float(won.sum()) / resolved if resolved else float("nan")
    if won.any():
        won_amounts = deals.final_amount[won]
        size = float((won_amounts / won_amounts.size).sum())  # scaled: no overflow near 1e308
        days = (deals.closed_at[won] - deals.created[won]) / _NS_PER_DAY
        cycle = float(days.mean()) / _UNIT_DAYS[time_unit]
    else:
        size = cycle = float("nan")
    n_open = int(deals.open.sum())
    velocity = n_open * win_rate * size / cycle if cycle and cycle > 0 else float("nan")
    if math.isinf(velocity):
        raise ValidationError(
            f"{who}: the velocity ({n_open} open deals x win rate {win_rate:.3g} x mean won "
            f"amount {size:.3g} / cycle {cycle:.3g}) overflows float64; express the amounts "
            "in a larger unit."
        )
    out: pd.Series = pd.Series(
        {
            "open_opportunities": float(n_open),
            "win_rate": win_rate,
            "mean_won_amount": size,
            "mean_cycle_length": cycle,
            "velocity": velocity,
        },
        name="sales_velocity",
    )
    return out


def pipeline_coverage(
    snapshot: Any,
    target: float | Mapping[str, float] | pd.Series,
    *,
    period_start: Any = None,
    period_end: Any = None,
    weighted: bool = False,
    pipeline: Pipeline | None = None,
) -> float | pd.Series:
    """Pipeline coverage: open pipeline amount / target.

    Parameters
    ----------
    snapshot : DataFrame
        Open opportunities with ``amount`` (and ``expected_close`` when a period is given,
        ``probability`` or ``stage`` when `weighted`, ``owner`` when `target` is by owner).
    target : float, or mapping / Series owner -> target
        A positive quota; by owner gives a Series of coverages by owner.
    period_start, period_end : date-like, optional
        Count only deals with ``period_start <= expected_close <= period_end`` (dates).
    weighted : bool, default False
        Use amount x probability instead of amount.
    pipeline : Pipeline, optional
        Stage default probabilities (for `weighted` with missing probabilities).

    Returns
    -------
    float or pandas.Series

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"amount": [100.0, 200.0], "probability": [0.5, 0.5],
    ...                      "expected_close": pd.to_datetime(["2024-01-10", "2024-05-01"])})
    >>> pipeline_coverage(snap, 100.0)
    3.0
    >>> pipeline_coverage(snap, 100.0, period_start="2024-01-01", period_end="2024-03-31")
    1.0
    """
    who = "pipeline_coverage"
    frame = to_pandas(snapshot, who=who)
    require_columns(frame, ["amount"], who=who)
    amount = _numbers(frame, "amount", who)
    if weighted:
        amount = amount * _snapshot_probability(frame, pipeline, who)
    keep = np.ones(len(frame), dtype=bool)
    if period_start is not None or period_end is not None:
        require_columns(frame, ["expected_close"], who=who)
        lo = None if period_start is None else _check_date(period_start, "period_start", who)
        hi = None if period_end is None else _check_date(period_end, "period_end", who)
        close = _dates(frame["expected_close"], "expected_close", who)
        if getattr(close.dt, "tz", None) is not None:
            close = close.dt.tz_convert("UTC").dt.tz_localize(None)
        close = close.dt.normalize()
        if lo is not None:
            keep &= (close >= lo).to_numpy()
        if hi is not None:
            keep &= (close <= hi).to_numpy()
    if isinstance(target, Mapping | pd.Series):
        require_columns(frame, ["owner"], who=who)
        targets = pd.Series(target, dtype=np.float64)
        if not (targets > 0).all():
            raise ValidationError(f"{who}: every target must be a positive number.")
        sums = pd.Series(amount[keep]).groupby(frame["owner"].to_numpy()[keep]).sum()
        result: pd.Series = sums.reindex(targets.index, fill_value=0.0) / targets
        result.name = "coverage"
        result.index.name = "owner"
        _coverage_finite(result.to_numpy(), who)
        return result
    check_param_number("target", target, who=who, low=0, low_inclusive=False)
    coverage = float(amount[keep].sum() / float(target))
    _coverage_finite(np.array([coverage]), who)
    return coverage


def _coverage_finite(values: npt.NDArray[np.float64], who: str) -> None:
    if not np.isfinite(values).all():
        raise ValidationError(
            f"{who}: the coverage overflows float64 (amounts near 1e308 or a target near 0); "
            "express the amounts and the target in a larger unit."
        )


def slip_rates(
    history: Any,
    *,
    pipeline: Pipeline,
    as_of: Any,
    by: str | None = None,
    per_opportunity: bool = False,
) -> pd.DataFrame:
    """Slip rate and push counts from changes of the expected close date.

    A *push* is an event whose ``expected_close`` is later than that of the opportunity's
    previous event; a *pull* one that is earlier. A deal *slipped* when it was pushed at
    least once up to `as_of`.

    Parameters
    ----------
    history : DataFrame
        Stage-history event frame (validated whole); events after `as_of` are not seen.
    pipeline : Pipeline
    as_of : date-like
    by : {None, "owner", "stage", "outcome"}, default None
        Grouping of the summary (stage and outcome as at `as_of`).
    per_opportunity : bool, default False
        Return one row per opportunity instead of the summary.

    Returns
    -------
    pandas.DataFrame
        Summary (index: group, ``"all"`` when `by` is None): ``n_opportunities``,
        ``slipped``, ``slip_rate`` (slipped / n), ``pushes`` (total), ``mean_pushes`` and
        ``mean_days_pushed`` (mean total days of later shifts). Per opportunity (index
        ``opportunity_id``): ``pushes``, ``pulls``, ``days_pushed``, ``slipped``, ``stage``,
        ``outcome`` (and ``owner``).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline, slip_rates
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a", "a", "b"],
    ...     "stage": ["Lead", "Lead", "Qualified", "Lead"],
    ...     "changed_at": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09",
    ...                                   "2024-01-02"]),
    ...     "amount": 10.0,
    ...     "expected_close": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-03-11",
    ...                                       "2024-02-01"])})
    >>> slip_rates(h, pipeline=simple_pipeline(), as_of="2024-01-31")[["slip_rate", "pushes"]]
         slip_rate  pushes
    all        0.5       2
    """
    who = "slip_rates"
    check_param_choice("by", by, (None, "owner", "stage", "outcome"), who=who)
    events, cut = _read(history, pipeline, as_of, who)
    deals = _Deals(events, cut, pipeline)
    close = deals.events["expected_close"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    delta = np.zeros(close.shape[0], dtype=np.int64)
    delta[1:] = close[1:] - close[:-1]
    delta[deals.first] = 0
    push = delta > 0
    n = deals.ids.shape[0]
    pushes = np.bincount(deals.group, weights=push, minlength=n).astype(np.int64)
    pulls = np.bincount(deals.group, weights=delta < 0, minlength=n).astype(np.int64)
    days = np.bincount(deals.group, weights=np.where(push, delta, 0), minlength=n) / _NS_PER_DAY
    outcome = np.where(deals.won, "won", np.where(deals.lost, "lost", "open"))
    per = _df(
        {
            "pushes": pushes,
            "pulls": pulls,
            "days_pushed": days,
            "slipped": pushes > 0,
            "stage": deals.final_stage,
            "outcome": outcome,
        },
        index=pd.Index(deals.ids, name="opportunity_id"),
    )
    if deals.owner is not None:
        per["owner"] = deals.owner
    if per_opportunity:
        return per
    if by == "owner" and deals.owner is None:
        raise ColumnNotFoundError(f"{who}: by='owner' needs an 'owner' column in the history.")
    key = np.full(n, "all", dtype=object) if by is None else per[by].to_numpy()
    grouped = per.assign(n_opportunities=1, key=key).groupby("key", sort=True)
    out = _df(
        {
            "n_opportunities": grouped["n_opportunities"].sum(),
            "slipped": grouped["slipped"].sum().astype(np.int64),
            "pushes": grouped["pushes"].sum(),
            "days_pushed": grouped["days_pushed"].sum(),
        }
    )
    out = out.assign(
        slip_rate=out["slipped"] / out["n_opportunities"],
        mean_pushes=out["pushes"] / out["n_opportunities"],
        mean_days_pushed=out["days_pushed"] / out["n_opportunities"],
    ).drop(columns="days_pushed")
    out.index.name = by
    result: pd.DataFrame = out[
        ["n_opportunities", "slipped", "slip_rate", "pushes", "mean_pushes", "mean_days_pushed"]
    ]
    return result


def forecast_category_rollup(
    opportunities: Any,
    *,
    pipeline: Pipeline,
    by: Sequence[str] = ("owner", "Q"),
) -> pd.DataFrame:
    """Forecast-category roll-up, single and cumulative, by owner and close period.

    Each opportunity's category is its ``forecast_category`` (when the column is present and
    not missing) else its stage's default; won stages are ``Closed`` and lost stages
    ``Omitted`` whatever the column says.

    Parameters
    ----------
    opportunities : DataFrame
        One row per opportunity, open and closed: ``stage``, ``amount``, ``expected_close``
        (the close date of a closed deal), optional ``forecast_category`` and ``owner``
        (e.g. :func:`history_to_opportunities` or a snapshot plus the won deals).
    pipeline : Pipeline
    by : sequence of str, default ("owner", "Q")
        Grouping as in :func:`weighted_pipeline`.

    Returns
    -------
    pandas.DataFrame
        One row per group: single sums ``closed``, ``commit``, ``best_case``, ``pipeline``,
        ``omitted``, and cumulative forecasts ``commit_forecast`` = Commit + Closed,
        ``best_case_forecast`` = Best Case + Commit + Closed, ``pipeline_forecast`` = all
        open (Pipeline + Best Case + Commit) + Closed. Omitted is excluded from every
        forecast.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import forecast_category_rollup, simple_pipeline
    >>> opps = pd.DataFrame({"stage": ["Lead", "Proposal", "Won", "Lost", "Lead"],
    ...     "amount": [10.0, 20.0, 40.0, 80.0, 5.0],
    ...     "forecast_category": [None, None, None, None, "Commit"],
    ...     "expected_close": pd.Timestamp("2024-02-01")})
    >>> r = forecast_category_rollup(opps, pipeline=simple_pipeline(), by=())
    >>> r[["commit_forecast", "best_case_forecast", "pipeline_forecast"]].iloc[0].tolist()
    [45.0, 65.0, 75.0]
    """
    who = "forecast_category_rollup"
    from crmcore.pipeline._entities import Pipeline

    if not isinstance(pipeline, Pipeline):
        raise ValidationError(
            f"The 'pipeline' parameter of {who} must be a crmcore.pipeline.Pipeline. "
            f"Got {type(pipeline).__name__} instead."
        )
    by = _check_by(by, who)
    frame = to_pandas(opportunities, who=who)
    needs = ["stage", "amount"] + (["expected_close"] if any(b in _PERIODS for b in by) else [])
    require_columns(frame, needs, who=who)
    amount = _numbers(frame, "amount", who)
    stages = frame["stage"].astype(str).to_numpy()
    unknown = sorted({s for s in stages if s not in pipeline})
    if unknown:
        raise ValidationError(
            f"{who}: {len(unknown)} stages are not in the pipeline (first: "
            f"{format_ids(unknown)}); known stages: {', '.join(pipeline.names)}."
        )
    default = {}
    for name in pipeline.names:
        cat = pipeline.stage(name).forecast_category
        default[name] = str(getattr(cat, "value", cat))
    category = np.array([default[s] for s in stages], dtype=object)
    if "forecast_category" in frame.columns:
        given = frame["forecast_category"].to_numpy(dtype=object)
        has = pd.notna(given)
        values = np.array([str(getattr(v, "value", v)) for v in given[has]], dtype=object)
        bad = sorted({v for v in values if v not in _CATEGORIES})
        if bad:
            raise ValidationError(
                f"{who}: forecast_category must be one of {', '.join(_CATEGORIES)}; "
                f"got {format_ids(bad)}."
            )
        category[has] = values
    won = np.isin(stages, list(pipeline.won_names))
    lost = np.isin(stages, list(pipeline.lost_names))
    category[won] = "Closed"
    category[lost] = "Omitted"
    keys, names = _group_keys(frame, by, "expected_close", who)
    cols = {}
    for label, col in zip(
        _CATEGORIES, ("pipeline", "best_case", "commit", "closed", "omitted"), strict=True
    ):
        cols[col] = np.where(category == label, amount, 0.0)
    work = keys.assign(**cols).reset_index(drop=True)
    if names:
        out = work.groupby(names, sort=True, dropna=False).sum().reset_index()
    else:
        out = _df({c: [float(v.sum())] for c, v in cols.items()})
    out = out[[*names, "closed", "commit", "best_case", "pipeline", "omitted"]]
    result: pd.DataFrame = out.assign(
        commit_forecast=out["commit"] + out["closed"],
        best_case_forecast=out["best_case"] + out["commit"] + out["closed"],
        pipeline_forecast=out["pipeline"] + out["best_case"] + out["commit"] + out["closed"],
    )
    _check_finite_result(result, [c for c in result.columns if c not in names], who)
    return result
