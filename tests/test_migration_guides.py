"""Claims of the migration guides about pymc-marketing, R rfm, BTYD and CLVTools, by hand.

None of those tools runs here. Each test transcribes the peer's rule from its source (file and
function named in the test) or from the paper, computes the expected numbers by hand on a
small order log or on CDNOW, and compares them with the crmcore call the guide recommends.
The lifetimes claims, which can be checked against lifetimes itself, are in
tests/parity/test_lifetimes_migration_guides.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

from crmcore.datasets import load_cdnow_sample, load_cdnow_summary
from crmcore.exceptions import CRMWarning
from crmcore.segmentation import assign_segments, rfm_scores, rfm_table
from crmcore.value import BetaGeoModel, GammaGammaModel, btyd_summary, customer_lifetime_value

# The eight customers of docs/coming-from-r.md and docs/rfm-definitions.md.
EIGHT = pd.DataFrame(
    {
        "recency_days": [3.0, 10, 30, 45, 90, 120, 200, 365],
        "frequency": [12, 8, 5, 5, 3, 2, 1, 1],
        "monetary": [900.0, 650, 420, 400, 180, 90, 40, 25],
    },
    index=list("abcdefgh"),
)


@pytest.fixture(scope="module")
def sample_table() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        return rfm_table(load_cdnow_sample(), as_of="1998-06-30")


def _quiet_scores(table: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        return rfm_scores(table, **kwargs)  # type: ignore[arg-type]


# ====================================================================== R rfm
def _r_rfm_scores(values: np.ndarray, bins: int, *, reverse: bool) -> np.ndarray:
    """R rfm 0.3 rfm_table_order: breaks = quantile(type 7) + 1 (utils.R ``bins``),
    lower = c(min, breaks), upper = c(breaks, max + 1), score i where lower <= x < upper
    (recency gets rev(seq_len(bins))[i])."""
    probs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    breaks = np.quantile(values, probs, method="linear") + 1.0  # R's type 7
    lower = np.concatenate([[values.min()], breaks])
    upper = np.concatenate([breaks, [values.max() + 1.0]])
    score = np.full(values.size, -1)
    labels = list(range(bins, 0, -1)) if reverse else list(range(1, bins + 1))
    for i in range(bins):  # the R loop, last matching interval wins
        score[(values >= lower[i]) & (values < upper[i])] = labels[i]
    return score


def test_r_rfm_breaks_on_the_eight_customers_worked_by_hand() -> None:
    # recency sorted 3, 10, 30, 45, 90, 120, 200, 365; type 7 at 0.2: 10 + 0.4 * 20 = 18
    # -> break 19; at 0.4: 30 + 0.8 * 15 = 42 -> 43; 0.6: 90 + 0.2 * 30 = 96 -> 97;
    # 0.8: 120 + 0.6 * 80 = 168 -> 169. Frequency 1, 1, 2, 3, 5, 5, 8, 12: breaks 2.4, 3.8,
    # 6, 7.8. Monetary: 61, 163, 405, 559.
    r = [5, 5, 4, 3, 3, 2, 1, 1]
    f = [5, 5, 3, 3, 2, 1, 1, 1]
    m = [5, 5, 4, 3, 3, 2, 1, 1]
    expected = [f"{a}{b}{c}" for a, b, c in zip(r, f, m, strict=True)]
    assert expected == ["555", "555", "434", "333", "323", "212", "111", "111"]
    assert rfm_scores(EIGHT, method="r-rfm")["rfm_code"].tolist() == expected
    # crmcore's default edges are the quantiles themselves, bins closed on the right: customer
    # e (3 orders) is above 2.8 and f (2 orders) above 1.4
    default = rfm_scores(EIGHT)["rfm_code"].tolist()
    assert default == ["555", "555", "434", "333", "333", "222", "111", "111"]


def test_r_rfm_rule_transcribed_equals_r_rfm_method_on_cdnow(sample_table: pd.DataFrame) -> None:
    ours = _quiet_scores(sample_table, method="r-rfm")
    r = _r_rfm_scores(sample_table["recency_days"].to_numpy(float), 5, reverse=True)
    f = _r_rfm_scores(sample_table["frequency"].to_numpy(float), 5, reverse=False)
    m = _r_rfm_scores(sample_table["monetary"].to_numpy(float), 5, reverse=False)
    np.testing.assert_array_equal(ours["r_score"], r)
    np.testing.assert_array_equal(ours["f_score"], f)
    np.testing.assert_array_equal(ours["m_score"], m)
    np.testing.assert_array_equal(ours["rfm_score"], 100 * r + 10 * f + m)  # R's rfm_score


# rfm's README / rfm_segment example: names and lower/upper bounds per score
_R_RULES = [
    ("Champions", (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers", (2, 4), (2, 4), (2, 4)),
    ("Promising", (3, 4), (1, 3), (3, 5)),
    ("New Customers", (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them", (1, 2), (3, 4), (4, 5)),
    ("At Risk", (1, 2), (2, 5), (4, 5)),
    ("Need Attention", (1, 3), (3, 5), (3, 5)),
    ("About To Sleep", (2, 3), (1, 3), (1, 4)),
    ("Lost", (1, 1), (1, 5), (1, 5)),
]


def _r_rfm_segment(scores: pd.DataFrame) -> list[str]:
    """rfm_segment (rfm-segment.R): in rule order, label rows not yet labelled; else "Others"."""
    segment = pd.Series("", index=scores.index)
    for name, (rl, ru), (fl, fu), (ml, mu) in _R_RULES:
        hit = (
            scores["r_score"].between(rl, ru)
            & scores["f_score"].between(fl, fu)
            & scores["m_score"].between(ml, mu)
            & (segment == "")
        )
        segment[hit] = name
    segment[segment == ""] = "Others"
    return segment.tolist()


def test_r_rfm_segments_first_match_by_hand(sample_table: pd.DataFrame) -> None:
    eight = rfm_scores(EIGHT, method="r-rfm")
    assert _r_rfm_segment(eight) == [
        "Champions",
        "Champions",
        "Potential Loyalist",
        "Potential Loyalist",
        "Loyal Customers",
        "About To Sleep",
        "Lost",
        "Lost",
    ]
    assert assign_segments(eight, "r-rfm").astype(str).tolist() == _r_rfm_segment(eight)
    cdnow = _quiet_scores(sample_table, method="r-rfm")
    assert assign_segments(cdnow, "r-rfm").astype(str).tolist() == _r_rfm_segment(cdnow)


def test_r_rfm_table_is_crmcore_default_table_and_future_orders_are_left_out() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-20", "2024-04-02"]),
            "amount": [10.0, 20.0, 40.0, 5.0],
        }
    )
    with pytest.warns(CRMWarning, match="after as_of"):
        table = rfm_table(orders, as_of="2024-03-30")
    # R: recency_days = (analysis_date - max(order_date)) in days, n() orders, sum(revenue)
    assert table.loc["a", ["recency_days", "frequency", "monetary"]].tolist() == [10.0, 3, 70.0]
    # R keeps b's order of 2 April: recency_days = (2024-03-30 - 2024-04-02) = -3 days;
    # crmcore leaves it out, so b has no row
    assert (pd.Timestamp("2024-03-30") - pd.Timestamp("2024-04-02")).days == -3
    assert "b" not in table.index


# ====================================================================== pymc-marketing
def _pymc_quartiles(values: pd.Series, column: str) -> pd.Series:
    """rfm_segments (pymc_marketing/clv/utils.py): qcut(q=4, duplicates="drop"), retried with
    labels for 4, 3 and 2 quartiles; recency labels reversed (_rfm_quartile_labels)."""
    for n in (5, 4, 3):
        labels = list(range(n - 1, 0, -1)) if column == "r" else list(range(1, n))
        try:
            return pd.qcut(values, q=4, labels=labels, duplicates="drop").astype(int)
        except ValueError:
            continue
    raise AssertionError("qcut failed with every label set")


_PYMC_SEGMENTS = {  # pymc-marketing's _default_rfm_segment_config
    "Premium Customer": ["334", "443", "444", "344", "434", "433", "343", "333"],
    "Repeat Customer": ["244", "234", "232", "332", "143", "233", "243"],
    "Top Spender": [
        "424", "414", "144", "314", "324", "124", "224", "423", "413", "133", "323", "313",
        "134",
    ],
    "At Risk Customer": [
        "422", "223", "212", "122", "222", "132", "322", "312", "412", "123", "214",
    ],
    "Inactive Customer": ["411", "111", "113", "114", "112", "211", "311"],
}  # fmt: skip


def _pymc_segments(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    r = _pymc_quartiles(table["recency_days"], "r")
    f = _pymc_quartiles(table["frequency"], "f")
    m = _pymc_quartiles(table["monetary"], "m")
    code = r.astype(str) + f.astype(str) + m.astype(str)
    segment = pd.Series("Other", index=table.index)
    for name, codes in _PYMC_SEGMENTS.items():
        segment[code.isin(codes)] = name
    return code, segment


def test_pymc_quartiles_of_the_eight_customers_by_hand() -> None:
    # type-7 quartiles: recency 25, 67.5, 140; frequency 1.75, 4, 5.75; monetary 77.5, 290,
    # 477.5; bins (lower, upper], recency reversed
    expected = ["444", "444", "333", "333", "222", "222", "111", "111"]
    code, _ = _pymc_segments(EIGHT)
    assert code.tolist() == expected
    assert rfm_scores(EIGHT, method="pymc-marketing")["rfm_code"].tolist() == expected


def test_pymc_segments_transcribed_equal_crmcore_on_cdnow() -> None:
    orders = load_cdnow_sample()
    for as_of in ("1997-06-30", "1998-06-30"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CRMWarning)
            # rfm_summary(include_first_transaction=True): purchase days, mean per day
            table = rfm_table(orders, as_of=as_of, frequency="days", monetary="mean")
        code, segment = _pymc_segments(table)
        scores = _quiet_scores(table, method="pymc-marketing")
        assert scores["rfm_code"].tolist() == code.tolist()
        ours = assign_segments(scores, "pymc-marketing").astype(str)
        assert ours.tolist() == segment.tolist()
    # the guide's example customer
    assert code.loc["0001"] == "422"
    assert segment.loc["0001"] == "At Risk Customer"


def test_pymc_rfm_summary_segmentation_form_is_rfm_table_days_mean() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-10", "2024-03-20"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    # rfm_summary(include_first_transaction=True): frequency = purchase days = 3,
    # recency = T - recency = 29 - 19 = 10, monetary = (30 + 30 + 40) / 3
    table = rfm_table(log, as_of="2024-03-30", frequency="days", monetary="mean")
    assert table.loc["a", "frequency"] == 3
    assert table.loc["a", "recency_days"] == 29 - 19
    assert table.loc["a", "monetary"] == pytest.approx(100.0 / 3)


def _pymc_clv(model: BetaGeoModel, spend: np.ndarray, data: pd.DataFrame, *, rate: float) -> float:
    """pymc_marketing.clv.utils.customer_lifetime_value with future_t=12, time_unit="D"."""
    future_t, factor = 12, 30  # {"W": 4.345, "M": 1.0, "D": 30, "H": 30 * 24}["D"]
    steps = np.arange(future_t, future_t + 1) if rate == 0.0 else np.arange(1, future_t + 1)
    clv = np.zeros(len(data))
    previous: np.ndarray | float = 0.0
    for i in steps * factor:
        new = np.asarray(model.expected_purchases(data, float(i)), dtype=float)
        clv += spend * (new - previous) / (1 + rate) ** (i / factor)
        previous = new
    return clv


@pytest.mark.parametrize("rate", [0.0, 0.01])
def test_pymc_marketing_clv_is_crmcore_with_30_day_months(rate: float) -> None:
    bg = BetaGeoModel.from_params(r=0.243, alpha=30.9, a=0.793, b=2.426, time_unit="D")
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    data = pd.DataFrame(
        {
            "frequency": [2.0, 0.0, 7.0, 1.0],
            "recency": [213.0, 0.0, 250.0, 12.0],
            "T": [272.0, 272.0, 260.0, 100.0],
            "monetary_value": [22.345, 0.0, 40.0, 11.77],
        },
        index=["0001", "0002", "0003", "0004"],
    )
    spend = gg.conditional_expected_average_spend(data).to_numpy()
    expected = _pymc_clv(bg, spend, data, rate=rate)
    ours = customer_lifetime_value(
        bg, gg, data, horizon=12, horizon_unit="30D", discount_rate=rate, time_unit="D"
    )
    np.testing.assert_allclose(ours.to_numpy(), expected, rtol=1e-10)


def test_holdout_monetary_value_per_transaction_and_the_per_period_recipe() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "date": pd.to_datetime(
                ["2024-01-05", "2024-02-10", "2024-02-10", "2024-03-01", "2024-01-20"]
            ),
            "amount": [20.0, 30.0, 10.0, 50.0, 15.0],
        }
    )
    split = btyd_summary(log, amount_col="amount", as_of="2024-03-31", calibration_end="2024-01-31")
    # lifetimes: mean of the holdout rows, (30 + 10 + 50) / 3
    assert split.loc["a", "monetary_value_holdout"] == pytest.approx(30.0)
    # rfm_train_test_split: per-period totals (40 on 10 Feb, 50 on 1 Mar), then their mean
    holdout = log[log["date"] > "2024-01-31"]
    per_day = btyd_summary(
        holdout, amount_col="amount", as_of="2024-03-31", include_first_transaction=True
    )
    assert per_day.loc["a", "monetary_value"] == pytest.approx((40.0 + 50.0) / 2)


def _bgnbd_log_likelihood(params: tuple[float, float, float, float], data: pd.DataFrame) -> float:
    """BG/NBD log-likelihood, Fader, Hardie & Lee (2005) eq. 6 (Hardie's note 004)."""
    r, alpha, a, b = params
    x, t_x, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        a4 = np.where(
            x > 0,
            math.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def _posterior_mode(data: pd.DataFrame, start: pd.Series, *, priors: bool) -> np.ndarray:
    """find_MAP of pymc-marketing's BetaGeoModel: the mode of likelihood x prior in
    (r, alpha, phi_dropout, kappa_dropout), no Jacobian (pymc/tuning/starting.py compiles
    the log-density with jacobian=False). Default priors (clv/models/beta_geo.py):
    r ~ Weibull(2, 1), alpha ~ Weibull(2, 10), phi ~ Uniform(0, 1), kappa ~ Pareto(1, 1);
    a = phi * kappa, b = (1 - phi) * kappa. Returns (r, alpha, a, b)."""

    def negative(z: np.ndarray) -> float:
        r, alpha, phi, kappa = z
        if r <= 0 or alpha <= 0 or not 0 < phi < 1 or kappa <= (1.0 if priors else 0.0):
            return 1e300
        log_prior = 0.0
        if priors:
            log_prior = (
                stats.weibull_min.logpdf(r, 2, scale=1.0)
                + stats.weibull_min.logpdf(alpha, 2, scale=10.0)
                + stats.pareto.logpdf(kappa, 1, scale=1.0)
            )
        ll = _bgnbd_log_likelihood((r, alpha, phi * kappa, (1 - phi) * kappa), data)
        return -(ll + float(log_prior))

    kappa0 = start["a"] + start["b"]
    z0 = np.array([start["r"], start["alpha"], start["a"] / kappa0, kappa0])
    result = optimize.minimize(
        negative,
        z0,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 20000, "maxfev": 40000},
    )
    r, alpha, phi, kappa = result.x
    return np.array([r, alpha, phi * kappa, (1 - phi) * kappa])


def test_map_is_the_mle_under_flat_priors_and_moves_under_pymc_defaults() -> None:
    weeks = load_cdnow_summary()
    mle = BetaGeoModel().fit(weeks)
    params = mle.params_[["r", "alpha", "a", "b"]]
    assert _bgnbd_log_likelihood(tuple(params), weeks) == pytest.approx(
        mle.log_likelihood_, rel=1e-10
    )
    flat = _posterior_mode(weeks, params, priors=False)
    np.testing.assert_allclose(flat, params.to_numpy(), rtol=1e-4)
    mode = _posterior_mode(weeks, params, priors=True)
    # the guide: r = 0.244, alpha = 4.44, a = 0.706, b = 2.09 against the MLE
    rounded = [round(float(v), d) for v, d in zip(mode, [3, 2, 3, 2], strict=True)]
    assert rounded == [0.244, 4.44, 0.706, 2.09]
    assert mode[2] < 0.9 * params["a"] and mode[3] < 0.9 * params["b"]
    # and about 2 % more purchases in the next 39 weeks
    at_mode = BetaGeoModel.from_params(
        time_unit="W", **dict(zip(["r", "alpha", "a", "b"], mode, strict=True))
    )
    ratio = at_mode.expected_purchases(weeks, 39).sum() / mle.expected_purchases(weeks, 39).sum()
    assert 1.01 < ratio < 1.03


# ====================================================================== BTYD and CLVTools
def test_btyd_cbs_by_hand_is_days_over_seven() -> None:
    elog = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            # a Saturday, the next Monday (twice), and a Friday four weeks later
            "date": pd.to_datetime(
                ["2024-03-02", "2024-03-04", "2024-03-04", "2024-03-29", "2024-03-10"]
            ),
            "amount": [10.0, 20.0, 5.0, 40.0, 7.0],
        }
    )
    cbs = btyd_summary(
        elog, amount_col="amount", as_of="2024-03-31", time_unit="D", unit_multiplier=7
    )
    # dc.ElogToCbsCbt: same-date rows merged (3 dates), x = 3 - 1, t.x = 27 days / 7,
    # T.cal = 29 days / 7; CLVTools gg: same-day sums 25 and 40 after the first, mean 32.5
    assert cbs.loc["a", "frequency"] == 2
    assert cbs.loc["a", "recency"] == pytest.approx(27 / 7)
    assert cbs.loc["a", "T"] == pytest.approx(29 / 7)
    assert cbs.loc["a", "monetary_value"] == pytest.approx((25.0 + 40.0) / 2)
    assert cbs.loc["b", "T"] == pytest.approx(21 / 7)
    # calendar weeks: Saturday 2 March and Monday 4 March are two weeks (Monday-to-Sunday)
    weeks = btyd_summary(elog, as_of="2024-03-31", time_unit="W")
    assert weeks.loc["a", "frequency"] == 2  # weeks of 4 and 25 March after the first
    assert weeks.loc["a", "recency"] == 4.0  # week of 26 Feb to week of 25 March


