"""Exact money: a Decimal amount in an ISO-4217 currency, and a dated exchange-rate table.

This module imports only the standard library and attrs, so ERP code can use it cheaply
(it never imports numpy or pandas).

:class:`Money` is a frozen value: arithmetic stays inside one currency, mixing currencies raises
:class:`~crmcore.exceptions.CurrencyMismatchError` (a :class:`TypeError`), and ``sum()`` works
because ``0 + Money`` is allowed. :class:`ExchangeRates` is an immutable table of dated rates used
to convert between currencies explicitly.

Notes
-----
Amounts are never rounded implicitly: ``Money('10', 'USD') / 3`` keeps the full Decimal context
precision (28 significant digits). Call :meth:`Money.round_to_minor_units` when a payable amount
is needed.

The currency table :data:`ISO_4217_MINOR_UNITS` holds the active ISO-4217 codes that have a
defined number of minor units (fund codes such as ``CLF`` and ``USN`` included). Precious metals,
special drawing rights and testing codes (``XAU``, ``XDR``, ``XTS``, ``XXX``, ...) have no minor
units and are not accepted.

Examples
--------
>>> from crmcore.money import Money
>>> total = sum([Money("12.50", "USD"), Money(3, "USD")])
>>> total
Money('15.50', 'USD')
>>> str(total)
'15.50 USD'
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs

from crmcore.exceptions import CurrencyMismatchError, MissingRateError, ValidationError

__all__ = [
    "ISO_4217_MINOR_UNITS",
    "ExchangeRates",
    "Money",
    "validate_currency_code",
]

#: A number Money accepts as an amount or a factor (float goes through ``str`` first).
Number: TypeAlias = Decimal | int | str | float

# Active ISO-4217 codes with their minor units (List One of the ISO 4217 maintenance agency,
# including fund codes; codes whose minor unit is "N.A." are left out).
_ISO_4217: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
    "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2,
    "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2,
    "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
    "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2,
    "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0,
    "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2,
    "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2,
    "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2,
    "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2,
    "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
    "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2,
    "SGD": 2, "SHP": 2, "SLE": 2, "SLL": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2,
    "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2,
    "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2, "UYW": 4,
    "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2,
    "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip

#: Read-only mapping of active ISO-4217 currency codes to their number of minor units.
ISO_4217_MINOR_UNITS: Final[Mapping[str, int]] = MappingProxyType(_ISO_4217)


def _describe(value: object) -> str:
    return f"{value!r} (type {type(value).__name__})"


def validate_currency_code(code: object, *, field: str = "currency", owner: str = "Money") -> str:
    """Return `code` if it is an active ISO-4217 currency code, else raise ValidationError.

    Parameters
    ----------
    code : object
        The value to check; it must be a ``str`` of three uppercase letters listed in
        :data:`ISO_4217_MINOR_UNITS`.
    field : str, default "currency"
        The field name used in the error message.
    owner : str, default "Money"
        The class or function name used in the error message.

    Returns
    -------
    str
        `code`, unchanged.

    Raises
    ------
    ValidationError
        If `code` is not a str or not an active ISO-4217 code. The message names the field, shows
        the value and its type, and suggests the nearest code.

    Examples
    --------
    >>> validate_currency_code("EUR")
    'EUR'
    >>> validate_currency_code("usd")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: Money.currency must be an active ISO-4217 code of three \
uppercase letters; got 'usd' (type str). Hint: did you mean 'USD'?
    """
    if isinstance(code, str) and code in _ISO_4217:
        return code
    hint = "Hint: see crmcore.money.ISO_4217_MINOR_UNITS for the accepted codes."
    if isinstance(code, str):
        upper = code.strip().upper()
        if upper in _ISO_4217:
            hint = f"Hint: did you mean {upper!r}?"
        else:
            near = difflib.get_close_matches(upper, _ISO_4217, n=3)
            if near:
                hint = f"Hint: did you mean one of {', '.join(near)}?"
    raise ValidationError(
        f"{owner}.{field} must be an active ISO-4217 code of three uppercase letters; "
        f"got {_describe(code)}. {hint}"
    )


def _to_decimal(value: object) -> Decimal | None:
    """Convert an accepted number to Decimal; return None when the value is not acceptable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _convert_amount(value: Decimal | int | str | float) -> Any:
    # Lenient: values that cannot be converted pass through and the validator names the field.
    converted = _to_decimal(value)
    return value if converted is None else converted


