"""One set of rules for every function that reads an order log (issue 8, items 1-5, 7, 10).

Each test reproduces a silent wrong result first seen on a real invoice export or with the
entity API: the expected numbers are derived by hand in the test (a handful of orders), or
from the shared online-retail export with pandas written out here.
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from crmcore.customers import Order, OrderLine
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.frames import orders_to_frame
from crmcore.money import Money
from crmcore.segmentation import relationship_type, rfm_table
from crmcore.value import (
    BetaGeoModel,
    btyd_summary,
    cohort_table,
    customer_profitability,
    purchase_history,
    tracking_table,
)

EXPORT = Path(__file__).resolve().parent / "data" / "online_retail_invoices.csv.gz"


def _day_first_log() -> pd.DataFrame:
    # "01/12/2010" is 1 December 2010 (day first, as in a UK export); read month-first it
    # would be 12 January -- a date that is not in the data at all.
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": ["01/12/2010", "13/12/2010", "05/12/2010", "09/12/2011"],
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )


def _parsed(log: pd.DataFrame) -> pd.DataFrame:
    return log.assign(date=pd.to_datetime(log["date"], format="%d/%m/%Y"))


# ----------------------------------------------------------------- 1. day-first dates


@pytest.mark.parametrize(
    "call",
    [
        lambda log, **kw: rfm_table(log, as_of="2011-12-09", **kw),
        lambda log, **kw: btyd_summary(log, amount_col="amount", as_of="2011-12-09", **kw),
        lambda log, **kw: cohort_table(log, as_of="2011-12-09", **kw),
        lambda log, **kw: purchase_history(log, as_of="2011-12-09", **kw),
        lambda log, **kw: relationship_type(log, **kw),
    ],
    ids=["rfm_table", "btyd_summary", "cohort_table", "purchase_history", "relationship_type"],
)
def test_day_first_strings_raise_or_equal_the_parsed_table(call) -> None:
    log = _day_first_log()
    with pytest.raises(ValidationError) as info:
        call(log)
    message = str(info.value)
    assert "'date'" in message
    assert "'01/12/2010'" in message and "'13/12/2010'" in message
    assert 'date_format="%d/%m/%Y"' in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        got = call(log, date_format="%d/%m/%Y")
        want = call(_parsed(log))
    pd.testing.assert_frame_equal(got, want)


def test_day_first_dates_give_the_right_recency() -> None:
    # a's last purchase is 13 Dec 2010: 361 days before 9 Dec 2011 (hand count:
    # 18 days to the end of 2010 + 343 days of 2011 up to 9 December).
    table = rfm_table(_day_first_log(), as_of="2011-12-09", date_format="%d/%m/%Y")
    assert table.loc["a", "recency_days"] == 18 + 343
    assert (
        table["recency_days"].max()
        <= (pd.Timestamp("2011-12-09") - pd.Timestamp("2010-12-01")).days
    )


def test_polars_day_first_strings_follow_the_same_rule() -> None:
    pl = pytest.importorskip("polars")
    log = pl.from_pandas(_day_first_log())
    with pytest.raises(ValidationError, match="not ISO 8601"):
        rfm_table(log, as_of="2011-12-09")
    got = rfm_table(log, as_of="2011-12-09", date_format="%d/%m/%Y")
    want = rfm_table(_parsed(_day_first_log()), as_of="2011-12-09")
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("as_of", ["10/12/2011", "12.10.2011", 20111210, 1.5])
def test_ambiguous_or_non_date_as_of_is_refused(as_of) -> None:
    log = _parsed(_day_first_log())
    with pytest.raises(ValidationError, match="as_of"):
        rfm_table(log, as_of=as_of)
    with pytest.raises(ValidationError, match="as_of"):
        btyd_summary(log, as_of=as_of)


@pytest.mark.parametrize(
    "as_of",
    [
        "2011-12-09",
        "2011-12-09T00:00:00",
        dt.date(2011, 12, 9),
        dt.datetime(2011, 12, 9),
        pd.Timestamp("2011-12-09"),
        np.datetime64("2011-12-09"),
    ],
)
def test_unambiguous_as_of_values_agree(as_of) -> None:
    table = rfm_table(_parsed(_day_first_log()), as_of=as_of)
    assert table.loc["b", "recency_days"] == 0.0


def test_mixed_time_zones_are_found_beyond_the_first_100k_rows() -> None:
    n = 150_001
    berlin = ZoneInfo("Europe/Berlin")
    stamps = [dt.datetime(2024, 1, 1, 12, tzinfo=berlin)] * n
    stamps[-1] = dt.datetime(2024, 1, 1, 12, tzinfo=ZoneInfo("America/New_York"))
    log = pd.DataFrame(
        {"customer_id": np.arange(n) % 100, "date": pd.Series(stamps, dtype=object), "amount": 1.0}
    )
    with pytest.raises(ValidationError, match="mixes time zones"):
        rfm_table(log, as_of="2024-02-01")


def test_numbers_are_dates_only_with_a_format() -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": [20240105, 20240301], "amount": [1.0, 2.0]})
    with pytest.raises(ValidationError, match='date_format="%Y%m%d"'):
        rfm_table(log, as_of="2024-03-31")
    table = rfm_table(log, as_of="2024-03-31", date_format="%Y%m%d")
    assert table.loc[1, "recency_days"] == 30.0


# ----------------------------------------------------------------- 2. two currencies


def _two_currencies() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-01-10"]),
            "amount": [100.0, 50.0, 30.0],
            "currency": ["GBP", "EUR", "GBP"],
        }
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda log: btyd_summary(log, amount_col="amount", as_of="2024-03-01"),
        lambda log: cohort_table(log, as_of="2024-03-01", metric="revenue"),
        lambda log: rfm_table(log, as_of="2024-03-01"),
        lambda log: customer_profitability(log),
        lambda log: relationship_type(log),
    ],
    ids=["btyd_summary", "cohort_table", "rfm_table", "customer_profitability", "relationship"],
)
def test_amounts_in_two_currencies_are_never_summed(call) -> None:
    with pytest.raises(ValidationError, match=r"2 currencies \(EUR: 1 rows, GBP: 2 rows\)"):
        call(_two_currencies())


def test_counting_functions_do_not_need_one_currency() -> None:
    # no amount is summed: counts of customers and orders are fine across currencies
    table = cohort_table(_two_currencies(), as_of="2024-03-01", metric="orders")
    assert np.nansum(table.to_numpy()) == 3
    summary = btyd_summary(_two_currencies(), as_of="2024-03-01")
    assert summary["frequency"].tolist() == [1.0, 0.0]


# ----------------------------------------------------------------- 3. order status


def _orders_in_four_statuses() -> pd.DataFrame:
    price = Money("100", "EUR")
    line = OrderLine(product_id="p", quantity=Decimal(1), unit_price=price)
    at = dt.datetime(2024, 3, 1, 10, tzinfo=dt.timezone.utc)
    draft = Order(id="o1", customer_id="c1", currency="EUR", lines=(line,), ordered_at=at)
    confirmed = draft.confirm()
    orders = [
        Order(id="o0", customer_id="c1", currency="EUR", lines=(line,), ordered_at=at).confirm(),
        draft,
        Order(id="o2", customer_id="c1", currency="EUR", lines=(line,), ordered_at=at).cancel(),
        Order(id="o3", customer_id="c1", currency="EUR", lines=(line,), ordered_at=at)
        .confirm()
        .fulfil()
        .mark_returned(),
    ]
    assert confirmed.status.value == "confirmed"
    return orders_to_frame(orders)


def test_only_purchases_count_and_the_others_are_reported_by_status() -> None:
    frame = _orders_in_four_statuses()
    before = frame.copy()
    with pytest.warns(
        CRMWarning, match=r"3 of 4 rows are not purchases.*cancelled: 1, draft: 1, returned: 1"
    ):
        table = rfm_table(frame, as_of="2024-03-31")
    assert table.loc["c1", "frequency"] == 1
    assert table.loc["c1", "monetary"] == 100.0
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    "call",
    [
        lambda f, **kw: btyd_summary(
            f,
            amount_col="amount",
            as_of="2024-03-31",
            include_first_transaction=True,
            **kw,
        )["monetary_value"].sum(),
        lambda f, **kw: np.nansum(
            cohort_table(f, as_of="2024-03-31", metric="revenue", **kw).to_numpy()
        ),
        lambda f, **kw: purchase_history(f, as_of="2024-03-31", **kw).to_numpy().sum() * 100.0,
        lambda f, **kw: customer_profitability(f, **kw)["revenue"].sum(),
        lambda f, **kw: relationship_type(f, **kw)["orders"].sum() * 100.0,
    ],
    ids=["btyd_summary", "cohort_table", "purchase_history", "profitability", "relationship"],
)
def test_every_transaction_function_counts_one_real_order(call) -> None:
    # four 100 EUR orders on one day, one of them a purchase: 100 of revenue (one order);
    # with every status counted, 400 (btyd_summary's one purchase day totals 400)
    frame = _orders_in_four_statuses()
    with pytest.warns(CRMWarning, match="3 of 4 rows are not purchases"):
        value = call(frame)
    assert value == 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", CRMWarning)
        everything = call(frame, statuses=["confirmed", "draft", "cancelled", "returned"])
    assert everything == 400.0


def test_statuses_override_and_are_case_insensitive() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1.0, 2.0, 4.0],
            "status": ["Sale", "DONE", "cancel"],  # Odoo's sale.order states
        }
    )
    with pytest.raises(ValidationError, match="no row of the 3 has a purchase status"):
        rfm_table(log, as_of="2024-01-31")
    with pytest.warns(CRMWarning, match=r"cancel: 1"):
        table = rfm_table(log, as_of="2024-01-31", statuses=["sale", "done"])
    assert table.loc["a", "monetary"] == 3.0


# ----------------------------------------------------------------- 4. and 5. cut-off


def _around_the_cutoff() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2011-12-01 09:00", "2011-12-09 15:30", "2011-12-09 23:59", "2011-12-10 00:00"]
            ),
            "amount": [1.0, 2.0, 4.0, 8.0],
        }
    )


def _orders_counted(call) -> int:
    with pytest.warns(
        CRMWarning,
        match=r"1 of 4 rows are dated after .*2011-12-09.*1 customers appear only after it",
    ):
        return int(call(_around_the_cutoff()))


@pytest.mark.parametrize(
    "call",
    [
        lambda log: rfm_table(log, as_of="2011-12-09")["frequency"].sum(),
        lambda log: np.nansum(cohort_table(log, as_of="2011-12-09", metric="orders").to_numpy()),
        lambda log: purchase_history(log, as_of="2011-12-09", period="D").to_numpy().sum(),
        lambda log: btyd_summary(log, as_of="2011-12-09", include_first_transaction=True)[
            "frequency"
        ].sum(),
    ],
    ids=["rfm_table", "cohort_table", "purchase_history", "btyd_summary"],
)
def test_a_date_cutoff_includes_its_whole_day_everywhere(call) -> None:
    # the three orders of 1 and 9 December count; the one at midnight on the 10th does not
    assert _orders_counted(call) == 3


def test_a_cutoff_with_a_time_of_day_is_an_instant() -> None:
    with pytest.warns(CRMWarning, match="2 of 4 rows"):
        table = rfm_table(_around_the_cutoff(), as_of="2011-12-09 16:00")
    assert table["frequency"].sum() == 2


def test_the_invoice_export_gives_one_order_count_for_one_cutoff() -> None:
    raw = pd.read_csv(EXPORT)
    raw = raw[raw["CustomerID"] != "(blank)"]
    log = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].astype(str),
            "date": raw["InvoiceDate"],
            "amount": raw["Quantity"] * raw["UnitPrice"],
        }
    )
    # hand count with pandas: every invoice dated on or before 9 Dec 2011, whole day
    dates = pd.to_datetime(log["date"], format="%m/%d/%Y %H:%M")
    expected = int((dates < pd.Timestamp("2011-12-10")).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        with pytest.raises(ValidationError, match="not ISO 8601"):
            rfm_table(log, as_of="2011-12-09")
        kw = {"as_of": "2011-12-09", "date_format": "%m/%d/%Y %H:%M"}
        rfm = int(rfm_table(log, **kw)["frequency"].sum())
        cohorts = int(np.nansum(cohort_table(log, metric="orders", **kw).to_numpy()))
        history = int(purchase_history(log, **kw).to_numpy().sum())
    assert rfm == cohorts == history == expected


# ----------------------------------------------------------------- 7. one repeat definition


def test_tracking_counts_several_orders_at_one_time_once() -> None:
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "a", "a", "b"], "time": [0.0, 2.0, 2.0, 2.5, 1.0]}
    )
    # repeat purchases of a: at 2.0 (two orders, one purchase) and 2.5
    table = tracking_table(model, log, times=[1.0, 2.0, 3.0])
    assert table["actual_cumulative"].tolist() == [0.0, 1.0, 2.0]
    # with daily periods in weekly units (1/7), 2.0 and 2.1 are one purchase day
    log2 = pd.DataFrame({"customer_id": ["a", "a", "a"], "time": [0.0, 2.0, 2.1]})
    table = tracking_table(model, log2, times=[3.0], period=1 / 7)
    assert table["actual_cumulative"].tolist() == [1.0]


def test_tracking_actuals_equal_the_summary_definition_on_cdnow() -> None:
    from crmcore.datasets import load_cdnow_master

    master = load_cdnow_master()
    start = pd.Timestamp("1997-01-01")
    log = pd.DataFrame(
        {
            "customer_id": master["customer_id"],
            "time": (master["date"] - start) / pd.Timedelta(7, "D"),
        }
    )
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    table = tracking_table(model, log, times=[20.0, 40.0])
    # independent count: distinct (customer, day) pairs after each customer's first day
    days = master[["customer_id", "date"]].drop_duplicates()
    first = days.groupby("customer_id")["date"].transform("min")
    repeats = days.loc[days["date"] > first, "date"]
    weeks = (repeats - start) / pd.Timedelta(7, "D")
    expected = [float((weeks <= 20.0).sum()), float((weeks <= 40.0).sum())]
    assert table["actual_cumulative"].tolist() == expected
    # the same number btyd_summary gives at that cut-off (week 20.0 = day 140 = 21 May 1997)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        summary = btyd_summary(master, as_of="1997-05-21")
    assert summary["frequency"].sum() == expected[0]


# ----------------------------------------------------------------- 10. hourly data


def test_hourly_summary_counts_hours_and_travels_into_the_model() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2024-01-01 08:10", "2024-01-01 08:50", "2024-01-01 11:05", "2024-01-01 20:00"]
            ),
        }
    )
    summary = btyd_summary(log, as_of="2024-01-01", time_unit="h")
    # a: purchases in hours 8 and 11 -> 1 repeat, recency 3 h; T to hour 23 (the whole day)
    assert summary.loc["a"].tolist() == [1.0, 3.0, 15.0]
    assert summary.loc["b"].tolist() == [0.0, 0.0, 3.0]
    assert summary.attrs["time_unit"] == "h"
    model = BetaGeoModel().fit(btyd_summary(_hourly_log(), as_of="2024-01-10", time_unit="h"))
    assert model.time_unit_ == "h"


def _hourly_log() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 3000
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 400, n),
            "date": start + pd.to_timedelta(rng.uniform(0, 9 * 24, n), unit="h"),
        }
    )


# ----------------------------------------------------------------- the real export's traps


@pytest.mark.parametrize("placeholder", ["(blank)", "", "  N/A ", "unknown"])
def test_a_placeholder_customer_id_is_refused_not_summed_as_one_customer(placeholder) -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", placeholder, placeholder],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1.0, 2.0, 4.0],
        }
    )
    for call in (
        lambda f: rfm_table(f, as_of="2024-01-31"),
        lambda f: btyd_summary(f, as_of="2024-01-31"),
        lambda f: cohort_table(f, as_of="2024-01-31"),
    ):
        with pytest.raises(ValidationError, match=r"2 rows whose id means 'no customer'"):
            call(log)
    # the same rows dropped: a right answer (a has one order)
    kept = log[log["customer_id"] == "a"]
    assert rfm_table(kept, as_of="2024-01-31")["frequency"].tolist() == [1]


@pytest.mark.parametrize(
    "call",
    [
        lambda log: btyd_summary(log, amount_col="amount", as_of="2024-01-31"),
        lambda log: cohort_table(log, as_of="2024-01-31", metric="revenue"),
        lambda log: rfm_table(log, as_of="2024-01-31"),
        lambda log: customer_profitability(log),
    ],
    ids=["btyd_summary", "cohort_table", "rfm_table", "customer_profitability"],
)
def test_negative_amounts_are_counted_by_every_function_that_sums_them(call) -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
            "amount": [50.0, -20.0, 10.0],
        }
    )
    with pytest.warns(CRMWarning, match="1 rows have negative amounts"):
        call(log)


def test_the_invoice_export_with_unknown_customers_dropped_gives_right_counts() -> None:
    raw = pd.read_csv(EXPORT)
    log = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"].astype(str),
            "date": raw["InvoiceDate"],
            "amount": raw["Quantity"] * raw["UnitPrice"],
        }
    )
    kw = {"as_of": "2011-12-09", "date_format": "%m/%d/%Y %H:%M"}
    with pytest.raises(ValidationError, match="'no customer'"):
        rfm_table(log, **kw)
    known = log[log["customer_id"] != "(blank)"]
    # cancellations (negative quantities) are counted in the warning, never silently
    n_negative = int((known["amount"] < 0).sum())
    with pytest.warns(CRMWarning, match=f"{n_negative:,} rows have negative amounts"):
        table = rfm_table(known, **kw)
    assert len(table) == known["customer_id"].nunique()
