"""probability_alive_path parity with lifetimes 0.11.3 ``calculate_alive_path`` (peer reference).

Both sides score the same BG/NBD parameters (the CDNOW estimates of Fader, Hardie & Lee
2005; parity holds for any), lifetimes' fitter with ``params_`` set by hand. lifetimes
resamples one customer's orders (``freq``) and loops over periods; crmcore numbers periods
on its own clock, whose days, Monday-to-Sunday weeks and calendar months are the periods of
pandas' ``"D"``, ``"W"`` (W-SUN) and ``"M"`` resampling.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer

from crmcore.datasets import load_cdnow_master
from crmcore.value import BetaGeoModel, probability_alive_path

lifetimes = require_peer("lifetimes")
lifetimes_utils = require_peer("lifetimes.utils")

PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return load_cdnow_master()


def _theirs(tx: pd.DataFrame, t: int, freq: str) -> np.ndarray:
    fitter = lifetimes.BetaGeoFitter()
    fitter.params_ = pd.Series(PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = lifetimes_utils.calculate_alive_path(fitter, tx, "date", t, freq=freq)
    return np.array([float(np.squeeze(v)) for v in path])


@pytest.mark.parametrize("freq", ["D", "W", "M"])
@pytest.mark.parametrize("customer_id", ["00003", "07592", "00001"])
def test_the_path_equals_lifetimes_calculate_alive_path(
    log: pd.DataFrame, customer_id: str, freq: str
) -> None:
    model = BetaGeoModel.from_params(time_unit=freq, **PARAMS)
    ours = probability_alive_path(model, log, customer_id=customer_id, as_of="1998-06-30")
    theirs = _theirs(log[log["customer_id"] == customer_id], len(ours) - 1, freq)
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-10, atol=1e-12)


def test_a_path_longer_than_the_history_projects_like_lifetimes(log: pd.DataFrame) -> None:
    model = BetaGeoModel.from_params(time_unit="W", **PARAMS)
    ours = probability_alive_path(model, log, customer_id="00003", n_periods=120)
    theirs = _theirs(log[log["customer_id"] == "00003"], 119, "W")
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=1e-10, atol=1e-12)
