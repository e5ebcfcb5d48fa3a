"""Bad input and overflow at the edge of retention, economics, migration and simulators.

Issue 8 (fixer 2): sBG / BdW models, contractual value, economics, the Pfeifer-Carraway
migration chain and the BTYD simulators either answer correctly or raise a
ValidationError that names the parameter; they never return a silent inf / NaN and
never leak a raw numpy / scipy exception. Expected values are hand derivations written
here or 50-digit mpmath, never crmcore's own output.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import crmcore.value as va
from crmcore.exceptions import ValidationError

HUGE = 1.7e308
BD = {
    "margin": 100.0,
    "acquisition_ceiling": 0.5,
    "acquisition_k": 0.1,
    "retention_ceiling": 0.8,
    "retention_k": 0.05,
    "discount_rate": 0.15,
}


@pytest.fixture(autouse=True)
def _fifty_digits():
    """50-digit references, set per test (other modules set their own precision)."""
    with mp.workdps(50):
        yield


@pytest.fixture(params=["sbg", "bdw"])
def model(request: pytest.FixtureRequest) -> va.ShiftedBetaGeoModel:
    if request.param == "sbg":
        return va.ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    return va.BetaDiscreteWeibullModel.from_params(alpha=0.704, beta=1.182, c=1.0)


# ---- sBG / BdW -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [va.ShiftedBetaGeoModel, va.BetaDiscreteWeibullModel])
@pytest.mark.parametrize(("setting", "value"), [("tol", "1e-8"), ("tol", None), ("max_iter", "3")])
def test_cohort_model_settings_of_the_wrong_type_are_named(cls, setting, value):
    with pytest.raises(ValidationError, match=f"'{setting}' parameter"):
        cls(**{setting: value}).fit([1000, 631, 468, 382])


def test_a_survivor_count_beyond_2_pow_53_is_refused():
    with pytest.raises(ValidationError, match="larger than 2\\*\\*53"):
        va.ShiftedBetaGeoModel().fit([HUGE, 631, 468])


@pytest.mark.parametrize("method", ["survival", "retention_rate", "churn_probability"])
@pytest.mark.parametrize("t", [[HUGE, 2.0], [[1], [1, 2, 3]]])
def test_periods_beyond_2_pow_53_or_ragged_are_refused(model, method, t):
    with pytest.raises(ValidationError, match="t must be"):
        getattr(model, method)(t)


def test_survival_at_a_long_horizon_matches_the_beta_function():
    # S(t) = B(alpha, beta + t) / B(alpha, beta) (Fader & Hardie 2007), by mpmath
    m = va.ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
    t = 2**52
    expected = mp.beta(0.704, 1.182 + t) / mp.beta(0.704, 1.182)
    assert m.survival(t) == pytest.approx(float(expected), rel=1e-9)


@pytest.mark.parametrize("what", ["del", "derl", "residual"])
def test_a_discount_rate_below_float_resolution_is_refused(model, what):
    with pytest.raises(ValidationError, match="'discount_rate' parameter"):
        if what == "del":
            model.discounted_expected_lifetime(1e-308)
        elif what == "derl":
            model.discounted_expected_residual_lifetime(1e-308, renewals=2)
        else:
            model.residual_value([[1000, 631], [1000]], discount_rate=1e-308)


@pytest.mark.parametrize(("alpha", "beta"), [(1e-308, 1.182), (0.704, HUGE)])
def test_sbg_parameters_beyond_float_resolution_are_refused(alpha, beta):
    with pytest.raises(ValidationError, match="too far apart in scale"):
        va.discounted_expected_lifetime(alpha, beta, 0.1)
    with pytest.raises(ValidationError, match="too far apart in scale"):
        va.customer_base_residual_value([[1000, 631]], alpha=alpha, beta=beta, discount_rate=0.1)


def test_a_residual_value_beyond_float64_is_an_error_not_inf(model):
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        model.residual_value([[1000, 631, 468]], discount_rate=0.1, margin=HUGE)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        va.aggregate_retention_residual_value([[1000, 631]], discount_rate=0.1, margin=HUGE)


def test_no_churn_and_no_discounting_is_an_infinite_value_error():
    with pytest.raises(ValidationError, match="infinite number of payments"):
        va.aggregate_retention_residual_value([[1000, 1000]], discount_rate=0.0)


def test_summary_with_a_tiny_alpha_uses_the_exact_normal_quantile():
    fitted = va.ShiftedBetaGeoModel().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    alpha = 1e-300
    # upper alpha/2 quantile of N(0, 1): log(erfc(z / sqrt 2) / 2) = log(alpha / 2)
    z = mp.findroot(lambda x: mp.log(mp.erfc(x / mp.sqrt(2)) / 2) - mp.log(mp.mpf(alpha) / 2), 37)
    table = fitted.summary(alpha=alpha)
    assert np.isfinite(table.to_numpy()).all()
    se_log = table["std_err"] / table["estimate"]
    expected = table["estimate"] * np.exp(float(z) * se_log)
    np.testing.assert_allclose(table["ci_upper"], expected, rtol=1e-12)
    projected = fitted.project(4, alpha=alpha)
    assert np.isfinite(projected[["survival_lower", "survival_upper"]].to_numpy()).all()


# ---- economics ---------------------------------------------------------------------------


def test_finite_horizon_clv_is_exact_next_to_retention_one():
    # sum_{k<H} q^k with q = 0.99999, H = 1000 (the old isclose shortcut returned H)
    q = mp.mpf(0.99999)
    expected = float((1 - q**1000) / (1 - q))
    got = va.constant_retention_clv(1.0, 0.99999, 0.0, timing="start", horizon=1000)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got < 999.0


def test_clv_of_a_huge_margin_is_finite_when_representable_else_an_error():
    # "end": m / ((1 - q)(1 + i)), q = r / (1 + i); r = 0.05, i = 0.1 gives 0.9524 m
    got = va.constant_retention_clv(HUGE, 0.05, 0.1, timing="end")
    assert got == pytest.approx(HUGE / ((1 - 0.05 / 1.1) * 1.1), rel=1e-14)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        va.constant_retention_clv(HUGE, 0.8, 0.1, timing="start")


def test_customer_equity_with_a_huge_retention_spend_is_computed_without_overflow():
    # CE = a m + a (m r - R) / (1 + d - r) - A (Blattberg & Deighton 1996), by mpmath
    A, R = mp.mpf(10), mp.mpf(HUGE)
    a = mp.mpf(0.5) * (1 - mp.exp(-mp.mpf(0.1) * A))
    r = mp.mpf(0.8) * (1 - mp.exp(-mp.mpf(0.05) * R))
    ce = a * 100 + a * (100 * r - R) / (1 + mp.mpf(0.15) - r) - A
    assert va.customer_equity(10.0, HUGE, **BD) == pytest.approx(float(ce), rel=1e-12)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        # a = 0.5, r = 0.99, CE ~ 0.5 m (1 + 0.99 / 0.16) > 1.8e308
        va.customer_equity(1e3, 1e3, **{**BD, "margin": HUGE, "retention_ceiling": 0.99})


def _ce(x: np.ndarray) -> float:
    """Customer equity written out by hand (Blattberg & Deighton 1996)."""
    A, R = x
    a = 0.5 * (1 - math.exp(-0.1 * A))
    r = 0.8 * (1 - math.exp(-0.05 * R))
    return a * (100 + (100 * r - R) / (1.15 - r)) - A


def test_optimal_customer_equity_agrees_with_a_derivative_free_search():
    best = va.optimal_customer_equity(**BD)
    peer = optimize.minimize(
        lambda x: -_ce(x), [10.0, 10.0], method="Nelder-Mead", options={"xatol": 1e-10}
    )
    np.testing.assert_allclose(
        [best["acquisition_spend"], best["retention_spend"]], peer.x, rtol=1e-6
    )
    assert best["customer_equity"] == pytest.approx(-peer.fun, rel=1e-12)


def test_optimal_customer_equity_with_extreme_response_constants():
    # k_r tiny: retention spend never pays, R* = 0, V* = m; k_a huge: A* = ln(c_a k_a m) / k_a
    ka = HUGE
    best = va.optimal_customer_equity(**{**BD, "acquisition_k": ka, "retention_k": 1e-308})
    assert best["retention_spend"] == 0.0
    a_star = (math.log(0.5) + math.log(ka) + math.log(100.0)) / ka
    assert best["acquisition_spend"] == pytest.approx(a_star, rel=1e-12)
    assert best["customer_equity"] == pytest.approx(50.0, rel=1e-12)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        va.optimal_customer_equity(**{**BD, "margin": HUGE})


def test_npv_is_summed_without_intermediate_overflow():
    # r = 1, d = 0: NPV = 1.7e308 + 1.7e308 - 1.7e308 = 1.7e308 (hand)
    npv = va.npv_by_retention([HUGE, HUGE, -HUGE], [1.0], discount_rate=0.0)
    assert npv.iloc[0] == pytest.approx(HUGE, rel=1e-15)
    with pytest.raises(ValidationError, match="1-d"):
        va.npv_by_retention([10.0, 12.0], np.array([[0.5, 0.8], [0.5, 0.8]]), discount_rate=0.1)


def test_tenure_profile_and_impact_beyond_float64_are_errors():
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        va.tenure_profit_profile(5, base_profit=10.0, growth=HUGE)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        va.retention_profit_impact([10.0] * 10, retention=0.9, discount_rate=0.1, customers=HUGE)


# ---- migration chain ----------------------------------------------------------------------


def test_purchase_history_sorts_mixed_type_ids():
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series(["a", 1.5, "b"], dtype=object),
            "date": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-03-01"]),
        }
    )
    table = va.purchase_history(tx, as_of="2024-03-31")
    assert list(table.index) == [1.5, "a", "b"]
    assert table.to_numpy().sum() == 3


@pytest.mark.parametrize("bad", ["abc", ["0,3", 0.2], [[0.3], [0.3, 0.2]]])
def test_purchase_probabilities_must_be_numbers(bad):
    with pytest.raises(ValidationError, match="purchase_probabilities"):
        va.CustomerMigrationModel.from_params(purchase_probabilities=bad)


def test_history_with_text_names_the_column():
    history = pd.DataFrame({"2024-01": [1, 0], "2024-02": ["abc", 1]})
    with pytest.raises(ValidationError, match="'2024-02'"):
        va.CustomerMigrationModel(n_states=2).fit(history)


def test_migration_values_beyond_float64_and_tiny_rates_are_errors():
    m = va.CustomerMigrationModel.from_params(purchase_probabilities=[0.3, 0.2, 0.15, 0.05, 0])
    with pytest.raises(ValidationError, match="'discount_rate' parameter"):
        m.fundamental_matrix(1e-308)
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        m.state_values(discount_rate=0.2, margin=HUGE)
    with pytest.raises(ValidationError, match="marketing_cost"):
        m.state_values(discount_rate=0.2, margin=40.0, marketing_cost=["4", 4, 4, 4, 0])
    with pytest.raises(ValidationError, match="beyond the float64 range"):
        m.project(3, initial=[HUGE] * 5)


def test_migration_summary_with_a_tiny_alpha_is_finite():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "c", "d", "d"],
            "date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-02-09",
                    "2024-01-20",
                    "2024-01-05",
                    "2024-03-01",
                    "2024-04-11",
                    "2024-02-14",
                    "2024-05-02",
                ]
            ),
        }
    )
    m = va.CustomerMigrationModel(n_states=3).fit_transactions(tx, as_of="2024-06-30")
    table = m.summary(alpha=1e-300)
    finite = np.isfinite(table["std_err"])
    assert np.isfinite(table.loc[finite].to_numpy()).all()


# ---- simulators ---------------------------------------------------------------------------

SIMS = [
    (va.simulate_bgnbd, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 10.0),
    (va.simulate_mbgnbd, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}, 10.0),
    (va.simulate_pareto_nbd, {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}, 10.0),
    (va.simulate_bgbb, {"alpha": 1.204, "beta": 0.75, "gamma": 0.657, "delta": 2.783}, 6),
]


@pytest.mark.parametrize(("sim", "params", "T"), SIMS)
@pytest.mark.parametrize("seed", [-1, "abc", 0.5])
def test_simulators_name_a_bad_random_state(sim, params, T, seed):
    with pytest.raises(ValidationError, match="random_state"):
        sim(**params, T=T, n_customers=3, random_state=seed)


@pytest.mark.parametrize(("sim", "params", "T"), SIMS)
def test_simulators_refuse_text_and_infinite_parameters(sim, params, T):
    with pytest.raises(ValidationError, match="decimals with a point"):
        sim(**params, T="0,5", n_customers=3, random_state=1)
    first = next(iter(params))
    with pytest.raises(ValidationError, match=f"'{first}' parameter"):
        sim(**{**params, first: math.inf}, T=T, n_customers=3, random_state=1)


@pytest.mark.parametrize(("sim", "params", "T"), SIMS[:3])
def test_simulators_refuse_more_purchases_than_can_be_drawn(sim, params, T):
    with pytest.raises(ValidationError, match="cannot be simulated"):
        sim(**{**params, "alpha": 1e-308}, T=T, n_customers=3, random_state=1)


def test_bgbb_simulator_refuses_a_horizon_it_would_loop_over_for_ever():
    with pytest.raises(ValidationError, match="transaction opportunities"):
        va.simulate_bgbb(1.204, 0.75, 0.657, 2.783, T=10**7, n_customers=3, random_state=1)