def test_published_cdnow_summary_is_days_over_seven_and_weeks_differ() -> None:
    orders = load_cdnow_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        cbs = btyd_summary(orders, as_of="1997-09-30", time_unit="D", unit_multiplier=7)
        calendar = btyd_summary(orders, as_of="1997-09-30", time_unit="W")
    published = load_cdnow_summary()  # Fader, Hardie & Lee (2005), two decimals
    ours = cbs.set_axis(cbs.index.astype(int))
    theirs = published.loc[ours.index]
    np.testing.assert_array_equal(ours["frequency"], theirs["frequency"])
    np.testing.assert_allclose(ours["recency"], theirs["recency"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["T"], theirs["T"], atol=0.005 + 1e-9)
    assert BetaGeoModel().fit(cbs).params_.round(3).to_dict() == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert int((cbs["frequency"] != calendar["frequency"]).sum()) == 151
    assert BetaGeoModel().fit(calendar).params_.round(3).to_dict() == {
        "r": 0.283,
        "alpha": 6.591,
        "a": 0.778,
        "b": 2.553,
    }


def test_log_likelihood_in_days_is_lower_by_repeat_purchases_times_log_seven() -> None:
    orders = load_cdnow_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        days = btyd_summary(orders, as_of="1997-09-30", time_unit="D")
        weeks = btyd_summary(orders, as_of="1997-09-30", time_unit="D", unit_multiplier=7)
    ll_days = BetaGeoModel().fit(days).log_likelihood_
    ll_weeks = BetaGeoModel().fit(weeks).log_likelihood_
    repeat = float(days["frequency"].sum())
    assert ll_days == pytest.approx(ll_weeks - repeat * math.log(7), rel=1e-8)
    assert round(ll_weeks, 1) == -9582.4


# ====================================================================== RFM definitions compared
def test_one_customer_five_tools_by_hand() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-10", "2024-03-20"]),
            "amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    as_of = "2024-03-30"
    first, last, end = (pd.Timestamp(d) for d in ("2024-03-01", "2024-03-20", as_of))
    day_totals = [30.0, 30.0, 40.0]  # 1, 10 and 20 March
    # R rfm: days since the last order, orders, sum
    r_rfm = rfm_table(log, as_of=as_of).loc["a"]
    assert (r_rfm["recency_days"], r_rfm["frequency"], r_rfm["monetary"]) == (
        (end - last).days,
        4,
        100.0,
    )
    # lifetimes: repeat days, last - first, end - first, mean of the repeat-day totals
    btyd = btyd_summary(log, amount_col="amount", as_of=as_of).loc["a"]
    assert btyd.tolist() == [2.0, (last - first).days, (end - first).days, 35.0]
    with_first = btyd_summary(log, amount_col="amount", as_of=as_of, include_first_transaction=True)
    assert with_first.loc["a", "frequency"] == 3
    assert with_first.loc["a", "monetary_value"] == pytest.approx(np.mean(day_totals))
    # pymc-marketing segmentation form: purchase days, T - recency, mean of all day totals
    days = rfm_table(log, as_of=as_of, frequency="days", monetary="mean").loc["a"]
    assert days["recency_days"] == (end - first).days - (last - first).days
    assert days["frequency"] == 3
    assert days["monetary"] == pytest.approx(np.mean(day_totals))
    # BTYD / CLVTools weeks: x, t.x = 19 / 7, T.cal = 29 / 7
    cbs = btyd_summary(log, amount_col="amount", as_of=as_of, time_unit="D", unit_multiplier=7)
    np.testing.assert_allclose(cbs.loc["a"].to_numpy(), [2.0, 19 / 7, 29 / 7, 35.0])
