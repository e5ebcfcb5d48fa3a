"""The numbers docs/coming-from-lifetimes.md states about lifetimes, checked against lifetimes.

lifetimes 0.11.3 runs side by side on the CDNOW data (crmcore.datasets). Each test names the
section of the guide whose claim it checks; the expected values come from lifetimes itself
(or from its source formulas, quoted in the test), never from crmcore's output.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer

from crmcore.datasets import (
    load_cdnow_master,
    load_cdnow_sample,
    load_cdnow_summary,
    load_donations,
)
from crmcore.exceptions import ValidationError
from crmcore.segmentation import rfm_table
from crmcore.value import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    btyd_summary,
    customer_lifetime_value,
)

lifetimes = require_peer("lifetimes")
lifetimes_utils = require_peer("lifetimes.utils")


def _quiet(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a lifetimes function with its (and pandas') warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_master()


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    """The guide's translated script: the CDNOW sample by day, calibration to 1997-09-30."""
    orders = load_cdnow_sample()
    return _quiet(btyd_summary, orders, amount_col="amount", as_of="1997-09-30", time_unit="D")


@pytest.fixture(scope="module")
def weeks() -> pd.DataFrame:
    return load_cdnow_summary()


def _lifetimes_bgnbd(data: pd.DataFrame, penalizer: float = 0.0) -> Any:
    fitter = lifetimes.BetaGeoFitter(penalizer_coef=penalizer)
    return _quiet(fitter.fit, data["frequency"], data["recency"], data["T"])


def _lifetimes_gamma_gamma(data: pd.DataFrame, penalizer: float = 0.0) -> Any:
    repeat = data[data["frequency"] > 0]
    fitter = lifetimes.GammaGammaFitter(penalizer_coef=penalizer)
    return _quiet(fitter.fit, repeat["frequency"], repeat["monetary_value"])


