"""Tests for crmcore.money: Money arithmetic, rounding, text, and dated exchange rates."""

from __future__ import annotations

import datetime as dt
import pickle
import sys
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.exceptions import (
    CRMError,
    CurrencyMismatchError,
    MissingRateError,
    ValidationError,
)
from crmcore.money import ISO_4217_MINOR_UNITS, ExchangeRates, Money, validate_currency_code

# ---------------------------------------------------------------- construction


def test_amount_accepts_decimal_int_str_and_float_through_str() -> None:
    assert Money(Decimal("1.10"), "USD").amount == Decimal("1.10")
    assert Money(7, "USD").amount == Decimal(7)
    assert Money(" 2.50 ", "USD").amount == Decimal("2.50")
    assert str(Money(0.1, "USD").amount) == "0.1"  # not 0.1000000000000000055511151231257827


@pytest.mark.parametrize("bad", [True, float("nan"), float("inf"), "NaN", "-Infinity", "abc", None])
def test_amount_rejects_bool_nan_infinity_and_garbage_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"Money\.amount") as info:
        Money(bad, "USD")  # type: ignore[arg-type]
    assert type(bad).__name__ in str(info.value)


def test_unknown_currency_is_rejected_naming_the_field_value_and_a_hint() -> None:
    with pytest.raises(ValidationError, match=r"Money\.currency.*'XYZ'.*Hint") as info:
        Money(1, "XYZ")
    assert isinstance(info.value, CRMError) and isinstance(info.value, ValueError)


def test_lowercase_currency_is_rejected_with_the_uppercase_suggestion() -> None:
    with pytest.raises(ValidationError, match="did you mean 'EUR'"):
        Money(1, "eur")


def test_currency_table_has_the_full_active_list_with_known_minor_units() -> None:
    assert len(ISO_4217_MINOR_UNITS) >= 165  # List One has ~180 codes, ~13 without minor units
    expected = {"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3, "BHD": 3, "CLF": 4, "UYW": 4, "ISK": 0}
    for code, digits in expected.items():
        assert ISO_4217_MINOR_UNITS[code] == digits
    assert all(len(code) == 3 and code.isupper() for code in ISO_4217_MINOR_UNITS)
    with pytest.raises(TypeError):
        ISO_4217_MINOR_UNITS["ABC"] = 2  # type: ignore[index]


def test_validate_currency_code_returns_a_valid_code_unchanged() -> None:
    assert validate_currency_code("KWD") == "KWD"
    with pytest.raises(ValidationError, match=r"Order\.currency"):
        validate_currency_code(840, owner="Order")


def test_money_is_frozen_hashable_and_picklable() -> None:
    price = Money("1.50", "EUR")
    with pytest.raises(AttributeError):
        price.amount = Decimal(2)  # type: ignore[misc]
    assert len({price, Money("1.5", "EUR"), Money("1.50", "USD")}) == 2
    assert pickle.loads(pickle.dumps(price)) == price


# ---------------------------------------------------------------- arithmetic


def test_addition_and_subtraction_stay_in_the_currency() -> None:
    assert Money("1.25", "USD") + Money("2.50", "USD") == Money("3.75", "USD")
    assert Money("1.25", "USD") - Money("2.50", "USD") == Money("-1.25", "USD")
    assert -Money("1.25", "USD") == Money("-1.25", "USD")
    assert abs(Money("-4", "USD")) == Money("4", "USD")


def test_adding_two_currencies_raises_a_type_error_with_a_plain_sentence() -> None:
    with pytest.raises(TypeError) as info:
        Money(1, "USD") + Money(1, "EUR")
    assert isinstance(info.value, CurrencyMismatchError)
    assert str(info.value) == (
        "Cannot add Money in USD and EUR; convert one with ExchangeRates first."
    )
    with pytest.raises(CurrencyMismatchError, match="subtract"):
        Money(1, "USD") - Money(1, "EUR")


def test_ordering_across_currencies_raises_but_equality_is_false() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") < Money(2, "EUR")  # noqa: B015
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") >= Money(2, "EUR")  # noqa: B015
    assert (Money(1, "USD") == Money(1, "EUR")) is False
    assert Money(1, "USD") != Money(1, "EUR")


def test_comparisons_within_one_currency() -> None:
    small, large = Money("1.99", "GBP"), Money("2", "GBP")
    assert small < large and small <= large and large > small and large >= small
    assert Money("2.00", "GBP") == large and Money("2.00", "GBP") <= large


def test_sum_works_because_zero_plus_money_is_allowed() -> None:
    assert sum([Money("0.10", "EUR"), Money("0.20", "EUR"), Money("0.30", "EUR")]) == Money(
        "0.60", "EUR"
    )
    assert Money(5, "EUR") + 0 == Money(5, "EUR")
    assert 0 + Money(5, "EUR") == Money(5, "EUR")


def test_adding_a_nonzero_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(5, "EUR") + 1
    with pytest.raises(TypeError):
        1 + Money(5, "EUR")


def test_multiplication_and_division_by_numbers() -> None:
    assert Money("2.50", "USD") * 3 == Money("7.50", "USD")
    assert 3 * Money("2.50", "USD") == Money("7.50", "USD")
    assert Money("2.50", "USD") * Decimal("0.5") == Money("1.25", "USD")
    assert Money("10", "USD") * 0.1 == Money("1", "USD")  # via str(0.1), exact
    assert Money("7.50", "USD") / 3 == Money("2.50", "USD")
    assert Money("1", "USD") / 4 == Money("0.25", "USD")


def test_money_times_money_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Cannot multiply Money by Money"):
        Money(2, "USD") * Money(3, "USD")


def test_money_divided_by_money_is_a_decimal_ratio() -> None:
    ratio = Money("7.50", "USD") / Money("2.50", "USD")
    assert isinstance(ratio, Decimal) and ratio == 3
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") / Money(1, "EUR")


def test_division_by_zero_raises_zero_division_error() -> None:
    with pytest.raises(ZeroDivisionError):
        Money(1, "USD") / 0


def test_bool_is_true_only_for_a_nonzero_amount() -> None:
    assert not Money("0.00", "USD")
    assert Money("0.01", "USD")
    assert Money("-0.01", "USD")


# ---------------------------------------------------------------- minor units and rounding


def test_zero_and_from_minor_units() -> None:
    assert Money.zero("KWD") == Money(0, "KWD")
    assert Money.from_minor_units(12345, "KWD").amount == Decimal("12.345")
    assert Money.from_minor_units(12345, "JPY").amount == Decimal(12345)
    assert Money.from_minor_units(-5, "USD").amount == Decimal("-0.05")
    with pytest.raises(ValidationError):
        Money.from_minor_units(True, "USD")


def test_minor_units_property() -> None:
    assert [Money(1, c).minor_units for c in ("JPY", "USD", "KWD", "CLF")] == [0, 2, 3, 4]


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.5", "JPY", "1234"),  # half to even: 4 stays
        ("1235.5", "JPY", "1236"),  # half to even: 5 -> 6
        ("0.0125", "KWD", "0.012"),
        ("0.0135", "KWD", "0.014"),
        ("2.345", "USD", "2.34"),
        ("2.355", "USD", "2.36"),
        ("7", "USD", "7.00"),
    ],
)
def test_rounding_to_minor_units_is_half_even_by_default(
    amount: str, currency: str, expected: str
) -> None:
    rounded = Money(amount, currency).round_to_minor_units()
    assert str(rounded.amount) == expected


