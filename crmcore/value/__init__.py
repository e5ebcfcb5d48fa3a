"""crmcore.value: customer lifetime value and retention-profit models.

Non-contractual ("buy till you die") transaction models with their spend model and CLV,
and contractual retention models with the economics of retention.
"""

from __future__ import annotations

# --- BTYD summary, base, BG/NBD, MBG/NBD, Gamma-Gamma, CLV, interop ---
# --- end BTYD core ---

# --- Pareto/NBD, BG/BB, simulators, model checking ---
# --- end Pareto/BGBB ---

# --- sBG, BdW, DEL/DERL, residual value ---
# --- end sBG ---

# --- retention economics, migration chain, cohorts, profitability ---
# --- end economics ---

__all__: list[str] = [
    # BTYD core names
    # Pareto/BGBB names
    # sBG names
    # economics names
]
