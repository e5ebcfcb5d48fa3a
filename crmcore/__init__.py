"""crmcore: a pure-domain CRM library.

Customers, orders, opportunities and tickets as validated Python objects, plus the
analytics a CRM team runs on them: RFM scoring and segment maps, customer tiers,
customer lifetime value (BG/NBD and its family), retention economics, funnel and
service analytics.

``import crmcore`` is cheap: it loads the error hierarchy and :class:`Money` only.
The analytics live in subpackages (``crmcore.segmentation``, ``crmcore.value``, ...)
that load numpy, pandas and scipy when imported.

Examples
--------
>>> import crmcore
>>> crmcore.Money("19.99", "EUR") * 3
Money('59.97', 'EUR')
"""

from __future__ import annotations

from crmcore.exceptions import (
    ColumnNotFoundError,
    ConvergenceError,
    ConvergenceWarning,
    CRMError,
    CRMWarning,
    CurrencyMismatchError,
    InvalidStageTransition,
    InvalidTransition,
    MissingRateError,
    NotFittedError,
    ValidationError,
)
from crmcore.money import ExchangeRates, Money

__version__ = "0.1.0"

__all__ = [
    "CRMError",
    "CRMWarning",
    "ColumnNotFoundError",
    "ConvergenceError",
    "ConvergenceWarning",
    "CurrencyMismatchError",
    "ExchangeRates",
    "InvalidStageTransition",
    "InvalidTransition",
    "MissingRateError",
    "Money",
    "NotFittedError",
    "ValidationError",
    "__version__",
]
