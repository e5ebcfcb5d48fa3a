"""The R-rfm-style plots and the partial cohort periods draw what a hand count gives.

The order log is the one of docs/segmentation.md plus customer ``f`` from the master list
(no order): by hand, at as_of 2024-03-31,

====  ============  =========  ========  =========
id    recency_days  frequency  monetary  segment
====  ============  =========  ========  =========
a     3             3          125       Loyal
b     29            2          200       Loyal
c     132           1          15        Lost
d     1             2          35        New
e     121           1          60        Lost
f     (none)        0          0         Lost
====  ============  =========  ========  =========
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.plotting import (
    plot_cohort_heatmap,
    plot_order_distribution,
    plot_rfm_histograms,
    plot_rfm_scatter,
    plot_segment_medians,
)
from crmcore.segmentation import rfm_table
from crmcore.value import cohort_table

matplotlib.use("Agg")

# matplotlib's tab10, first three colours (its documented category palette)
BLUE, ORANGE, GREEN = to_rgb("#1f77b4"), to_rgb("#ff7f0e"), to_rgb("#2ca02c")


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    plt.close("all")


def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d", "e"],
            "date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-02-10",
                    "2024-03-28",
                    "2024-01-15",
                    "2024-03-02",
                    "2023-11-20",
                    "2024-03-30",
                    "2024-03-30",
                    "2023-12-01",
                ]
            ),
            "amount": [40.0, 55.0, 30.0, 120.0, 80.0, 15.0, 25.0, 10.0, 60.0],
        }
    )


@pytest.fixture
def table() -> pd.DataFrame:
    return rfm_table(orders(), as_of="2024-03-31", customers=list("abcdef"))


@pytest.fixture
def segments() -> pd.Series:
    labels = ["Loyal", "Loyal", "Lost", "New", "Lost", "Lost"]
    return pd.Series(
        pd.Categorical(labels, categories=["New", "Loyal", "Lost", "Unused"]),
        index=pd.Index(list("abcdef"), name="customer_id"),
        name="segment",
    )


def test_the_fixture_table_is_the_one_in_the_module_docstring(table: pd.DataFrame) -> None:
    assert table["recency_days"].tolist()[:5] == [3.0, 29.0, 132.0, 1.0, 121.0]
    assert np.isnan(table.loc["f", "recency_days"])
    assert table["frequency"].tolist() == [3, 2, 1, 2, 1, 0]
    assert table["monetary"].tolist() == [125.0, 200.0, 15.0, 35.0, 60.0, 0.0]


# --- histograms --------------------------------------------------------------------------


def test_histogram_bars_count_the_customers_of_each_bin(table: pd.DataFrame) -> None:
    before = table.copy()
    axes = plot_rfm_histograms(table, bins=4)
    assert isinstance(axes, np.ndarray) and axes.shape == (3,)
    heights = [[float(p.get_height()) for p in ax.patches] for ax in axes]
    # recency 1..132 in 4 bins of 32.75: {1, 3, 29} | - | - | {121, 132}; f has none
    assert heights[0] == [3.0, 0.0, 0.0, 2.0]
    # frequency 0..3 in bins of 0.75: {0} | {1, 1} | {2, 2} | {3}
    assert heights[1] == [1.0, 2.0, 2.0, 1.0]
    # monetary 0..200 in bins of 50: {0, 15, 35} | {60} | {125} | {200}
    assert heights[2] == [3.0, 1.0, 1.0, 1.0]
    assert [sum(h) for h in heights] == [5.0, 6.0, 6.0]
    assert [ax.get_xlabel() for ax in axes] == [
        "recency (days since last purchase)",
        "frequency (orders)",
        "monetary (total per customer)",
    ]
    assert "1 customer without a value not shown" in axes[0].get_title()
    assert axes[1].get_title() == "Frequency"
    pd.testing.assert_frame_equal(table, before)
    assert table.attrs == before.attrs


def test_histograms_name_the_measure_definitions_of_the_table() -> None:
    days = rfm_table(orders(), as_of="2024-03-31", frequency="days", monetary="mean")
    axes = plot_rfm_histograms(days, bins=3)
    assert axes[1].get_xlabel() == "frequency (purchase days)"
    assert axes[2].get_xlabel() == "monetary (mean per purchase day)"


def test_histograms_draw_on_the_callers_axes_and_check_them(table: pd.DataFrame) -> None:
    _, own = plt.subplots(3, 1)
    drawn = plot_rfm_histograms(table, axes=own)
    assert list(drawn) == list(own)
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValidationError, match="sequence of 3 matplotlib Axes"):
        plot_rfm_histograms(table, axes=two)
    with pytest.raises(ValidationError, match="'bins' parameter"):
        plot_rfm_histograms(table, bins=0)
    with pytest.raises(ColumnNotFoundError, match="monetary"):
        plot_rfm_histograms(table.drop(columns="monetary"))


# --- scatter -----------------------------------------------------------------------------


def _colours(ax: object) -> dict[str, tuple[float, ...]]:
    """Face colour (RGB, rounded) of each labelled point collection."""
    return {
        c.get_label(): tuple(round(float(v), 6) for v in c.get_facecolor()[0][:3])
        for c in ax.collections  # type: ignore[attr-defined]
    }


def _rounded(rgb: tuple[float, float, float]) -> tuple[float, ...]:
    return tuple(round(v, 6) for v in rgb)


def _points(ax: object) -> dict[str, list[tuple[float, float]]]:
    return {
        c.get_label(): sorted(map(tuple, np.asarray(c.get_offsets(), dtype=float).tolist()))
        for c in ax.collections  # type: ignore[attr-defined]
    }


def test_scatter_colours_each_segment_in_category_order(
    table: pd.DataFrame, segments: pd.Series
) -> None:
    before = segments.copy()
    ax = plot_rfm_scatter(table, segments=segments)
    assert _points(ax) == {
        "New": [(2.0, 35.0)],
        "Loyal": [(2.0, 200.0), (3.0, 125.0)],
        "Lost": [(0.0, 0.0), (1.0, 15.0), (1.0, 60.0)],
    }
    # categories New, Loyal, Lost, Unused take tab10's first four colours in that order
    assert _colours(ax) == {
        "New": _rounded(BLUE),
        "Loyal": _rounded(ORANGE),
        "Lost": _rounded(GREEN),
    }
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["New", "Loyal", "Lost"]
    assert legend.get_title().get_text() == "segment"
    assert ax.get_xlabel() == "frequency (orders)"
    assert ax.get_ylabel() == "monetary (total per customer)"
    pd.testing.assert_series_equal(segments, before)


def test_a_segment_keeps_its_colour_when_others_are_absent(
    table: pd.DataFrame, segments: pd.Series
) -> None:
    subset = ["a", "b", "c"]
    ax = plot_rfm_scatter(table.loc[subset], segments=segments.loc[subset])
    assert _colours(ax) == {"Loyal": _rounded(ORANGE), "Lost": _rounded(GREEN)}


def test_plain_text_segments_take_colours_in_sorted_order(
    table: pd.DataFrame, segments: pd.Series
) -> None:
    ax = plot_rfm_scatter(table, x="recency", y="frequency", segments=segments.astype(str))
    assert _colours(ax) == {
        "Lost": _rounded(BLUE),
        "Loyal": _rounded(ORANGE),
        "New": _rounded(GREEN),
    }
    # f has no recency: not drawn, and said so
    assert _points(ax)["Lost"] == [(121.0, 1.0), (132.0, 1.0)]
    assert "1 customer not shown" in ax.get_title()


def test_log_scale_leaves_out_values_at_or_below_zero(table: pd.DataFrame) -> None:
    ax = plot_rfm_scatter(table, log="xy")
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    (collection,) = ax.collections
    assert len(collection.get_offsets()) == 5  # f: frequency 0 and monetary 0
    assert "1 customer not shown" in ax.get_title()
    linear = plot_rfm_scatter(table)
    assert len(linear.collections[0].get_offsets()) == 6
    assert linear.get_title() == "Monetary vs frequency"
    assert linear.get_legend() is None


def test_scatter_refuses_unknown_measures_and_misaligned_segments(
    table: pd.DataFrame, segments: pd.Series
) -> None:
    with pytest.raises(ValidationError, match="'x' parameter of plot_rfm_scatter"):
        plot_rfm_scatter(table, x="revenue")
    with pytest.raises(ValidationError, match="'log' parameter"):
        plot_rfm_scatter(table, log="z")
    with pytest.raises(ValidationError, match=r"1 customers of the table have no segment.*c") as e:
        plot_rfm_scatter(table, segments=segments.drop("c"))
    assert e.value.count == 1 and e.value.first_ids == ("c",)
    extra = pd.concat([segments.astype(str), pd.Series(["Lost"], index=["z"])])
    with pytest.raises(ValidationError, match=r"1 segment labels .* not in the table.*z"):
        plot_rfm_scatter(table, segments=extra)
    with pytest.raises(ValidationError, match="must be a pandas Series"):
        plot_rfm_scatter(table, segments=list(segments))  # type: ignore[arg-type]


# --- segment medians ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "expected", "labels"),
    [
        # Lost: median(132, 121) = 126.5 (f has no recency); Loyal: median(3, 29) = 16; New 1
        ("recency", [("Lost", 126.5), ("Loyal", 16.0), ("New", 1.0)], ["126.5", "16", "1"]),
        # Loyal: median(3, 2) = 2.5; New: 2; Lost: median(1, 1, 0) = 1
        ("frequency", [("Loyal", 2.5), ("New", 2.0), ("Lost", 1.0)], ["2.5", "2", "1"]),
        # Loyal: median(125, 200) = 162.5; New: 35; Lost: median(15, 60, 0) = 15
        ("monetary", [("Loyal", 162.5), ("New", 35.0), ("Lost", 15.0)], ["162.50", "35", "15"]),
    ],
)
def test_median_bars_are_the_hand_medians_sorted(
    table: pd.DataFrame,
    segments: pd.Series,
    measure: str,
    expected: list[tuple[str, float]],
    labels: list[str],
) -> None:
    before = table.copy()
    ax = plot_segment_medians(table, segments, measure=measure)
    names = [t.get_text() for t in ax.get_yticklabels()]
    widths = [float(p.get_width()) for p in ax.patches]
    assert list(zip(names, widths, strict=True)) == expected
    assert [t.get_text() for t in ax.texts] == labels
    # the longest bar carries its label inside (white, right-aligned), the short ones after
    assert ax.texts[0].get_color() == "white" and ax.texts[0].get_ha() == "right"
    assert ax.texts[-1].get_ha() == "left"
    low, high = ax.get_xlim()
    assert all(low <= t.get_position()[0] <= high for t in ax.texts)
    pd.testing.assert_frame_equal(table, before)


def test_medians_refuse_an_unknown_measure_and_a_missing_column(
    table: pd.DataFrame, segments: pd.Series
) -> None:
    with pytest.raises(ValidationError, match=r"'measure' parameter.*'recency'"):
        plot_segment_medians(table, segments, measure="revenue")
    with pytest.raises(ColumnNotFoundError, match="recency_days"):
        plot_segment_medians(table.drop(columns="recency_days"), segments)
    with pytest.raises(ValidationError, match=r"2 customers of the table have no segment"):
        plot_segment_medians(table, segments.drop(["a", "b"]))


def test_a_segment_without_any_value_gets_no_bar_and_a_note(table: pd.DataFrame) -> None:
    only_f = pd.Series(["Loyal"] * 5 + ["Prospect"], index=table.index)
    ax = plot_segment_medians(table, only_f, measure="recency")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Loyal"]
    assert "no recency value in Prospect" in ax.get_title()


# --- order distribution ------------------------------------------------------------------


def test_order_distribution_counts_customers_per_order_count(table: pd.DataFrame) -> None:
    ax = plot_order_distribution(table)
    # frequencies 3, 2, 1, 2, 1, 0
    assert [float(p.get_height()) for p in ax.patches] == [1.0, 2.0, 2.0, 1.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]
    assert [t.get_text() for t in ax.texts] == ["1", "2", "2", "1"]
    assert ax.get_xlabel() == "number of orders"


def test_order_distribution_gathers_a_long_tail_and_separates_thousands() -> None:
    many = pd.DataFrame({"frequency": [1] * 1_234 + [3, 20, 40]})
    ax = plot_order_distribution(many)
    heights = [int(p.get_height()) for p in ax.patches]
    # 12 bars: 1..11 one each, then "12+" holding 20 and 40
    assert len(heights) == 12
    assert heights[0] == 1_234 and heights[2] == 1 and heights[-1] == 2
    assert sum(heights) == 1_237
    assert ax.get_xticklabels()[-1].get_text() == "12+"
    assert ax.texts[0].get_text() == "1,234"


def test_order_distribution_refuses_fractional_counts() -> None:
    bad = pd.DataFrame({"frequency": [1.0, 2.5]}, index=["x", "y"])
    with pytest.raises(ValidationError, match=r"'frequency'.*1 values do not \(first ids: y\)"):
        plot_order_distribution(bad)


# --- partial cohort periods --------------------------------------------------------------


def cohort_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
            "date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-10",
                    "2024-03-02",
                    "2024-01-20",
                    "2024-02-14",
                    "2024-03-10",
                    "2024-03-05",
                ]
            ),
            "amount": [1.0] * 7,
        }
    )


def _hatched_cells(ax: object) -> list[tuple[int, int]]:
    """(row, age) of each hatched rectangle."""
    cells = []
    for patch in ax.patches:  # type: ignore[attr-defined]
        if patch.get_hatch():
            x, y = patch.get_xy()
            cells.append((round(y + 0.5), round(x + 0.5)))
    return sorted(cells)


def test_cells_in_the_unfinished_month_are_hatched() -> None:
    table = cohort_table(cohort_log(), as_of="2024-03-15")
    # by hand: cohorts Jan (a, b), Feb (c), Mar (d); March 2024 is not over on the 15th, so
    # the cells falling in March are partial: Jan age 2, Feb age 1, Mar age 0
    assert table.to_numpy().tolist()[0] == [2.0, 1.0, 1.0]
    before = table.copy()
    ax = plot_cohort_heatmap(table, as_of="2024-03-15")
    assert _hatched_cells(ax) == [(0, 2), (1, 1), (2, 0)]
    assert "period not over at the data end 2024-03-15" in ax.get_title()
    pd.testing.assert_frame_equal(table, before)


def test_nothing_is_hatched_when_the_data_ends_on_a_periods_last_day() -> None:
    table = cohort_table(cohort_log(), as_of="2024-03-31")
    ax = plot_cohort_heatmap(table, as_of="2024-03-31", title="Active customers")
    assert _hatched_cells(ax) == []
    assert ax.get_title() == "Active customers"
    assert len(ax.texts) == 6  # 3 + 2 + 1 observable cells, annotated


def test_without_as_of_the_table_attrs_are_read_and_a_bare_table_is_unmarked() -> None:
    table = cohort_table(cohort_log(), as_of="2024-03-15")
    # cohort_table records its as_of and periods: the heatmap marks March by itself
    assert table.attrs["as_of"] == pd.Timestamp("2024-03-15")
    assert _hatched_cells(plot_cohort_heatmap(table)) == [(0, 2), (1, 1), (2, 0)]
    bare = table.copy()
    bare.attrs = {}
    assert _hatched_cells(plot_cohort_heatmap(bare)) == []
    tagged = bare.copy()
    tagged.attrs = {"as_of": pd.Timestamp("2024-03-15"), "period": "M"}
    assert _hatched_cells(plot_cohort_heatmap(tagged)) == [(0, 2), (1, 1), (2, 0)]
    # relabelled cohorts ("2024-01") keep the attrs but not the dates: drawn unmarked
    relabelled = tagged.copy()
    relabelled.index = relabelled.index.strftime("%Y-%m")
    assert _hatched_cells(plot_cohort_heatmap(relabelled)) == []


def test_weekly_ages_mark_the_unfinished_week() -> None:
    # as_of Friday 2024-03-15: ISO week Mon 11 - Sun 17 March is not over
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-03-01", "2024-03-13", "2024-03-12"]),
            "amount": [1.0, 1.0, 1.0],
        }
    )
    table = cohort_table(log, cohort="W", period="W", as_of="2024-03-15")
    # cohorts: week of 26 Feb (a), week of 11 Mar (b); the week of 11 Mar is age 2 of the
    # first and age 0 of the second
    ax = plot_cohort_heatmap(table, as_of="2024-03-15", period="W", cohort="W")
    assert _hatched_cells(ax) == [(0, 2), (1, 0)]
    # on Sunday the week is over
    assert _hatched_cells(plot_cohort_heatmap(table, as_of="2024-03-17", period="W")) == []


def test_a_coarse_cohort_marks_ages_its_late_customers_had_not_reached() -> None:
    # quarterly cohort 2024Q1 (a, b in Jan, c in Feb, d in Mar), monthly ages, data to the
    # end of March: age 0 is complete for everyone; at age 1 d (March) would be in April,
    # at age 2 c and d would be in April and May, so ages 1 and 2 are incomplete
    table = cohort_table(cohort_log(), cohort="Q", period="M", as_of="2024-03-31")
    ax = plot_cohort_heatmap(table, as_of="2024-03-31", period="M", cohort="Q")
    assert _hatched_cells(ax) == [(0, 1), (0, 2)]


def test_an_as_of_that_does_not_fit_the_table_is_refused() -> None:
    table = cohort_table(cohort_log(), as_of="2024-03-15")
    with pytest.raises(ValidationError, match=r"age no customer .*first: cohort 2024-01-01, age 2"):
        plot_cohort_heatmap(table, as_of="2024-02-15")
    with pytest.raises(ValidationError, match="'period' parameter"):
        plot_cohort_heatmap(table, as_of="2024-03-15", period="fortnight")
    with pytest.raises(ValidationError, match="cohort start dates"):
        plot_cohort_heatmap(table.reset_index(drop=True), as_of="2024-03-15")


def test_the_rfm_plots_refuse_what_is_not_an_rfm_table(table: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="expected the DataFrame returned by rfm_table"):
        plot_order_distribution(table["frequency"])
    pl = pytest.importorskip("polars")
    with pytest.raises(ValidationError, match="collect the frame first"):
        plot_rfm_histograms(pl.from_pandas(table.reset_index()).lazy())
    with pytest.raises(ValidationError, match="RFM table is empty"):
        plot_rfm_scatter(table.iloc[:0])