def _check_amount(instance: Money, attribute: attrs.Attribute[Decimal], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(
            f"Money.{attribute.name} must be a finite number given as Decimal, int, str or float "
            f"(not bool, NaN or infinity); got {_describe(value)}."
        )


def _check_currency(instance: Money, attribute: attrs.Attribute[str], value: object) -> None:
    validate_currency_code(value, field=attribute.name, owner="Money")


def _factor(value: object) -> Decimal | None:
    """A finite Decimal multiplier, or None when `value` is not a plain number."""
    if isinstance(value, (str, bool)):
        return None
    converted = _to_decimal(value)
    if converted is None or not converted.is_finite():
        return None
    return converted


@attrs.frozen(order=False)
class Money:
    """An exact amount of money in one ISO-4217 currency.

    Parameters
    ----------
    amount : Decimal, int, str or float
        The amount. A float is converted through ``str`` (``0.1`` becomes ``Decimal('0.1')``);
        ``bool``, NaN and infinity are rejected.
    currency : str
        An active ISO-4217 code in uppercase, e.g. ``"USD"``; see :data:`ISO_4217_MINOR_UNITS`.

    Raises
    ------
    ValidationError
        If the amount is not a finite number or the currency is not an active ISO-4217 code.
        The message names the field and shows the value and its type.

    Notes
    -----
    * ``+``, ``-``, comparisons and ``Money / Money`` need the same currency; otherwise
      :class:`~crmcore.exceptions.CurrencyMismatchError` (a ``TypeError``) is raised.
      ``==`` between currencies is simply ``False``.
    * ``Money * number`` and ``Money / number`` return Money; ``Money * Money`` is a TypeError;
      ``Money / Money`` returns the Decimal ratio.
    * ``0 + Money`` and ``Money + 0`` return the Money, so ``sum()`` works.
    * No implicit rounding: use :meth:`round_to_minor_units`.

    Examples
    --------
    >>> price = Money("19.99", "EUR")
    >>> price * 3
    Money('59.97', 'EUR')
    >>> price - Money(5, "EUR")
    Money('14.99', 'EUR')
    >>> price / Money("9.995", "EUR")
    Decimal('2')
    >>> price == Money("19.99", "USD")
    False
    >>> price + Money(1, "USD")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.CurrencyMismatchError: Cannot add Money in EUR and USD; convert one with \
ExchangeRates first.
    """

    amount: Decimal = attrs.field(converter=_convert_amount, validator=_check_amount)
    currency: str = attrs.field(validator=_check_currency)

    # ----------------------------------------------------------------- constructors
    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in `currency`.

        Parameters
        ----------
        currency : str
            An active ISO-4217 code.

        Returns
        -------
        Money
            ``Money(0, currency)``.

        Examples
        --------
        >>> Money.zero("JPY")
        Money('0', 'JPY')
        """
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor_units(cls, minor_units: int, currency: str) -> Money:
        """Build Money from an integer count of minor units (cents, fils, ...).

        Parameters
        ----------
        minor_units : int
            The amount in the currency's smallest unit, e.g. cents for USD.
        currency : str
            An active ISO-4217 code.

        Returns
        -------
        Money
            ``minor_units / 10 ** digits`` where ``digits`` is the currency's minor units.

        Raises
        ------
        ValidationError
            If `minor_units` is not an int (bool is rejected) or the currency is unknown.

        Examples
        --------
        >>> Money.from_minor_units(1250, "USD")
        Money('12.50', 'USD')
        >>> Money.from_minor_units(1250, "KWD")
        Money('1.250', 'KWD')
        >>> Money.from_minor_units(1250, "JPY")
        Money('1250', 'JPY')
        """
        validate_currency_code(currency, owner="Money.from_minor_units")
        if isinstance(minor_units, bool) or not isinstance(minor_units, int):
            raise ValidationError(
                f"Money.from_minor_units: minor_units must be an int; got {_describe(minor_units)}."
            )
        return cls(Decimal(minor_units).scaleb(-_ISO_4217[currency]), currency)

    # ----------------------------------------------------------------- properties
    @property
    def minor_units(self) -> int:
        """The number of decimal places of the currency (USD 2, JPY 0, KWD 3, CLF 4).

        Examples
        --------
        >>> Money(1, "KWD").minor_units
        3
        """
        return _ISO_4217[self.currency]

    def round_to_minor_units(self, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Return this amount quantized to the currency's minor units.

        Parameters
        ----------
        rounding : str, default decimal.ROUND_HALF_EVEN
            A :mod:`decimal` rounding mode (banker's rounding by default).

        Returns
        -------
        Money
            A new Money with exactly :attr:`minor_units` decimal places.

        Examples
        --------
        >>> Money("2.345", "USD").round_to_minor_units()
        Money('2.34', 'USD')
        >>> from decimal import ROUND_HALF_UP
        >>> Money("2.345", "USD").round_to_minor_units(ROUND_HALF_UP)
        Money('2.35', 'USD')
        >>> Money("1234.5", "JPY").round_to_minor_units()
        Money('1234', 'JPY')
        """
        quantum = Decimal(1).scaleb(-self.minor_units)
        return Money(self.amount.quantize(quantum, rounding=rounding), self.currency)

    # ----------------------------------------------------------------- arithmetic
    def _same_currency(self, other: Money, verb: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"Cannot {verb} Money in {self.currency} and {other.currency}; "
                "convert one with ExchangeRates first."
            )

    def __add__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_currency(other, "add")
            return Money(self.amount + other.amount, self.currency)
        if _is_plain_zero(other):
            return self
        return NotImplemented

    def __radd__(self, other: object) -> Money:
        if _is_plain_zero(other):
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if isinstance(other, Money):
            self._same_currency(other, "subtract")
            return Money(self.amount - other.amount, self.currency)
        return NotImplemented

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, other: object) -> Money:
        if isinstance(other, Money):
            raise TypeError(
                "Cannot multiply Money by Money; multiply by a number (int, Decimal or float)."
            )
        factor = _factor(other)
        if factor is None:
            return NotImplemented
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Any:
        if isinstance(other, Money):
            self._same_currency(other, "divide")
            return self.amount / other.amount
        factor = _factor(other)
        if factor is None:
            return NotImplemented
        return Money(self.amount / factor, self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    # ----------------------------------------------------------------- ordering
    def _compare_key(self, other: object, verb: str) -> Decimal | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other, verb)
        return other.amount

    def __lt__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else self.amount < key

    def __le__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else self.amount <= key

    def __gt__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else self.amount > key

    def __ge__(self, other: object) -> bool:
        key = self._compare_key(other, "compare")
        return NotImplemented if key is None else self.amount >= key

    # ----------------------------------------------------------------- text
    def __str__(self) -> str:
        shown = self.amount
        if shown.as_tuple().exponent > -self.minor_units:  # type: ignore[operator]
            shown = shown.quantize(Decimal(1).scaleb(-self.minor_units))
        return f"{shown:f} {self.currency}"

    def __repr__(self) -> str:
        return f"Money({format(self.amount, 'f')!r}, {self.currency!r})"


