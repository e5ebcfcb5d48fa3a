"""What the models accept and what they say (issue 8, items 6 and "clearer help").

- every ``btyd_summary`` output fits in every model, including T = 0 rows;
- an order log or an RFM table passed to a model is named as such, with the call to make;
- Polars/PyArrow input to predictions keeps the customer ids.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from crmcore.datasets import load_cdnow_master, load_cdnow_summary
from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.segmentation import rfm_table
from crmcore.value import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    btyd_summary,
)

TRANSACTION_MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_master()


def _summary(master: pd.DataFrame, unit: str, calibration: bool) -> pd.DataFrame:
    # CDNOW customers were acquired in Q1 1997: a window ending in March leaves customers
    # whose first purchase is in the last day/week/month, i.e. T = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows after observation_end are counted in a warning
        return btyd_summary(
            master,
            amount_col="amount",
            time_unit=unit,
            calibration_end="1997-03-20" if calibration else None,
            as_of="1997-12-31" if calibration else "1997-03-31",
        )


@pytest.mark.parametrize("calibration", [False, True], ids=["whole", "calibration"])
@pytest.mark.parametrize(
    "unit", [pytest.param("D", marks=pytest.mark.slow), "W", "M"], ids=["D", "W", "M"]
)
def test_every_btyd_summary_of_cdnow_fits_every_model(
    master: pd.DataFrame, unit: str, calibration: bool
) -> None:
    summary = _summary(master, unit, calibration)
    zero_age = int((summary["T"] == 0).sum())
    if calibration or unit == "M":
        assert zero_age > 0  # the case of the issue is present
    models: list[Any] = [m() for m in TRANSACTION_MODELS]
    if unit != "D":  # BG/BB needs whole periods; on 270+ daily periods it is very slow
        models.append(BetaGeoBetaBinomModel())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short windows: some parameters are not identified
        for model in models:
            model.fit(summary)
            assert model.n_excluded_ == zero_age
            assert model.n_obs_ == len(summary) - zero_age
            assert np.isfinite(model.log_likelihood_)
            scores = model.probability_alive(summary)
            assert scores.index.equals(summary.index) and scores.between(0, 1).all()
        # Gamma-Gamma leaves out frequency-0 rows (T = 0 rows among them). CDNOW has
        # customers whose repeat purchases are all worth $0 (mean 0, which the gamma
        # density excludes); they are refused with their ids, so they are left out here.
        spenders = summary[(summary["frequency"] == 0) | (summary["monetary_value"] > 0)]
        spend = GammaGammaModel().fit(spenders)
        assert spend.n_excluded_ == (spenders["frequency"] == 0).sum()


@pytest.mark.parametrize("model_class", [*TRANSACTION_MODELS, BetaGeoBetaBinomModel])
def test_rows_with_age_zero_do_not_change_the_fit(model_class: type[Any]) -> None:
    # a T = 0 customer has likelihood exactly 1 under every model (see fit's Notes), so
    # adding such rows must leave the estimates and the log-likelihood unchanged
    data = load_cdnow_summary()
    if model_class is BetaGeoBetaBinomModel:
        data = data.assign(recency=np.round(data["recency"]), T=np.round(data["T"]))
        data = data[data["frequency"] <= data["recency"]]
    extra = pd.DataFrame(
        {"frequency": 0, "recency": 0.0, "T": 0.0}, index=[f"new{i}" for i in range(50)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = model_class().fit(data[["frequency", "recency", "T"]])
        more = model_class().fit(pd.concat([data[["frequency", "recency", "T"]], extra]))
    np.testing.assert_allclose(more.params_, base.params_, rtol=1e-7)
    assert more.log_likelihood_ == pytest.approx(base.log_likelihood_, rel=1e-10)
    assert more.n_excluded_ == 50 and more.n_obs_ == base.n_obs_


def test_the_mbgnbd_likelihood_of_an_age_zero_customer_is_one() -> None:
    # Batislam, Denizel & Filiztekin (2007): for x = 0,
    # L = B(a, b+1)/B(a, b) (alpha/(alpha+T))^r + B(a+1, b)/B(a, b) (alpha/(alpha+0))^r;
    # at T = 0 this is b/(a+b) + a/(a+b) = 1. P(alive) is the first term over L, b/(a+b).
    a, b = 0.8, 2.5
    total = np.exp(betaln(a, b + 1) - betaln(a, b)) + np.exp(betaln(a + 1, b) - betaln(a, b))
    assert total == pytest.approx(1.0, abs=1e-14)
    model = ModifiedBetaGeoModel.from_params(r=0.3, alpha=4.0, a=a, b=b)
    alive = model.probability_alive(([0], [0.0], [0.0]))
    assert alive[0] == pytest.approx(b / (a + b), rel=1e-12)
    # BG/NBD and Pareto/NBD customers cannot drop out before their first repeat purchase
    # opportunity: alive with probability 1 at T = 0
    for other in (
        BetaGeoModel.from_params(r=0.3, alpha=4.0, a=a, b=b),
        ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67),
    ):
        assert other.probability_alive(([0], [0.0], [0.0]))[0] == pytest.approx(1.0)
        assert np.isfinite(other.expected_purchases(([0], [0.0], [0.0]), t=10.0)[0])


def test_only_age_zero_rows_or_repeat_purchases_at_age_zero_are_refused() -> None:
    only_new = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [0.0, 0.0]})
    with pytest.raises(ValidationError, match="every customer has T = 0"):
        BetaGeoModel().fit(only_new)
    bad = pd.DataFrame(
        {"frequency": [2, 0], "recency": [0.0, 0.0], "T": [0.0, 5.0]}, index=["c1", "c2"]
    )
    with pytest.raises(ValidationError, match=r"frequency must be 0 when T is 0; 1 of 2 .*c1"):
        BetaGeoModel().fit(bad)


@pytest.mark.parametrize("backend", ["pandas", "polars", "pyarrow"])
@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel, GammaGammaModel])
def test_an_order_log_is_named_as_such_with_the_call_to_make(
    master: pd.DataFrame, backend: str, model_class: type[Any]
) -> None:
    orders: Any = master.head(50)
    if backend == "polars":
        orders = pytest.importorskip("polars").from_pandas(orders)
    elif backend == "pyarrow":
        orders = pytest.importorskip("pyarrow").Table.from_pandas(orders, preserve_index=False)
    with pytest.raises(ColumnNotFoundError) as info:
        model_class().fit(orders)
    message = str(info.value)
    assert "looks like a transaction log" in message
    assert "crmcore.value.btyd_summary(" in message and "date_col='date'" in message
    assert "T_col='customer_id'" not in message


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel, GammaGammaModel])
def test_an_rfm_table_is_named_as_such_with_the_call_to_make(
    master: pd.DataFrame, model_class: type[Any]
) -> None:
    table = rfm_table(master.head(200), amount_col="amount", as_of="1998-06-30")
    assert {"recency_days", "frequency", "monetary"} <= set(table.columns)
    with pytest.raises(ColumnNotFoundError, match="looks like an RFM table") as info:
        model_class().fit(table)
    assert "btyd_summary" in str(info.value)


def test_a_plain_missing_column_still_gets_the_nearest_name() -> None:
    data = load_cdnow_summary().rename(columns={"T": "t"})
    with pytest.raises(ColumnNotFoundError, match="T_col='t'"):
        BetaGeoModel().fit(data)


@pytest.mark.parametrize("backend", ["polars", "pyarrow"])
def test_polars_and_pyarrow_predictions_keep_the_customer_ids(backend: str) -> None:
    summary = load_cdnow_summary()
    frame = summary.reset_index()  # customer_id becomes a column
    if backend == "polars":
        native: Any = pytest.importorskip("polars").from_pandas(frame)
    else:
        native = pytest.importorskip("pyarrow").Table.from_pandas(frame, preserve_index=False)
    for model in (
        BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426),
        ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67),
    ):
        expected = model.expected_purchases(summary, t=10.0)
        got = model.expected_purchases(native, t=10.0)
        assert got.index.name == "customer_id"
        assert list(got.index) == list(summary.index)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
        # customer_col=None: positions, as before
        plain = model.probability_alive(native, customer_col=None)
        assert plain.index.equals(pd.RangeIndex(len(summary)))
    pareto = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    dert = pareto.dert(native, discount_rate=0.01)
    assert list(dert.index) == list(summary.index)
    # an explicit id column that does not exist is an error, not a silent RangeIndex
    with pytest.raises(ColumnNotFoundError, match="cust_no"):
        pareto.probability_alive(native, customer_col="cust_no")
