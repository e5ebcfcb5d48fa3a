"""sla_report: outcome counts per group and target, breach rates, the long table, the display."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from crmcore.exceptions import ValidationError
from crmcore.service import SlaReport, breach_rate, sla_report


def small_sla() -> pd.DataFrame:
    # written by hand: per priority and target, the statuses below
    return pd.DataFrame(
        {
            "priority": ["high", "high", "high", "low", "urgent", "urgent"],
            "team": ["<b>&", "x", "x", "x", "<b>&", "x"],
            "first_response_status": ["met", "breached", "ongoing", "met", "breached", "met"],
            "resolution_status": ["breached", "breached", None, "ongoing", "met", "missing"],
        }
    )


def test_counts_are_the_statuses_counted_by_hand() -> None:
    report = sla_report(small_sla())
    assert isinstance(report, SlaReport)
    assert report.targets == ("first_response", "resolution")
    assert report.n_tickets == 6
    assert list(report.counts.index) == ["low", "normal", "high", "urgent"]
    first = report.counts["first_response"]
    # columns met, breached, ongoing, missing
    assert first.loc["high"].tolist() == [1, 1, 1, 0]
    assert first.loc["low"].tolist() == [1, 0, 0, 0]
    assert first.loc["normal"].tolist() == [0, 0, 0, 0]
    assert first.loc["urgent"].tolist() == [1, 1, 0, 0]
    resolution = report.counts["resolution"]
    assert resolution.loc["high"].tolist() == [0, 2, 0, 1]  # None counts as missing
    assert resolution.loc["urgent"].tolist() == [1, 0, 0, 1]
    # every ticket has one status per target
    for target in report.targets:
        assert int(report.counts[target].to_numpy().sum()) == 6


def test_breach_rates_equal_breach_rate_and_the_hand_ratios() -> None:
    sla = small_sla()
    report = sla_report(sla)
    pd.testing.assert_frame_equal(report.breach_rates, breach_rate(sla), check_names=False)
    assert report.breach_rates.loc["high", "first_response"] == pytest.approx(1 / 2)
    assert report.breach_rates.loc["urgent", "first_response"] == pytest.approx(1 / 2)
    assert np.isnan(report.breach_rates.loc["normal", "resolution"])
    overall = sla_report(sla, by=None)
    assert list(overall.counts.index) == ["all"]
    # first response: met 3, breached 2 -> 2/5
    assert overall.breach_rates.loc["all", "first_response"] == pytest.approx(2 / 5)


def test_to_frame_is_one_row_per_group_and_target() -> None:
    frame = sla_report(small_sla(), by="team").to_frame()
    assert list(frame.columns) == [
        "team",
        "target",
        "met",
        "breached",
        "ongoing",
        "missing",
        "breach_rate",
    ]
    row = frame[(frame["team"] == "x") & (frame["target"] == "first_response")].iloc[0]
    # team x: breached, ongoing, met, met -> met 2, breached 1, ongoing 1
    assert (row["met"], row["breached"], row["ongoing"], row["missing"]) == (2, 1, 1, 0)
    assert row["breach_rate"] == pytest.approx(1 / 3)
    assert len(frame) == 2 * 2


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_display_shows_counts_with_separators_rates_and_escapes_names() -> None:
    n = 12_345
    sla = pd.DataFrame(
        {
            "team": ["<b>&"] * n + ["y"],
            "resolution_status": ["met"] * (n - 1) + ["breached", "ongoing"],
        }
    )
    report = sla_report(sla, by="team")
    page = report._repr_html_()
    checker = _Checker()
    checker.feed(page)
    assert checker.stack == []
    text = " ".join(checker.text)
    assert "12,344" in text  # met of team <b>&
    assert "12,346 tickets" in text
    assert f"{100 / n:.1f}%" in text  # breach rate 1 / 12,345
    assert "<b>&" in text and "&lt;b&gt;&amp;" in page and "<b>&" not in page
    assert "left out" in text
    assert repr(report) == "SlaReport(by='team', tickets=12,346, targets=resolution)"


def test_bad_statuses_are_refused_with_the_rows() -> None:
    sla = pd.DataFrame({"priority": ["high", "low"], "resolution_status": ["met", "late"]})
    with pytest.raises(ValidationError, match=r"sla_report: column 'resolution_status' must hold"):
        sla_report(sla)


def test_the_caller_frame_is_not_mutated() -> None:
    sla = small_sla()
    before = sla.copy()
    sla_report(sla, by="team").to_frame()
    pd.testing.assert_frame_equal(sla, before)
