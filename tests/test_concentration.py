"""Tests of value concentration: Lorenz curve, Gini, top-x% share, whale curve, and their plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._plots.segmentation_tiers import plot_lorenz_curve, plot_whale_curve
from crmcore.exceptions import ValidationError
from crmcore.segmentation import gini, lorenz_curve, top_share, whale_curve


def _gini_mean_difference(x: np.ndarray) -> float:
    """Standard definition: G = sum_i sum_j |x_i - x_j| / (2 n^2 mean).

    G is scale-free, so it is computed on x / max(x): for subnormal inputs such as
    [0, 5e-324] the mean itself underflows to 0 (and 2 n^2 mean with it) on the raw values.
    """
    x = x / x.max()
    n = len(x)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean()))


# --- Gini ----------------------------------------------------------------------------------


def test_gini_of_equal_values_is_zero() -> None:
    assert gini(pd.Series([7.0] * 5)) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("n", [1, 2, 5, 100])
def test_gini_when_one_customer_has_everything_is_n_minus_1_over_n(n: int) -> None:
    values = pd.Series(np.r_[np.zeros(n - 1), 42.0])
    assert gini(values) == pytest.approx((n - 1) / n, rel=1e-12)


def test_gini_of_1_2_3_4_is_one_quarter() -> None:
    # Hand derivation: sum |xi - xj| over ordered pairs = 2 * (1+2+3+1+2+1) = 20;
    # G = 20 / (2 * 16 * 2.5) = 0.25.
    assert gini(pd.Series([4.0, 1.0, 3.0, 2.0])) == pytest.approx(0.25, rel=1e-12)


def test_gini_matches_the_mean_absolute_difference_formula() -> None:
    x = np.random.default_rng(1).lognormal(3, 1.2, size=500)
    assert gini(pd.Series(x)) == pytest.approx(_gini_mean_difference(x), rel=1e-10)


def test_gini_equals_one_minus_twice_the_area_under_the_lorenz_curve() -> None:
    x = pd.Series(np.random.default_rng(2).gamma(0.5, 10, size=300))
    curve = lorenz_curve(x)
    xs, ys = curve["customer_share"].to_numpy(), curve["value_share"].to_numpy()
    area = float(np.sum((xs[1:] - xs[:-1]) * (ys[1:] + ys[:-1]) / 2))
    assert gini(x) == pytest.approx(1 - 2 * area, rel=1e-10)


def test_gini_rejects_negative_values_zero_totals_and_empty_input() -> None:
    with pytest.raises(ValidationError, match="negative"):
        gini(pd.Series([1.0, -1.0]))
    with pytest.raises(ValidationError, match="sum to 0"):
        gini(pd.Series([0.0, 0.0]))
    with pytest.raises(ValidationError, match="no customers"):
        gini(pd.Series([], dtype=float))


# --- Lorenz and top share -----------------------------------------------------------------


def test_lorenz_curve_starts_at_origin_and_lists_customers_smallest_first() -> None:
    curve = lorenz_curve(pd.Series([5.0, 1.0, 4.0], index=["a", "b", "c"]))
    assert curve["customer_id"].tolist() == [None, "b", "c", "a"]
    assert curve["customer_share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["value_share"].tolist() == pytest.approx([0, 0.1, 0.5, 1.0])


def test_lorenz_curve_reads_a_frame_with_columns() -> None:
    frame = pd.DataFrame({"cid": ["a", "b"], "spend": [1.0, 3.0]})
    curve = lorenz_curve(frame, value_col="spend", customer_col="cid")
    assert curve["value_share"].tolist() == [0.0, 0.25, 1.0]


def test_top_share_of_the_issue_example() -> None:
    # total 100; the top 25% (2 of 8) hold 50 + 20 = 70%; the top 20% are 1.6 customers:
    # 50 + 0.6 * 20 = 62%.
    revenue = pd.Series([50.0, 20, 10, 8, 5, 4, 2, 1])
    assert top_share(revenue, 0.25) == pytest.approx(0.70)
    assert top_share(revenue, 0.2) == pytest.approx(0.62)
    assert top_share(revenue, 0.0) == 0.0
    assert top_share(revenue, 1.0) == 1.0
    with pytest.raises(ValidationError, match="'share' parameter of top_share"):
        top_share(revenue, 1.5)


# --- whale curve ---------------------------------------------------------------------------


def test_whale_curve_peaks_above_100_percent_when_some_customers_lose_money() -> None:
    # profit 100, 60, 20, 0, -30, -50: total 100; cumulative 100, 160, 180, 180, 150, 100 %.
    profit = pd.Series([0.0, -50, 60, 20, -30, 100], index=list("dfbcea"))
    curve = whale_curve(profit)
    assert curve["customer_id"].tolist() == [None, "a", "b", "c", "d", "e", "f"]
    assert curve["profit_share"].tolist() == pytest.approx([0, 1.0, 1.6, 1.8, 1.8, 1.5, 1.0])
    assert curve.attrs["peak_customer_share"] == pytest.approx(0.5)
    assert curve.attrs["peak_profit_share"] == pytest.approx(1.8)


def test_whale_curve_of_profitable_customers_peaks_at_the_end() -> None:
    curve = whale_curve(pd.Series([3.0, 1.0]))
    assert curve.attrs["peak_customer_share"] == 1.0
    assert curve.attrs["peak_profit_share"] == 1.0


def test_whale_curve_rejects_a_non_positive_total_profit() -> None:
    with pytest.raises(ValidationError, match="total profit is -1"):
        whale_curve(pd.Series([1.0, -2.0]))


# --- invariants ----------------------------------------------------------------------------

values_strategy = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=50,
).filter(lambda xs: sum(xs) > 0)


@settings(max_examples=80, deadline=None)
@given(values=values_strategy, seed=st.integers(0, 2**32 - 1))
def test_concentration_measures_are_bounded_monotone_convex_and_order_free(
    values: list[float], seed: int
) -> None:
    series = pd.Series(values, index=[f"id{i}" for i in range(len(values))])
    copy = series.copy()
    shuffled = series.iloc[np.random.default_rng(seed).permutation(len(values))]
    g = gini(series)
    assert 0.0 <= g < 1.0
    assert g == gini(shuffled)
    assert g == pytest.approx(_gini_mean_difference(np.asarray(values)), abs=1e-9)
    curve = lorenz_curve(series)
    pd.testing.assert_frame_equal(curve, lorenz_curve(shuffled))
    y = curve["value_share"].to_numpy()
    assert y[0] == 0.0 and y[-1] == 1.0
    assert np.all(np.diff(y) >= 0)  # monotone
    assert np.all(np.diff(y, 2) >= -1e-12)  # convex (equal steps in customer share)
    assert np.all(y <= curve["customer_share"].to_numpy() + 1e-12)  # below the diagonal
    assert top_share(series, 0.2) == top_share(shuffled, 0.2)
    assert top_share(series, 0.2) >= 0.2 - 1e-12
    pd.testing.assert_series_equal(series, copy)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-100, 100), min_size=1, max_size=40).filter(lambda xs: sum(xs) > 0),
    seed=st.integers(0, 99),
)
def test_whale_curve_peak_is_at_least_100_percent_and_order_free(
    values: list[int], seed: int
) -> None:
    series = pd.Series(values, index=range(len(values)), dtype=float)
    shuffled = series.iloc[np.random.default_rng(seed).permutation(len(values))]
    one, two = whale_curve(series), whale_curve(shuffled)
    pd.testing.assert_frame_equal(one, two)
    assert one.attrs == two.attrs
    assert one.attrs["peak_profit_share"] >= 1.0
    assert one["profit_share"].max() == one.attrs["peak_profit_share"]
    # peak = the share of customers with positive profit... up to zero-profit plateaus
    assert one.attrs["peak_customer_share"] == pytest.approx((series > 0).mean())


# --- plots ---------------------------------------------------------------------------------


def test_lorenz_plot_draws_the_curve_and_the_equality_line() -> None:
    ax = plot_lorenz_curve(pd.Series([1.0, 2.0, 7.0]))
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Lorenz curve", "equality"]
    assert len(ax.get_lines()[0].get_xdata()) == 4
    assert "Gini = 0.400" in ax.get_title()
    plt.close(ax.figure)


def test_whale_plot_marks_and_annotates_the_peak() -> None:
    fig, ax = plt.subplots()
    out = plot_whale_curve(pd.Series([100.0, 60, 20, 0, -30, -50]), ax=ax)
    assert out is ax
    peak = next(line for line in ax.get_lines() if line.get_label() == "peak")
    assert peak.get_ydata()[0] == pytest.approx(1.8)
    assert ax.texts[0].get_text() == "50% of customers give 180% of profit"
    plt.close(fig)
