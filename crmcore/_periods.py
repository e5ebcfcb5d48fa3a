"""The period clock: datetimes as integer hour, day, week, month, quarter or year numbers.

Every module that groups dates by calendar period numbers them here, so a period means the
same thing everywhere (a BTYD summary, an RFM table, a cohort table, a pipeline roll-up or a
service calendar). Two twins with one meaning, tested equal:

- :func:`period_expr` builds a narwhals expression (pandas, Polars, PyArrow, and lazy
  engines), for frame functions that stay on their engine;
- :func:`period_numbers` works on numpy arrays, for the array kernels of eager frames;

plus the inverse :func:`period_start` and the unit parser :func:`parse_period_unit`.

The clock
---------
One epoch for every unit: **1970-01-01 00:00** (a Thursday) on the values' wall clock.

========  =====================================================================
unit      period number ``n``
========  =====================================================================
``"h"``   whole hours since 1970-01-01 00:00 (``n = 24 * day + hour``)
``"D"``   whole days since 1970-01-01 (1969-12-31 is day -1)
``"W"``   Monday-to-Sunday weeks (ISO 8601 weeks); week 0 is the week of Monday
          1969-12-29, which holds the epoch (``n = floor((day + 3) / 7)``)
``"M"``   calendar months; month 0 is January 1970 (``n = 12 (year - 1970) + month - 1``)
``"Q"``   calendar quarters; quarter 0 is 1970Q1 (``n = 4 (year - 1970) + (month - 1) // 3``)
``"Y"``   calendar years; year 0 is 1970
========  =====================================================================

Decisions (for the engineer who wires a new call site):

- **Weeks are anchored on the Monday on or before the epoch** (1969-12-29), so week numbers
  are consecutive integers whose weeks are exactly the ISO 8601 weeks (and pandas' ``"W-SUN"``
  periods); 2024-12-30, the Monday of ISO week 2025-W01, starts week 2870. The ISO *label*
  (year, week) of a week is that of its start: ``period_start(n, "W")`` then
  ``.isocalendar()``. Numbering by ISO (year, week) pairs instead would make week arithmetic
  depend on 52- and 53-week years.
- **Time zones: the wall clock of the values' own zone.** A tz-aware value is numbered by the
  date and hour its own zone shows (a purchase at 23:30 in Berlin is on that Berlin day), as
  the order-log edge (:func:`crmcore._validation.coerce_datetime_column`) already does when it
  drops the zone, and as narwhals' ``dt.year`` / ``dt.ordinal_day`` / ``dt.hour`` read it on
  every backend. UTC would put an evening purchase in Sydney on the previous day. A caller
  that wants another zone's calendar (e.g. a service desk's, or UTC for a Spark session)
  converts the column first; canonical frames (:mod:`crmcore.frames`) hold UTC, whose wall
  clock is UTC. Consequence for hours: across a daylight-saving change a local hour number
  can repeat (fall back) or be skipped (spring forward).
- **Integer arithmetic on non-negative operands only.** The expression counts days from
  0001-01-01 (a Monday) by year and ordinal day and floor-divides only non-negative numbers,
  so engines whose integer division truncates toward zero give the same numbers for dates
  before 1970. No ``dt.timestamp`` (see DESIGN.md), no ``over()``.
- **Range.** The expression is exact for years 1 to 9999; the numpy twin for every
  ``datetime64`` value. :func:`period_start` returns ``datetime64[ns]`` (1677-09-22 to
  2262-04-11) and refuses numbers outside it.

Examples
--------
>>> import numpy as np
>>> from crmcore._periods import period_numbers, period_start
>>> days = np.array(["1969-12-31", "1970-01-01", "2024-12-30"], dtype="datetime64[D]")
>>> period_numbers(days, "D").tolist(), period_numbers(days, "W").tolist()
([-1, 0, 20087], [0, 0, 2870])
>>> period_start(np.array([216]), "Q")
array(['2024-01-01T00:00:00.000000000'], dtype='datetime64[ns]')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import narwhals.stable.v1 as nw
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import format_ids
from crmcore.exceptions import ValidationError

__all__ = [
    "DATE_UNIT",
    "PERIOD_UNITS",
    "parse_period_unit",
    "period_expr",
    "period_numbers",
    "period_start",
    "with_period_start",
]

#: Canonical unit codes, finest first.
PERIOD_UNITS: Final[tuple[str, ...]] = ("h", "D", "W", "M", "Q", "Y")

_LONG_NAMES: Final[dict[str, str]] = {
    "hour": "h",
    "day": "D",
    "week": "W",
    "month": "M",
    "quarter": "Q",
    "year": "Y",
}
# days from 0001-01-01 (day 0, a Monday) to 1970-01-01, and whole weeks in between
_EPOCH_DAY: Final = 719_162
_EPOCH_WEEK: Final = _EPOCH_DAY // 7  # 102_737: 0001-01-01 + 7 * 102_737 days = 1969-12-29
_NS_PER: Final[dict[str, int]] = {"h": 3_600 * 10**9, "D": 86_400 * 10**9}
_TICK_NS: Final[dict[str, int]] = {
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_INT64_MIN: Final = -(2**63) + 1  # -2**63 is NaT
_INT64_MAX: Final = 2**63 - 1


def parse_period_unit(
    unit: Any,
    *,
    allowed: Sequence[str] = PERIOD_UNITS,
    name: str = "time_unit",
    who: str = "period_numbers",
) -> str:
    """Return the canonical code (``"h"``, ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``) of `unit`.

    Parameters
    ----------
    unit : str
        A code as the package's public functions accept it (``"h"``, ``"D"``, ``"W"``,
        ``"M"``, ``"Q"``, ``"Y"``; case-sensitive, so ``"M"`` month never meets pandas'
        ``"m"``/``"min"`` minute) or a long name, singular or plural, any case
        (``"day"``, ``"Weeks"``, ``"quarter"``).
    allowed : sequence of str, default all six codes
        The codes the caller supports (e.g. ``("h", "D", "W", "M")`` for ``btyd_summary``).
    name, who : str
        Parameter and function named in the error message.

    Returns
    -------
    str
        One of `allowed`.

    Raises
    ------
    ValidationError
        If `unit` is not a str naming one of `allowed`. Multiples such as ``"7D"`` are
        lengths, not calendar periods (see :func:`crmcore.value._clv.unit_in_days`).

    Examples
    --------
    >>> parse_period_unit("W"), parse_period_unit("months"), parse_period_unit("Quarter")
    ('W', 'M', 'Q')
    >>> parse_period_unit("Q", allowed=("h", "D", "W", "M"), who="btyd_summary")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: The 'time_unit' parameter of btyd_summary must be one of 'h', 'D', 'W', 'M' (or hour, day, week, month, plural allowed). Got 'Q' instead.
    """  # noqa: E501
    code: str | None = None
    if isinstance(unit, str):
        if unit in PERIOD_UNITS:
            code = unit
        else:
            word = unit.strip().lower()
            code = _LONG_NAMES.get(word[:-1] if word.endswith("s") else word)
    if code is None or code not in allowed:
        codes = ", ".join(repr(u) for u in allowed)
        words = ", ".join(w for w, c in _LONG_NAMES.items() if c in allowed)
        raise ValidationError(
            f"The {name!r} parameter of {who} must be one of {codes} (or {words}, plural "
            f"allowed). Got {unit!r} instead."
        )
    return code


def period_expr(column: str | nw.Expr, unit: str) -> nw.Expr:
    """Integer period numbers of a date or datetime column, as a narwhals expression.

    The expression twin of :func:`period_numbers` (same numbers, tested on pandas, Polars
    and PyArrow); see the module docstring for the clock.

    Parameters
    ----------
    column : str or narwhals.Expr
        A Date or Datetime column (naive, or tz-aware: numbered on its own wall clock).
        ``"h"`` needs a Datetime.
    unit : str
        ``"h"``, ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"`` or a long name
        (:func:`parse_period_unit`).

    Returns
    -------
    narwhals.Expr
        Int64 period numbers from 1970-01-01; null where the input is null. Call
        ``.alias(...)`` to name it.

    Raises
    ------
    ValidationError
        For an unknown `unit`.

    Notes
    -----
    Built from ``dt.year``, ``dt.month``, ``dt.ordinal_day`` and ``dt.hour`` only, with
    integer arithmetic: day ``d = 365 y + y // 4 - y // 100 + y // 400 + ordinal - 1 -
    719162`` with ``y = year - 1`` (proleptic Gregorian; computed as ``1461 y // 4 -
    (3 (y // 100) + 3) // 4``, the same number), week ``(d + 719162) // 7 - 102737``,
    hour ``24 d + hour``; every floor division has a non-negative operand for years 1 to 9999.
    On eager frames the numpy twin is the fast path (about 2x the speed of this expression on
    Polars, more on pandas); lazy engines eliminate the repeated ``dt.year``.

    Examples
    --------
    >>> import narwhals.stable.v1 as nw
    >>> import pandas as pd
    >>> frame = nw.from_native(pd.DataFrame({"t": pd.to_datetime(["1969-12-31 23:00",
    ...                                                            "2024-03-31 10:00"])}))
    >>> frame.select(d=period_expr("t", "D"), w=period_expr("t", "W"),
    ...              m=period_expr("t", "month")).to_native()
           d     w    m
    0     -1     0   -1
    1  19813  2830  650
    """
    code = parse_period_unit(unit, who="period_expr")
    col = nw.col(column) if isinstance(column, str) else column
    year = col.dt.year().cast(nw.Int64)
    if code == "Y":
        return year - 1970
    if code in ("M", "Q"):
        month0 = col.dt.month().cast(nw.Int64) - 1
        if code == "M":
            return (year - 1970) * 12 + month0
        return (year - 1970) * 4 + month0 // 3
    # days from 0001-01-01 to 1 January of `year`: 365 y + y // 4 - y // 100 + y // 400 with
    # y = year - 1, written with two references to the year instead of four (each is a pass
    # over the column on engines without common-subexpression elimination)
    y = year - 1
    from_0001 = (y * 1461) // 4 - (y // 100 * 3 + 3) // 4 + col.dt.ordinal_day().cast(nw.Int64) - 1
    if code == "W":
        return from_0001 // 7 - _EPOCH_WEEK
    day = from_0001 - _EPOCH_DAY
    if code == "D":
        return day
    return day * 24 + col.dt.hour().cast(nw.Int64)


def _wall_clock(values: Any, *, name: str, who: str) -> npt.NDArray[np.datetime64]:
    """`values` as a datetime64 array on their own wall clock (tz-aware: zone dropped)."""
    if isinstance(values, pd.Index):
        if isinstance(values, pd.DatetimeIndex) and values.tz is not None:
            values = values.tz_localize(None)
        arr = np.asarray(values)
    elif isinstance(values, np.ndarray):
        arr = values
    else:
        series = nw.from_native(values, series_only=True, pass_through=True)
        if isinstance(series, nw.Series):
            dtype = series.dtype
            if isinstance(dtype, nw.Datetime) and dtype.time_zone is not None:
                series = series.dt.replace_time_zone(None)
            arr = np.asarray(series.to_numpy())
        else:
            arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "M":
        return arr
    if kind in "iu":
        return np.asarray(arr.astype(np.int64, copy=False).view("datetime64[ns]"))
    if kind == "O" and pd.api.types.infer_dtype(arr.ravel(), skipna=True) in (
        "date",
        "datetime",
        "datetime64",
    ):
        try:
            index = pd.DatetimeIndex(arr.ravel())
        except (TypeError, ValueError) as exc:  # mixed zones
            raise ValidationError(
                f"{who}: {name} mixes time zones or tz-aware and naive values "
                f"({str(exc).splitlines()[0][:80]}). Hint: convert every value to one zone first."
            ) from None
        if index.tz is not None:
            index = index.tz_localize(None)
        return np.asarray(index.to_numpy()).reshape(arr.shape)
    raise ValidationError(
        f"{who}: {name} must hold datetimes (datetime64, int64 nanoseconds since 1970-01-01, "
        f"or date/datetime objects); got dtype {arr.dtype} (first values: "
        f"{format_ids(arr.ravel()[:2].tolist())}). Hint: parse strings with a date format first."
    )


def _floor_to(arr: npt.NDArray[np.datetime64], base: str) -> npt.NDArray[np.int64]:
    """Whole hours or days (`base` ``"h"`` or ``"D"``) since 1970-01-01, floored.

    Integer floor division on the raw ticks: numpy's own ``astype("datetime64[D]")`` overflows
    for ``datetime64[ns]`` values within a day of the lower end of the range (1677-09-21/22
    come out as 2262-04-11; numpy 2.4).
    """
    unit, count = np.datetime_data(arr.dtype)
    tick = _TICK_NS.get(unit, 0) * count
    if tick and _NS_PER[base] % tick == 0:
        return np.floor_divide(arr.view(np.int64), _NS_PER[base] // tick)
    return np.asarray(arr.astype(f"datetime64[{base}]").view(np.int64))


def period_numbers(
    values: Any, unit: str, *, name: str = "values", who: str = "period_numbers"
) -> npt.NDArray[np.int64]:
    """Integer period numbers of datetimes, as a numpy array (the twin of :func:`period_expr`).

    Parameters
    ----------
    values : array-like of datetimes
        ``datetime64`` of any resolution; int64 nanoseconds since 1970-01-01 (wall clock);
        a pandas, Polars or PyArrow series or a pandas index (tz-aware values numbered on
        their own wall clock, as :func:`period_expr` does); or date/datetime objects.
    unit : str
        ``"h"``, ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"`` or a long name.
    name, who : str
        The column and function named in error messages.

    Returns
    -------
    numpy.ndarray of int64
        Period numbers from 1970-01-01, same shape as `values`.

    Raises
    ------
    ValidationError
        For an unknown `unit`, values that are not datetimes, or missing values (NaT; an
        int64 array cannot hold them; the message gives the count and first positions).

    Notes
    -----
    Days ``D`` and hours are floor divisions of the raw ticks (so also before 1970, and
    without numpy's overflow near 1677-09-21), weeks ``floor((D + 3) / 7)``, months and
    years numpy's calendar conversion of the days, quarters ``floor(M / 3)``. A narwhals or
    pandas ``to_numpy()`` of a tz-aware column gives UTC instants: pass the series itself.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> t = np.array(["1969-12-31T23:00", "2024-03-31T10:00"], dtype="datetime64[ns]")
    >>> period_numbers(t, "D").tolist(), period_numbers(t, "W").tolist()
    ([-1, 19813], [0, 2830])
    >>> period_numbers(t, "M").tolist(), period_numbers(t, "h").tolist()
    ([-1, 650], [-1, 475522])
    >>> utc = pd.Series(pd.to_datetime(["2024-03-31 23:30"])).dt.tz_localize("UTC")
    >>> berlin = utc.dt.tz_convert("Europe/Berlin")  # 01:30 on 1 April in Berlin
    >>> period_numbers(utc, "D").tolist(), period_numbers(berlin, "D").tolist()
    ([19813], [19814])
    """
    code = parse_period_unit(unit, who=who)
    arr = _wall_clock(values, name=name, who=who)
    missing = np.isnat(arr)
    if missing.any():
        positions = np.flatnonzero(missing.ravel())
        raise ValidationError(
            f"{who}: {name} has {positions.size:,} missing values (NaT) of {arr.size:,} "
            f"(first positions: {format_ids(positions.tolist())}); a period number needs a "
            "date. Hint: drop or fill them first."
        )
    out: npt.NDArray[np.int64]
    if code == "h":
        out = _floor_to(arr, "h")
    else:
        days = _floor_to(arr, "D")
        if code == "D":
            out = days
        elif code == "W":
            out = np.floor_divide(days + 3, 7)
        elif code == "Y":
            out = days.view("datetime64[D]").astype("datetime64[Y]").view(np.int64)
        else:
            months = days.view("datetime64[D]").astype("datetime64[M]").view(np.int64)
            out = months if code == "M" else np.floor_divide(months, 3)
    return np.asarray(out, dtype=np.int64)


def period_start(numbers: Any, unit: str, *, who: str = "period_start") -> npt.NDArray[Any]:
    """First instant of each numbered period, as naive ``datetime64[ns]`` (wall clock).

    The inverse of :func:`period_numbers`: ``period_numbers(period_start(n, u), u) == n``.

    Parameters
    ----------
    numbers : int or array-like of int
        Period numbers from :func:`period_numbers` or :func:`period_expr`.
    unit : str
        ``"h"``, ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"`` or a long name.
    who : str
        The function named in error messages.

    Returns
    -------
    numpy.ndarray of datetime64[ns]
        Midnight of the first day of the period (the hour itself for ``"h"``; the Monday for
        ``"W"``), same shape as `numbers`.

    Raises
    ------
    ValidationError
        For an unknown `unit`, non-integer numbers, or a start outside the ``datetime64[ns]``
        range (1677-09-22 to 2262-04-11), with the count and first offending numbers.

    Examples
    --------
    >>> period_start([0, -1, 2870], "W")
    array(['1969-12-29T00:00:00.000000000', '1969-12-22T00:00:00.000000000',
           '2024-12-30T00:00:00.000000000'], dtype='datetime64[ns]')
    >>> period_start([0, 650], "M")
    array(['1970-01-01T00:00:00.000000000', '2024-03-01T00:00:00.000000000'],
          dtype='datetime64[ns]')
    """
    code = parse_period_unit(unit, who=who)
    raw = np.asarray(numbers)
    if raw.dtype.kind not in "iu":
        whole = raw.dtype.kind == "f" and bool(np.all(np.isfinite(raw) & (raw == np.floor(raw))))
        if not whole:
            raise ValidationError(
                f"{who}: period numbers must be integers; got dtype {raw.dtype} (first values: "
                f"{format_ids(raw.ravel()[:2].tolist())})."
            )
    n = raw.astype(np.int64)
    # start in hours (for "h") or days, as int64 counted from 1970-01-01
    base = "h" if code == "h" else "D"
    if code == "Y":
        start = np.clip(n, -(10**6), 10**6).astype("datetime64[Y]").astype("datetime64[D]")
    elif code in ("M", "Q"):
        months = np.clip(n, -(10**7), 10**7) * (3 if code == "Q" else 1)
        start = months.astype("datetime64[M]").astype("datetime64[D]")
    elif code == "W":
        start = (np.clip(n, -(10**15), 10**15) * 7 - 3).astype("datetime64[D]")
    else:
        start = n.astype(f"datetime64[{base}]")
    ticks = start.view(np.int64)
    step = _NS_PER[base]
    lo, hi = -(-_INT64_MIN // step), _INT64_MAX // step
    bad = (ticks < lo) | (ticks > hi)
    if bad.any():
        raise ValidationError(
            f"{who}: {int(bad.sum()):,} of {bad.size:,} {code!r} period numbers start outside "
            f"the datetime64[ns] range 1677-09-22 to 2262-04-11 (first numbers: "
            f"{format_ids(n[bad].ravel().tolist())})."
        )
    return np.asarray((ticks * step).view("datetime64[ns]"))


#: The resolution pandas gives parsed dates (``ns`` in pandas 2, ``us`` in pandas 3). Result
#: tables labelled with period starts use it, so that they compare equal to frames the caller
#: builds with ``pandas.to_datetime``.
DATE_UNIT: Final[str] = str(pd.to_datetime(["2000-01-01"]).unit)


def with_period_start(frame: Any, column: str, unit: str, *, name: str) -> Any:
    """Add the start date of each numbered period as a Date column, on the frame's engine.

    The expression-side inverse of :func:`period_expr` (:func:`period_start` is the numpy
    one), for lazy results labelled by period (cohorts, purchase-history periods).

    Parameters
    ----------
    frame : narwhals DataFrame or LazyFrame
        Any narwhals frame (pandas, Polars, PyArrow, Polars lazy, DuckDB, Spark, Dask).
    column : str
        An integer column of period numbers of `unit` (``"D"``, ``"W"``, ``"M"``, ``"Q"``,
        ``"Y"`` or a long name).
    unit : str
        Their unit.
    name : str
        The new column: the first day of each period (the Monday for ``"W"``), dtype Date.

    Returns
    -------
    narwhals DataFrame or LazyFrame
        `frame` with `name` added (the same kind of frame).

    Raises
    ------
    ValidationError
        For an unknown `unit` or ``"h"`` (an hour does not start on a date boundary).

    Notes
    -----
    Built from integer arithmetic and one string parse, which every engine has (no
    ``dt.truncate`` to months, which Dask lacks; no integer-to-date cast, which DuckDB and
    Spark refuse): months, quarters and years give the year and month directly; a day (a
    week's Monday is day ``7 n - 3``) gives its civil date by H. Hinnant's
    ``civil_from_days`` (400-year eras, March-based years), each step a column of its own
    so that an engine without common-subexpression elimination does not expand the nested
    expression (DuckDB spent minutes planning the one-expression form). The date is
    written as the integer ``yyyymmdd``, cast to text and parsed with ``"%Y%m%d"``; years
    1000 to 9999.

    Examples
    --------
    >>> import narwhals.stable.v1 as nw
    >>> import pandas as pd
    >>> frame = nw.from_native(pd.DataFrame({"w": [0, 2870], "m": [0, 650]}))
    >>> out = with_period_start(frame, "w", "W", name="week")
    >>> out = with_period_start(out, "m", "M", name="month")
    >>> [str(d)[:10] for d in out["week"].to_list()], [str(d)[:10] for d in out["month"].to_list()]
    (['1969-12-29', '2024-12-30'], ['1970-01-01', '2024-03-01'])
    """
    code = parse_period_unit(unit, allowed=("D", "W", "M", "Q", "Y"), who="with_period_start")
    n = nw.col(column)
    temps = ["__z__", "__era__", "__doe__", "__yoe__", "__doy__", "__mp__"]
    if code in ("M", "Q", "Y"):
        months = n * {"M": 1, "Q": 3, "Y": 12}[code]
        frame = frame.with_columns(
            ((months // 12 + 1970) * 10_000 + (months % 12 + 1) * 100 + 1).alias("__key__")
        )
    else:
        day = n * 7 - 3 if code == "W" else n
        # civil_from_days: z counts days from 0000-03-01; every operand below is >= 0
        frame = frame.with_columns((day + 719_468).alias("__z__"))
        frame = frame.with_columns((nw.col("__z__") // 146_097).alias("__era__"))
        frame = frame.with_columns((nw.col("__z__") - nw.col("__era__") * 146_097).alias("__doe__"))
        doe = nw.col("__doe__")
        frame = frame.with_columns(
            ((doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365).alias("__yoe__")
        )
        yoe = nw.col("__yoe__")
        frame = frame.with_columns((doe - (yoe * 365 + yoe // 4 - yoe // 100)).alias("__doy__"))
        doy = nw.col("__doy__")
        frame = frame.with_columns(((doy * 5 + 2) // 153).alias("__mp__"))
        mp = nw.col("__mp__")
        year = yoe + nw.col("__era__") * 400 + mp // 10
        month = (mp + 2) % 12 + 1
        day_of_month = doy - (mp * 153 + 2) // 5 + 1
        frame = frame.with_columns(
            (year * 10_000 + month * 100 + day_of_month).alias("__key__")
        ).drop(*temps)
    start = nw.col("__key__").cast(nw.String).str.to_datetime("%Y%m%d").cast(nw.Date)
    return frame.with_columns(start.alias(name)).drop("__key__")
