"""Array-level access to crmcore's public BG/NBD simulators, shared by the tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from crmcore.value import simulate_bgnbd as _simulate_bgnbd
from crmcore.value import simulate_mbgnbd


def simulate_bgnbd(
    params: Any, T: Any, rng: np.random.Generator, *, modified: bool = False
) -> tuple[Any, Any]:
    """(x, t_x) arrays from crmcore's public BG/NBD (or MBG/NBD) simulator."""
    simulate = simulate_mbgnbd if modified else _simulate_bgnbd
    sim = simulate(*np.asarray(params, dtype=float), T=np.asarray(T, dtype=float), random_state=rng)
    return sim["frequency"].to_numpy(float), sim["recency"].to_numpy(float)
