"""The lazy order-log reader applies the in-memory reader's rules, in the same words.

``crmcore._lazy.read_order_log_lazy`` checks an order log on its engine; every rule is
compared here with ``crmcore._orderlog.read_order_log`` (+ ``exclude_after`` and the
negative-amount warning, as the public functions call them) on the same rows: the same
rows kept, the same warnings word for word, the same errors (message, rule, count, first
ids), and the counts and ids worked out by hand for each input.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, assert_same_table, to_engine

from crmcore._lazy import as_lazy, read_order_log_lazy
from crmcore._orderlog import exclude_after, read_order_log, warn_negative_amounts
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.segmentation import rfm_table
from crmcore.value import btyd_summary

NOT_SPARK = [e for e in LAZY_ENGINES if e != "spark"]
WHO = "demo"
AS_OF = pd.Timestamp("2024-03-31")
COLUMNS = {"customer_col": "customer_id", "date_col": "date", "amount_col": "amount"}


def _log() -> pd.DataFrame:
    """Ten orders: one cancelled, one draft, one without status (3 not purchases), one
    return (negative), two after AS_OF (one of customer e, seen only then)."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "a"],
            "date": pd.to_datetime(
                [
                    "2024-01-05 10:00",
                    "2024-02-01 00:00",
                    "2024-01-10 23:59",
                    "2024-03-31 23:00",  # on the cut-off day: kept
                    "2024-02-20 08:00",
                    "2024-03-02 00:00",
                    "2024-01-01 00:00",
                    "2024-03-15 12:00",
                    "2024-04-01 00:00",  # after AS_OF: e appears only after it
                    "2024-04-02 09:00",  # after AS_OF
                ]
            ),
            "amount": [10.0, 20.0, -5.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0],
            "status": [
                "confirmed",
                "Fulfilled ",
                "confirmed",
                "confirmed",
                "cancelled",
                "confirmed",
                "draft",
                None,
                "confirmed",
                "confirmed",
            ],
        }
    )


def _eager(pdf: pd.DataFrame, *, cutoff: pd.Timestamp | None = None, **kw: Any) -> Any:
    """The in-memory reader as the public functions call it."""
    rows = read_order_log(pdf, who=WHO, warn_negative=cutoff is None, **kw)
    if cutoff is not None:
        rows = exclude_after(
            rows,
            date_col=kw["date_col"],
            customer_col=kw["customer_col"],
            cutoff=cutoff,
            name="as_of",
            who=WHO,
        )
        if kw.get("amount_col") is not None:
            warn_negative_amounts(rows, kw["amount_col"], who=WHO)
    return rows.to_native()


def _lazy(pdf: pd.DataFrame, engine: str, **kw: Any) -> Any:
    lazy = as_lazy(to_engine(pdf, engine))
    assert lazy is not None
    return read_order_log_lazy(lazy, who=WHO, **kw)


def _said(call: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CRMWarning)
        result = call()
    return result, [str(w.message) for w in caught if w.category is CRMWarning]


def _error(call: Any) -> ValidationError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        with pytest.raises(ValidationError) as info:
            call()
    return info.value


def _fields(err: ValidationError) -> tuple[Any, ...]:
    return (str(err), err.rule, err.column, err.count, err.first_ids)


