"""btyd_summary and rfm_table against lifetimes 0.11.3's summaries, run side by side.

The expected frames are computed by lifetimes.utils (summary_data_from_transaction_data,
calibration_and_holdout_data) in the same process; the hand-derived summaries are in
tests/test_btyd_summary.py and tests/test_rfm_table.py, which run without lifetimes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer

from crmcore.datasets import load_cdnow_master, load_cdnow_sample
from crmcore.segmentation import rfm_table
from crmcore.value import btyd_summary

lifetimes_utils = require_peer("lifetimes.utils")


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_master()


def _lifetimes_summary(tx: pd.DataFrame, freq: str, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes_utils.summary_data_from_transaction_data(
            tx, "customer_id", "date", freq=freq, **kwargs
        )


def _lifetimes_cal_holdout(tx: pd.DataFrame, freq: str, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = lifetimes_utils.calibration_and_holdout_data(
            tx, "customer_id", "date", freq=freq, **kwargs
        )
    out.columns = [c.replace("_cal", "") for c in out.columns]
    return out


@pytest.mark.parametrize("freq", ["D", "W"])
def test_summary_equals_lifetimes_on_cdnow_master(master: pd.DataFrame, freq: str) -> None:
    expected = _lifetimes_summary(
        master, freq, monetary_value_col="amount", observation_period_end="1998-06-30"
    )
    got = btyd_summary(master, amount_col="amount", as_of="1998-06-30", time_unit=freq)
    assert list(got.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected[got.columns].to_numpy(), rtol=1e-12)
    assert got.attrs["time_unit"] == freq


@pytest.mark.parametrize("freq", ["D", "W"])
def test_calibration_and_holdout_equal_lifetimes_on_cdnow_master(
    master: pd.DataFrame, freq: str
) -> None:
    expected = _lifetimes_cal_holdout(
        master,
        freq,
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        monetary_value_col="amount",
    )
    got = btyd_summary(
        master,
        amount_col="amount",
        as_of="1998-06-30",
        calibration_end="1997-09-30",
        time_unit=freq,
    )
    assert list(got.columns) == list(expected.columns)
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_summary_without_amount_and_with_first_transaction_equals_lifetimes(
    master: pd.DataFrame,
) -> None:
    expected = _lifetimes_summary(
        master,
        "D",
        observation_period_end="1997-12-31",
        freq_multiplier=7,
        include_first_transaction=True,
    )
    got = btyd_summary(
        master,
        as_of="1997-12-31",
        unit_multiplier=7,
        include_first_transaction=True,
    )
    assert list(got.columns) == ["frequency", "recency", "T"]
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert got.attrs["time_unit"] == "7D"


def test_include_first_transaction_monetary_value_equals_lifetimes(master: pd.DataFrame) -> None:
    expected = _lifetimes_summary(
        master,
        "W",
        monetary_value_col="amount",
        observation_period_end="1998-06-30",
        include_first_transaction=True,
    )
    got = btyd_summary(
        master,
        amount_col="amount",
        as_of="1998-06-30",
        time_unit="W",
        include_first_transaction=True,
    )
    np.testing.assert_allclose(got.to_numpy(), expected[got.columns].to_numpy(), rtol=1e-12)


def test_integer_customer_ids_give_the_lifetimes_summary(master: pd.DataFrame) -> None:
    numeric = master.assign(customer_id=master["customer_id"].astype(int) * 3 + 1000)
    expected = _lifetimes_summary(
        numeric, "W", monetary_value_col="amount", observation_period_end="1998-06-30"
    )
    got = btyd_summary(numeric, amount_col="amount", as_of="1998-06-30", time_unit="W")
    assert got.index.equals(expected.index)
    assert got.index.dtype.kind == "i"
    np.testing.assert_allclose(got.to_numpy(), expected[got.columns].to_numpy(), rtol=1e-12)


def test_rfm_days_table_agrees_with_lifetimes_summary() -> None:
    orders = load_cdnow_sample()
    ours = rfm_table(orders, as_of="1998-06-30", frequency="days", monetary="mean")
    theirs = lifetimes_utils.summary_data_from_transaction_data(
        orders,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end="1998-06-30",
        include_first_transaction=True,
        freq="D",
    )
    theirs.index = theirs.index.astype("str")
    theirs = theirs.reindex(ours.index)
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), theirs["frequency"].to_numpy())
    # with include_first_transaction, lifetimes' T - recency is the days since last purchase
    np.testing.assert_array_equal(
        ours["recency_days"].to_numpy(), (theirs["T"] - theirs["recency"]).to_numpy()
    )
    np.testing.assert_allclose(ours["monetary"], theirs["monetary_value"], rtol=1e-12)
