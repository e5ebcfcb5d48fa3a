"""crmcore.value.economics: the economics of retention and customer profitability.

What lives here: the margin multiple and constant-retention CLV, NPV by retention rate,
retention-profit impact and tenure profit profiles, customer equity and its optimum, the
Pfeifer-Carraway customer migration chain (with the purchase history it is fitted on) and
customer profitability from an order log.

Public names: ``CustomerMigrationModel``, ``constant_retention_clv``, ``customer_equity``,
``customer_profitability``, ``margin_multiple``, ``npv_by_retention``,
``optimal_customer_equity``, ``purchase_history``, ``retention_profit_impact``,
``tenure_profit_profile``; all are also in :mod:`crmcore.value`.
"""

from __future__ import annotations

from crmcore.value.economics._economics import (
    constant_retention_clv,
    customer_equity,
    margin_multiple,
    npv_by_retention,
    optimal_customer_equity,
    retention_profit_impact,
    tenure_profit_profile,
)
from crmcore.value.economics._migration_chain import CustomerMigrationModel, purchase_history
from crmcore.value.economics._profitability import customer_profitability

__all__: list[str] = [
    "CustomerMigrationModel",
    "constant_retention_clv",
    "customer_equity",
    "customer_profitability",
    "margin_multiple",
    "npv_by_retention",
    "optimal_customer_equity",
    "purchase_history",
    "retention_profit_impact",
    "tenure_profit_profile",
]
