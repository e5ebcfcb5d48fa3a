"""The crmcore error and warning hierarchy.

Every error crmcore raises on purpose is a :class:`CRMError`. Each concrete error
also subclasses the builtin exception a caller would naturally catch, so
``except ValueError`` keeps working in code that does not know about crmcore.

Examples
--------
>>> from crmcore.exceptions import CRMError, ValidationError
>>> issubclass(ValidationError, ValueError) and issubclass(ValidationError, CRMError)
True
"""

from __future__ import annotations

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


class ValidationError(CRMError, ValueError):
    """Input data or an argument breaks a documented rule.

    The message names the field or column, the rule, what was received and,
    for frames, the count and the first offending ids.
    """


class ColumnNotFoundError(CRMError, KeyError):
    """A required column is missing from a frame.

    The message lists the columns that exist and suggests the nearest name.
    """

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotFittedError(CRMError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (or ``from_params``)."""


class ConvergenceError(CRMError, RuntimeError):
    """An optimiser failed to converge; the message says what to try."""


class InvalidTransition(CRMError, ValueError):
    """A status change that the entity's life cycle does not allow."""


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
