"""Bad and extreme inputs at the public edge of the BTYD estimators and their tables (issue 8).

The bad-input campaign (tests/test_bad_inputs.py) found raw numpy/Python exceptions, silent
NaN/inf and hangs in the BTYD models, the model-checking tables, CLV, cohorts, profitability
and ``btyd_summary``. These tests pin the fixes: each bad input gets a ValidationError that
names the argument, and values near the float maximum are computed in a scaled form where
the true result is representable (expected values derived by hand below) or rejected where
it is not.
"""

from __future__ import annotations

import math
import time

import mpmath
import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import ValidationError
from crmcore.value import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    btyd_summary,
    calibration_holdout_table,
    cohort_churn_rates,
    customer_lifetime_value,
    customer_profitability,
    period_transactions,
    tracking_table,
)

HUGE = 1.7e308
# published CDNOW estimates (Fader, Hardie & Lee 2005; Fader & Hardie note on Pareto/NBD)
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
GG = {"p": 6.25, "q": 3.74, "v": 15.44}
HISTORY = (np.array([2.0, 0.0]), np.array([30.43, 0.0]), np.array([38.86, 38.86]))


# ------------------------------------------------------------------ parameters and arguments
@pytest.mark.parametrize("bad", ["abc", "0,5", None, [1.0], True])
@pytest.mark.parametrize(("cls", "params"), [(BetaGeoModel, BG), (GammaGammaModel, GG)])
def test_from_params_names_a_parameter_that_is_not_a_number(
    cls: type, params: dict[str, float], bad: object
) -> None:
    first = next(iter(params))
    with pytest.raises(ValidationError, match=f"'{first}' parameter of {cls.__name__}"):
        cls.from_params(**{**params, first: bad})


@pytest.mark.parametrize("bad", [3, "abc", float("nan")])
def test_initial_params_that_is_not_a_mapping_is_named(bad: object) -> None:
    model = BetaGeoModel(initial_params=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="'initial_params' parameter of BetaGeoModel"):
        model.fit(load_cdnow_summary().head(50))


@pytest.mark.parametrize("bad", ["abc", "0,5", "12,50", [[1.0], [1.0, 2.0]], None])
def test_time_arguments_reject_text_none_and_ragged_sequences(bad: object) -> None:
    model = BetaGeoModel.from_params(**BG)
    with pytest.raises(ValidationError, match="'t' parameter"):
        model.expected_purchases_new_customer(bad)
    with pytest.raises(ValidationError, match="'times' parameter"):
        model.tracking_curve([0.0, 1.0], bad)


def test_comma_decimal_time_gets_a_hint() -> None:
    model = BetaGeoModel.from_params(**BG)
    with pytest.raises(ValidationError, match="not a comma"):
        model.expected_purchases(HISTORY, t="0,5")


def test_pareto_population_pmf_rejects_a_huge_n_quickly_instead_of_hanging() -> None:
    # the Pareto/NBD pmf is a sum over n terms: n = 1.7e308 ran for ever before
    model = ParetoNBDModel.from_params(**PNBD)
    start = time.perf_counter()
    with pytest.raises(ValidationError, match=r"n must be a whole number in \[0, 10,000\]"):
        model.population_purchase_probability(HUGE, 10.0)
    with pytest.raises(ValidationError, match="10,000"):
        model.purchase_probability(HISTORY, [1, 10**6], 10.0)
    assert time.perf_counter() - start < 1.0


def test_times_beyond_the_documented_limit_are_rejected_with_the_rule() -> None:
    model = BetaGeoModel.from_params(**BG)
    data = pd.DataFrame({"frequency": [2, 3], "recency": [5.0, 6.0], "T": [10.0, HUGE]})
    with pytest.raises(ValidationError, match=r"T must be <= 1e\+09; 1 of 2 rows"):
        model.probability_alive(data)
    with pytest.raises(ValidationError, match=r"\[0, 1e\+09\]"):
        model.expected_purchases(HISTORY, t=HUGE)
    bgbb = BetaGeoBetaBinomModel.from_params(**BGBB)
    with pytest.raises(ValidationError, match=r"\[0, 100000\]"):
        bgbb.expected_purchases_new_customer(HUGE)


def test_a_huge_frequency_is_rejected_not_turned_into_nan() -> None:
    model = BetaGeoModel.from_params(**BG)
    data = pd.DataFrame({"frequency": [HUGE, 1.0], "recency": [20.0, 5.0], "T": [30.0, 30.0]})
    with pytest.raises(ValidationError, match="frequency must be <= 1e"):
        model.purchase_probability(data, 1, 10.0)


