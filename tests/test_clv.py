"""customer_lifetime_value: hand derivation, units (no hidden 30-day month), errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import load_cdnow_summary
from crmcore.exceptions import ValidationError
from crmcore.value import BetaGeoModel, GammaGammaModel, customer_lifetime_value


@pytest.fixture(scope="module")
def models() -> tuple[BetaGeoModel, GammaGammaModel]:
    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    return bg, gg


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return load_cdnow_summary().iloc[:200]


def test_clv_equals_the_hand_derived_discounted_sum(
    models: tuple[BetaGeoModel, GammaGammaModel], customers: pd.DataFrame
) -> None:
    bg, gg = models
    clv = customer_lifetime_value(
        bg, gg, customers, horizon=6, horizon_unit="M", discount_rate=0.02, margin=0.3
    )
    # hand derivation: a month is 365.25 / 12 days = 4.348... weeks; the purchases of month k
    # are E[X(T, T + k m)] - E[X(T, T + (k - 1) m)], discounted by 1.02^k
    month = 365.25 / 12 / 7
    p, q, v = 6.25, 3.74, 15.44
    x = customers["frequency"].to_numpy()
    spend = p * (v + x * customers["monetary_value"].to_numpy()) / (p * x + q - 1)
    total = np.zeros(len(customers))
    for k in range(1, 7):
        later = bg.expected_purchases(customers, k * month).to_numpy()
        earlier = bg.expected_purchases(customers, (k - 1) * month).to_numpy()
        total += 0.3 * spend * (later - earlier) / 1.02**k
    np.testing.assert_allclose(clv.to_numpy(), total, rtol=1e-12)
    assert clv.index.equals(customers.index) and clv.name == "clv"


def test_without_discounting_the_sum_telescopes(
    models: tuple[BetaGeoModel, GammaGammaModel], customers: pd.DataFrame
) -> None:
    bg, gg = models
    clv = customer_lifetime_value(bg, gg, customers, horizon=52, horizon_unit="W", discount_rate=0)
    spend = gg.conditional_expected_average_spend(customers)
    np.testing.assert_allclose(clv, spend * bg.expected_purchases(customers, 52.0), rtol=1e-10)


def test_equivalent_units_give_the_same_value(
    models: tuple[BetaGeoModel, GammaGammaModel], customers: pd.DataFrame
) -> None:
    bg, gg = models
    weekly = customer_lifetime_value(
        bg, gg, customers, horizon=8, horizon_unit="W", discount_rate=0.01
    )
    days = customer_lifetime_value(
        bg, gg, customers, horizon=8, horizon_unit="7D", discount_rate=0.01
    )
    np.testing.assert_allclose(weekly, days, rtol=1e-12)
    # a model fitted on days gives the same CLV when its parameters are rescaled (alpha * 7)
    bg_days = BetaGeoModel.from_params(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426, time_unit="D")
    in_days = customers.assign(recency=customers["recency"] * 7, T=customers["T"] * 7)
    np.testing.assert_allclose(
        customer_lifetime_value(
            bg_days, gg, in_days, horizon=8, horizon_unit="W", discount_rate=0.01
        ),
        weekly,
        rtol=1e-9,
    )


def test_a_month_is_not_thirty_days(
    models: tuple[BetaGeoModel, GammaGammaModel], customers: pd.DataFrame
) -> None:
    bg, gg = models
    monthly = customer_lifetime_value(
        bg, gg, customers, horizon=1, horizon_unit="M", discount_rate=0
    )
    spend = gg.conditional_expected_average_spend(customers)
    right = spend * bg.expected_purchases(customers, 365.25 / 12 / 7)
    wrong = spend * bg.expected_purchases(customers, 30 / 7)
    np.testing.assert_allclose(monthly, right, rtol=1e-12)
    assert not np.allclose(monthly, wrong, rtol=1e-6)


def test_unknown_model_time_unit_needs_model_time_unit(customers: pd.DataFrame) -> None:
    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    with pytest.raises(ValidationError, match="model_time_unit"):
        customer_lifetime_value(bg, gg, customers, horizon=3, horizon_unit="M", discount_rate=0.01)
    out = customer_lifetime_value(
        bg, gg, customers, horizon=3, horizon_unit="M", discount_rate=0.01, time_unit="W"
    )
    assert np.all(out >= 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0}, "horizon"),
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"margin": 0}, "margin"),
        ({"horizon_unit": "month"}, "horizon_unit"),
        ({"time_unit": "month"}, "time_unit"),
    ],
)
def test_bad_arguments_are_rejected(
    models: tuple[BetaGeoModel, GammaGammaModel],
    customers: pd.DataFrame,
    kwargs: dict[str, object],
    match: str,
) -> None:
    bg, gg = models
    args: dict[str, object] = {"horizon": 3, "horizon_unit": "M", "discount_rate": 0.01}
    args.update(kwargs)
    with pytest.raises(ValidationError, match=match):
        customer_lifetime_value(bg, gg, customers, **args)  # type: ignore[arg-type]


def test_wrong_model_types_are_rejected(
    models: tuple[BetaGeoModel, GammaGammaModel], customers: pd.DataFrame
) -> None:
    bg, gg = models
    with pytest.raises(ValidationError, match="spend_model"):
        customer_lifetime_value(bg, bg, customers, horizon=3, horizon_unit="M", discount_rate=0.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="transaction_model"):
        customer_lifetime_value(gg, gg, customers, horizon=3, horizon_unit="M", discount_rate=0.0)  # type: ignore[arg-type]


def test_time_unit_travels_from_the_summary_into_clv() -> None:
    summary = load_cdnow_summary()
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    clv = customer_lifetime_value(
        bg, gg, summary.head(50), horizon=12, horizon_unit="M", discount_rate=0.01
    )
    explicit = customer_lifetime_value(
        bg,
        gg,
        summary.head(50),
        horizon=12,
        horizon_unit="M",
        discount_rate=0.01,
        model_time_unit="W",
    )
    pd.testing.assert_series_equal(clv, explicit)
