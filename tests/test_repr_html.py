"""Jupyter display (``_repr_html_``) of fitted models, segment maps, forecasts and SLA policies.

Every display is parsed with :mod:`html.parser` (tags must nest and close) and read back as
tables of cell texts, so the tests check what a reader sees: the values, counts with
thousands separators, money with two decimals, the footnote that explains a NaN standard
error (exactly when one is NaN), and escaped user text. Expected values come from the
published data sets (CDNOW: 23,570 customers in the master file, 2,357 in the 1/10 sample of
which 946 repeat; the 1995 donor cohort of 11,104), from hand derivations written beside
the assertions, or from a likelihood written out in this file.
"""

from __future__ import annotations

import html
import importlib
import inspect
import itertools
import math
import pickle
import pkgutil
import warnings
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln

import crmcore
from crmcore import _display as d
from crmcore.datasets import load_cdnow_master, load_cdnow_summary, load_donations
from crmcore.exceptions import ConvergenceWarning
from crmcore.pipeline import (
    PipelineMarkovModel,
    RevenueForecast,
    forecast_revenue,
    simple_pipeline,
)
from crmcore.segmentation import SEGMENT_MAPS, RFMScorer, SegmentCoverage, SegmentMap
from crmcore.service import BusinessCalendar, SlaPolicy
from crmcore.value import (
    BetaDiscreteWeibullModel,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    CustomerMigrationModel,
    GammaGammaModel,
    MaximumLikelihoodModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    btyd_summary,
)

NAN_NOTE = "NaN standard error"

# ------------------------------------------------------------------ reading the HTML


class _Reader(HTMLParser):
    """Checks that tags nest and close; collects tables as rows of cell texts."""

    VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.captions: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.sup_in_cell: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack, f"</{tag}> closes nothing"
        opened = self.stack.pop()
        assert opened == tag, f"<{opened}> closed by </{tag}>"
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.captions.append("".join(self._caption))
            self._caption = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)


def read(markup: str) -> _Reader:
    """Parse `markup`; fail unless every tag is closed in order."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    assert reader.stack == [], f"unclosed tags: {reader.stack}"
    return reader


def text_of(markup: str) -> str:
    return "".join(read(markup).text)


def facts_of(markup: str) -> dict[str, str]:
    """The two-column (label, value) tables of a display, as one dict."""
    out: dict[str, str] = {}
    for table in read(markup).tables:
        if all(len(row) == 2 for row in table):
            out.update({row[0]: row[1] for row in table})
    return out


def table_with(markup: str, corner: str) -> dict[str, dict[str, str]]:
    """The table whose top-left header is `corner`, as {row label: {column: cell}}."""
    for table in read(markup).tables:
        if table and table[0] and table[0][0] == corner:
            header = table[0][1:]
            return {row[0]: dict(zip(header, row[1:], strict=True)) for row in table[1:]}
    raise AssertionError(f"no table with corner {corner!r}")


def displays(obj: Any) -> str:
    """``_repr_html_`` that prints nothing and warns nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return str(obj._repr_html_())


# ------------------------------------------------------------------ the shared helper


def test_numbers_are_formatted_one_way() -> None:
    assert d.count(23570) == "23,570"
    assert d.count(23570.0) == "23,570"
    assert d.count(1234.5) == "1,234.5"  # a weighted count keeps its fraction
    assert d.money(1234.5) == "1,234.50"
    assert d.money(1234567.891, "EUR") == "1,234,567.89 EUR"
    assert d.number(0.242593) == "0.2426"
    assert d.number(4.413532) == "4.414"
    assert d.decimal(-9582.4292) == "-9,582.43"
    assert d.percent(0.4375) == "43.8%"
    for fmt in (d.count, d.money, d.number, d.decimal, d.percent):
        assert fmt(math.nan) == "NaN"


def test_the_table_builder_escapes_every_text() -> None:
    markup = d.table(["<col>"], [["<b>&", d.Cell("x<y", mark="*", title='"t"')]], caption="a&b")
    assert "<b>&" not in markup and "&lt;b&gt;&amp;" in markup
    reader = read(markup)
    assert reader.tables == [[["", "<col>"], ["<b>&", "x<y*"]]]
    assert reader.captions == ["a&b"]


