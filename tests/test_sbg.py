"""Tests of the shifted-beta-geometric (sBG) retention model.

Reference data and numbers
--------------------------
Fader, P. S. & Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal of
Interactive Marketing 21(1), 76-90, Table 1: survivors out of 1,000 over years 0-12 for
"regular" and "high end" customers. The model is fitted on years 0-7 (seven renewal
opportunities). The paper (p. 7) reports regular alpha = 0.704, beta = 1.182 and high end
alpha = 0.668, beta = 3.806 (also used as reference values by pymc-marketing's
tests/clv/models/test_shifted_beta_geo.py and JD Maturen's shifted_beta_geometric_py test).
Log-likelihoods -1680.2652 (regular) and -1611.158 (high end) are the values reproduced by
the abdullahau/customer-analytics BdW-Model notebook at (0.7041, 1.1820) and
(0.6678, 3.8040). The high-end projection for years 8-12 at the MLE,
[0.460, 0.436, 0.414, 0.395, 0.378], and the high-end log-likelihood at alpha = beta = 1
on the proportion scale, -2.115, are from shifted_beta_geometric_py (README and test()).
"""

from __future__ import annotations

import pickle
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

from crmcore.exceptions import NotFittedError, ValidationError
from crmcore.value import ShiftedBetaGeoModel

matplotlib.use("Agg")

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


def hand_log_likelihood(alpha: float, beta: float, survivors: list[float]) -> float:
    """FH 2007 eq. (B3) written with beta functions (independent of the recursion)."""
    s = np.asarray(survivors, dtype=float)
    n = s.size - 1
    t = np.arange(1, n + 1)
    log_surv = betaln(alpha, beta + np.arange(n + 1)) - betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)
    return float(np.sum((s[:-1] - s[1:]) * log_p) + s[-1] * log_surv[-1])


@pytest.fixture(scope="module")
def regular() -> ShiftedBetaGeoModel:
    return ShiftedBetaGeoModel().fit(REGULAR[:8])


@pytest.fixture(scope="module")
def high_end() -> ShiftedBetaGeoModel:
    return ShiftedBetaGeoModel().fit(HIGH_END[:8])


def test_regular_customers_reproduce_the_published_estimates(regular: ShiftedBetaGeoModel):
    np.testing.assert_allclose(regular.params_[["alpha", "beta"]], [0.704, 1.182], rtol=1e-3)
    np.testing.assert_allclose(regular.log_likelihood_, -1680.2652, rtol=1e-3, atol=0)
    assert abs(regular.log_likelihood_ - (-1680.2652)) < 0.01


def test_high_end_customers_reproduce_the_published_estimates(high_end: ShiftedBetaGeoModel):
    np.testing.assert_allclose(high_end.params_[["alpha", "beta"]], [0.668, 3.806], rtol=1e-3)
    assert abs(high_end.log_likelihood_ - (-1611.158)) < 0.01


def test_high_end_projection_for_years_8_to_12_matches_the_peer_values(
    high_end: ShiftedBetaGeoModel,
):
    projected = high_end.survival(np.arange(8, 13))
    np.testing.assert_allclose(projected, [0.460, 0.436, 0.414, 0.395, 0.378], atol=5e-4)


def test_projections_track_the_holdout_years_of_the_paper(
    regular: ShiftedBetaGeoModel, high_end: ShiftedBetaGeoModel
):
    # fitted on years 0-7, the projections of holdout years 8-12 stay within 2 points of the
    # actuals (regular within 0.3 points; high end slightly below, by up to 1.6 points)
    for model, data, tol in ((regular, REGULAR, 0.004), (high_end, HIGH_END, 0.02)):
        actual = np.asarray(data[8:]) / 1000
        np.testing.assert_allclose(model.survival(np.arange(8, 13)), actual, atol=tol)


def test_log_likelihood_is_the_hand_derived_beta_function_likelihood(
    regular: ShiftedBetaGeoModel,
):
    a, b = regular.params_
    assert regular.log_likelihood_ == pytest.approx(
        hand_log_likelihood(a, b, REGULAR[:8]), rel=1e-10
    )


