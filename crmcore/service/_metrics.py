"""Service analytics: per-ticket metrics and the aggregates a support lead reports.

Every function that reads tickets and events goes through
:func:`crmcore.service._log.read_service_log`, so the frame rules are the same everywhere
(tz-aware times in any zone, events in any order, status changes checked against
:data:`~crmcore.service.TICKET_TRANSITIONS`, events after `as_of` ignored, tickets opened after
`as_of` left out with a counted :class:`~crmcore.exceptions.CRMWarning`).

Definitions (Zendesk's native ticket metrics, "About native Support time duration metrics",
https://support.zendesk.com/hc/en-us/articles/4408834848154, and the Ticket Metrics API,
https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/):

- *first reply (response) time*: ticket creation to the first public agent reply; automatic
  replies (auto-acknowledgements, triggers) do not count;
- *first resolution time*: creation to the first change to ``solved``;
- *full resolution time*: creation to the latest change to ``solved``, for tickets solved or
  closed now;
- *requester wait time*: the time spent in ``new``, ``open`` and ``on_hold``;
  *agent wait time*: the time spent in ``pending``;
- *reopens*: changes from ``solved`` back to ``open``; *replies*: public agent replies;
- *one-touch*: a solved ticket solved with exactly one agent reply;
- *CSAT*: good / (good + bad) ratings (Zendesk satisfaction score).

Nothing reads the clock: `as_of` is always an argument.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from crmcore._validation import first_ids, format_ids, require_columns, to_pandas
from crmcore.exceptions import ValidationError
from crmcore.service._calendar import BusinessCalendar
from crmcore.service._entities import TicketCategory, TicketChannel
from crmcore.service._log import NAT, PRIORITIES, STATUS, priority_column, read_service_log
from crmcore.service._sla import SLA_TARGETS

if TYPE_CHECKING:  # annotations only
    from crmcore.service._log import ServiceLog

__all__ = [
    "backlog_ageing",
    "breach_rate",
    "complaint_rate",
    "cost_to_serve",
    "csat",
    "one_touch_rate",
    "reopen_rate",
    "ticket_metrics",
]

I64 = np.ndarray[Any, np.dtype[np.int64]]
B = np.ndarray[Any, np.dtype[np.bool_]]
F64 = np.ndarray[Any, np.dtype[np.float64]]

_STATUS_NAMES: Final = np.array(list(STATUS), dtype=object)
#: The values of an ``<target>_status`` column of :func:`sla_status`, in this order.
SLA_STATUS_VALUES: Final[tuple[str, ...]] = ("met", "breached", "ongoing", "missing")
_SLA_VALUES = SLA_STATUS_VALUES
_RESOLVED: Final = (STATUS["solved"], STATUS["closed"])
#: The end of time for "all events" (cost_to_serve without as_of).
_FAR: Final = pd.Timestamp("2262-01-01", tz="UTC")


# ====================================================================== helpers


def _check_calendar(calendar: Any, who: str) -> BusinessCalendar | None:
    if calendar is None or isinstance(calendar, BusinessCalendar):
        return calendar
    raise ValidationError(
        f"The 'calendar' parameter of {who} must be a BusinessCalendar or None (elapsed 24/7 "
        f"time). Got {calendar!r} ({type(calendar).__name__}) instead."
    )


def _elapsed(calendar: BusinessCalendar | None, start: I64, end: I64) -> I64:
    """Working (or elapsed) time from `start` to `end` in ns; NAT where either is NAT."""
    missing = (start == NAT) | (end == NAT)
    if calendar is None:
        out = np.where(missing, NAT, end - start).astype(np.int64)
        return out
    s = pd.DatetimeIndex(np.where(missing, NAT, start).view("datetime64[ns]")).tz_localize("UTC")
    e = pd.DatetimeIndex(np.where(missing, NAT, end).view("datetime64[ns]")).tz_localize("UTC")
    worked = calendar.working_time(s, e)
    values: I64 = np.asarray(pd.TimedeltaIndex(worked).as_unit("ns").asi8, dtype=np.int64)
    return values


def _td(values: I64) -> pd.TimedeltaIndex:
    out: pd.TimedeltaIndex = pd.TimedeltaIndex(values.view("timedelta64[ns]"))
    return out


def _norm(value: Any) -> str:
    """An enum member or a raw value as its lower-case, stripped text."""
    return str(getattr(value, "value", value)).strip().lower()


def _group_codes(values: pd.Series[Any], by: str, who: str) -> tuple[I64, pd.Index]:
    """Group codes (0..k-1) of `values` and the k labels; `by="priority"` gives all four."""
    missing = values.isna().to_numpy(dtype=bool)
    if missing.any():
        raise ValidationError(
            f"{who}: cannot group by {by!r}: {int(missing.sum()):,} rows have no value (first "
            f"rows: {format_ids(np.flatnonzero(missing))}). Hint: fill them first.",
            rule="group-by column must not have missing values",
            column=by,
            count=int(missing.sum()),
            first_ids=first_ids(np.flatnonzero(missing)),
        )
    if by == "priority":
        inverse, uniques = pd.factorize(values)
        names = [_norm(u) for u in uniques]
        lookup = {p: i for i, p in enumerate(PRIORITIES)}
        codes = np.array([lookup.get(n, -1) for n in names], dtype=np.int64)[inverse]
        bad = codes < 0
        if bad.any():
            wrong = sorted({n for n in names if n not in lookup})
            raise ValidationError(
                f"{who}: column 'priority' must be one of {', '.join(PRIORITIES)}; "
                f"{int(bad.sum()):,} rows are not (values: {format_ids(wrong)}).",
                rule="column 'priority' must be one of the priorities",
                column="priority",
                count=int(bad.sum()),
            )
        labels = pd.Index(list(PRIORITIES), name="priority")
        return codes, labels
    try:
        codes_arr, uniques = pd.factorize(values, sort=True)
    except TypeError:  # mixed types that do not sort: first appearance
        codes_arr, uniques = pd.factorize(values, sort=False)
    return codes_arr.astype(np.int64), pd.Index(uniques, name=by)


def _check_by(by: Any, who: str) -> str | None:
    if by is None or isinstance(by, str):
        return by
    raise ValidationError(
        f"The 'by' parameter of {who} must be a column name (str) or None. Got {by!r} "
        f"({type(by).__name__}) instead."
    )


def _ratio(num: Any, den: Any) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F64 = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def _rate(
    hit: B, base: B, keys: pd.Series[Any] | None, by: str | None, name: str, who: str
) -> float | pd.Series[Any]:
    """sum(hit & base) / sum(base), overall or per `by` group (NaN where the base is empty)."""
    if by is None or keys is None:
        den = int(base.sum())
        return float(np.nan) if den == 0 else float((hit & base).sum() / den)
    codes, labels = _group_codes(keys, by, who)
    k = len(labels)
    num = np.bincount(codes, weights=(hit & base).astype(np.float64), minlength=k)
    den_arr = np.bincount(codes, weights=base.astype(np.float64), minlength=k)
    out: pd.Series[Any] = pd.Series(_ratio(num, den_arr), index=labels, name=name)
    return out


def sla_status_kinds(sla: Any, by: str | None, who: str) -> tuple[dict[str, I64], I64, pd.Index]:
    """Read an :func:`sla_status`-like frame: each target's statuses as codes, and the groups.

    Returns ``({target: kind}, group codes, group labels)``: `kind` holds, per row, the
    position of its status in ``("met", "breached", "ongoing", "missing")`` (a missing value
    counts as ``missing``); targets in the order ``first_response``, ``next_response``,
    ``resolution``, then any other ``<name>_status`` column. `by` None gives one group
    ``"all"``. Shared by :func:`breach_rate` and :func:`crmcore.service.sla_report`.
    """
    frame = to_pandas(sla, who=who)
    columns = [str(c) for c in frame.columns]
    present = [c for c in columns if c.endswith("_status") and len(c) > len("_status")]
    if not present:
        raise ValidationError(
            f"{who}: the sla frame has no '<target>_status' column (expected e.g. "
            f"first_response_status, resolution_status from sla_status); columns: "
            f"{format_ids(columns, limit=12)}."
        )
    known = [f"{t}_status" for t in SLA_TARGETS if f"{t}_status" in present]
    ordered = known + [c for c in present if c not in known]
    if by is not None:
        require_columns(frame, [by], who=who)
        codes, labels = _group_codes(frame[by], by, who)
    else:
        codes = np.zeros(len(frame), dtype=np.int64)
        labels = pd.Index(["all"])
    kinds: dict[str, I64] = {}
    for column in ordered:
        values = frame[column]
        inverse, uniques = pd.factorize(values, use_na_sentinel=True)
        names = [_norm(u) for u in uniques]
        table = [_SLA_VALUES.index(n) if n in _SLA_VALUES else -1 for n in names]
        kind = np.array([*table, _SLA_VALUES.index("missing")], dtype=np.int64)[inverse]
        bad = kind < 0
        if bad.any():
            ids = frame.index[bad]
            wrong = sorted(
                {str(u) for u, n in zip(uniques, names, strict=True) if n not in _SLA_VALUES}
            )
            raise ValidationError(
                f"{who}: column {column!r} must hold {', '.join(_SLA_VALUES)}; {int(bad.sum()):,} "
                f"rows do not (values: {format_ids(wrong)}; first rows: {format_ids(ids)}).",
                rule=f"column {column!r} must hold {', '.join(_SLA_VALUES)}",
                column=column,
                count=int(bad.sum()),
                first_ids=first_ids(ids),
            )
        kinds[column[: -len("_status")]] = kind
    return kinds, codes, labels


def _require(by: str | None) -> tuple[str, ...]:
    return () if by is None else (by,)


def _log_rate(
    tickets: Any,
    events: Any,
    as_of: Any,
    by: Any,
    who: str,
    measure: Callable[[ServiceLog], tuple[B, B]],
) -> float | pd.Series[Any]:
    """Read the service log, then `_rate` of the ``(hit, base)`` masks `measure` draws from it.

    `by` is checked before the frames are read; the Series (when grouped) is named `who`.
    """
    by = _check_by(by, who)
    log = read_service_log(tickets, events, as_of=as_of, who=who, require=_require(by))
    hit, base = measure(log)
    keys = None if by is None else log.tickets[by]
    return _rate(hit, base, keys, by, who, who)


# ====================================================================== ticket_metrics


def ticket_metrics(
    tickets: Any, events: Any, *, as_of: Any, calendar: BusinessCalendar | None = None
) -> pd.DataFrame:
    """Per-ticket response, resolution and wait times (Zendesk's native ticket metrics).

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with ``ticket_id``, ``opened_at`` (tz-aware) and ``priority``
        (pandas, Polars or PyArrow).
    events : DataFrame
        Ticket events: ``ticket_id``, ``occurred_at``, ``kind``, ``status`` and optionally
        ``automatic``; events after `as_of` are ignored.
    as_of : tz-aware datetime or ISO 8601 string with an offset
        The moment the metrics describe.
    calendar : BusinessCalendar, optional
        Durations in the business time of this calendar; None (default) gives elapsed 24/7 time.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``ticket_id`` (input order; tickets opened after `as_of` are left out with a
        warning) with columns

        - ``priority``, ``status`` (the status at `as_of`), str;
        - ``first_response_time``: opened to the first public, non-automatic agent reply
          (NaT if none yet);
        - ``first_resolution_time``: opened to the first change to solved (NaT if none);
        - ``full_resolution_time``: opened to the last change to solved, NaT unless the ticket is
          solved or closed at `as_of`;
        - ``reopens`` (int): solved -> open changes;
        - ``agent_replies`` (int): public, non-automatic agent replies;
        - ``requester_wait_time``: time in new, open and on_hold up to `as_of` (which is the
          time up to the last solve for a solved or closed ticket);
        - ``agent_wait_time``: time in pending up to `as_of`.

        Durations are ``timedelta64[ns]``.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidTransition
        For frames that break the rules of :func:`~crmcore.service._log.read_service_log`, a
        naive `as_of`, or a `calendar` that is not a BusinessCalendar.

    Notes
    -----
    Follows Zendesk's native duration metrics (first reply time, first and full resolution
    time, requester wait time = new + open + on-hold, agent wait time = pending; see the module
    docstring for the sources). Unlike the SLA clocks of :func:`sla_status` nothing is paused:
    the response and resolution times run from ``opened_at`` through pending and on-hold time
    (Zendesk's "calendar" and "business" variants of the same metrics). Zendesk records the
    wait times only once a ticket is solved; here they are live counters up to `as_of`, so an
    open ticket's requester wait is its wait so far. A solved ticket's later changes to
    ``closed`` do not move its resolution time. With a `calendar`, every duration is the
    calendar's working time between the two instants (one schedule for the whole ticket).

    References
    ----------
    .. [1] Zendesk, "About native Support time duration metrics",
       https://support.zendesk.com/hc/en-us/articles/4408834848154
    .. [2] Zendesk Developer Docs, "Ticket Metrics" (``reply_time_in_minutes``,
       ``first_resolution_time_in_minutes``, ``full_resolution_time_in_minutes``,
       ``requester_wait_time_in_minutes``, ``agent_wait_time_in_minutes``, ``reopens``,
       ``replies``), https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": ["T-1"], "priority": ["high"],
    ...                   "opened_at": [pd.Timestamp("2024-03-04 09:00", tz="UTC")]})
    >>> e = pd.DataFrame({
    ...     "ticket_id": ["T-1"] * 4,
    ...     "occurred_at": pd.to_datetime(["2024-03-04 09:01", "2024-03-04 10:00",
    ...                                    "2024-03-04 11:00", "2024-03-04 12:00"], utc=True),
    ...     "kind": ["agent_reply", "agent_reply", "status_change", "status_change"],
    ...     "status": [None, None, "pending", "solved"],
    ...     "automatic": [True, False, False, False]})
    >>> m = ticket_metrics(t, e, as_of="2024-03-05T00:00Z")
    >>> m.loc["T-1", ["first_response_time", "full_resolution_time", "agent_wait_time"]].tolist()
    [Timedelta('0 days 01:00:00'), Timedelta('0 days 03:00:00'), Timedelta('0 days 01:00:00')]
    >>> int(m.loc["T-1", "agent_replies"]), m.loc["T-1", "status"]
    (1, 'solved')
    """
    who = "ticket_metrics"
    cal = _check_calendar(calendar, who)
    log = read_service_log(tickets, events, as_of=as_of, who=who, require=("priority",))
    status = log.status_at_as_of()
    replies = log.public_agent_replies()
    solves = log.status_changes("solved")
    resolved = np.isin(status, _RESOLVED)
    last_solve = np.where(resolved, log.last_time(solves), NAT).astype(np.int64)

    # status segments: per-ticket sums of the time in each status group (exact int64 sums)
    codes, starts, ends, seg_status = log.status_segments()
    worked = _elapsed(cal, starts, ends) if len(starts) else np.zeros(0, dtype=np.int64)
    waiting = np.isin(seg_status, (STATUS["new"], STATUS["open"], STATUS["on_hold"]))
    pending = seg_status == STATUS["pending"]
    if log.n:
        first_seg = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        requester = np.add.reduceat(np.where(waiting, worked, 0), first_seg)
        agent = np.add.reduceat(np.where(pending, worked, 0), first_seg)
    else:
        requester = agent = np.zeros(0, dtype=np.int64)

    out: pd.DataFrame = pd.DataFrame(
        {
            "priority": priority_column(log.priority),
            "status": _STATUS_NAMES[status],
            "first_response_time": _td(_elapsed(cal, log.opened, log.first_time(replies))),
            "first_resolution_time": _td(_elapsed(cal, log.opened, log.first_time(solves))),
            "full_resolution_time": _td(_elapsed(cal, log.opened, last_solve)),
            "reopens": log.reopens(),
            "agent_replies": log.count(replies),
            "requester_wait_time": _td(requester.astype(np.int64)),
            "agent_wait_time": _td(agent.astype(np.int64)),
        },
        index=pd.Index(log.ids, name="ticket_id"),
    )
    return out


# ====================================================================== breach_rate


def breach_rate(sla: Any, *, by: str | None = "priority") -> pd.DataFrame:
    """Share of SLA targets breached among those decided: breached / (met + breached).

    Parameters
    ----------
    sla : DataFrame
        The output of :func:`sla_status` (or any frame like it): ``<target>_status`` columns
        with values ``met``, ``breached``, ``ongoing`` or ``missing`` (missing values count as
        ``missing``), and the `by` column.
    by : str or None, default "priority"
        Column to group by; None gives one overall row labelled ``"all"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by the `by` values (sorted; with ``by="priority"`` always the four priorities
        low, normal, high, urgent), one float column per target present, in the order
        ``first_response``, ``next_response``, ``resolution`` and then any other
        ``<name>_status`` column; NaN where no target of the group is met or breached yet.

    Raises
    ------
    ValidationError
        No ``*_status`` column, a status value outside met/breached/ongoing/missing, or
        missing `by` values.
    ColumnNotFoundError
        If the `by` column is absent.

    Notes
    -----
    Ongoing targets (neither met nor breached at `as_of`) and missing ones (no such target in
    the ticket's policy) are left out of the denominator: the rate describes the decided
    targets, as Zendesk's "% achieved" SLA reports and Salesforce entitlement milestone
    reports (violated / completed) do. A target still open long past its deadline is already
    breached (see :func:`sla_status`), so leaving ongoing ones out does not hide a breach.

    Examples
    --------
    >>> import pandas as pd
    >>> sla = pd.DataFrame({
    ...     "priority": ["high", "high", "high", "low"],
    ...     "first_response_status": ["met", "breached", "ongoing", "met"],
    ...     "resolution_status": ["breached", "breached", "missing", "ongoing"]})
    >>> breach_rate(sla)
              first_response  resolution
    priority
    low                  0.0         NaN
    normal               NaN         NaN
    high                 0.5         1.0
    urgent               NaN         NaN
    >>> breach_rate(sla, by=None)
         first_response  resolution
    all        0.333333         1.0
    """
    who = "breach_rate"
    by = _check_by(by, who)
    kinds, codes, labels = sla_status_kinds(sla, by, who)
    k = len(labels)
    result: dict[str, F64] = {}
    for target, kind in kinds.items():
        breached = (kind == _SLA_VALUES.index("breached")).astype(np.float64)
        decided = (kind <= _SLA_VALUES.index("breached")).astype(np.float64)  # met, breached
        num = np.bincount(codes, weights=breached, minlength=k)
        den = np.bincount(codes, weights=decided, minlength=k)
        result[target] = _ratio(num, den)
    out: pd.DataFrame = pd.DataFrame(result, index=labels)
    return out


# ====================================================================== reopen / one-touch


def reopen_rate(
    tickets: Any, events: Any, *, as_of: Any, by: str | None = None
) -> float | pd.Series[Any]:
    """Share of solved tickets that were reopened: reopened at least once / solved at least once.

    Parameters
    ----------
    tickets, events : DataFrame
        The ticket and event frames (see :func:`ticket_metrics`).
    as_of : tz-aware datetime or ISO 8601 string with an offset
        Events after it are ignored.
    by : str, optional
        A tickets column to group by (e.g. ``"priority"``, ``"channel"``); then a Series.

    Returns
    -------
    float or pandas.Series
        The rate (NaN when no ticket was ever solved); with `by`, a Series named
        ``"reopen_rate"`` indexed by the `by` values (sorted; ``by="priority"`` gives the four
        priorities in order).

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidTransition
        For frames that break the service-log rules, or missing `by` values.

    Notes
    -----
    A reopen is a change from ``solved`` back to ``open`` (Zendesk's ``reopens`` ticket metric).
    The denominator is every ticket with at least one change to ``solved`` up to `as_of`,
    whatever its status now (a reopened ticket still open counts in both).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": [1, 2], "priority": ["low", "high"],
    ...                   "opened_at": pd.to_datetime(["2024-03-04 09:00"] * 2, utc=True)})
    >>> e = pd.DataFrame({"ticket_id": [1, 1, 1, 2],
    ...                   "occurred_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 11:00",
    ...                       "2024-03-04 12:00", "2024-03-04 10:00"], utc=True),
    ...                   "kind": ["status_change"] * 4,
    ...                   "status": ["solved", "open", "solved", "solved"]})
    >>> reopen_rate(t, e, as_of="2024-03-05T00:00Z")
    0.5
    """

    def reopened_of_solved(log: ServiceLog) -> tuple[B, B]:
        return log.reopens() > 0, log.count(log.status_changes("solved")) > 0

    return _log_rate(tickets, events, as_of, by, "reopen_rate", reopened_of_solved)


def one_touch_rate(
    tickets: Any, events: Any, *, as_of: Any, by: str | None = None
) -> float | pd.Series[Any]:
    """Share of resolved tickets resolved with exactly one public, non-automatic agent reply.

    Parameters
    ----------
    tickets, events : DataFrame
        The ticket and event frames (see :func:`ticket_metrics`).
    as_of : tz-aware datetime or ISO 8601 string with an offset
        Events after it are ignored.
    by : str, optional
        A tickets column to group by; then a Series named ``"one_touch_rate"``.

    Returns
    -------
    float or pandas.Series
        (solved or closed at `as_of` with exactly one agent reply) / (solved or closed at
        `as_of`); NaN when none is resolved.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidTransition
        For frames that break the service-log rules, or missing `by` values.

    Notes
    -----
    Zendesk's "one-touch tickets": solved tickets that needed a single agent reply. Replies are
    public, non-automatic agent replies up to `as_of` (an auto-acknowledgement is not a touch;
    a ticket solved without any reply is not one-touch). Internal notes never count.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": [1, 2], "priority": ["low", "high"],
    ...                   "opened_at": pd.to_datetime(["2024-03-04 09:00"] * 2, utc=True)})
    >>> e = pd.DataFrame({"ticket_id": [1, 1, 2, 2, 2],
    ...                   "occurred_at": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 11:00",
    ...                       "2024-03-04 10:00", "2024-03-04 10:30", "2024-03-04 11:00"],
    ...                       utc=True),
    ...                   "kind": ["agent_reply", "status_change", "agent_reply", "agent_reply",
    ...                            "status_change"],
    ...                   "status": [None, "solved", None, None, "solved"]})
    >>> one_touch_rate(t, e, as_of="2024-03-05T00:00Z")
    0.5
    """

    def one_reply_of_resolved(log: ServiceLog) -> tuple[B, B]:
        return log.count(log.public_agent_replies()) == 1, np.isin(log.status_at_as_of(), _RESOLVED)

    return _log_rate(tickets, events, as_of, by, "one_touch_rate", one_reply_of_resolved)


# ====================================================================== CSAT


def _scale_label(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str) and value.strip().lower() in ("good", "bad"):
        return value.strip().lower()
    raise TypeError(value)


def csat(
    tickets: Any,
    *,
    scale: Mapping[Any, str | None] | Callable[[Any], str | None] | None = None,
    by: str | None = None,
    satisfaction_col: str = "satisfaction",
) -> float | pd.Series[Any]:
    """Customer satisfaction score: good / (good + bad) ratings.

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with the raw rating in `satisfaction_col` (pandas, Polars or
        PyArrow).
    scale : dict or callable, optional
        Maps each raw rating to ``"good"``, ``"bad"`` or None (left out). A dict is looked up
        by value (``{5: "good"}`` matches 5 and 5.0); a callable is called once per distinct
        rating. Default: the ratings are ``"good"`` / ``"bad"`` themselves (case-insensitive).
    by : str, optional
        A tickets column to group by; then a Series named ``"csat"``.
    satisfaction_col : str, default "satisfaction"
        The rating column.

    Returns
    -------
    float or pandas.Series
        The score in [0, 1] (NaN when nothing is rated good or bad).

    Raises
    ------
    ValidationError
        A rating the scale does not map (the message names the values), a scale that maps to
        something other than good/bad/None, or missing `by` values.
    ColumnNotFoundError
        If `satisfaction_col` or `by` is absent.

    Notes
    -----
    Zendesk's satisfaction score is good / (good + bad); unrated tickets are left out, so are
    ratings mapped to None (the neutral middle of a 1-5 scale). The common 1-5 mapping
    (Salesforce Feedback Management / Zendesk CSAT surveys with a 5-point scale) counts 4-5 as
    good and 1-2 as bad and leaves 3 out: ``scale={5: "good", 4: "good", 3: None, 2: "bad",
    1: "bad"}``. Missing ratings (None, NaN) are left out before the scale is applied.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"satisfaction": ["good", "Bad", None, "good"]})
    >>> csat(t)
    0.6666666666666666
    >>> five = {5: "good", 4: "good", 3: None, 2: "bad", 1: "bad"}
    >>> csat(pd.DataFrame({"satisfaction": [5, 4, 3, 1, None]}), scale=five)
    0.6666666666666666
    """
    who = "csat"
    by = _check_by(by, who)
    frame = to_pandas(tickets, who=who)
    require_columns(frame, [satisfaction_col, *([] if by is None else [by])], who=who)
    if scale is not None and not isinstance(scale, Mapping) and not callable(scale):
        raise ValidationError(
            f"The 'scale' parameter of {who} must be a dict, a callable or None. Got "
            f"{scale!r} ({type(scale).__name__}) instead."
        )
    raw = frame[satisfaction_col]
    inverse, uniques = pd.factorize(raw, use_na_sentinel=True)
    labels: list[str | None] = []
    unmapped: list[Any] = []
    wrong: list[Any] = []
    for value in uniques:
        item = value.item() if isinstance(value, np.generic) else value
        if scale is None:
            try:
                labels.append(_scale_label(item))
            except TypeError:
                labels.append(None)
                unmapped.append(item)
            continue
        if isinstance(scale, Mapping):
            try:
                if item not in scale:
                    unmapped.append(item)
                    labels.append(None)
                    continue
            except TypeError:  # an unhashable rating
                unmapped.append(item)
                labels.append(None)
                continue
            mapped: Any = scale[item]
        else:
            mapped = scale(item)
        try:
            labels.append(_scale_label(mapped))
        except TypeError:
            labels.append(None)
            wrong.append(f"{item!r} -> {mapped!r}")
    if unmapped:
        bad_rows = np.isin(inverse, [i for i, u in enumerate(uniques) if _in(u, unmapped)])
        hint = (
            "pass scale= to map raw ratings (e.g. a 1-5 score) to 'good', 'bad' or None."
            if scale is None
            else "add them to the scale (None leaves a rating out)."
        )
        raise ValidationError(
            f"{who}: {len(unmapped):,} distinct ratings in {satisfaction_col!r} are not mapped "
            f"to 'good' or 'bad' (values: {format_ids(unmapped)}; {int(bad_rows.sum()):,} rows). "
            f"Hint: {hint}",
            rule="every rating must map to 'good', 'bad' or None",
            column=satisfaction_col,
            count=int(bad_rows.sum()),
        )
    if wrong:
        raise ValidationError(
            f"The 'scale' parameter of {who} must map ratings to 'good', 'bad' or None; "
            f"{len(wrong):,} do not ({format_ids(wrong)})."
        )
    table = np.array([1 if x == "good" else 0 if x == "bad" else -1 for x in labels] + [-1])
    code = table[inverse] if len(inverse) else np.zeros(0, dtype=np.int64)
    good = code == 1
    rated = code >= 0
    keys = None if by is None else frame[by]
    return _rate(good, rated, keys, by, "csat", who)


def _in(value: Any, items: list[Any]) -> bool:
    item = value.item() if isinstance(value, np.generic) else value
    return any(item is x or item == x for x in items)


# ====================================================================== backlog


def _bucket_labels(bounds: list[pd.Timedelta]) -> list[str]:
    ns = [b.value for b in bounds]
    units = (("day", 86_400 * 10**9), ("hour", 3_600 * 10**9), ("minute", 60 * 10**9))
    fitting = [(unit, size) for unit, size in units if all(v % size == 0 for v in ns)]
    if not fitting:
        text = [str(b) for b in bounds]
        labels = [f"< {text[0]}"]
        labels += [f"{a} - {b}" for a, b in itertools.pairwise(text)]
        return [*labels, f"{text[-1]}+"]
    unit, size = fitting[0]
    n = [v // size for v in ns]
    plural = f"{unit}s"
    labels = [f"< {n[0]} {unit if n[0] == 1 else plural}"]
    labels += [f"{a}-{b} {plural}" for a, b in itertools.pairwise(n)]
    return [*labels, f"{n[-1]}+ {plural}"]


def _check_buckets(buckets: Any, who: str) -> list[pd.Timedelta]:
    if isinstance(buckets, (str, bytes)) or not isinstance(buckets, Iterable):
        raise ValidationError(
            f"The 'buckets' parameter of {who} must be a sequence of durations such as "
            f"('1D', '3D', '7D'). Got {buckets!r} instead."
        )
    out: list[pd.Timedelta] = []
    for item in buckets:
        try:
            td = pd.Timedelta(item)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"The 'buckets' parameter of {who} must hold durations ('1D', '12h', "
                f"timedelta); got {item!r}."
            ) from exc
        if td is pd.NaT or td <= pd.Timedelta(0):
            raise ValidationError(
                f"The 'buckets' parameter of {who} must hold positive durations; got {item!r}."
            )
        out.append(pd.Timedelta(td).as_unit("ns"))
    if not out or any(b <= a for a, b in itertools.pairwise(out)):
        raise ValidationError(
            f"The 'buckets' parameter of {who} must be one or more strictly increasing "
            f"durations. Got {list(buckets)!r} instead."
        )
    return out


def backlog_ageing(
    tickets: Any,
    events: Any,
    *,
    as_of: Any,
    buckets: Sequence[Any] = ("1D", "3D", "7D", "14D", "30D"),
    by: str | None = "priority",
    calendar: BusinessCalendar | None = None,
) -> pd.DataFrame:
    """Count the unresolved tickets at `as_of` by age since they opened.

    Parameters
    ----------
    tickets, events : DataFrame
        The ticket and event frames (see :func:`ticket_metrics`).
    as_of : tz-aware datetime or ISO 8601 string with an offset
        The moment of the snapshot; events after it are ignored.
    buckets : sequence of durations, default ("1D", "3D", "7D", "14D", "30D")
        Strictly increasing bucket bounds (anything :class:`pandas.Timedelta` reads).
    by : str or None, default "priority"
        Tickets column to split by; None gives one column ``"tickets"``.
    calendar : BusinessCalendar, optional
        Age in the business time of this calendar; None (default) is elapsed time.

    Returns
    -------
    pandas.DataFrame
        Indexed by the bucket labels (index name ``"age"``, display order: ``"< 1 day"``,
        ``"1-3 days"``, ..., ``"30+ days"``), one int64 column per `by` value (always the four
        priorities low, normal, high, urgent with ``by="priority"``; the values among all
        tickets, sorted, otherwise).

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidTransition
        For frames that break the service-log rules, bad `buckets`, or missing `by` values.

    Notes
    -----
    The backlog is every ticket not solved or closed at `as_of` (new, open, pending, on hold;
    Zendesk's "unsolved tickets"). Age is `as_of` minus ``opened_at`` (not the time since the
    last reopen). A bucket holds ages in ``[lower, upper)``: a ticket exactly 1 day old is in
    ``"1-3 days"``. Bucket labels use days, hours or minutes when every bound is a whole number
    of them.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": [1, 2, 3], "priority": ["low", "high", "high"],
    ...                   "opened_at": pd.to_datetime(["2024-03-01 00:00", "2024-03-09 12:00",
    ...                                                "2024-03-02 00:00"], utc=True)})
    >>> e = pd.DataFrame({"ticket_id": [3], "kind": ["status_change"], "status": ["solved"],
    ...                   "occurred_at": pd.to_datetime(["2024-03-03"], utc=True)})
    >>> backlog_ageing(t, e, as_of="2024-03-10T00:00Z")
    priority    low  normal  high  urgent
    age
    < 1 day       0       0     1       0
    1-3 days      0       0     0       0
    3-7 days      0       0     0       0
    7-14 days     1       0     0       0
    14-30 days    0       0     0       0
    30+ days      0       0     0       0
    """
    who = "backlog_ageing"
    by = _check_by(by, who)
    cal = _check_calendar(calendar, who)
    bounds = _check_buckets(buckets, who)
    log = read_service_log(tickets, events, as_of=as_of, who=who, require=_require(by))
    unresolved = ~np.isin(log.status_at_as_of(), _RESOLVED)
    as_of_arr = np.full(log.n, log.as_of, dtype=np.int64)
    age = _elapsed(cal, log.opened[unresolved], as_of_arr[unresolved])
    bucket = np.searchsorted(np.array([b.value for b in bounds], dtype=np.int64), age, "right")
    labels = pd.Index(_bucket_labels(bounds), name="age")
    if by is None:
        codes = np.zeros(int(unresolved.sum()), dtype=np.int64)
        columns = pd.Index(["tickets"])
    else:
        all_codes, columns = _group_codes(log.tickets[by], by, who)
        codes = all_codes[unresolved]
    k = len(columns)
    counts = np.bincount(bucket * k + codes, minlength=len(labels) * k).reshape(len(labels), k)
    out: pd.DataFrame = pd.DataFrame(counts.astype(np.int64), index=labels, columns=columns)
    return out


# ====================================================================== per customer


def _categories(values: pd.Series[Any], column: str, who: str, ids: Any) -> I64:
    """Category codes (index into TicketCategory) of a column; unknown or missing raise."""
    lookup = {c.value: i for i, c in enumerate(TicketCategory)}
    inverse, uniques = pd.factorize(values, use_na_sentinel=True)
    names = [str(getattr(u, "value", u)).strip().lower() for u in uniques]
    table = np.array([lookup.get(n, -2) for n in names] + [-1], dtype=np.int64)
    codes = table[inverse]
    bad = codes < 0
    if bad.any():
        wrong = sorted({n for n in names if n not in lookup})
        raise ValidationError(
            f"{who}: column {column!r} must be one of {', '.join(lookup)} without missing "
            f"values; {int(bad.sum()):,} rows are not (values: {format_ids(wrong)}; first ids: "
            f"{format_ids(np.asarray(ids)[bad])}).",
            rule=f"column {column!r} must be a ticket category",
            column=column,
            count=int(bad.sum()),
            first_ids=first_ids(np.asarray(ids)[bad]),
        )
    return codes


def _customer_codes(values: pd.Series[Any], column: str, who: str) -> tuple[I64, pd.Index]:
    missing = values.isna().to_numpy(dtype=bool)
    if missing.any():
        raise ValidationError(
            f"{who}: column {column!r} must not have missing values; {int(missing.sum()):,} "
            f"rows have none (first rows: {format_ids(np.flatnonzero(missing))}).",
            rule="column must not have missing values",
            column=column,
            count=int(missing.sum()),
            first_ids=first_ids(np.flatnonzero(missing)),
        )
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(uniques, name=column)


def complaint_rate(
    tickets: Any,
    *,
    orders: Any = None,
    customer_col: str = "customer_id",
    category_col: str = "category",
    order_customer_col: str | None = None,
) -> pd.DataFrame:
    """Complaints per customer: their share of the customer's tickets, and per order.

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with `customer_col` and `category_col` (pandas, Polars or PyArrow).
    orders : DataFrame, optional
        One row per order with the customer in `order_customer_col`; adds ``orders`` and
        ``complaints_per_order``.
    customer_col : str, default "customer_id"
        Customer column of `tickets`.
    category_col : str, default "category"
        Category column (incident, question, complaint, request, return_claim).
    order_customer_col : str, optional
        Customer column of `orders`; defaults to `customer_col`.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (first appearance in `tickets`, then customers found only in
        `orders`), columns ``tickets`` (int), ``complaints`` (int), ``complaint_share`` =
        complaints / tickets (NaN without tickets) and, with `orders`, ``orders`` (int) and
        ``complaints_per_order`` = complaints / orders (NaN without orders).

    Raises
    ------
    ValidationError
        Missing customer ids, or a category outside the ticket categories.
    ColumnNotFoundError
        If a named column is absent.

    Notes
    -----
    A complaint is a ticket of category ``complaint`` (a return/claim is a separate category).
    Orders are counted as rows: pass the purchases you want counted (e.g. fulfilled orders in
    the same period as the tickets). Customers with orders but no tickets are kept (0
    complaints per order) so that a per-order rate covers the whole base.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                   "category": ["complaint", "question", "incident"]})
    >>> o = pd.DataFrame({"customer_id": ["a", "a", "a", "a", "c"]})
    >>> complaint_rate(t, orders=o)
                 tickets  complaints  complaint_share  orders  complaints_per_order
    customer_id
    a                  2           1              0.5       4                  0.25
    b                  1           0              0.0       0                   NaN
    c                  0           0              NaN       1                  0.00
    """
    who = "complaint_rate"
    frame = to_pandas(tickets, who=who)
    require_columns(frame, [customer_col, category_col], who=who)
    codes, customers = _customer_codes(frame[customer_col], customer_col, who)
    ids = frame["ticket_id"] if "ticket_id" in frame.columns else pd.Series(frame.index)
    category = _categories(frame[category_col], category_col, who, ids)
    complaint = category == [c.value for c in TicketCategory].index("complaint")
    order_col = customer_col if order_customer_col is None else order_customer_col
    order_counts: pd.Series[Any] | None = None
    if orders is not None:
        oframe = to_pandas(orders, who=who)
        require_columns(oframe, [order_col], who=who)
        o_codes, o_customers = _customer_codes(oframe[order_col], order_col, who)
        order_counts = pd.Series(np.bincount(o_codes, minlength=len(o_customers)), o_customers)
        extra = o_customers.difference(customers, sort=False)
        customers = customers.append(extra)
    k = len(customers)
    n_tickets = np.bincount(codes, minlength=k).astype(np.int64)
    n_complaints = np.bincount(codes[complaint], minlength=k).astype(np.int64)
    out: pd.DataFrame = pd.DataFrame(
        {
            "tickets": n_tickets,
            "complaints": n_complaints,
            "complaint_share": _ratio(n_complaints.astype(float), n_tickets.astype(float)),
        },
        index=pd.Index(customers, name=customer_col),
    )
    if order_counts is not None:
        n_orders = order_counts.reindex(out.index).fillna(0).to_numpy(dtype=np.int64)
        out["orders"] = n_orders
        out["complaints_per_order"] = _ratio(n_complaints.astype(float), n_orders.astype(float))
    return out


def _cost(value: Any, name: str, who: str) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    number = float(value) if ok else float("nan")
    if not ok or not np.isfinite(number) or number < 0:
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a finite number >= 0. Got {value!r} instead."
        )
    return number


def cost_to_serve(
    tickets: Any,
    events: Any = None,
    *,
    cost_per_ticket: float | None = None,
    cost_per_channel: Mapping[str, float] | None = None,
    cost_per_reply: float | None = None,
    as_of: Any = None,
    customer_col: str = "customer_id",
    channel_col: str = "channel",
) -> pd.Series[Any]:
    """Service cost per customer from its tickets (the input of customer profitability).

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with `customer_col` (and `channel_col` with `cost_per_channel`;
        ``ticket_id`` and ``opened_at`` with `events`).
    events : DataFrame, optional
        Ticket events; needed for `cost_per_reply`.
    cost_per_ticket : float, optional
        Flat cost of handling one ticket (>= 0).
    cost_per_channel : dict, optional
        Cost of one ticket by channel (phone, email, web, chat, social, in_person), added to
        `cost_per_ticket`. Every channel in the tickets must be priced.
    cost_per_reply : float, optional
        Cost of one public, non-automatic agent reply (>= 0); needs `events`.
    as_of : tz-aware datetime or ISO 8601 string with an offset, optional
        With `events`: replies after it are not counted and tickets opened after it are left
        out (with a warning). None counts every event.
    customer_col, channel_col : str
        Column roles of `tickets`.

    Returns
    -------
    pandas.Series
        Float costs indexed by customer id (index name `customer_col`, first appearance),
        named ``"service_cost"``: pass it as ``service_costs=`` to
        :func:`crmcore.value.customer_profitability`.

    Raises
    ------
    ValidationError
        No cost given, a negative or non-finite cost, a `cost_per_channel` key that is not a
        channel, a ticket channel without a price, `cost_per_reply` without `events`, or
        missing customer ids.
    ColumnNotFoundError
        If a named column is absent.

    Notes
    -----
    An activity-based cost model (Kaplan & Anderson, time-driven ABC; the per-contact costs
    by channel that Salesforce Service Cloud and Zendesk benchmarks report): each ticket costs
    ``cost_per_ticket + cost_per_channel[channel] + cost_per_reply * agent_replies``, and a
    customer's cost is the sum over its tickets. Missing costs are 0. Amounts are in the
    caller's currency; automatic replies cost nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"customer_id": ["a", "a", "b"], "channel": ["phone", "email", "chat"]})
    >>> cost_to_serve(t, cost_per_ticket=2.0,
    ...               cost_per_channel={"phone": 8.0, "email": 3.0, "chat": 4.0})
    customer_id
    a    15.0
    b     6.0
    Name: service_cost, dtype: float64
    """
    who = "cost_to_serve"
    if cost_per_ticket is None and cost_per_channel is None and cost_per_reply is None:
        raise ValidationError(
            f"{who}: give at least one of cost_per_ticket, cost_per_channel, cost_per_reply."
        )
    flat = 0.0 if cost_per_ticket is None else _cost(cost_per_ticket, "cost_per_ticket", who)
    per_reply = 0.0 if cost_per_reply is None else _cost(cost_per_reply, "cost_per_reply", who)
    prices: dict[str, float] = {}
    if cost_per_channel is not None:
        if not isinstance(cost_per_channel, Mapping):
            raise ValidationError(
                f"The 'cost_per_channel' parameter of {who} must be a dict of channel to cost. "
                f"Got {cost_per_channel!r} instead."
            )
        channels = {c.value for c in TicketChannel}
        for key, value in cost_per_channel.items():
            name = _norm(key)
            if name not in channels:
                raise ValidationError(
                    f"The 'cost_per_channel' parameter of {who} has the key {key!r}, which is "
                    f"not a channel ({', '.join(sorted(channels))})."
                )
            prices[name] = _cost(value, f"cost_per_channel[{key!r}]", who)
    if cost_per_reply is not None and events is None:
        raise ValidationError(
            f"{who}: cost_per_reply needs the events frame (the agent replies are counted from it)."
        )
    replies: I64 | None = None
    if events is not None:
        cut = _FAR if as_of is None else as_of
        log = read_service_log(tickets, events, as_of=cut, who=who, require=(customer_col,))
        frame = log.tickets
        replies = log.count(log.public_agent_replies())
    else:
        frame = to_pandas(tickets, who=who)
        require_columns(frame, [customer_col], who=who)
    codes, customers = _customer_codes(frame[customer_col], customer_col, who)
    cost = np.full(len(frame), flat, dtype=np.float64)
    if prices:
        require_columns(frame, [channel_col], who=who)
        inverse, uniques = pd.factorize(frame[channel_col], use_na_sentinel=True)
        table = np.array([prices.get(_norm(u), np.nan) for u in uniques] + [np.nan])
        priced = table[inverse]
        bad = np.isnan(priced)
        if bad.any():
            ids = frame["ticket_id"] if "ticket_id" in frame.columns else pd.Series(frame.index)
            raise ValidationError(
                f"{who}: every ticket's {channel_col!r} must have a price in cost_per_channel; "
                f"{int(bad.sum()):,} tickets have none (channels: "
                f"{format_ids(sorted(set(map(str, frame[channel_col][bad]))))}; first ids: "
                f"{format_ids(np.asarray(ids)[bad])}).",
                rule="every ticket's channel must have a price in cost_per_channel",
                column=channel_col,
                count=int(bad.sum()),
                first_ids=first_ids(np.asarray(ids)[bad]),
            )
        cost += priced
    if replies is not None:
        cost += per_reply * replies
    total = np.bincount(codes, weights=cost, minlength=len(customers))
    out: pd.Series[Any] = pd.Series(
        total, index=pd.Index(customers, name=customer_col), name="service_cost"
    )
    return out
