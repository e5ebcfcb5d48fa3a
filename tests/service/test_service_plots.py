"""Service plots draw what they are given (bar heights and labels checked by hand)."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crmcore.exceptions import ValidationError
from crmcore.plotting import plot_backlog_ageing, plot_sla_breaches

matplotlib.use("Agg")


def ageing_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "low": [4, 2, 0, 1],
            "normal": [10, 5, 3, 0],
            "high": [2, 1, 0, 0],
            "urgent": [1, 0, 0, 0],
        },
        index=pd.Index(["<1 day", "1-3 days", "3-7 days", ">7 days"], name="age"),
    )


def test_backlog_ageing_stacks_the_groups_in_bucket_order() -> None:
    ageing = ageing_frame()
    before = ageing.copy()
    fig, ax = plt.subplots()
    assert plot_backlog_ageing(ageing, ax=ax) is ax
    bars = ax.patches
    assert len(bars) == 4 * 4
    # column by column: low, normal, high, urgent; each on top of the ones before
    assert [b.get_height() for b in bars[:4]] == [4, 2, 0, 1]
    assert [b.get_height() for b in bars[4:8]] == [10, 5, 3, 0]
    assert [b.get_y() for b in bars[4:8]] == [4, 2, 0, 1]
    assert [b.get_y() for b in bars[8:12]] == [4 + 10, 2 + 5, 0 + 3, 1 + 0]
    assert [b.get_y() for b in bars[12:]] == [4 + 10 + 2, 2 + 5 + 1, 3, 1]
    # totals: 4+10+2+1 = 17, 2+5+1+0 = 8, 0+3+0+0 = 3, 1+0+0+0 = 1
    assert [t.get_text() for t in ax.texts] == ["17", "8", "3", "1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(ageing.index)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "low",
        "normal",
        "high",
        "urgent",
    ]
    assert ax.get_xlabel() == "age" and ax.get_title() == "Unsolved tickets by age"
    pd.testing.assert_frame_equal(ageing, before)
    plt.close(fig)


def test_backlog_ageing_new_axes_and_title() -> None:
    ax = plot_backlog_ageing(ageing_frame()[["normal"]], title="Backlog")
    assert ax.get_title() == "Backlog"
    assert [b.get_height() for b in ax.patches] == [10, 5, 3, 0]
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"low": []}), "empty"),
        (pd.DataFrame({"low": ["a", "b"]}, index=["<1d", ">1d"]), "numeric"),
        (pd.DataFrame({"low": [1, -2]}, index=["<1d", ">1d"]), r"counts.*>1d"),
        (pd.DataFrame({"low": [1.5, 2.0]}, index=["<1d", ">1d"]), r"counts.*<1d"),
        (pd.DataFrame({"low": [1.0, np.nan]}, index=["<1d", ">1d"]), "missing"),
    ],
)
def test_backlog_ageing_refuses_bad_input(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        plot_backlog_ageing(frame)
    with pytest.raises(ValidationError, match="DataFrame"):
        plot_backlog_ageing([[1, 2]])  # type: ignore[arg-type]


def rates_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "first_response": [0.0, 0.125, 0.5, 1.0],
            "next_response": [0.2, np.nan, 0.25, 0.75],
            "resolution": [0.1, 0.3, np.nan, 0.05],
        },
        index=pd.Index(["low", "normal", "high", "urgent"], name="priority"),
    )


def test_sla_breaches_are_grouped_bars_with_percent_axis() -> None:
    rates = rates_frame()
    before = rates.copy()
    fig, ax = plt.subplots()
    assert plot_sla_breaches(rates, ax=ax) is ax
    bars = ax.patches
    assert len(bars) == 4 * 3
    heights = [b.get_height() for b in bars]
    # target by target; NaN drawn as a zero-height bar
    assert heights == [0.0, 0.125, 0.5, 1.0, 0.2, 0.0, 0.25, 0.75, 0.1, 0.3, 0.0, 0.05]
    # three bars share each group's slot of width 0.8: centres x - 0.4 + 0.8/3 * (j + 0.5)
    width = 0.8 / 3
    centres = [b.get_x() + b.get_width() / 2 for b in bars[::4]]
    assert centres == pytest.approx([-0.4 + width * 0.5, -0.4 + width * 1.5, -0.4 + width * 2.5])
    labels = [t.get_text() for t in ax.texts]
    assert labels[:4] == ["0%", "12%", "50%", "100%"]
    assert labels[5] == "n/a" and labels[10] == "n/a"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low", "normal", "high", "urgent"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "first response",
        "next response",
        "resolution",
    ]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert any(t.endswith("%") for t in ticks) and "100%" in ticks
    assert ax.get_xlabel() == "priority"
    pd.testing.assert_frame_equal(rates, before)
    plt.close(fig)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame(), "empty"),
        (pd.DataFrame({"resolution": []}), "empty"),
        (pd.DataFrame({"resolution": ["high"]}, index=["low"]), "numeric.*resolution"),
        (pd.DataFrame({"resolution": [True]}, index=["low"]), "numeric"),
        (pd.DataFrame({"resolution": [0.5, 1.5]}, index=["low", "high"]), r"\[0, 1\].*high"),
        (pd.DataFrame({"resolution": [-0.1]}, index=["low"]), "outside"),
    ],
)
def test_sla_breaches_refuse_bad_input(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        plot_sla_breaches(frame)


def test_sla_breaches_refuse_non_frames() -> None:
    with pytest.raises(ValidationError, match="DataFrame"):
        plot_sla_breaches(pd.Series([0.1]))  # type: ignore[arg-type]
