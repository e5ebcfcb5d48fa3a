"""Every BTYD model fitted from any engine's frame gives the parameters of the pandas fit.

A lazy frame is compressed on its engine (identical rows counted) and only that table is
collected; the fit uses the counts as weights, so the likelihood is the one of the whole
frame and the parameters agree with the in-memory fit to the optimiser's tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from _engine_harness import to_engine

from crmcore.exceptions import ValidationError
from crmcore.value import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    simulate_bgnbd,
)


def weekly_summary(n: int = 800, seed: int = 11) -> pd.DataFrame:
    """A summary in whole weeks (BG/NBD draws, recency floored), spends in whole units."""
    rng = np.random.default_rng(seed)
    sim = simulate_bgnbd(
        0.25, 4.0, 0.8, 2.5, T=rng.integers(1, 40, n).astype(float), random_state=seed
    )
    x = sim["frequency"].to_numpy()
    data = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "frequency": x,
            "recency": np.floor(sim["recency"].to_numpy()),
            "T": sim["T"].to_numpy().astype(np.int64),  # an integer column beside floats
            "monetary_value": np.where(x > 0, np.round(rng.gamma(6.0, 4.0, n)), 0.0),
        }
    )
    # customers whose first purchase is in the last week: T = 0, left out of the likelihood
    last_week = data.index[-5:]
    data.loc[last_week, ["frequency", "T"]] = 0
    data.loc[last_week, ["recency", "monetary_value"]] = 0.0
    return data


def _same(got: Any, want: Any) -> None:
    np.testing.assert_allclose(got.params_.to_numpy(), want.params_.to_numpy(), rtol=1e-8)
    assert (got.n_obs_, got.n_excluded_) == (want.n_obs_, want.n_excluded_)
    assert got.log_likelihood_ == pytest.approx(want.log_likelihood_, rel=1e-10)


def test_every_model_fits_any_engine_frame_to_the_pandas_parameters(engine: str) -> None:
    data = weekly_summary()
    assert (data["T"] == 0).any()  # T = 0 customers are counted in n_excluded_
    frame = to_engine(data, engine)
    for model_class in (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel):
        _same(model_class().fit(frame), model_class().fit(data))
    _same(GammaGammaModel().fit(frame), GammaGammaModel().fit(data))
    # BG/BB on grouped data: the engine sums the weights of identical rows
    from crmcore.datasets import load_donations

    donations = load_donations()
    halves = pd.concat(
        [
            donations.assign(weights=donations["weights"] // 2),
            donations.assign(weights=donations["weights"] - donations["weights"] // 2),
        ],
        ignore_index=True,
    )
    got = BetaGeoBetaBinomModel().fit(
        to_engine(halves, engine), T_col="periods", weights_col="weights"
    )
    _same(got, BetaGeoBetaBinomModel().fit(donations, T_col="periods", weights_col="weights"))


def test_broken_rows_are_counted_and_named_on_every_engine(engine: str) -> None:
    data = weekly_summary(200)
    data.loc[[3, 4], "recency"] = data.loc[[3, 4], "T"] + 2.0
    data.loc[9, "frequency"] = -2
    with pytest.raises(ValidationError) as raised:
        frame = to_engine(data, engine)
        # a pandas frame names its rows by its index, the others by their customer_id column
        BetaGeoModel().fit(frame.set_index("customer_id") if engine == "pandas" else frame)
    message = str(raised.value)
    assert "frequency must be >= 0; 1 of 200 rows violate this (first ids: c0009)" in message
    rule = "recency must be <= T; 2 of 200 rows violate this (first ids: "
    assert rule in message
    named = message.split(rule)[1].split(")")[0].split(", ")
    assert sorted(named) == ["c0003", "c0004"]
