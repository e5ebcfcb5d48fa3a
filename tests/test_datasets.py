"""The embedded CDNOW data sets and the synthetic generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import (
    generate_transactions,
    load_cdnow_master,
    load_cdnow_sample,
    load_cdnow_summary,
    load_donations,
)
from crmcore.exceptions import ValidationError


def test_cdnow_master_has_the_published_size() -> None:
    # Fader, Hardie & Lee (2005): 23,570 customers who first bought in Q1 1997
    master = load_cdnow_master()
    assert len(master) == 69_659
    assert master["customer_id"].nunique() == 23_570
    first = master.groupby("customer_id")["date"].min()
    assert first.max() < pd.Timestamp("1997-04-01")
    assert master["date"].max() == pd.Timestamp("1998-06-30")
    assert (master["amount"] >= 0).all()


def test_cdnow_sample_is_a_subset_of_the_master_log() -> None:
    sample = load_cdnow_sample()
    master = load_cdnow_master()
    assert sample["customer_id"].nunique() == 2_357
    assert set(sample["master_id"]) <= set(master["customer_id"])
    key = ["master_id", "date", "amount"]
    merged = sample.merge(
        master.rename(columns={"customer_id": "master_id"}), on=key, how="left", indicator=True
    )
    assert (merged["_merge"] == "both").all()


def test_cdnow_summary_matches_the_sample_transactions() -> None:
    # x = repeat purchase days within the 39-week calibration period (1997-01-01 .. 1997-09-30)
    summary = load_cdnow_summary()
    sample = load_cdnow_sample()
    calib = sample[sample["date"] <= pd.Timestamp("1997-09-30")]
    days = calib.drop_duplicates(["customer_id", "date"])
    repeat = days.groupby("customer_id").size() - 1
    repeat.index = repeat.index.astype(int)
    assert summary.attrs["time_unit"] == "W"
    np.testing.assert_array_equal(
        summary["frequency"].to_numpy(), repeat.reindex(summary.index).to_numpy()
    )
    assert int((summary["frequency"] > 0).sum()) == 946
    assert (summary["recency"] <= summary["T"]).all()


def test_donations_hold_the_11104_donors_over_six_opportunities() -> None:
    donations = load_donations()
    assert donations["weights"].sum() == 11_104
    assert (donations["periods"] == 6).all()
    assert (donations["recency"] >= donations["frequency"]).all()


def test_generated_transactions_are_reproducible_and_well_formed() -> None:
    a = generate_transactions(500, random_state=3)
    b = generate_transactions(500, random_state=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)
    assert a["customer_id"].nunique() == 500
    assert a["order_id"].is_unique
    assert a["date"].between(pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31")).all()
    assert (a["amount"] > 0).all()
    c = generate_transactions(500, random_state=4)
    assert not a["amount"].equals(c["amount"])


def test_generated_transactions_reject_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="must be after start"):
        generate_transactions(10, start="2024-01-01", end="2023-01-01", random_state=0)