def test_log_likelihood_at_one_one_matches_the_peer_value_on_proportions():
    proportions = [h / 1000 for h in HIGH_END[:8]]
    # the peer test checks np.allclose(ll, -2.115, rtol=1e-3)
    assert hand_log_likelihood(1.0, 1.0, proportions) == pytest.approx(-2.115, rel=1e-3)
    model = ShiftedBetaGeoModel.from_params(alpha=1.0, beta=1.0)
    lost = -np.diff(proportions)
    churn = model.churn_probability(np.arange(1, 8))
    ll = float(lost @ np.log(churn) + proportions[-1] * np.log(model.survival(7)))
    assert ll == pytest.approx(hand_log_likelihood(1.0, 1.0, proportions), rel=1e-12)


def test_the_fitted_gradient_is_zero_at_the_reported_optimum(regular: ShiftedBetaGeoModel):
    a, b = regular.params_
    h = 1e-6
    for da, db in ((h, 0), (0, h)):
        up = hand_log_likelihood(a + da, b + db, REGULAR[:8])
        down = hand_log_likelihood(a - da, b - db, REGULAR[:8])
        assert abs((up - down) / (2 * h)) < 1e-3


def test_closed_forms_of_survival_retention_and_churn():
    a, b = 0.7, 1.3
    model = ShiftedBetaGeoModel.from_params(alpha=a, beta=b)
    t = np.arange(1, 20)
    np.testing.assert_allclose(
        model.survival(t), np.exp(betaln(a, b + t) - betaln(a, b)), rtol=1e-12
    )
    np.testing.assert_allclose(model.retention_rate(t), (b + t - 1) / (a + b + t - 1), rtol=1e-14)
    np.testing.assert_allclose(
        model.churn_probability(t), model.survival(t - 1) - model.survival(t), rtol=1e-10
    )
    assert model.survival(0) == 1.0
    assert isinstance(model.survival(3), float)


def test_standard_errors_come_from_the_observed_information(regular: ShiftedBetaGeoModel):
    a, b = regular.params_
    h = 1e-4
    f = lambda x, y: hand_log_likelihood(x, y, REGULAR[:8])  # noqa: E731
    haa = (f(a + h, b) - 2 * f(a, b) + f(a - h, b)) / h**2
    hbb = (f(a, b + h) - 2 * f(a, b) + f(a, b - h)) / h**2
    hab = (f(a + h, b + h) - f(a + h, b - h) - f(a - h, b + h) + f(a - h, b - h)) / (4 * h**2)
    expected = np.linalg.inv(-np.array([[haa, hab], [hab, hbb]]))
    np.testing.assert_allclose(regular.covariance_.to_numpy(), expected, rtol=1e-3)
    cov = regular.covariance_.to_numpy()
    assert np.array_equal(cov, cov.T)


