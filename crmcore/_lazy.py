"""Order logs that live in the caller's engine: Polars LazyFrame, DuckDB, Spark, Dask.

The lazy twin of :mod:`crmcore._orderlog`. A function that accepts a lazy frame reads it
through :func:`read_order_log_lazy`, which applies the **same rules** as
:func:`~crmcore._orderlog.read_order_log` and :func:`~crmcore._orderlog.exclude_after`
(purchase statuses, one currency, no missing values, no placeholder ids, no infinite
amounts, negative amounts counted, dates parsed with one format, rows after the cut-off
counted and dropped) and returns the purchase rows as a lazy frame of the caller's
engine. The checks run **on the engine**: one grouped count of (status, currency) and one
aggregate row of counts are collected, both a handful of values whatever the size of the
log; a third small query names the first offending ids only when a rule is broken.

Everything here is written with narwhals expressions (its stable v2 API, which treats a
DuckDB relation as a lazy frame; v1 treats it as an interchange-level frame): ``filter``,
``select``, ``with_columns``, ``group_by``, ``join``, casts and string / date accessors, no
``over()``, no ``dt.timestamp``, no ``dt.total_*`` (Spark lacks them). No engine is
imported here: a frame is recognised with :mod:`narwhals.dependencies`, which only looks
at modules the caller has already imported.

Dates on a lazy engine:

- a Date column is used as midnight datetimes; a naive Datetime as it is; a tz-aware
  Datetime on its own wall clock (the zone dropped), as in memory;
- a **string** column needs ``date_format`` (one ``strftime`` layout for the whole column,
  parsed on the engine); rows it cannot parse are refused with their count. Without
  ``date_format`` a string column is refused: the in-memory reader's ISO 8601 sniffing
  needs the values in Python, and a lazy engine should not ship them there;
- Spark: run the session in UTC (``spark.sql.session.timeZone=UTC``). Spark keeps
  timestamps as instants and shows them in the session's zone, so a naive timestamp can
  land on another day in a non-UTC session (measured: New York shifted 01:30 to 20:30 of
  the previous day).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import narwhals.stable.v2 as nw2
import pandas as pd
from narwhals import dependencies as nw_deps

from crmcore._orderlog import (
    PLACEHOLDER_IDS,
    PLACEHOLDER_RULE,
    _check_statuses,
    columns_read,
    cutoff_bound,
    infinite_amounts_error,
)
from crmcore._validation import (
    first_ids,
    format_ids,
    require_columns,
)
from crmcore.exceptions import CRMWarning, ValidationError

__all__ = [
    "as_lazy",
    "collect_pandas",
    "engine_name",
    "lazy_only_option",
    "read_order_log_lazy",
    "stacked",
]

_MAX_IDS = 5
_FORMAT_HINT = "Hint: check the layout (%d/%m/%Y is day first, %m/%d/%Y month first)."


def as_lazy(data: Any) -> nw2.LazyFrame[Any] | None:
    """The narwhals LazyFrame of a lazy native frame, or None for anything else.

    Lazy frames are Polars ``LazyFrame``, DuckDB relations, PySpark (classic and Connect)
    and SQLFrame DataFrames, Dask DataFrames, and narwhals LazyFrames. Eager frames
    (pandas, Polars ``DataFrame``, PyArrow) give None: they take the in-memory path.

    Examples
    --------
    >>> import pandas as pd
    >>> as_lazy(pd.DataFrame({"a": [1]})) is None
    True
    """
    if isinstance(data, nw2.LazyFrame):
        return data
    if nw_deps.is_narwhals_lazyframe(data):
        data = data.to_native()
    checks = (
        nw_deps.is_polars_lazyframe,
        nw_deps.is_duckdb_relation,
        nw_deps.is_pyspark_dataframe,
        nw_deps.is_pyspark_connect_dataframe,
        nw_deps.is_sqlframe_dataframe,
        nw_deps.is_dask_dataframe,
    )
    if any(check(data) for check in checks):
        lazy: nw2.LazyFrame[Any] = nw2.from_native(data)
        return lazy
    return None


def engine_name(frame: nw2.LazyFrame[Any]) -> str:
    """The engine of a narwhals LazyFrame, in words (``"polars"``, ``"duckdb"``, ...)."""
    return str(frame.implementation.name).lower()


def collect_pandas(frame: nw2.LazyFrame[Any]) -> pd.DataFrame:
    """Collect a (small) lazy result into a pandas DataFrame."""
    out: pd.DataFrame = frame.collect().to_pandas()
    return out


def lazy_only_option(who: str, option: str, why: str) -> ValidationError:
    """The error for an option a lazy frame cannot honour (raise it)."""
    return ValidationError(
        f"{who}: {option} is not available for a lazy frame ({why}). Hint: collect the "
        "frame first (e.g. .collect() on Polars, .df() on DuckDB, .toPandas() on Spark) to "
        "use it in memory, or leave the option out.",
        rule="option must be available on the input's engine",
    )


def stacked(
    frame: nw2.LazyFrame[Any],
    key: str,
    columns: Mapping[str, tuple[Any, Any]],
    given: Mapping[str, Any] | Sequence[str],
) -> nw2.LazyFrame[Any]:
    """`frame` as one piece of a stack: `key`, then every column of `columns`, typed.

    Per-customer pieces (order sums, distinct days, cost tables, ...) are combined by
    stacking them (``nw2.concat``) and aggregating the stack in one group-by on `key`,
    instead of outer joins: a customer present in one piece only keeps its row, and Dask
    is spared a join after a group-by (its known bug). Each piece gives some columns
    (`given`: name -> expression on `frame`, or the names of columns `frame` has); every
    other column gets its filler, a value that does not change the aggregate (0 for a sum,
    a huge number for a minimum).
    `columns` maps each name to ``(filler, dtype)``; every column is cast to its dtype,
    because engines type sums and counts differently (DuckDB sums Int64 into Int128).

    Examples
    --------
    >>> import narwhals.stable.v2 as nw2
    >>> import pandas as pd
    >>> piece = nw2.from_native(pd.DataFrame({"id": ["a"], "n": [2]})).lazy()
    >>> columns = {"n": (0, nw2.Int64), "cost": (0.0, nw2.Float64)}
    >>> stacked(piece, "id", columns, ["n"]).collect().rows()
    [('a', 2, 0.0)]
    """
    if not isinstance(given, Mapping):
        given = {name: nw2.col(name) for name in given}
    return frame.select(
        nw2.col(key),
        *[
            (given[name] if name in given else nw2.lit(filler)).cast(dtype).alias(name)
            for name, (filler, dtype) in columns.items()
        ],
    )


def _count(expr: Any) -> Any:
    return expr.cast(nw2.Int64).sum()


def _first_values(frame: nw2.LazyFrame[Any], mask: Any, column: str) -> list[Any]:
    values = collect_pandas(frame.filter(mask).select(column).head(_MAX_IDS + 1))[column]
    return list(values)


def _parse_dates(
    frame: nw2.LazyFrame[Any],
    date_col: str,
    date_format: str | None,
    *,
    who: str,
) -> tuple[nw2.LazyFrame[Any], Any]:
    """The frame with `date_col` as naive datetimes, and an expression flagging bad strings."""
    dtype = frame.collect_schema()[date_col]
    col = nw2.col(date_col)
    if dtype == nw2.Date:
        return frame.with_columns(col.cast(nw2.Datetime("us"))), None
    if isinstance(dtype, nw2.Datetime):
        if dtype.time_zone is not None:
            frame = frame.with_columns(col.dt.replace_time_zone(None))
        return frame, None
    if dtype == nw2.String:
        if date_format is None:
            raise ValidationError(
                f"{who}: column {date_col!r} holds strings; on a lazy frame crmcore parses them "
                "on the engine with one layout for the whole column. Hint: pass "
                'date_format= (e.g. "%Y-%m-%d", "%d/%m/%Y") or cast the column to a date '
                "on your engine first.",
                rule="dates must match date_format",
                column=date_col,
            )
        parsed = frame.with_columns(
            col.alias("__raw_date__"), col.str.to_datetime(format=date_format)
        )
        bad = ~nw2.col("__raw_date__").is_null() & nw2.col(date_col).is_null()
        return parsed, bad
    raise ValidationError(
        f"{who}: column {date_col!r} must hold dates or datetimes; got dtype {dtype}.",
        rule="column must hold dates",
        column=date_col,
    )


def read_order_log_lazy(
    frame: nw2.LazyFrame[Any],
    *,
    who: str,
    customer_col: str,
    date_col: str | None,
    amount_col: str | None = None,
    extra_cols: Sequence[str] = (),
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
    currency_col: str | None = "currency",
    date_format: str | None = None,
    stacklevel: int = 3,
    warn_negative: bool = True,
    cutoff: pd.Timestamp | None = None,
    cutoff_name: str = "as_of",
    require_rows: bool = True,
) -> nw2.LazyFrame[Any]:
    """Validate a lazy order log on its engine and return its purchase rows, lazily.

    The rules, messages and warnings of :func:`crmcore._orderlog.read_order_log` followed by
    :func:`crmcore._orderlog.exclude_after` (when `cutoff` is given), checked with two small
    collected queries (see the module docstring).

    Parameters
    ----------
    frame : narwhals.stable.v2.LazyFrame
        The caller's order log (from :func:`as_lazy`).
    who, customer_col, date_col, amount_col, extra_cols, status_col, statuses, currency_col
        As in :func:`crmcore._orderlog.read_order_log`.
    date_format : str, optional
        ``strftime`` layout of a string date column; required when the column is text.
    stacklevel : int
        Warning stack level (3 = the caller of the public function).
    warn_negative : bool, default True
        Count negative amounts (of the rows kept) in a warning.
    cutoff : pandas.Timestamp, optional
        Keep rows before ``cutoff_bound(cutoff)`` only; the others are counted in a warning.
    cutoff_name : str, default "as_of"
        The parameter's name, for the warning.
    require_rows : bool, default True
        Refuse a log whose every purchase is after the cut-off (nothing to summarise).

    Returns
    -------
    narwhals.stable.v2.LazyFrame
        Only the columns read (customer, date as a naive Datetime, amount, extras), purchase
        rows only, rows up to the cut-off only.

    Raises
    ------
    ColumnNotFoundError, ValidationError
        As the in-memory reader.

    Examples
    --------
    >>> import polars as pl
    >>> orders = pl.LazyFrame({"customer_id": ["a", "a"], "date": ["2024-01-05", "2024-01-06"],
    ...                        "amount": [100.0, 100.0]})
    >>> rows = read_order_log_lazy(as_lazy(orders), who="demo", customer_col="customer_id",
    ...     date_col="date", amount_col="amount", date_format="%Y-%m-%d")
    >>> rows.collect().shape
    (2, 3)
    """
    names = frame.collect_schema().names()
    cols, wanted = columns_read(
        customer_col, date_col, amount_col, extra_cols, status_col, statuses, who=who
    )
    require_columns(pd.DataFrame(columns=names), wanted, who=who)
    allowed = _check_statuses(statuses, who)
    schema = frame.collect_schema()
    if amount_col is not None:
        dtype = schema[amount_col]
        if not dtype.is_numeric() or dtype == nw2.Boolean:
            raise ValidationError(
                f"{who}: column {amount_col!r} must be numeric; got dtype {dtype}. Hint: "
                "convert the column to numbers first.",
                rule="column must hold numbers",
                column=amount_col,
            )
    use_status = status_col is not None and status_col in names
    use_currency = amount_col is not None and currency_col is not None and currency_col in names

    # query 1: rows by (normalised status, currency) -- a few rows whatever the log's size
    keys: list[str] = []
    status_key = None
    if use_status:
        assert status_col is not None
        status_key = (
            nw2.col(status_col)
            .cast(nw2.String)
            .str.strip_chars()
            .str.to_lowercase()
            .fill_null("<missing>")
        )
        keys.append("__status__")
    if use_currency:
        assert currency_col is not None
        keys.append("__currency__")
    if keys:
        key_exprs = []
        if status_key is not None:
            key_exprs.append(status_key.alias("__status__"))
        if currency_col is not None and use_currency:
            key_exprs.append(nw2.col(currency_col).cast(nw2.String).alias("__currency__"))
        counts = collect_pandas(
            frame.select(*key_exprs).group_by(*keys).agg(nw2.len().alias("__n__"))
        )
    else:
        counts = collect_pandas(frame.select(nw2.len().alias("__n__")))
    counts["__n__"] = counts["__n__"].astype("int64")
    n_total = int(counts["__n__"].sum())
    if n_total == 0:
        raise ValidationError(f"{who}: the transactions frame is empty (0 rows).")
    if use_status:
        assert status_col is not None and status_key is not None
        keep = counts["__status__"].isin(list(allowed)).to_numpy(dtype=bool)
        n_out = int(counts.loc[~keep, "__n__"].sum())
        if n_out:
            by_status = counts.loc[~keep].groupby("__status__")["__n__"].sum().sort_index()
            detail = ", ".join(f"{k}: {v:,}" for k, v in by_status.items())
            if n_out == n_total:
                raise ValidationError(
                    f"{who}: no row of the {n_total:,} has a purchase status in column "
                    f"{status_col!r} (found {detail}; purchases are {', '.join(allowed)}). "
                    "Hint: pass statuses=[...] with the statuses that mean a purchase in your "
                    "data, or status_col=None to count every row."
                )
            warnings.warn(
                f"{who}: {n_out:,} of {n_total:,} rows are not purchases and were excluded by "
                f"column {status_col!r} ({detail}); rows count when their status is "
                f"{', '.join(allowed)}. Hint: pass statuses=[...] to choose.",
                CRMWarning,
                stacklevel=stacklevel,
            )
            frame = frame.filter(status_key.is_in(list(allowed)))
            counts = counts.loc[keep]
    if use_currency:
        per = counts.groupby("__currency__", dropna=False)["__n__"].sum()
        if len(per) > 1:
            order = sorted(per.index, key=str)
            detail = ", ".join(f"{k}: {int(per[k]):,} rows" for k in order)
            raise ValidationError(
                f"{who}: amounts are in {len(per)} currencies ({detail}); analytics need one. "
                "Hint: convert with crmcore.ExchangeRates.convert_frame(frame, to=...) first.",
                rule="amounts must be in one currency",
                column=str(currency_col),
                count=len(per),
                first_ids=first_ids(order),
            )
    n_rows = int(counts["__n__"].sum())

    frame = frame.select(cols)
    bad_dates = None
    if date_col is not None:
        frame, bad_dates = _parse_dates(frame, date_col, date_format, who=who)

    # query 2: one row of counts
    checks: dict[str, Any] = {}
    for col in cols:
        missing = nw2.col(col).is_null()
        if schema[col].is_float():
            missing = missing | nw2.col(col).is_nan()
        checks[f"missing:{col}"] = missing
    if bad_dates is not None:
        checks["bad_dates"] = bad_dates
    customer_dtype = schema[customer_col]
    if customer_dtype == nw2.String:
        checks["placeholder"] = (
            nw2.col(customer_col).str.strip_chars().str.to_lowercase().is_in(PLACEHOLDER_IDS)
        )
    infinite = None
    if amount_col is not None and schema[amount_col].is_float():
        # the in-memory reader's rule (crmcore._orderlog): amounts must be finite
        infinite = nw2.col(amount_col).abs() == float("inf")
        checks["infinite"] = infinite
    late = None
    if cutoff is not None and date_col is not None:
        late = nw2.col(date_col) >= nw2.lit(cutoff_bound(cutoff).to_pydatetime())
        checks["late"] = late
    if amount_col is not None and warn_negative:
        negative = nw2.col(amount_col) < 0
        checks["negative"] = negative if late is None else negative & ~late
    query = frame.select(*[_count(expr).alias(name) for name, expr in checks.items()])
    if bad_dates is None:
        aggregated = collect_pandas(query)
    else:
        try:
            aggregated = collect_pandas(query)
        except Exception as exc:  # engines that parse strictly stop at the first bad value
            assert date_col is not None
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValidationError(
                f"{who}: column {date_col!r} has values that do not match "
                f"date_format={date_format!r} (the engine stopped at the first one: {detail}). "
                f"{_FORMAT_HINT}",
                rule="dates must match date_format",
                column=date_col,
            ) from exc
    found = {name: int(aggregated[name].iloc[0] or 0) for name in checks}

    problems = []
    first_bad: tuple[str, int, tuple[Any, ...]] | None = None
    for col in cols:
        count = found[f"missing:{col}"]
        if count:
            mask = checks[f"missing:{col}"]
            if col != customer_col:
                values, label = _first_values(frame, mask, customer_col), "first ids"
            else:
                values, label = [], "first rows"
            first_bad = first_bad or (col, count, first_ids(values))
            shown = f" ({label}: {format_ids(values)})" if values else ""
            problems.append(f"column {col!r} has {count:,} missing values{shown}")
    if first_bad is not None:
        raise ValidationError(
            f"{who}: " + "; ".join(problems) + ". Hint: drop or fill them before calling.",
            rule="column must not have missing values",
            column=first_bad[0],
            count=first_bad[1],
            first_ids=first_bad[2],
        )
    if found.get("placeholder"):
        values = _first_values(frame, checks["placeholder"], customer_col)
        raise ValidationError(
            f"{who}: column {customer_col!r} has {found['placeholder']:,} rows whose id means "
            f"'no customer' ({', '.join(repr(v) for v in dict.fromkeys(values))}); they would "
            "be summed as one customer. Hint: drop those rows (orders of unknown customers) "
            "or give them real ids.",
            rule=PLACEHOLDER_RULE,
            column=customer_col,
            count=found["placeholder"],
            first_ids=list(dict.fromkeys(values)),
        )
    if found.get("infinite"):
        assert amount_col is not None and infinite is not None
        values = _first_values(frame, infinite, customer_col)
        raise infinite_amounts_error(who, amount_col, found["infinite"], values)
    if found.get("bad_dates"):
        assert date_col is not None
        bad = collect_pandas(
            frame.filter(checks["bad_dates"])
            .select(customer_col, "__raw_date__")
            .head(_MAX_IDS + 1)
        )
        # the in-memory message, with customer ids where it names rows (a lazy frame has none)
        examples = ", ".join(repr(v) for v in bad["__raw_date__"].astype(str).unique()[:2])
        ids = list(bad[customer_col])
        raise ValidationError(
            f"{who}: column {date_col!r} has {found['bad_dates']:,} values that do not match "
            f"date_format={date_format!r} (e.g. {examples}; first ids: {format_ids(ids)}). "
            f"{_FORMAT_HINT}",
            rule="dates must match date_format",
            column=date_col,
            count=found["bad_dates"],
            first_ids=first_ids(ids),
        )
    if bad_dates is not None:
        frame = frame.drop("__raw_date__")
    if late is not None and found["late"]:
        assert cutoff is not None and date_col is not None
        n_late = found["late"]
        only_late = collect_pandas(
            frame.group_by(customer_col)
            .agg(nw2.col(date_col).min().alias("__first__"))
            .filter(nw2.col("__first__") >= nw2.lit(cutoff_bound(cutoff).to_pydatetime()))
            .select(nw2.len().alias("n"))
        )
        n_only_late = int(only_late["n"].iloc[0])
        stamp = f"{cutoff:%Y-%m-%d}" if cutoff == cutoff.normalize() else str(cutoff)
        if require_rows and n_late == n_rows:
            raise ValidationError(
                f"{who}: no transaction is dated on or before {cutoff_name} {stamp} "
                f"(all {n_rows:,} rows are later). Hint: check {cutoff_name}."
            )
        warnings.warn(
            f"{who}: {n_late:,} of {n_rows:,} rows are dated after {cutoff_name} {stamp} and "
            "were excluded (a date cut-off includes its whole day); "
            f"{n_only_late:,} customers appear only after it.",
            CRMWarning,
            stacklevel=stacklevel,
        )
        frame = frame.filter(~late)
    if found.get("negative"):
        warnings.warn(
            f"{who}: {found['negative']:,} rows have negative amounts (returns or credit "
            "notes); they are kept and netted into the amounts. Filter them out first if they "
            "should not count.",
            CRMWarning,
            stacklevel=stacklevel,
        )
    return frame
