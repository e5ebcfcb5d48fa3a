"""close_time_curves (part C of issue 9): Kaplan-Meier open curve, Aalen-Johansen incidences.

Expected values are hand computations written in the tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore.exceptions import InvalidStageTransition, ValidationError
from crmcore.pipeline import close_time_curves, simple_pipeline


def _history() -> pd.DataFrame:
    # A won day 10, B lost day 20, E won day 20 and F lost day 20 (ties), C open,
    # D won after as_of (censored at 25), G created after as_of (left out)
    return pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "B", "C", "D", "D", "E", "E", "F", "F", "G"],
            "stage": [
                "Lead",
                "Won",
                "Lead",
                "Lost",
                "Lead",
                "Lead",
                "Won",
                "Lead",
                "Won",
                "Qualified",
                "Lost",
                "Lead",
            ],
            "changed_at": [
                "2024-01-01",
                "2024-01-11",
                "2024-01-01",
                "2024-01-21",
                "2024-01-01",
                "2024-01-01",
                "2024-01-31",
                "2024-01-01",
                "2024-01-21",
                "2024-01-01",
                "2024-01-21",
                "2024-01-30",
            ],
            "amount": [100.0] * 12,
            "expected_close": ["2024-03-31"] * 12,
        }
    )


def test_hand_computed_curves_with_tied_closes() -> None:
    curves = close_time_curves(_history(), pipeline=simple_pipeline(), as_of="2024-01-26")
    assert curves.index.tolist() == [0.0, 10.0, 20.0, 25.0]
    # t=10: n=6, one win: S=5/6, won=1/6. t=20: n=5, two losses and one win (ties):
    # S = 5/6 * 2/5 = 1/3, won += 5/6 * 1/5, lost += 5/6 * 2/5.
    np.testing.assert_allclose(curves["open"], [1, 5 / 6, 1 / 3, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(curves["won"], [0, 1 / 6, 1 / 3, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(curves["lost"], [0, 0, 1 / 3, 1 / 3], atol=1e-15)
    np.testing.assert_allclose(curves.sum(axis=1), 1.0, atol=1e-15)


def test_units_and_polars_input_and_no_mutation() -> None:
    history = _history()
    before = history.copy()
    weeks = close_time_curves(
        pl.from_pandas(history), pipeline=simple_pipeline(), as_of="2024-01-26", time_unit="W"
    )
    assert weeks.index.tolist() == pytest.approx([0.0, 10 / 7, 20 / 7, 25 / 7])
    pd.testing.assert_frame_equal(history, before)


def test_events_after_as_of_are_not_seen() -> None:
    early = close_time_curves(_history(), pipeline=simple_pipeline(), as_of="2024-01-15")
    # at Jan 15 only A has closed (day 10); the other five are censored at 14 days
    assert early.index.tolist() == [0.0, 10.0, 14.0]
    np.testing.assert_allclose(early["won"], [0, 1 / 6, 1 / 6])
    assert early["lost"].eq(0).all()


def test_inconsistent_history_raises_naming_the_opportunity() -> None:
    history = _history()
    extra = pd.DataFrame(
        {
            "opportunity_id": ["A"],
            "stage": ["Lost"],
            "changed_at": ["2024-02-01"],
            "amount": [1.0],
            "expected_close": ["2024-03-31"],
        }
    )
    with pytest.raises(InvalidStageTransition, match="A"):
        close_time_curves(
            pd.concat([history, extra]), pipeline=simple_pipeline(), as_of="2024-01-26"
        )
    with pytest.raises(ValidationError, match="unit"):
        close_time_curves(history, pipeline=simple_pipeline(), as_of="2024-01-26", time_unit="Y")
