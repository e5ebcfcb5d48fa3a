"""BG/NBD: published CDNOW numbers, hand derivations, numerics, validation, recovery.

Runs without lifetimes; the lifetimes parity tests are in tests/parity/test_lifetimes_bgnbd.py.
Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _btyd_sim import simulate_bgnbd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import NotFittedError, ValidationError
from crmcore.value import BetaGeoModel
from crmcore.value.btyd._bgnbd_kernels import BGNBDObjective, bgnbd_log_likelihood

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science 24(2),
# CDNOW sample, 39-week calibration: r, alpha, a, b and LL = -9582.4 (REFERENCES.md)
PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


# ------------------------------------------------------------------ published references
def test_cdnow_fit_reproduces_the_published_parameters(fitted: BetaGeoModel) -> None:
    for name, value in PAPER.items():
        # the paper rounds to 3 decimals: allow that rounding on top of relative 1e-3
        assert fitted.params_[name] == pytest.approx(value, rel=1e-3, abs=5e-4)


def test_cdnow_log_likelihood_is_the_published_value_on_weeks(fitted: BetaGeoModel) -> None:
    assert fitted.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    assert fitted.n_obs_ == 2357
    assert fitted.aic_ == pytest.approx(2 * 4 + 2 * 9582.43, abs=0.02)
    assert fitted.bic_ == pytest.approx(4 * np.log(2357) + 2 * 9582.43, abs=0.02)
    assert fitted.converged_
    assert fitted.time_unit_ == "W"


def test_conditional_expectation_matches_hardies_spreadsheet(fitted: BetaGeoModel) -> None:
    # Hardie's BG/NBD spreadsheet: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226
    value = fitted.expected_purchases(([2], [30.43], [38.86]), t=39)
    assert value[0] == pytest.approx(1.226, rel=1e-3)


def test_new_customer_expectation_matches_hardies_spreadsheet(fitted: BetaGeoModel) -> None:
    # E[X(78)] = 1.8576 (Hardie's spreadsheet at the MLE)
    assert fitted.expected_purchases_new_customer(78) == pytest.approx(1.8576, rel=1e-3)


def test_new_customer_expectation_equals_numerical_integration(fitted: BetaGeoModel) -> None:
    # hand derivation: given (lambda, p), E[X(t)] = (1 - exp(-lambda p t)) / p; averaging over
    # lambda ~ Gamma(r, alpha) gives (1 - (alpha / (alpha + p t))^r) / p, then over p ~ Beta(a, b)
    r, alpha, a, b = fitted.params_.to_numpy()

    def inner(p: float) -> float:
        return (1 - (alpha / (alpha + p * 78)) ** r) / p * stats.beta.pdf(p, a, b)

    expected = integrate.quad(inner, 0, 1, limit=200)[0]
    assert fitted.expected_purchases_new_customer(78) == pytest.approx(expected, rel=1e-6)


def test_zero_purchase_probability_at_rounded_params_matches_r_btyd() -> None:
    # R BTYD at the rounded published parameters: P(X(39) = 0) = 0.5737864
    model = BetaGeoModel.from_params(**PAPER)
    assert model.population_purchase_probability(0, 39) == pytest.approx(0.5737864, rel=1e-6)


def test_per_customer_log_likelihood_matches_hardies_note_027() -> None:
    # Hardie note 027: a=0.8, b=2.5, r=0.25, alpha=4, T=40
    params = np.array([0.25, 4.0, 0.8, 2.5])
    ll = bgnbd_log_likelihood(
        params, np.array([0.0, 200.0]), np.array([0.0, 38.0]), np.array([40.0, 40.0])
    )
    assert ll[0] == pytest.approx(-0.59947382, abs=1e-8)
    assert ll[1] == pytest.approx(100.7957, abs=1e-4)


# ------------------------------------------------------------------ invariants
_params = st.tuples(
    st.floats(0.05, 5.0),
    st.floats(0.5, 50.0),
    st.one_of(st.floats(0.1, 0.9), st.floats(1.1, 5.0)),
    st.floats(0.2, 10.0),
)


@st.composite
def _histories(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 20))
    T = np.array(draw(st.lists(st.floats(0.5, 100.0), min_size=n, max_size=n)))
    x = np.array(draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)), dtype=float)
    share = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    t_x = np.where(x > 0, T * share, 0.0)
    return x, t_x, T


@settings(max_examples=60, deadline=None)
@given(params=_params, data=_histories(), t=st.floats(0.0, 100.0), u=st.floats(0.0, 100.0))
def test_probabilities_stay_in_the_unit_interval_and_are_monotone(
    params: tuple[float, float, float, float],
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    t: float,
    u: float,
) -> None:
    r, alpha, a, b = params
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    now = model.probability_alive(data)
    later = model.probability_alive(data, t=u)
    assert np.all((now >= 0) & (now <= 1)) and np.all((later >= 0) & (later <= 1))
    assert np.all(later <= now + 1e-12)
    for n in (0, 1, 3):
        p = model.purchase_probability(data, n, t)
        assert np.all((p >= 0) & (p <= 1))
    e1 = model.expected_purchases(data, t)
    e2 = model.expected_purchases(data, t + 1.0)
    assert np.all(e1 >= -1e-12) and np.all(e2 >= e1 - 1e-9)


# ------------------------------------------------------------------ consistency
def test_purchase_probabilities_sum_to_one_and_their_mean_is_the_expectation(
    fitted: BetaGeoModel, cdnow: pd.DataFrame
) -> None:
    sample = cdnow.iloc[::50]
    probs = np.array([fitted.purchase_probability(sample, n, 39).to_numpy() for n in range(400)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-8)
    mean = (np.arange(400)[:, None] * probs).sum(axis=0)
    np.testing.assert_allclose(mean, fitted.expected_purchases(sample, 39).to_numpy(), rtol=1e-6)


def test_population_probabilities_sum_to_one_with_the_new_customer_mean(
    fitted: BetaGeoModel,
) -> None:
    n = np.arange(600)
    probs = fitted.population_purchase_probability(n, 52)
    assert probs.sum() == pytest.approx(1.0, abs=1e-8)
    assert (n * probs).sum() == pytest.approx(fitted.expected_purchases_new_customer(52), rel=1e-6)


def test_future_probability_alive_equals_numerical_integration() -> None:
    # hand derivation: alive at T + u needs no dropout among the purchases in (T, T + u]:
    # exp(-lambda p u) under the posterior Gamma(r + x, alpha + T) x Beta(a, b + x)
    r, alpha, a, b = 0.4, 6.0, 0.7, 2.2
    x, t_x, T, u = 3.0, 20.0, 30.0, 25.0
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    now = model.probability_alive(([x], [t_x], [T]))[0]

    def inner(p: float) -> float:
        # E[exp(-lambda p u)] for lambda ~ Gamma(r + x, alpha + T)
        decay = ((alpha + T) / (alpha + T + p * u)) ** (r + x)
        return decay * stats.beta.pdf(p, a, b + x)

    survive = integrate.quad(inner, 0, 1)[0]
    later = model.probability_alive(([x], [t_x], [T]), t=u)[0]
    assert later == pytest.approx(now * survive, rel=1e-7)


def test_tracking_curve_sums_new_customer_expectations_over_acquisition_times(
    fitted: BetaGeoModel,
) -> None:
    acquired = np.array([0.0, 0.0, 1.5, 4.0])
    times = np.array([1.0, 2.0, 5.0, 10.0])
    curve = fitted.tracking_curve(acquired, times)
    hand = [
        sum(fitted.expected_purchases_new_customer(t - s) for s in acquired if t > s) for t in times
    ]
    np.testing.assert_allclose(curve["cumulative"], hand, rtol=1e-12)
    np.testing.assert_allclose(curve["incremental"], np.diff(hand, prepend=0.0), rtol=1e-12)


# ------------------------------------------------------------------ numerics
def test_analytic_gradient_and_hessian_match_finite_differences(cdnow: pd.DataFrame) -> None:
    x, t_x, T = _arrays(cdnow)
    obj = BGNBDObjective(x, t_x, T, np.ones_like(x), modified=False)
    point = np.log([0.3, 5.0, 0.7, 2.0])
    value, grad, hess = obj.value_grad_hessian(point)
    assert value == pytest.approx(-bgnbd_log_likelihood(np.exp(point), x, t_x, T).sum(), rel=1e-12)
    h = 1e-5
    eye = np.eye(4)
    num_grad = np.array([(obj(point + h * e)[0] - obj(point - h * e)[0]) / (2 * h) for e in eye])
    num_hess = np.array([(obj(point + h * e)[1] - obj(point - h * e)[1]) / (2 * h) for e in eye])
    np.testing.assert_allclose(grad, num_grad, rtol=1e-5)
    np.testing.assert_allclose(hess, num_hess, rtol=1e-5, atol=1e-6 * np.abs(num_hess).max())


def test_extreme_inputs_give_finite_log_likelihoods_gradients_and_predictions() -> None:
    x = np.array([0.0, 10_000.0, 10_000.0, 1.0, 5_000.0, 0.0])
    T = np.array([10_000.0, 10_000.0, 10_000.0, 10_000.0, 1e-3, 1e-3])
    t_x = np.array([0.0, 10_000.0, 1.0, 10_000.0, 1e-3, 0.0])
    for params in ([0.243, 4.414, 0.793, 2.426], [20.0, 0.01, 50.0, 0.05], [0.01, 500.0, 0.01, 50]):
        obj = BGNBDObjective(x, t_x, T, np.ones_like(x), modified=False)
        value, grad, hess = obj.value_grad_hessian(np.log(params))
        assert np.isfinite(value) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))
        model = BetaGeoModel.from_params(**dict(zip(PAPER, params, strict=True)))
        for out in (
            model.probability_alive((x, t_x, T)),
            model.probability_alive((x, t_x, T), t=100.0),
            model.purchase_probability((x, t_x, T), 0, 10.0),
            model.purchase_probability((x, t_x, T), 3, 10.0),
        ):
            assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
        assert np.all(np.isfinite(model.expected_purchases((x, t_x, T), 52.0)))


def test_compressed_weighted_fit_equals_the_row_level_fit(cdnow: pd.DataFrame) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    weighted = BetaGeoModel().fit(grouped, weights_col="n")
    plain = BetaGeoModel().fit(cdnow)
    np.testing.assert_allclose(weighted.params_, plain.params_, rtol=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-6)
    assert weighted.n_obs_ == 2357


def test_polars_input_fits_and_predicts_like_pandas(
    cdnow: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    frame = pl.from_pandas(cdnow.reset_index())
    model = BetaGeoModel().fit(frame)
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-8)
    pred = model.expected_purchases(frame, 10)
    np.testing.assert_allclose(pred.to_numpy(), fitted.expected_purchases(cdnow, 10), rtol=1e-8)


def test_predictions_are_aligned_with_the_callers_index(fitted: BetaGeoModel) -> None:
    data = pd.DataFrame(
        {"freq": [0, 5], "rec": [0.0, 20.0], "age": [30.0, 30.0]}, index=["zed", "amy"]
    )
    out = fitted.probability_alive(data, frequency_col="freq", recency_col="rec", T_col="age")
    assert isinstance(out, pd.Series) and out.index.tolist() == ["zed", "amy"]
    assert out["zed"] == 1.0
    arr = fitted.probability_alive(np.array([[0, 0.0, 30.0], [5, 20.0, 30.0]]))
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr, out.to_numpy())


# ------------------------------------------------------------------ estimator contract
def test_summary_has_fixed_columns_and_log_scale_intervals(fitted: BetaGeoModel) -> None:
    table = fitted.summary(alpha=0.1)
    assert list(table.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    z = stats.norm.ppf(0.95)
    se_log = table["std_err"] / table["estimate"]
    np.testing.assert_allclose(table["ci_upper"], table["estimate"] * np.exp(z * se_log))
    assert np.all(table["ci_lower"] < table["estimate"])
    cov = fitted.covariance_.to_numpy()
    np.testing.assert_array_equal(cov, cov.T)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_fit_does_not_mutate_or_keep_the_data(cdnow: pd.DataFrame) -> None:
    before = cdnow.copy()
    model = BetaGeoModel().fit(cdnow)
    pd.testing.assert_frame_equal(cdnow, before)
    assert not any(
        isinstance(v, pd.DataFrame) and len(v) == len(cdnow) for v in vars(model).values()
    )


def test_pickle_round_trip_keeps_predictions(fitted: BetaGeoModel, cdnow: pd.DataFrame) -> None:
    clone = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_series_equal(clone.params_, fitted.params_)
    np.testing.assert_array_equal(
        clone.expected_purchases(cdnow, 5), fitted.expected_purchases(cdnow, 5)
    )


def test_unfitted_model_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        BetaGeoModel().expected_purchases_new_customer(10)
    with pytest.raises(AttributeError):
        BetaGeoModel().summary()


def test_from_params_rejects_missing_and_negative_parameters() -> None:
    with pytest.raises(ValidationError, match="missing: b"):
        BetaGeoModel.from_params(r=1, alpha=1, a=1)
    with pytest.raises(ValidationError, match="positive"):
        BetaGeoModel.from_params(r=1, alpha=1, a=1, b=-1)


@pytest.mark.parametrize(
    ("column", "values", "rule"),
    [
        ("recency", [0.0, 50.0, 2.0], "recency must be <= T"),
        ("frequency", [0, -1, 2], "frequency must be >= 0"),
        ("frequency", [0, 1.5, 2], "whole number"),
        ("recency", [0.0, np.nan, 2.0], "recency must be finite"),
        ("T", [10.0, -1.0, 10.0], "T must be >= 0"),  # T = 0 is allowed (issue 8)
        ("recency", [3.0, 5.0, 2.0], "recency must be 0 when frequency is 0"),
    ],
)
def test_bad_input_raises_with_the_count_and_first_ids(
    column: str, values: list[float], rule: str
) -> None:
    data = pd.DataFrame(
        {"frequency": [0, 1, 2], "recency": [0.0, 5.0, 2.0], "T": [10.0, 10.0, 10.0]},
        index=["c0", "c1", "c2"],
    )
    data[column] = values
    with pytest.raises(ValidationError, match=rule) as info:
        BetaGeoModel().fit(data)
    assert "1 of 3 rows" in str(info.value)
    assert "first ids: c" in str(info.value)


def test_bad_settings_are_rejected() -> None:
    data = load_cdnow_summary()
    with pytest.raises(ValidationError, match="penalizer"):
        BetaGeoModel(penalizer=-1).fit(data)
    with pytest.raises(ValidationError, match="initial_params"):
        BetaGeoModel(initial_params={"r": 1.0}).fit(data)


def test_penalizer_minimises_the_lifetimes_style_penalised_objective(
    cdnow: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    c = 0.05
    model = BetaGeoModel(penalizer=c).fit(cdnow)
    x, t_x, T = _arrays(cdnow)

    def objective(params: np.ndarray) -> float:
        # lifetimes' objective: mean negative log-likelihood + c * sum(params ** 2)
        return -bgnbd_log_likelihood(params, x, t_x, T).mean() + c * np.sum(params**2)

    ours = model.params_.to_numpy()
    assert objective(ours) < objective(fitted.params_.to_numpy())
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert objective(ours) <= objective(ours * np.exp(rng.normal(0, 0.01, 4))) + 1e-12
    assert model.log_likelihood_ == pytest.approx(bgnbd_log_likelihood(ours, x, t_x, T).sum())
    assert model.log_likelihood_ < fitted.log_likelihood_


# ------------------------------------------------------------------ parameter recovery
@pytest.mark.slow
def test_parameters_are_recovered_from_200k_simulated_customers() -> None:
    rng = np.random.default_rng(20240601)
    truth = np.array([0.25, 4.0, 0.8, 2.5])
    T = rng.uniform(20.0, 80.0, 200_000)
    x, t_x = simulate_bgnbd(truth, T, rng)
    model = BetaGeoModel().fit(pd.DataFrame({"frequency": x, "recency": t_x, "T": T}))
    table = model.summary()
    z = np.abs(table["estimate"].to_numpy() - truth) / table["std_err"].to_numpy()
    assert np.all(z < 3), table


# ------------------------------------------------------------------ plots
def test_frequency_recency_and_probability_alive_plots_draw_the_model_grid(
    fitted: BetaGeoModel,
) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crmcore._plots.clv import (
        frequency_recency_grid,
        plot_frequency_recency_matrix,
        plot_probability_alive_matrix,
    )

    ax = plot_frequency_recency_matrix(fitted, T=39, t=4, max_frequency=10)
    images = ax.get_images()
    assert len(images) == 1
    shown = np.asarray(images[0].get_array())
    assert shown.shape == (11, 50)
    _, _, values = frequency_recency_grid(
        fitted, quantity="expected_purchases", T=39, max_frequency=10, t=4
    )
    # cell (frequency 3, last recency = T) is the model's prediction for (3, 39, 39)
    expected = fitted.expected_purchases(([3], [39.0], [39.0]), 4)[0]
    assert values[3, -1] == pytest.approx(expected)
    assert np.isnan(values[0, 1:]).all() and ax.get_ylabel().startswith("frequency")
    ax2 = plot_probability_alive_matrix(fitted, T=39, max_frequency=10)
    alive = np.asarray(ax2.get_images()[0].get_array())
    finite = alive[np.isfinite(alive)]
    assert finite.min() >= 0 and finite.max() <= 1
    assert ax2.get_title() == "Probability alive (T = 39)"
    plt.close("all")


def test_scoring_many_customers_in_whole_days_shares_terms_without_changing_results() -> None:
    # above 50,000 rows with few distinct (x, T) pairs the hypergeometric part is evaluated
    # once per pair; the result must equal the row-by-row kernel
    from crmcore.value.btyd._bgnbd_kernels import bgnbd_conditional_expected

    rng = np.random.default_rng(3)
    n = 60_000
    T = rng.integers(1, 60, n).astype(float)
    x, t_x = simulate_bgnbd(np.array(list(PAPER.values())), T, rng)
    t_x = np.round(t_x)
    model = BetaGeoModel.from_params(**PAPER)
    fast = model.expected_purchases((x, t_x, T), 26.0)
    direct = bgnbd_conditional_expected(np.array(list(PAPER.values())), 26.0, x, t_x, T)
    np.testing.assert_allclose(fast, direct, rtol=1e-13)


def test_pyarrow_tables_fit_and_score_like_pandas(
    cdnow: pd.DataFrame, fitted: BetaGeoModel
) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.Table.from_pandas(cdnow.reset_index())
    model = BetaGeoModel().fit(table)
    np.testing.assert_allclose(model.params_, fitted.params_, rtol=1e-8)
    out = model.probability_alive(table)
    # issue 8: a PyArrow/Polars frame's customer_id column labels the predictions
    assert isinstance(out, pd.Series) and out.index.equals(cdnow.index)
    np.testing.assert_allclose(out.to_numpy(), fitted.probability_alive(cdnow), rtol=1e-8)


@pytest.mark.parametrize("modified", [False, True])
def test_scoring_many_customers_with_continuous_times_interpolates_accurately(
    modified: bool,
) -> None:
    # above 200,000 rows with distinct (x, T) pairs the hypergeometric term is interpolated
    # in z; it must agree with the direct formula (and hence lifetimes) to 1e-9
    from crmcore.value import ModifiedBetaGeoModel
    from crmcore.value.btyd._bgnbd_kernels import bgnbd_conditional_expected

    rng = np.random.default_rng(11)
    n = 220_000
    params = np.array(list(PAPER.values()))
    T = rng.uniform(0.5, 80.0, n)
    x, t_x = simulate_bgnbd(params, T, rng, modified=modified)
    cls = ModifiedBetaGeoModel if modified else BetaGeoModel
    model = cls.from_params(**PAPER)
    for t in (1.0, 52.0):
        fast = model.expected_purchases((x, t_x, T), t)
        direct = bgnbd_conditional_expected(params, t, x, t_x, T, modified=modified)
        np.testing.assert_allclose(fast, direct, rtol=1e-9)
        assert not np.array_equal(fast, direct)  # the interpolation path was taken


def test_jupyter_display_shows_the_summary_table() -> None:
    unfitted = BetaGeoModel()._repr_html_()
    assert "not fitted" in unfitted and "<table" not in unfitted
    fitted = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    text = fitted._repr_html_()
    assert "<table" in text and "r=0.243" in text
