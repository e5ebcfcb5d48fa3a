"""Exact money: a Decimal amount in an ISO-4217 currency, and a dated exchange-rate table.

This module imports only the standard library and attrs, so ERP code can use it cheaply: numpy,
pandas and narwhals are imported only when :meth:`ExchangeRates.convert_frame` is called.

:class:`Money` is a frozen value: arithmetic stays inside one currency, mixing currencies raises
:class:`~crmcore.exceptions.CurrencyMismatchError` (a :class:`TypeError`), and ``sum()`` works
because ``0 + Money`` is allowed. :class:`ExchangeRates` is an immutable table of dated rates used
to convert between currencies explicitly, one Money at a time or a whole order frame at once
(:meth:`ExchangeRates.convert_frame`).

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
import decimal
import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import attrs

from crmcore._entity_checks import as_decimal
from crmcore.exceptions import CurrencyMismatchError, MissingRateError, ValidationError

if TYPE_CHECKING:  # annotations only: the module never imports numpy at run time
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "ISO_4217_MINOR_UNITS",
    "ExchangeRates",
    "Money",
    "validate_currency_code",
]

#: A number Money accepts as an amount or a factor (float goes through ``str`` first).
Number: TypeAlias = Decimal | int | str | float

#: The rounding modes of :mod:`decimal` (the values of its ROUND_* constants).
_ROUNDING_MODES: Final[tuple[str, ...]] = tuple(
    sorted(str(getattr(decimal, n)) for n in dir(decimal) if n.startswith("ROUND_"))
)

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


def _convert_amount(value: Decimal | int | str | float) -> Any:
    # Lenient: values that cannot be converted pass through and the validator names the field.
    converted = as_decimal(value)
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
    converted = as_decimal(value)
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

        Raises
        ------
        ValidationError
            If `rounding` is not one of the :mod:`decimal` rounding modes.
        """
        if not isinstance(rounding, str) or rounding not in _ROUNDING_MODES:
            raise ValidationError(
                "The 'rounding' parameter of Money.round_to_minor_units must be a decimal "
                f"rounding mode, one of {', '.join(repr(m) for m in _ROUNDING_MODES)}. "
                f"Got {rounding!r} instead."
            )
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
    # pandas.NaT subclasses datetime but is a missing value: it is the only date unequal to itself.
    if isinstance(value, dt.date) and value != value:
        raise ValidationError(
            f"{owner}: {field} must be a datetime.date; got a missing value {_describe(value)}. "
            "Hint: drop rows without a date before converting."
        )
    if isinstance(value, dt.datetime):
        day = value.date()
        if type(day) is not dt.date:  # a date-like subclass that cannot name its calendar day
            raise ValidationError(
                f"{owner}: {field} must be a datetime.date; got {_describe(value)}."
            )
        return day
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
        if isinstance(records, str | bytes | Mapping) or not isinstance(records, Iterable):
            raise ValidationError(
                "ExchangeRates: records must be an iterable of (base, quote, start_date, rate) "
                f"tuples; got {_describe(records)}."
            )
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
        ValidationError
            If `money` is not Money, a code is unknown, or `on` is not a date (a missing
            value such as ``pandas.NaT`` included).
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
        _as_date(on, owner="ExchangeRates.convert", field="on")
        return Money(money.amount * self.rate(money.currency, to_currency, on), to_currency)

    def convert_frame(
        self,
        frame: Any,
        *,
        to: str,
        amount_col: str | Sequence[str] = "amount",
        currency_col: str = "currency",
        date_col: str = "date",
        date_format: str | None = None,
    ) -> Any:
        """Convert every row of an order frame into currency `to` at the rate of the row's date.

        Parameters
        ----------
        frame : pandas, Polars or PyArrow DataFrame
            One row per order (or any dated amount). It is not modified.
        to : str
            The target ISO-4217 code.
        amount_col : str or sequence of str, default "amount"
            The amount column, or several converted with the same rates: pass every money
            column of the frame (for :func:`crmcore.frames.orders_to_frame`,
            ``("amount", "amount_exact", "margin", "margin_exact")``), since `currency_col`
            is set to `to` for the whole row.
        currency_col : str, default "currency"
            The ISO-4217 code of each row's amounts.
        date_col : str, default "date"
            The day whose rate applies. Strings are parsed with one format for the whole
            column (`date_format`, else ISO 8601); a datetime counts as its own calendar date
            (a tz-aware one in its own zone).
        date_format : str, optional
            A :func:`~datetime.datetime.strptime` format for a string `date_col`.

        Returns
        -------
        DataFrame
            A new frame of the same backend, rows, order and columns, where each amount column
            holds the converted amounts and `currency_col` holds `to`. Amounts come back as
            float64, except a pandas ``object`` column of :class:`~decimal.Decimal` values,
            which comes back as exact Decimals (the same numbers :meth:`convert` gives, not
            rounded). Polars and Arrow decimal columns come back as float64 (their fixed scale
            cannot hold an unrounded product). Rows already in `to` keep their amounts; other
            columns, the date column included, are unchanged.

        Raises
        ------
        ColumnNotFoundError
            If a named column is missing.
        ValidationError
            If `to` or a code in `currency_col` is not an active ISO-4217 code, a currency or
            amount is missing (null or NaN), an amount column is not numeric, a row to
            convert has no date or a date that cannot be parsed, or a converted float amount
            exceeds the float64 range. Counts and first rows are given.
        MissingRateError
            If some rows have no rate in force on their date (dated before the first rate of
            every route). The message names the pair, the first such date, the row count and
            the day the rates start; every other pair lacking rates is listed too.

        Notes
        -----
        The rate of a row is chosen for its own date, in this order:

        1. the direct pair ``currency->to`` in force on that day;
        2. else ``1 / rate`` of the inverse pair ``to->currency`` in force;
        3. else triangulation through one intermediate currency ``m`` linked by a pair (either
           direction) to both ``currency`` and `to`, with ``rate(currency->m) * rate(m->to)``,
           each leg chosen as in 1-2 and in force on that day. Candidates are tried in
           alphabetical order of ``m``; the first with both legs in force wins.

        Steps 1-2 are exactly :meth:`rate`; :meth:`rate` and :meth:`convert` do not triangulate.
        A rate never expires (it stays in force until the next start of its pair), so a row
        lacks a rate only when it is dated before every route's first rate.

        The lookup is vectorised: rows are grouped by currency and each pair's sorted start
        dates are searched with :func:`numpy.searchsorted`; only the few columns needed are
        read as arrays.

        Examples
        --------
        >>> import datetime as dt
        >>> import pandas as pd
        >>> rates = ExchangeRates([
        ...     ("GBP", "EUR", dt.date(2024, 1, 1), "1.20"),
        ...     ("GBP", "EUR", dt.date(2024, 7, 1), "1.25"),
        ...     ("EUR", "USD", dt.date(2024, 1, 1), "1.10"),
        ... ])
        >>> orders = pd.DataFrame({
        ...     "customer_id": ["a", "b", "c", "d"],
        ...     "date": ["2024-06-30", "2024-07-01", "2024-03-01", "2024-05-05"],
        ...     "amount": [100.0, 100.0, 55.0, 20.0],
        ...     "currency": ["GBP", "GBP", "USD", "EUR"],
        ... })
        >>> rates.convert_frame(orders, to="EUR")
          customer_id        date  amount currency
        0           a  2024-06-30   120.0      EUR
        1           b  2024-07-01   125.0      EUR
        2           c  2024-03-01    50.0      EUR
        3           d  2024-05-05    20.0      EUR

        GBP has no USD pair: it goes through EUR (1.20 * 1.10 = 1.32 GBP->USD until June).

        >>> rates.convert_frame(orders, to="USD")["amount"].round(2).tolist()
        [132.0, 137.5, 55.0, 22.0]
        """
        return _convert_frame(
            self,
            frame,
            to=to,
            amount_col=amount_col,
            currency_col=currency_col,
            date_col=date_col,
            date_format=date_format,
        )

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
    rate = _factor(raw_rate) if not isinstance(raw_rate, str) else as_decimal(raw_rate)
    if rate is None or not rate.is_finite() or rate <= 0:
        raise ValidationError(
            f"{where}.rate must be a positive finite number (Decimal, int, str or float); "
            f"got {_describe(raw_rate)}."
        )
    return base, quote, start, rate