def _is_plain_zero(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == 0


# ====================================================================== exchange rates

#: One exchange-rate record: ``(base, quote, start_date, rate)``; 1 base = rate quote.
RateRecord = tuple[str, str, dt.date, Decimal]


def _as_date(value: object, *, owner: str, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValidationError(f"{owner}: {field} must be a datetime.date; got {_describe(value)}.")


class ExchangeRates:
    """An immutable table of dated exchange rates.

    A record ``(base, quote, start_date, rate)`` says that from `start_date` one unit of `base`
    buys `rate` units of `quote`. A rate stays in force up to the day before the next start date
    of the same pair.

    Parameters
    ----------
    records : iterable of (str, str, datetime.date, Decimal-like)
        The rates. ``rate`` accepts Decimal, int, str or float (through ``str``) and must be > 0.

    Raises
    ------
    ValidationError
        For an unknown currency, a pair of one currency with itself, a start that is not a date,
        a rate that is not a positive finite number, or two records with the same pair and start.

    Notes
    -----
    Lookup for ``(base, quote)`` on a date uses the direct pair's rate in force; when the direct
    pair has none, ``1 / rate`` of the reverse pair in force; the identity pair is 1. A
    ``datetime`` passed as a date counts as its own calendar date (in its own time zone).
    Converted amounts are not rounded.

    Examples
    --------
    >>> import datetime as dt
    >>> rates = ExchangeRates([
    ...     ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
    ...     ("EUR", "USD", dt.date(2024, 7, 1), "1.08"),
    ... ])
    >>> rates.rate("EUR", "USD", dt.date(2024, 6, 30))
    Decimal('1.10')
    >>> rates.rate("EUR", "USD", dt.date(2024, 7, 1))
    Decimal('1.08')
    >>> rates.convert(Money("100", "EUR"), "USD", dt.date(2024, 3, 15))
    Money('110.00', 'USD')
    >>> len(rates)
    2
    """

    __slots__ = ("_starts", "_table")

    _table: dict[tuple[str, str], tuple[tuple[dt.date, Decimal], ...]]
    _starts: dict[tuple[str, str], tuple[dt.date, ...]]

    def __init__(self, records: Iterable[tuple[str, str, dt.date, Number]] = ()) -> None:
        grouped: dict[tuple[str, str], dict[dt.date, Decimal]] = {}
        for index, record in enumerate(records):
            base, quote, start, rate = _check_record(record, index)
            by_start = grouped.setdefault((base, quote), {})
            if start in by_start:
                raise ValidationError(
                    f"ExchangeRates: records[{index}] repeats the {base}->{quote} rate starting "
                    f"{start.isoformat()} (already {by_start[start]}, now {rate}). Hint: give "
                    "one rate per pair and start date."
                )
            by_start[start] = rate
        table = {pair: tuple(sorted(rates.items())) for pair, rates in grouped.items()}
        object.__setattr__(self, "_table", table)
        object.__setattr__(
            self, "_starts", {pair: tuple(s for s, _ in rows) for pair, rows in table.items()}
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ExchangeRates is immutable; use add() to get a new table.")

    @property
    def records(self) -> tuple[RateRecord, ...]:
        """All records as ``(base, quote, start_date, rate)``, sorted by pair then start.

        Examples
        --------
        >>> import datetime as dt
        >>> ExchangeRates([("GBP", "USD", dt.date(2024, 1, 1), 1.27)]).records
        (('GBP', 'USD', datetime.date(2024, 1, 1), Decimal('1.27')),)
        """
        return tuple(
            (base, quote, start, rate)
            for (base, quote), rows in sorted(self._table.items())
            for start, rate in rows
        )

    def add(self, base: str, quote: str, start_date: dt.date, rate: Number) -> ExchangeRates:
        """Return a new table with one more record; this table is unchanged.

        Parameters
        ----------
        base, quote : str
            ISO-4217 codes; 1 `base` buys `rate` `quote`.
        start_date : datetime.date
            The first day the rate is in force.
        rate : Decimal, int, str or float
            A positive rate.

        Returns
        -------
        ExchangeRates
            The new table.

        Raises
        ------
        ValidationError
            As the constructor, including a repeated (pair, start).

        Examples
        --------
        >>> import datetime as dt
        >>> empty = ExchangeRates()
        >>> one = empty.add("USD", "JPY", dt.date(2024, 1, 1), 145)
        >>> len(empty), len(one)
        (0, 1)
        """
        return ExchangeRates([*self.records, (base, quote, start_date, rate)])

    def _in_force(self, pair: tuple[str, str], day: dt.date) -> Decimal | None:
        starts = self._starts.get(pair)
        if not starts:
            return None
        position = bisect.bisect_right(starts, day) - 1
        return None if position < 0 else self._table[pair][position][1]

    def rate(self, base: str, quote: str, on: dt.date) -> Decimal:
        """Return how many units of `quote` one unit of `base` buys on date `on`.

        Parameters
        ----------
        base, quote : str
            ISO-4217 codes.
        on : datetime.date
            The day; a datetime counts as its own calendar date.

        Returns
        -------
        Decimal
            The direct rate in force, else the inverse of the reverse rate in force;
            ``Decimal(1)`` when `base` equals `quote`.

        Raises
        ------
        ValidationError
            For an unknown currency code or an `on` that is not a date.
        MissingRateError
            When no rate for the pair (in either direction) is in force on `on`; the message names
            the pair, the date and the earliest date available.

        Examples
        --------
        >>> import datetime as dt
        >>> rates = ExchangeRates([("USD", "JPY", dt.date(2024, 1, 1), "150")])
        >>> rates.rate("JPY", "USD", dt.date(2024, 2, 1)) == 1 / Decimal(150)
        True
        >>> rates.rate("USD", "JPY", dt.date(2023, 12, 31))
        Traceback (most recent call last):
        ...
        crmcore.exceptions.MissingRateError: No USD->JPY exchange rate is in force on 2023-12-31; \
the earliest rate for this pair (or its inverse) starts on 2024-01-01.
        """
        validate_currency_code(base, field="base", owner="ExchangeRates.rate")
        validate_currency_code(quote, field="quote", owner="ExchangeRates.rate")
        day = _as_date(on, owner="ExchangeRates.rate", field="on")
        if base == quote:
            return Decimal(1)
        direct = self._in_force((base, quote), day)
        if direct is not None:
            return direct
        inverse = self._in_force((quote, base), day)
        if inverse is not None:
            return Decimal(1) / inverse
        starts = self._starts.get((base, quote), ()) + self._starts.get((quote, base), ())
        if starts:
            raise MissingRateError(
                f"No {base}->{quote} exchange rate is in force on {day.isoformat()}; the earliest "
                f"rate for this pair (or its inverse) starts on {min(starts).isoformat()}."
            )
        pairs = ", ".join(f"{b}->{q}" for b, q in sorted(self._table)) or "none"
        raise MissingRateError(
            f"No {base}->{quote} exchange rate is in force on {day.isoformat()}: the table has no "
            f"rate for {base}->{quote} or {quote}->{base} (pairs available: {pairs}). "
            "Hint: add one with ExchangeRates.add()."
        )

    def convert(self, money: Money, to_currency: str, on: dt.date) -> Money:
        """Convert `money` into `to_currency` at the rate in force on `on` (not rounded).

        Parameters
        ----------
        money : Money
            The amount to convert.
        to_currency : str
            The target ISO-4217 code.
        on : datetime.date
            The day whose rate applies.

        Returns
        -------
        Money
            ``money.amount * rate(money.currency, to_currency, on)`` in `to_currency`.

        Raises
        ------
        MissingRateError
            When no rate is in force; see :meth:`rate`.

        Examples
        --------
        >>> import datetime as dt
        >>> rates = ExchangeRates([("EUR", "USD", dt.date(2024, 1, 1), "1.25")])
        >>> rates.convert(Money("8.00", "USD"), "EUR", dt.date(2024, 1, 1))
        Money('6.400', 'EUR')
        """
        if not isinstance(money, Money):
            raise ValidationError(
                f"ExchangeRates.convert: money must be a Money; got {_describe(money)}."
            )
        return Money(money.amount * self.rate(money.currency, to_currency, on), to_currency)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._table.values())

    def __iter__(self) -> Iterator[RateRecord]:
        return iter(self.records)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExchangeRates):
            return NotImplemented
        return self.records == other.records

    def __hash__(self) -> int:
        return hash(self.records)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{b}->{q}" for b, q in sorted(self._table))
        return f"ExchangeRates({len(self)} rates; pairs: {pairs or 'none'})"

    def __reduce__(self) -> tuple[type[ExchangeRates], tuple[tuple[RateRecord, ...]]]:
        return (ExchangeRates, (self.records,))


def _check_record(record: object, index: int) -> RateRecord:
    where = f"ExchangeRates: records[{index}]"
    if not isinstance(record, tuple) or len(record) != 4:
        raise ValidationError(
            f"{where} must be a (base, quote, start_date, rate) tuple; got {_describe(record)}."
        )
    base, quote, start, raw_rate = record
    validate_currency_code(base, field=f"records[{index}].base", owner="ExchangeRates")
    validate_currency_code(quote, field=f"records[{index}].quote", owner="ExchangeRates")
    if base == quote:
        raise ValidationError(
            f"{where} converts {base} into itself; the identity rate is always 1 and is not stored."
        )
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise ValidationError(
            f"{where}.start_date must be a datetime.date (not a datetime); got {_describe(start)}."
        )
    rate = _factor(raw_rate) if not isinstance(raw_rate, str) else _to_decimal(raw_rate)
    if rate is None or not rate.is_finite() or rate <= 0:
        raise ValidationError(
            f"{where}.rate must be a positive finite number (Decimal, int, str or float); "
            f"got {_describe(raw_rate)}."
        )
    return base, quote, start, rate
