"""Tests of SegmentMap, the presets, assign_segments, segment_summary and the RFM plots."""

from __future__ import annotations

import pickle
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from crmcore._plots.segmentation_rfm import plot_rfm_heatmap, plot_segment_sizes
from crmcore.exceptions import ValidationError
from crmcore.segmentation import (
    SEGMENT_MAPS,
    SegmentMap,
    assign_segments,
    rfm_scores,
    rfm_table,
    segment_summary,
)

matplotlib.use("Agg")

DATA = Path(__file__).resolve().parent / "data" / "rfm_orders.csv"


@pytest.fixture(scope="module")
def r_result() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not DATA.exists():
        pytest.skip(f"{DATA} not available")
    orders = pd.read_csv(DATA, parse_dates=["order_date"])
    table = rfm_table(orders, as_of="2006-12-31", date_col="order_date", amount_col="revenue")
    return table, rfm_scores(table, method="r-rfm")


def _r_test_rules() -> SegmentMap:
    # R package rfm, tests/testthat/test-rfm-segment.R (segment names and bounds).
    names = [
        "Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
        "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them", "Lost",
    ]  # fmt: skip
    rl, ru = [4, 2, 3, 4, 3, 2, 2, 1, 1, 1], [5, 5, 5, 5, 4, 3, 3, 2, 1, 2]
    fl, fu = [4, 3, 1, 1, 1, 2, 1, 2, 4, 1], [5, 5, 3, 1, 1, 3, 2, 5, 5, 2]
    rules = [
        (n, {"r": (rl[i], ru[i]), "f": (fl[i], fu[i]), "m": (fl[i], fu[i])})
        for i, n in enumerate(names)
    ]
    return SegmentMap.from_ranges(rules, bins=5, default="Others")


def test_r_test_rules_give_the_r_package_champions(r_result) -> None:  # type: ignore[no-untyped-def]
    table, scores = r_result
    segments = assign_segments(scores, _r_test_rules())
    summary = segment_summary(table, segments)
    # R package rfm test-rfm-segment.R: Champions = 158 customers, 1234 orders, 120178 revenue.
    champions = summary.loc["Champions"]
    assert (champions["customers"], champions["orders"], champions["revenue"]) == (
        158,
        1234,
        120178,
    )
    # the same test's expected segments of its first customers
    expected = {
        "Abbey O'Reilly": "Loyal Customers", "Add Senger": "Potential Loyalist",
        "Aden Lesch": "Potential Loyalist", "Admiral Senger": "Loyal Customers",
        "Agness O'Keefe": "Champions", "Aileen Barton": "Champions",
        "Ailene Hermann": "Loyal Customers", "Aiyanna Bruen": "Potential Loyalist",
        "Ala Schmidt": "About To Sleep", "Alannah Borer": "Lost",
    }  # fmt: skip
    assert segments.loc[list(expected)].astype(str).to_dict() == expected


def test_summary_totals_equal_the_table(r_result) -> None:  # type: ignore[no-untyped-def]
    table, scores = r_result
    summary = segment_summary(table, assign_segments(scores, "r-rfm"))
    assert summary["customers"].sum() == len(table)
    assert summary["orders"].sum() == 4906
    assert summary["revenue"].sum() == pytest.approx(table["monetary"].sum())
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


def test_first_matching_rule_wins_and_coverage_reports_it() -> None:
    seg = SegmentMap.from_ranges(
        [("Top", {"r": (2, 2)}), ("Shadowed", {"r": (2, 2), "f": (2, 2)}), ("Low", {"f": (1, 1)})],
        dims=("r", "f"),
        bins=2,
    )
    assert seg.lookup(r=[2, 2, 1, 1], f=[2, 1, 1, 2]) == ["Top", "Top", "Low", "Other"]
    cov = seg.coverage()
    assert cov.unreachable == ("Shadowed",)
    assert cov.uncovered == ("12",)
    assert cov.overlaps == (("21", ("Top", "Low")), ("22", ("Top", "Shadowed")))


def test_putler_preset_reaches_all_eleven_segments_without_gaps() -> None:
    cov = SEGMENT_MAPS["putler"].coverage()
    assert cov == ((), (), ())
    assert len(SEGMENT_MAPS["putler"].labels) == 11
    assert SEGMENT_MAPS["putler"].dims == ("r", "fm")