def test_rounding_mode_can_be_chosen() -> None:
    assert Money("2.345", "USD").round_to_minor_units(ROUND_HALF_UP).amount == Decimal("2.35")


# ---------------------------------------------------------------- text


def test_str_shows_the_amount_padded_to_minor_units_then_the_code() -> None:
    assert str(Money("12.5", "USD")) == "12.50 USD"
    assert str(Money("12.505", "USD")) == "12.505 USD"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert str(Money("1", "KWD")) == "1.000 KWD"
    assert str(Money(Decimal("1E+3"), "EUR")) == "1000.00 EUR"


def test_repr_round_trips_the_exact_amount() -> None:
    assert repr(Money("12.50", "USD")) == "Money('12.50', 'USD')"
    money = Money("-0.0300", "EUR")
    assert eval(repr(money)) == money
    assert str(eval(repr(money)).amount) == "-0.0300"


# ---------------------------------------------------------------- properties

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD"])
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False)


@given(a=amounts, b=amounts, currency=currencies)
def test_adding_then_subtracting_gives_back_the_original(
    a: Decimal, b: Decimal, currency: str
) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert x + y - y == x
    assert x + y == y + x
    assert x - x == Money.zero(currency)


@given(values=st.lists(amounts, max_size=20), currency=currencies)
def test_sum_equals_money_of_the_decimal_sum(values: list[Decimal], currency: str) -> None:
    total = sum((Money(v, currency) for v in values), Money.zero(currency))
    assert total == Money(sum(values, Decimal(0)), currency)


@given(a=amounts, currency=currencies)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(a: Decimal, currency: str) -> None:
    rounded = Money(a, currency).round_to_minor_units()
    assert rounded.round_to_minor_units() == rounded
    step = Decimal(1).scaleb(-ISO_4217_MINOR_UNITS[currency])
    assert abs(rounded.amount - a) <= step / 2


@given(a=amounts, b=amounts, currency=currencies)
def test_ordering_agrees_with_the_amounts(a: Decimal, b: Decimal, currency: str) -> None:
    assert (Money(a, currency) < Money(b, currency)) == (a < b)


# ---------------------------------------------------------------- exchange rates

JAN1 = dt.date(2024, 1, 1)
JUL1 = dt.date(2024, 7, 1)