def test_summary_interval_with_a_tiny_alpha_is_finite_and_uses_the_exact_quantile() -> None:
    model = BetaGeoModel().fit(load_cdnow_summary())
    alpha = 1e-300
    table = model.summary(alpha=alpha)
    # z = Phi^-1(1 - alpha/2) = sqrt(2) * erfc^-1(alpha), computed with mpmath at high
    # precision (1 - alpha/2 rounds to 1.0 in float, where ppf gives inf)
    with mpmath.workdps(400):  # local: other modules rely on their own precision
        z = float(mpmath.sqrt(2) * mpmath.erfinv(1 - mpmath.mpf(alpha)))
    est = table["estimate"].to_numpy()
    se = table["std_err"].to_numpy()
    np.testing.assert_allclose(table["ci_upper"], est * np.exp(z * se / est), rtol=1e-12)
    assert 37.0 < z < 38.0


# ------------------------------------------------------------------ Gamma-Gamma
def test_conditional_spend_is_the_published_formula_at_ordinary_values() -> None:
    model = GammaGammaModel.from_params(**GG)
    out = model.conditional_expected_average_spend((np.array([2.0, 0.0]), np.array([40.0, 0.0])))
    p, q, v = GG["p"], GG["q"], GG["v"]
    # FHL 2005b: p (v + x m) / (p x + q - 1); x = 0 gives the population mean p v / (q - 1)
    expected = [p * (v + 2 * 40.0) / (p * 2 + q - 1), p * v / (q - 1)]
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_conditional_spend_of_huge_frequencies_and_spends_does_not_overflow() -> None:
    model = GammaGammaModel.from_params(**GG)
    x = np.array([HUGE, 3.0])
    m = np.array([40.0, HUGE])
    out = model.conditional_expected_average_spend((x, m))
    p, q, v = GG["p"], GG["q"], GG["v"]
    # x -> inf: the weight p x / (p x + q - 1) on the customer's own mean tends to 1
    assert out[0] == pytest.approx(40.0, rel=1e-12)
    # weight 3p / (3p + q - 1) on m = 1.7e308; the population term is negligible
    assert out[1] == pytest.approx(3 * p / (3 * p + q - 1) * HUGE, rel=1e-12)
    assert np.all(np.isfinite(out))
    assert v > 0


# ------------------------------------------------------------------ checking tables
@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frequency": [0, 1, 2],
            "recency": [0.0, 5.0, 20.0],
            "T": [30.0, 30.0, 30.0],
            "frequency_holdout": [0.0, 1.0, 2.0],
            "duration_holdout": [10.0, 10.0, 10.0],
        },
        index=["a", "b", "c"],
    )


@pytest.mark.parametrize("bad", [None, 3, "model", [], {}])
def test_checking_tables_name_a_model_argument_that_is_not_a_model(
    bad: object, holdout: pd.DataFrame
) -> None:
    with pytest.raises(ValidationError, match="'model' parameter of calibration_holdout_table"):
        calibration_holdout_table(bad, holdout)
    with pytest.raises(ValidationError, match="population_purchase_probability"):
        period_transactions(bad, holdout)
    log = pd.DataFrame({"customer_id": [1, 1], "time": [0.0, 1.0]})
    with pytest.raises(ValidationError, match="tracking_curve"):
        tracking_table(bad, log, times=[1.0, 2.0])


def test_calibration_holdout_table_rejects_comma_decimal_text(holdout: pd.DataFrame) -> None:
    bad = holdout.astype({"T": object})
    bad.loc["b", "T"] = "30,5"
    with pytest.raises(ValidationError, match="decimal"):
        calibration_holdout_table(ParetoNBDModel.from_params(**PNBD), bad)


def test_calibration_holdout_means_of_huge_counts_do_not_overflow(holdout: pd.DataFrame) -> None:
    data = holdout.assign(frequency=[1, 1, 1], recency=[5.0, 6.0, 7.0], frequency_holdout=HUGE)
    table = calibration_holdout_table(ParetoNBDModel.from_params(**PNBD), data)
    # the mean of three equal values is that value up to rounding (the plain sum is inf)
    assert table.loc[1, "actual"] == pytest.approx(HUGE, rel=1e-15)


@pytest.mark.parametrize("value", [np.nan, -5.0, 1.5])
def test_period_transactions_rejects_bad_frequencies_by_name(value: float) -> None:
    data = pd.DataFrame({"frequency": [0.0, value], "T": [5.0, 6.0]}, index=["a", "b"])
    with pytest.raises(ValidationError, match="frequency") as info:
        period_transactions(BetaGeoModel.from_params(**BG), data)
    assert "b" in str(info.value)