def test_a_block_escapes_title_warnings_and_notes() -> None:
    markup = d.block("<T>", notes=["n<1>"], warnings=["w&"])
    assert "<T>" not in markup and "n<1>" not in markup
    assert text_of(markup) == "<T>Warning: w&n<1>"


# ------------------------------------------------------------------ every model has one


def _public_classes() -> set[type]:
    found: set[type] = set()
    for info in pkgutil.walk_packages(crmcore.__path__, "crmcore."):
        if info.name == "crmcore.__main__" or any(p.startswith("_") for p in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.isclass(obj):
                found.add(obj)
    return found


#: result classes issue 13 names besides the estimators: segment maps, forecasts, SLA
RESULT_CLASSES = {SegmentMap, SegmentCoverage, RevenueForecast, SlaPolicy, BusinessCalendar}


def test_every_estimator_and_named_result_class_has_an_html_display() -> None:
    public = _public_classes()
    estimators = {cls for cls in public if callable(getattr(cls, "fit", None))}
    # the walk finds the estimators the library is known to have (so it is not vacuous)
    assert {BetaGeoModel, GammaGammaModel, ShiftedBetaGeoModel, CustomerMigrationModel} <= (
        estimators
    )
    assert {RFMScorer, PipelineMarkovModel} <= estimators
    assert public >= RESULT_CLASSES
    missing = sorted(
        cls.__name__
        for cls in estimators | RESULT_CLASSES
        if not callable(getattr(cls, "_repr_html_", None))
    )
    assert missing == [], f"classes without _repr_html_: {missing}"


def test_ipython_picks_the_html_up() -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    data, _ = formatters.DisplayFormatter().format(model)
    assert data["text/html"] == model._repr_html_()
    assert data["text/plain"] == repr(model)


# ------------------------------------------------------------------ likelihood models


def _bgnbd_log_likelihood(log_params: np.ndarray, x: Any, t_x: Any, T: Any) -> float:
    """BG/NBD log-likelihood, Fader, Hardie & Lee (2005), equation (6), written out here."""
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    second = np.where(
        x > 0,
        betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return float(np.sum(a1 + np.logaddexp(first, second)))


def _delta_method_std_errors(params: np.ndarray, data: pd.DataFrame) -> np.ndarray:
    """Standard errors from a central-difference Hessian of the log-likelihood above, in
    log-parameters, mapped to the natural scale: se = theta * sqrt(diag(H^-1))."""
    args = (data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy())
    x0 = np.log(params)
    k, h = len(x0), 1e-4
    hess = np.empty((k, k))
    for i, j in itertools.product(range(k), range(k)):
        ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
        hess[i, j] = (
            _bgnbd_log_likelihood(x0 + ei + ej, *args)
            - _bgnbd_log_likelihood(x0 + ei - ej, *args)
            - _bgnbd_log_likelihood(x0 - ei + ej, *args)
            + _bgnbd_log_likelihood(x0 - ei - ej, *args)
        ) / (4 * h * h)
    cov_log = np.linalg.inv(-hess)
    return np.asarray(params * np.sqrt(np.diag(cov_log)))


def _cells_as_floats(row: dict[str, str], column: str) -> float:
    return float(row[column].rstrip(d.NAN_MARK))


def test_bgnbd_display_shows_the_cdnow_estimates_and_standard_errors() -> None:
    cdnow = load_cdnow_summary()
    model = BetaGeoModel().fit(cdnow)
    markup = displays(model)
    params = table_with(markup, "parameter")
    # Fader, Hardie & Lee (2005), section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    for name, paper in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert _cells_as_floats(params[name], "estimate") == pytest.approx(paper, abs=6e-4)
    # standard errors shown to 4 significant digits agree with the delta method applied to
    # the likelihood written out above, at the fitted estimates
    ours = _delta_method_std_errors(model.params_.to_numpy(), cdnow)
    for name, se in zip(("r", "alpha", "a", "b"), ours, strict=True):
        assert _cells_as_floats(params[name], "std_err") == pytest.approx(se, rel=2e-3)
    facts = facts_of(markup)
    assert facts["customers"] == "2,357"  # the 1/10 sample of the papers
    assert facts["time unit"] == "W"
    assert facts["verified maximum"] == "yes"
    # Fader, Hardie & Lee (2005) report LL = -9582.4
    assert facts["log-likelihood"].startswith("-9,582.4")
    assert NAN_NOTE not in text_of(markup) and "<sup>" not in markup


def test_the_customer_count_of_the_cdnow_master_file_has_a_thousands_separator() -> None:
    orders = load_cdnow_master()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cut-off excludes the later orders and says so
        summary = btyd_summary(
            orders,
            customer_col="customer_id",
            date_col="date",
            amount_col="amount",
            as_of="1998-06-30",
            time_unit="W",
        )
    markup = displays(BetaGeoModel().fit(summary))
    assert facts_of(markup)["customers"] == "23,570"  # every customer of the cohort


def test_gamma_gamma_counts_the_repeat_customers_and_those_left_out() -> None:
    cdnow = load_cdnow_summary()
    markup = displays(GammaGammaModel().fit(cdnow))
    facts = facts_of(markup)
    # 946 of the 2,357 sample customers made a repeat purchase (Fader, Hardie & Lee 2005)
    assert facts["customers"] == "946"
    assert facts["left out (carry no information)"] == "1,411"


def test_bgbb_counts_the_weighted_donor_cohort() -> None:
    donations = load_donations()
    model = BetaGeoBetaBinomModel().fit(donations, T_col="periods", weights_col="weights")
    markup = displays(model)
    # the 1995 cohort of first-time donors, Fader, Hardie & Shang (2010): 11,104 people
    assert facts_of(markup)["customers"] == "11,104"
    # 22 weighted rows stand for them: weights enter the Hessian as counts, so the
    # standard errors exist and no NaN note is shown
    assert len(donations) == 22
    rows = table_with(markup, "parameter")
    assert all(math.isfinite(float(row["std_err"])) for row in rows.values())
    assert NAN_NOTE not in text_of(markup)


def test_cohort_models_show_customers_and_cohorts() -> None:
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), regular
    for cls in (ShiftedBetaGeoModel, BetaDiscreteWeibullModel):
        markup = displays(cls().fit(survivors))
        facts = facts_of(markup)
        assert facts["customers"] == "1,000" and facts["cohorts"] == "1"
        assert set(table_with(markup, "parameter")) == set(cls._param_names)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_a_model_from_parameters_explains_its_nan_standard_errors(cls: type) -> None:
    params = dict.fromkeys(cls._param_names, 1.5)  # type: ignore[attr-defined]
    markup = displays(cls.from_params(**params))  # type: ignore[attr-defined]
    text = text_of(markup)
    assert text.count(NAN_NOTE) == 1 and "from_params" in text
    rows = table_with(markup, "parameter")
    assert all(row["std_err"] == "NaN*" for row in rows.values())
    assert all(row["estimate"] == "1.5" for row in rows.values())
    assert facts_of(markup)["source"] == "from_params (no data)"


def test_the_nan_note_names_exactly_the_parameters_whose_standard_error_is_nan() -> None:
    model = BetaGeoModel().fit(load_cdnow_summary())
    broken = pickle.loads(pickle.dumps(model))
    cov = broken.covariance_.copy()
    cov.loc["a", :] = np.nan
    cov.loc[:, "a"] = np.nan
    broken.covariance_ = cov  # as when the Hessian cannot be inverted in the a direction
    markup = displays(broken)
    text = text_of(markup)
    assert "NaN standard error (a):" in text and "not positive definite" in text
    rows = table_with(markup, "parameter")
    assert rows["a"]["std_err"] == "NaN*"
    assert [n for n, row in rows.items() if row["std_err"].endswith("*")] == ["a"]
    assert NAN_NOTE not in text_of(displays(model))


def test_a_degenerate_fit_marks_nan_standard_errors_only_if_there_are_any() -> None:
    # five customers without a repeat purchase and one with two: the dropout process is
    # not identified (a runs to the boundary); the display warns with the remedy, and its
    # NaN footnote follows the covariance: present exactly when a variance is NaN
    data = pd.DataFrame(
        {"frequency": [0, 0, 0, 1, 0, 2], "recency": [0.0, 0, 0, 5, 0, 9], "T": [10.0] * 6}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BetaGeoModel().fit(data)
    se = np.sqrt(np.diag(model.covariance_.to_numpy()))
    markup = displays(model)
    text = text_of(markup)
    assert (NAN_NOTE in text) == bool(np.isnan(se).any())
    marked = [n for n, row in table_with(markup, "parameter").items() if row["std_err"] == "NaN*"]
    assert marked == [n for n, s in zip(model.params_.index, se, strict=True) if np.isnan(s)]
    assert "Warning:" in text and "boundary" in text and "penalizer=0.001" in text


def test_an_unfitted_model_says_not_fitted_without_raising() -> None:
    for cls in (BetaGeoModel, GammaGammaModel, ShiftedBetaGeoModel, CustomerMigrationModel):
        markup = displays(cls())
        assert "not fitted" in text_of(markup) and "<table" not in markup
        assert repr(cls()).endswith("[not fitted]")


def test_the_migration_chain_counts_transitions() -> None:
    # two customers over four periods, repeated 600 times. Customer 1 (1,0,1,0) enters
    # state 1, then 1->2, 2->1, 1->2; customer 2 (0,1,1,1) enters in period 1, then 1->1,
    # 1->1. Per pair: 5 transitions; out of state 1: 4, of which 2 to state 1 (p1 = 0.5);
    # out of state 2: 1, to state 1 (p2 = 1). se(p1) = sqrt(0.25 / 2400) = 0.010206...
    history = pd.DataFrame(np.tile([[1, 0, 1, 0], [0, 1, 1, 1]], (600, 1)))
    markup = displays(CustomerMigrationModel(n_states=2).fit(history))
    facts = facts_of(markup)
    assert facts["transitions"] == "3,000" and facts["customers"] == "1,200"
    rows = table_with(markup, "parameter")
    assert rows["p1"]["estimate"] == "0.5" and rows["p2"]["estimate"] == "1"
    assert float(rows["p1"]["std_err"]) == pytest.approx(math.sqrt(0.25 / 2400), rel=5e-4)
    assert rows["p2"]["std_err"] == "0"  # p = 1: a zero binomial variance, not NaN
    assert NAN_NOTE not in text_of(markup)
    built = displays(CustomerMigrationModel.from_params(purchase_probabilities=[0.3, 0.1]))
    assert text_of(built).count(NAN_NOTE) == 1


# ------------------------------------------------------------------ RFM scorer, segment maps


def test_the_rfm_scorer_shows_its_edges() -> None:
    table = pd.DataFrame(
        {
            "recency_days": [1.0, 10, 20, 30],
            "frequency": [5, 3, 2, 1],
            "monetary": [50.0, 30, 20, 10],
        }
    )
    markup = displays(RFMScorer(bins=2).fit(table))
    rows = table_with(markup, "dimension")
    # medians (type-7 quantile at 0.5): recency (10 + 20) / 2, frequency (2 + 3) / 2,
    # monetary (20 + 30) / 2
    assert rows["recency"]["inner edges"] == "15"
    assert rows["frequency"]["inner edges"] == "2.5"
    assert rows["monetary"]["inner edges"] == "25"
    assert all(row["bins"] == "2" for row in rows.values())
    assert "not fitted" in text_of(displays(RFMScorer()))


def test_a_segment_map_shows_its_grid_with_escaped_names() -> None:
    grid = {2: ["New", "<b>&"], 1: ["Lost", "Lapsed"]}
    markup = displays(SegmentMap.from_grid(grid, dims=("r", "f")))
    assert "<b>&" not in markup and "&lt;b&gt;&amp;" in markup
    cells = table_with(markup, "R \\ F")
    assert cells == {
        "R=2": {"F=1": "New", "F=2": "<b>&"},
        "R=1": {"F=1": "Lost", "F=2": "Lapsed"},
    }
    legend = table_with(markup, "segment")
    assert legend == {name: {"cells": "1"} for name in ("New", "<b>&", "Lost", "Lapsed")}


def test_a_three_dimensional_map_shows_one_grid_per_third_score() -> None:
    seg = SegmentMap.from_ranges({"Best": {"r": (2, 2), "m": (2, 2)}}, dims=("r", "f", "m"), bins=2)
    markup = displays(seg)
    reader = read(markup)
    assert reader.captions == ["M = 1", "M = 2"]
    grids = [t for t in reader.tables if t[0][0] == "R \\ F"]
    # M = 1: no cell is Best; M = 2: the R = 2 row is Best; the rest takes the default
    assert grids[0][1:] == [["R=2", "Other", "Other"], ["R=1", "Other", "Other"]]
    assert grids[1][1:] == [["R=2", "Best", "Best"], ["R=1", "Other", "Other"]]
    legend = table_with(markup, "segment")
    assert legend == {"Best": {"cells": "2"}, "Other": {"cells": "6"}}
    assert "default label 'Other'" in text_of(markup)


def test_a_map_without_default_warns_about_its_uncovered_cells() -> None:
    seg = SegmentMap.from_ranges({"Top": {"r": (2, 2)}}, dims=("r", "f"), bins=2, default=None)
    markup = displays(seg)
    assert table_with(markup, "R \\ F")["R=1"] == {"F=1": "-", "F=2": "-"}
    assert "2 cells match no rule" in text_of(markup)


def test_a_coverage_report_lists_overlaps_with_the_winner_first() -> None:
    rules = [("<b>&", {"r": (2, 2)}), ("Late", {"r": (2, 2), "f": (2, 2)}), ("Low", {"r": (1, 1)})]
    seg = SegmentMap.from_ranges(rules, dims=("r", "f"), bins=2, default=None)
    markup = displays(seg.coverage())
    assert "<b>&" not in markup
    facts = facts_of(markup)
    # "Late" only matches cell 22, which "<b>&" takes first: unreachable; every cell is
    # covered; one cell (22) is matched twice
    assert facts["unreachable segments"] == "Late"
    assert facts["uncovered cells"] == "0"
    assert facts["cells matched by several segments"] == "1"
    assert table_with(markup, "cell") == {"22": {"wins": "<b>&", "also matches": "Late"}}


def test_the_preset_rf_grid_reads_like_its_definition() -> None:
    cells = table_with(displays(SEGMENT_MAPS["rf-grid"]), "R \\ F")
    # the common 10-segment grid: top-left New Customers, top-right Champions,
    # bottom-left Hibernating, bottom-right Can't Lose Them
    assert cells["R=5"]["F=1"] == "New Customers" and cells["R=5"]["F=5"] == "Champions"
    assert cells["R=1"]["F=1"] == "Hibernating" and cells["R=1"]["F=5"] == "Can't Lose Them"
    assert list(cells) == ["R=5", "R=4", "R=3", "R=2", "R=1"]


# ------------------------------------------------------------------ revenue forecasts

DEALS = pd.DataFrame(
    {
        "opportunity_id": ["a", "b", "c", "d"],
        "amount": [1000.0, 2000.0, 3000.0, 4000.0],
        "probability": [0.5, 0.5, 0.25, 0.9],
        "expected_close": pd.to_datetime(["2024-02-01", "2024-03-31", "2024-01-01", "2024-04-01"]),
    }
)


def _quantile_from_pmf(frame: pd.DataFrame, level: float) -> float:
    """Smallest revenue x with P(R <= x) >= level, from a pmf table."""
    cdf = frame["probability"].cumsum().to_numpy()
    return float(frame["revenue"].to_numpy()[np.argmax(cdf >= level - 1e-12)])


def test_an_exact_forecast_shows_hand_derived_quantiles_and_target_probability() -> None:
    forecast = forecast_revenue(
        DEALS, period_start="2024-01-01", period_end="2024-03-31", target=3000, grid_step=1
    )
    markup = displays(forecast)
    # deal d closes after the period (q = 0). Enumerate a (1,000, q .5), b (2,000, q .5),
    # c (3,000, q .25): mean 500 + 1,000 + 750 = 2,250; P(R >= 3,000) = P(c) + P(not c)
    # P(a and b) = 0.25 + 0.75 * 0.25 = 0.4375
    outcomes: dict[float, float] = {}
    for wins in itertools.product([0, 1], repeat=3):
        value = float(np.dot(wins, [1000, 2000, 3000]))
        prob = math.prod(q if w else 1 - q for w, q in zip(wins, [0.5, 0.5, 0.25], strict=True))
        outcomes[value] = outcomes.get(value, 0.0) + prob
    pmf = pd.DataFrame(sorted(outcomes.items()), columns=["revenue", "probability"])
    facts = facts_of(markup)
    assert facts["mean revenue"] == "2,250.00"
    assert facts["pipeline value"] == "10,000.00"
    assert facts["target"] == "3,000.00"
    assert facts["P(revenue >= target)"] == "0.4375"
    assert facts["deals in the snapshot"] == "4"
    assert facts["deals that can close in the period (q > 0)"] == "3"
    quantiles = table_with(markup, "quantile")
    for label, level in {"P5": 0.05, "P25": 0.25, "P50": 0.5, "P75": 0.75, "P95": 0.95}.items():
        expected = _quantile_from_pmf(pmf, level)
        assert quantiles[label]["revenue"] == f"{expected:,.2f}"
    # by hand: P(0) = .1875, P(<= 1,000) = .375, P(<= 2,000) = .5625: P50 = 2,000
    assert quantiles["P50"]["revenue"] == "2,000.00"


def test_a_monte_carlo_forecast_shows_the_quantiles_of_its_own_draws() -> None:
    forecast = forecast_revenue(
        DEALS,
        period_start="2024-01-01",
        period_end="2024-03-31",
        target=3000,
        method="monte_carlo",
        n_simulations=20_000,
        random_state=7,
    )
    markup = displays(forecast)
    frame = forecast.to_frame()
    quantiles = table_with(markup, "quantile")
    for label, level in {"P5": 0.05, "P10": 0.1, "P50": 0.5, "P90": 0.9, "P95": 0.95}.items():
        assert quantiles[label]["revenue"] == f"{_quantile_from_pmf(frame, level):,.2f}"
    share = float(frame.loc[frame["revenue"] >= 3000, "probability"].sum())
    assert facts_of(markup)["P(revenue >= target)"] == d.number(share)
    assert facts_of(markup)["method"] == "Monte Carlo"


def test_a_forecast_without_target_has_no_target_line() -> None:
    forecast = forecast_revenue(DEALS, period_start="2024-01-01", period_end="2024-03-31")
    facts = facts_of(displays(forecast))
    assert "target" not in facts and "P(revenue >= target)" not in facts


# ------------------------------------------------------------------ pipeline chain


def _history(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "changed_at": pd.to_datetime([r[2] for r in rows], utc=True),
            "amount": 1000.0,
            "expected_close": pd.Timestamp("2024-06-30", tz="UTC"),
        }
    )


def test_the_pipeline_chain_shows_counts_and_explains_an_unobserved_stage() -> None:
    # 1,100 deals: Lead for a week then Won (600) or Lost (500), never Qualified or Proposal.
    # Observed weekly steps out of Lead: one per deal (the week-1 state is closed) = 1,100;
    # P(win | Lead) = 600 / 1,100 = 0.5455
    rows = []
    for i in range(1100):
        rows.append((f"o{i}", "Lead", "2024-01-01"))
        rows.append((f"o{i}", "Won" if i < 600 else "Lost", "2024-01-05"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Qualified and Proposal are undefined, and it says so
        model = PipelineMarkovModel(step="W").fit(
            _history(rows), simple_pipeline(), as_of="2024-03-01"
        )
    markup = displays(model)
    facts = facts_of(markup)
    assert facts["opportunities"] == "1,100" and facts["observed steps"] == "1,100"
    stages = table_with(markup, "open stage")
    assert stages["Lead"]["observed steps"] == "1,100"
    assert stages["Lead"]["P(win)"] == "0.5455"
    se = math.sqrt((600 / 1100) * (500 / 1100) / 1100)  # binomial, one step to close
    assert float(stages["Lead"]["std_err of P(win)"]) == pytest.approx(se, rel=5e-4)
    assert stages["Qualified"]["std_err of P(win)"] == "NaN*"
    text = text_of(markup)
    assert "NaN standard error (Qualified, Proposal):" in text and "no step" in text


def test_a_chain_from_parameters_explains_its_nan_standard_errors() -> None:
    pipe = simple_pipeline()
    matrix = pd.DataFrame(0.0, index=list(pipe.names), columns=list(pipe.names))
    for name in pipe.open_names:
        matrix.loc[name, "Won"] = 0.4
        matrix.loc[name, "Lost"] = 0.6
    markup = displays(PipelineMarkovModel.from_params(matrix, pipeline=pipe))
    assert "from_params" in text_of(markup) and text_of(markup).count(NAN_NOTE) == 1
    assert table_with(markup, "open stage")["Lead"]["P(win)"] == "0.4"
    assert "not fitted" in text_of(displays(PipelineMarkovModel()))


# ------------------------------------------------------------------ service levels


def test_an_sla_policy_shows_its_targets_and_escapes_its_name() -> None:
    calendar = BusinessCalendar(
        hours={0: [("09:00", "13:00"), ("12:00", "17:00")], 1: [("09:00", "17:00")]},
        tz="Europe/Berlin",
        holidays=[pd.Timestamp("2024-12-25").date()],
    )
    policy = SlaPolicy(
        {
            "urgent": {"first_response": "1h", "resolution": "8h"},
            "high": {"next_response": "1D12h30m"},
        },
        calendar=calendar,
        tiers=["Gold <A>"],
        name="<b>&",
    )
    markup = displays(policy)
    assert "<b>&" not in markup and "Gold <A>" not in markup
    text = text_of(markup)
    assert "SlaPolicy '<b>&'" in text
    targets = table_with(markup, "priority")
    assert targets["urgent"] == {
        "first response": "1 h",
        "next response": "-",
        "resolution": "8 h",
    }
    assert targets["high"]["next response"] == "1 d 12 h 30 min"
    facts = facts_of(markup)
    assert facts["applies to customer tiers"] == "Gold <A>"
    assert facts["resolution clock paused in"] == "pending, on_hold"
    # Monday 09-13 and 12-17 overlap: 8 h, not 9; Tuesday 8 h; a 16-hour week
    weekdays = table_with(markup, "weekday")
    assert weekdays["Monday"]["working time"] == "8 h"
    assert facts["working time per week"] == "16 h"
    assert facts["holidays"] == "1: 2024-12-25"
    assert weekdays["Sunday"] == {"shifts (local time)": "closed", "working time": "-"}


def test_a_policy_on_elapsed_time_says_so() -> None:
    markup = displays(SlaPolicy({"low": {"resolution": "3D"}}))
    assert facts_of(markup)["clocks count"] == "elapsed 24/7 time"
    assert table_with(markup, "priority")["low"]["resolution"] == "3 d"


# ------------------------------------------------------------------ nothing printed


def test_displays_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    objects: list[Any] = [
        BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426),
        SEGMENT_MAPS["r-rfm"],
        SlaPolicy({"low": {"resolution": "3D"}}),
        forecast_revenue(DEALS, period_start="2024-01-01", period_end="2024-03-31"),
    ]
    for obj in objects:
        read(displays(obj))
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", sorted(SEGMENT_MAPS))
def test_every_preset_map_parses(name: str) -> None:
    reader = read(displays(SEGMENT_MAPS[name]))
    assert reader.tables


def test_html_escape_is_what_the_helper_uses() -> None:
    assert d.escape("<b>&'\"") == html.escape("<b>&'\"", quote=True)


def test_the_base_class_display_needs_a_fit() -> None:
    assert issubclass(BetaGeoModel, MaximumLikelihoodModel)
    assert "not fitted" in text_of(displays(BetaGeoModel(penalizer=0.1)))
