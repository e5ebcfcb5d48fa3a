"""The ticket and ticket-event frames: validation and the arrays the analytics read (private).

Every function of :mod:`crmcore.service` that reads tickets goes through
:func:`read_service_log`, so one set of rules holds everywhere:

- tickets: one row per ticket with ``ticket_id`` (unique), ``opened_at`` (tz-aware, any zone)
  and ``priority`` (low, normal, high, urgent); ``status``, when present, must be the status
  the events lead to (the status history comes from the events, never from this column);
- events: one row per event with ``ticket_id``, ``occurred_at`` (tz-aware), ``kind``
  (status_change, agent_reply, customer_reply, internal_note), ``status`` (the new status of a
  status_change, missing otherwise) and optionally ``automatic`` (boolean; absent means no
  automatic replies); rows in any order (ties keep the input order);
- a ticket starts as ``new`` at ``opened_at``; every status change must be allowed by
  :data:`~crmcore.service.TICKET_TRANSITIONS`; no event may come before its ticket opened;
- the whole frames are validated, not only the part before ``as_of``; events after ``as_of``
  are then ignored, and tickets opened after it are left out with a counted warning;
- the caller's frames are never mutated.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any, Final, NoReturn

import attrs
import numpy as np
import pandas as pd

from crmcore._validation import (
    fail_for_ids,
    first_ids,
    format_ids,
    parse_or_raise,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import CRMWarning, InvalidTransition, ValidationError
from crmcore.service._entities import (
    TICKET_TRANSITIONS,
    TicketCategory,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)

__all__ = [
    "KIND",
    "NAT",
    "STATUS",
    "ServiceLog",
    "coerce_aware",
    "priority_column",
    "read_service_log",
]

I64 = np.ndarray[Any, np.dtype[np.int64]]
I8 = np.ndarray[Any, np.dtype[np.int8]]
B = np.ndarray[Any, np.dtype[np.bool_]]

#: Integer codes of the statuses (the enum's order) and of the event kinds.
STATUS: Final[dict[str, int]] = {s.value: i for i, s in enumerate(TicketStatus)}
KIND: Final[dict[str, int]] = {k.value: i for i, k in enumerate(TicketEventKind)}
PRIORITIES: Final[tuple[str, ...]] = tuple(p.value for p in TicketPriority)
NAT: Final[int] = int(np.iinfo(np.int64).min)

_ALLOWED = np.zeros((len(STATUS), len(STATUS)), dtype=bool)
for _src, _targets in TICKET_TRANSITIONS.items():
    for _dst in _targets:
        _ALLOWED[STATUS[_src.value], STATUS[_dst.value]] = True
_STATUS_NAMES = np.array(list(STATUS), dtype=object)


def priority_column(codes: I8) -> pd.Categorical:
    """Priorities as an ordered categorical, low < normal < high < urgent (code -1: missing).

    Results carry priorities this way so that sorting and grouping follow urgency, not the
    alphabet.
    """
    dtype = pd.CategoricalDtype(list(PRIORITIES), ordered=True)
    return pd.Categorical.from_codes(codes.astype(np.int64), dtype=dtype)


def _fail(
    who: str,
    rule: str,
    ids: Any,
    *,
    noun: str = "tickets",
    hint: str = "",
    column: str | None = None,
) -> NoReturn:
    fail_for_ids(who, rule, ids, noun=noun, hint=hint, column=column)


# ====================================================================== time


_INSTANT_TYPES: Final = (str, dt.datetime, np.datetime64, pd.Timestamp)


def coerce_aware(value: Any, *, who: str, name: str = "as_of") -> pd.Timestamp:
    """Return `value` as a tz-aware UTC Timestamp; naive values and dates are refused.

    Examples
    --------
    >>> coerce_aware("2024-03-31T12:00+02:00", who="sla_status")
    Timestamp('2024-03-31 10:00:00+0000', tz='UTC')
    """
    expected = "a tz-aware datetime, pandas Timestamp or ISO 8601 string with an offset"
    refusal = f"{who}: {name} must be {expected}; got {value!r} ({type(value).__name__})."
    ts = parse_or_raise(pd.Timestamp, value, _INSTANT_TYPES, refusal)
    if ts.tzinfo is None:
        raise ValidationError(
            f"{who}: {name} must be tz-aware; got the naive timestamp {ts}. Hint: give the zone, "
            f"e.g. pd.Timestamp({str(ts)!r}, tz='Europe/Berlin')."
        )
    out: pd.Timestamp = pd.Timestamp(ts.tz_convert("UTC").as_unit("ns"))
    return out


_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"


def _refuse_missing(missing: np.ndarray[Any, Any], column: str, who: str, ids: Any) -> None:
    """Raise a ValidationError naming the rows (by id) where `missing` is True, if any."""
    if missing.any():
        _fail(
            who,
            f"column {column!r} must not have missing values",
            ids[missing],
            noun="rows",
            column=column,
        )


def _aware_ns(series: pd.Series[Any], column: str, who: str, ids: Any) -> I64:
    """A tz-aware timestamp column as UTC nanoseconds; naive or missing values raise."""
    dtype = series.dtype
    _refuse_missing(np.asarray(series.isna().to_numpy(), dtype=bool), column, who, ids)
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        raise ValidationError(
            f"{who}: column {column!r} holds naive timestamps ({len(series):,} rows, first ids: "
            f"{format_ids(np.asarray(ids)[:5])}); every time must be tz-aware. Hint: "
            f"frame[{column!r}].dt.tz_localize('Europe/Berlin') with your zone.",
            rule=f"column {column!r} must hold tz-aware times (naive values found)",
            column=column,
            count=len(series),
            first_ids=first_ids(np.asarray(ids)),
        )
    else:
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind == "string":
            naive = ~series.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
        elif kind in ("datetime", "datetime64"):
            naive = np.fromiter(
                (getattr(v, "tzinfo", None) is None for v in series), dtype=bool, count=len(series)
            )
        elif kind == "empty":
            naive = np.zeros(len(series), dtype=bool)
        else:
            raise ValidationError(
                f"{who}: column {column!r} must hold tz-aware datetimes or ISO 8601 strings with "
                f"an offset; got {kind} values (first: {format_ids(series.head(2))})."
            )
        if naive.any():
            _fail(
                who,
                f"column {column!r} must hold tz-aware times (naive values found)",
                ids[naive],
                noun="rows",
                hint="localize the column to its zone, or write ISO 8601 strings with an offset.",
                column=column,
            )
        try:
            out = pd.to_datetime(series, format="ISO8601" if kind == "string" else None, utc=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(
                f"{who}: column {column!r} has values that are not ISO 8601 timestamps (first "
                f"values: {format_ids(series.head(2))})."
            ) from exc
    values: I64 = np.array(pd.DatetimeIndex(out).as_unit("ns").asi8, dtype=np.int64)
    return values


# ====================================================================== codes


def _codes(
    series: pd.Series[Any] | np.ndarray[Any, Any],
    mapping: dict[str, int],
    column: str,
    who: str,
    ids: Any,
    *,
    allow_missing: bool = False,
) -> I8:
    """Case-insensitive enum values (strings or enum members) as int8 codes; -1 = missing."""
    inverse, uniques = pd.factorize(series, use_na_sentinel=True)
    if not allow_missing:
        _refuse_missing(inverse < 0, column, who, ids)
    names = [str(getattr(u, "value", u)).strip().lower() for u in uniques]
    table = np.array([mapping.get(name, -2) for name in names] + [-1], dtype=np.int8)
    codes = table[inverse]  # the sentinel -1 picks the trailing -1
    bad = codes == -2
    if bad.any():
        wrong = sorted({n for n in names if n not in mapping})
        _fail(
            who,
            f"column {column!r} must be one of {', '.join(mapping)} (got {format_ids(wrong)})",
            ids[bad],
            noun="rows",
            column=column,
        )
    return codes.astype(np.int8)


# ====================================================================== the log


@attrs.frozen(eq=False)
class ServiceLog:
    """Validated tickets and events as aligned arrays (internal).

    Tickets keep their input order (``ids``); events are those up to ``as_of``, sorted by
    ticket code, time and input order. Times are int64 UTC nanoseconds.
    """

    ids: pd.Index
    tickets: pd.DataFrame
    opened: I64
    priority: I8
    as_of: int
    ev_ticket: I64
    ev_time: I64
    ev_kind: I8
    ev_status: I8
    ev_automatic: B
    left_out: int

    @property
    def n(self) -> int:
        """Number of tickets."""
        return len(self.ids)

    def first_time(self, mask: B) -> I64:
        """Per ticket, the time of the first event where `mask` holds (NAT if none)."""
        out = np.full(self.n, NAT, dtype=np.int64)
        codes, times = self.ev_ticket[mask], self.ev_time[mask]
        if len(codes):
            first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            out[codes[first]] = times[first]
        return out

    def last_time(self, mask: B) -> I64:
        """Per ticket, the time of the last event where `mask` holds (NAT if none)."""
        out = np.full(self.n, NAT, dtype=np.int64)
        codes, times = self.ev_ticket[mask], self.ev_time[mask]
        if len(codes):
            last = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])
            out[codes[last]] = times[last]
        return out

    def count(self, mask: B) -> I64:
        """Per ticket, the number of events where `mask` holds."""
        return np.bincount(self.ev_ticket[mask], minlength=self.n).astype(np.int64)

    def public_agent_replies(self) -> B:
        """Mask of the public, non-automatic agent replies (what counts as a response)."""
        mask: B = (self.ev_kind == KIND["agent_reply"]) & ~self.ev_automatic
        return mask

    def status_changes(self, status: str | None = None) -> B:
        """Mask of the status changes (to `status` when given)."""
        mask: B = self.ev_kind == KIND["status_change"]
        if status is not None:
            mask &= self.ev_status == STATUS[status]
        return mask

    def status_at_as_of(self) -> I8:
        """Per ticket, the status code at ``as_of``."""
        out = np.full(self.n, STATUS["new"], dtype=np.int8)
        mask = self.status_changes()
        codes, status = self.ev_ticket[mask], self.ev_status[mask]
        if len(codes):
            last = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])
            out[codes[last]] = status[last]
        return out

    def reopens(self) -> I64:
        """Per ticket, the number of solved -> open changes up to ``as_of``."""
        mask = self.status_changes()
        codes, status = self.ev_ticket[mask], self.ev_status[mask]
        prev = np.r_[np.int8(-1), status[:-1]]
        same = np.r_[False, codes[1:] == codes[:-1]]
        reopen = same & (prev == STATUS["solved"]) & (status == STATUS["open"])
        return np.bincount(codes[reopen], minlength=self.n).astype(np.int64)

    def status_segments(self) -> tuple[I64, I64, I64, I8]:
        """The status timeline up to ``as_of``: (ticket code, start, end, status) per segment.

        Every ticket has a first segment in ``new`` from ``opened_at``; each status change
        starts a new segment; the last one ends at ``as_of``. Segments may have zero length
        (two changes at one instant). Sorted by ticket code and time.
        """
        mask = self.status_changes()
        ev_codes = self.ev_ticket[mask]
        per_ticket = np.bincount(ev_codes, minlength=self.n)
        # the events are sorted by ticket: each ticket's opening row goes before its changes
        first = np.arange(self.n) + np.r_[0, np.cumsum(per_ticket)[:-1]].astype(np.int64)
        size = self.n + len(ev_codes)
        is_open = np.zeros(size, dtype=bool)
        is_open[first] = True
        codes = np.empty(size, dtype=np.int64)
        starts = np.empty(size, dtype=np.int64)
        status = np.empty(size, dtype=np.int8)
        codes[first], starts[first], status[first] = np.arange(self.n), self.opened, STATUS["new"]
        codes[~is_open], starts[~is_open], status[~is_open] = (
            ev_codes,
            self.ev_time[mask],
            self.ev_status[mask],
        )
        same_next = np.r_[codes[1:] == codes[:-1], False]
        ends = np.where(same_next, np.r_[starts[1:], 0], self.as_of).astype(np.int64)
        return codes, starts, ends, status


def _status_history_check(who: str, ticket_ids: np.ndarray[Any, Any], codes: I64, status: I8) -> I8:
    """Check every status change against the table; return the final status per event ticket."""
    same = np.r_[False, codes[1:] == codes[:-1]]
    prev = np.where(same, np.r_[np.int8(STATUS["new"]), status[:-1]], STATUS["new"])
    bad = ~_ALLOWED[prev, status]
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        move = f"{_STATUS_NAMES[prev[first]]} -> {_STATUS_NAMES[status[first]]}"
        unique = pd.unique(np.asarray(ticket_ids[codes[bad]], dtype=object))
        raise InvalidTransition(
            f"{who}: every status change must be allowed by TICKET_TRANSITIONS (a ticket starts "
            f"as 'new'; solved -> open is the reopen, closed is final); {len(unique):,} tickets "
            f"break this rule (first ids: {format_ids(unique)}; first bad change: {move}).",
            rule="every status change must be allowed by TICKET_TRANSITIONS",
            column="status",
            count=len(unique),
            first_ids=first_ids(unique),
        )
    return prev.astype(np.int8)


def _event_order(code: I64, time: I64) -> I64:
    """Stable order by (ticket code, time); fast when the input is already in time order."""
    if len(code) < 2:
        return np.arange(len(code), dtype=np.int64)
    time_sorted = bool((time[1:] >= time[:-1]).all())
    step = code[1:] - code[:-1]
    if bool((step >= 0).all()) and (
        time_sorted or bool((time[1:][step == 0] >= time[:-1][step == 0]).all())
    ):
        return np.arange(len(code), dtype=np.int64)
    if time_sorted:
        return np.argsort(code, kind="stable").astype(np.int64)
    return np.lexsort((time, code)).astype(np.int64)  # lexsort is stable: ties keep input order


def read_service_log(
    tickets: Any,
    events: Any,
    *,
    as_of: Any,
    who: str,
    require: tuple[str, ...] = ("priority",),
) -> ServiceLog:
    """Validate tickets and events and return them as aligned arrays.

    Parameters
    ----------
    tickets, events : DataFrame
        pandas, Polars or PyArrow frames (see the module docstring for the rules).
    as_of : tz-aware datetime or ISO 8601 string with an offset
        Events after it are ignored; tickets opened after it are left out (counted in a
        :class:`~crmcore.exceptions.CRMWarning`).
    who : str
        The public function, for messages.
    require : tuple of str
        Ticket columns needed beyond ``ticket_id`` and ``opened_at``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ticket_id": [1], "priority": ["high"],
    ...                   "opened_at": [pd.Timestamp("2024-03-04 09:00", tz="UTC")]})
    >>> e = pd.DataFrame({"ticket_id": [1], "kind": ["status_change"], "status": ["solved"],
    ...                   "occurred_at": [pd.Timestamp("2024-03-04 10:00", tz="UTC")]})
    >>> log = read_service_log(t, e, as_of="2024-03-05T00:00Z", who="example")
    >>> int(log.status_at_as_of()[0]) == STATUS["solved"]
    True
    """
    as_of_ts = coerce_aware(as_of, who=who)
    frame = to_pandas(tickets, who=who)
    require_columns(frame, ("ticket_id", "opened_at", *require), who=who, col_args=False)
    ev = to_pandas(events, who=who)
    require_columns(ev, ("ticket_id", "occurred_at", "kind"), who=who, col_args=False)

    ids = frame["ticket_id"]
    if bool(ids.isna().any()):
        raise ValidationError(
            f"{who}: column 'ticket_id' must not have missing values; "
            f"{int(ids.isna().sum()):,} rows have none."
        )
    # one hash pass over the ticket ids and the events' ticket ids together: the codes of the
    # tickets give uniqueness, those of the events the ticket each event belongs to
    ev_values = ev["ticket_id"].to_numpy(dtype=object)
    ev_ids = ev_values  # for messages (indexed only when something fails)
    # events usually come grouped by ticket: hash only the first row of each run
    heads = np.ones(len(ev_values), dtype=bool)
    if len(ev_values) > 1:
        heads[1:] = ev_values[1:] != ev_values[:-1]
    all_codes, _ = pd.factorize(np.concatenate([ids.to_numpy(dtype=object), ev_values[heads]]))
    n_tickets = len(frame)
    ticket_codes = all_codes[:n_tickets]
    seen = np.bincount(ticket_codes, minlength=int(all_codes.max(initial=-1)) + 1)
    if n_tickets and int(seen.max()) > 1:
        dup = seen[ticket_codes] > 1
        _fail(
            who,
            "column 'ticket_id' must be unique (one row per ticket)",
            ids[dup],
            column="ticket_id",
        )
    position = np.full(len(seen), -1, dtype=np.int64)
    position[ticket_codes] = np.arange(n_tickets)
    ev_codes = all_codes[n_tickets:]
    code = np.where(ev_codes < 0, -1, position[ev_codes])[np.cumsum(heads) - 1]  # -1: missing id
    index = pd.Index(ids.to_numpy(), name="ticket_id")
    opened = _aware_ns(frame["opened_at"], "opened_at", who, ids)
    priority = (
        _codes(frame["priority"], {p: i for i, p in enumerate(PRIORITIES)}, "priority", who, ids)
        if "priority" in frame.columns
        else np.full(len(frame), -1, dtype=np.int8)
    )
    if "category" in require:
        _codes(
            frame["category"],
            {c.value: i for i, c in enumerate(TicketCategory)},
            "category",
            who,
            ids,
        )

    # ------------------------------------------------------------- events
    unknown = code < 0
    if unknown.any():
        _fail(
            who,
            "every event's ticket_id must be a ticket of the tickets frame",
            ev_ids[unknown],
            noun="unknown ticket ids",
            column="ticket_id",
        )
    code = code.astype(np.int64)
    time = _aware_ns(ev["occurred_at"], "occurred_at", who, ev_ids)
    kind = _codes(ev["kind"], dict(KIND), "kind", who, ev_ids)
    is_change = kind == KIND["status_change"]
    if "status" in ev.columns:
        # only status changes carry a status (a stray one on another row is refused below)
        status = _codes(ev["status"], dict(STATUS), "status", who, ev_ids, allow_missing=True)
    else:
        status = np.full(len(ev), -1, dtype=np.int8)
    no_status = is_change & (status < 0)
    if no_status.any():
        _fail(
            who,
            "a status_change event needs its new status in 'status'",
            ev_ids[no_status],
            column="status",
        )
    stray = ~is_change & (status >= 0)
    if stray.any():
        _fail(
            who,
            "only status_change events carry a 'status' (it is the new status)",
            ev_ids[stray],
            hint="set 'status' to missing on replies and notes.",
            column="status",
        )
    auto_col = ev["automatic"] if "automatic" in ev.columns else None
    if auto_col is None:
        automatic = np.zeros(len(ev), dtype=bool)
    elif pd.api.types.is_bool_dtype(auto_col.dtype):
        automatic = auto_col.to_numpy(dtype=bool)
    else:
        # booleans, or 0/1 as many exports write them; nothing else, and no gaps
        is_flag = auto_col.isin([True, False]).to_numpy(dtype=bool) & ~np.asarray(
            auto_col.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            if auto_col.dtype == object
            else np.zeros(len(auto_col), dtype=bool)
        )
        if not is_flag.all():
            _fail(
                who,
                "column 'automatic' must hold booleans (or 0/1) without missing values",
                ev_ids[~is_flag],
                noun="rows",
                column="automatic",
            )
        automatic = auto_col.to_numpy().astype(bool)

    early = time < opened[code]
    if early.any():
        _fail(
            who,
            "no event may come before its ticket's opened_at",
            ev_ids[early],
            column="occurred_at",
        )

    order = _event_order(code, time)
    code, time, kind, status, automatic = (
        code[order],
        time[order],
        kind[order],
        status[order],
        automatic[order],
    )
    ch = kind == KIND["status_change"]
    c_codes, c_status = code[ch], status[ch]
    _status_history_check(who, index.to_numpy(), c_codes, c_status)

    if "status" in frame.columns:
        final = np.full(len(frame), STATUS["new"], dtype=np.int8)
        if len(c_codes):
            last = np.flatnonzero(np.r_[c_codes[1:] != c_codes[:-1], True])
            final[c_codes[last]] = c_status[last]
        given = _codes(frame["status"], dict(STATUS), "status", who, ids, allow_missing=True)
        off = (given >= 0) & (given != final)
        if off.any():
            _fail(
                who,
                "the tickets' 'status' must be the status their events lead to (a ticket starts "
                "as 'new'; the status history comes from the status_change events)",
                ids[off],
                hint="add the missing status_change events, or drop the 'status' column.",
                column="status",
            )

    # ------------------------------------------------------------- as_of
    cut = int(as_of_ts.value)
    keep_ticket = opened <= cut
    left_out = int((~keep_ticket).sum())
    if left_out:
        warnings.warn(
            f"{who}: {left_out:,} of {len(frame):,} tickets were opened after as_of "
            f"{as_of_ts} and are left out (first ids: {format_ids(ids[~keep_ticket])}).",
            CRMWarning,
            stacklevel=3,
        )
    if left_out:
        keep_event = (time <= cut) & keep_ticket[code]
        code = (np.cumsum(keep_ticket) - 1)[code]
        index, frame = index[keep_ticket], frame.loc[keep_ticket].reset_index(drop=True)
        opened, priority = opened[keep_ticket], priority[keep_ticket]
    else:
        keep_event = time <= cut
    if not keep_event.all():
        code, time, kind, status, automatic = (
            code[keep_event],
            time[keep_event],
            kind[keep_event],
            status[keep_event],
            automatic[keep_event],
        )
    return ServiceLog(
        ids=index,
        tickets=frame,
        opened=opened,
        priority=priority,
        as_of=cut,
        ev_ticket=code.astype(np.int64, copy=False),
        ev_time=time,
        ev_kind=kind,
        ev_status=status,
        ev_automatic=automatic,
        left_out=left_out,
    )