def test_period_transactions_rejects_weights_whose_sum_overflows() -> None:
    data = pd.DataFrame({"frequency": [0, 1], "T": [5.0, 6.0], "w": [HUGE, HUGE]})
    with pytest.raises(ValidationError, match="largest float"):
        period_transactions(BetaGeoModel.from_params(**BG), data, weights_col="w")


# ------------------------------------------------------------------ CLV
def _clv(**kw: object) -> pd.Series:
    customers = pd.DataFrame(
        {"frequency": [2, 0], "recency": [30.43, 0.0], "T": [38.86, 38.86]}
        | {"monetary_value": [40.0, 0.0]},
        index=["c1", "c2"],
    )
    args: dict[str, object] = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01}
    args.update(kw)
    bg = BetaGeoModel.from_params(**BG, time_unit="W")
    gg = GammaGammaModel.from_params(**GG)
    return customer_lifetime_value(bg, gg, customers, **args)  # type: ignore[arg-type]


def test_clv_with_a_huge_discount_rate_is_the_first_period_discounted_to_almost_nothing() -> None:
    out = _clv(discount_rate=HUGE)
    # only k = 1 survives: value = margin * spend * E[X(T, T + 1 month)] / (1 + d)
    first = _clv(discount_rate=0.0, horizon=1)
    np.testing.assert_allclose(out, first / (1.0 + HUGE), rtol=1e-12)


def test_clv_beyond_the_float_range_is_rejected_with_the_customers() -> None:
    with pytest.raises(ValidationError, match=r"cannot be represented \(first ids: c1"):
        _clv(margin=HUGE)


# ------------------------------------------------------------------ cohorts and profitability
def test_cohort_churn_rates_reject_text_and_keep_none_as_unobserved() -> None:
    table = pd.DataFrame([[100.0, 80.0, 60.0], [90.0, 70.0, 50.0]], columns=[0, 1, 2])
    text = table.astype(object)
    text.iloc[0, 1] = "80,0"
    with pytest.raises(ValidationError, match="column '1' must hold numbers"):
        cohort_churn_rates(text)
    missing = table.astype(object)
    missing.iloc[0, 2] = None
    out = cohort_churn_rates(missing)
    # 1 - 80/100 and 1 - 70/90, 1 - 50/70 by hand; the unobserved cell gives NaN
    assert out.iloc[0, 0] == pytest.approx(0.2)
    assert math.isnan(out.iloc[0, 1])
    assert out.iloc[1].tolist() == pytest.approx([1 - 70 / 90, 1 - 50 / 70])


def test_customer_profitability_rejects_mixed_id_types_and_overflowing_totals() -> None:
    tx = pd.DataFrame({"customer_id": ["a", 1.5, "b"], "amount": [10.0, 5.0, 3.0]})
    with pytest.raises(ValidationError, match="one type"):
        customer_profitability(tx)
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [HUGE, HUGE, 3.0]})
    with pytest.raises(ValidationError, match=r"1 of 2 customers .* \(first ids: a\)"):
        customer_profitability(tx)
    costs = pd.Series([1.0], index=pd.Index([None], dtype=object))
    with pytest.raises(ValidationError, match="without a customer id"):
        customer_profitability(tx.iloc[2:], service_costs=costs)


# ------------------------------------------------------------------ btyd_summary
def test_btyd_summary_means_of_huge_amounts_do_not_overflow() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09", "2024-01-02"]),
            "amount": [HUGE, HUGE, HUGE, 1.0],
        }
    )
    out = btyd_summary(log, amount_col="amount", as_of="2024-01-31")
    # two repeat days of 1.7e308 each: their mean is 1.7e308 up to rounding (the sum
    # alone overflows)
    assert out.loc["a", "monetary_value"] == pytest.approx(HUGE, rel=1e-15)
    assert out.loc["b", "monetary_value"] == 0.0
    hold = btyd_summary(log, amount_col="amount", as_of="2024-01-31", calibration_end="2024-01-04")
    assert hold.loc["a", "monetary_value_holdout"] == pytest.approx(HUGE, rel=1e-15)


def test_btyd_summary_rejects_a_unit_multiplier_that_overflows_the_times() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a"], "date": pd.to_datetime(["2024-01-01", "2024-01-05"])}
    )
    with pytest.raises(ValidationError, match="recency, T of 1 of 1 customers"):
        btyd_summary(log, as_of="2024-01-31", unit_multiplier=1e-308)
