"""The crmcore error and warning hierarchy.

Every error crmcore raises on purpose is a :class:`CRMError`. Each concrete error
also subclasses the builtin exception a caller would naturally catch, so
``except ValueError`` keeps working in code that does not know about crmcore.

Structured fields
-----------------
:class:`ValidationError`, :class:`ColumnNotFoundError` and :class:`InvalidTransition`
(with its subclass :class:`InvalidStageTransition`) carry, besides their message, the
facts the message states, so that ERP code can act on a bad batch without parsing text
(the habit of attrs, whose validators raise ``TypeError(msg, attribute, type, value)``):

==============  ======================  ==================================================
field           type                    meaning
==============  ======================  ==================================================
``rule``        ``str`` or ``None``     the rule that was broken, as a short sentence
                                        (e.g. ``"column must not have missing values"``)
``column``      ``str`` or ``None``     the offending column (the first one when the
                                        message names several); None for parameters
``count``       ``int`` or ``None``     how many rows (ids, for id rules) break the rule;
                                        for a missing column the number of missing
                                        columns, for the one-currency rule the number of
                                        currencies
``first_ids``   ``tuple``               the first offending ids (at most five, as in the
                                        message; numpy scalars stored as Python
                                        values): the id column's values where the
                                        helper knows one, else row labels; duplicated
                                        keys for the unique-key rule (a tuple per row for
                                        a compound key); the currency codes for the
                                        one-currency rule
==============  ======================  ==================================================

All four are keyword-only and optional: ``ValidationError("text")`` still works and has
``rule = column = count = None`` and ``first_ids = ()``. ``str(err)`` is exactly the
message; the fields add to it and never change it. They survive pickling (a worker
process of a batch job can send the error back to its parent).

Rule texts of the shared frame-edge helpers (:mod:`crmcore.frames`), stable within a
release series:

======================================  ==================================================
rule                                    raised by
======================================  ==================================================
``column must exist``                   ``require_columns`` (:class:`ColumnNotFoundError`)
``column must not have missing values`` ``check_no_missing``
``key must be unique``                  ``check_no_duplicates``
``amounts must be in one currency``     ``check_single_currency``
``date strings must be ISO 8601``       date columns without ``date_format``
``dates must match date_format``        date columns with ``date_format``
``column must hold dates``              a column of numbers, booleans or other values
``one time zone per column``            mixed time zones
``column must hold numbers``            ``coerce_number_series`` (text, booleans)
``numbers must be finite``              ``coerce_number_series`` (NaN, inf)
``input must be a DataFrame``           anything narwhals cannot read as an eager frame
``parameter must be one of the          ``check_param_choice``
choices``
``parameter must be a number in         ``check_param_number``
range``
``parameter must have the documented    a parameter of the wrong type (``columns``,
type``                                  ``date_format``, ...)
======================================  ==================================================

``count`` and ``first_ids`` are None and ``()`` where the message has none: a whole
column of the wrong dtype (``column`` is still set), a scalar argument such as
``as_of``, a parameter. Other modules pass their own rule sentences, the text before the
count in their messages (e.g. the service reader's ``"column 'ticket_id' must be unique
(one row per ticket)"``, the pipeline reader's ``"amount must be a finite number"``).
Errors raised by the entities (attrs validators) carry the message only.

Examples
--------
>>> from crmcore.exceptions import CRMError, ValidationError
>>> issubclass(ValidationError, ValueError) and issubclass(ValidationError, CRMError)
True

ERP code that parks the offending rows of a batch and loads the rest:

>>> import pandas as pd
>>> from crmcore.frames import check_no_missing
>>> batch = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "customer_id": ["c1", None, "c3"]})
>>> try:
...     check_no_missing(batch, ["customer_id"], who="nightly_load", id_col="order_id")
... except ValidationError as err:
...     parked = batch[batch["order_id"].isin(err.first_ids)]
...     print(err.rule, "|", err.column, "|", err.count, "|", err.first_ids)
...     print(parked["order_id"].tolist())
column must not have missing values | customer_id | 1 | ('o2',)
['o2']

A missing column is a :class:`ColumnNotFoundError` (a ``KeyError``) with the same fields:

>>> from crmcore.exceptions import ColumnNotFoundError
>>> from crmcore.frames import require_columns
>>> try:
...     require_columns(batch, ["order_id", "amount"], who="nightly_load")
... except ColumnNotFoundError as err:
...     print(err.column, err.count)
amount 1
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "CRMError",
    "CRMWarning",
    "ColumnNotFoundError",
    "ConvergenceError",
    "ConvergenceWarning",
    "CurrencyMismatchError",
    "InvalidStageTransition",
    "InvalidTransition",
    "MissingRateError",
    "NotFittedError",
    "ValidationError",
]


class CRMError(Exception):
    """Base class of every error raised by crmcore."""


def _plain(value: Any) -> Any:
    """A numpy number, bool or str as its Python value (numpy is not imported); else as is.

    numpy ``datetime64`` / ``timedelta64`` stay as they are (``.item()`` would turn a
    nanosecond one into an int).
    """
    kind = type(value)
    if kind.__module__ == "numpy" and kind.__name__ not in ("datetime64", "timedelta64"):
        item = getattr(value, "item", None)
        if callable(item):
            return item()
    return value


def _rebuild(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    """Unpickle an error without calling its ``__init__`` (any signature works)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class _StructuredError(CRMError):
    """A CRMError carrying ``rule``, ``column``, ``count`` and ``first_ids`` (see the module).

    Pickling goes through :func:`_rebuild`, which restores ``args`` and the instance
    dictionary without calling ``__init__``: the default reduction calls
    ``cls(*args)``, which would drop keyword-only arguments that a subclass requires.
    """

    rule: str | None
    column: str | None
    count: int | None
    first_ids: tuple[Any, ...]

    def __init__(
        self,
        *args: object,
        rule: str | None = None,
        column: str | None = None,
        count: int | None = None,
        first_ids: Iterable[Any] = (),
    ) -> None:
        super().__init__(*args)
        self.rule = rule
        self.column = column
        self.count = count
        self.first_ids = tuple(map(_plain, first_ids))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ValidationError(_StructuredError, ValueError):
    """Input data or an argument breaks a documented rule.

    The message names the field or column, the rule, what was received and,
    for frames, the count and the first offending ids; the same facts are in the
    keyword-only fields ``rule``, ``column``, ``count`` and ``first_ids`` (see the
    module docstring).

    Examples
    --------
    >>> err = ValidationError("demo: bad", rule="r", column="c", count=2, first_ids=["a", "b"])
    >>> str(err), err.column, err.count, err.first_ids
    ('demo: bad', 'c', 2, ('a', 'b'))
    """


class ColumnNotFoundError(_StructuredError, KeyError):
    """A required column is missing from a frame.

    The message lists the columns that exist and suggests the nearest name;
    ``column`` is the first missing column and ``count`` the number missing.
    """

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotFittedError(CRMError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (or ``from_params``)."""


class ConvergenceError(CRMError, RuntimeError):
    """An optimiser failed to converge; the message says what to try."""


class InvalidTransition(_StructuredError, ValueError):
    """A status change that the entity's life cycle does not allow.

    Carries the structured fields of :class:`ValidationError` (``rule``, ``column``,
    ``count``, ``first_ids``) when raised for a batch of rows.
    """


class InvalidStageTransition(InvalidTransition):
    """A pipeline stage change that the pipeline does not allow."""


class CurrencyMismatchError(CRMError, TypeError):
    """Money in two different currencies was combined."""


class MissingRateError(CRMError, LookupError):
    """No exchange rate is in force for the requested currencies and date."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CRMWarning(UserWarning):
    """Base class of every warning issued by crmcore."""


class ConvergenceWarning(CRMWarning):
    """An optimiser stopped with a doubtful result (the estimate is kept)."""
