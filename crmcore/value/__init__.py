"""crmcore.value: customer lifetime value and retention-profit models.

Non-contractual ("buy till you die") transaction models with their spend model and CLV,
and contractual retention models with the economics of retention.
"""

from __future__ import annotations

# --- BTYD summary, base, BG/NBD, MBG/NBD, Gamma-Gamma, CLV, interop ---
from crmcore.value._base import MaximumLikelihoodModel, TransactionModel
from crmcore.value._bgnbd import BetaGeoModel
from crmcore.value._clv import customer_lifetime_value
from crmcore.value._gamma_gamma import GammaGammaModel
from crmcore.value._mbgnbd import ModifiedBetaGeoModel
from crmcore.value._summary import btyd_summary

# --- end BTYD core ---

# --- Pareto/NBD, BG/BB, simulators, model checking ---
from crmcore.value._bgbb import BetaGeoBetaBinomModel
from crmcore.value._checking import (
    calibration_holdout_table,
    period_transactions,
    tracking_table,
)
from crmcore.value._pareto_nbd import ParetoNBDModel
from crmcore.value._simulate import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
)

# --- end Pareto/BGBB ---

# --- sBG, BdW, DEL/DERL, residual value ---
from crmcore.value._bdw import BetaDiscreteWeibullModel
from crmcore.value._contractual_value import (
    aggregate_retention_residual_value,
    customer_base_residual_value,
    discounted_expected_lifetime,
    discounted_expected_residual_lifetime,
)
from crmcore.value._sbg import ShiftedBetaGeoModel

# --- end sBG ---

# --- retention economics, migration chain, cohorts, profitability ---
from crmcore.value._cohorts import cohort_churn_rates, cohort_table
from crmcore.value._economics import (
    constant_retention_clv,
    customer_equity,
    margin_multiple,
    npv_by_retention,
    optimal_customer_equity,
    retention_profit_impact,
    tenure_profit_profile,
)
from crmcore.value._migration_chain import CustomerMigrationModel, purchase_history
from crmcore.value._profitability import customer_profitability

# --- end economics ---

__all__: list[str] = [
    # BTYD core names
    "BetaGeoModel",
    "GammaGammaModel",
    "MaximumLikelihoodModel",
    "ModifiedBetaGeoModel",
    "TransactionModel",
    "btyd_summary",
    "customer_lifetime_value",
    # Pareto/BGBB names
    "BetaGeoBetaBinomModel",
    "ParetoNBDModel",
    "calibration_holdout_table",
    "period_transactions",
    "simulate_bgbb",
    "simulate_bgnbd",
    "simulate_mbgnbd",
    "simulate_pareto_nbd",
    "tracking_table",
    # sBG names
    "BetaDiscreteWeibullModel",
    "ShiftedBetaGeoModel",
    "aggregate_retention_residual_value",
    "customer_base_residual_value",
    "discounted_expected_lifetime",
    "discounted_expected_residual_lifetime",
    # economics names
    "CustomerMigrationModel",
    "cohort_churn_rates",
    "cohort_table",
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
