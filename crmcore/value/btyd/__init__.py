"""crmcore.value.btyd: non-contractual ("buy till you die") transaction models.

What lives here: the BTYD summary of an order log (frequency, recency, T, monetary value),
the transaction models on it (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) with their likelihood
kernels, the Gamma-Gamma spend model, customer lifetime value, simulators, model checking
(tracking, calibration/holdout and period-transaction tables) and lifetimes interop, on the
transaction-model layer :class:`TransactionModel` over the shared estimator base
:class:`crmcore.value.MaximumLikelihoodModel`.

Public names: ``BetaGeoBetaBinomModel``, ``BetaGeoModel``, ``GammaGammaModel``,
``ModifiedBetaGeoModel``, ``ParetoNBDModel``, ``TransactionModel``, ``btyd_summary``,
``calibration_holdout_table``, ``customer_lifetime_value``, ``period_transactions``,
``probability_alive_path``, ``simulate_bgbb``, ``simulate_bgnbd``, ``simulate_mbgnbd``,
``simulate_pareto_nbd``, ``tracking_table``; all are also in :mod:`crmcore.value`.
"""

from __future__ import annotations

from crmcore.value.btyd._alive_path import probability_alive_path
from crmcore.value.btyd._bgbb import BetaGeoBetaBinomModel
from crmcore.value.btyd._bgnbd import BetaGeoModel
from crmcore.value.btyd._checking import (
    calibration_holdout_table,
    period_transactions,
    tracking_table,
)
from crmcore.value.btyd._clv import customer_lifetime_value
from crmcore.value.btyd._gamma_gamma import GammaGammaModel
from crmcore.value.btyd._mbgnbd import ModifiedBetaGeoModel
from crmcore.value.btyd._pareto_nbd import ParetoNBDModel
from crmcore.value.btyd._simulate import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
)
from crmcore.value.btyd._summary import btyd_summary
from crmcore.value.btyd._transaction import TransactionModel

__all__: list[str] = [
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
