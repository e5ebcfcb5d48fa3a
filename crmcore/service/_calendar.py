"""Business calendar: working hours per weekday in a time zone, holidays, business time.

The calendar answers two questions, vectorised over arrays of timestamps: how much working
time lies between two instants (:meth:`BusinessCalendar.working_time`) and the earliest
instant at which a given working duration has passed (:meth:`BusinessCalendar.add_working_time`).

Working time is *elapsed* time during which the calendar's local wall clock reads a working
time on a non-holiday date (the convention of Zendesk business-hours SLAs and Odoo
``resource.calendar``), so a shift across the spring-forward change is an hour shorter and one
across the fall-back change an hour longer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._periods import period_numbers
from crmcore.exceptions import ValidationError

__all__ = ["BusinessCalendar"]

_NS_MIN = 60 * 1_000_000_000
_NS_HOUR = 60 * _NS_MIN
_NS_DAY = 24 * _NS_HOUR
_NAT = np.iinfo(np.int64).min
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_EPOCH_WEEKDAY = 3  # day 0 of the period clock, 1970-01-01, was a Thursday

I64 = npt.NDArray[np.int64]


def _parse_clock(value: Any, *, weekday: int, end: bool) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"24:00"`` only as an end)."""
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            f"The 'hours' parameter of BusinessCalendar must give times as 'HH:MM' strings; "
            f"weekday {weekday} has {value!r} ({type(value).__name__})."
        )
    hh, mm = int(match.group(1)), int(match.group(2))
    if (hh, mm) == (24, 0) and end:
        return 1440
    if hh > 23 or mm > 59:
        raise ValidationError(
            f"The 'hours' parameter of BusinessCalendar must give times from 00:00 to 23:59 "
            f"('24:00' allowed as an end); weekday {weekday} has {value!r}."
        )
    return hh * 60 + mm


def _parse_hours(hours: Any) -> dict[int, tuple[tuple[int, int], ...]]:
    if not isinstance(hours, Mapping):
        raise ValidationError(
            "The 'hours' parameter of BusinessCalendar must be a mapping of weekday (0 = Monday "
            f"to 6) to a list of ('HH:MM', 'HH:MM') shifts. Got {type(hours).__name__} instead."
        )
    parsed: dict[int, tuple[tuple[int, int], ...]] = {}
    for day, shifts in hours.items():
        if isinstance(day, bool) or not isinstance(day, (int, np.integer)) or not 0 <= day <= 6:
            raise ValidationError(
                "The 'hours' parameter of BusinessCalendar must have weekday keys 0 (Monday) "
                f"to 6 (Sunday). Got {day!r}."
            )
        if isinstance(shifts, (str, bytes)) or not isinstance(shifts, Iterable):
            raise ValidationError(
                f"The 'hours' parameter of BusinessCalendar must map weekday {day} to a list of "
                f"('HH:MM', 'HH:MM') shifts. Got {shifts!r}."
            )
        out: list[tuple[int, int]] = []
        for shift in shifts:
            if (
                isinstance(shift, (str, bytes))
                or not isinstance(shift, Sequence)
                or len(shift) != 2
            ):
                raise ValidationError(
                    f"The 'hours' parameter of BusinessCalendar must give each shift of weekday "
                    f"{day} as a ('HH:MM', 'HH:MM') pair. Got {shift!r}."
                )
            start = _parse_clock(shift[0], weekday=int(day), end=False)
            stop = _parse_clock(shift[1], weekday=int(day), end=True)
            if stop <= start:  # runs overnight, belongs to the weekday it starts on
                stop += 1440
            out.append((start, stop))
        parsed[int(day)] = tuple(out)
    return parsed


