"""crmcore.scale.score on every engine equals in-memory scoring, bit for bit.

The reference is the models' own in-memory prediction methods on the pandas frame; the
engines run the same numpy code per partition (mapInPandas, map_partitions, map_batches,
DuckDB's map), so the values are compared with no tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, assert_same_table, collect, is_lazy_result, to_engine

from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.scale import score
from crmcore.segmentation import RFMScorer, assign_segments
from crmcore.value import BetaGeoModel, GammaGammaModel, customer_lifetime_value

BG = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
GG = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
CLV = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01}


def summary(n: int = 300, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = np.round(rng.uniform(0.0, 39.0, n), 2)
    recency = np.round(T * rng.uniform(0.0, 1.0, n), 2)
    x = np.where(recency > 0, rng.integers(1, 15, n), 0)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "frequency": x,
            "recency": np.where(x > 0, recency, 0.0),
            "T": T,
            "monetary_value": np.where(x > 0, np.round(rng.gamma(4.0, 10.0, n), 2), 0.0),
            "region": rng.choice(["north", "south"], n),  # passed through untouched
        }
    )


def test_btyd_outputs_equal_in_memory_scoring_on_every_engine(engine: str) -> None:
    data = summary()
    indexed = data.set_index("customer_id")
    expected = data.assign(
        expected_purchases=BG.expected_purchases(indexed, 26.0).to_numpy(),
        probability_alive=BG.probability_alive(indexed).to_numpy(),
        clv=customer_lifetime_value(BG, GG, indexed, **CLV).to_numpy(),
    )
    result = score(
        BG,
        to_engine(data, engine),
        outputs=["expected_purchases", "probability_alive", "clv"],
        t=26.0,
        spend_model=GG,
        **CLV,
    )
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    assert_same_table(result, expected, key="customer_id", rtol=0.0)


def test_spend_output_equals_in_memory_scoring_on_every_engine(engine: str) -> None:
    data = summary()
    expected = data.assign(
        conditional_expected_average_spend=GG.conditional_expected_average_spend(data)
    )
    result = score(GG, to_engine(data, engine))
    assert_same_table(result, expected, key="customer_id", rtol=0.0)


def test_rfm_scores_and_segments_equal_in_memory_scoring_on_every_engine(engine: str) -> None:
    rng = np.random.default_rng(4)
    n = 240
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "recency_days": rng.integers(0, 400, n).astype(float),
            "frequency": rng.integers(1, 20, n),
            "monetary": np.round(rng.gamma(2.0, 50.0, n), 2),
        }
    )
    # the last 80 customers never bought: Dask's last partitions hold no buyer at all
    table.loc[table.index[-80:], ["recency_days"]] = np.nan
    table.loc[table.index[-80:], ["frequency", "monetary"]] = 0
    scorer = RFMScorer(bins=4).fit(table.iloc[:160])
    scores = scorer.transform(table)
    expected = pd.concat([table, scores], axis=1).assign(
        segment=assign_segments(scores, "rf-grid").astype(object)
    )
    result = score(scorer, to_engine(table, engine), segment_map="rf-grid")
    assert_same_table(result, expected, key="customer_id", rtol=0.0)
    assert (collect(result).query("recency_days.isna()")["rfm_code"] == "111").all()


def test_input_columns_are_checked_when_score_is_called(engine: str) -> None:
    frame = to_engine(summary(20).drop(columns="T"), engine)
    with pytest.raises(ColumnNotFoundError, match="'T'"):
        score(BG, frame, t=4.0)
    text = to_engine(summary(20).assign(frequency=lambda d: d["frequency"].astype(str)), engine)
    with pytest.raises(ValidationError, match="'frequency' must be numeric"):
        score(BG, text, t=4.0)
    with pytest.raises(ValidationError, match="needs t"):
        score(BG, to_engine(summary(20), engine), outputs=["expected_purchases"])


def test_broken_rows_raise_the_in_memory_message_when_computed(engine: str) -> None:
    data = summary(40)
    data.loc[7, "recency"] = data.loc[7, "T"] + 1.0
    rule = "recency must be <= T; 1 of"
    if engine not in LAZY_ENGINES:
        with pytest.raises(ValidationError, match=rule):
            score(BG, to_engine(data, engine), t=4.0)
        return
    result = score(BG, to_engine(data, engine), t=4.0)  # lazy: nothing computed yet
    expected_type = ValidationError if engine == "dask" else Exception
    with pytest.raises(expected_type) as raised:
        collect(result)
    assert rule in str(raised.value) and "c007" in str(raised.value)
