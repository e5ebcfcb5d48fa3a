"""One validation edge: structured error fields and a single missing-column message (issue 11.4).

Every expected field below is derived by hand from the input built in the test.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest

import crmcore._validation as validation
import crmcore.frames as frames
from crmcore.exceptions import (
    ColumnNotFoundError,
    InvalidStageTransition,
    InvalidTransition,
    ValidationError,
)
from crmcore.frames import (
    check_no_duplicates,
    check_no_missing,
    check_single_currency,
    coerce_datetime_column,
    frame_to_orders,
    frame_to_tickets,
    orders_to_frame,
    require_columns,
)
from crmcore.pipeline import read_history, simple_pipeline
from crmcore.service import ticket_metrics
from crmcore.value import (
    ParetoNBDModel,
    btyd_summary,
    calibration_holdout_table,
    customer_profitability,
    tracking_table,
)

# ------------------------------------------------------------------ the shared helpers


def test_a_missing_column_names_the_first_missing_column_and_how_many_are_missing() -> None:
    frame = pd.DataFrame({"customer": ["c1"], "date": ["2024-01-01"]})
    with pytest.raises(ColumnNotFoundError) as info:
        require_columns(frame, ["customer_id", "date", "amount"], who="rfm_table")
    err = info.value
    assert isinstance(err, KeyError)
    # customer_id and amount are absent; customer_id is named first
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "column must exist",
        "customer_id",
        2,
        (),
    )


def test_missing_values_give_the_column_the_count_and_the_first_ids() -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
            "customer_id": [None, "c2", None, "c4", None, None, None, None],
        }
    )
    with pytest.raises(ValidationError) as info:
        check_no_missing(frame, ["customer_id"], who="load", id_col="order_id")
    err = info.value
    # rows 0, 2, 4, 5, 6, 7 lack a customer: six rows, the first five order ids shown
    assert err.rule == "column must not have missing values"
    assert err.column == "customer_id"
    assert err.count == 6
    assert err.first_ids == ("o1", "o3", "o5", "o6", "o7")


def test_missing_values_without_an_id_column_report_row_labels() -> None:
    frame = pd.DataFrame({"amount": [1.0, np.nan, 3.0, np.nan]}, index=[10, 11, 12, 13])
    with pytest.raises(ValidationError) as info:
        check_no_missing(frame, ["amount"], who="load")
    assert (info.value.column, info.value.count, info.value.first_ids) == ("amount", 2, (11, 13))
    assert all(type(i) is int for i in info.value.first_ids)  # not numpy scalars


def test_with_several_bad_columns_the_fields_describe_the_first_in_the_order_given() -> None:
    frame = pd.DataFrame({"a": [1.0, None, None], "b": [None, 2.0, 3.0]})
    with pytest.raises(ValidationError) as info:
        check_no_missing(frame, ["b", "a"], who="load")
    assert (info.value.column, info.value.count, info.value.first_ids) == ("b", 1, (0,))
    assert "column 'a' has 2 missing values" in str(info.value)  # the text still has both


def test_missing_values_in_a_polars_frame_give_the_same_fields() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"order_id": ["o1", "o2", "o3"], "customer_id": ["c1", None, None]})
    with pytest.raises(ValidationError) as info:
        check_no_missing(frame, ["customer_id"], who="load", id_col="order_id")
    assert (info.value.column, info.value.count, info.value.first_ids) == (
        "customer_id",
        2,
        ("o2", "o3"),
    )


def test_duplicated_keys_give_the_count_and_the_repeating_keys() -> None:
    frame = pd.DataFrame({"order_id": ["o1", "o2", "o1", "o3", "o3", "o1"]})
    with pytest.raises(ValidationError) as info:
        check_no_duplicates(frame, ["order_id"], who="orders")
    err = info.value
    # rows 2 (o1), 4 (o3) and 5 (o1) repeat an earlier row
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "key must be unique",
        "order_id",
        3,
        ("o1", "o3", "o1"),
    )
    expected = (
        "orders: 3 rows repeat the key (order_id) of an earlier row "
        "(first duplicated keys: o1, o3, o1)."
    )
    assert str(err) == expected


def test_a_compound_key_reports_one_tuple_per_repeating_row() -> None:
    frame = pd.DataFrame({"customer_id": ["c1", "c1", "c1", "c2"], "day": [1, 2, 1, 1]})
    with pytest.raises(ValidationError) as info:
        check_no_duplicates(frame, ["customer_id", "day"], who="daily")
    assert info.value.count == 1
    assert info.value.column == "customer_id"
    assert info.value.first_ids == (("c1", 1),)


def test_two_currencies_give_the_number_of_currencies_and_their_codes() -> None:
    frame = pd.DataFrame({"currency": ["USD", "EUR", "USD", "GBP"]})
    with pytest.raises(ValidationError) as info:
        check_single_currency(frame, who="rfm_table")
    err = info.value
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "amounts must be in one currency",
        "currency",
        3,
        ("EUR", "GBP", "USD"),
    )


def test_a_non_iso_date_string_gives_the_count_and_the_first_rows() -> None:
    frame = pd.DataFrame(
        {"date": ["2024-01-05", "05/01/2024", "2024-01-07", "13/01/2024"]}, index=[10, 11, 12, 13]
    )
    with pytest.raises(ValidationError) as info:
        coerce_datetime_column(frame, "date", who="rfm_table")
    err = info.value
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "date strings must be ISO 8601",
        "date",
        2,
        (11, 13),
    )


def test_a_date_not_in_date_format_names_that_rule() -> None:
    frame = pd.DataFrame({"date": ["01/12/2010", "2010-12-13", "31/12/2010"]})
    with pytest.raises(ValidationError) as info:
        coerce_datetime_column(frame, "date", who="rfm_table", date_format="%d/%m/%Y")
    assert (info.value.rule, info.value.count, info.value.first_ids) == (
        "dates must match date_format",
        1,
        (1,),
    )


def test_text_in_a_number_column_gives_the_ids_passed() -> None:
    series = pd.Series([1.0, "12,50", 3.0, "x"])
    with pytest.raises(ValidationError) as info:
        validation.coerce_number_series(series, name="amount", who="demo", ids=["a", "b", "c", "d"])
    err = info.value
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "column must hold numbers",
        "amount",
        2,
        ("b", "d"),
    )
    with pytest.raises(ValidationError) as info:
        validation.coerce_number_series(pd.Series([1.0, np.inf, np.nan]), name="m", who="demo")
    assert (info.value.rule, info.value.count, info.value.first_ids) == (
        "numbers must be finite",
        2,
        (1, 2),
    )


def test_a_parameter_error_has_a_rule_and_no_column() -> None:
    with pytest.raises(ValidationError) as info:
        validation.check_param_number("bins", 1, who="rfm_scores", low=2, integer=True)
    assert info.value.rule == "parameter must be a number in range"
    assert (info.value.column, info.value.count, info.value.first_ids) == (None, None, ())


# ------------------------------------------------------------------ pipeline and service rules


def _history(probability: list[float]) -> pd.DataFrame:
    n = len(probability)
    return pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "C"][:n],
            "stage": ["Lead"] * n,
            "changed_at": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"][:n],
            "amount": [100.0] * n,
            "expected_close": ["2024-03-31"] * n,
            "probability": probability,
        }
    )


def test_a_pipeline_history_rule_gives_the_opportunity_ids() -> None:
    with pytest.raises(ValidationError) as info:
        read_history(_history([1.5, 0.2, 0.5, -0.1]), simple_pipeline())
    err = info.value
    # rows 0 (A) and 3 (C) are outside [0, 1]: two opportunities
    assert err.rule == "probability must be in [0, 1] (or missing for the stage default)"
    assert (err.column, err.count, err.first_ids) == ("probability", 2, ("A", "C"))


def test_a_second_close_is_an_invalid_stage_transition_with_fields() -> None:
    history = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B"],
            "stage": ["Won", "Lost", "Lead"],
            "changed_at": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": [100.0, 100.0, 50.0],
            "expected_close": ["2024-03-31"] * 3,
        }
    )
    with pytest.raises(InvalidStageTransition) as info:
        read_history(history, simple_pipeline())
    assert (info.value.count, info.value.first_ids) == (1, ("A",))
    assert info.value.rule is not None and info.value.rule.startswith("an opportunity closes")
    back = pickle.loads(pickle.dumps(info.value))
    assert (type(back), str(back), back.rule, back.first_ids) == (
        InvalidStageTransition,
        str(info.value),
        info.value.rule,
        ("A",),
    )


def test_a_service_ticket_rule_gives_the_ticket_ids() -> None:
    opened = pd.Timestamp("2024-03-04 09:00", tz="UTC")
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-1", "T-3", "T-3"],
            "priority": ["high"] * 5,
            "opened_at": [opened] * 5,
        }
    )
    events = pd.DataFrame(
        {
            "ticket_id": ["T-2"],
            "kind": ["status_change"],
            "status": ["solved"],
            "occurred_at": [opened + pd.Timedelta(hours=1)],
        }
    )
    with pytest.raises(ValidationError) as info:
        ticket_metrics(tickets, events, as_of="2024-03-05T00:00Z")
    err = info.value
    # T-1 and T-3 have two rows each: two tickets break the rule
    assert err.rule == "column 'ticket_id' must be unique (one row per ticket)"
    assert (err.column, err.count, err.first_ids) == ("ticket_id", 2, ("T-1", "T-3"))


# ------------------------------------------------------------------ the exception classes


def test_fields_default_to_empty_and_the_text_is_the_message() -> None:
    err = ValidationError("plain text")
    assert (str(err), err.rule, err.column, err.count, err.first_ids) == (
        "plain text",
        None,
        None,
        None,
        (),
    )
    err = ValidationError("text", rule="r", column="c", count=3, first_ids=np.array([4, 5]))
    assert str(err) == "text"
    assert err.args == ("text",)
    assert err.first_ids == (4, 5) and all(type(i) is int for i in err.first_ids)
    missing = ColumnNotFoundError("who: column 'x' not found.", column="x", count=1)
    assert str(missing) == "who: column 'x' not found."  # not the KeyError repr


@pytest.mark.parametrize("cls", [ValidationError, ColumnNotFoundError, InvalidTransition])
def test_a_pickle_round_trip_keeps_the_message_and_the_fields(cls: type[Any]) -> None:
    err = cls("who: text", rule="a rule", column="col", count=7, first_ids=("a", 2))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert (str(back), back.args) == ("who: text", ("who: text",))
    assert (back.rule, back.column, back.count, back.first_ids) == ("a rule", "col", 7, ("a", 2))


def test_a_raised_error_survives_pickling_with_its_fields() -> None:
    frame = pd.DataFrame({"order_id": ["o1", "o1"]})
    with pytest.raises(ValidationError) as info:
        check_no_duplicates(frame, ["order_id"], who="orders")
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value)
    assert (back.rule, back.column, back.count, back.first_ids) == (
        "key must be unique",
        "order_id",
        1,
        ("o1",),
    )


def test_a_subclass_with_a_required_keyword_still_pickles() -> None:
    class NeedsWhere(ValidationError):
        def __init__(self, message: str, *, where: str) -> None:
            super().__init__(message, column=where)
            self.where = where

    globals()["NeedsWhere"] = NeedsWhere  # picklable by qualified name
    NeedsWhere.__qualname__ = "NeedsWhere"
    back = pickle.loads(pickle.dumps(NeedsWhere("m", where="w")))
    assert (str(back), back.where, back.column) == ("m", "w", "w")


# ------------------------------------------------------------------ one missing-column message


def test_frames_has_no_copy_of_the_shared_helpers() -> None:
    assert not hasattr(frames, "_to_pandas")
    assert not hasattr(frames, "_require")
    assert frames.to_pandas is validation.to_pandas
    assert frames.require_columns is validation.require_columns
    assert frames.check_no_missing is validation.check_no_missing


def test_a_conversion_reports_a_missing_column_with_the_shared_message() -> None:
    import datetime as dt

    from crmcore.customers import Order, OrderLine
    from crmcore.money import Money

    order = Order(
        id="O1",
        customer_id="C1",
        currency="EUR",
        status="confirmed",
        ordered_at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
        lines=[OrderLine(product_id="P1", quantity=1, unit_price=Money("9.95", "EUR"))],
    )
    frame = orders_to_frame([order]).rename(columns={"ordered_at": "ordered"})
    with pytest.raises(ColumnNotFoundError) as info:
        frame_to_orders(frame)
    err = info.value
    assert (err.rule, err.column, err.count) == ("column must exist", "ordered_at", 1)
    text = str(err)
    assert text.startswith(
        "frame_to_orders: column 'ordered_at' not found (did you mean 'ordered'?)."
    )
    assert text.endswith("Hint: rename 'ordered' to 'ordered_at'.")  # fixed names: no *_col hint


def test_a_conversion_error_on_tickets_carries_the_ticket_ids() -> None:
    opened = pd.Timestamp("2024-03-04 09:00", tz="UTC")
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-1"],
            "subject": ["s"] * 3,
            "requester_id": ["R"] * 3,
            "priority": ["high"] * 3,
            "channel": ["email"] * 3,
            "category": ["question"] * 3,
            "status": ["new"] * 3,
            "opened_at": [opened] * 3,
        }
    )
    missing = [c for c in frames.TICKET_COLUMNS if c not in tickets.columns]
    for column in missing:  # the optional columns of the canonical frame, left empty
        tickets[column] = None
    with pytest.raises(ValidationError) as info:
        frame_to_tickets(tickets)
    assert (info.value.column, info.value.count, info.value.first_ids) == ("ticket_id", 1, ("T-1",))


# ------------------------------------------------------------------ value and service raise sites


def test_a_negative_holdout_count_gives_the_rows() -> None:
    data = pd.DataFrame(
        {
            "frequency": [0.0, 1.0, 2.0],
            "recency": [0.0, 5.0, 9.0],
            "T": [30.0] * 3,
            "frequency_holdout": [0.0, -1.0, -2.0],
            "duration_holdout": [10.0] * 3,
        },
        index=["a", "b", "c"],
    )
    model = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    with pytest.raises(ValidationError) as info:
        calibration_holdout_table(model, data)
    err = info.value
    assert err.rule == "frequency_holdout and duration_holdout must be >= 0"
    assert (err.column, err.count, err.first_ids) == ("frequency_holdout", 2, ("b", "c"))


def test_a_non_finite_tracking_time_gives_the_rows() -> None:
    model = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    log = pd.DataFrame({"customer_id": ["a", "a", "b"], "time": [0.0, np.inf, np.nan]})
    with pytest.raises(ValidationError) as info:
        tracking_table(model, log, times=[1.0, 2.0])
    err = info.value
    # rows 1 (inf) and 2 (NaN): the row labels of the frame
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "numbers must be finite",
        "time",
        2,
        (1, 2),
    )


def test_negative_service_costs_give_the_customer_ids() -> None:
    orders = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [10.0, 20.0, 30.0]})
    costs = pd.DataFrame({"customer_id": ["a", "b", "c"], "service_cost": [-1.0, 2.0, -3.0]})
    with pytest.raises(ValidationError) as info:
        customer_profitability(orders, service_costs=costs)
    err = info.value
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "service_costs must be >= 0",
        "service_cost",
        2,
        ("a", "c"),
    )
    twice = pd.Series([1.0, 2.0, 3.0], index=["a", "a", "b"])
    with pytest.raises(ValidationError) as info:
        customer_profitability(orders, acquisition_costs=twice)
    err = info.value  # a Series has no column; "a" is listed twice
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "one entry per customer",
        None,
        1,
        ("a",),
    )


def test_an_overflowing_btyd_summary_gives_the_customer_ids() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "date": pd.to_datetime(["2024-01-04", "2024-01-01", "2024-01-05"]),
        }
    )
    with pytest.raises(ValidationError) as info:
        btyd_summary(log, as_of="2024-01-05", unit_multiplier=1e-308)
    err = info.value
    # T in days / 1e-308: a 1e308 (finite), b 4e308 (beyond 1.8e308), c 0
    assert (err.rule, err.column, err.count, err.first_ids) == (
        "results must fit in float64",
        "T",
        1,
        ("b",),
    )


def test_naive_service_times_and_a_forbidden_status_change_give_the_ticket_ids() -> None:
    opened = pd.Timestamp("2024-03-04 09:00", tz="UTC")
    tickets = pd.DataFrame(
        {"ticket_id": ["T-1", "T-2", "T-3"], "priority": ["high"] * 3, "opened_at": [opened] * 3}
    )
    events = pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-3"],
            "kind": ["status_change"] * 3,
            "status": ["solved", "closed", "closed"],  # new -> closed skips solved
            "occurred_at": [opened + pd.Timedelta(hours=1)] * 3,
        }
    )
    with pytest.raises(InvalidTransition) as info:
        ticket_metrics(tickets, events, as_of="2024-03-05T00:00Z")
    err = info.value
    assert err.rule == "every status change must be allowed by TICKET_TRANSITIONS"
    assert (err.column, err.count, err.first_ids) == ("status", 2, ("T-2", "T-3"))
    naive = tickets.assign(opened_at=opened.tz_localize(None))
    with pytest.raises(ValidationError) as info:
        ticket_metrics(naive, events.iloc[:1], as_of="2024-03-05T00:00Z")
    err = info.value
    assert err.rule == "column 'opened_at' must hold tz-aware times (naive values found)"
    assert (err.column, err.count, err.first_ids) == ("opened_at", 3, ("T-1", "T-2", "T-3"))


def test_readers_with_fixed_column_names_hint_a_rename() -> None:
    history = _history([0.5]).rename(columns={"stage": "stag"})
    with pytest.raises(ColumnNotFoundError) as info:
        read_history(history, simple_pipeline())
    assert (info.value.column, info.value.count) == ("stage", 1)
    assert str(info.value).endswith("Hint: rename 'stag' to 'stage'.")
    opened = pd.Timestamp("2024-03-04 09:00", tz="UTC")
    tickets = pd.DataFrame({"ticket_id": ["T-1"], "priority": ["high"], "opened": [opened]})
    events = pd.DataFrame(
        {
            "ticket_id": ["T-1"],
            "kind": ["status_change"],
            "status": ["solved"],
            "occurred_at": [opened],
        }
    )
    with pytest.raises(ColumnNotFoundError) as info:
        ticket_metrics(tickets, events, as_of="2024-03-05T00:00Z")
    assert str(info.value).endswith("Hint: rename 'opened' to 'opened_at'.")