# ====================================================================== frame conversion
# numpy, pandas and narwhals are imported inside these functions only, so that importing this
# module stays cheap for entity code.

_WHO_FRAME = "ExchangeRates.convert_frame"


def _rows_text(labels: Any) -> str:
    from crmcore._validation import format_ids

    return format_ids(labels)


def _pair_arrays(
    rates: ExchangeRates, pair: tuple[str, str], *, exact: bool, invert: bool
) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """Sorted start days (datetime64[D]) and rates of `pair`, as Decimal objects or float64."""
    import numpy as np

    rows = rates._table.get(pair)
    if not rows:
        return None
    starts = np.array([start for start, _ in rows], dtype="datetime64[D]")
    if exact:
        values = np.array([Decimal(1) / r if invert else r for _, r in rows], dtype=object)
    else:
        as_float = np.array([float(r) for _, r in rows], dtype=np.float64)
        values = 1.0 / as_float if invert else as_float
    return starts, values


def _leg(
    rates: ExchangeRates, base: str, quote: str, days: NDArray[Any], *, exact: bool
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """The base->quote rate in force on each day (direct, else inverse) and where one exists."""
    import numpy as np

    size = len(days)
    values: NDArray[Any] = (
        np.full(size, None, dtype=object) if exact else np.full(size, np.nan, dtype=np.float64)
    )
    found = np.zeros(size, dtype=bool)
    for pair, invert in (((base, quote), False), ((quote, base), True)):
        arrays = _pair_arrays(rates, pair, exact=exact, invert=invert)
        if arrays is None:
            continue
        starts, table = arrays
        position = np.searchsorted(starts, days, side="right") - 1
        take = (position >= 0) & ~found
        values[take] = table[position[take]]
        found |= take
    return values, found


def _linked(rates: ExchangeRates, code: str) -> set[str]:
    return {q if b == code else b for b, q in rates._table if code in (b, q)}


def _intermediates(rates: ExchangeRates, base: str, quote: str) -> list[str]:
    return sorted((_linked(rates, base) & _linked(rates, quote)) - {base, quote})


def _route(
    rates: ExchangeRates, base: str, quote: str, days: NDArray[Any], *, exact: bool
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Direct or inverse rate on each day, else the product through the first intermediate."""
    import numpy as np

    values, found = _leg(rates, base, quote, days, exact=exact)
    for middle in _intermediates(rates, base, quote):
        if found.all():
            break
        need = np.flatnonzero(~found)
        first, first_found = _leg(rates, base, middle, days[need], exact=exact)
        second, second_found = _leg(rates, middle, quote, days[need], exact=exact)
        both = first_found & second_found
        values[need[both]] = first[both] * second[both]
        found[need[both]] = True
    return values, found


def _earliest(rates: ExchangeRates, base: str, quote: str) -> dt.date | None:
    starts = rates._starts.get((base, quote), ()) + rates._starts.get((quote, base), ())
    return min(starts) if starts else None


def _route_start(rates: ExchangeRates, base: str, quote: str) -> dt.date | None:
    """The first day on which some route from `base` to `quote` has a rate in force."""
    candidates = [_earliest(rates, base, quote)]
    for middle in _intermediates(rates, base, quote):
        legs = (_earliest(rates, base, middle), _earliest(rates, middle, quote))
        if legs[0] is not None and legs[1] is not None:
            candidates.append(max(legs[0], legs[1]))
    known = [c for c in candidates if c is not None]
    return min(known) if known else None


def _factorize(column: Any) -> tuple[NDArray[np.intp], list[Any]]:
    """Integer codes of a (null-free) column and its distinct values, hashed in C.

    A pandas Series goes through :func:`pandas.factorize`; a narwhals Series through Arrow's
    ``dictionary_encode`` (zero-copy from Polars and PyArrow), else through numpy and pandas.
    """
    import numpy as np
    import pandas as pd

    if isinstance(column, pd.Series):
        codes, levels = pd.factorize(column)
        return np.asarray(codes, dtype=np.intp), list(levels)
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(column.to_arrow())
    except (ImportError, ModuleNotFoundError):  # Polars without pyarrow installed
        codes, levels = pd.factorize(column.to_numpy())
        return np.asarray(codes, dtype=np.intp), list(levels)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return np.asarray(indices, dtype=np.intp), list(encoded.dictionary.to_pylist())


def _amount_array(data: Any, frame: Any, column: str) -> tuple[NDArray[Any], bool]:
    """The amounts of `column` as float64, or as Decimal objects (second item True)."""
    import numpy as np
    import pandas as pd

    if frame is None:
        series = data[column]
        dtype = series.dtype
        shown = str(dtype)
        if pd.api.types.is_object_dtype(dtype):
            kind = pd.api.types.infer_dtype(series, skipna=True)
            if kind == "decimal":
                return series.to_numpy(dtype=object), True
            if kind in ("integer", "floating", "mixed-integer-float"):
                return series.to_numpy(dtype=np.float64), False
            shown = f"object ({kind} values)"
        elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            return series.to_numpy(dtype=np.float64), False
    else:
        import narwhals.stable.v1 as nw

        dtype = frame.schema[column]
        if dtype.is_numeric() and dtype != nw.Boolean:
            return np.asarray(frame[column].to_numpy(), dtype=np.float64), False
        shown = str(dtype)
    raise ValidationError(
        f"{_WHO_FRAME}: column {column!r} must hold numbers (ints, floats or Decimals); got "
        f"dtype {shown}. Hint: cast the amounts to float or Decimal first."
    )


def _convert_frame(
    rates: ExchangeRates,
    data: Any,
    *,
    to: str,
    amount_col: str | Sequence[str],
    currency_col: str,
    date_col: str,
    date_format: str | None,
) -> Any:
    import narwhals.stable.v1 as nw
    import numpy as np
    import pandas as pd

    from crmcore._validation import (
        as_narwhals,
        check_no_missing,
        coerce_datetime_column,
        require_columns,
    )

    who = _WHO_FRAME
    validate_currency_code(to, field="to", owner=who)
    amount_cols = [amount_col] if isinstance(amount_col, str) else list(amount_col)
    for name, value in (("currency_col", currency_col), ("date_col", date_col)):
        if not isinstance(value, str):
            raise ValidationError(f"{who}: {name} must be a column name (str); got {value!r}.")
    if (
        not amount_cols
        or not all(isinstance(c, str) for c in amount_cols)
        or len(set(amount_cols)) != len(amount_cols)
        or {currency_col, date_col} & set(amount_cols)
        or currency_col == date_col
    ):
        raise ValidationError(
            f"{who}: amount_col must be one column name or a sequence of distinct names, none of "
            f"them the currency or date column; got amount_col={amount_col!r}, "
            f"currency_col={currency_col!r}, date_col={date_col!r}."
        )

    frame = None if isinstance(data, pd.DataFrame) else as_narwhals(data, who=who)
    source = data if frame is None else frame
    require_columns(source, [*amount_cols, currency_col, date_col], who=who)
    check_no_missing(source, [*amount_cols, currency_col], who=who)
    size = len(source)

    def labels(mask: NDArray[np.bool_]) -> Any:
        return data.index[mask] if frame is None else np.flatnonzero(mask)

    # ---------------------------------------------------------------- currencies
    codes, uniques = _factorize(data[currency_col] if frame is None else frame[currency_col])
    bad = [k for k, u in enumerate(uniques) if not (isinstance(u, str) and u in _ISO_4217)]
    if bad:
        mask = np.isin(codes, bad)
        raise ValidationError(
            f"{who}: column {currency_col!r} has {int(mask.sum()):,} rows whose code is not an "
            f"active ISO-4217 code ({', '.join(repr(uniques[k]) for k in bad)}; first rows: "
            f"{_rows_text(labels(mask))}). Hint: use uppercase codes such as 'EUR'.",
            rule="currency codes must be active ISO-4217 codes",
            column=currency_col,
            count=int(mask.sum()),
            first_ids=labels(mask)[:5],
        )
    target = uniques.index(to) if to in uniques else -1
    needs = codes != target

    # ---------------------------------------------------------------- amounts
    columns = {column: _amount_array(data, frame, column) for column in amount_cols}
    modes = sorted({exact for _, exact in columns.values()})

    # ---------------------------------------------------------------- rates per row
    rate_of: dict[bool, NDArray[Any]] = {}
    if needs.any():
        subset = data[[date_col]] if frame is None else frame.select(date_col).to_native()
        parsed = coerce_datetime_column(subset, date_col, who=who, date_format=date_format)
        raw_days = (
            parsed[date_col].to_numpy()
            if frame is None
            else as_narwhals(parsed, who=who)[date_col].to_numpy()
        )
        days = np.asarray(raw_days).astype("datetime64[D]")
        undated = needs & np.isnat(days)
        if undated.any():
            raise ValidationError(
                f"{who}: column {date_col!r} has {int(undated.sum()):,} missing dates on rows "
                f"that need converting (first rows: {_rows_text(labels(undated))}). Hint: drop "
                "or fill them; a rate applies on a date.",
                rule="rows that need converting must have a date",
                column=date_col,
                count=int(undated.sum()),
                first_ids=labels(undated)[:5],
            )
        missing: list[tuple[str, NDArray[np.intp]]] = []
        for exact in modes:
            rate_of[exact] = (
                np.full(size, Decimal(1), dtype=object) if exact else np.ones(size, np.float64)
            )
        for k, code in enumerate(uniques):
            if k == target:
                continue
            rows = np.flatnonzero(codes == k)  # one pass per currency: a handful at most
            found = np.ones(len(rows), dtype=bool)
            for exact in modes:
                values, found = _route(rates, code, to, days[rows], exact=exact)
                rate_of[exact][rows[found]] = values[found]
            if not found.all():
                missing.append((code, rows[~found]))
        if missing:
            raise MissingRateError(_missing_message(rates, to, sorted(missing), days, labels))

    # ---------------------------------------------------------------- result
    converted: dict[str, NDArray[Any]] = {}
    for column, (amounts, exact) in columns.items():
        if exact:
            out = amounts.copy()
            if needs.any():
                out[needs] = amounts[needs] * rate_of[True][needs]
        else:
            with np.errstate(over="ignore"):
                out = amounts * rate_of[False] if needs.any() else amounts.copy()
            overflow = ~np.isfinite(out) & np.isfinite(amounts)
            if overflow.any():
                raise ValidationError(
                    f"{who}: {int(overflow.sum()):,} converted amounts in column {column!r} "
                    f"exceed the float64 range (about 1.8e308) (first rows: "
                    f"{_rows_text(labels(overflow))}). Hint: express amounts in a larger unit "
                    "(e.g. thousands) or as Decimal objects.",
                    rule="converted amounts must fit in float64",
                    column=column,
                    count=int(overflow.sum()),
                    first_ids=labels(overflow)[:5],
                )
        converted[column] = out
    if frame is None:
        replaced = {
            column: pd.Series(values, index=data.index, name=column)
            for column, values in converted.items()
        }
        return data.assign(**replaced, **{currency_col: to})
    namespace = nw.get_native_namespace(frame)
    new_columns = [
        nw.new_series(column, values, nw.Float64, native_namespace=namespace)
        for column, values in converted.items()
    ]
    return frame.with_columns(*new_columns, nw.lit(to).alias(currency_col)).to_native()


def _missing_message(
    rates: ExchangeRates,
    to: str,
    missing: list[tuple[str, NDArray[Any]]],
    days: NDArray[Any],
    labels: Any,
) -> str:
    import numpy as np

    parts = []
    for code, rows in missing:
        first_day = str(days[rows].min())
        count = len(rows)
        start = _route_start(rates, code, to)
        parts.append((code, first_day, count, start, rows))
    code, first_day, count, start, rows = parts[0]
    counted = f"and {count - 1:,} more rows, {count:,} in all" if count > 1 else "1 row in all"
    if start is not None:
        where = f"rates start {start.isoformat()}"
    else:
        pairs = ", ".join(f"{b}->{q}" for b, q in sorted(rates._table)) or "none"
        where = (
            f"the table has no {code}->{to} or {to}->{code} rate and no currency linked to "
            f"both; pairs available: {pairs}"
        )
    mask = np.zeros(len(days), dtype=bool)
    mask[rows] = True
    message = (
        f"{_WHO_FRAME}: no {code}->{to} rate in force on {first_day} ({counted}; {where}). "
        f"First rows: {_rows_text(labels(mask))}."
    )
    if len(parts) > 1:
        others = "; ".join(
            f"{c}->{to} ({n:,} row{'s' if n > 1 else ''} from {d}"
            + (f", rates start {s.isoformat()})" if s is not None else ", no route)")
            for c, d, n, s, _ in parts[1:]
        )
        message += f" Also missing: {others}."
    return message + (
        " Hint: add earlier rates (or a missing pair) with ExchangeRates.add(); a rate is in "
        "force from its start date until the next start of its pair."
    )
