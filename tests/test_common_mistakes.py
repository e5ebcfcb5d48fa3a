"""The ten commonest mistakes of a new user, and the message each one gets (issue 8).

Each test makes the mistake the way a newcomer would and checks that the message names
what went wrong and what to call instead -- or, where the input is fine after all (weekly
data with T = 0, Polars frames), that the right answer comes back.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import load_cdnow_master, load_cdnow_summary
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.segmentation import rfm_table
from crmcore.value import BetaGeoModel, GammaGammaModel, btyd_summary


@pytest.fixture(scope="module")
def master() -> pd.DataFrame:
    return load_cdnow_master()


def test_1_a_frame_without_the_model_columns_lists_what_exists() -> None:
    with pytest.raises(KeyError, match=r"column 'frequency' not found.*Available columns: x"):
        BetaGeoModel().fit(pd.DataFrame({"x": [1.0]}))


def test_2_an_rfm_table_given_to_gamma_gamma_is_named_as_such(master: pd.DataFrame) -> None:
    table = rfm_table(master, as_of="1998-07-01")
    with pytest.raises(KeyError, match=r"looks like an RFM table.*btyd_summary"):
        GammaGammaModel().fit(table)


def test_3_transactions_given_to_a_fit_point_to_btyd_summary(master: pd.DataFrame) -> None:
    with pytest.raises(KeyError) as info:
        BetaGeoModel().fit(master)
    message = str(info.value)
    assert "looks like a transaction log" in message and "btyd_summary(" in message
    assert "T_col='customer_id'" not in message


def test_4_string_amounts_with_a_decimal_comma_get_the_conversion(master: pd.DataFrame) -> None:
    text = master.head(50).assign(amount=lambda f: f["amount"].map(lambda v: f"{v:.2f}"))
    text["amount"] = text["amount"].str.replace(".", ",", regex=False)
    with pytest.raises(ValidationError, match=r"'amount' must be numeric.*decimal comma"):
        rfm_table(text, as_of="1998-07-01")


def test_5_returns_are_counted_in_a_warning() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-05"]),
            "amount": [50.0, -20.0],
        }
    )
    with pytest.warns(CRMWarning, match="1 rows have negative amounts"):
        table = rfm_table(log, as_of="2024-01-31")
    assert table.loc["a", "monetary"] == 30.0


def test_6_two_currencies_point_to_convert_frame() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-05"]),
            "amount": [50.0, 20.0],
            "currency": ["GBP", "EUR"],
        }
    )
    with pytest.raises(ValidationError, match=r"2 currencies.*convert_frame"):
        btyd_summary(log, amount_col="amount", as_of="2024-01-31")


def test_7_day_first_dates_point_to_date_format() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a"], "date": ["01/12/2010", "13/12/2010"], "amount": [1.0, 2.0]}
    )
    with pytest.raises(ValidationError, match=r'date_format="%d/%m/%Y"'):
        btyd_summary(log, as_of="2010-12-31")


def test_8_a_missing_as_of_is_named(master: pd.DataFrame) -> None:
    # the clock is never read: the analysis date is a required keyword
    with pytest.raises(TypeError, match="as_of"):
        rfm_table(master)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="as_of"):
        btyd_summary(master)  # type: ignore[call-arg]


def test_9_weekly_data_with_t_zero_rows_fits() -> None:
    # a customer whose first purchase is in the last week has T = 0: accepted, counted
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3, 4],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-20",
                    "2024-02-10",
                    "2024-01-03",
                    "2024-02-20",
                    "2024-01-15",
                    "2024-03-27",
                ]
            ),
        }
    )
    summary = btyd_summary(log, as_of="2024-03-29", time_unit="W")
    assert summary.loc[4, "T"] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BetaGeoModel(penalizer=0.01).fit(summary)
    assert model.n_excluded_ == 1
    assert np.all(np.isfinite(model.params_.to_numpy()))


def test_10_polars_input_keeps_the_customer_ids() -> None:
    pl = pytest.importorskip("polars")
    summary = load_cdnow_summary()
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    frame = pl.from_pandas(summary.reset_index())
    got = model.expected_purchases(frame, t=10)
    want = model.expected_purchases(summary, t=10)
    assert got.index.tolist() == summary.index.tolist()
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