def test_summary_has_the_fixed_columns_and_a_positive_interval(regular: ShiftedBetaGeoModel):
    table = regular.summary(alpha=0.1)
    assert list(table.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert list(table.index) == ["alpha", "beta"]
    assert (table["ci_lower"] > 0).all()
    assert (table["ci_lower"] < table["estimate"]).all()
    assert (table["estimate"] < table["ci_upper"]).all()
    narrower = regular.summary(alpha=0.5)
    assert (narrower["ci_upper"] < table["ci_upper"]).all()


def test_multi_cohort_fit_pools_right_censored_cohorts():
    # three cohorts acquired in consecutive years, all observed up to now
    cohorts = [REGULAR[:6], REGULAR[:4], REGULAR[:2]]
    model = ShiftedBetaGeoModel().fit(cohorts)
    a, b = model.params_
    expected = sum(hand_log_likelihood(a, b, c) for c in cohorts)
    assert model.log_likelihood_ == pytest.approx(expected, rel=1e-10)
    assert model.n_cohorts_ == 3 and model.n_customers_ == 3000
    # the same cohorts as an age table with NaN, and as a calendar staircase
    table = pd.DataFrame([c + [np.nan] * (6 - len(c)) for c in cohorts], index=[2001, 2003, 2005])
    by_table = ShiftedBetaGeoModel().fit(table)
    np.testing.assert_allclose(by_table.params_, model.params_, rtol=1e-8)
    stair = pd.DataFrame([[np.nan] * (6 - len(c)) + c for c in cohorts], index=[2001, 2003, 2005])
    by_calendar = ShiftedBetaGeoModel().fit(stair, layout="calendar")
    np.testing.assert_allclose(by_calendar.params_, model.params_, rtol=1e-8)


# Fader & Hardie (2010), "Customer-Base Valuation in a Contractual Setting: The Perils of
# Ignoring Heterogeneity", Marketing Science 29(1), 85-93: a firm acquires 10,000 customers at
# the start of each year 2001-2005; active customers per cohort (rows: 2001..2005 cohorts,
# columns: years since acquisition) under case 1 (alpha = 3.80, beta = 15.20) and case 2
# (alpha = 0.067, beta = 0.267), both parameter pairs printed on p. 4 of the paper. The counts
# are as reproduced in pymc-marketing, docs/source/notebooks/clv/dev/sBG_marimo.py, cell
# "Simulate Data from Follow-Up Paper" (commit 18cd519), which cites the paper. Case 1's
# pooled estimates alpha = 3.80, beta = 15.19 are those of Fader & Hardie's note "Fitting the
# sBG Model to Multi-Cohort Data" (brucehardie.com/notes/017, the same four cohorts), as
# asserted in JD Maturen's shifted_beta_geometric_py (shifted_beta_geometric/sbg.py, test()).
FH2010_CASE_1 = [
    [10000, 8000, 6480, 5307, 4391],
    [10000, 8000, 6480, 5307],
    [10000, 8000, 6480],
    [10000, 8000],
    [10000],
]
FH2010_CASE_2 = [
    [10000, 8000, 7600, 7383, 7235],
    [10000, 8000, 7600, 7383],
    [10000, 8000, 7600],
    [10000, 8000],
    [10000],
]


def test_pooled_fit_reproduces_the_published_multi_cohort_estimates_of_case_1() -> None:
    fitted = ShiftedBetaGeoModel().fit(FH2010_CASE_1)
    np.testing.assert_allclose(fitted.params_, [3.80, 15.19], rtol=1e-3)
    # the newest cohort (never observed over a renewal) carries no information
    without_newest = ShiftedBetaGeoModel().fit(FH2010_CASE_1[:-1])
    np.testing.assert_allclose(without_newest.params_, fitted.params_, rtol=1e-8)


def test_pooled_fit_recovers_the_printed_parameters_of_case_2() -> None:
    fitted = ShiftedBetaGeoModel().fit(FH2010_CASE_2)
    # printed to three decimals: 0.067 and 0.267
    np.testing.assert_allclose(fitted.params_, [0.067, 0.267], atol=5e-4)
    # the counts are consistent with exactly 1/15 and 4/15 (7,600 = 10,000 x 0.8 x 0.95)
    np.testing.assert_allclose(fitted.params_, [1 / 15, 4 / 15], rtol=1e-3)


def test_projection_intervals_cover_the_estimate_and_widen_with_the_horizon(
    high_end: ShiftedBetaGeoModel,
):
    proj = high_end.project(12, alpha=0.05)
    assert list(proj.columns) == [
        "survival",
        "survival_lower",
        "survival_upper",
        "retention_rate",
        "retention_lower",
        "retention_upper",
    ]
    assert proj.index.name == "t" and len(proj) == 13
    inner = proj.iloc[1:]
    assert (inner["survival_lower"] < inner["survival"]).all()
    assert (inner["survival"] < inner["survival_upper"]).all()
    width = (inner["survival_upper"] - inner["survival_lower"]).to_numpy()
    assert width[-1] > width[0]
    np.testing.assert_allclose(proj["survival"].iloc[8:], high_end.survival(np.arange(8, 13)))


def test_bootstrap_intervals_are_reproducible_and_agree_with_the_delta_method(
    high_end: ShiftedBetaGeoModel,
):
    boot = high_end.project(10, method="bootstrap", n_boot=60, random_state=7)
    again = high_end.project(10, method="bootstrap", n_boot=60, random_state=7)
    pd.testing.assert_frame_equal(boot, again)
    delta = high_end.project(10)
    width_boot = boot["survival_upper"] - boot["survival_lower"]
    width_delta = delta["survival_upper"] - delta["survival_lower"]
    ratio = (width_boot.iloc[1:] / width_delta.iloc[1:]).to_numpy()
    assert np.all((ratio > 0.5) & (ratio < 2.0))


def test_model_pickles_and_keeps_no_training_data(regular: ShiftedBetaGeoModel):
    clone = pickle.loads(pickle.dumps(regular))
    assert clone.survival(10) == regular.survival(10)
    # only parameters, their 2 x 2 covariance and per-cohort sizes/lengths are kept
    for value in vars(clone).values():
        parts = value if isinstance(value, tuple) else (value,)
        for part in parts:
            assert np.size(part) <= 4


def test_input_frame_is_not_mutated():
    table = pd.DataFrame([REGULAR[:4], [*REGULAR[:2], np.nan, np.nan]])
    before = table.copy()
    ShiftedBetaGeoModel().fit(table)
    pd.testing.assert_frame_equal(table, before)


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        ShiftedBetaGeoModel().survival(1)


@pytest.mark.parametrize(
    ("data", "kwargs", "fragment"),
    [
        ([1000, 631, 700, 382], {}, "survivors increase from 631 at period 1 to 700 at period 2"),
        ([1000, -5, -6], {}, "period 1: negative count -5"),
        ([1000, 631.5, 468], {}, "period 1: count 631.5 is not a whole number"),
        ([[1000, 600], [1000, 700, 800]], {}, "cohort 1: survivors increase from 700"),
        ([[1000, 600, 500], [1000, 700]], {"n_periods": 1}, "longer than the period table"),
        ([0, 0, 0], {}, "starts with 0 customers"),
        ([1000, 1000, 1000], {}, "no customer has cancelled"),
        ([1000], {}, "no cohort has been observed over a renewal"),
        ("1000", {}, "survivors must be a sequence"),
    ],
)
def test_bad_survivor_counts_raise_clear_errors(data, kwargs, fragment):
    with pytest.raises(ValidationError) as info:
        ShiftedBetaGeoModel().fit(data, **kwargs)
    assert fragment in str(info.value)


def test_table_with_a_gap_or_a_cohort_before_its_acquisition_is_rejected():
    gap = pd.DataFrame([[1000, np.nan, 400]], index=["2020"])
    with pytest.raises(ValidationError, match="cohort 2020 has a missing count at period 1"):
        ShiftedBetaGeoModel().fit(gap)
    stair = pd.DataFrame(
        [[1000, 700, 600], [1000, 800, np.nan]],
        index=[2021, 2022],
        columns=[2021, 2022, 2023],
    )
    with pytest.raises(ValidationError, match="cohort 2022 stops at period 2022"):
        ShiftedBetaGeoModel().fit(stair, layout="calendar")
    early = pd.DataFrame(
        [[1000, 700, 600], [900, 800, 700]], index=[2021, 2022], columns=[2021, 2022, 2023]
    )
    with pytest.raises(ValidationError, match="before its acquisition period"):
        ShiftedBetaGeoModel().fit(early, layout="calendar")


def test_several_problems_are_reported_at_once():
    with pytest.raises(ValidationError) as info:
        ShiftedBetaGeoModel().fit([[1000, -1], [1000, 10.5]])
    assert "cohort 0" in str(info.value) and "cohort 1" in str(info.value)


@settings(max_examples=60, deadline=None)
@given(
    alpha=st.floats(1e-3, 1e6),
    beta=st.floats(1e-3, 1e6),
)
def test_survival_is_non_increasing_and_retention_non_decreasing(alpha, beta):
    model = ShiftedBetaGeoModel.from_params(alpha=alpha, beta=beta)
    t = np.arange(0, 60)
    surv = model.survival(t)
    assert np.all((surv >= 0) & (surv <= 1))
    assert np.all(np.diff(surv) <= 0)
    ret = model.retention_rate(t[1:])
    assert np.all((ret >= 0) & (ret <= 1))
    assert np.all(np.diff(ret) >= 0)


def test_plot_draws_the_projection_band_and_the_actuals(high_end: ShiftedBetaGeoModel):
    from crmcore._plots.retention_survival import plot_retention_survival

    ax = plot_retention_survival(high_end, HIGH_END, calibration_periods=7)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["projection", "actual"]
    assert len(ax.get_lines()[0].get_xdata()) == 13
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), np.asarray(HIGH_END) / 1000)
    assert len(ax.collections) == 1  # the interval band
    assert ax.get_xlabel().startswith("Period")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import matplotlib.pyplot as plt

        plt.close("all")


def test_a_polars_cohort_table_gives_the_same_fit_as_pandas():
    pl = pytest.importorskip("polars")
    rows = {"t0": [1000, 1000], "t1": [631, 640], "t2": [468, None]}
    by_polars = ShiftedBetaGeoModel().fit(pl.DataFrame(rows))
    by_pandas = ShiftedBetaGeoModel().fit(pd.DataFrame(rows, dtype=float))
    np.testing.assert_allclose(by_polars.params_, by_pandas.params_, rtol=1e-10)