@pytest.mark.parametrize("lazy_engine", LAZY_ENGINES)
def test_the_same_rows_are_kept_with_the_same_warnings(lazy_engine: str) -> None:
    log = _log()
    kw = dict(COLUMNS, cutoff=AS_OF)
    expected, eager_said = _said(lambda: _eager(log, **kw))
    result, lazy_said = _said(lambda: _lazy(log, lazy_engine, **kw))
    assert lazy_said == eager_said
    # by hand: rows 4, 6, 7 are not purchases; rows 8, 9 are after AS_OF; row 2 is negative
    assert lazy_said == [
        "demo: 3 of 10 rows are not purchases and were excluded by column 'status' "
        "(<missing>: 1, cancelled: 1, draft: 1); rows count when their status is "
        "confirmed, fulfilled. Hint: pass statuses=[...] to choose.",
        "demo: 2 of 7 rows are dated after as_of 2024-03-31 and were excluded (a date "
        "cut-off includes its whole day); 1 customers appear only after it.",
        "demo: 1 rows have negative amounts (returns or credit notes); they are kept and "
        "netted into the amounts. Filter them out first if they should not count.",
    ]
    kept = log.loc[[0, 1, 2, 3, 5], ["customer_id", "date", "amount"]]
    assert_same_table(result, kept, key=["customer_id", "date"])
    assert_same_table(expected, kept, key=["customer_id", "date"])


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_chosen_statuses_and_no_purchase_at_all(lazy_engine: str) -> None:
    log = _log()
    kw = dict(COLUMNS, statuses=["Draft", "cancelled"])
    expected, eager_said = _said(lambda: _eager(log, **kw))
    result, lazy_said = _said(lambda: _lazy(log, lazy_engine, **kw))
    assert lazy_said == eager_said
    assert lazy_said[0].startswith("demo: 8 of 10 rows are not purchases")
    assert_same_table(result, log.loc[[4, 6], ["customer_id", "date", "amount"]], key="date")
    assert_same_table(expected, log.loc[[4, 6], ["customer_id", "date", "amount"]], key="date")
    kw = dict(COLUMNS, statuses=["shipped"])
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **kw))
    assert _fields(lazy_error) == _fields(_error(lambda: _eager(log, **kw)))
    assert "no row of the 10 has a purchase status" in str(lazy_error)


@pytest.mark.parametrize("lazy_engine", LAZY_ENGINES)
def test_infinite_amounts_are_refused_as_in_memory(lazy_engine: str) -> None:
    log = _log().assign(status="confirmed")
    log.loc[2, "amount"] = np.inf
    log.loc[6, "amount"] = -np.inf
    kw = dict(COLUMNS, cutoff=AS_OF)
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **kw))
    assert _fields(lazy_error) == _fields(_error(lambda: _eager(log, **kw)))
    # by hand: rows 2 (customer b) and 6 (customer d)
    assert lazy_error.rule == "numbers must be finite"
    assert (lazy_error.column, lazy_error.count, lazy_error.first_ids) == ("amount", 2, ("b", "d"))
    assert str(lazy_error).startswith(
        "demo: column 'amount' has 2 infinite values (first ids: b, d)"
    )