def _parse_holidays(holidays: Any) -> I64:
    if holidays is None:
        return np.empty(0, dtype=np.int64)
    if isinstance(holidays, (str, bytes, dt.date)) or not isinstance(holidays, Iterable):
        raise ValidationError(
            "The 'holidays' parameter of BusinessCalendar must be a list of datetime.date. "
            f"Got {type(holidays).__name__} instead."
        )
    days: list[dt.date] = []
    for day in holidays:
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise ValidationError(
                "The 'holidays' parameter of BusinessCalendar must contain datetime.date values "
                f"(not datetimes). Got {day!r} ({type(day).__name__})."
            )
        days.append(day)
    # local date keys: day numbers of the period clock (days since 1970-01-01)
    keys = period_numbers(
        np.array(days, dtype="datetime64[D]"), "D", name="holidays", who="BusinessCalendar"
    )
    return np.unique(keys)


def _timestamp(value: Any, name: str) -> Any:
    """``pd.Timestamp(value)``, with unparseable input as a ValidationError naming `name`."""
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            f"The '{name}' argument must hold tz-aware timestamps; got {value!r} "
            f"({type(value).__name__}): {exc}."
        ) from None


def _durations(duration: Any) -> tuple[I64, bool]:
    """Nanoseconds of a timedelta-like or array of them; (values, is_scalar)."""
    scalar = isinstance(duration, (pd.Timedelta, dt.timedelta, np.timedelta64, str))
    try:
        if scalar:
            return np.array([pd.Timedelta(duration).as_unit("ns").value], dtype=np.int64), True
        if getattr(getattr(duration, "dtype", None), "kind", None) == "m":
            td = pd.TimedeltaIndex(duration).as_unit("ns")
        else:
            td = pd.to_timedelta(np.asarray(duration, dtype=object).ravel()).as_unit("ns")
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            "The 'duration' argument must be a timedelta-like or an array-like of them; got "
            f"{duration!r} ({type(duration).__name__}): {exc}."
        ) from None
    return td.asi8.astype(np.int64, copy=True), False


def _as_utc_ns(value: Any, name: str) -> tuple[I64, bool, pd.Index | None]:
    """UTC nanoseconds of tz-aware input; (values, is_scalar, index of a Series or None)."""
    if isinstance(value, (pd.Timestamp, dt.datetime, str, np.datetime64)):
        ts = _timestamp(value, name)
        if ts is pd.NaT:
            return np.array([_NAT], dtype=np.int64), True, None
        if ts.tzinfo is None:
            raise ValidationError(
                f"The '{name}' argument must be tz-aware; got the naive timestamp {ts}."
            )
        return np.array([ts.tz_convert("UTC").as_unit("ns").value], dtype=np.int64), True, None
    index = value.index if isinstance(value, pd.Series) else None
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        idx = pd.DatetimeIndex(value).tz_convert("UTC").as_unit("ns")
        return idx.asi8.astype(np.int64, copy=True), False, index
    if dtype is not None and dtype.kind == "M":
        raise ValidationError(f"The '{name}' argument must be tz-aware; got naive timestamps.")
    items = [_timestamp(v, name) for v in np.asarray(value, dtype=object).ravel()]
    naive = [i for i, ts in enumerate(items) if ts is not pd.NaT and ts.tzinfo is None]
    if naive:
        raise ValidationError(
            f"The '{name}' argument must be tz-aware; {len(naive)} naive timestamp(s), first "
            f"at positions {naive[:5]}."
        )
    out = np.array(
        [_NAT if ts is pd.NaT else ts.tz_convert("UTC").as_unit("ns").value for ts in items],
        dtype=np.int64,
    )
    return out, False, index


def _broadcast_pair(
    a: I64, a_scalar: bool, b: I64, b_scalar: bool, who: str, names: tuple[str, str]
) -> tuple[I64, I64]:
    """Repeat a scalar side to the other side's length; two arrays must have equal lengths."""
    if len(a) != len(b):
        if a_scalar:
            a = np.full(len(b), a[0], dtype=np.int64)
        elif b_scalar:
            b = np.full(len(a), b[0], dtype=np.int64)
        else:
            raise ValidationError(
                f"{who} needs {names[0]!r} and {names[1]!r} of equal length; got {len(a)} and "
                f"{len(b)}."
            )
    return a, b


