"""Shared attrs converters and validators of the entity layer (customers, pipeline, service)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import attrs

from crmcore.exceptions import ValidationError

E = TypeVar("E", bound=enum.Enum)


def describe(value: object) -> str:
    """Show a value and its type for an error message."""
    return f"{value!r} (type {type(value).__name__})"


def fail(owner: object, field: str, rule: str, value: object, hint: str = "") -> ValidationError:
    """Build a ValidationError naming ``Class.field``, the rule, the value and its type."""
    name = owner if isinstance(owner, str) else type(owner).__name__
    text = f"{name}.{field} must be {rule}; got {describe(value)}."
    return ValidationError(f"{text} Hint: {hint}" if hint else text)


# ---------------------------------------------------------------- converters (lenient)
# Converters coerce what they can and pass anything else through unchanged, so the validator
# that follows can name the field in its error.


def as_decimal(value: object) -> Decimal | None:
    """Convert an accepted number to Decimal; return None when the value is not acceptable.

    Decimal passes as it is, int exactly, float through its shortest ``str`` (so ``0.1`` is
    ``Decimal('0.1')``), str after stripping blanks; bool, malformed strings and other types
    give None. :class:`crmcore.Money` and the entity converters share this one rule.

    Examples
    --------
    >>> as_decimal(0.1), as_decimal(" 2 "), as_decimal(True), as_decimal("x")
    (Decimal('0.1'), Decimal('2'), None, None)
    """
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


def to_decimal(value: Any) -> Any:
    """Coerce int, str and float (through str) to Decimal; bool and others pass through."""
    converted = as_decimal(value)
    return value if converted is None else converted


def to_tuple(value: Any) -> Any:
    """Coerce a list or other non-string iterable to a tuple."""
    if isinstance(value, (str, bytes, tuple)) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def to_frozenset(value: Any) -> Any:
    """Coerce a non-string iterable to a frozenset."""
    if isinstance(value, (str, bytes, frozenset)) or not isinstance(value, Iterable):
        return value
    return frozenset(value)


def enum_value(enum_type: type[E], value: Any) -> Any:
    """Return the member of `enum_type` whose value is `value`, or `value` unchanged."""
    if isinstance(value, str) and not isinstance(value, enum_type):
        try:
            return enum_type(value)
        except ValueError:
            return value
    return value


# ---------------------------------------------------------------- validators


def non_empty_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a str that is not blank."""
    if not isinstance(value, str) or not value.strip():
        raise fail(instance, attribute.name, "a non-empty str", value)


def optional_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require None or a str."""
    if value is not None and not isinstance(value, str):
        raise fail(instance, attribute.name, "a str or None", value)


def aware_datetime(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a timezone-aware datetime."""
    if not isinstance(value, dt.datetime):
        raise fail(instance, attribute.name, "a timezone-aware datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(
            instance,
            attribute.name,
            "a timezone-aware datetime",
            value,
            "attach a zone, e.g. value.replace(tzinfo=zoneinfo.ZoneInfo('Europe/Berlin')); "
            "crmcore never guesses the zone of a naive datetime.",
        )


def member_of(enum_type: type[enum.Enum], *, optional: bool = False) -> Any:
    """Validator factory: the value must be a member of `enum_type` (or None if optional)."""
    allowed = ", ".join(repr(m.value) for m in enum_type)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if optional and value is None:
            return
        if not isinstance(value, enum_type):
            rule = f"a {enum_type.__name__}" + (" or None" if optional else "")
            raise fail(instance, attribute.name, rule, value, f"allowed values: {allowed}.")

    return check
