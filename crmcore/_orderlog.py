"""One set of rules for every function that reads an order log.

Every public function that takes transactions (``rfm_table``, ``btyd_summary``,
``cohort_table``, ``purchase_history``, ``relationship_type``, ``customer_profitability``)
reads them through :func:`read_order_log`, so that the same export gives the same rows
everywhere:

- **Dates**: a string column is parsed with one format for the whole column
  (``date_format=``, else ISO 8601); an ambiguous layout is an error, never a per-row guess
  (:func:`crmcore._validation.coerce_datetime_column`).
- **Status**: when the frame has a status column (the canonical orders frame of
  :func:`crmcore.frames.orders_to_frame` has one), only purchases count: ``confirmed`` and
  ``fulfilled`` by default, ``statuses=`` overrides. ``draft`` orders are not purchases yet,
  ``cancelled`` ones never were, and ``returned`` ones were reversed (the money went back),
  so none of them count as an order or as revenue. Excluded rows are counted by status in a
  :class:`~crmcore.exceptions.CRMWarning`. Statuses are compared case-insensitively.
- **Currency**: amounts are summed only when one currency is in play (convert with
  :meth:`crmcore.money.ExchangeRates.convert_frame`).
- **Unknown customers**: text ids such as ``"(blank)"``, ``"N/A"`` or ``""`` (see
  :data:`PLACEHOLDER_IDS`) are refused rather than summed as one customer.
- **Returns**: negative amounts are kept and netted, and counted in a ``CRMWarning``.
- **Infinite amounts** (``inf``, ``-inf``) are refused with their count and first ids:
  they are data errors, and summed they would turn totals and means into ``inf`` or NaN.
- **Cut-off**: a date ``as_of`` (midnight, a ``date`` or a date string)
  includes that whole day; a cut-off with a time of day includes rows up to that instant.
  Later rows are excluded and counted in a ``CRMWarning``, with the customers seen only
  after the cut-off.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd

from crmcore._validation import (
    as_narwhals,
    check_no_missing,
    check_single_currency,
    coerce_datetime_column,
    first_ids,
    format_ids,
    require_columns,
)
from crmcore.exceptions import CRMWarning, ValidationError

__all__ = [
    "PLACEHOLDER_IDS",
    "PLACEHOLDER_RULE",
    "PURCHASE_STATUSES",
    "columns_read",
    "cutoff_bound",
    "exclude_after",
    "infinite_amounts_error",
    "read_order_log",
    "warn_negative_amounts",
]

#: Order statuses that count as purchases by default.
PURCHASE_STATUSES: tuple[str, ...] = ("confirmed", "fulfilled")


def cutoff_bound(ts: pd.Timestamp) -> pd.Timestamp:
    """Return the exclusive upper bound of a cut-off: the next midnight for a date.

    Examples
    --------
    >>> cutoff_bound(pd.Timestamp("2011-12-09"))
    Timestamp('2011-12-10 00:00:00')
    >>> cutoff_bound(pd.Timestamp("2011-12-09 12:00"))
    Timestamp('2011-12-09 12:00:00.000001')
    """
    step = pd.Timedelta(days=1) if ts == ts.normalize() else pd.Timedelta(microseconds=1)
    bound: pd.Timestamp = pd.Timestamp(ts + step)
    return bound


def _check_statuses(statuses: Any, who: str) -> tuple[str, ...]:
    if statuses is None:
        return PURCHASE_STATUSES
    if isinstance(statuses, str) or not isinstance(statuses, Iterable):
        raise ValidationError(
            f"The 'statuses' parameter of {who} must be a list of status names such as "
            f"['confirmed', 'fulfilled']. Got {statuses!r} instead."
        )
    values = list(statuses)
    if not values or not all(isinstance(s, str) for s in values):
        raise ValidationError(
            f"The 'statuses' parameter of {who} must be a non-empty list of strings. "
            f"Got {statuses!r} instead."
        )
    return tuple(str(getattr(s, "value", s)).strip().lower() for s in values)


def _filter_status(
    frame: nw.DataFrame[Any], status_col: str, statuses: tuple[str, ...], who: str, level: int
) -> nw.DataFrame[Any]:
    status = frame[status_col].to_pandas()
    if isinstance(status.dtype, pd.CategoricalDtype):
        status = status.astype(object)
    normal = status.astype("string").str.strip().str.lower()
    keep = normal.isin(list(statuses)).to_numpy(dtype=bool, na_value=False)
    n_out = int((~keep).sum())
    if n_out == 0:
        return frame
    counts = normal[~keep].fillna("<missing>").value_counts(sort=False).sort_index()
    detail = ", ".join(f"{k}: {v:,}" for k, v in counts.items())
    if n_out == len(frame):
        raise ValidationError(
            f"{who}: no row of the {len(frame):,} has a purchase status in column "
            f"{status_col!r} (found {detail}; purchases are {', '.join(statuses)}). "
            "Hint: pass statuses=[...] with the statuses that mean a purchase in your data, "
            "or status_col=None to count every row."
        )
    warnings.warn(
        f"{who}: {n_out:,} of {len(frame):,} rows are not purchases and were excluded by "
        f"column {status_col!r} ({detail}); rows count when their status is "
        f"{', '.join(statuses)}. Hint: pass statuses=[...] to choose.",
        CRMWarning,
        stacklevel=level,
    )
    mask = nw.new_series(
        "__keep__", keep, nw.Boolean, native_namespace=nw.get_native_namespace(frame)
    )
    return frame.with_columns(mask).filter(nw.col("__keep__")).drop("__keep__")


def columns_read(
    customer_col: str,
    date_col: str | None,
    amount_col: str | None,
    extra_cols: Sequence[str],
    status_col: str | None,
    statuses: Iterable[str] | None,
    *,
    who: str,
) -> tuple[list[str], list[str]]:
    """The columns an order-log reader keeps, and those the frame must have.

    The kept columns are the customer, date, amount and extra columns (each once); the
    status column must also exist when `statuses` is given.

    Examples
    --------
    >>> columns_read("customer_id", "date", None, ["date", "region"], "status", ["paid"],
    ...              who="demo")
    (['customer_id', 'date', 'region'], ['customer_id', 'date', 'region', 'status'])
    """
    cols = [customer_col]
    if date_col is not None:
        cols.append(date_col)
    if amount_col is not None:
        cols.append(amount_col)
    cols.extend(c for c in extra_cols if c not in cols)
    wanted = list(cols)
    if statuses is not None:
        if status_col is None:
            raise ValidationError(f"{who}: statuses= needs a status column; status_col is None.")
        wanted.append(status_col)
    return cols, wanted


def read_order_log(
    transactions: Any,
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
) -> nw.DataFrame[Any]:
    """Validate an order log and return its purchase rows (narwhals frame, dates parsed).

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow)
        The caller's frame; it is not modified.
    who : str
        Name of the public function, for messages.
    customer_col, date_col, amount_col : str
        Column roles (`date_col` or `amount_col` None when the function does not read
        them). `amount_col` must be numeric.
    extra_cols : sequence of str
        Further columns to keep (checked for presence and missing values).
    status_col : str or None, default "status"
        Order status column; used when present (``None`` ignores any status column).
    statuses : iterable of str, optional
        Statuses that count as purchases (default :data:`PURCHASE_STATUSES`). Giving
        `statuses` requires the status column.
    currency_col : str or None, default "currency"
        When present and `amount_col` is read, every purchase row must be in one currency.
    date_format : str, optional
        ``strftime`` layout of a string date column (else ISO 8601).
    stacklevel : int
        Warning stack level (3 = the caller of the public function).
    warn_negative : bool, default True
        Count negative amounts in a warning here; a function with a cut-off passes False
        and calls :func:`warn_negative_amounts` on the rows it keeps.

    Returns
    -------
    narwhals.DataFrame
        Only the columns read (customer, date, amount, extras), purchase rows only, with a
        naive datetime `date_col`.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing.
    ValidationError
        Empty frame, missing values, non-numeric or infinite amounts, several currencies,
        no purchase row, unparseable or ambiguous dates.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a", "a"], "date": ["2024-01-05", "2024-01-06"],
    ...                        "amount": [100.0, 100.0], "status": ["confirmed", "cancelled"]})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     log = read_order_log(orders, who="demo", customer_col="customer_id",
    ...                          date_col="date", amount_col="amount")
    >>> len(log), str(caught[0].message)[:53]
    (1, 'demo: 1 of 2 rows are not purchases and were excluded')
    """
    frame = as_narwhals(transactions, who=who)
    cols, wanted = columns_read(
        customer_col, date_col, amount_col, extra_cols, status_col, statuses, who=who
    )
    require_columns(frame, wanted, who=who)
    allowed = _check_statuses(statuses, who)
    if len(frame) == 0:
        raise ValidationError(f"{who}: the transactions frame is empty (0 rows).")
    if status_col is not None and status_col in frame.columns:
        frame = _filter_status(frame, status_col, allowed, who, stacklevel + 1)
    if amount_col is not None and currency_col is not None and currency_col in frame.columns:
        check_single_currency(frame.select(currency_col).to_native(), currency_col, who=who)
    frame = frame.select(cols)
    check_no_missing(frame.to_native(), cols, who=who, id_col=customer_col)
    _check_placeholder_ids(frame, customer_col, who)
    if amount_col is not None:
        dtype = frame.schema[amount_col]
        if not dtype.is_numeric() or dtype == nw.Boolean:
            raise ValidationError(
                f"{who}: column {amount_col!r} must be numeric; got dtype {dtype}"
                + _amount_hint(frame[amount_col].to_pandas())
            )
        if dtype.is_float():
            _check_finite_amounts(frame, amount_col, customer_col, who)
        if warn_negative:
            warn_negative_amounts(frame, amount_col, who=who, stacklevel=stacklevel + 1)
    if date_col is not None:
        native = coerce_datetime_column(
            frame.to_native(), date_col, who=who, date_format=date_format
        )
        frame = nw.from_native(native, eager_only=True)
    return frame


#: The ``rule`` of the error that refuses placeholder customer ids.
PLACEHOLDER_RULE = "placeholder customer id"

#: Spellings exports use for "no customer" (compared case-insensitively, blanks stripped).
PLACEHOLDER_IDS: tuple[str, ...] = ("", "(blank)", "n/a", "na", "nan", "none", "null", "unknown")


def _check_placeholder_ids(frame: nw.DataFrame[Any], customer_col: str, who: str) -> None:
    """Refuse text ids that stand for "no customer": summed as one customer they mislead."""
    if frame.schema[customer_col] != nw.String and frame.schema[customer_col] != nw.Object:
        return
    ids = frame[customer_col].to_pandas()
    uniques = pd.Series(pd.unique(ids.to_numpy(dtype=object)), dtype=object)
    text = uniques.map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    bad = uniques[text.isin(PLACEHOLDER_IDS).to_numpy(dtype=bool)]
    if len(bad) == 0:
        return
    mask = ids.isin(list(bad)).to_numpy(dtype=bool)
    raise ValidationError(
        f"{who}: column {customer_col!r} has {int(mask.sum()):,} rows whose id means "
        f"'no customer' ({', '.join(repr(v) for v in bad[:3])}); they would be summed as one "
        "customer. Hint: drop those rows (orders of unknown customers) or give them real ids.",
        rule=PLACEHOLDER_RULE,
        column=customer_col,
        count=int(mask.sum()),
        first_ids=[str(v) for v in bad[:5]],
    )


def infinite_amounts_error(
    who: str, amount_col: str, count: int, ids: Sequence[Any]
) -> ValidationError:
    """The error for `count` infinite amounts (`ids`: customer ids of the first ones).

    Examples
    --------
    >>> print(infinite_amounts_error("demo", "amount", 2, ["a", "b"]))
    demo: column 'amount' has 2 infinite values (first ids: a, b). Hint: an infinite amount is a data error (a division by zero upstream?); drop or correct those rows before calling.
    """  # noqa: E501
    return ValidationError(
        f"{who}: column {amount_col!r} has {count:,} infinite values (first ids: "
        f"{format_ids(ids)}). Hint: an infinite amount is a data error (a division by zero "
        "upstream?); drop or correct those rows before calling.",
        rule="numbers must be finite",
        column=amount_col,
        count=count,
        first_ids=first_ids(ids),
    )


def _check_finite_amounts(
    frame: nw.DataFrame[Any], amount_col: str, customer_col: str, who: str
) -> None:
    """Refuse +-inf amounts (missing ones were refused before)."""
    infinite = np.isinf(np.asarray(frame[amount_col].to_numpy(), dtype=np.float64))
    if infinite.any():
        ids = frame[customer_col].to_pandas().iloc[np.flatnonzero(infinite)[:6]]
        raise infinite_amounts_error(who, amount_col, int(infinite.sum()), ids.tolist())


def warn_negative_amounts(
    frame: nw.DataFrame[Any], amount_col: str, *, who: str, stacklevel: int = 3
) -> None:
    """Count the rows with negative amounts (returns, credit notes) in a ``CRMWarning``."""
    n_negative = int(frame.select((nw.col(amount_col) < 0).sum()).item() or 0)
    if n_negative:
        warnings.warn(
            f"{who}: {n_negative:,} rows have negative amounts (returns or credit notes); "
            "they are kept and netted into the amounts. Filter them out first if they "
            "should not count.",
            CRMWarning,
            stacklevel=stacklevel,
        )


def _amount_hint(values: pd.Series[Any]) -> str:
    text = values.dropna().astype(str).head(1000)
    comma = text.str.fullmatch(r"-?[\d.\s]*\d,\d+")
    if bool(comma.any()):
        example = text[comma].iloc[0]
        return (
            f" (values such as {example!r} use a decimal comma). Hint: convert the column, "
            "e.g. pd.to_numeric(s.str.replace('.', '').str.replace(',', '.'))."
        )
    return ". Hint: convert the column to numbers first."


def exclude_after(
    frame: nw.DataFrame[Any],
    *,
    date_col: str,
    customer_col: str,
    cutoff: pd.Timestamp,
    name: str,
    who: str,
    stacklevel: int = 3,
) -> nw.DataFrame[Any]:
    """Drop the rows after a cut-off (the whole cut-off day included), warning with counts.

    Examples
    --------
    >>> import pandas as pd
    >>> import narwhals.stable.v1 as nw
    >>> log = nw.from_native(pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-05 18:00", "2024-01-06 00:00", "2024-01-07 00:00"])}),
    ...     eager_only=True)
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     kept = exclude_after(log, date_col="date", customer_col="customer_id",
    ...                          cutoff=pd.Timestamp("2024-01-05"), name="as_of", who="demo")
    >>> len(kept)
    1
    >>> print(caught[0].message)
    demo: 2 of 3 rows are dated after as_of 2024-01-05 and were excluded (a date cut-off includes its whole day); 1 customers appear only after it.
    """  # noqa: E501
    bound = cutoff_bound(cutoff).to_pydatetime()
    late_expr = nw.col(date_col) >= nw.lit(bound)
    n_rows = len(frame)
    n_late = int(frame.select(late_expr.sum()).item() or 0)
    if n_late == 0:
        return frame
    kept = frame.filter(~late_expr)
    late_ids = np.asarray(frame.filter(late_expr)[customer_col].unique().to_numpy())
    kept_ids = np.asarray(kept[customer_col].unique().to_numpy())
    n_only_late = int((~pd.Index(late_ids).isin(pd.Index(kept_ids))).sum())
    stamp = f"{cutoff:%Y-%m-%d}" if cutoff == cutoff.normalize() else str(cutoff)
    warnings.warn(
        f"{who}: {n_late:,} of {n_rows:,} rows are dated after {name} {stamp} and were "
        "excluded (a date cut-off includes its whole day); "
        f"{n_only_late:,} customers appear only after it.",
        CRMWarning,
        stacklevel=stacklevel,
    )
    return kept
