"""Plots of crmcore results (optional: ``pip install "crmcore[plot]"``).

Every function takes the result of a crmcore function (or the data it describes), draws on
``ax`` (a new figure when None) and returns the matplotlib Axes, so it can be styled or
saved by the caller. matplotlib is imported inside each function: importing this module does
not load it.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from crmcore.plotting import plot_lorenz_curve
>>> ax = plot_lorenz_curve(pd.Series([50.0, 20, 10, 8, 5, 4, 2, 1]))
>>> ax.get_xlabel() != ""
True
"""

from __future__ import annotations

from crmcore._plots.alive_path import plot_probability_alive_path
from crmcore._plots.clv import plot_frequency_recency_matrix, plot_probability_alive_matrix
from crmcore._plots.clv_checking import (
    plot_calibration_holdout,
    plot_period_transactions,
    plot_tracking,
)
from crmcore._plots.pipeline import (
    plot_backtest_calibration,
    plot_forecast_distribution,
    plot_funnel,
)
from crmcore._plots.retention import plot_cohort_heatmap, plot_retention_sensitivity
from crmcore._plots.retention_survival import plot_retention_survival
from crmcore._plots.segmentation_rfm import plot_rfm_heatmap, plot_segment_sizes
from crmcore._plots.segmentation_tiers import (
    plot_lorenz_curve,
    plot_migration_heatmap,
    plot_whale_curve,
)
from crmcore._plots.service import plot_backlog_ageing, plot_sla_breaches

__all__ = [
    "plot_backlog_ageing",
    "plot_backtest_calibration",
    "plot_calibration_holdout",
    "plot_cohort_heatmap",
    "plot_forecast_distribution",
    "plot_frequency_recency_matrix",
    "plot_funnel",
    "plot_lorenz_curve",
    "plot_migration_heatmap",
    "plot_period_transactions",
    "plot_probability_alive_matrix",
    "plot_probability_alive_path",
    "plot_retention_sensitivity",
    "plot_retention_survival",
    "plot_rfm_heatmap",
    "plot_segment_sizes",
    "plot_sla_breaches",
    "plot_tracking",
    "plot_whale_curve",
]