@pytest.mark.parametrize("engine_name", ["pandas", "polars", "pyarrow", *NOT_SPARK])
def test_public_functions_refuse_infinite_amounts_on_every_engine(engine_name: str) -> None:
    log = _log().assign(status="confirmed")
    log.loc[5, "amount"] = np.inf
    for call in (
        lambda frame: rfm_table(frame, as_of=AS_OF),
        lambda frame: btyd_summary(frame, as_of=AS_OF, amount_col="amount"),
    ):
        err = _error(lambda call=call: call(to_engine(log, engine_name)))
        assert (err.rule, err.count, err.first_ids) == ("numbers must be finite", 1, ("c",))
    # an integer or a finite amount column is not affected
    ok = log.assign(amount=np.arange(10))
    assert len(_said(lambda: rfm_table(to_engine(ok, engine_name), as_of=AS_OF))[1]) == 1


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_several_currencies_are_refused_as_in_memory(lazy_engine: str) -> None:
    log = _log().assign(currency=["EUR"] * 7 + ["USD", "USD", "GBP"])
    kw = dict(COLUMNS, status_col=None)
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **kw))
    assert _fields(lazy_error) == _fields(_error(lambda: _eager(log, **kw)))
    assert "3 currencies (EUR: 7 rows, GBP: 1 rows, USD: 2 rows)" in str(lazy_error)
    # only purchase rows count: the USD and GBP rows are all cancelled here
    log["status"] = ["confirmed"] * 7 + ["cancelled"] * 3
    result, _ = _said(lambda: _lazy(log, lazy_engine, **COLUMNS))
    assert_same_table(result, log.loc[:6, ["customer_id", "date", "amount"]], key="date")


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_missing_values_are_refused_with_the_first_ids(lazy_engine: str) -> None:
    log = _log().assign(status="confirmed")
    log.loc[[1, 4], "amount"] = np.nan
    log.loc[7, "date"] = pd.NaT
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **COLUMNS))
    assert _fields(lazy_error) == _fields(_error(lambda: _eager(log, **COLUMNS)))
    # by hand: the date of d's row 7, the amounts of rows 1 (a) and 4 (c); fields: first column
    assert str(lazy_error) == (
        "demo: column 'date' has 1 missing values (first ids: d); column 'amount' has 2 "
        "missing values (first ids: a, c). Hint: drop or fill them before calling."
    )
    # a missing customer id: the in-memory reader names the row, a lazy frame has no rows
    log = _log().assign(status="confirmed")
    log.loc[3, "customer_id"] = None
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **COLUMNS))
    eager_error = _error(lambda: _eager(log, **COLUMNS))
    assert str(eager_error).startswith(
        "demo: column 'customer_id' has 1 missing values (first rows: 3)"
    )
    assert str(lazy_error).startswith("demo: column 'customer_id' has 1 missing values.")
    assert (lazy_error.rule, lazy_error.count) == (eager_error.rule, 1)


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_placeholder_ids_are_refused_as_in_memory(lazy_engine: str) -> None:
    log = _log().assign(status="confirmed")
    log.loc[[2, 8], "customer_id"] = " (Blank)"
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **COLUMNS))
    assert str(lazy_error) == str(_error(lambda: _eager(log, **COLUMNS)))
    assert "has 2 rows whose id means 'no customer' (' (Blank)')" in str(lazy_error)


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_dates_that_do_not_match_date_format_are_refused(lazy_engine: str) -> None:
    log = _log().assign(status="confirmed", date=lambda f: f["date"].dt.strftime("%d/%m/%Y"))
    kw = dict(COLUMNS, date_format="%d/%m/%Y", cutoff=AS_OF)
    result, lazy_said = _said(lambda: _lazy(log, lazy_engine, **kw))
    expected, eager_said = _said(lambda: _eager(log, **kw))
    assert lazy_said == eager_said and len(lazy_said) == 2  # cut-off, negative amount
    assert_same_table(result, expected, key=["customer_id", "date", "amount"])
    log.loc[3, "date"] = "31/13/2024"  # no month 13
    eager_error = _error(lambda: _eager(log, **kw))
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **kw))
    assert (lazy_error.rule, lazy_error.column) == (eager_error.rule, "date")
    assert str(eager_error).startswith(
        "demo: column 'date' has 1 values that do not match date_format='%d/%m/%Y'"
    )
    # Polars, DuckDB and Dask parse strictly: the engine stops at the first bad value
    assert str(lazy_error).startswith("demo: column 'date' has ")
    assert "values that do not match date_format='%d/%m/%Y'" in str(lazy_error)
    assert "31/13/2024" in str(lazy_error)
    assert str(lazy_error).endswith("(%d/%m/%Y is day first, %m/%d/%Y month first).")
    # without date_format a lazy frame's text dates are refused with the hint
    kw.pop("date_format")
    lazy_error = _error(lambda: _lazy(log, lazy_engine, **kw))
    assert lazy_error.rule == "dates must match date_format" and "date_format=" in str(lazy_error)


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_a_cut_off_with_a_time_and_one_before_every_row(lazy_engine: str) -> None:
    log = _log().assign(status="confirmed")
    kw = dict(COLUMNS, cutoff=pd.Timestamp("2024-03-02 00:00:00.5"))
    result, lazy_said = _said(lambda: _lazy(log, lazy_engine, **kw))
    expected, eager_said = _said(lambda: _eager(log, **kw))
    assert lazy_said == eager_said
    # by hand: rows 3, 7, 8, 9 are later than the instant; e appears only after it
    assert lazy_said[0] == (
        "demo: 4 of 10 rows are dated after as_of 2024-03-02 00:00:00.500000 and were "
        "excluded (a date cut-off includes its whole day); 1 customers appear only after it."
    )
    assert_same_table(result, expected, key=["customer_id", "date"])
    assert len(expected) == 6
    kw["cutoff"] = pd.Timestamp("2023-12-31")
    with pytest.raises(ValidationError, match=r"no transaction is dated on or before as_of "):
        _lazy(log, lazy_engine, **kw)
