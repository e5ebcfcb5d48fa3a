"""ExchangeRates.convert_frame: dated, vectorised currency conversion of order frames (issue 8).

Every expected amount below is derived by hand from the rate table in the test (the arithmetic
is written out next to it); none is copied from crmcore's output. The rule under test is the one
``ExchangeRates`` documents: a rate is in force from its start date up to the day before the
next start of the same pair; the inverse pair gives ``1 / rate``; and ``convert_frame``
triangulates through one intermediate currency (alphabetical first that works on the day).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import ColumnNotFoundError, MissingRateError, ValidationError
from crmcore.money import ExchangeRates, Money


@pytest.fixture
def rates() -> ExchangeRates:
    return ExchangeRates(
        [
            ("GBP", "EUR", dt.date(2024, 1, 1), "1.20"),
            ("GBP", "EUR", dt.date(2024, 7, 1), "1.25"),
            ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
        ]
    )


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "date": ["2024-06-30", "2024-07-01", "2024-03-01", "2024-05-05", "2024-12-31"],
            "amount": [100.0, 100.0, 55.0, 20.0, 8.0],
            "currency": ["GBP", "GBP", "USD", "EUR", "GBP"],
        },
        index=[10, 11, 12, 13, 14],
    )


# ----------------------------------------------------------------------------- arithmetic


def test_direct_and_inverse_rates_are_applied_on_each_rows_date(rates: ExchangeRates) -> None:
    out = rates.convert_frame(_orders(), to="EUR")
    expected = [
        100.0 * 1.20,  # GBP on 2024-06-30: the January rate is still in force
        100.0 * 1.25,  # GBP on 2024-07-01: the July rate starts that very day
        55.0 / 1.10,  # USD -> EUR through the inverse of EUR->USD 1.10 = 50
        20.0,  # already EUR: unchanged
        8.0 * 1.25,  # GBP at year end: the July rate stays in force (rates never expire)
    ]
    np.testing.assert_allclose(out["amount"].to_numpy(), expected, rtol=1e-15)
    assert out["amount"].dtype == np.float64
    assert (out["currency"] == "EUR").all()
    # rows, order, index and the other columns are kept
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert list(out.columns) == ["customer_id", "date", "amount", "currency"]
    assert out["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert out["date"].tolist() == _orders()["date"].tolist()


def test_the_rate_switches_on_the_start_day_not_a_day_early_or_late(rates: ExchangeRates) -> None:
    days = pd.date_range("2024-06-28", "2024-07-03", freq="D")
    frame = pd.DataFrame({"date": days, "amount": 10.0, "currency": "GBP"})
    out = rates.convert_frame(frame, to="EUR")
    # 28, 29, 30 June at 1.20; 1, 2, 3 July at 1.25
    assert out["amount"].tolist() == pytest.approx([12.0, 12.0, 12.0, 12.5, 12.5, 12.5])


def test_a_late_evening_time_stays_on_its_own_calendar_day(rates: ExchangeRates) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-06-30 23:59:59", "2024-07-01 00:00:00"]).tz_localize(
                "America/New_York"
            ),
            "amount": [10.0, 10.0],
            "currency": ["GBP", "GBP"],
        }
    )
    # 30 June 23:59 in New York is 1 July in UTC, but the wall-clock day is 30 June: 10 * 1.20
    out = rates.convert_frame(frame, to="EUR")
    assert out["amount"].tolist() == pytest.approx([12.0, 12.5])


def test_triangulation_through_a_common_currency(rates: ExchangeRates) -> None:
    # no GBP/USD pair: GBP->EUR then EUR->USD, both in force on the row's date
    out = rates.convert_frame(_orders(), to="USD")
    expected = [
        100.0 * 1.20 * 1.10,  # 132.0
        100.0 * 1.25 * 1.10,  # 137.5
        55.0,  # already USD
        20.0 * 1.10,  # 22.0, direct
        8.0 * 1.25 * 1.10,  # 11.0
    ]
    np.testing.assert_allclose(out["amount"].to_numpy(), expected, rtol=1e-15)
    # and back: USD -> GBP inverts both legs: 55 / 1.10 / 1.20
    back = rates.convert_frame(_orders().iloc[[2]], to="GBP")
    assert back["amount"].tolist() == pytest.approx([55.0 / 1.10 / 1.20], rel=1e-15)


def test_intermediates_are_tried_alphabetically_and_per_day() -> None:
    # GBP->USD can go through CHF (1.15 * 1.12 = 1.288) or EUR (1.20 * 1.10 = 1.32); CHF comes
    # first alphabetically but its legs only start on 2024-03-01, so earlier rows use EUR.
    rates = ExchangeRates(
        [
            ("GBP", "EUR", dt.date(2024, 1, 1), "1.20"),
            ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
            ("GBP", "CHF", dt.date(2024, 3, 1), "1.15"),
            ("USD", "CHF", dt.date(2024, 1, 1), "0.80"),  # CHF->USD = 1 / 0.80 = 1.25
        ]
    )
    frame = pd.DataFrame(
        {"date": ["2024-02-29", "2024-03-01"], "amount": [100.0, 100.0], "currency": "GBP"}
    )
    out = rates.convert_frame(frame, to="USD")
    assert out["amount"].tolist() == pytest.approx(
        [100 * 1.20 * 1.10, 100 * 1.15 / 0.80], rel=1e-15
    )


def test_a_direct_rate_wins_over_triangulation_once_it_is_in_force(rates: ExchangeRates) -> None:
    with_direct = rates.add("GBP", "USD", dt.date(2024, 7, 1), "1.30")
    frame = pd.DataFrame(
        {"date": ["2024-06-30", "2024-07-01"], "amount": [100.0, 100.0], "currency": "GBP"}
    )
    out = with_direct.convert_frame(frame, to="USD")
    # before 1 July only the route via EUR exists (1.20 * 1.10); from 1 July the direct 1.30
    assert out["amount"].tolist() == pytest.approx([132.0, 130.0], rel=1e-15)


def test_exact_decimal_amounts_stay_exact_and_equal_the_scalar_convert(
    rates: ExchangeRates,
) -> None:
    frame = _orders().assign(
        amount=pd.Series(
            [Decimal("100.00"), Decimal("100.00"), Decimal("55"), Decimal("20.10"), Decimal("8")],
            index=_orders().index,
            dtype=object,
        )
    )
    out = rates.convert_frame(frame, to="EUR")
    assert out["amount"].dtype == object
    assert out["amount"].tolist() == [
        Decimal("100.00") * Decimal("1.20"),  # 120.0000
        Decimal("100.00") * Decimal("1.25"),  # 125.0000
        Decimal("55") * (Decimal(1) / Decimal("1.10")),  # inverse at 28 digits
        Decimal("20.10"),  # unchanged, same exponent
        Decimal("8") * Decimal("1.25"),
    ]
    assert str(out["amount"].iloc[3]) == "20.10"
    day = dt.date(2024, 3, 1)
    assert out["amount"].iloc[2] == rates.convert(Money("55", "USD"), "EUR", day).amount
    # triangulated exact: the product of the two Decimal rates in force
    usd = rates.convert_frame(frame, to="USD")
    assert usd["amount"].iloc[0] == Decimal("100.00") * (Decimal("1.20") * Decimal("1.10"))


def test_several_amount_columns_are_converted_with_the_same_rates(rates: ExchangeRates) -> None:
    frame = _orders().assign(
        amount_exact=pd.Series(
            [Decimal(str(a)) for a in _orders()["amount"]], index=_orders().index, dtype=object
        )
    )
    out = rates.convert_frame(frame, to="EUR", amount_col=("amount", "amount_exact"))
    np.testing.assert_allclose(
        out["amount_exact"].astype(float).to_numpy(), out["amount"].to_numpy(), rtol=1e-15
    )
    assert out["amount"].tolist() == pytest.approx([120.0, 125.0, 50.0, 20.0, 10.0])


def test_custom_column_names_and_a_day_first_date_format(rates: ExchangeRates) -> None:
    frame = pd.DataFrame(
        {"when": ["30/06/2024", "01/07/2024"], "value": [100.0, 100.0], "ccy": ["GBP", "GBP"]}
    )
    out = rates.convert_frame(
        frame,
        to="EUR",
        amount_col="value",
        currency_col="ccy",
        date_col="when",
        date_format="%d/%m/%Y",
    )
    assert out["value"].tolist() == pytest.approx([120.0, 125.0])
    assert out["ccy"].tolist() == ["EUR", "EUR"]


# ----------------------------------------------------------------------------- errors


def _jpy_frame() -> pd.DataFrame:
    # 42 EUR rows dated before the EUR->JPY rate starts, 3 GBP rows before any GBP route
    early = pd.date_range("2010-12-01", periods=42, freq="17h")  # up to 30 Dec 2010, 21:00
    eur = pd.DataFrame({"date": early, "amount": 1.0, "currency": "EUR"})
    late = pd.DataFrame({"date": pd.to_datetime(["2011-02-01"]), "amount": 1.0, "currency": "EUR"})
    gbp = pd.DataFrame(
        {"date": pd.to_datetime(["2010-06-01"] * 3), "amount": 1.0, "currency": "GBP"}
    )
    return pd.concat([late, eur, gbp], ignore_index=True)


def test_a_missing_rate_names_the_pair_the_first_date_and_the_count() -> None:
    rates = ExchangeRates(
        [("EUR", "JPY", dt.date(2011, 1, 1), 110), ("GBP", "EUR", dt.date(2011, 1, 1), "1.2")]
    )
    with pytest.raises(MissingRateError) as info:
        rates.convert_frame(_jpy_frame(), to="JPY")
    message = str(info.value)
    assert message.startswith(
        "ExchangeRates.convert_frame: no EUR->JPY rate in force on 2010-12-01 "
        "(and 41 more rows, 42 in all; rates start 2011-01-01)."
    )
    assert "First rows: 1, 2, 3, 4, 5, ..." in message
    # the GBP rows have a route through EUR that starts 2011-01-01 as well
    assert "Also missing: GBP->JPY (3 rows from 2010-06-01, rates start 2011-01-01)" in message
    assert "Hint:" in message
    assert isinstance(info.value, LookupError)


def test_a_currency_without_any_route_says_so_and_lists_the_pairs(rates: ExchangeRates) -> None:
    frame = pd.DataFrame({"date": ["2024-03-01"], "amount": [1.0], "currency": ["JPY"]})
    with pytest.raises(MissingRateError, match=r"no JPY->EUR rate in force on 2024-03-01 "):
        rates.convert_frame(frame, to="EUR")
    with pytest.raises(MissingRateError, match="pairs available: EUR->USD, GBP->EUR"):
        rates.convert_frame(frame, to="EUR")


def test_two_intermediate_steps_are_not_searched() -> None:
    # GBP->EUR->USD->JPY needs two intermediates: documented as out of reach
    rates = ExchangeRates(
        [
            ("GBP", "EUR", dt.date(2024, 1, 1), "1.2"),
            ("EUR", "USD", dt.date(2024, 1, 1), "1.1"),
            ("USD", "JPY", dt.date(2024, 1, 1), "150"),
        ]
    )
    frame = pd.DataFrame({"date": ["2024-03-01"], "amount": [1.0], "currency": ["GBP"]})
    with pytest.raises(MissingRateError, match="no GBP->JPY rate"):
        rates.convert_frame(frame, to="JPY")


def test_missing_currency_or_amount_is_a_validation_error_with_count_and_rows(
    rates: ExchangeRates,
) -> None:
    frame = _orders()
    frame.loc[[11, 13], "currency"] = None
    frame.loc[12, "amount"] = np.nan
    with pytest.raises(ValidationError) as info:
        rates.convert_frame(frame, to="EUR")
    message = str(info.value)
    assert "column 'amount' has 1 missing values (first rows: 12)" in message
    assert "column 'currency' has 2 missing values (first rows: 11, 13)" in message


def test_unknown_currency_codes_are_named_with_count_and_rows(rates: ExchangeRates) -> None:
    frame = _orders().assign(currency=["GBP", "gbp", "USD", "XYZ", "gbp"])
    with pytest.raises(ValidationError) as info:
        rates.convert_frame(frame, to="EUR")
    message = str(info.value)
    assert "3 rows whose code is not an active ISO-4217 code ('gbp', 'XYZ'" in message
    assert "first rows: 11, 13, 14" in message


def test_a_missing_date_on_a_row_to_convert_is_refused_but_not_on_a_target_row(
    rates: ExchangeRates,
) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-01", None, None]),
            "amount": [1.0, 2.0, 3.0],
            "currency": ["GBP", "EUR", "GBP"],
        }
    )
    with pytest.raises(ValidationError, match=r"1 missing dates on rows that need converting"):
        rates.convert_frame(frame, to="EUR")
    fine = rates.convert_frame(frame.iloc[:2], to="EUR")
    assert fine["amount"].tolist() == pytest.approx([1.20, 2.0])


def test_bad_arguments_are_validation_errors(rates: ExchangeRates) -> None:
    with pytest.raises(ValidationError, match=re.escape("ExchangeRates.convert_frame.to must be")):
        rates.convert_frame(_orders(), to="eur")
    with pytest.raises(ColumnNotFoundError, match="column 'price' not found"):
        rates.convert_frame(_orders(), to="EUR", amount_col="price")
    with pytest.raises(ValidationError, match="must hold numbers"):
        rates.convert_frame(_orders().assign(amount=["1", "2", "3", "4", "5"]), to="EUR")
    with pytest.raises(ValidationError, match="expected a pandas, Polars or PyArrow DataFrame"):
        rates.convert_frame([1, 2], to="EUR")


def test_scalar_convert_with_nat_is_a_validation_error(rates: ExchangeRates) -> None:
    with pytest.raises(
        ValidationError, match=re.escape("ExchangeRates.convert: on must be a datetime.date")
    ):
        rates.convert(Money("1", "GBP"), "EUR", pd.NaT)
    with pytest.raises(ValidationError, match=re.escape("on must be a datetime.date")):
        rates.rate("GBP", "EUR", pd.NaT)
    with pytest.raises(ValueError):  # ValidationError is still a ValueError for callers
        rates.convert(Money("1", "GBP"), "EUR", pd.NaT)


# ----------------------------------------------------------------------------- backends


def test_pandas_polars_and_pyarrow_give_the_same_result_in_their_own_backend(
    rates: ExchangeRates,
) -> None:
    frame = _orders().reset_index(drop=True)
    from_pandas = rates.convert_frame(frame, to="USD")
    from_polars = rates.convert_frame(pl.from_pandas(frame), to="USD")
    from_arrow = rates.convert_frame(pa.Table.from_pandas(frame, preserve_index=False), to="USD")
    assert isinstance(from_pandas, pd.DataFrame)
    assert isinstance(from_polars, pl.DataFrame)
    assert isinstance(from_arrow, pa.Table)
    expected = [132.0, 137.5, 55.0, 22.0, 11.0]  # see test_triangulation_through_...
    for out in (from_polars["amount"].to_list(), from_arrow.column("amount").to_pylist()):
        assert out == pytest.approx(expected, rel=1e-15)
        assert out == from_pandas["amount"].tolist()
    assert from_polars.columns == list(frame.columns)
    assert from_arrow.column_names == list(frame.columns)
    assert from_polars["currency"].to_list() == ["USD"] * 5
    assert from_arrow.column("currency").to_pylist() == ["USD"] * 5


def test_polars_native_dates_and_missing_values_are_handled(rates: ExchangeRates) -> None:
    frame = pl.DataFrame(
        {
            "date": [dt.date(2024, 6, 30), dt.date(2024, 7, 1)],
            "amount": [100, 100],  # integers come back as float64
            "currency": ["GBP", "GBP"],
        }
    )
    out = rates.convert_frame(frame, to="EUR")
    assert out["amount"].dtype == pl.Float64
    assert out["amount"].to_list() == pytest.approx([120.0, 125.0])
    with pytest.raises(ValidationError, match=r"column 'amount' has 1 missing values"):
        rates.convert_frame(frame.with_columns(pl.Series("amount", [1.0, None])), to="EUR")


def test_the_input_is_never_mutated(rates: ExchangeRates) -> None:
    frame = _orders()
    before = frame.copy(deep=True)
    rates.convert_frame(frame, to="EUR")
    pd.testing.assert_frame_equal(frame, before)
    polars_frame = pl.from_pandas(before.reset_index(drop=True))
    polars_before = polars_frame.clone()
    rates.convert_frame(polars_frame, to="EUR")
    assert polars_frame.equals(polars_before)
    table = pa.Table.from_pandas(before, preserve_index=False)
    table_before = table.to_pylist()
    rates.convert_frame(table, to="EUR")
    assert table.to_pylist() == table_before


# ----------------------------------------------------------------------------- invariants


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["EUR", "GBP", "USD"]),
            st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
            st.decimals("0.01", "10000", places=2),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["EUR", "GBP", "USD"]),
)
def test_rows_agree_with_the_scalar_convert_where_it_has_a_rate(
    rows: list[tuple[str, dt.date, Decimal]], to: str
) -> None:
    # direct and inverse pairs only (no triangulation needed), two dated GBP/EUR rates
    rates = ExchangeRates(
        [
            ("GBP", "EUR", dt.date(2024, 1, 1), "1.20"),
            ("GBP", "EUR", dt.date(2024, 7, 1), "1.25"),
            ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
            ("USD", "GBP", dt.date(2024, 1, 1), "0.79"),
        ]
    )
    frame = pd.DataFrame(
        {
            "currency": [c for c, _, _ in rows],
            "date": [d for _, d, _ in rows],
            "amount": pd.Series([a for _, _, a in rows], dtype=object),
        }
    )
    out = rates.convert_frame(frame, to=to)
    expected = [rates.convert(Money(a, c), to, d).amount for c, d, a in rows]
    assert out["amount"].tolist() == expected
    as_float = rates.convert_frame(frame.assign(amount=frame["amount"].astype(float)), to=to)
    np.testing.assert_allclose(
        as_float["amount"].to_numpy(), [float(e) for e in expected], rtol=1e-14
    )


def test_a_million_rows_are_converted_by_array_operations() -> None:
    # correctness at scale against a hand-written np.where of the same rule; the time is
    # measured and reported by the slice, not asserted here
    rng = np.random.default_rng(8)
    size = 1_000_000
    days = np.datetime64("2024-01-01") + rng.integers(0, 366, size).astype("timedelta64[D]")
    currency = rng.choice(np.array(["EUR", "GBP", "USD"], dtype=object), size)
    amount = rng.uniform(1.0, 500.0, size)
    rates = ExchangeRates(
        [
            ("GBP", "EUR", dt.date(2024, 1, 1), "1.20"),
            ("GBP", "EUR", dt.date(2024, 7, 1), "1.25"),
            ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
        ]
    )
    frame = pd.DataFrame({"date": days, "amount": amount, "currency": currency})
    out = rates.convert_frame(frame, to="USD")
    gbp_eur = np.where(days >= np.datetime64("2024-07-01"), 1.25, 1.20)
    factor = np.select([currency == "EUR", currency == "GBP"], [1.10, gbp_eur * 1.10], 1.0)
    np.testing.assert_allclose(out["amount"].to_numpy(), amount * factor, rtol=1e-15)
