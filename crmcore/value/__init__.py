"""crmcore.value: customer lifetime value and retention-profit models.

A flat public namespace over three subject packages, following the contractual /
non-contractual split of the literature:

:mod:`crmcore.value.btyd`
    Non-contractual ("buy till you die") transaction models: BTYD summary, BG/NBD, MBG/NBD,
    Pareto/NBD, BG/BB, Gamma-Gamma spend, CLV, simulators, model checking, lifetimes interop.
:mod:`crmcore.value.retention`
    Contractual retention: sBG and BdW cohort models, DEL/DERL and residual value, cohort
    tables and churn rates.
:mod:`crmcore.value.economics`
    Economics of retention: margin multiple, constant-retention CLV, retention-profit impact,
    customer equity, the Pfeifer-Carraway migration chain, customer profitability.

The maximum-likelihood estimator base shared by the models is
:class:`MaximumLikelihoodModel`.

Examples
--------
>>> import crmcore.value as value
>>> value.BetaGeoModel is value.btyd.BetaGeoModel
True
"""

from __future__ import annotations

# --- shared estimator base ---
from crmcore.value._base import MaximumLikelihoodModel

# --- non-contractual transaction models (BTYD) ---
from crmcore.value.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    TransactionModel,
    btyd_summary,
    calibration_holdout_table,
    customer_lifetime_value,
    period_transactions,
    probability_alive_path,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
    tracking_table,
)

# --- economics of retention ---
from crmcore.value.economics import (
    CustomerMigrationModel,
    constant_retention_clv,
    customer_equity,
    customer_profitability,
    margin_multiple,
    npv_by_retention,
    optimal_customer_equity,
    purchase_history,
    retention_profit_impact,
    tenure_profit_profile,
)

# --- contractual retention models and cohort tables ---
from crmcore.value.retention import (
    BetaDiscreteWeibullModel,
    ShiftedBetaGeoModel,
    aggregate_retention_residual_value,
    cohort_churn_rates,
    cohort_table,
    customer_base_residual_value,
    discounted_expected_lifetime,
    discounted_expected_residual_lifetime,
)

# one sorted literal per subject
__all__: list[str] = [
    # shared estimator base
    "MaximumLikelihoodModel",
]
__all__ += [
    # non-contractual transaction models (BTYD)
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "TransactionModel",
    "btyd_summary",
    "calibration_holdout_table",
    "customer_lifetime_value",
    "period_transactions",
    "probability_alive_path",
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_mbgnbd",
    "simulate_pareto_nbd",
    "tracking_table",
]
__all__ += [
    # economics of retention
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
__all__ += [
    # contractual retention models and cohort tables
    "BetaDiscreteWeibullModel",
    "ShiftedBetaGeoModel",
    "aggregate_retention_residual_value",
    "cohort_churn_rates",
    "cohort_table",
    "customer_base_residual_value",
    "discounted_expected_lifetime",
    "discounted_expected_residual_lifetime",
]
