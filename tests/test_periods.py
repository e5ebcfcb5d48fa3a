"""The period clock (crmcore._periods): one epoch, two twins, one inverse.

Expected numbers come from hand derivations (written next to each case) or from a reference
written here with the standard library only (``date.toordinal``, ``isocalendar``), never
from crmcore's output.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._periods import (
    PERIOD_UNITS,
    parse_period_unit,
    period_expr,
    period_numbers,
    period_start,
)
from crmcore.exceptions import ValidationError

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

EPOCH = dt.date(1970, 1, 1)
WEEK0 = dt.date(1969, 12, 29)  # the Monday of the week holding the epoch


def reference(value: dt.datetime | dt.date, unit: str) -> int:
    """Period number from the standard library only (wall-clock fields of `value`)."""
    day = dt.date(value.year, value.month, value.day)
    if unit == "D":
        return day.toordinal() - EPOCH.toordinal()
    if unit == "h":
        hour = value.hour if isinstance(value, dt.datetime) else 0
        return 24 * (day.toordinal() - EPOCH.toordinal()) + hour
    if unit == "W":
        iso_year, iso_week, _ = day.isocalendar()
        monday = dt.date.fromisocalendar(iso_year, iso_week, 1)
        span = monday.toordinal() - WEEK0.toordinal()
        assert span % 7 == 0
        return span // 7
    if unit == "M":
        return (value.year - 1970) * 12 + value.month - 1
    if unit == "Q":
        return (value.year - 1970) * 4 + (value.month - 1) // 3
    assert unit == "Y"
    return value.year - 1970


def expr_numbers(native: Any, unit: str) -> list[int]:
    """period_expr on a native one-column ("t") frame, as a list."""
    frame = nw.from_native(native)
    out = frame.select(period_expr("t", unit).alias("p"))
    if isinstance(out, nw.LazyFrame):
        out = out.collect()
    return [int(v) for v in out["p"].to_list()]


def backends(series: pd.Series) -> dict[str, Any]:
    frame = pd.DataFrame({"t": series})
    return {
        "pandas": frame,
        "polars": pl.from_pandas(frame),
        "polars-lazy": pl.from_pandas(frame).lazy(),
        "pyarrow": pa.Table.from_pandas(frame, preserve_index=False),
    }


# ---------------------------------------------------------------- hand-worked values
# Derivations: 1970-01-01 is day 0 (a Thursday); 1972..2020 hold 13 leap days, so 2024-01-01
# is day 54 * 365 + 13 = 19723; 2024-12-30 is ordinal day 365 of 2024, day 19723 + 364 = 20087,
# a Monday, in week (20087 + 3) / 7 = 2870, and it starts ISO week 2025-W01. Week 0 runs
# Monday 1969-12-29 to Sunday 1970-01-04; Sunday 1969-12-28 is in week -1.
HAND: list[tuple[str, str, int]] = [
    ("1970-01-01", "D", 0),
    ("1969-12-31", "D", -1),
    ("1969-12-31 23:59:59.999999", "D", -1),
    ("2024-01-01", "D", 19_723),
    ("2024-12-30", "D", 20_087),
    ("1900-03-01", "D", -25_508),  # 70 years * 365 + 17 leap days (1904..1968) = 25567; -25567 + 59
    ("1970-01-01 00:00", "h", 0),
    ("1969-12-31 23:00", "h", -1),
    ("1970-01-02 05:30", "h", 29),
    ("2024-01-01 13:00", "h", 19_723 * 24 + 13),
    ("1969-12-29", "W", 0),
    ("1970-01-04 23:00", "W", 0),
    ("1969-12-28", "W", -1),
    ("1970-01-05", "W", 1),
    ("2024-12-30", "W", 2870),
    ("2025-01-05", "W", 2870),  # Sunday ending ISO week 2025-W01
    ("2024-12-29", "W", 2869),  # Sunday ending ISO week 2024-W52
    ("1970-01-01", "M", 0),
    ("1969-12-31", "M", -1),
    ("2024-03-31", "M", 54 * 12 + 2),
    ("1900-01-15", "M", -70 * 12),
    ("2024-01-01", "Q", 216),
    ("2024-03-31 23:59", "Q", 216),
    ("2024-04-01", "Q", 217),
    ("1969-12-31", "Q", -1),
    ("1969-10-01", "Q", -1),
    ("1969-09-30", "Q", -2),
    ("1970-06-30", "Y", 0),
    ("1969-12-31", "Y", -1),
    ("2024-02-29", "Y", 54),
]


@pytest.mark.parametrize(("stamp", "unit", "expected"), HAND)
def test_hand_worked_period_numbers_on_every_twin_and_backend(
    stamp: str, unit: str, expected: int
) -> None:
    ts = pd.Timestamp(stamp)
    assert reference(ts.to_pydatetime(), unit) == expected  # the reference agrees by hand
    values = np.array([ts.to_datetime64()], dtype="datetime64[ns]")
    assert period_numbers(values, unit).tolist() == [expected]
    for name, native in backends(pd.Series([ts], dtype="datetime64[ns]")).items():
        assert expr_numbers(native, unit) == [expected], name


def test_iso_week_label_of_a_week_is_that_of_its_monday() -> None:
    days = np.array(["2024-12-30", "2025-01-01", "2025-01-05"], dtype="datetime64[D]")
    weeks = period_numbers(days, "W")
    assert weeks.tolist() == [2870, 2870, 2870]
    monday = pd.Timestamp(period_start(weeks[:1], "W")[0])
    assert monday == pd.Timestamp("2024-12-30")
    assert tuple(monday.isocalendar()) == (2025, 1, 1)


def test_negative_numbers_floor_rather_than_truncate_before_1970() -> None:
    # truncation toward zero would put 1969-12-31 in day 0, 1969-12-28 in week 0 and
    # 1969-12 in month 0
    t = np.array(["1969-12-31T12:00", "1969-12-28T00:00"], dtype="datetime64[ns]")
    assert period_numbers(t, "D").tolist() == [-1, -4]
    assert period_numbers(t, "W").tolist() == [0, -1]
    assert period_numbers(t, "h").tolist() == [-12, -96]
    assert period_numbers(t, "M").tolist() == [-1, -1]
    assert period_numbers(t, "Q").tolist() == [-1, -1]


# ---------------------------------------------------------------- twins equal (Hypothesis)
NS_FIRST, NS_LAST = dt.datetime(1678, 1, 1), dt.datetime(2261, 12, 31)


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(st.datetimes(NS_FIRST, NS_LAST), min_size=1, max_size=40),
    unit=st.sampled_from(PERIOD_UNITS),
    resolution=st.sampled_from(["s", "ms", "us", "ns"]),
)
def test_numpy_twin_and_expression_equal_the_reference_on_naive_datetimes(
    stamps: list[dt.datetime], unit: str, resolution: str
) -> None:
    expected = [reference(s, unit) for s in stamps]
    series = pd.Series(stamps, dtype="datetime64[ns]").astype(np.dtype(f"datetime64[{resolution}]"))
    assert period_numbers(series.to_numpy(), unit).tolist() == expected
    assert period_numbers(series, unit).tolist() == expected
    assert (
        period_numbers(series.to_numpy().astype("datetime64[ns]").view(np.int64), unit).tolist()
        == expected
    )
    for name, native in backends(series).items():
        if name.startswith("polars") and resolution == "s":
            native = pl.from_pandas(series.astype("datetime64[ms]").to_frame("t"))
        assert expr_numbers(native, unit) == expected, name


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@settings(max_examples=40, deadline=None)
@given(
    instants=st.lists(
        st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2037, 12, 31)),
        min_size=1,
        max_size=30,
    ),
    zone=st.sampled_from(ZONES),
    unit=st.sampled_from(PERIOD_UNITS),
)
def test_tz_aware_values_are_numbered_on_their_own_wall_clock(
    instants: list[dt.datetime], zone: str, unit: str
) -> None:
    # up to 2037: pandas' zone database (pytz) has no transitions after 2037, zoneinfo does
    utc = [i.replace(tzinfo=dt.timezone.utc) for i in instants]
    expected = [reference(u.astimezone(ZoneInfo(zone)), unit) for u in utc]
    series = pd.Series(pd.DatetimeIndex(utc)).dt.tz_convert(zone)
    assert period_numbers(series, unit).tolist() == expected
    assert period_numbers(pd.DatetimeIndex(series), unit).tolist() == expected
    assert period_numbers(pl.from_pandas(series), unit).tolist() == expected
    for name, native in backends(series).items():
        assert expr_numbers(native, unit) == expected, name


@pytest.mark.parametrize("unit", ["D", "W", "M", "Q", "Y"])
def test_date_columns_and_date_objects_number_like_midnights(unit: str) -> None:
    days = [dt.date(1969, 12, 28), dt.date(1970, 1, 1), dt.date(2024, 2, 29)]
    expected = [reference(d, unit) for d in days]
    assert period_numbers(days, unit).tolist() == expected
    assert period_numbers(np.array(days, dtype="datetime64[D]"), unit).tolist() == expected
    assert expr_numbers(pl.DataFrame({"t": days}), unit) == expected
    assert expr_numbers(pa.table({"t": pa.array(days, pa.date32())}), unit) == expected


def test_expression_keeps_nulls_as_nulls() -> None:
    frame = nw.from_native(pl.DataFrame({"t": [dt.datetime(2024, 1, 1), None]}))
    assert frame.select(period_expr("t", "D"))["t"].to_list() == [19_723, None]


def test_expression_accepts_an_expression_and_a_long_unit_name() -> None:
    frame = nw.from_native(pd.DataFrame({"t": pd.to_datetime(["2024-05-01"])}))
    got = frame.select(period_expr(nw.col("t"), "quarters").alias("q"))["q"].to_list()
    assert got == [217]  # 2024Q2: (2024 - 1970) * 4 + 1


# ---------------------------------------------------------------- inverse
@settings(max_examples=60, deadline=None)
@given(data=st.data(), unit=st.sampled_from(PERIOD_UNITS))
def test_period_start_inverts_period_numbers(data: st.DataObject, unit: str) -> None:
    # every start in 1677-09-21 00:12:43 .. 2262-04-11 23:47:16 (the ns range): hours
    # +-2_562_047.79, days +-106_751.99; weeks start on day 7n - 3; 1677-10 and 2262-04 are
    # months -3507 and 3507, 1677Q4 and 2262Q2 quarters -1169 and 1169; years 1678..2262
    bounds = {
        "h": (-2_562_047, 2_562_047),
        "D": (-106_751, 106_751),
        "W": (-15_249, 15_250),
        "M": (-3_507, 3_507),
        "Q": (-1_169, 1_169),
        "Y": (-292, 292),
    }
    lo, hi = bounds[unit]
    numbers = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=30)))
    starts = period_start(numbers, unit)
    assert starts.dtype == np.dtype("datetime64[ns]")
    assert period_numbers(starts, unit).tolist() == numbers.tolist()
    # the start is the first instant: one nanosecond earlier is the previous period
    before = starts - np.timedelta64(1, "ns")
    assert period_numbers(before, unit).tolist() == (numbers - 1).tolist()


@pytest.mark.parametrize(
    ("number", "unit", "start"),
    [
        (0, "W", "1969-12-29"),
        (2870, "W", "2024-12-30"),
        (-1, "D", "1969-12-31"),
        (29, "h", "1970-01-02 05:00"),
        (0, "M", "1970-01-01"),
        (650, "M", "2024-03-01"),
        (216, "Q", "2024-01-01"),
        (-1, "Q", "1969-10-01"),
        (54, "Y", "2024-01-01"),
    ],
)
def test_period_start_hand_values(number: int, unit: str, start: str) -> None:
    assert period_start([number], unit).tolist() == [pd.Timestamp(start).value]


def test_period_start_refuses_starts_outside_the_nanosecond_range() -> None:
    with pytest.raises(ValidationError, match=r"1 of 2 'Y' period numbers .*first numbers: 300"):
        period_start([0, 300], "Y")
    with pytest.raises(ValidationError, match="first numbers: -106752"):
        period_start([-106_752], "D")  # 1677-09-21: its midnight is before the range
    with pytest.raises(ValidationError, match="must be integers"):
        period_start([1.5], "D")
    assert period_start(np.array([3.0]), "D").tolist() == [3 * 86_400 * 10**9]


# ---------------------------------------------------------------- units and errors
@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("h", "h"), ("D", "D"), ("W", "W"), ("M", "M"), ("Q", "Q"), ("Y", "Y"),
        ("hour", "h"), ("Hours", "h"), ("day", "D"), ("days", "D"), ("WEEK", "W"),
        ("weeks", "W"), ("month", "M"), ("months", "M"), ("quarter", "Q"),
        ("quarters", "Q"), ("year", "Y"), ("years", "Y"),
    ],
)  # fmt: skip
def test_unit_aliases(alias: str, code: str) -> None:
    assert parse_period_unit(alias) == code


@pytest.mark.parametrize("bad", ["m", "d", "w", "H", "7D", "minute", "", None, 7])
def test_unknown_units_are_refused_with_the_choices(bad: Any) -> None:
    with pytest.raises(ValidationError, match=r"'time_unit' parameter of period_numbers .*'Y'"):
        parse_period_unit(bad)
    with pytest.raises(ValidationError):
        period_expr("t", bad)


def test_allowed_restricts_the_units() -> None:
    with pytest.raises(ValidationError, match="btyd_summary must be one of 'h', 'D', 'W', 'M'"):
        parse_period_unit("quarter", allowed=("h", "D", "W", "M"), who="btyd_summary")


def test_missing_values_are_reported_with_count_and_positions() -> None:
    t = np.array(["2024-01-01", "NaT", "2024-01-03", "NaT"], dtype="datetime64[ns]")
    with pytest.raises(ValidationError, match=r"date has 2 missing values \(NaT\) of 4 .*: 1, 3"):
        period_numbers(t, "D", name="date")


@pytest.mark.parametrize(
    "values", [np.array(["2024-01-01"]), ["2024-01-01"], np.array([1.5]), [object()]]
)
def test_non_datetimes_are_refused(values: Any) -> None:
    with pytest.raises(ValidationError, match="must hold datetimes"):
        period_numbers(values, "D")


def test_input_is_not_mutated_and_shape_is_kept() -> None:
    t = np.array([["2024-01-01", "1969-12-31"]], dtype="datetime64[ns]")
    copy = t.copy()
    assert period_numbers(t, "D").tolist() == [[19_723, -1]]
    np.testing.assert_array_equal(t, copy)