@pytest.fixture
def rates() -> ExchangeRates:
    return ExchangeRates(
        [
            ("EUR", "USD", JUL1, "1.08"),  # out of order on purpose
            ("EUR", "USD", JAN1, "1.10"),
            ("USD", "JPY", JAN1, 150),
        ]
    )


def test_the_rate_in_force_runs_up_to_the_day_before_the_next_start(
    rates: ExchangeRates,
) -> None:
    assert rates.rate("EUR", "USD", JAN1) == Decimal("1.10")
    assert rates.rate("EUR", "USD", dt.date(2024, 6, 30)) == Decimal("1.10")
    assert rates.rate("EUR", "USD", JUL1) == Decimal("1.08")
    assert rates.rate("EUR", "USD", dt.date(2030, 1, 1)) == Decimal("1.08")


def test_the_inverse_pair_is_used_when_only_the_reverse_is_given(rates: ExchangeRates) -> None:
    assert rates.rate("JPY", "USD", JUL1) == Decimal(1) / Decimal(150)
    assert rates.rate("USD", "EUR", JAN1) == Decimal(1) / Decimal("1.10")


def test_the_identity_pair_is_one(rates: ExchangeRates) -> None:
    assert rates.rate("KWD", "KWD", dt.date(1999, 1, 1)) == 1


def test_a_datetime_counts_as_its_calendar_date(rates: ExchangeRates) -> None:
    late = dt.datetime(2024, 6, 30, 23, 59, tzinfo=dt.timezone.utc)
    assert rates.rate("EUR", "USD", late) == Decimal("1.10")


def test_missing_rate_message_names_pair_date_and_earliest_start(rates: ExchangeRates) -> None:
    with pytest.raises(MissingRateError) as info:
        rates.rate("USD", "EUR", dt.date(2023, 12, 31))
    message = str(info.value)
    assert "USD->EUR" in message and "2023-12-31" in message and "2024-01-01" in message
    assert isinstance(info.value, LookupError) and isinstance(info.value, CRMError)


def test_missing_pair_lists_the_available_pairs(rates: ExchangeRates) -> None:
    with pytest.raises(MissingRateError, match=r"GBP->USD.*EUR->USD, USD->JPY"):
        rates.rate("GBP", "USD", JUL1)


def test_convert_multiplies_by_the_rate_in_force(rates: ExchangeRates) -> None:
    assert rates.convert(Money("100.00", "EUR"), "USD", JUL1) == Money("108", "USD")
    assert rates.convert(Money(3000, "JPY"), "USD", JUL1) == Money(20, "USD")


def test_add_returns_a_new_table_and_leaves_the_old_one(rates: ExchangeRates) -> None:
    newer = rates.add("EUR", "USD", dt.date(2025, 1, 1), "1.02")
    assert len(rates) == 3 and len(newer) == 4
    assert newer.rate("EUR", "USD", dt.date(2025, 1, 1)) == Decimal("1.02")
    assert rates.rate("EUR", "USD", dt.date(2025, 1, 1)) == Decimal("1.08")
    with pytest.raises(AttributeError):
        rates._table = {}


def test_repr_counts_rates_and_lists_pairs(rates: ExchangeRates) -> None:
    assert repr(rates) == "ExchangeRates(3 rates; pairs: EUR->USD, USD->JPY)"


@pytest.mark.parametrize("bad_rate", [0, -1, "0", "nan", True, None])
def test_non_positive_or_invalid_rates_are_rejected(bad_rate: object) -> None:
    with pytest.raises(ValidationError, match=r"records\[0\]\.rate"):
        ExchangeRates([("EUR", "USD", JAN1, bad_rate)])  # type: ignore[list-item]


def test_a_duplicate_pair_and_start_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"records\[1\].*EUR->USD.*2024-01-01"):
        ExchangeRates([("EUR", "USD", JAN1, "1.1"), ("EUR", "USD", JAN1, "1.2")])


def test_unknown_currencies_and_datetimes_as_start_are_rejected() -> None:
    with pytest.raises(ValidationError, match="base"):
        ExchangeRates([("EUX", "USD", JAN1, "1.1")])
    with pytest.raises(ValidationError, match="start_date"):
        ExchangeRates([("EUR", "USD", dt.datetime(2024, 1, 1), "1.1")])
    with pytest.raises(ValidationError, match="into itself"):
        ExchangeRates([("EUR", "EUR", JAN1, "1")])


def test_exchange_rates_compare_pickle_and_iterate(rates: ExchangeRates) -> None:
    copy = pickle.loads(pickle.dumps(rates))
    assert copy == rates and hash(copy) == hash(rates)
    assert list(rates) == [
        ("EUR", "USD", JAN1, Decimal("1.10")),
        ("EUR", "USD", JUL1, Decimal("1.08")),
        ("USD", "JPY", JAN1, Decimal(150)),
    ]


def test_money_module_does_not_import_numpy_or_pandas() -> None:
    import subprocess

    code = (
        "import sys, crmcore.money, crmcore.customers; "
        "print(any(m.split('.')[0] in ('numpy', 'pandas') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