def _lifetimes_clv(data: pd.DataFrame, freq: str) -> pd.Series:
    """lifetimes' 12-month CLV (30-day months) at lifetimes' own fitted parameters."""
    bgf = _lifetimes_bgnbd(data)
    ggf = _lifetimes_gamma_gamma(data)
    clv = _quiet(
        ggf.customer_lifetime_value,
        bgf,
        data["frequency"],
        data["recency"],
        data["T"],
        data["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq=freq,
    )
    return pd.Series(np.asarray(clv, dtype=float), index=data.index)


def _crmcore_models(data: pd.DataFrame) -> tuple[BetaGeoModel, GammaGammaModel]:
    """crmcore models carrying lifetimes' fitted parameters (CLV compared at equal params)."""
    bg = BetaGeoModel.from_lifetimes(_lifetimes_bgnbd(data), time_unit=data.attrs["time_unit"])
    gg = GammaGammaModel.from_lifetimes(_lifetimes_gamma_gamma(data))
    return bg, gg


# ---------------------------------------------------------------- a lifetimes script, translated
def test_the_translated_script_gives_lifetimes_parameters_and_clv(daily: pd.DataFrame) -> None:
    theirs = _lifetimes_bgnbd(daily).params_
    ours = BetaGeoModel().fit(daily).params_
    np.testing.assert_allclose(ours[theirs.index], theirs, rtol=1e-4)
    # the guide quotes r, alpha, a, b = 0.243, 30.895, 0.793, 2.426 and CLV(0001) = 35.87
    assert theirs.round(3).to_dict() == {"r": 0.243, "alpha": 30.895, "a": 0.793, "b": 2.426}
    assert round(float(_lifetimes_clv(daily, "D").loc["0001"]), 2) == 35.87


# ---------------------------------------------------------------- CLV: 365.25/12-day month
def test_lifetimes_day_clv_equals_crmcore_with_a_30_day_horizon_unit(daily: pd.DataFrame) -> None:
    theirs = _lifetimes_clv(daily, "D")
    bg, gg = _crmcore_models(daily)
    ours = customer_lifetime_value(
        bg, gg, daily, horizon=12, horizon_unit="30D", discount_rate=0.01
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    also = customer_lifetime_value(
        bg, gg, daily, horizon=12, horizon_unit="30D", discount_rate=0.01, time_unit="D"
    )
    np.testing.assert_allclose(also, theirs, rtol=1e-6, atol=1e-9)


def test_lifetimes_week_clv_equals_crmcore_with_4345_week_months(weeks: pd.DataFrame) -> None:
    theirs = _lifetimes_clv(weeks, "W")
    bg, gg = _crmcore_models(weeks)
    ours = customer_lifetime_value(
        bg, gg, weeks, horizon=12, horizon_unit="4.345W", discount_rate=0.01
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    # the guide: crmcore's own month is 0.06 % more value on week data
    month = customer_lifetime_value(bg, gg, weeks, horizon=12, horizon_unit="M", discount_rate=0.01)
    assert round(float(month.sum() / theirs.sum()), 4) == 1.0006


def test_lifetimes_month_clv_equals_crmcore_months(master: pd.DataFrame) -> None:
    monthly = _quiet(btyd_summary, master, amount_col="amount", as_of="1997-12-31", time_unit="M")
    monthly = monthly[~((monthly["frequency"] > 0) & (monthly["monetary_value"] <= 0))]
    theirs = _lifetimes_clv(monthly, "M")
    bg, gg = _crmcore_models(monthly)
    ours = customer_lifetime_value(
        bg, gg, monthly, horizon=12, horizon_unit="M", discount_rate=0.01
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_crmcore_month_adds_about_one_percent_on_day_data(daily: pd.DataFrame) -> None:
    theirs = _lifetimes_clv(daily, "D")
    bg, gg = _crmcore_models(daily)
    month = customer_lifetime_value(bg, gg, daily, horizon=12, horizon_unit="M", discount_rate=0.01)
    assert round(float(month.sum() / theirs.sum()), 4) == 1.0116


# ---------------------------------------------------------------- the time_unit trap
def test_time_unit_without_horizon_unit_values_twelve_days(daily: pd.DataFrame) -> None:
    theirs = _lifetimes_clv(daily, "D")  # what a lifetimes user expects from freq="D"
    bg, gg = _crmcore_models(daily)
    # the old reading (time_unit as the horizon's unit) would value 12 days: refused instead
    with pytest.raises(ValidationError, match="without horizon_unit is ambiguous"):
        customer_lifetime_value(bg, gg, daily, horizon=12, discount_rate=0.01, time_unit="D")
    days = customer_lifetime_value(bg, gg, daily, horizon=12, horizon_unit="D", discount_rate=0.01)
    assert round(float(days.sum() / theirs.sum()), 3) == 0.043


# ---------------------------------------------------------------- log-likelihood scale
@pytest.mark.parametrize("which", ["weeks", "daily"])
def test_lifetimes_nll_is_the_mean_on_rescaled_time(
    which: str, weeks: pd.DataFrame, daily: pd.DataFrame
) -> None:
    data = weeks if which == "weeks" else daily
    fitter = _lifetimes_bgnbd(data)
    ours = BetaGeoModel().fit(data).log_likelihood_
    n, repeat, max_t = len(data), float(data["frequency"].sum()), float(data["T"].max())
    # rescaling time by c = 1 / max T multiplies each repeat purchase's density by 1/c
    expected_nll = -(ours + repeat * np.log(max_t)) / n
    assert fitter._negative_log_likelihood_ == pytest.approx(expected_nll, rel=1e-7)
    if which == "weeks":
        assert round(fitter._negative_log_likelihood_, 4) == 0.2503
        assert round(ours, 1) == -9582.4  # Fader, Hardie & Lee (2005), Marketing Science


# ---------------------------------------------------------------- penalizer
def test_the_same_penalizer_gives_other_bgnbd_parameters_than_lifetimes(
    weeks: pd.DataFrame,
) -> None:
    theirs = _lifetimes_bgnbd(weeks, penalizer=0.01).params_
    direct = BetaGeoModel(penalizer=0.01).fit(weeks).params_
    assert not np.allclose(direct[theirs.index], theirs, rtol=0.05)
    # the guide's recipe: fit on time divided by max T, scale alpha back
    scale = 1.0 / weeks["T"].max()
    scaled = weeks.assign(recency=weeks["recency"] * scale, T=weeks["T"] * scale)
    params = BetaGeoModel(penalizer=0.01).fit(scaled).params_.copy()
    params["alpha"] /= scale
    np.testing.assert_allclose(params[theirs.index], theirs, rtol=2e-3)
    assert theirs.round(2).to_dict() == {"r": 0.24, "alpha": 4.43, "a": 0.29, "b": 0.66}


def test_gamma_gamma_penalizer_agrees_with_lifetimes(weeks: pd.DataFrame) -> None:
    theirs = _lifetimes_gamma_gamma(weeks, penalizer=0.01).params_
    ours = GammaGammaModel(penalizer=0.01).fit(weeks[weeks["frequency"] > 0]).params_
    np.testing.assert_allclose(ours[theirs.index], theirs, rtol=2e-3)


# ---------------------------------------------------------------- repeat purchases
def test_frequency_definitions_agree_with_lifetimes_on_cdnow(master: pd.DataFrame) -> None:
    theirs = _quiet(
        lifetimes_utils.summary_data_from_transaction_data,
        master,
        "customer_id",
        "date",
        observation_period_end="1998-06-30",
        freq="D",
    )
    ours = btyd_summary(master, as_of="1998-06-30")
    theirs = theirs.reindex(ours.index)
    np.testing.assert_array_equal(ours["frequency"], theirs["frequency"])
    assert int(theirs["frequency"].sum()) == 44021
    assert int(theirs.loc["00002", "frequency"]) == 0
    # orders vs purchase days, counted by hand
    assert len(master) == 69659
    assert len(master.drop_duplicates(["customer_id", "date"])) == 67591
    by_day = rfm_table(master, as_of="1998-06-30", frequency="days")
    np.testing.assert_array_equal(by_day["frequency"], theirs["frequency"] + 1)


# ---------------------------------------------------------------- cut-off
def test_lifetimes_keeps_the_rest_of_the_last_week(master: pd.DataFrame) -> None:
    def theirs(end: str) -> pd.DataFrame:
        return _quiet(
            lifetimes_utils.summary_data_from_transaction_data,
            master,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end=end,
            freq="W",
        )

    mid_week = theirs("1997-12-31")
    ours = _quiet(btyd_summary, master, amount_col="amount", as_of="1997-12-31", time_unit="W")
    mid_week = mid_week.reindex(ours.index)
    differs = ~np.isclose(ours.to_numpy(), mid_week[ours.columns].to_numpy()).all(axis=1)
    assert int(differs.sum()) == 249
    assert pd.Timestamp("1997-12-31").day_name() == "Wednesday"
    # the guide's remedy: as_of on the Sunday that ends lifetimes' last week
    sunday = _quiet(btyd_summary, master, amount_col="amount", as_of="1998-01-04", time_unit="W")
    np.testing.assert_allclose(sunday.to_numpy(), mid_week[sunday.columns].to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------- holdout monetary value
def test_holdout_monetary_value_is_lifetimes_mean_per_transaction(master: pd.DataFrame) -> None:
    theirs = _quiet(
        lifetimes_utils.calibration_and_holdout_data,
        master,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        monetary_value_col="amount",
    )
    ours = btyd_summary(
        master, amount_col="amount", as_of="1998-06-30", calibration_end="1997-09-30"
    )
    np.testing.assert_allclose(
        ours["monetary_value_holdout"], theirs.loc[ours.index, "monetary_value_holdout"]
    )
    assert float(theirs.loc["01412", "monetary_value_holdout"]) == pytest.approx(183.125)
    holdout = master[(master["date"] > "1997-09-30") & (master["date"] <= "1998-06-30")]
    per_row = holdout.groupby("customer_id")["amount"].mean()
    per_day = holdout.groupby(["customer_id", "date"])["amount"].sum().groupby("customer_id").mean()
    np.testing.assert_allclose(theirs.loc[per_row.index, "monetary_value_holdout"], per_row)
    assert len(per_row) == 7058
    assert int((~np.isclose(per_row, per_day)).sum()) == 464
    assert float(per_day.loc["01412"]) == pytest.approx(283.81 + 82.44)


# ---------------------------------------------------------------- confidence intervals
def test_lifetimes_interval_is_estimate_plus_minus_196_se(weeks: pd.DataFrame) -> None:
    fitter = _lifetimes_bgnbd(weeks)
    table = fitter.summary
    np.testing.assert_allclose(
        table["lower 95% bound"], table["coef"] - 1.96 * table["se(coef)"], rtol=1e-12
    )
    ours = BetaGeoModel().fit(weeks).summary()
    np.testing.assert_allclose(ours["std_err"], table.loc[ours.index, "se(coef)"], rtol=1e-2)
    assert round(float(table.loc["alpha", "lower 95% bound"]), 2) == 3.67


# ---------------------------------------------------------------- RFM definitions compared
def test_one_customer_lifetimes_rows_of_the_rfm_definitions_table() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-10", "2024-03-20"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    for include_first, expected in ((False, [2.0, 19.0, 29.0, 35.0]), (True, [3.0, 19.0, 29.0])):
        theirs = _quiet(
            lifetimes_utils.summary_data_from_transaction_data,
            log,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end="2024-03-30",
            freq="D",
            include_first_transaction=include_first,
        )
        np.testing.assert_allclose(theirs.loc["a"].to_numpy()[: len(expected)], expected)
        ours = btyd_summary(
            log, amount_col="amount", as_of="2024-03-30", include_first_transaction=include_first
        )
        np.testing.assert_allclose(ours.loc["a"].to_numpy(), theirs.loc["a", ours.columns])
    assert float(theirs.loc["a", "monetary_value"]) == pytest.approx(100.0 / 3)
    # with the first transaction, lifetimes' T - recency is the RFM recency (days since last)
    assert float(theirs.loc["a", "T"] - theirs.loc["a", "recency"]) == 10.0


def test_bgbb_penalizer_agrees_with_lifetimes() -> None:
    donations = load_donations()
    theirs = _quiet(
        lifetimes.BetaGeoBetaBinomFitter(penalizer_coef=0.01).fit,
        donations["frequency"],
        donations["recency"],
        donations["periods"],
        weights=donations["weights"],
    ).params_
    ours = (
        BetaGeoBetaBinomModel(penalizer=0.01)
        .fit(donations, weights_col="weights", T_col="periods")
        .params_
    )
    np.testing.assert_allclose(ours[theirs.index], theirs, rtol=2e-3)
