"""crmcore.value.retention: contractual retention models and cohort tables.

What lives here: survivor-table parsing shared by the cohort models, the shifted-beta-
geometric (sBG) and beta-discrete-Weibull (BdW) models of contract renewals, discounted
expected (residual) lifetime (DEL/DERL) and residual value of a customer base (one cohort loop
for the closed forms and the fitted models), and cohort tables with churn rates from an order
log.

Public names: ``BetaDiscreteWeibullModel``, ``ShiftedBetaGeoModel``,
``aggregate_retention_residual_value``, ``cohort_churn_rates``, ``cohort_table``,
``customer_base_residual_value``, ``discounted_expected_lifetime``,
``discounted_expected_residual_lifetime``; all are also in :mod:`crmcore.value`.
"""

from __future__ import annotations

from crmcore.value.retention._bdw import BetaDiscreteWeibullModel
from crmcore.value.retention._cohorts import cohort_churn_rates, cohort_table
from crmcore.value.retention._contractual_value import (
    aggregate_retention_residual_value,
    customer_base_residual_value,
    discounted_expected_lifetime,
    discounted_expected_residual_lifetime,
)
from crmcore.value.retention._sbg import ShiftedBetaGeoModel

__all__: list[str] = [
    "BetaDiscreteWeibullModel",
    "ShiftedBetaGeoModel",
    "aggregate_retention_residual_value",
    "cohort_churn_rates",
    "cohort_table",
    "customer_base_residual_value",
    "discounted_expected_lifetime",
    "discounted_expected_residual_lifetime",
]
