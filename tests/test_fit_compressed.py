"""Fitting the BTYD models from a lazy frame: identical rows counted on the engine, then fitted
with the counts as weights (Polars LazyFrame here; every engine in tests/engines)."""

from __future__ import annotations

import re
from typing import Any

import narwhals.stable.v2 as nw2
import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.value import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    simulate_bgbb,
    simulate_bgnbd,
)
from crmcore.value.btyd._compressed import compressed_model_input

TRANSACTION_MODELS = (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel)


def weekly_summary(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    """A BTYD summary in whole weeks (BG/NBD draws, recency floored), spends in whole units."""
    rng = np.random.default_rng(seed)
    sim = simulate_bgnbd(
        0.25, 4.0, 0.8, 2.5, T=rng.integers(1, 53, n).astype(float), random_state=seed
    )
    x = sim["frequency"].to_numpy()
    spend = np.where(x > 0, np.round(rng.gamma(6.0, 4.0, n)), 0.0)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "frequency": x,
            "recency": np.floor(sim["recency"].to_numpy()),
            "T": sim["T"].to_numpy(),
            "monetary_value": spend,
        }
    )


def bgbb_summary(n: int = 2000, seed: int = 5) -> pd.DataFrame:
    sim = simulate_bgbb(1.2, 0.75, 0.66, 2.78, T=6, n_customers=n, random_state=seed)
    return sim.reset_index().assign(customer_id=lambda d: d["customer_id"].astype(str))


def lazy(frame: pd.DataFrame) -> pl.LazyFrame:
    return pl.from_pandas(frame).lazy()


def assert_same_fit(got: Any, want: Any, rtol: float = 1e-8) -> None:
    np.testing.assert_allclose(got.params_.to_numpy(), want.params_.to_numpy(), rtol=rtol)
    assert got.n_obs_ == want.n_obs_
    assert got.n_excluded_ == want.n_excluded_
    assert got.log_likelihood_ == pytest.approx(want.log_likelihood_, rel=1e-10)


@pytest.mark.parametrize("model_class", TRANSACTION_MODELS)
def test_a_lazy_fit_gives_the_in_memory_parameters(model_class: Any) -> None:
    data = weekly_summary()
    assert_same_fit(model_class().fit(lazy(data)), model_class().fit(data))


def test_bgbb_and_gamma_gamma_fit_lazily_with_the_in_memory_result() -> None:
    donors = bgbb_summary()
    assert_same_fit(BetaGeoBetaBinomModel().fit(lazy(donors)), BetaGeoBetaBinomModel().fit(donors))
    data = weekly_summary()
    assert_same_fit(GammaGammaModel().fit(lazy(data)), GammaGammaModel().fit(data))


def test_a_lazy_fit_sums_the_weights_column() -> None:
    # donations: one row per (frequency, recency, periods) with a customer count
    from crmcore.datasets import load_donations

    donations = load_donations()
    # split every row in two halves that the engine must add up again
    half = donations.assign(weights=donations["weights"] // 2)
    rest = donations.assign(weights=donations["weights"] - donations["weights"] // 2)
    split = pd.concat([half, rest], ignore_index=True)
    want = BetaGeoBetaBinomModel().fit(donations, T_col="periods", weights_col="weights")
    got = BetaGeoBetaBinomModel().fit(lazy(split), T_col="periods", weights_col="weights")
    assert_same_fit(got, want)
    assert got.n_obs_ == donations["weights"].sum() == 11_104


def test_the_engine_collects_one_row_per_distinct_history() -> None:
    data = weekly_summary()
    frame = nw2.from_native(lazy(data))
    table = compressed_model_input(frame, ["frequency", "recency", "T"], None, "demo")
    distinct = data.groupby(["frequency", "recency", "T"]).size()
    assert len(table.rows) == len(distinct) < len(data) / 3
    got = pd.Series(
        table.rows, index=pd.MultiIndex.from_arrays(table.columns, names=distinct.index.names)
    ).sort_index()
    assert got.to_dict() == distinct.astype(float).to_dict()
    np.testing.assert_array_equal(table.weights, table.rows)


def test_an_unweighted_fit_of_the_compressed_rows_is_another_likelihood() -> None:
    data = weekly_summary()
    counts = data.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    full = BetaGeoModel().fit(data)
    weighted = BetaGeoModel().fit(counts, weights_col="n")
    unweighted = BetaGeoModel().fit(counts)
    np.testing.assert_allclose(weighted.params_, full.params_, rtol=1e-8)
    # each distinct history counted once: the many one-time buyers lose their weight
    gap = np.abs(unweighted.params_.to_numpy() / full.params_.to_numpy() - 1.0)
    assert gap.max() > 0.2
    assert unweighted.n_obs_ == len(counts) < full.n_obs_ == len(data)


def _ids_sorted(message: str) -> str:
    """The message with each list of first ids sorted (a lazy frame has no row order)."""

    def sort(match: re.Match[str]) -> str:
        return f"(first ids: {', '.join(sorted(match.group(1).split(', ')))})"

    return re.sub(r"\(first ids: ([^)]*)\)", sort, message)


def _broken() -> pd.DataFrame:
    data = weekly_summary(400).copy()
    data.loc[5, "frequency"] = -1
    data.loc[[10, 11], "recency"] = data.loc[[10, 11], "T"] + 3
    data.loc[20, "T"] = np.nan
    return data


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_broken_rows_get_the_in_memory_message(model_class: Any) -> None:
    data = _broken()
    with pytest.raises(ValidationError) as eager:
        model_class().fit(data.set_index("customer_id"))
    with pytest.raises(ValidationError) as engine:
        model_class().fit(lazy(data))
    assert "recency must be <= T; 2 of 400 rows violate this" in str(engine.value)
    assert _ids_sorted(str(engine.value)) == _ids_sorted(str(eager.value))


def test_broken_spends_and_weights_get_the_in_memory_message() -> None:
    data = weekly_summary(300).assign(w=1.0)
    data.loc[data["frequency"] > 0, "monetary_value"] = data.loc[
        data["frequency"] > 0, "monetary_value"
    ].where(lambda s: s.index % 50 != 1, -5.0)
    data.loc[[7, 8], "w"] = [-1.0, np.inf]
    for model, cols in ((GammaGammaModel(), {}), (BetaGeoModel(), {})):
        with pytest.raises(ValidationError) as eager:
            model.fit(data.set_index("customer_id"), weights_col="w", **cols)
        with pytest.raises(ValidationError) as engine:
            model.fit(lazy(data), weights_col="w", **cols)
        assert "w must be finite and >= 0; 2 of 300 rows violate this" in str(engine.value)
        assert _ids_sorted(str(engine.value)) == _ids_sorted(str(eager.value))


def test_without_an_id_column_the_offending_values_are_named() -> None:
    data = _broken().drop(columns="customer_id")
    with pytest.raises(
        ValidationError,
        match=r"frequency must be >= 0; 1 of 400 rows violate "
        r"this \(first ids: \(-1\.0, ",
    ):
        BetaGeoModel().fit(lazy(data))


def test_missing_and_text_columns_are_refused_before_any_query() -> None:
    data = weekly_summary(50)
    with pytest.raises(ColumnNotFoundError, match="'recency'"):
        BetaGeoModel().fit(lazy(data.drop(columns="recency")))
    with pytest.raises(ValidationError, match="column 'T' must be numeric; got dtype String"):
        BetaGeoModel().fit(lazy(data.assign(T=data["T"].astype(str))))
    with pytest.raises(ValidationError, match="the data has no rows"):
        BetaGeoModel().fit(lazy(data.iloc[:0]))
