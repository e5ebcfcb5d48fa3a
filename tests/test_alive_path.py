"""crmcore.value.probability_alive_path and its plot: hand-worked paths, cut-offs, bad input.

Parity with lifetimes' ``calculate_alive_path`` on CDNOW customers is in
tests/parity/test_lifetimes_alive_path.py.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import load_cdnow_master
from crmcore.exceptions import ColumnNotFoundError, CRMWarning, NotFittedError, ValidationError
from crmcore.plotting import plot_probability_alive_path
from crmcore.value import BetaGeoModel, btyd_summary, probability_alive_path

matplotlib.use("Agg")

# BG/NBD P(alive | x, t_x, T) = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))
# for x > 0, and 1 for x = 0 (Fader, Hardie & Lee 2005, eq. 13). With r = alpha = b = 1, a = 1/2:
#   period 0: first purchase, x = 0                        -> 1
#   period 1: repeat purchase, x = 1, t_x = 1, T = 1       -> 1 / (1 + 1/2)         = 2/3
#   period 2: no purchase,     x = 1, t_x = 1, T = 2       -> 1 / (1 + 1/2 * (3/2)^2) = 8/17
HAND = [1.0, 2.0 / 3.0, 8.0 / 17.0]


def _model(time_unit: str | None = "D") -> BetaGeoModel:
    return BetaGeoModel.from_params(r=1.0, alpha=1.0, a=0.5, b=1.0, time_unit=time_unit)


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
        }
    )


def test_a_three_day_path_matches_the_hand_derivation() -> None:
    path = probability_alive_path(_model(), _log(), customer_id="a")
    np.testing.assert_allclose(path.to_numpy(), HAND, rtol=1e-12)
    assert list(path.index) == list(pd.date_range("2024-01-01", periods=3))
    assert path.index.name == "period_start"
    assert path.name == "probability_alive"
    assert path.attrs == {"customer_id": "a", "time_unit": "D"}


def test_orders_in_one_iso_week_count_once_and_weeks_start_on_monday() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            # Wednesday and Sunday of the week of Monday 2024-01-01, then the next Monday
            "date": ["2024-01-03", "2024-01-07", "2024-01-08", "2024-01-20"],
        }
    )
    path = probability_alive_path(_model("W"), log, customer_id="a")
    np.testing.assert_allclose(path.to_numpy(), HAND, rtol=1e-12)
    assert list(path.index) == list(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"]))


def test_time_unit_overrides_the_models_unit() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "date": ["2024-01-31", "2024-02-01", "2024-03-15"]}
    )
    path = probability_alive_path(_model(None), log, customer_id="a", time_unit="months")
    np.testing.assert_allclose(path.to_numpy(), HAND, rtol=1e-12)
    assert path.attrs["time_unit"] == "M"


def test_as_of_ends_the_path_and_excludes_later_orders() -> None:
    log = pd.concat([_log(), pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-05"]})])
    with pytest.warns(CRMWarning, match="after as_of"):
        path = probability_alive_path(_model(), log, customer_id="a", as_of="2024-01-03")
    np.testing.assert_allclose(path.to_numpy(), HAND, rtol=1e-12)


def test_n_periods_shortens_or_extends_the_path() -> None:
    short = probability_alive_path(_model(), _log(), customer_id="a", n_periods=1)
    np.testing.assert_allclose(short.to_numpy(), HAND[:1])
    long = probability_alive_path(_model(), _log(), customer_id="a", n_periods=4)
    # period 3: x = 1, t_x = 1, T = 3 -> 1 / (1 + 1/2 * (4/2)^2) = 1/3
    np.testing.assert_allclose(long.to_numpy(), [*HAND, 1.0 / 3.0], rtol=1e-12)


def test_the_input_frame_is_not_modified() -> None:
    log = _log()
    before = log.copy()
    probability_alive_path(_model(), log, customer_id="b")
    pd.testing.assert_frame_equal(log, before)


def test_an_unknown_customer_is_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="'zz' has no purchase") as info:
        probability_alive_path(_model(), _log(), customer_id="zz")
    assert info.value.first_ids == ("zz",)
    assert info.value.column == "customer_id"


def test_an_int_id_does_not_match_a_text_column() -> None:
    with pytest.raises(ValidationError, match="customer_id 1 has no purchase"):
        probability_alive_path(_model(), _log(), customer_id=1)


def test_a_customer_seen_only_after_as_of_is_refused() -> None:
    log = pd.concat([_log(), pd.DataFrame({"customer_id": ["c"], "date": ["2024-01-05"]})])
    with (
        pytest.raises(ValidationError, match="on or before as_of 2024-01-02"),
        pytest.warns(CRMWarning),
    ):
        probability_alive_path(_model(), log, customer_id="c", as_of="2024-01-02")
    with (
        pytest.raises(ValidationError, match="on or before as_of 2023-12-31"),
        pytest.warns(CRMWarning),
    ):
        probability_alive_path(_model(), _log(), customer_id="a", as_of="2023-12-31")


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_n_periods_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValidationError, match="'n_periods' parameter of probability_alive_path"):
        probability_alive_path(_model(), _log(), customer_id="a", n_periods=bad)  # type: ignore[arg-type]


def test_a_model_without_a_calendar_unit_asks_for_time_unit() -> None:
    with pytest.raises(ValidationError, match="pass time_unit="):
        probability_alive_path(_model(None), _log(), customer_id="a")
    with pytest.raises(ValidationError, match="'time_unit' parameter"):
        probability_alive_path(_model(), _log(), customer_id="a", time_unit="7D")


def test_an_unfitted_model_or_another_object_is_refused() -> None:
    with pytest.raises(NotFittedError):
        probability_alive_path(BetaGeoModel(), _log(), customer_id="a", time_unit="D")
    with pytest.raises(ValidationError, match="transaction model"):
        probability_alive_path(object(), _log(), customer_id="a")  # type: ignore[arg-type]


def test_the_plot_draws_one_line_and_marks_purchase_periods() -> None:
    path = probability_alive_path(_model(), _log(), customer_id="a", n_periods=5)
    ax = plot_probability_alive_path(path, transactions=_log())
    assert len(ax.get_lines()) == 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), path.to_numpy())
    (marks,) = ax.collections
    assert len(marks.get_segments()) == 2  # the two purchase days of customer "a" only


def test_the_plot_without_transactions_marks_nothing_and_refuses_a_non_path() -> None:
    path = probability_alive_path(_model(), _log(), customer_id="a")
    ax = plot_probability_alive_path(path)
    assert len(ax.get_lines()) == 1
    assert len(ax.collections) == 0
    with pytest.raises(ValidationError, match="Series indexed by period start"):
        plot_probability_alive_path(pd.Series([0.5, 0.4]))


def test_the_plot_marks_purchases_of_a_path_without_its_attrs() -> None:
    path = probability_alive_path(_model("W"), _log(), customer_id="a", n_periods=3)
    path.attrs.clear()
    ax = plot_probability_alive_path(path, transactions=["2024-01-03", "2024-01-16", "2024-02-01"])
    (marks,) = ax.collections
    # 01-03 is in the week of 01-01, 01-16 in the week of 01-15; 02-01 is past the path
    assert [
        pd.Timestamp(matplotlib.dates.num2date(seg[0][0])).date().isoformat()
        for seg in marks.get_segments()
    ] == ["2024-01-01", "2024-01-15"]


def test_the_plot_reads_the_callers_column_names() -> None:
    path = probability_alive_path(_model(), _log(), customer_id="b")
    log = _log().rename(columns={"customer_id": "client", "date": "day"})
    ax = plot_probability_alive_path(path, transactions=log, customer_col="client", date_col="day")
    (marks,) = ax.collections
    assert len(marks.get_segments()) == 2  # b's orders of 01-01 and 01-03
    with pytest.raises(ColumnNotFoundError, match="day"):
        plot_probability_alive_path(path, transactions=log.drop(columns="day"), date_col="day")


def test_a_polars_log_gives_the_pandas_path() -> None:
    pl = pytest.importorskip("polars")
    log = _log()
    log["date"] = pd.to_datetime(log["date"])
    ours = probability_alive_path(_model(), pl.from_pandas(log), customer_id="a")
    np.testing.assert_allclose(ours.to_numpy(), HAND, rtol=1e-12)


@pytest.mark.parametrize("time_unit", ["D", "W", "M"])
def test_the_last_point_is_probability_alive_of_the_btyd_summary_row(time_unit: str) -> None:
    log = load_cdnow_master()
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    summary = btyd_summary(log, as_of="1998-06-30", time_unit=time_unit)
    for customer in ["00001", "00003", "07592"]:
        path = probability_alive_path(
            model, log, customer_id=customer, as_of="1998-06-30", time_unit=time_unit
        )
        assert len(path) == summary.loc[customer, "T"] + 1
        expected = model.probability_alive(summary.loc[[customer]]).iloc[0]
        assert path.iloc[-1] == pytest.approx(expected, rel=1e-12)
