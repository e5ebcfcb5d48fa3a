"""Gamma-Gamma spend model: published CDNOW numbers, hand formula, validation.

Runs without lifetimes; the lifetimes parity tests are in
tests/parity/test_lifetimes_gamma_gamma.py. Sources of every expected number:
tests/results/README.md.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import NotFittedError, ValidationError
from crmcore.value import GammaGammaModel
from crmcore.value.btyd._gamma_gamma import _GammaGammaObjective, gamma_gamma_log_likelihood


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def repeat(cdnow: pd.DataFrame) -> pd.DataFrame:
    return cdnow[cdnow["frequency"] > 0]


@pytest.fixture(scope="module")
def fitted(repeat: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(repeat)


def test_cdnow_fit_reproduces_the_published_parameters(fitted: GammaGammaModel) -> None:
    # Fader, Hardie & Lee (2005), JMR 42(4) and Hardie note 025, 946 CDNOW repeat customers:
    # p = 6.25, q = 3.74, gamma = 15.44, LL = -4055.92 (published to 2 decimals)
    published = {"p": 6.25, "q": 3.74, "v": 15.44}
    for name, value in published.items():
        assert fitted.params_[name] == pytest.approx(value, rel=1e-3, abs=0.005 + 1e-9)
    assert fitted.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    assert fitted.n_obs_ == 946


def test_frequency_zero_rows_are_left_out_and_counted(
    cdnow: pd.DataFrame, fitted: GammaGammaModel
) -> None:
    model = GammaGammaModel().fit(cdnow)
    assert model.n_excluded_ == 2357 - 946
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-8)


def test_conditional_spend_equals_the_hand_formula(
    fitted: GammaGammaModel, cdnow: pd.DataFrame
) -> None:
    # Fader, Hardie & Lee (2005), JMR 42(4) and Hardie note 025 ("The Gamma-Gamma Model of
    # Monetary Value"): the posterior mean spend is a weighted average of the population mean
    # p v / (q - 1) and the customer's own mean m_x, with weight p x / (p x + q - 1) on m_x
    ours = fitted.conditional_expected_average_spend(cdnow)
    assert ours.index.equals(cdnow.index)
    p, q, v = fitted.params_.to_numpy()
    x, m = (cdnow[c].to_numpy(float) for c in ("frequency", "monetary_value"))
    np.testing.assert_allclose(ours.to_numpy(), (p * v + p * x * m) / (p * x + q - 1), rtol=1e-12)
    # a customer without repeat purchases gets the population mean p v / (q - 1)
    zero = fitted.conditional_expected_average_spend(([0], [0.0]))
    assert zero[0] == pytest.approx(p * v / (q - 1)) == fitted.expected_average_spend()
    # x = 3, mean 50: (q - 1) / (p x + q - 1) * p v / (q - 1) + p x / (p x + q - 1) * 50
    hand = (p * v + p * 3 * 50) / (p * 3 + q - 1)
    assert fitted.conditional_expected_average_spend(([3], [50.0]))[0] == pytest.approx(hand)


@settings(max_examples=50, deadline=None)
@given(
    params=st.tuples(st.floats(0.5, 20), st.floats(1.5, 20), st.floats(0.5, 100)),
    x=st.integers(1, 10_000),
    m=st.floats(0.01, 1e4),
)
def test_log_likelihood_gradient_is_finite_and_matches_finite_differences(
    params: tuple[float, float, float], x: int, m: float
) -> None:
    obj = _GammaGammaObjective(np.array([float(x)]), np.array([m]), np.ones(1))
    point = np.log(np.array(params))
    value, grad = obj(point)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert -value == pytest.approx(
        gamma_gamma_log_likelihood(np.array(params), np.array([float(x)]), np.array([m]))[0]
    )
    h = 1e-6
    num = [(obj(point + h * e)[0] - obj(point - h * e)[0]) / (2 * h) for e in np.eye(3)]
    # central differences lose about eps * (size of the largest cancelling term) / h
    p, _, v = params
    scale = abs(p * x * np.log(x * m + v)) + abs(p * x * np.log(x)) + abs(p * x * np.log(m))
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-6 + 50 * 2.2e-16 * scale / h)


def test_monetary_value_at_or_below_zero_raises_with_count_and_ids() -> None:
    data = pd.DataFrame(
        {"frequency": [1, 2, 3, 0], "monetary_value": [10.0, 0.0, -5.0, 0.0]},
        index=["a", "b", "c", "d"],
    )
    with pytest.raises(ValidationError, match=r"2 of 4 rows .*first ids: b, c"):
        GammaGammaModel().fit(data)


def test_nan_and_fractional_frequency_raise() -> None:
    data = pd.DataFrame({"frequency": [1, 2.5], "monetary_value": [10.0, np.nan]})
    with pytest.raises(ValidationError) as info:
        GammaGammaModel().fit(data)
    assert "whole number" in str(info.value) and "monetary_value must be finite" in str(info.value)


def test_no_repeat_customer_raises() -> None:
    with pytest.raises(ValidationError, match="no customer has repeat"):
        GammaGammaModel().fit(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))


def test_polars_input_and_weights_give_the_same_fit(
    repeat: pd.DataFrame, fitted: GammaGammaModel
) -> None:
    model = GammaGammaModel().fit(pl.from_pandas(repeat.reset_index()))
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-8)
    grouped = repeat.groupby(["frequency", "monetary_value"]).size().rename("n").reset_index()
    weighted = GammaGammaModel().fit(grouped, weights_col="n")
    np.testing.assert_allclose(weighted.params_, fitted.params_, rtol=1e-6)


def test_summary_pickle_and_not_fitted(fitted: GammaGammaModel) -> None:
    table = fitted.summary()
    assert list(table.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert np.all(table["std_err"] > 0)
    clone = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_series_equal(clone.params_, fitted.params_)
    with pytest.raises(NotFittedError):
        GammaGammaModel().conditional_expected_average_spend(([1], [2.0]))


def test_infinite_mean_spend_is_reported() -> None:
    model = GammaGammaModel.from_params(p=2.0, q=0.8, v=10.0)
    with pytest.raises(ValidationError, match=r"q = 0\.8"):
        model.conditional_expected_average_spend(([1], [2.0]))
