"""crmcore.segmentation: RFM tables, scores and segment maps; tiers; concentration; migration.

Examples
--------
>>> import crmcore.segmentation as seg
>>> callable(seg.rfm_table)
True
"""

from __future__ import annotations

# --- RFM (rfm_table, rfm_scores, RFMScorer, SegmentMap, presets) ---
# --- end RFM ---

# --- tiers, concentration, migration ---
# --- end tiers ---

__all__: list[str] = [
    # RFM names
    # tier names
]
