"""btyd_summary: hand-derived summaries of a transaction log, on every backend.

Runs without lifetimes; equality with lifetimes' summary_data_from_transaction_data and
calibration_and_holdout_data is in tests/parity/test_lifetimes_btyd_summary.py.
Sources of every expected number: tests/results/README.md.
"""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from crmcore.datasets import load_cdnow_master
from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.value import BetaGeoModel, btyd_summary


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_master()


@pytest.mark.parametrize("calibration_end", [None, "1997-09-30"])
def test_pandas_and_polars_input_give_identical_summaries(
    master: pd.DataFrame, calibration_end: str | None
) -> None:
    kwargs = {
        "amount_col": "amount",
        "as_of": "1998-06-30",
        "time_unit": "W",
        "calibration_end": calibration_end,
    }
    from_pandas = btyd_summary(master, **kwargs)  # type: ignore[arg-type]
    from_polars = btyd_summary(pl.from_pandas(master), **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(from_pandas, from_polars)
    assert from_polars.attrs == from_pandas.attrs


def test_input_frame_is_not_mutated(master: pd.DataFrame) -> None:
    sample = master.head(500).copy()
    before = sample.copy()
    btyd_summary(sample, amount_col="amount", as_of="1998-06-30", calibration_end="1997-06-30")
    pd.testing.assert_frame_equal(sample, before)


def test_same_day_purchases_merge_and_monetary_value_is_the_mean_of_repeat_days() -> None:
    # hand derivation: customer a buys on days 0 (10 + 5), 7 (20), 14 (30)
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "date": ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15", "2024-01-03"],
            "amount": [10.0, 5.0, 20.0, 30.0, 7.0],
        }
    )
    out = btyd_summary(log, amount_col="amount", as_of="2024-01-31")
    assert out.loc["a"].tolist() == [2.0, 14.0, 30.0, 25.0]
    assert out.loc["b"].tolist() == [0.0, 0.0, 28.0, 0.0]
    weekly = btyd_summary(log, amount_col="amount", as_of="2024-01-31", time_unit="W")
    # Monday-based weeks: 2024-01-01 is a Monday; 2024-01-29 (week of the 31st) is week 4
    assert weekly.loc["a"].tolist() == [2.0, 2.0, 4.0, 25.0]


def test_monthly_periods_count_calendar_months() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "a"], "date": ["2024-01-31", "2024-02-01", "2024-02-20"]}
    )
    out = btyd_summary(log, as_of="2024-06-15", time_unit="M")
    assert out.loc["a"].tolist() == [1.0, 1.0, 5.0]
    assert out.attrs["time_unit"] == "M"


def test_transactions_after_observation_end_are_left_out() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "date": ["2024-01-01", "2024-03-01", "2024-03-02"]}
    )
    out = btyd_summary(log, as_of="2024-02-01")
    assert out.index.tolist() == ["a"]
    assert out.loc["a", "frequency"] == 0.0


def test_summary_goes_straight_into_fit_and_the_time_unit_travels(master: pd.DataFrame) -> None:
    summary = btyd_summary(master, as_of="1998-06-30", calibration_end="1997-09-30", time_unit="W")
    model = BetaGeoModel().fit(summary)
    assert model.time_unit_ == "W"


def test_missing_column_is_reported_with_the_nearest_name(master: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match="customer"):
        btyd_summary(master.rename(columns={"customer_id": "customer"}), as_of="1998-06-30")


def test_missing_values_raise_with_count() -> None:
    log = pd.DataFrame({"customer_id": ["a", None, "b"], "date": ["2024-01-01"] * 3})
    with pytest.raises(ValidationError, match="1 missing"):
        btyd_summary(log, as_of="2024-02-01")


def test_calibration_end_must_precede_observation_end(master: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="calibration_end"):
        btyd_summary(master, as_of="1997-06-30", calibration_end="1997-09-30")


def test_bad_time_unit_and_multiplier_are_rejected(master: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="time_unit"):
        btyd_summary(master, as_of="1998-06-30", time_unit="fortnight")
    with pytest.raises(ValidationError, match="unit_multiplier"):
        btyd_summary(master, as_of="1998-06-30", unit_multiplier=0)


def test_non_numeric_amount_is_rejected() -> None:
    log = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"], "amount": ["ten"]})
    with pytest.raises(ValidationError, match="numeric"):
        btyd_summary(log, amount_col="amount", as_of="2024-02-01")


@pytest.mark.parametrize("polars_input", [False, True])
def test_the_narwhals_group_by_engine_gives_the_same_frames(
    master: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, polars_input: bool
) -> None:
    from crmcore.value.btyd import _summary

    data = pl.from_pandas(master) if polars_input else master
    kwargs = {
        "amount_col": "amount",
        "as_of": "1998-06-30",
        "calibration_end": "1997-09-30",
        "time_unit": "W",
    }
    arrays = btyd_summary(data, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(_summary, "_ARRAY_ENGINE", False)
    grouped = btyd_summary(data, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(arrays, grouped, check_index_type=False)
    plain = btyd_summary(data, amount_col="amount", as_of="1998-06-30", time_unit="D")
    monkeypatch.setattr(_summary, "_ARRAY_ENGINE", True)
    pd.testing.assert_frame_equal(
        plain,
        btyd_summary(data, amount_col="amount", as_of="1998-06-30", time_unit="D"),
        check_index_type=False,
    )
