"""crmcore.segmentation: RFM tables, scores and segment maps; tiers; concentration; migration.

Examples
--------
>>> import crmcore.segmentation as seg
>>> callable(seg.rfm_table)
True
"""

from __future__ import annotations

# --- RFM (rfm_table, rfm_scores, RFMScorer, SegmentMap, presets) ---
from crmcore.segmentation._rfm import RFMScorer, rfm_scores, rfm_table
from crmcore.segmentation._segment_maps import (
    SEGMENT_MAPS,
    SegmentCoverage,
    SegmentMap,
    assign_segments,
    segment_summary,
)

# --- end RFM ---

# --- tiers, concentration, migration ---
from crmcore.segmentation._concentration import gini, lorenz_curve, top_share, whale_curve
from crmcore.segmentation._migration import migration_matrix
from crmcore.segmentation._tiers import (
    abc_tiers,
    profitability_tiers,
    pyramid_tiers,
    quantile_tiers,
    relationship_type,
)

# --- end tiers ---

__all__: list[str] = [
    # RFM names
    "RFMScorer",
    "SEGMENT_MAPS",
    "SegmentCoverage",
    "SegmentMap",
    "assign_segments",
    "rfm_scores",
    "rfm_table",
    "segment_summary",
    # tier names
    "abc_tiers",
    "gini",
    "lorenz_curve",
    "migration_matrix",
    "profitability_tiers",
    "pyramid_tiers",
    "quantile_tiers",
    "relationship_type",
    "top_share",
    "whale_curve",
]
