"""Funnel analytics: expected values derived by hand from small histories written below."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore.exceptions import ColumnNotFoundError, CRMError, ValidationError
from crmcore.pipeline import (
    forecast_category_rollup,
    pipeline_coverage,
    sales_velocity,
    simple_pipeline,
    slip_rates,
    stage_conversion,
    weighted_pipeline,
    win_rates,
)

PIPE = simple_pipeline()  # Lead(0.1), Qualified(0.3), Proposal(0.6), Won, Lost
AS_OF = "2024-02-01"


def _history() -> pd.DataFrame:
    """a: Lead -> Qualified -> Proposal -> Won (19 days), one push of 14 days.
    b: Lead -> Lost.  c: Lead -> Proposal (skip) -> Qualified (regression), open, one push
    of 29 days then one pull.  d: Qualified -> Lost.  e: created after AS_OF."""
    rows = [
        ("a", "x", "Lead", "2024-01-01", 100.0, "2024-02-01"),
        ("a", "x", "Qualified", "2024-01-05", 100.0, "2024-02-01"),
        ("a", "x", "Proposal", "2024-01-10", 120.0, "2024-02-15"),
        ("a", "x", "Won", "2024-01-20", 150.0, "2024-02-15"),
        ("b", "x", "Lead", "2024-01-02", 80.0, "2024-02-01"),
        ("b", "x", "Lost", "2024-01-08", 80.0, "2024-02-01"),
        ("c", "y", "Lead", "2024-01-03", 60.0, "2024-02-01"),
        ("c", "y", "Proposal", "2024-01-06", 60.0, "2024-03-01"),
        ("c", "y", "Qualified", "2024-01-12", 60.0, "2024-02-20"),
        ("d", "y", "Qualified", "2024-01-04", 40.0, "2024-02-01"),
        ("d", "y", "Lost", "2024-01-25", 40.0, "2024-02-01"),
        ("e", "y", "Lead", "2024-02-10", 10.0, "2024-03-01"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["opportunity_id", "owner", "stage", "changed_at", "amount", "expected_close"],
    )
    frame["changed_at"] = pd.to_datetime(frame["changed_at"])
    frame["expected_close"] = pd.to_datetime(frame["expected_close"])
    return frame.iloc[::-1].reset_index(drop=True)  # rows in any order


# -- win rates and stage conversion ----------------------------------------------------------


def test_win_rates_cohort_censors_open_deals() -> None:
    h = _history()
    before = h.copy(deep=True)
    r = win_rates(h, pipeline=PIPE, as_of=AS_OF)
    pd.testing.assert_frame_equal(h, before)
    assert r.loc["all", ["n_opportunities", "won", "lost", "open"]].tolist() == [4, 1, 2, 1]
    assert r.loc["all", "win_rate"] == pytest.approx(1 / 3)
    assert r.loc["all", "std_err"] == pytest.approx(np.sqrt(1 / 3 * 2 / 3 / 3))
    by_owner = win_rates(h, pipeline=PIPE, as_of=AS_OF, by="owner")
    assert by_owner["win_rate"].to_dict() == {"x": 0.5, "y": 0.0}
    assert by_owner.loc["y", "open"] == 1
    # a cohort window: only c and d were created from 3 January on
    late = win_rates(h, pipeline=PIPE, as_of=AS_OF, start="2024-01-03")
    assert late.loc["all", ["won", "lost", "open"]].tolist() == [0, 1, 1]


def test_win_rates_snapshot_definition() -> None:
    h = _history()
    # open on 9 January: a (Qualified), c (Proposal), d (Qualified); b lost on 8 January
    r = win_rates(h, pipeline=PIPE, as_of=AS_OF, definition="snapshot", start="2024-01-09")
    assert r.loc["all", ["n_opportunities", "won", "lost", "open"]].tolist() == [3, 1, 1, 1]
    assert r.loc["all", "win_rate"] == 0.5
    s = win_rates(
        h, pipeline=PIPE, as_of=AS_OF, definition="snapshot", start="2024-01-09", by="stage"
    )
    assert list(s.index) == ["Qualified", "Proposal"]
    assert s.loc["Qualified", ["won", "lost"]].tolist() == [1, 1]
    assert np.isnan(s.loc["Proposal", "win_rate"])
    with pytest.raises(ValidationError, match="start"):
        win_rates(h, pipeline=PIPE, as_of=AS_OF, definition="snapshot")


def test_stage_conversion_cohort_counts_skips_and_censors_regressions() -> None:
    r = stage_conversion(_history(), pipeline=PIPE, as_of=AS_OF)
    assert list(r.index) == ["Lead", "Qualified", "Proposal"]
    # Lead: a and c (skip) advance, b lost
    assert r.loc["Lead", ["entered", "advanced", "lost", "open"]].tolist() == [3, 2, 1, 0]
    # Qualified: a advances, d lost, c (entered after its regression) still open
    assert r.loc["Qualified", ["entered", "advanced", "lost", "open"]].tolist() == [3, 1, 1, 1]
    # Proposal: a won; c regressed and is open
    assert r.loc["Proposal", ["entered", "advanced", "lost", "open"]].tolist() == [2, 1, 0, 1]
    np.testing.assert_allclose(r["conversion_rate"], [2 / 3, 0.5, 1.0])


def test_stage_conversion_snapshot_definition() -> None:
    r = stage_conversion(
        _history(), pipeline=PIPE, as_of=AS_OF, definition="snapshot", start="2024-01-09"
    )
    assert r.loc["Lead", "entered"] == 0 and np.isnan(r.loc["Lead", "conversion_rate"])
    assert r.loc["Qualified", ["entered", "advanced", "lost", "open"]].tolist() == [2, 1, 1, 0]
    assert r.loc["Proposal", ["entered", "advanced", "lost", "open"]].tolist() == [1, 0, 0, 1]
    # an earlier as_of does not see a's later moves: on 9 Jan + 0 days a is still Qualified
    early = stage_conversion(
        _history(), pipeline=PIPE, as_of="2024-01-09", definition="snapshot", start="2024-01-09"
    )
    assert early.loc["Qualified", ["advanced", "open"]].tolist() == [0, 2]


# -- velocity, coverage, slips ---------------------------------------------------------------


def test_sales_velocity_by_hand() -> None:
    v = sales_velocity(_history(), pipeline=PIPE, as_of=AS_OF)
    # 1 open deal (c) x win rate 1/3 x won size 150 (last amount) / cycle 19 days
    assert v["open_opportunities"] == 1
    assert v["win_rate"] == pytest.approx(1 / 3)
    assert v["mean_won_amount"] == 150.0
    assert v["mean_cycle_length"] == 19.0
    assert v["velocity"] == pytest.approx(1 * (1 / 3) * 150 / 19)
    w = sales_velocity(_history(), pipeline=PIPE, as_of=AS_OF, time_unit="W")
    assert w["velocity"] == pytest.approx(7 * v["velocity"])


def _snap() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "owner": ["x", "x", "y"],
            "stage": ["Lead", "Proposal", "Qualified"],
            "amount": [100.0, 200.0, 50.0],
            "probability": [np.nan, 0.9, np.nan],
            "expected_close": pd.to_datetime(["2024-01-15", "2024-03-31", "2024-04-01"]),
        }
    )


def test_weighted_pipeline_by_owner_and_period() -> None:
    snap = _snap()
    before = snap.copy(deep=True)
    r = weighted_pipeline(snap, pipeline=PIPE)
    pd.testing.assert_frame_equal(snap, before)
    # x in Q1: 100 x 0.1 (Lead default) + 200 x 0.9 = 190; y in Q2: 50 x 0.3 = 15
    assert r["owner"].tolist() == ["x", "y"]
    assert r["period"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01")]
    np.testing.assert_allclose(r["weighted_amount"], [190.0, 15.0])
    np.testing.assert_allclose(r["amount"], [300.0, 50.0])
    assert r["n_opportunities"].tolist() == [2, 1]
    months = weighted_pipeline(snap, pipeline=PIPE, by=("M",))
    np.testing.assert_allclose(months["weighted_amount"], [10.0, 180.0, 15.0])
    total = weighted_pipeline(pl.from_pandas(snap), pipeline=PIPE, by=())
    assert total["weighted_amount"].tolist() == pytest.approx([205.0])
    with pytest.raises(ValidationError, match="pipeline="):
        weighted_pipeline(snap)
    with pytest.raises(ColumnNotFoundError, match="region"):
        weighted_pipeline(snap, pipeline=PIPE, by=("region",))


def test_pipeline_coverage() -> None:
    snap = _snap()
    assert pipeline_coverage(snap, 100.0) == 3.5
    assert pipeline_coverage(snap, 100.0, weighted=True, pipeline=PIPE) == pytest.approx(2.05)
    q1 = pipeline_coverage(snap, 100.0, period_start="2024-01-01", period_end="2024-03-31")
    assert q1 == 3.0  # the 31 March deal counts (both ends included)
    by_owner = pipeline_coverage(snap, {"x": 100.0, "y": 50.0, "z": 10.0})
    assert isinstance(by_owner, pd.Series)
    assert by_owner.to_dict() == {"x": 3.0, "y": 1.0, "z": 0.0}
    with pytest.raises(ValidationError, match="target"):
        pipeline_coverage(snap, 0.0)


def test_slip_rates_and_push_counts() -> None:
    h = _history()
    per = slip_rates(h, pipeline=PIPE, as_of=AS_OF, per_opportunity=True)
    assert per["pushes"].to_dict() == {"a": 1, "b": 0, "c": 1, "d": 0}
    assert per["pulls"].to_dict() == {"a": 0, "b": 0, "c": 1, "d": 0}
    assert per["days_pushed"].to_dict() == {"a": 14.0, "b": 0.0, "c": 29.0, "d": 0.0}
    r = slip_rates(h, pipeline=PIPE, as_of=AS_OF)
    assert r.loc["all", "slip_rate"] == 0.5
    assert r.loc["all", "pushes"] == 2
    assert r.loc["all", "mean_days_pushed"] == pytest.approx(43 / 4)
    by_owner = slip_rates(h, pipeline=PIPE, as_of=AS_OF, by="owner")
    assert by_owner["slip_rate"].to_dict() == {"x": 0.5, "y": 0.5}
    # before c's push (6 January) only nothing has slipped among a, b, c, d
    early = slip_rates(h, pipeline=PIPE, as_of="2024-01-05")
    assert early.loc["all", ["n_opportunities", "slipped"]].tolist() == [4, 0]


def test_forecast_category_rollup_single_and_cumulative() -> None:
    opps = pd.DataFrame(
        {
            "owner": ["x", "x", "x", "x", "x", "y"],
            "stage": ["Lead", "Proposal", "Won", "Lost", "Lead", "Proposal"],
            "amount": [10.0, 20.0, 40.0, 80.0, 5.0, 7.0],
            # a Commit override; "Commit" on a won row is ignored (won is Closed)
            "forecast_category": [None, None, "Commit", None, "Commit", "Omitted"],
            "expected_close": pd.to_datetime(
                ["2024-01-10", "2024-02-10", "2024-03-01", "2024-03-02", "2024-03-31", "2024-05-01"]
            ),
        }
    )
    r = forecast_category_rollup(opps, pipeline=PIPE)
    x = r.loc[r["owner"] == "x"].iloc[0]
    assert x["period"] == pd.Timestamp("2024-01-01")
    # simple_pipeline defaults: Lead -> Pipeline, Proposal -> Best Case
    assert (x["closed"], x["commit"], x["best_case"], x["pipeline"], x["omitted"]) == (
        40.0,
        5.0,
        20.0,
        10.0,
        80.0,
    )
    assert x["commit_forecast"] == 45.0
    assert x["best_case_forecast"] == 65.0
    assert x["pipeline_forecast"] == 75.0
    y = r.loc[r["owner"] == "y"].iloc[0]
    assert y["omitted"] == 7.0 and y["pipeline_forecast"] == 0.0
    bad = opps.assign(forecast_category=["Maybe", None, None, None, None, None])
    with pytest.raises(ValidationError, match="Maybe"):
        forecast_category_rollup(bad, pipeline=PIPE)


# -- errors ------------------------------------------------------------------------------------


def test_histories_are_validated_whole_naming_the_opportunity() -> None:
    h = _history()
    twice = pd.concat(
        [
            h,
            pd.DataFrame(
                {
                    "opportunity_id": ["b"],
                    "owner": ["x"],
                    "stage": ["Won"],
                    "changed_at": [pd.Timestamp("2024-03-01")],
                    "amount": [1.0],
                    "expected_close": [pd.Timestamp("2024-03-01")],
                }
            ),
        ],
        ignore_index=True,
    )
    for call in (win_rates, stage_conversion, slip_rates, sales_velocity):
        with pytest.raises(CRMError, match="b"):
            call(twice, pipeline=PIPE, as_of="2024-01-15")
    with pytest.raises(ColumnNotFoundError):
        win_rates(h.drop(columns="owner"), pipeline=PIPE, as_of=AS_OF, by="owner")


def test_on_a_simulated_pipeline_rates_equal_a_plain_pandas_count() -> None:
    from test_pipeline_markov import T0, WEEK, _simulate

    from crmcore.pipeline import snapshot

    h = _simulate(3_000, 7, PIPE)
    as_of = T0 + 40 * WEEK
    seen = h[h["changed_at"] <= as_of].sort_values(["opportunity_id", "changed_at"], kind="stable")
    final = seen.groupby("opportunity_id")["stage"].last()
    expected = [int((final == "Won").sum()), int((final == "Lost").sum())]
    expected.append(len(final) - sum(expected))
    r = win_rates(h, pipeline=PIPE, as_of=as_of)
    assert r.loc["all", ["won", "lost", "open"]].tolist() == expected
    conv = stage_conversion(h, pipeline=PIPE, as_of=as_of)
    reached = seen.groupby("stage")["opportunity_id"].nunique()
    assert conv["entered"].to_dict() == {s: int(reached[s]) for s in PIPE.open_names}
    assert (conv["advanced"] + conv["lost"] + conv["open"] == conv["entered"]).all()
    # the weighted pipeline of the rebuilt snapshot is sum(amount x stage probability)
    snap = snapshot(h, as_of, pipeline=PIPE)
    total = weighted_pipeline(snap, pipeline=PIPE, by=())
    defaults = snap["stage"].map({n: PIPE.stage(n).probability for n in PIPE.names})
    assert total["weighted_amount"].iloc[0] == pytest.approx(
        float((snap["amount"] * defaults).sum())
    )
    assert total["n_opportunities"].iloc[0] == expected[2]