def test_rf_grid_preset_has_ten_segments_covering_every_cell() -> None:
    seg = SEGMENT_MAPS["rf-grid"]
    assert len(seg.labels) == 10
    assert seg.coverage() == ((), (), ())
    # the common grid: R5 F1 "New Customers", R4 F1 "Promising", R3 F3 "Need Attention"
    assert seg.lookup(r=[5, 4, 3, 1], f=[1, 1, 3, 5]) == [
        "New Customers", "Promising", "Need Attention", "Can't Lose Them"
    ]  # fmt: skip


def test_pymc_preset_leaves_eighteen_codes_to_other_without_overlaps() -> None:
    cov = SEGMENT_MAPS["pymc-marketing"].coverage()
    # 46 of the 64 quartile codes are listed in pymc-marketing's default config
    assert len(cov.uncovered) == 18 and cov.overlaps == () and cov.unreachable == ()


def test_r_rfm_preset_reports_its_gaps() -> None:
    cov = SEGMENT_MAPS["r-rfm"].coverage()
    assert cov.unreachable == ()
    assert len(cov.uncovered) > 0  # R's README rules leave cells to "Others"
    assert SEGMENT_MAPS["r-rfm"].lookup(r=[5], f=[5], m=[5]) == ["Champions"]


def test_assign_segments_aligns_with_a_shuffled_index() -> None:
    scores = pd.DataFrame({"r_score": [1, 5, 3], "f_score": [1, 5, 3]}, index=["z", "a", "m"])
    out = assign_segments(scores, "rf-grid")
    assert out.index.tolist() == ["z", "a", "m"]
    assert out.tolist() == ["Hibernating", "Champions", "Need Attention"]
    assert out.name == "segment"


def test_scores_outside_the_map_are_rejected_with_ids() -> None:
    scores = pd.DataFrame({"r_score": [6], "f_score": [1]}, index=["x"])
    with pytest.raises(ValidationError, match=r"outside 1..5.*first ids: x"):
        assign_segments(scores, "rf-grid")


def test_uncovered_cells_without_default_are_an_error() -> None:
    seg = SegmentMap.from_codes({"A": ["11"]}, dims=("r", "f"), bins=2, default=None)
    scores = pd.DataFrame({"r_score": [2], "f_score": [2]})
    with pytest.raises(ValidationError, match="no rule covers"):
        assign_segments(scores, seg)


def test_bad_codes_and_grids_are_rejected() -> None:
    with pytest.raises(ValidationError, match="code '61'"):
        SegmentMap.from_codes({"A": ["61"]}, dims=("r", "f"), bins=5)
    with pytest.raises(ValidationError, match="grid keys"):
        SegmentMap.from_grid({1: ["a"], 3: ["b"]})
    with pytest.raises(ValidationError, match="unknown preset"):
        assign_segments(pd.DataFrame({"r_score": [1]}), "nope")


def test_segment_map_pickles() -> None:
    seg = SEGMENT_MAPS["putler"]
    assert pickle.loads(pickle.dumps(seg)) == seg


def test_mean_monetary_table_summarises_revenue_as_total() -> None:
    table = pd.DataFrame(
        {"recency_days": [1.0, 2.0], "frequency": [2, 4], "monetary": [10.0, 5.0]}, index=["a", "b"]
    )
    table.attrs["monetary"] = "mean"
    segs = pd.Series(pd.Categorical(["X", "X"]), index=["a", "b"])
    assert segment_summary(table, segs).loc["X", "revenue"] == 40.0


def test_segment_size_plot_draws_one_bar_per_segment(r_result) -> None:  # type: ignore[no-untyped-def]
    table, scores = r_result
    summary = segment_summary(table, assign_segments(scores, "r-rfm"))
    ax = plot_segment_sizes(summary, metric="revenue")
    assert len(ax.patches) == len(summary)
    assert ax.get_ylabel() == "revenue"
    assert [t.get_text() for t in ax.get_xticklabels()] == list(summary.index)


def test_heatmap_shows_counts_per_cell(r_result) -> None:  # type: ignore[no-untyped-def]
    _, scores = r_result
    ax = plot_rfm_heatmap(scores)
    data = np.asarray(ax.images[0].get_array())
    assert data.shape == (5, 5)
    assert data.sum() == len(scores)
    # top row is R = 5
    assert data[0].sum() == (scores["r_score"] == 5).sum()
    ax2 = plot_rfm_heatmap(scores, values=pd.Series(1.0, index=scores.index, name="one"))
    assert np.nanmax(np.asarray(ax2.images[0].get_array())) == 1.0