class BusinessCalendar:
    """Working hours per weekday in a time zone, with holidays.

    Parameters
    ----------
    hours : mapping of int to list of (str, str)
        Weekday (0 = Monday to 6 = Sunday) to shifts ``("HH:MM", "HH:MM")`` of local wall-clock
        time; unlisted weekdays have no hours. ``"24:00"`` is allowed as an end. A shift whose
        end is not after its start (``("22:00", "06:00")``) runs overnight and belongs to the
        weekday it starts on. Overlapping shifts count once.
    tz : str or tzinfo, default "UTC"
        The calendar's time zone (an IANA name such as ``"Europe/Berlin"``).
    holidays : iterable of datetime.date, optional
        Local dates without working time. A holiday removes every minute of its local date: the
        after-midnight part of the previous night's shift too, while the after-midnight part of
        a shift starting on the holiday (which lies on the next date) is kept.

    Raises
    ------
    ValidationError
        Malformed hours (keys outside 0-6, times not ``"HH:MM"``) or holidays that are not dates.

    Notes
    -----
    Working time is elapsed time during which the local wall clock reads a working time on a
    non-holiday date (Zendesk business-hours SLA; Odoo ``resource.calendar``). Wall times that
    do not exist (spring forward) are not worked; wall times that occur twice (fall back) are
    worked twice. Internally the calendar's working intervals are laid out as UTC instants over
    the span the inputs need, with the cumulative working time at their bounds; each input row
    is one ``np.searchsorted``. Results are exact to the nanosecond of the inputs.

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> from crmcore.service._calendar import BusinessCalendar
    >>> nine_to_five = {d: [("09:00", "17:00")] for d in range(5)}
    >>> cal = BusinessCalendar(hours=nine_to_five, tz="Europe/Berlin",
    ...                        holidays=[dt.date(2024, 12, 25)])
    >>> fri = pd.Timestamp("2024-03-01 16:00", tz="Europe/Berlin")
    >>> cal.working_time(fri, pd.Timestamp("2024-03-04 10:00", tz="Europe/Berlin"))
    Timedelta('0 days 02:00:00')
    >>> cal.add_working_time(fri, pd.Timedelta(hours=1))
    Timestamp('2024-03-01 17:00:00+0100', tz='Europe/Berlin')
    """

    def __init__(
        self,
        hours: Mapping[int, Sequence[tuple[str, str]]],
        tz: str | dt.tzinfo = "UTC",
        holidays: Iterable[dt.date] | None = None,
    ) -> None:
        self._shifts = _parse_hours(hours)
        if tz is None:  # tz_convert(None) would hand back naive timestamps
            raise ValidationError(
                "The 'tz' parameter of BusinessCalendar must be a time zone name or tzinfo "
                "such as 'Europe/Berlin'. Got None instead."
            )
        try:
            pd.Timestamp(0, tz="UTC").tz_convert(tz)
        except Exception as exc:
            raise ValidationError(
                f"The 'tz' parameter of BusinessCalendar must be a time zone name or tzinfo. "
                f"Got {tz!r} ({exc})."
            ) from None
        self._tz = tz
        self._holidays = _parse_holidays(holidays)
        self._week_minutes = sum(e - s for shifts in self._shifts.values() for s, e in shifts)

    @property
    def tz(self) -> str | dt.tzinfo:
        """The calendar's time zone, as given."""
        return self._tz

    def _key(self) -> tuple[Any, ...]:
        shifts = tuple(sorted((d, tuple(v)) for d, v in self._shifts.items() if v))
        return (shifts, str(self._tz), tuple(self._holidays.tolist()))

    def __eq__(self, other: object) -> bool:
        """Calendars are equal when their hours, zone and holidays are."""
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        def clock(minutes: int) -> str:
            minutes = minutes - 1440 if minutes > 1440 else minutes
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        hours = {
            d: [f"{clock(a)}-{clock(b)}" for a, b in shifts]
            for d, shifts in sorted(self._shifts.items())
            if shifts
        }
        return (
            f"BusinessCalendar(tz={str(self._tz)!r}, hours={hours}, holidays={len(self._holidays)})"
        )

    def _repr_html_(self) -> str:
        """Jupyter display: the working hours of each weekday (overnight shifts belong to the
        day they start on; overlapping shifts count once), the week's total, the time zone
        and the holidays (the first ten listed)."""
        from crmcore import _display as d

        days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

        def clock(minutes: int) -> str:
            later = " (+1 day)" if minutes > 1440 else ""
            minutes = minutes - 1440 if minutes > 1440 else minutes
            return f"{minutes // 60:02d}:{minutes % 60:02d}{later}"

        def hours(minutes: int) -> str:
            return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")

        rows: list[list[str | d.Cell]] = []
        week = 0
        for day, label in enumerate(days):
            shifts = sorted(self._shifts.get(day, ()))
            merged: list[list[int]] = []
            for start, stop in shifts:
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], stop)
                else:
                    merged.append([start, stop])
            total = sum(stop - start for start, stop in merged)
            week += total
            text = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in shifts) or "closed"
            rows.append([label, d.Cell(text, align="left"), hours(total) if total else "-"])
        table = d.table(["shifts (local time)", "working time"], rows, index_header="weekday")
        epoch = dt.date(1970, 1, 1).toordinal()
        holidays = [dt.date.fromordinal(epoch + int(k)).isoformat() for k in self._holidays]
        shown = ", ".join(holidays[:10]) + (", ..." if len(holidays) > 10 else "")
        pairs = [
            ("time zone", str(self._tz)),
            ("working time per week", hours(week) if week else "none"),
            ("holidays", d.count(len(holidays)) + (f": {shown}" if holidays else "")),
        ]
        return d.block(type(self).__name__, d.facts(pairs), table)

    # ------------------------------------------------------------------ internals
    def _offsets(self, lo: int, hi: int) -> tuple[I64, I64]:
        """UTC segment bounds ``T`` (len m+1) and the UTC offsets (len m) within [lo, hi)."""
        grid = np.arange(lo, hi + _NS_HOUR, _NS_HOUR, dtype=np.int64)
        off = self._offset_at(grid)
        change = np.flatnonzero(np.diff(off) != 0)
        bounds = [lo]
        offsets = [int(off[0])]
        for i in change:  # loop over the zone's transitions only (two a year at most)
            a, b = int(grid[i]), int(grid[i + 1])  # offset(a) != offset(b): bisect to 1 s
            oa = int(off[i])
            while b - a > 1_000_000_000:
                mid = a + (b - a) // 2_000_000_000 * 1_000_000_000
                mid = max(mid, a + 1_000_000_000)
                if int(self._offset_at(np.array([mid], dtype=np.int64))[0]) == oa:
                    a = mid
                else:
                    b = mid
            bounds.append(b)
            offsets.append(int(off[i + 1]))
        bounds.append(int(grid[-1]))
        return np.asarray(bounds, dtype=np.int64), np.asarray(offsets, dtype=np.int64)

    def _offset_at(self, utc_ns: I64) -> I64:
        idx = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")
        local = np.asarray(idx.tz_convert(self._tz).tz_localize(None).as_unit("ns").asi8)
        out: I64 = (local - utc_ns).astype(np.int64)
        return out

    def _intervals(self, lo: int, hi: int) -> tuple[I64, I64, I64]:
        """Merged working intervals (UTC ns) covering every instant in [lo, hi].

        Returns starts, ends and the cumulative working time before each interval.
        """
        # date keys of the period clock (days since 1970-01-01) around the UTC bounds, with a
        # few days of margin for the local dates
        first, last = period_numbers(np.array([lo, hi], dtype=np.int64), "D").tolist()
        d_lo = first - 3
        d_hi = last + 3
        dates = np.arange(d_lo, d_hi + 1, dtype=np.int64)
        weekday = (dates + _EPOCH_WEEKDAY) % 7
        wall_a: list[I64] = []
        wall_b: list[I64] = []
        for day, shifts in self._shifts.items():
            on = dates[weekday == day]
            for s, e in shifts:
                # part on the shift's own date
                keep = on[~np.isin(on, self._holidays)]
                wall_a.append(keep * _NS_DAY + s * _NS_MIN)
                wall_b.append(keep * _NS_DAY + min(e, 1440) * _NS_MIN)
                if e > 1440:  # after-midnight part lies on the next date
                    nxt = on + 1
                    nxt = nxt[~np.isin(nxt, self._holidays)]
                    wall_a.append(nxt * _NS_DAY)
                    wall_b.append(nxt * _NS_DAY + (e - 1440) * _NS_MIN)
        if not wall_a:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        a = np.concatenate(wall_a)
        b = np.concatenate(wall_b)
        bounds, offsets = self._offsets((d_lo - 2) * _NS_DAY, (d_hi + 3) * _NS_DAY)
        # wall = utc + offset within each constant-offset UTC segment
        s = np.maximum(a[:, None] - offsets[None, :], bounds[None, :-1])
        e = np.minimum(b[:, None] - offsets[None, :], bounds[None, 1:])
        ok = s < e
        s, e = s[ok], e[ok]
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        # merge overlapping or touching pieces
        run_end = np.maximum.accumulate(e)
        new = np.ones(len(s), dtype=bool)
        new[1:] = s[1:] > run_end[:-1]
        group = np.cumsum(new) - 1
        starts = s[new]
        ends = np.zeros(len(starts), dtype=np.int64)
        np.maximum.at(ends, group, e)
        lengths = ends - starts
        cum = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return starts, ends, cum

    @staticmethod
    def _worked(t: I64, starts: I64, ends: I64, cum: I64) -> I64:
        """Working time from the first interval's start to ``t`` (ns)."""
        if len(starts) == 0:
            return np.zeros(len(t), dtype=np.int64)
        j = np.searchsorted(starts, t, side="right") - 1
        jc = np.clip(j, 0, None)
        inside = np.clip(t - starts[jc], 0, ends[jc] - starts[jc])
        return np.where(j < 0, 0, cum[jc] + inside).astype(np.int64)

    # ------------------------------------------------------------------ public API
    def working_time(self, start: Any, end: Any) -> Any:
        """Working time between ``start`` and ``end``.

        Parameters
        ----------
        start, end : tz-aware timestamp or array-like of them
            Scalars, or equal-length Series, DatetimeIndex, arrays or lists, in any zones (mixed
            zones allowed). Missing values give NaT.

        Returns
        -------
        pandas.Timedelta or TimedeltaIndex or Series
            A Timedelta for scalars; a Series (with ``start``'s index) when ``start`` is a
            Series; else a TimedeltaIndex.

        Raises
        ------
        ValidationError
            Naive timestamps, unequal lengths, or an end before its start in any row.

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.service._calendar import BusinessCalendar
        >>> cal = BusinessCalendar(hours={0: [("22:00", "06:00")]}, tz="Europe/Berlin")
        >>> mon = pd.Timestamp("2024-03-04 21:00", tz="Europe/Berlin")
        >>> cal.working_time(mon, mon + pd.Timedelta(days=1))
        Timedelta('0 days 08:00:00')
        >>> cal.working_time([mon], [pd.Timestamp("2024-03-04 23:00", tz="UTC")])
        TimedeltaIndex(['0 days 02:00:00'], dtype='timedelta64[ns]', freq=None)
        """
        s, s_scalar, index = _as_utc_ns(start, "start")
        e, e_scalar, _ = _as_utc_ns(end, "end")
        s, e = _broadcast_pair(s, s_scalar, e, e_scalar, "working_time", ("start", "end"))
        missing = (s == _NAT) | (e == _NAT)
        bad = np.flatnonzero(~missing & (e < s))
        if len(bad):
            raise ValidationError(
                f"working_time needs every 'end' at or after its 'start'; {len(bad)} row(s) end "
                f"before they start, first at positions {bad[:5].tolist()}."
            )
        out = np.full(len(s), _NAT, dtype=np.int64)
        if (~missing).any():
            ok_s, ok_e = s[~missing], e[~missing]
            starts, ends, cum = self._intervals(int(ok_s.min()), int(ok_e.max()))
            out[~missing] = self._worked(ok_e, starts, ends, cum) - self._worked(
                ok_s, starts, ends, cum
            )
        td = pd.TimedeltaIndex(out.view("timedelta64[ns]"))
        if s_scalar and e_scalar:
            return td[0]
        if index is not None:
            return pd.Series(td, index=index)
        return td

    def add_working_time(self, start: Any, duration: Any) -> Any:
        """The earliest instant at which ``duration`` of working time has passed since ``start``.

        Parameters
        ----------
        start : tz-aware timestamp or array-like of them
            In any zones (mixed zones allowed).
        duration : timedelta-like or array-like of them
            Non-negative working durations; one per row, or one for all.

        Returns
        -------
        pandas.Timestamp or DatetimeIndex or Series
            The earliest ``t`` with ``working_time(start, t) == duration`` (``start`` itself for
            a zero duration), in the calendar's zone.

        Raises
        ------
        ValidationError
            Naive timestamps, a negative duration, unequal lengths, or a positive duration on a
            calendar without working hours.

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.service._calendar import BusinessCalendar
        >>> cal = BusinessCalendar(hours={d: [("09:00", "17:00")] for d in range(5)},
        ...                        tz="America/New_York")
        >>> fri = pd.Timestamp("2024-03-08 16:00", tz="America/New_York")
        >>> cal.add_working_time(fri, pd.Timedelta(hours=2))
        Timestamp('2024-03-11 10:00:00-0400', tz='America/New_York')
        """
        s, s_scalar, index = _as_utc_ns(start, "start")
        d, d_scalar = _durations(duration)
        s, d = _broadcast_pair(s, s_scalar, d, d_scalar, "add_working_time", ("start", "duration"))
        missing = (s == _NAT) | (d == _NAT)
        neg = np.flatnonzero(~missing & (d < 0))
        if len(neg):
            raise ValidationError(
                f"add_working_time needs non-negative durations; {len(neg)} negative, first at "
                f"positions {neg[:5].tolist()}."
            )
        out = np.full(len(s), _NAT, dtype=np.int64)
        ok = ~missing
        if ok.any():
            ss, dd = s[ok], d[ok]
            if self._week_minutes == 0 and (dd > 0).any():
                raise ValidationError(
                    "add_working_time cannot add a positive duration on a calendar without "
                    "working hours."
                )
            lo = int(ss.min())
            weekly = max(self._week_minutes, 1) * _NS_MIN
            span = int(dd.max()) // weekly * 7 * _NS_DAY * 2 + 21 * _NS_DAY
            limit = pd.Timestamp.max.value - 30 * _NS_DAY
            while True:
                hi = min(int(ss.max()) + span, limit)
                starts, ends, cum = self._intervals(lo, hi)
                target = self._worked(ss, starts, ends, cum) + dd
                cum_end = cum + (ends - starts)
                k = np.searchsorted(cum_end, target, side="left")
                if (k < len(starts)).all() or hi >= limit:
                    break
                span *= 2
            if (k >= len(starts)).any():
                raise ValidationError(
                    "add_working_time: a deadline falls after the last representable timestamp."
                )
            res = starts[k] + (target - cum[k])
            out[ok] = np.where(dd == 0, ss, res)
        idx = pd.DatetimeIndex(out.view("datetime64[ns]")).tz_localize("UTC").tz_convert(self._tz)
        if s_scalar and d_scalar:
            return idx[0]
        if index is not None:
            return pd.Series(idx, index=index)
        return idx
