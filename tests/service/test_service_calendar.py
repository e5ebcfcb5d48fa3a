"""BusinessCalendar: hand-worked cases, a minute-by-minute brute-force reference, round trips.

Expected values are derived by hand in the comments (DST dates from the IANA tz database:
Europe/Berlin changes at 01:00 UTC on the last Sundays of March and October; America/New_York
at 02:00 local on the second Sunday of March and the first Sunday of November), or come from
an independent brute force that reads every UTC minute on the local wall clock with zoneinfo.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import CRMError, ValidationError
from crmcore.service._calendar import BusinessCalendar

H = pd.Timedelta(hours=1)
BER = "Europe/Berlin"
NYC = "America/New_York"
LHI = "Australia/Lord_Howe"
WEEKDAYS_9_17 = {d: [("09:00", "17:00")] for d in range(5)}
ALL_DAY = {d: [("00:00", "24:00")] for d in range(7)}


def ts(text: str, tz: str = BER) -> pd.Timestamp:
    return pd.Timestamp(text, tz=tz)


# --------------------------------------------------------------------------- hand-worked


def test_weekend_is_skipped() -> None:
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER)
    # Fri 2024-03-01 16:00-17:00 (1 h) + Mon 2024-03-04 09:00-10:00 (1 h)
    assert cal.working_time(ts("2024-03-01 16:00"), ts("2024-03-04 10:00")) == 2 * H
    # a whole week: 5 x 8 h
    assert cal.working_time(ts("2024-03-04 00:00"), ts("2024-03-11 00:00")) == 40 * H


def test_overnight_shift_belongs_to_its_start_weekday() -> None:
    cal = BusinessCalendar(hours={0: [("22:00", "06:00")]}, tz=BER)  # Monday night only
    # Mon 2024-03-04 22:00 to Tue 06:00 = 8 h
    assert cal.working_time(ts("2024-03-04 21:00"), ts("2024-03-05 21:00")) == 8 * H
    # Sunday night 2024-03-03 has no shift: Mon 00:00-06:00 is not worked
    assert cal.working_time(ts("2024-03-04 00:00"), ts("2024-03-04 12:00")) == pd.Timedelta(0)


def test_holiday_removes_its_date_including_last_nights_tail() -> None:
    xmas = [dt.date(2024, 12, 25)]
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER, holidays=xmas)
    # Tue 24th 8 h + Wed 25th 0 h + Thu 26th 8 h
    assert cal.working_time(ts("2024-12-24 00:00"), ts("2024-12-27 00:00")) == 16 * H
    night = BusinessCalendar(hours={1: [("22:00", "06:00")]}, tz=BER, holidays=xmas)
    # Tue 24th 22:00-24:00 kept (2 h); its after-midnight part lies on the 25th: removed
    assert night.working_time(ts("2024-12-24 12:00"), ts("2024-12-25 12:00")) == 2 * H
    tue_night = BusinessCalendar(hours={2: [("22:00", "06:00")]}, tz=BER, holidays=xmas)
    # Wed 25th 22:00-24:00 is on the holiday: removed; Thu 26th 00:00-06:00 kept (6 h)
    assert tue_night.working_time(ts("2024-12-25 12:00"), ts("2024-12-26 12:00")) == 6 * H


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        (BER, "2024-03-31", 23),
        (BER, "2024-10-27", 25),
        (BER, "2025-03-30", 23),
        (BER, "2025-10-26", 25),
        (NYC, "2024-03-10", 23),
        (NYC, "2024-11-03", 25),
        (NYC, "2025-03-09", 23),
        (NYC, "2025-11-02", 25),
    ],
)
def test_dst_days_have_23_and_25_hours(tz: str, day: str, hours: int) -> None:
    cal = BusinessCalendar(hours=ALL_DAY, tz=tz)
    start = ts(day, tz)
    end = ts(str((pd.Timestamp(day) + pd.Timedelta(days=1)).date()), tz)
    assert cal.working_time(start, end) == hours * H
    # the same day cut in 24 h/25 h in UTC elapsed terms agrees with the plain difference
    assert cal.working_time(start, end) == end - start


@pytest.mark.parametrize(
    ("tz", "saturday", "hours"),
    [
        (BER, "2024-03-30", 7),  # Sat 22:00 CET - Sun 06:00 CEST: 02:00-03:00 never happens
        (BER, "2024-10-26", 9),  # Sat 22:00 CEST - Sun 06:00 CET: 02:00-03:00 happens twice
        (NYC, "2024-03-09", 7),
        (NYC, "2024-11-02", 9),
        (BER, "2025-03-29", 7),
        (NYC, "2025-11-01", 9),
    ],
)
def test_night_shift_across_each_change(tz: str, saturday: str, hours: int) -> None:
    cal = BusinessCalendar(hours={5: [("22:00", "06:00")]}, tz=tz)
    start = ts(saturday, tz)
    assert cal.working_time(start, start + pd.Timedelta(days=2)) == hours * H
    # the whole shift from Sat 22:00 ends at Sun 06:00 local, wall-clock
    sunday = str((pd.Timestamp(saturday) + pd.Timedelta(days=1)).date())
    assert cal.add_working_time(ts(f"{saturday} 22:00", tz), hours * H) == ts(f"{sunday} 06:00", tz)


def test_shift_starting_inside_the_repeated_hour() -> None:
    # Sun 2024-10-27, Berlin: wall 02:30-17:00. Worked: 02:30-03:00 CEST (0.5 h), then the
    # clock repeats 02:00-02:30 CET (not worked), then 02:30-17:00 CET (14.5 h): 15 h.
    cal = BusinessCalendar(hours={6: [("02:30", "17:00")]}, tz=BER)
    assert cal.working_time(ts("2024-10-27 00:00"), ts("2024-10-28 00:00")) == 15 * H
    # 00:30 UTC = 02:30 CEST; 01:00 UTC = 02:00 CET; 01:30 UTC = 02:30 CET
    assert cal.working_time(
        pd.Timestamp("2024-10-27 00:30", tz="UTC"), pd.Timestamp("2024-10-27 01:30", tz="UTC")
    ) == pd.Timedelta(minutes=30)


def test_add_working_time_is_the_earliest_instant() -> None:
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER)
    fri = ts("2024-03-01 16:00")
    assert cal.add_working_time(fri, H) == ts("2024-03-01 17:00")  # not Mon 09:00
    assert cal.add_working_time(fri, 2 * H) == ts("2024-03-04 10:00")
    assert cal.add_working_time(fri, pd.Timedelta(0)) == fri
    sat = ts("2024-03-02 12:00")
    assert cal.add_working_time(sat, pd.Timedelta(0)) == sat  # start itself for zero
    # a 24-hour calendar across fall-back: 01:30 CEST (23:30 UTC) + 2 h = 01:30 UTC = 02:30 CET
    day = BusinessCalendar(hours=ALL_DAY, tz=BER)
    got = day.add_working_time(ts("2024-10-27 01:30"), 2 * H)
    assert got == pd.Timestamp("2024-10-27 01:30", tz="UTC")
    assert str(got.tz) == BER


def test_arrays_series_and_mixed_zones() -> None:
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER)
    starts = [ts("2024-03-01 16:00"), pd.Timestamp("2024-03-01 15:00", tz="UTC")]  # 16:00 CET
    ends = [pd.Timestamp("2024-03-04 04:00", tz=NYC), ts("2024-03-04 10:00")]  # 10:00 CET
    got = cal.working_time(starts, ends)
    assert list(got) == [2 * H, 2 * H]
    s = pd.Series(pd.DatetimeIndex(starts[:1] * 3), index=["a", "b", "c"])
    out = cal.working_time(s, pd.Series(pd.DatetimeIndex(ends[1:] * 3)).to_numpy())
    assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"]
    due = cal.add_working_time(s, [H, 2 * H, pd.Timedelta(0)])
    assert list(due.index) == ["a", "b", "c"]
    assert list(due) == [ts("2024-03-01 17:00"), ts("2024-03-04 10:00"), ts("2024-03-01 16:00")]


# --------------------------------------------------------------------------- errors


def test_naive_timestamps_raise() -> None:
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER)
    with pytest.raises(ValidationError, match="tz-aware"):
        cal.working_time(pd.Timestamp("2024-03-01"), ts("2024-03-02"))
    with pytest.raises(ValidationError, match="tz-aware"):
        cal.working_time([ts("2024-03-01"), pd.Timestamp("2024-03-01")], [ts("2024-03-02")] * 2)
    with pytest.raises(ValidationError, match="tz-aware"):
        cal.add_working_time(pd.DatetimeIndex(["2024-03-01"]), H)


def test_end_before_start_and_negative_duration_raise() -> None:
    cal = BusinessCalendar(hours=WEEKDAYS_9_17, tz=BER)
    with pytest.raises(ValidationError, match=r"1 row\(s\) end before .* positions \[1\]"):
        cal.working_time([ts("2024-03-01"), ts("2024-03-05")], [ts("2024-03-02")] * 2)
    with pytest.raises(ValidationError, match="non-negative"):
        cal.add_working_time(ts("2024-03-01"), -H)


@pytest.mark.parametrize(
    "hours",
    [
        {7: [("09:00", "17:00")]},
        {0: [("9:00", "17:00")]},
        {0: [("09:00", "25:00")]},
        {0: [("24:00", "06:00")]},
        {0: [("09:60", "17:00")]},
        {0: ["09:00-17:00"]},
        {0: [("09:00", "12:00", "17:00")]},
        {0: "09:00"},
        [("09:00", "17:00")],
    ],
)
def test_malformed_hours_raise(hours: object) -> None:
    with pytest.raises(ValidationError):
        BusinessCalendar(hours=hours, tz=BER)  # type: ignore[arg-type]


def test_bad_holidays_and_zone_raise_crm_errors() -> None:
    with pytest.raises(CRMError):
        BusinessCalendar(hours=WEEKDAYS_9_17, holidays=[dt.datetime(2024, 1, 1)])
    with pytest.raises(CRMError):
        BusinessCalendar(hours=WEEKDAYS_9_17, tz="Mars/Olympus")


# --------------------------------------------------------------------------- brute force

HOLIDAYS = [dt.date(2024, 3, 31), dt.date(2024, 10, 28), dt.date(2024, 12, 25), dt.date(2025, 1, 1)]
HOURS = {
    0: [("09:00", "12:00"), ("13:00", "17:30")],
    1: [("09:00", "17:00")],
    2: [("08:00", "16:00"), ("20:00", "04:00")],
    3: [("09:00", "17:00"), ("12:00", "19:00")],  # overlapping shifts count once
    4: [("09:00", "24:00")],
    5: [("22:00", "06:00")],  # Saturday night: across each DST change
    6: [("02:30", "03:30")],  # inside the skipped / repeated hour
}
CALENDARS = {tz: BusinessCalendar(hours=HOURS, tz=tz, holidays=HOLIDAYS) for tz in (BER, NYC, LHI)}
CHANGES = [  # UTC instants of the 2024 and 2025 changes
    "2024-03-31 01:00",
    "2024-10-27 01:00",
    "2025-03-30 01:00",
    "2025-10-26 01:00",
    "2024-03-10 07:00",
    "2024-11-03 06:00",
    "2025-03-09 07:00",
    "2025-11-02 06:00",
    "2024-04-06 15:00",  # Australia/Lord_Howe: 30-minute changes at 02:00 local, off the UTC hour
    "2024-10-05 15:30",
]
INPUT_ZONES = ["UTC", BER, NYC, "Asia/Kolkata", "Australia/Lord_Howe"]


def _wall_is_working(wall: dt.datetime) -> bool:
    """Independent reading of the rules for one local wall-clock time."""
    date = wall.date()
    if date in HOLIDAYS:
        return False
    minute = wall.hour * 60 + wall.minute

    def parse(text: str) -> int:
        return int(text[:2]) * 60 + int(text[3:])

    for start, end in HOURS.get(date.weekday(), []):
        a, b = parse(start), parse(end)
        if a <= minute < (b if b > a else 1440):
            return True
    for start, end in HOURS.get((date - dt.timedelta(days=1)).weekday(), []):
        a, b = parse(start), parse(end)
        if b <= a and minute < b:  # after-midnight part of yesterday's overnight shift
            return True
    return False


def brute_force(tz: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Timedelta:
    """Sum over UTC minutes of their overlap with [start, end) when the wall clock works."""
    zone = ZoneInfo(tz)
    s = int(start.value // 10**9)
    e = int(end.value // 10**9)
    total = 0
    for m in range(s - s % 60, e, 60):
        overlap = min(m + 60, e) - max(m, s)
        if overlap > 0:
            wall = dt.datetime.fromtimestamp(m, tz=dt.timezone.utc).astimezone(zone)
            if _wall_is_working(wall.replace(tzinfo=None)):
                total += overlap
    return pd.Timedelta(seconds=total)


@st.composite
def intervals(draw: st.DrawFn) -> tuple[pd.Timestamp, pd.Timestamp]:
    anchor = pd.Timestamp(draw(st.sampled_from(CHANGES)), tz="UTC")
    second = pd.Timedelta(seconds=1)
    start = anchor + draw(st.integers(-40 * 86400, 2 * 86400)) * second
    end = start + draw(st.integers(0, 40 * 86400)) * second
    return (
        start.tz_convert(draw(st.sampled_from(INPUT_ZONES))),
        end.tz_convert(draw(st.sampled_from(INPUT_ZONES))),
    )


@settings(max_examples=25, deadline=None)
@given(tz=st.sampled_from([BER, NYC, LHI]), rows=st.lists(intervals(), min_size=1, max_size=3))
def test_matches_minute_by_minute_brute_force(
    tz: str, rows: list[tuple[pd.Timestamp, pd.Timestamp]]
) -> None:
    cal = CALENDARS[tz]
    starts = [r[0] for r in rows]
    ends = [r[1] for r in rows]
    got = cal.working_time(starts, ends)  # mixed input zones in one call
    expected = [brute_force(tz, s, e) for s, e in rows]
    assert list(got) == expected
    assert cal.working_time(starts[0], ends[0]) == expected[0]


@settings(max_examples=25, deadline=None)
@given(
    tz=st.sampled_from([BER, NYC, LHI]),
    interval=intervals(),
    seconds=st.integers(0, 200 * 3600),
)
def test_round_trip_and_earliest_instant(
    tz: str, interval: tuple[pd.Timestamp, pd.Timestamp], seconds: int
) -> None:
    cal = CALENDARS[tz]
    start = interval[0]
    d = pd.Timedelta(seconds=seconds)
    due = cal.add_working_time(start, d)
    assert cal.working_time(start, due) == d
    if seconds == 0:
        assert due == start
    else:
        # one nanosecond earlier the clock has not reached d yet
        assert cal.working_time(start, due - pd.Timedelta(1, "ns")) < d
        # the independent brute force agrees: d is reached at due, not one second before
        assert brute_force(tz, start, due) == d
        assert brute_force(tz, start, due - pd.Timedelta(seconds=1)) < d
    vec = cal.add_working_time([start, start], np.array([d, d], dtype="timedelta64[ns]"))
    assert list(vec) == [due, due]


def test_half_hour_changes_off_the_utc_hour() -> None:
    # Australia/Lord_Howe moves between +10:30 and +11:00 at 02:00 local: 15:30 UTC on
    # 2024-10-05 (23.5-hour day) and 15:00 UTC on 2024-04-06 (24.5-hour day)
    cal = BusinessCalendar(hours=ALL_DAY, tz=LHI)
    assert cal.working_time(ts("2024-10-06", LHI), ts("2024-10-07", LHI)) == pd.Timedelta(
        hours=23.5
    )
    assert cal.working_time(ts("2024-04-07", LHI), ts("2024-04-08", LHI)) == pd.Timedelta(
        hours=24.5
    )
