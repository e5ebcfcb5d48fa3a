"""Validation helpers shared by every algorithm (the frame edge).

Every public function of crmcore that takes a frame validates it with these helpers,
so that bad input gets the same kind of error everywhere: a :class:`~crmcore.CRMError`
that names the function, the column, the rule, the count and the first offending ids.

The helpers accept pandas, Polars and PyArrow frames through narwhals; nothing is
imported that the caller did not use. None of them mutates its input.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, cast

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd

from crmcore.exceptions import ColumnNotFoundError, InvalidTransition, ValidationError

__all__ = [
    "as_narwhals",
    "check_no_duplicates",
    "check_no_missing",
    "check_param_choice",
    "check_param_number",
    "check_single_currency",
    "coerce_datetime_column",
    "coerce_timestamp",
    "fail_for_ids",
    "first_ids",
    "format_ids",
    "nearest_name",
    "parse_or_raise",
    "random_generator",
    "require_columns",
    "to_pandas",
]

_MAX_IDS = 5

# rule texts carried by the errors' `rule` field (listed in crmcore.exceptions)
_RULE_COLUMN = "column must exist"
_RULE_MISSING = "column must not have missing values"
_RULE_UNIQUE = "key must be unique"
_RULE_CURRENCY = "amounts must be in one currency"
_RULE_ISO = "date strings must be ISO 8601"
_RULE_FORMAT = "dates must match date_format"
_RULE_DATES = "column must hold dates"
_RULE_ZONES = "one time zone per column"
_RULE_NUMBERS = "column must hold numbers"
_RULE_FINITE = "numbers must be finite"
_RULE_FRAME = "input must be a DataFrame"
_RULE_PARAM = "parameter must have the documented type"
_RULE_CHOICE = "parameter must be one of the choices"
_RULE_RANGE = "parameter must be a number in range"


def format_ids(ids: Iterable[Any], *, limit: int = _MAX_IDS) -> str:
    """Format the first `limit` ids of `ids` for an error message.

    Examples
    --------
    >>> format_ids(["a", "b", "c", "d", "e", "f", "g"])
    'a, b, c, d, e, ...'
    >>> format_ids([1, 2])
    '1, 2'

    Raises
    ------
    ValidationError
        If `ids` is not iterable or `limit` is not a non-negative int.
    """
    check_param_number("limit", limit, who="format_ids", low=0, integer=True)
    if not isinstance(ids, Iterable):
        raise ValidationError(
            f"The 'ids' parameter of format_ids must be an iterable of ids. "
            f"Got {ids!r} ({type(ids).__name__}) instead.",
            rule=_RULE_PARAM,
        )
    shown: list[str] = []
    more = False
    for i, value in enumerate(ids):
        if i >= limit:
            more = True
            break
        shown.append(str(value))
    return ", ".join(shown) + (", ..." if more else "")


def first_ids(ids: Iterable[Any], *, limit: int = _MAX_IDS) -> tuple[Any, ...]:
    """The first `limit` ids of `ids` as a tuple of Python values (an error's ``first_ids``).

    The same ids :func:`format_ids` prints, unformatted: numpy numbers, booleans and
    strings become Python scalars (``numpy.int64(7)`` -> ``7``) so that ERP code compares
    them with its own ids; ``datetime64`` values are kept as they are.

    Examples
    --------
    >>> import numpy as np
    >>> first_ids(np.array([7, 8, 9, 10, 11, 12]))
    (7, 8, 9, 10, 11)
    >>> first_ids(["a"], limit=0)
    ()
    """
    out: list[Any] = []
    for i, value in enumerate(ids):
        if i >= limit:
            break
        plain = isinstance(value, np.number | np.bool_ | np.str_ | np.bytes_)
        out.append(value.item() if plain else value)
    return tuple(out)


def fail_for_ids(
    who: str,
    rule: str,
    ids: Any,
    *,
    noun: str,
    hint: str = "",
    column: str | None = None,
    kind: type[ValidationError] | type[InvalidTransition] = ValidationError,
) -> NoReturn:
    """Raise `kind` for the records whose ids break `rule`, counting each id once.

    The message reads ``"{who}: {rule}; {n} {noun} break this rule (first ids: ...)."``
    (plus ``" Hint: {hint}"``); the error's ``rule``, ``column``, ``count`` and
    ``first_ids`` fields are filled from the same unique ids (in order of first appearance).

    Examples
    --------
    >>> try:
    ...     fail_for_ids("f", "amount must be positive", ["a", "b", "a"], noun="orders")
    ... except ValidationError as err:
    ...     print(err, err.count, err.first_ids)
    f: amount must be positive; 2 orders break this rule (first ids: a, b). 2 ('a', 'b')
    """
    unique = pd.unique(np.asarray(ids, dtype=object))
    text = (
        f"{who}: {rule}; {len(unique):,} {noun} break this rule (first ids: {format_ids(unique)})."
    )
    raise kind(
        f"{text} Hint: {hint}" if hint else text,
        rule=rule,
        column=column,
        count=len(unique),
        first_ids=first_ids(unique),
    )


def parse_or_raise(
    parse: Callable[[Any], Any], value: Any, types: tuple[type, ...], message: str
) -> Any:
    """``parse(value)`` when `value` is one of `types` and parses; else a ValidationError.

    A value of another type, a parse that raises ``TypeError``, ``ValueError`` or
    ``OverflowError``, and one that gives ``NaT`` are all refused with `message`, which the
    caller writes so that a parameter's error text stays where it is documented.

    Examples
    --------
    >>> parse_or_raise(pd.Timedelta, "4h", (str,), "x must be a duration.")
    Timedelta('0 days 04:00:00')
    >>> parse_or_raise(pd.Timestamp, "NaT", (str,), "f: x must be a date.")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: f: x must be a date.
    """
    out: Any = pd.NaT
    if isinstance(value, types):
        try:
            out = parse(value)
        except (TypeError, ValueError, OverflowError):
            out = pd.NaT
    if out is pd.NaT:
        raise ValidationError(message)
    return out


def nearest_name(name: str, candidates: Sequence[str]) -> str | None:
    """Return the candidate closest to `name` (case-insensitive), or None.

    Examples
    --------
    >>> nearest_name("customer", ["Customer_ID", "order_date", "revenue"])
    'Customer_ID'
    >>> nearest_name("zzz", ["a", "b"]) is None
    True

    Raises
    ------
    ValidationError
        If `name` is not a string or `candidates` is not an iterable of names.
    """
    if not isinstance(name, str):
        raise ValidationError(
            f"The 'name' parameter of nearest_name must be a str. "
            f"Got {name!r} ({type(name).__name__}) instead.",
            rule=_RULE_PARAM,
        )
    candidates = _column_names(candidates, "candidates", "nearest_name", any_label=True)
    lowered = {str(c).lower(): str(c) for c in candidates}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    if match:
        return lowered[match[0]]
    for low, original in lowered.items():
        if name.lower() in low or low in name.lower():
            return original
    return None


def as_narwhals(data: Any, *, who: str) -> nw.DataFrame[Any]:
    """Wrap a pandas, Polars or PyArrow frame as an eager narwhals DataFrame.

    Raises
    ------
    ValidationError
        If `data` is not a dataframe narwhals understands.
    """
    if isinstance(data, nw.DataFrame):
        return data
    try:
        return nw.from_native(data, eager_only=True)
    except TypeError:
        from narwhals import dependencies as nw_deps

        lazy = (
            nw_deps.is_polars_lazyframe(data)
            or nw_deps.is_duckdb_relation(data)
            or nw_deps.is_pyspark_dataframe(data)
            or nw_deps.is_pyspark_connect_dataframe(data)
            or nw_deps.is_dask_dataframe(data)
            or nw_deps.is_narwhals_lazyframe(data)
        )
        detail = (
            " (a lazy frame: this function runs in memory; the order-log aggregations "
            "rfm_table, btyd_summary, cohort_table, ... accept lazy frames. Hint: collect "
            "the frame first, e.g. .collect() on Polars, .df() on DuckDB, .toPandas() on Spark)"
            if lazy
            else ""
        )
        raise ValidationError(
            f"{who}: expected a pandas, Polars or PyArrow DataFrame; got "
            f"{type(data).__name__}{detail}.",
            rule=_RULE_FRAME,
        ) from None


def to_pandas(data: Any, *, who: str) -> pd.DataFrame:
    """Return `data` as a pandas DataFrame (a pandas input is returned as is, not copied).

    Callers must not mutate the result in place when it may be the caller's frame.

    Examples
    --------
    >>> import pandas as pd
    >>> to_pandas(pd.DataFrame({"a": [1]}), who="demo").shape
    (1, 1)
    """
    if isinstance(data, pd.DataFrame):
        return data
    frame = as_narwhals(data, who=who)
    native = frame.to_pandas()
    assert isinstance(native, pd.DataFrame)
    return native


def _columns_of(data: Any) -> list[str]:
    if isinstance(data, pd.DataFrame):
        return [str(c) for c in data.columns]
    if isinstance(data, nw.DataFrame):
        return list(data.columns)
    # PyArrow tables: `.columns` holds the column arrays, `.column_names` the names
    cols = getattr(data, "column_names", None)
    if cols is None:
        cols = getattr(data, "columns", None)
    if cols is None:
        return []
    return [str(c) for c in cols]


def _column_names(columns: Any, name: str, who: str, *, any_label: bool = False) -> list[Any]:
    """`columns` as a list: one str is one name; anything but an iterable is refused.

    Unless `any_label`, every item must be a hashable label (not a list, dict, None or NaN).
    """
    if isinstance(columns, str):
        return [columns]
    if not isinstance(columns, Iterable) or isinstance(columns, bytes | dict):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a list of column names. "
            f"Got {columns!r} ({type(columns).__name__}) instead.",
            rule=_RULE_PARAM,
        )
    out = list(columns)
    if not any_label:
        bad = [
            c
            for c in out
            if c is None
            or isinstance(c, list | dict | set)
            or (isinstance(c, float) and math.isnan(c))
        ]
        if bad:
            raise ValidationError(
                f"The {name!r} parameter of {who} must be a list of column names; "
                f"{len(bad)} items are not names (first: {format_ids(repr(c) for c in bad)}).",
                rule=_RULE_PARAM,
                count=len(bad),
                first_ids=first_ids(bad),
            )
    return out


def _has_column(data: Any, column: Any) -> bool:
    if isinstance(data, pd.DataFrame):
        try:
            return bool(column in data.columns)
        except TypeError:  # unhashable label
            return False
    return isinstance(column, str) and column in _columns_of(data)


def _require_column_labels(data: Any, columns: list[Any], *, who: str) -> None:
    """Like require_columns, but a pandas frame may have non-string labels (e.g. ints)."""
    missing = [c for c in columns if not _has_column(data, c)]
    if missing:
        require_columns(data, [str(c) for c in missing], who=who)
        raise ColumnNotFoundError(  # a str(label) that exists but is not the label itself
            f"{who}: column {missing[0]!r} not found. "
            f"Available columns: {', '.join(_columns_of(data))}.",
            rule=_RULE_COLUMN,
            column=str(missing[0]),
            count=len(missing),
        )


def require_columns(data: Any, columns: Iterable[str], *, who: str, col_args: bool = True) -> None:
    """Raise :class:`ColumnNotFoundError` unless every column in `columns` exists.

    All missing columns are reported at once, with the columns that exist and the
    nearest existing name for each missing one. This is crmcore's one "missing column"
    message: the algorithms and the entity conversions of :mod:`crmcore.frames` use it.

    Parameters
    ----------
    data : DataFrame
        A pandas, Polars or PyArrow frame (or a narwhals one).
    columns : iterable of str
        The required columns (one str is one column).
    who : str
        The calling function, for the message.
    col_args : bool, default True
        Whether `who` takes ``*_col`` arguments naming these columns. The hint then
        names the argument to pass (``customer_col='customer'``); with False (fixed
        column names, e.g. ``frame_to_orders``) it names the column to rename.

    Raises
    ------
    ColumnNotFoundError
        With ``rule="column must exist"``, ``column`` the first missing column and
        ``count`` the number of missing columns.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer": [1], "date": ["2024-01-01"]})
    >>> require_columns(frame, ["customer_id", "date"], who="rfm_table")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ColumnNotFoundError: rfm_table: column 'customer_id' not found (did you mean 'customer'?). Available columns: customer, date. Hint: pass customer_col='customer'.
    """  # noqa: E501
    available = _columns_of(data)
    missing = [str(c) for c in _column_names(columns, "columns", who) if str(c) not in available]
    if not missing:
        return
    parts = []
    hints = []
    for col in missing:
        near = nearest_name(col, available)
        if near is not None:
            parts.append(f"column {col!r} not found (did you mean {near!r}?)")
            hints.append(f"{_role_keyword(col)}={near!r}" if col_args else f"{near!r} to {col!r}")
        else:
            parts.append(f"column {col!r} not found")
    message = f"{who}: " + "; ".join(parts) + f". Available columns: {', '.join(available)}."
    if hints:
        message += (" Hint: pass " if col_args else " Hint: rename ") + ", ".join(hints) + "."
    raise ColumnNotFoundError(message, rule=_RULE_COLUMN, column=missing[0], count=len(missing))


def _role_keyword(column: str) -> str:
    canonical = {
        "customer_id": "customer_col",
        "date": "date_col",
        "amount": "amount_col",
        "frequency": "frequency_col",
        "recency": "recency_col",
        "T": "T_col",
        "monetary_value": "monetary_value_col",
        "currency": "currency_col",
        "order_id": "order_col",
    }
    return canonical.get(column, f"the {column!r} column's *_col argument")


def _missing_mask(frame: nw.DataFrame[Any], column: str) -> nw.Expr:
    expr = nw.col(column).is_null()
    dtype = frame.schema[column]
    if dtype.is_float():
        expr = expr | nw.col(column).is_nan()
    return expr


def check_no_missing(
    data: Any,
    columns: Iterable[str],
    *,
    who: str,
    id_col: str | None = None,
) -> None:
    """Raise :class:`ValidationError` if any of `columns` holds null or NaN values.

    The message gives, for every offending column, the count and the first row labels
    (or the first values of `id_col` when given). All columns are checked before raising.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": ["a", None, "c", None]}, index=[10, 11, 12, 13])
    >>> check_no_missing(frame, ["customer_id"], who="rfm_table")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: rfm_table: column 'customer_id' has 2 missing values (first rows: 11, 13). Hint: drop or fill them before calling.
    """  # noqa: E501
    columns = _column_names(columns, "columns", who)
    _require_column_labels(data, columns, who=who)
    if id_col is not None and not _has_column(data, id_col):
        id_col = None  # report row positions instead
    problems = []
    first: tuple[str, int, tuple[Any, ...]] | None = None  # the fields: first bad column
    if isinstance(data, pd.DataFrame):
        for col in columns:
            mask = data[col].isna().to_numpy()
            count = int(mask.sum())
            if count:
                if id_col is not None and id_col != col:
                    bad_ids = data.loc[mask, id_col].iloc[: _MAX_IDS + 1]
                    label = "first ids"
                else:
                    bad_ids = data.index[mask][: _MAX_IDS + 1]
                    label = "first rows"
                first = first or (str(col), count, first_ids(bad_ids))
                problems.append(
                    f"column {col!r} has {count:,} missing values ({label}: {format_ids(bad_ids)})"
                )
    else:
        frame = as_narwhals(data, who=who)
        frame = frame.with_row_index("__row__")
        for col in columns:
            bad = frame.filter(_missing_mask(frame, col))
            count = len(bad)
            if count:
                if id_col is not None and id_col != col:
                    values = bad[id_col].head(_MAX_IDS + 1).to_list()
                    label = "first ids"
                else:
                    values = bad["__row__"].head(_MAX_IDS + 1).to_list()
                    label = "first rows"
                first = first or (str(col), count, first_ids(values))
                problems.append(
                    f"column {col!r} has {count:,} missing values ({label}: {format_ids(values)})"
                )
    if first is not None:
        raise ValidationError(
            f"{who}: " + "; ".join(problems) + ". Hint: drop or fill them before calling.",
            rule=_RULE_MISSING,
            column=first[0],
            count=first[1],
            first_ids=first[2],
        )


def check_no_duplicates(data: Any, columns: Sequence[str], *, who: str) -> None:
    """Raise :class:`ValidationError` if rows repeat on `columns` (a key).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"order_id": ["o1", "o2", "o1", "o3", "o3"]})
    >>> check_no_duplicates(frame, ["order_id"], who="orders")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: orders: 2 rows repeat the key (order_id) of an earlier row (first duplicated keys: o1, o3).
    """  # noqa: E501
    columns = _column_names(columns, "columns", who)
    if not columns:
        raise ValidationError(
            f"The 'columns' parameter of {who} must name at least one key column. Got [] instead.",
            rule=_RULE_PARAM,
        )
    _require_column_labels(data, columns, who=who)
    pdf = to_pandas(data, who=who)
    mask = pdf.duplicated(subset=list(columns), keep="first").to_numpy()
    count = int(mask.sum())
    if count:
        keys = pdf.loc[mask, list(columns)]
        keys_out: list[Any] = (
            keys.iloc[: _MAX_IDS + 1, 0].tolist()
            if len(columns) == 1
            else [
                first_ids(r, limit=len(columns))
                for r in keys.iloc[: _MAX_IDS + 1].itertuples(index=False)
            ]
        )
        ids = format_ids(keys_out)
        raise ValidationError(
            f"{who}: {count:,} rows repeat the key ({', '.join(map(str, columns))}) of an "
            "earlier row "
            f"(first duplicated keys: {ids}).",
            rule=_RULE_UNIQUE,
            column=str(columns[0]),
            count=count,
            first_ids=first_ids(keys_out),
        )


def check_single_currency(data: Any, currency_col: str = "currency", *, who: str) -> str | None:
    """Return the one currency in `currency_col`; raise if several are present.

    Returns None when the column is absent (amounts are then taken as one currency).

    Examples
    --------
    >>> import pandas as pd
    >>> check_single_currency(pd.DataFrame({"currency": ["EUR", "EUR"]}), who="rfm_table")
    'EUR'
    >>> check_single_currency(pd.DataFrame({"currency": ["EUR", "USD", "USD"]}), who="rfm_table")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: rfm_table: amounts are in 2 currencies (EUR: 1 rows, USD: 2 rows); analytics need one. Hint: convert with crmcore.ExchangeRates.convert_frame(frame, to=...) first.
    """  # noqa: E501
    if currency_col not in _columns_of(data):
        return None
    pdf = to_pandas(data, who=who)
    counts = pdf[currency_col].value_counts(dropna=False)
    # sort by the text of each code: a stray number among the codes must not break sorting
    counts = counts.iloc[np.argsort(np.array([str(k) for k in counts.index]), kind="stable")]
    if len(counts) > 1:
        detail = ", ".join(f"{k}: {v:,} rows" for k, v in counts.items())
        raise ValidationError(
            f"{who}: amounts are in {len(counts)} currencies ({detail}); analytics need one. "
            "Hint: convert with crmcore.ExchangeRates.convert_frame(frame, to=...) first.",
            rule=_RULE_CURRENCY,
            column=str(currency_col),
            count=len(counts),
            first_ids=first_ids(counts.index),
        )
    return None if counts.empty else str(counts.index[0])


_ISO_HINT = (
    'Hint: pass date_format="%d/%m/%Y" (day first), date_format="%m/%d/%Y" (month first) '
    "or the layout your export uses; crmcore reads one format for a whole column and never "
    "guesses per row."
)


def coerce_timestamp(
    value: Any, *, name: str, who: str, date_format: str | None = None
) -> pd.Timestamp:
    """Coerce a scalar date (ISO string, date, datetime, numpy or pandas) to a naive Timestamp.

    A tz-aware value keeps its wall-clock time in its own zone (the zone is dropped),
    the same rule :func:`coerce_datetime_column` applies to columns. A string must be
    ISO 8601 (``"2011-12-09"``, ``"2011-12-09T10:00"``) or match `date_format`: a string such
    as ``"10/12/2011"`` reads as 10 December or 12 October depending on convention, so it
    is refused rather than guessed. Numbers are refused (an integer is not a date).

    Raises
    ------
    ValidationError
        If `value` is not a date, or is a string that is neither ISO 8601 nor in
        `date_format`.

    Examples
    --------
    >>> coerce_timestamp("2006-12-31", name="as_of", who="rfm_table")
    Timestamp('2006-12-31 00:00:00')
    >>> coerce_timestamp("31/12/2006", name="as_of", who="rfm_table", date_format="%d/%m/%Y")
    Timestamp('2006-12-31 00:00:00')
    >>> coerce_timestamp("10/12/2011", name="as_of", who="rfm_table")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: rfm_table: as_of='10/12/2011' is not an ISO 8601 date ...
    """
    if isinstance(value, str):
        ts: Any = pd.NaT
        for fmt in ("ISO8601",) if date_format is None else ("ISO8601", date_format):
            try:
                ts = pd.to_datetime(value, format=fmt)
                break
            except (TypeError, ValueError, OverflowError):
                continue
        if ts is pd.NaT:
            layout = "ISO 8601" if date_format is None else f"ISO 8601 or {date_format!r}"
            raise ValidationError(
                f"{who}: {name}={value!r} is not an ISO 8601 date"
                + ("" if date_format is None else f" nor in date_format={date_format!r}")
                + f" (a string is read as {layout} only: '10/12/2011' could be 10 December "
                "or 12 October). Hint: pass an ISO date such as '2011-12-10', a "
                "datetime.date or a pandas Timestamp.",
                rule=_RULE_ISO if date_format is None else _RULE_FORMAT,
            )
    elif isinstance(value, (_dt.date, np.datetime64, pd.Timestamp)):
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(
                f"{who}: {name} must be a date or datetime; "
                f"got {value!r} ({type(value).__name__}).",
                rule=_RULE_DATES,
            ) from exc
    else:
        raise ValidationError(
            f"{who}: {name} must be a date, datetime, pandas Timestamp or ISO 8601 string; "
            f"got {value!r} ({type(value).__name__}).",
            rule=_RULE_DATES,
        )
    if ts is pd.NaT:
        raise ValidationError(
            f"{who}: {name} must be a date or datetime; got a missing value.", rule=_RULE_DATES
        )
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return cast(pd.Timestamp, ts)


def coerce_datetime_column(
    data: Any, column: str, *, who: str, date_format: str | None = None
) -> Any:
    """Return a copy of `data` (same backend) whose `column` is a naive datetime column.

    One rule for every function that reads dates:

    - datetime columns are used as they are; tz-aware values in one zone keep their
      wall-clock time in that zone (the zone dropped: a purchase on the evening of 3 March in
      New York is a 3 March purchase); Python ``date`` / ``datetime`` objects likewise;
    - a **string** column is parsed with **one** format for the whole column: `date_format`
      (``strftime`` codes, e.g. ``"%d/%m/%Y"``) when given, else ISO 8601. A column of
      ``"01/12/2010"``-style strings is never read element by element with two
      conventions: without `date_format` it is refused with examples and a hint;
    - a numeric column (e.g. ``19970101``) is read only with `date_format` (``"%Y%m%d"``);
    - mixed time zones (or zone-aware mixed with naive values) are refused; every row is
      checked, vectorised.

    The input is not modified.

    Raises
    ------
    ValidationError
        If values cannot be parsed with the one format (count, first rows and examples
        given), the dtype is not a date, or time zones are mixed.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"date": ["2024-01-05", "2024-02-01"]})
    >>> out = coerce_datetime_column(frame, "date", who="demo")
    >>> str(out["date"].dtype).startswith("datetime64")
    True
    >>> frame["date"].dtype == object or str(frame["date"].dtype) in ("str", "string")
    True
    >>> day_first = pd.DataFrame({"date": ["01/12/2010", "13/12/2010"]})
    >>> coerce_datetime_column(day_first, "date", who="demo", date_format="%d/%m/%Y")["date"]
    0   2010-12-01
    1   2010-12-13
    Name: date, dtype: datetime64[...]
    >>> coerce_datetime_column(day_first, "date", who="demo")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: demo: column 'date' holds 2 strings that are not ISO 8601 dates ...
    """  # noqa: E501
    if date_format is not None and not isinstance(date_format, str):
        raise ValidationError(
            f"The 'date_format' parameter of {who} must be a strftime string such as "
            f"'%d/%m/%Y' or None. Got {date_format!r} instead.",
            rule=_RULE_PARAM,
        )
    if not isinstance(data, pd.DataFrame):
        data = as_narwhals(data, who=who).to_native()
    _require_column_labels(data, [column], who=who)
    if isinstance(data, pd.DataFrame):
        parsed_column = _coerce_pandas_dates(data[column], column, who, date_format)
        out = data.copy(deep=False)  # a new frame: the caller's frame keeps its column
        out[column] = parsed_column
        return out
    frame = as_narwhals(data, who=who)
    dtype = frame.schema[column]
    if dtype == nw.Date:
        frame = frame.with_columns(nw.col(column).cast(nw.Datetime("us")))
    elif isinstance(dtype, nw.Datetime):
        if dtype.time_zone is not None:
            frame = frame.with_columns(nw.col(column).dt.replace_time_zone(None))
    elif dtype == nw.String or dtype.is_numeric() or dtype == nw.Object:
        # parse on pandas with the one-format rule, then hand the column back
        parsed = _coerce_pandas_dates(frame[column].to_pandas(), column, who, date_format)
        values = np.asarray(parsed.to_numpy(dtype="datetime64[us]"))
        series = nw.new_series(
            column,
            values,
            nw.Datetime("us"),
            native_namespace=nw.get_native_namespace(frame),
        )
        frame = frame.with_columns(series)
    else:
        raise ValidationError(
            f"{who}: column {column!r} must hold dates or datetimes; got dtype {dtype}.",
            rule=_RULE_DATES,
            column=str(column),
        )
    return frame.to_native()


def _coerce_pandas_dates(
    series: pd.Series[Any], column: str, who: str, date_format: str | None = None
) -> pd.Series[Any]:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return cast("pd.Series[Any]", series.dt.tz_localize(None))
    if pd.api.types.is_datetime64_dtype(dtype):
        return series
    if pd.api.types.is_bool_dtype(dtype):
        raise ValidationError(
            f"{who}: column {column!r} must hold dates or datetimes; got dtype {dtype}.",
            rule=_RULE_DATES,
            column=str(column),
        )
    if pd.api.types.is_numeric_dtype(dtype):
        if date_format is None:
            raise ValidationError(
                f"{who}: column {column!r} holds numbers (dtype {dtype}), not dates "
                f"(first values: {format_ids(series.head(2))}). Hint: for numbers such as "
                'yyyymmdd pass date_format="%Y%m%d", or convert the column to dates first.',
                rule=_RULE_DATES,
                column=str(column),
            )
        ints = pd.to_numeric(series, errors="coerce")
        whole = ints.notna() & (ints == np.floor(ints))
        text = pd.Series(np.where(whole, ints.astype("float64"), np.nan), index=series.index)
        series = text.map(lambda v: None if v != v else str(int(v)))
        dtype = series.dtype
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("datetime", "datetime64", "date"):
        try:
            parsed = pd.to_datetime(series)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(
                f"{who}: column {column!r} mixes time zones (or zone-aware and naive "
                f"values), e.g. {_zone_examples(series)}. Hint: convert every value to one "
                "zone (e.g. UTC) first.",
                rule=_RULE_ZONES,
                column=str(column),
            ) from exc
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        return cast("pd.Series[Any]", parsed)
    if kind not in ("string", "empty"):
        raise ValidationError(
            f"{who}: column {column!r} must hold dates, datetimes or date strings; it holds "
            f"{kind} values (first values: {format_ids(series.head(2))}).",
            rule=_RULE_DATES,
            column=str(column),
        )
    fmt = "ISO8601" if date_format is None else date_format
    try:
        parsed = pd.to_datetime(series, format=fmt, errors="coerce")
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(
            f"{who}: column {column!r} holds date strings with different time-zone offsets "
            f"({exc}). Hint: convert them to one zone (e.g. UTC) first.",
            rule=_RULE_ZONES,
            column=str(column),
        ) from exc
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    bad = (parsed.isna().to_numpy() & series.notna().to_numpy()).astype(bool)
    if bad.any():
        examples = ", ".join(repr(v) for v in series[bad].astype(str).unique()[:2])
        where = f"first rows: {format_ids(series.index[bad])}"
        fields: dict[str, Any] = {
            "column": str(column),
            "count": int(bad.sum()),
            "first_ids": first_ids(series.index[bad]),
        }
        if date_format is None:
            raise ValidationError(
                f"{who}: column {column!r} holds {int(bad.sum()):,} strings that are not ISO "
                f"8601 dates (e.g. {examples}; {where}). {_ISO_HINT}",
                rule=_RULE_ISO,
                **fields,
            )
        raise ValidationError(
            f"{who}: column {column!r} has {int(bad.sum()):,} values that do not match "
            f"date_format={date_format!r} (e.g. {examples}; {where}).",
            rule=_RULE_FORMAT,
            **fields,
        )
    return cast("pd.Series[Any]", parsed)


def _zone_examples(series: pd.Series[Any]) -> str:
    """Up to three distinct zones among the first 10,000 values (for the message only)."""
    zones: list[str] = []
    for v in series.dropna().iloc[:10_000]:
        z = str(getattr(v, "tzinfo", None))
        if z not in zones:
            zones.append(z)
        if len(zones) == 3:
            break
    return ", ".join(zones)


def check_param_choice(name: str, value: Any, choices: Sequence[Any], *, who: str) -> None:
    """Raise :class:`ValidationError` unless `value` is one of `choices`.

    Examples
    --------
    >>> check_param_choice("method", "fancy", ["quantile", "fixed"], who="rfm_scores")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: The 'method' parameter of rfm_scores must be one of 'quantile', 'fixed'. Got 'fancy' instead.
    """  # noqa: E501
    if isinstance(choices, str) or not isinstance(choices, Iterable):
        raise ValidationError(
            f"The 'choices' parameter of check_param_choice must be a collection of options. "
            f"Got {choices!r} ({type(choices).__name__}) instead.",
            rule=_RULE_PARAM,
        )
    choices = list(choices)
    try:
        known = value in choices
    except (TypeError, ValueError):  # e.g. an array compared element-wise
        known = False
    if not known:
        options = ", ".join(repr(c) for c in choices)
        raise ValidationError(
            f"The {name!r} parameter of {who} must be one of {options}. Got {value!r} instead.",
            rule=_RULE_CHOICE,
        )


def check_param_number(
    name: str,
    value: Any,
    *,
    who: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
) -> None:
    """Raise :class:`ValidationError` unless `value` is a number in the given range.

    The message follows scikit-learn: "The 'bins' parameter of rfm_scores must be an
    int in the range [2, inf). Got 1 instead."

    Examples
    --------
    >>> check_param_number("bins", 1, who="rfm_scores", low=2, integer=True)
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: The 'bins' parameter of rfm_scores must be an int in the range [2, inf). Got 1 instead.
    """  # noqa: E501
    for bound_name, bound in (("low", low), ("high", high)):
        if bound is not None and (
            isinstance(bound, bool)
            or not isinstance(bound, numbers.Real)
            or math.isnan(float(bound))
        ):
            raise ValidationError(
                f"The {bound_name!r} parameter of check_param_number must be a number or None. "
                f"Got {bound!r} ({type(bound).__name__}) instead.",
                rule=_RULE_PARAM,
            )
    kind = "an int" if integer else "a number"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "[" if (low is not None and low_inclusive) else "("
    right = "]" if (high is not None and high_inclusive) else ")"
    message = (
        f"The {name!r} parameter of {who} must be {kind} in the range {left}{lo}, {hi}{right}. "
        f"Got {value!r} instead."
    )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(message, rule=_RULE_RANGE)
    if integer and not isinstance(value, (numbers.Integral, np.integer)):
        raise ValidationError(message, rule=_RULE_RANGE)
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64: beyond every finite bound too
        v = math.inf if cast("Any", value) > 0 else -math.inf
    if math.isnan(v):
        raise ValidationError(message, rule=_RULE_RANGE)
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise ValidationError(message, rule=_RULE_RANGE)
    if high is not None and (v > high or (v == high and not high_inclusive)):
        raise ValidationError(message, rule=_RULE_RANGE)


def exact_scale(values: Any) -> float:
    """A power of two close above max |values| (1.0 for none, zero or non-finite max).

    Dividing by it is exact (no rounding, barring subnormal results) and brings every value
    into (-2, 2), so sums of amounts near 1e308 can be taken without overflow and scaled back.

    Examples
    --------
    >>> exact_scale([3.0, -5.0])
    4.0
    >>> exact_scale([1.7e308]) == 2.0**1023
    True
    """
    arr = np.abs(np.asarray(values, dtype=np.float64))
    biggest = float(arr.max()) if arr.size else 0.0
    if not math.isfinite(biggest) or biggest == 0.0:
        return 1.0
    _, exponent = math.frexp(biggest)  # biggest = m * 2**exponent, 0.5 <= m < 1
    return math.ldexp(1.0, exponent - 1)


# ---------------------------------------------------------------------------------------
# numeric coercion (issue 8: comma-decimal amounts, text in numeric columns)
# ---------------------------------------------------------------------------------------

__all__ += ["check_random_state", "coerce_number_series"]

_COMMA_DECIMAL_HINT = (
    "Hint: amounts written with a decimal comma ('12,50') must be converted first, e.g. "
    "pd.read_csv(..., decimal=',') or s.str.replace('.', '').str.replace(',', '.')"
    ".astype(float)."
)


def _looks_comma_decimal(value: object) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip().replace(".", "").replace(" ", "").lstrip("+-")
    head, sep, tail = text.partition(",")
    return bool(sep) and head.isdigit() and tail.isdigit()


def coerce_number_series(
    series: Any,
    *,
    name: str,
    who: str,
    ids: Any = None,
    allow_missing: bool = False,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Return the values of a numeric column as float64, or raise a clear ValidationError.

    Numeric and boolean-free object columns (Python numbers, ``None``) are accepted; text
    is never parsed silently: a column holding strings is rejected with the count, the
    first offending rows (or `ids`) and values, and a ``decimal=','`` hint when the text
    looks like comma-decimal amounts. Booleans, dates and values that are not finite
    (NaN/None unless `allow_missing`, and +-inf always) are rejected too.

    Parameters
    ----------
    series : pandas.Series or array-like
        The column.
    name : str
        Column (or parameter) name for the message.
    who : str
        Calling function, for the message.
    ids : array-like, optional
        Labels to report instead of the series index (e.g. customer ids).
    allow_missing : bool, default False
        Keep NaN/None as NaN instead of raising.

    Returns
    -------
    numpy.ndarray of float64

    Raises
    ------
    ValidationError
        Text, booleans, dates, missing (unless allowed) or infinite values.

    Examples
    --------
    >>> import pandas as pd
    >>> coerce_number_series(pd.Series([1, 2.5]), name="amount", who="demo").tolist()
    [1.0, 2.5]
    >>> coerce_number_series(pd.Series(["12,50", "3"]), name="amount", who="demo")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: demo: column 'amount' must hold numbers; 2 values are text (first rows: 0, 1; first values: '12,50', '3'). Hint: amounts written with a decimal comma ('12,50') must be converted first, e.g. pd.read_csv(..., decimal=',') or s.str.replace('.', '').str.replace(',', '.').astype(float).
    """  # noqa: E501
    s = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series, dtype=object))
    labels = s.index if ids is None else pd.Index(np.asarray(ids, dtype=object))
    label = "first rows" if ids is None else "first ids"
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValidationError(
            f"{who}: column {name!r} must hold numbers; got booleans.",
            rule=_RULE_NUMBERS,
            column=str(name),
        )
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        values = s.to_numpy(dtype=object)
        bad = np.fromiter(
            (
                not (v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)))
                and not (isinstance(v, float) or v is pd.NA)
                for v in values
            ),
            dtype=bool,
            count=len(values),
        )
        if bad.any():
            shown = format_ids(repr(v) for v in values[bad])
            message = (
                f"{who}: column {name!r} must hold numbers; {int(bad.sum()):,} values are "
                f"{'text' if any(isinstance(v, str) for v in values[bad]) else 'not numbers'} "
                f"({label}: {format_ids(labels[bad])}; first values: {shown})."
            )
            if any(_looks_comma_decimal(v) for v in values[bad]):
                message += " " + _COMMA_DECIMAL_HINT
            elif any(isinstance(v, str) for v in values[bad]):
                message += " Hint: convert the column with pd.to_numeric first."
            raise ValidationError(
                message,
                rule=_RULE_NUMBERS,
                column=str(name),
                count=int(bad.sum()),
                first_ids=first_ids(labels[bad]),
            )
        arr = np.array(
            [np.nan if (v is None or v is pd.NA) else float(v) for v in values], dtype=np.float64
        )
    else:
        raise ValidationError(
            f"{who}: column {name!r} must hold numbers; got dtype {dtype}.",
            rule=_RULE_NUMBERS,
            column=str(name),
        )
    nonfinite = ~np.isfinite(arr)
    if allow_missing:
        nonfinite &= ~np.isnan(arr)
    if nonfinite.any():
        raise ValidationError(
            f"{who}: {int(nonfinite.sum()):,} values are missing or infinite in column {name!r} "
            f"({label}: {format_ids(labels[nonfinite])}). Hint: drop or fill them before calling.",
            rule=_RULE_FINITE,
            column=str(name),
            count=int(nonfinite.sum()),
            first_ids=first_ids(labels[nonfinite]),
        )
    return arr


def check_random_state(random_state: Any, *, who: str) -> None:
    """Raise ValidationError unless `random_state` is None, an int >= 0 or a Generator."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return
    if (
        isinstance(random_state, (int, np.integer))
        and not isinstance(random_state, bool)
        and 0 <= int(random_state) < 2**128
    ):
        return
    raise ValidationError(
        f"The 'random_state' parameter of {who} must be None, an int in the range [0, 2**128) "
        f"or a numpy.random.Generator. Got {random_state!r} instead."
    )


def random_generator(random_state: Any, *, who: str) -> np.random.Generator:
    """`random_state` checked by :func:`check_random_state`, as a numpy Generator.

    A Generator is returned as it is (draws advance the caller's stream); None or an int
    seeds a new ``numpy.random.default_rng``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> random_generator(rng, who="f") is rng
    True
    >>> float(random_generator(7, who="f").random()) == float(np.random.default_rng(7).random())
    True
    """
    check_random_state(random_state, who=who)
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)
