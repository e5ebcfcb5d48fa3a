"""Plots of crmcore results (optional: ``pip install "crmcore[plot]"``).

Every function takes the result of a crmcore function (or the data it describes), draws on
``ax`` (a new figure when None) and returns the matplotlib Axes, so it can be styled or
saved by the caller; :func:`plot_rfm_histograms` draws three panels and takes ``axes``
(three Axes) instead, returning them as an array. matplotlib is imported inside each
function: importing this module does not load it.

- RFM segmentation: :func:`plot_segment_sizes`, :func:`plot_rfm_heatmap`, and the plots of
  the R package rfm: :func:`plot_rfm_histograms` (``rfm_plot_histogram``),
  :func:`plot_rfm_scatter` (``rfm_rf_plot`` / ``_fm_`` / ``_rm_``, now
  ``rfm_plot_segment_scatter``; coloured by segment),
  :func:`plot_segment_medians` (``rfm_plot_median_recency`` / ``_frequency`` /
  ``_monetary``) and :func:`plot_order_distribution` (``rfm_plot_order_dist``).
- Tiers and concentration: :func:`plot_lorenz_curve`, :func:`plot_whale_curve`,
  :func:`plot_migration_heatmap`.
- Customer lifetime value: :func:`plot_frequency_recency_matrix`,
  :func:`plot_probability_alive_matrix`, :func:`plot_probability_alive_path`,
  :func:`plot_calibration_holdout`, :func:`plot_period_transactions`,
  :func:`plot_tracking`.
- Retention: :func:`plot_cohort_heatmap` (cells of a period not over at ``as_of`` are
  hatched), :func:`plot_retention_survival`, :func:`plot_retention_sensitivity`.
- Sales pipeline: :func:`plot_funnel`, :func:`plot_forecast_distribution`,
  :func:`plot_backtest_calibration`.
- Customer service: :func:`plot_backlog_ageing`, :func:`plot_sla_breaches`.

Value labels, notes and legends stay inside their axes (a test draws every function on
realistic data at two figure sizes and checks it); the one legend placed outside on purpose,
:func:`plot_rfm_scatter`'s, sits right of the axes so it never hides points.

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
from crmcore._plots.rfm_distributions import (
    plot_order_distribution,
    plot_rfm_histograms,
    plot_rfm_scatter,
    plot_segment_medians,
)
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
    "plot_order_distribution",
    "plot_period_transactions",
    "plot_probability_alive_matrix",
    "plot_probability_alive_path",
    "plot_retention_sensitivity",
    "plot_retention_survival",
    "plot_rfm_heatmap",
    "plot_rfm_histograms",
    "plot_rfm_scatter",
    "plot_segment_medians",
    "plot_segment_sizes",
    "plot_sla_breaches",
    "plot_tracking",
    "plot_whale_curve",
]
