"""crmcore.segmentation: RFM tables, scores and segment maps; tiers; concentration; migration.

Examples
--------
>>> import crmcore.segmentation as seg
>>> callable(seg.rfm_table)
True
"""

from __future__ import annotations

# --- revenue concentration ---
from crmcore.segmentation._concentration import gini, lorenz_curve, top_share, whale_curve

# --- tier and segment migration ---
from crmcore.segmentation._migration import migration_matrix

# --- RFM tables, scores and segment maps ---
from crmcore.segmentation._rfm import RFMScorer, rfm_scores, rfm_table
from crmcore.segmentation._segment_maps import (
    SEGMENT_MAPS,
    SegmentCoverage,
    SegmentMap,
    assign_segments,
    segment_summary,
)

# --- customer tiers ---
from crmcore.segmentation._tiers import (
    abc_tiers,
    profitability_tiers,
    pyramid_tiers,
    quantile_tiers,
    relationship_type,
)

# one sorted literal per subject
__all__: list[str] = [
    # RFM tables, scores and segment maps
    "SEGMENT_MAPS",
    "RFMScorer",
    "SegmentCoverage",
    "SegmentMap",
    "assign_segments",
    "rfm_scores",
    "rfm_table",
    "segment_summary",
]
__all__ += [
    # customer tiers
    "abc_tiers",
    "profitability_tiers",
    "pyramid_tiers",
    "quantile_tiers",
    "relationship_type",
]
__all__ += [
    # revenue concentration
    "gini",
    "lorenz_curve",
    "top_share",
    "whale_curve",
]
__all__ += [
    # tier and segment migration
    "migration_matrix",
]
