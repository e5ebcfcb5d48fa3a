"""Simulators against lifetimes 0.11.3: its own fitter recovers crmcore's simulated truth.

The moments of every simulator are checked against published closed forms in
tests/test_simulate.py, which runs without lifetimes. Sources: tests/results/README.md.
"""

from __future__ import annotations

import warnings

import pytest
from _peers import require_peer

from crmcore.value import simulate_bgnbd

lifetimes = require_peer("lifetimes")

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, CDNOW


@pytest.mark.slow
def test_bgnbd_simulation_is_recovered_by_lifetimes() -> None:
    sim = simulate_bgnbd(**BG, T=39.0, n_customers=20_000, random_state=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = lifetimes.BetaGeoFitter().fit(sim["frequency"], sim["recency"], sim["T"])
    se = fitter.summary["se(coef)"]
    for name, value in BG.items():
        assert abs(fitter.params_[name] - value) < 4 * se[name], name
