"""A generated bad-input campaign over every public callable of crmcore (issue 8).

Every public function, constructor and method gets a valid baseline call on small data; the
campaign then corrupts ONE argument at a time and asserts the contract of DESIGN.md ("bad
input gets a clear error, and nothing is lost"):

* the call raises a :class:`crmcore.CRMError` subclass, or returns a result;
* a result holds no NaN / inf that the (corrupted) input did not have;
* no argument (and no model the method is called on) is mutated.

Corruptions (one argument at a time): frames and Series with NaN, None, inf, strings,
comma-decimal strings (``"12,50"``), values near 1e308, negative values, mixed-type ids, None
in an index, MultiIndex, duplicated rows/ids, empty input, a missing column, the Polars and
PyArrow versions of the same data, not-a-frame objects; parameters of the wrong type (str,
None, list, bool), out of range (-1, 0, nan, inf, 1e308, 1e-308) or of the wrong length.

Two runners share the corruption catalogue: a deterministic grid (every target x argument x
corruption, a pytest case each, so a failure names exactly what broke), and a Hypothesis test
that draws the row, the argument, the corruption and random bad floats/strings.
``test_every_public_callable_is_in_the_campaign`` enumerates ``__all__`` of every public
module (and the public methods of public classes) so that a new public callable cannot escape.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import pickle
import signal
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
import crmcore.customers as cu
import crmcore.datasets as ds
import crmcore.frames as fr
import crmcore.money as mo
import crmcore.pipeline as pp
import crmcore.scale as sc
import crmcore.segmentation as seg
import crmcore.service as sv
import crmcore.value as va
from crmcore import CRMError

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

UTC = dt.timezone.utc
NAN = float("nan")
INF = float("inf")
HUGE = 1.7e308

# --------------------------------------------------------------------------------------------
# Baseline data (small, built once)
# --------------------------------------------------------------------------------------------


def _fresh(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Build a baseline object once per argument tuple; every call returns a deep copy.

    Copying a cached frame or model is 10-20x cheaper than building it (date parsing,
    Arrow-backed strings, parameter validation), and every case still gets its own object.
    """
    cached = cache(factory)

    @functools.wraps(factory)
    def fresh(*args: Any) -> Any:
        return copy.deepcopy(cached(*args))

    return fresh


@_fresh
def _tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "c", "d", "d"],
            "date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-02-09",
                    "2024-01-20",
                    "2024-01-05",
                    "2024-03-01",
                    "2024-04-11",
                    "2024-02-14",
                    "2024-05-02",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 7.5, 12.0, 30.0, 8.0, 9.0],
        }
    )


def _tx_plain() -> pd.DataFrame:
    return _tx()[["customer_id", "amount"]]


@_fresh
def _values() -> pd.Series:
    return pd.Series(
        [50.0, 20.0, 10.0, 8.0, 5.0, 4.0, 2.0, 1.0, 30.0, 6.0], index=list("abcdefghij")
    )


@_fresh
def _profit() -> pd.Series:
    return pd.Series(
        [120.0, 80.0, 40.0, 30.0, 20.0, 10.0, 5.0, 0.0, -5.0, -40.0], index=list("abcdefghij")
    )


@_fresh
def _rfm() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [1.0, 3.0, 9.0, 20.0, 40.0, 2.0, 15.0, 60.0, 5.0, 33.0],
            "frequency": [3, 2, 1, 5, 1, 4, 2, 1, 6, 2],
            "monetary": [60.0, 30.0, 10.0, 80.0, 5.0, 45.0, 22.0, 7.0, 99.0, 18.0],
        },
        index=list("abcdefghij"),
    )


@cache
def _summary_cached() -> pd.DataFrame:
    return ds.load_cdnow_summary()


@_fresh
def _summary(n: int = 8) -> pd.DataFrame:
    return _summary_cached().iloc[:n][["frequency", "recency", "T"]].copy()


@_fresh
def _spend(n: int = 60) -> pd.DataFrame:
    s = _summary_cached()
    return s.loc[s["frequency"] > 0, ["frequency", "monetary_value"]].iloc[:n].copy()


@_fresh
def _clv_data() -> pd.DataFrame:
    return _summary_cached().iloc[:8].copy()


@cache
def _donations_cached() -> pd.DataFrame:
    return ds.load_donations().rename(columns={"periods": "T"})


@_fresh
def _bgbb_data() -> pd.DataFrame:
    return _donations_cached().iloc[:8][["frequency", "recency", "T"]].copy()


@_fresh
def _holdout() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frequency": [0, 1, 2, 3],
            "recency": [0.0, 5.0, 20.0, 25.0],
            "T": [30.0, 30.0, 30.0, 30.0],
            "frequency_holdout": [0, 1, 2, 1],
            "duration_holdout": [10.0, 10.0, 10.0, 10.0],
        }
    )


@_fresh
def _tracking_log() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 1, 2, 3], "time": [0.0, 3.0, 1.0, 2.5]})


def _survivors() -> list[int]:
    return [1000, 631, 468, 382, 326, 289, 262, 241]


def _cohort_survivors() -> list[list[int]]:
    return [[1000, 631, 468], [1000, 631], [1000]]


@_fresh
def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {"r_score": [5, 1, 3, 4], "f_score": [5, 1, 2, 4], "m_score": [4, 2, 3, 5]},
        index=list("abcd"),
    )


@_fresh
def _segments() -> pd.Series:
    return pd.Series(pd.Categorical(list("TTLLTLLTLT"), ["T", "L"]), index=list("abcdefghij"))


def _order() -> cu.Order:
    return cu.Order(
        id="O1",
        customer_id="C1",
        currency="USD",
        ordered_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
    ).add_line(_line())


def _line() -> cu.OrderLine:
    return cu.OrderLine(product_id="P1", quantity=2, unit_price=mo.Money("4.25", "USD"))


def _customer() -> cu.Customer:
    return cu.Customer(id="C1", name="Ann", created_at=dt.datetime(2024, 1, 1, tzinfo=UTC))


def _contact() -> cu.Contact:
    return cu.Contact(id="P1", name="Bob")


def _rates() -> mo.ExchangeRates:
    return mo.ExchangeRates([("EUR", "USD", dt.date(2024, 1, 1), "1.10")])


# Models built from published parameters (no fitting): FHL 2005 BG/NBD and Gamma-Gamma,
# Pareto/NBD from the tracking_table docstring, BG/BB of Fader, Hardie & Shang (2010), sBG of
# Fader & Hardie (2007).
_TM_PARAMS: dict[str, dict[str, float]] = {
    "BetaGeoModel": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "ModifiedBetaGeoModel": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    "ParetoNBDModel": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},
    "BetaGeoBetaBinomModel": {"alpha": 1.204, "beta": 0.75, "gamma": 0.657, "delta": 2.783},
}


@_fresh
def _tm(name: str) -> Any:
    return getattr(va, name).from_params(**_TM_PARAMS[name])


@cache
def _fitted_cached(name: str) -> Any:
    if name == "BetaGeoBetaBinomModel":
        return va.BetaGeoBetaBinomModel().fit(_donations_cached(), weights_col="weights")
    if name == "GammaGammaModel":
        return va.GammaGammaModel().fit(_spend(100))
    if name in ("ShiftedBetaGeoModel", "BetaDiscreteWeibullModel"):
        return getattr(va, name)().fit(_survivors())
    return getattr(va, name)().fit(_summary(300))


def _fitted(name: str) -> Any:
    return copy.deepcopy(_fitted_cached(name))


@_fresh
def _gg() -> va.GammaGammaModel:
    return va.GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)


@_fresh
def _sbg() -> va.ShiftedBetaGeoModel:
    return va.ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)


@_fresh
def _bdw() -> va.BetaDiscreteWeibullModel:
    return va.BetaDiscreteWeibullModel.from_params(alpha=0.704, beta=1.182, c=1.0)


@_fresh
def _migration() -> va.CustomerMigrationModel:
    return va.CustomerMigrationModel.from_params(purchase_probabilities=[0.3, 0.2, 0.15, 0.05, 0])


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------

# Argument kinds and what the campaign does to them:
#   frame   pandas DataFrame: cell corruptions on every column + whole-frame corruptions
#   series  pandas Series indexed by id: value and index corruptions
#   num     a real-valued parameter;   int   an integer parameter;   choice   a str option
#   date    a date/datetime;           rs    random_state;           seq      list of numbers
#   obj     anything else (models, mappings, entities): wrong types only
#   text    a free text / id field


@dataclass
class Target:
    name: str
    call: Callable[..., Any]
    base: Callable[[], dict[str, Any]]
    kinds: dict[str, str]
    nan_ok: bool = False  # the valid result may hold NaN by design (documented)
    receiver: Callable[[], Any] | None = None
    mutates_receiver: bool = False  # fit-like methods
    slow: bool = False  # fits: fewer grid cells
    nan_cols: tuple[str, ...] = ()  # result columns documented to hold NaN
    # strips the parts of a result documented to be NaN (e.g. empty rows) before the check
    documented_nan: Callable[[Any], Any] | None = None


TARGETS: list[Target] = []


def target(
    name: str,
    call: Callable[..., Any],
    base: Callable[[], dict[str, Any]],
    kinds: dict[str, str] | None = None,
    **options: Any,
) -> None:
    TARGETS.append(Target(name, call, base, kinds or {}, **options))


def _kw(**kwargs: Any) -> Callable[[], dict[str, Any]]:
    """Baseline factory: callables in `kwargs` are called afresh for every case."""

    def build() -> dict[str, Any]:
        return {
            k: (v() if callable(v) and not isinstance(v, type) else v) for k, v in kwargs.items()
        }

    return build


def _method(cls_name: str, method: str) -> Callable[..., Any]:
    def call(__recv: Any, **kwargs: Any) -> Any:
        return getattr(__recv, method)(**kwargs)

    call.__name__ = f"{cls_name}.{method}"
    return call


# ---- crmcore (top level) and crmcore.money ----
target(
    "crmcore.money.Money",
    mo.Money,
    _kw(amount="19.99", currency="EUR"),
    {"amount": "num", "currency": "text"},
)
target("crmcore.money.Money.zero", mo.Money.zero, _kw(currency="EUR"), {"currency": "text"})
target(
    "crmcore.money.Money.from_minor_units",
    mo.Money.from_minor_units,
    _kw(minor_units=1999, currency="EUR"),
    {"minor_units": "int", "currency": "text"},
)
target(
    "crmcore.money.Money.round_to_minor_units",
    _method("Money", "round_to_minor_units"),
    _kw(rounding="ROUND_HALF_UP"),
    {"rounding": "choice"},
    receiver=lambda: mo.Money("1.005", "EUR"),
)
target(
    "crmcore.money.validate_currency_code",
    mo.validate_currency_code,
    _kw(code="EUR"),
    {"code": "text"},
)
target(
    "crmcore.money.ExchangeRates",
    mo.ExchangeRates,
    _kw(records=lambda: [("EUR", "USD", dt.date(2024, 1, 1), "1.10")]),
    {"records": "obj"},
)
target(
    "crmcore.money.ExchangeRates.add",
    _method("ExchangeRates", "add"),
    _kw(base="GBP", quote="USD", start_date=dt.date(2024, 1, 1), rate="1.25"),
    {"base": "text", "quote": "text", "start_date": "date", "rate": "num"},
    receiver=_rates,
)
target(
    "crmcore.money.ExchangeRates.rate",
    _method("ExchangeRates", "rate"),
    _kw(base="EUR", quote="USD", on=dt.date(2024, 6, 1)),
    {"base": "text", "quote": "text", "on": "date"},
    receiver=_rates,
)
target(
    "crmcore.money.ExchangeRates.convert",
    _method("ExchangeRates", "convert"),
    _kw(money=lambda: mo.Money("10", "EUR"), to_currency="USD", on=dt.date(2024, 6, 1)),
    {"money": "obj", "to_currency": "text", "on": "date"},
    receiver=_rates,
)

target(
    "crmcore.money.ExchangeRates.convert_frame",
    _method("ExchangeRates", "convert_frame"),
    _kw(
        frame=lambda: _tx().assign(currency="EUR"),
        to="USD",
        amount_col="amount",
        currency_col="currency",
        date_col="date",
    ),
    {"frame": "frame", "to": "text"},
    receiver=_rates,
)

# ---- crmcore.customers ----
_CUSTOMER_KW = _kw(
    id="C1",
    name="Ann",
    created_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
    kind="organization",
    acquisition_channel="web",
    parent_account_id=None,
    tags=lambda: ["vip"],
    contacts=lambda: [_contact()],
)
target(
    "crmcore.customers.Customer",
    cu.Customer,
    _CUSTOMER_KW,
    {
        "id": "text",
        "name": "text",
        "created_at": "date",
        "kind": "choice",
        "acquisition_channel": "text",
        "tags": "obj",
        "contacts": "obj",
    },
)
target(
    "crmcore.customers.Customer.with_tag",
    _method("Customer", "with_tag"),
    _kw(tag="vip"),
    {"tag": "text"},
    receiver=_customer,
)
target(
    "crmcore.customers.Customer.without_tag",
    _method("Customer", "without_tag"),
    _kw(tag="vip"),
    {"tag": "text"},
    receiver=lambda: _customer().with_tag("vip"),
)
target(
    "crmcore.customers.Customer.add_contact",
    _method("Customer", "add_contact"),
    _kw(contact=_contact),
    {"contact": "obj"},
    receiver=_customer,
)
target(
    "crmcore.customers.Customer.from_record",
    cu.Customer.from_record,
    _kw(
        record=lambda: {"id": "C1", "name": "Ann", "created_at": "2024-01-01T00:00:00+00:00"},
        field_map=None,
    ),
    {"record": "obj", "field_map": "obj"},
)
target(
    "crmcore.customers.Contact",
    cu.Contact,
    _kw(
        id="P1",
        name="Bob",
        email="bob@example.com",
        phone="+1 555 0100",
        buying_role="decision_maker",
        level="executive",
    ),
    {
        "id": "text",
        "name": "text",
        "email": "text",
        "phone": "text",
        "buying_role": "choice",
        "level": "choice",
    },
)
target(
    "crmcore.customers.Order",
    cu.Order,
    _kw(
        id="O1",
        customer_id="C1",
        ordered_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
        currency="USD",
        status="draft",
        lines=lambda: [_line()],
    ),
    {
        "id": "text",
        "customer_id": "text",
        "ordered_at": "date",
        "currency": "text",
        "status": "choice",
        "lines": "obj",
    },
)
target(
    "crmcore.customers.Order.transition_to",
    _method("Order", "transition_to"),
    _kw(status="confirmed"),
    {"status": "choice"},
    receiver=_order,
)
for _m in ("confirm", "cancel"):
    target(f"crmcore.customers.Order.{_m}", _method("Order", _m), _kw(), receiver=_order)
target(
    "crmcore.customers.Order.fulfil",
    _method("Order", "fulfil"),
    _kw(),
    receiver=lambda: _order().confirm(),
)
target(
    "crmcore.customers.Order.mark_returned",
    _method("Order", "mark_returned"),
    _kw(),
    receiver=lambda: _order().confirm().fulfil(),
)
target(
    "crmcore.customers.Order.add_line",
    _method("Order", "add_line"),
    _kw(line=_line),
    {"line": "obj"},
    receiver=_order,
)
target(
    "crmcore.customers.OrderLine",
    cu.OrderLine,
    _kw(
        product_id="P1",
        quantity=2,
        unit_price=lambda: mo.Money("4.25", "USD"),
        discount="0.1",
        unit_cost=lambda: mo.Money("2.00", "USD"),
    ),
    {
        "product_id": "text",
        "quantity": "num",
        "unit_price": "obj",
        "discount": "num",
        "unit_cost": "obj",
    },
)
target(
    "crmcore.customers.OrderStatus.can_transition_to",
    _method("OrderStatus", "can_transition_to"),
    _kw(target="confirmed"),
    {"target": "choice"},
    receiver=lambda: cu.OrderStatus.DRAFT,
)

# ---- crmcore.frames ----
target("crmcore.frames.as_narwhals", fr.as_narwhals, _kw(data=_tx, who="t"), {"data": "frame"})
target("crmcore.frames.to_pandas", fr.to_pandas, _kw(data=_tx, who="t"), {"data": "frame"})
target(
    "crmcore.frames.require_columns",
    fr.require_columns,
    _kw(data=_tx, columns=["customer_id", "date"], who="t"),
    {"data": "frame", "columns": "obj"},
)
target(
    "crmcore.frames.check_no_missing",
    fr.check_no_missing,
    _kw(data=_tx, columns=["customer_id", "amount"], who="t", id_col="customer_id"),
    {"data": "frame", "columns": "obj"},
)
target(
    "crmcore.frames.check_no_duplicates",
    fr.check_no_duplicates,
    _kw(data=_tx, columns=["customer_id", "date"], who="t"),
    {"data": "frame", "columns": "obj"},
)
target(
    "crmcore.frames.check_single_currency",
    fr.check_single_currency,
    _kw(data=lambda: _tx().assign(currency="EUR"), currency_col="currency", who="t"),
    {"data": "frame", "currency_col": "text"},
)
target(
    "crmcore.frames.check_param_choice",
    fr.check_param_choice,
    _kw(name="method", value="quantile", choices=["quantile", "fixed"], who="t"),
    {"value": "choice", "choices": "obj"},
)
target(
    "crmcore.frames.check_param_number",
    fr.check_param_number,
    _kw(name="share", value=0.5, who="t", low=0.0, high=1.0),
    {"value": "num", "low": "num", "high": "num"},
)
target(
    "crmcore.frames.coerce_datetime_column",
    fr.coerce_datetime_column,
    _kw(data=_tx, column="date", who="t"),
    {"data": "frame", "column": "text"},
)
target(
    "crmcore.frames.coerce_timestamp",
    fr.coerce_timestamp,
    _kw(value="2024-01-01", name="as_of", who="t"),
    {"value": "date"},
)
target(
    "crmcore.frames.format_ids",
    fr.format_ids,
    _kw(ids=lambda: ["a", "b"], limit=5),
    {"ids": "obj", "limit": "int"},
)
target(
    "crmcore.frames.nearest_name",
    fr.nearest_name,
    _kw(name="customer", candidates=lambda: ["customer_id", "date"]),
    {"name": "text", "candidates": "obj"},
)
target(
    "crmcore.frames.orders_to_frame",
    fr.orders_to_frame,
    _kw(orders=lambda: [_order()]),
    {"orders": "obj"},
)
target(
    "crmcore.frames.frame_to_orders",
    fr.frame_to_orders,
    _kw(frame=lambda: fr.orders_to_frame([_order()])),
    {"frame": "frame"},
)
target(
    "crmcore.frames.customers_to_frame",
    fr.customers_to_frame,
    _kw(customers=lambda: [_customer()]),
    {"customers": "obj"},
)
target(
    "crmcore.frames.frame_to_customers",
    fr.frame_to_customers,
    _kw(frame=lambda: fr.customers_to_frame([_customer()])),
    {"frame": "frame"},
)

# ---- crmcore.datasets ----
for _loader in ("load_cdnow_master", "load_cdnow_sample", "load_cdnow_summary", "load_donations"):
    target(f"crmcore.datasets.{_loader}", getattr(ds, _loader), _kw())
target(
    "crmcore.datasets.generate_transactions",
    ds.generate_transactions,
    _kw(
        n_customers=20,
        start="2024-01-01",
        end="2024-12-31",
        acquisition_share=0.5,
        purchase_rate_shape=0.8,
        purchases_per_year=3.0,
        dropout_per_year=0.4,
        spend_median=40.0,
        spend_sigma=0.8,
        currency="USD",
        random_state=1,
    ),
    {
        "n_customers": "int",
        "start": "date",
        "end": "date",
        "acquisition_share": "num",
        "purchase_rate_shape": "num",
        "purchases_per_year": "num",
        "dropout_per_year": "num",
        "spend_median": "num",
        "spend_sigma": "num",
        "currency": "text",
        "random_state": "rs",
    },
)

target(
    "crmcore.datasets.simulate_pipeline",
    ds.simulate_pipeline,
    _kw(
        n_opportunities=40,
        start="2024-01-01",
        end="2024-12-31",
        owners=("a", "b"),
        amount_median=1000.0,
        amount_sigma=0.5,
        amount_change_rate=0.1,
        close_weeks=(4, 20),
        random_state=1,
    ),
    {
        "n_opportunities": "int",
        "start": "date",
        "end": "date",
        "owners": "seq",
        "amount_median": "num",
        "amount_sigma": "num",
        "amount_change_rate": "num",
        "close_weeks": "seq",
        "random_state": "rs",
    },
    # probability is documented as NaN on every row (= the stage default)
    documented_nan=lambda r: r.drop(columns=["probability"]),
)
target(
    "crmcore.datasets.default_transition_matrix",
    ds.default_transition_matrix,
    _kw(pipeline=None),
    {"pipeline": "obj"},
)

# ---- crmcore.segmentation ----
target(
    "crmcore.segmentation.rfm_table",
    seg.rfm_table,
    _kw(transactions=_tx, as_of="2024-06-30"),
    {"transactions": "frame", "as_of": "date"},
)
target(
    "crmcore.segmentation.rfm_scores",
    seg.rfm_scores,
    _kw(table=_rfm, bins=3, ties="random", random_state=0, weights=(100, 10, 1)),
    {"table": "frame", "bins": "int", "ties": "choice", "random_state": "rs", "weights": "seq"},
)
target(
    "crmcore.segmentation.RFMScorer",
    lambda **kw: seg.RFMScorer(**kw).fit(_rfm()).transform(_rfm()),
    _kw(bins=3, method="quantile", binning="independent", weights=(100, 10, 1)),
    {"bins": "int", "method": "choice", "binning": "choice", "weights": "seq"},
)
target(
    "crmcore.segmentation.RFMScorer.fit",
    _method("RFMScorer", "fit"),
    _kw(table=_rfm),
    {"table": "frame"},
    receiver=lambda: seg.RFMScorer(bins=3),
    mutates_receiver=True,
)
target(
    "crmcore.segmentation.RFMScorer.transform",
    _method("RFMScorer", "transform"),
    _kw(table=_rfm),
    {"table": "frame"},
    receiver=lambda: seg.RFMScorer(bins=3).fit(_rfm()),
)
target(
    "crmcore.segmentation.segment_summary",
    seg.segment_summary,
    _kw(table=_rfm, segments=_segments),
    {"table": "frame", "segments": "series"},
)
target(
    "crmcore.segmentation.assign_segments",
    seg.assign_segments,
    _kw(scores=_scores, segment_map="rf-grid"),
    {"scores": "frame", "segment_map": "obj"},
)
target(
    "crmcore.segmentation.SegmentMap",
    seg.SegmentMap,
    _kw(
        names=["hi", "lo"],
        masks=lambda: np.array([[[True, False], [False, False]], [[False, True], [True, True]]]),
        dims=("r", "f"),
        default="Other",
    ),
    {"names": "obj", "masks": "obj", "dims": "obj"},
)
target(
    "crmcore.segmentation.SegmentMap.from_ranges",
    seg.SegmentMap.from_ranges,
    _kw(rules=lambda: {"hi": {"r": (4, 5), "f": (4, 5)}}, dims=("r", "f"), bins=5),
    {"rules": "obj", "dims": "obj", "bins": "int"},
)
target(
    "crmcore.segmentation.SegmentMap.from_codes",
    seg.SegmentMap.from_codes,
    _kw(codes=lambda: {"hi": ["55", "54"]}, dims=("r", "f"), bins=5),
    {"codes": "obj", "dims": "obj", "bins": "int"},
)
target(
    "crmcore.segmentation.SegmentMap.from_grid",
    seg.SegmentMap.from_grid,
    _kw(
        grid=lambda: {
            5: ["a", "a", "b", "b", "b"],
            4: ["a", "a", "b", "b", "b"],
            3: ["c"] * 5,
            2: ["c"] * 5,
            1: ["d"] * 5,
        },
        dims=("r", "f"),
    ),
    {"grid": "obj", "dims": "obj"},
)
target(
    "crmcore.segmentation.SegmentMap.lookup",
    _method("SegmentMap", "lookup"),
    _kw(r=lambda: [5, 1], f=lambda: [5, 1]),
    {"r": "obj", "f": "obj"},
    receiver=lambda: seg.SEGMENT_MAPS["rf-grid"],
)
target(
    "crmcore.segmentation.SegmentMap.coverage",
    _method("SegmentMap", "coverage"),
    _kw(),
    receiver=lambda: seg.SEGMENT_MAPS["rf-grid"],
)
target(
    "crmcore.segmentation.SegmentCoverage",
    seg.SegmentCoverage,
    _kw(unreachable=(), uncovered=(), overlaps=()),
    {},
)
target(
    "crmcore.segmentation.abc_tiers",
    seg.abc_tiers,
    _kw(values=_values, thresholds=(0.8, 0.95), boundary="inclusive", labels=("A", "B", "C")),
    {"values": "series", "thresholds": "seq", "boundary": "choice", "labels": "obj"},
)
target("crmcore.segmentation.gini", seg.gini, _kw(values=_values), {"values": "series"})
target(
    "crmcore.segmentation.lorenz_curve", seg.lorenz_curve, _kw(values=_values), {"values": "series"}
)
target(
    "crmcore.segmentation.top_share",
    seg.top_share,
    _kw(values=_values, share=0.2),
    {"values": "series", "share": "num"},
)
target(
    "crmcore.segmentation.whale_curve", seg.whale_curve, _kw(profit=_profit), {"profit": "series"}
)
target(
    "crmcore.segmentation.migration_matrix",
    seg.migration_matrix,
    _kw(
        before=lambda: pd.Series(["A", "A", "B", "C"], index=[1, 2, 3, 4]),
        after=lambda: pd.Series(["A", "B", "B", "A"], index=[1, 2, 3, 5]),
        normalize="row",
    ),
    {"before": "series", "after": "series", "normalize": "choice"},
    # normalize="row": a segment row with no customers is all NaN (0/0 shares, documented)
    documented_nan=lambda r: r.loc[~r.isna().all(axis=1)],
)
target(
    "crmcore.segmentation.profitability_tiers",
    seg.profitability_tiers,
    _kw(profit=_profit, shares=(0.1, 0.3), labels=("platinum", "gold", "iron", "lead")),
    {"profit": "series", "shares": "seq", "labels": "obj"},
)
target(
    "crmcore.segmentation.pyramid_tiers",
    seg.pyramid_tiers,
    _kw(values=_values, inactive=["x"], prospects=["y"], shares=(0.1, 0.2, 0.3, 0.4)),
    {"values": "series", "inactive": "obj", "prospects": "obj", "shares": "seq"},
    nan_cols=("value",),
)  # inactive customers and prospects have no value (documented)
target(
    "crmcore.segmentation.quantile_tiers",
    seg.quantile_tiers,
    _kw(values=_values, bins=4, ties="random", random_state=0),
    {"values": "series", "bins": "int", "ties": "choice", "random_state": "rs"},
)
target(
    "crmcore.segmentation.relationship_type",
    seg.relationship_type,
    _kw(
        transactions=_tx,
        contracts=["a"],
        cv_threshold=0.5,
        min_purchase_days=2,
        size_threshold=15.0,
    ),
    {
        "transactions": "frame",
        "contracts": "obj",
        "cv_threshold": "num",
        "min_purchase_days": "int",
        "size_threshold": "num",
    },
    nan_cols=("gap_cv",),
)  # NaN below 3 purchase days (documented)

# ---- crmcore.value: transaction models ----
for _cls in _TM_PARAMS:
    _data = _bgbb_data if _cls == "BetaGeoBetaBinomModel" else _summary
    _q = f"crmcore.value.{_cls}"
    _recv = (lambda c: lambda: _tm(c))(_cls)

    def _fit_small(_c: str = _cls, **kw: Any) -> Any:
        data = _donations_cached() if _c == "BetaGeoBetaBinomModel" else _summary(40)
        wcol = "weights" if _c == "BetaGeoBetaBinomModel" else None
        return getattr(va, _c)(**kw).fit(data, weights_col=wcol)

    target(
        _q,
        _fit_small,
        _kw(penalizer=0.0, tol=1e-8, max_iter=500, initial_params=None),
        {"penalizer": "num", "tol": "num", "max_iter": "int", "initial_params": "obj"},
        slow=True,
    )
    if _cls == "BetaGeoBetaBinomModel":
        _fitdata: Callable[[], Any] = lambda: _donations_cached().copy()  # noqa: E731
        _fitkw = _kw(data=_fitdata, weights_col="weights")
    else:
        _fitkw = _kw(data=lambda: _summary(40), weights_col=None)
    target(
        f"{_q}.fit",
        _method(_cls, "fit"),
        _fitkw,
        {"data": "frame"},
        receiver=(lambda c: lambda: getattr(va, c)(tol=1e-8, max_iter=500))(_cls),
        mutates_receiver=True,
        slow=True,
    )
    target(
        f"{_q}.from_params",
        (lambda c: lambda **kw: getattr(va, c).from_params(**kw))(_cls),
        _kw(time_unit="W", **_TM_PARAMS[_cls]),
        {"time_unit": "choice", **{p: "num" for p in _TM_PARAMS[_cls]}},
    )
    target(
        f"{_q}.expected_purchases",
        _method(_cls, "expected_purchases"),
        _kw(data=_data, t=10.0),
        {"data": "frame", "t": "num"},
        receiver=_recv,
    )
    target(
        f"{_q}.probability_alive",
        _method(_cls, "probability_alive"),
        _kw(data=_data, t=2.0),
        {"data": "frame", "t": "num"},
        receiver=_recv,
    )
    target(
        f"{_q}.purchase_probability",
        _method(_cls, "purchase_probability"),
        _kw(data=_data, n=1, t=5.0),
        {"data": "frame", "n": "int", "t": "num"},
        receiver=_recv,
    )
    target(
        f"{_q}.expected_purchases_new_customer",
        _method(_cls, "expected_purchases_new_customer"),
        _kw(t=lambda: [1.0, 5.0, 10.0]),
        {"t": "seq"},
        receiver=_recv,
    )
    target(
        f"{_q}.population_purchase_probability",
        _method(_cls, "population_purchase_probability"),
        _kw(n=lambda: [0, 1, 2], t=6.0),
        {"n": "seq", "t": "num"},
        receiver=_recv,
    )
    target(
        f"{_q}.tracking_curve",
        _method(_cls, "tracking_curve"),
        _kw(acquisition_times=lambda: [0.0, 1.0, 2.0, 2.0], times=lambda: [3.0, 4.0, 6.0]),
        {"acquisition_times": "seq", "times": "seq"},
        receiver=_recv,
    )
    target(
        f"{_q}.summary",
        _method(_cls, "summary"),
        _kw(alpha=0.05),
        {"alpha": "num"},
        receiver=(lambda c: lambda: _fitted(c))(_cls),
    )
    target(f"{_q}.to_lifetimes", _method(_cls, "to_lifetimes"), _kw(), receiver=_recv)
    target(
        f"{_q}.from_lifetimes",
        (lambda c: lambda **kw: getattr(va, c).from_lifetimes(**kw))(_cls),
        (lambda c: _kw(fitter=lambda: _tm(c).to_lifetimes(), time_unit="W"))(_cls),
        {"fitter": "obj", "time_unit": "choice"},
    )
for _cls in (*_TM_PARAMS, "GammaGammaModel"):
    target(
        f"crmcore.value.{_cls}.fit_notes",
        _method(_cls, "fit_notes"),
        _kw(),
        receiver=(lambda c: lambda: _fitted(c))(_cls),
    )
for _name, _recv_fn in (
    ("ShiftedBetaGeoModel", lambda: _sbg()),
    ("BetaDiscreteWeibullModel", lambda: _bdw()),
    (
        "CustomerMigrationModel",
        lambda: va.CustomerMigrationModel(n_states=3).fit_transactions(_tx(), as_of="2024-06-30"),
    ),
):
    target(
        f"crmcore.value.{_name}.fit_notes", _method(_name, "fit_notes"), _kw(), receiver=_recv_fn
    )
target(
    "crmcore.value.ParetoNBDModel.dert",
    _method("ParetoNBDModel", "dert"),
    _kw(data=_summary, discount_rate=0.01),
    {"data": "frame", "discount_rate": "num"},
    receiver=lambda: _tm("ParetoNBDModel"),
)

# ---- Gamma-Gamma ----
target(
    "crmcore.value.GammaGammaModel",
    lambda **kw: va.GammaGammaModel(**kw).fit(_spend()),
    _kw(penalizer=0.0, tol=1e-8, max_iter=500, initial_params=None),
    {"penalizer": "num", "tol": "num", "max_iter": "int", "initial_params": "obj"},
    slow=True,
)
target(
    "crmcore.value.GammaGammaModel.fit",
    _method("GammaGammaModel", "fit"),
    _kw(data=_spend),
    {"data": "frame"},
    receiver=lambda: va.GammaGammaModel(tol=1e-8),
    mutates_receiver=True,
    slow=True,
)
target(
    "crmcore.value.GammaGammaModel.from_params",
    va.GammaGammaModel.from_params,
    _kw(p=6.25, q=3.74, v=15.44),
    {"p": "num", "q": "num", "v": "num"},
)
target(
    "crmcore.value.GammaGammaModel.conditional_expected_average_spend",
    _method("GammaGammaModel", "conditional_expected_average_spend"),
    _kw(data=lambda: _spend(8)),
    {"data": "frame"},
    receiver=_gg,
)
target(
    "crmcore.value.GammaGammaModel.expected_average_spend",
    _method("GammaGammaModel", "expected_average_spend"),
    _kw(),
    receiver=_gg,
)
target(
    "crmcore.value.GammaGammaModel.summary",
    _method("GammaGammaModel", "summary"),
    _kw(alpha=0.05),
    {"alpha": "num"},
    receiver=lambda: _fitted("GammaGammaModel"),
)
target(
    "crmcore.value.GammaGammaModel.to_lifetimes",
    _method("GammaGammaModel", "to_lifetimes"),
    _kw(),
    receiver=_gg,
)
target(
    "crmcore.value.GammaGammaModel.from_lifetimes",
    va.GammaGammaModel.from_lifetimes,
    _kw(fitter=lambda: _gg().to_lifetimes()),
    {"fitter": "obj"},
)

# ---- BTYD functions ----
target(
    "crmcore.value.btyd_summary",
    va.btyd_summary,
    _kw(
        transactions=_tx,
        as_of="2024-06-30",
        time_unit="W",
        unit_multiplier=1,
        amount_col="amount",
        calibration_end="2024-03-31",
    ),
    {
        "transactions": "frame",
        "as_of": "date",
        "time_unit": "choice",
        "unit_multiplier": "num",
        "calibration_end": "date",
    },
)
target(
    "crmcore.value.customer_lifetime_value",
    va.customer_lifetime_value,
    _kw(
        transaction_model=lambda: va.BetaGeoModel.from_params(
            time_unit="W", **_TM_PARAMS["BetaGeoModel"]
        ),
        spend_model=_gg,
        data=_clv_data,
        horizon=12,
        horizon_unit="M",
        discount_rate=0.01,
        margin=0.5,
    ),
    {
        "transaction_model": "obj",
        "spend_model": "obj",
        "data": "frame",
        "horizon": "int",
        "horizon_unit": "choice",
        "discount_rate": "num",
        "margin": "num",
    },
)
target(
    "crmcore.value.calibration_holdout_table",
    va.calibration_holdout_table,
    _kw(model=lambda: _tm("ParetoNBDModel"), data=_holdout, max_frequency=2),
    {"model": "obj", "data": "frame", "max_frequency": "int"},
)
target(
    "crmcore.value.period_transactions",
    va.period_transactions,
    _kw(
        model=lambda: _tm("BetaGeoBetaBinomModel"),
        data=lambda: _donations_cached().copy(),
        weights_col="weights",
        max_frequency=6,
    ),
    {"model": "obj", "data": "frame", "max_frequency": "int"},
)
target(
    "crmcore.value.tracking_table",
    va.tracking_table,
    _kw(model=lambda: _tm("ParetoNBDModel"), transactions=_tracking_log, times=lambda: [2.0, 4.0]),
    {"model": "obj", "transactions": "frame", "times": "seq"},
)
target(
    "crmcore.value.probability_alive_path",
    va.probability_alive_path,
    _kw(model=lambda: _tm("BetaGeoModel"), transactions=_tx, customer_id="c", time_unit="W"),
    {
        "model": "obj",
        "transactions": "frame",
        "customer_id": "text",
        "n_periods": "int",
        "time_unit": "choice",
        "as_of": "date",
    },
)
for _sim, _pn in (
    ("simulate_bgnbd", "BetaGeoModel"),
    ("simulate_mbgnbd", "ModifiedBetaGeoModel"),
    ("simulate_pareto_nbd", "ParetoNBDModel"),
    ("simulate_bgbb", "BetaGeoBetaBinomModel"),
):
    _T = 6 if _sim == "simulate_bgbb" else 10.0
    target(
        f"crmcore.value.{_sim}",
        getattr(va, _sim),
        _kw(**_TM_PARAMS[_pn], T=_T, n_customers=30, random_state=1, output="summary"),
        {
            **{p: "num" for p in _TM_PARAMS[_pn]},
            "T": "num",
            "n_customers": "int",
            "random_state": "rs",
            "output": "choice",
        },
    )

# ---- contractual: sBG, BdW, residual value ----
for _cls, _factory, _params in (
    ("ShiftedBetaGeoModel", _sbg, {"alpha": 0.704, "beta": 1.182}),
    ("BetaDiscreteWeibullModel", _bdw, {"alpha": 0.704, "beta": 1.182, "c": 1.0}),
):
    _q = f"crmcore.value.{_cls}"
    target(
        _q,
        (lambda c: lambda **kw: getattr(va, c)(**kw).fit(_survivors()))(_cls),
        _kw(tol=1e-8, max_iter=300),
        {"tol": "num", "max_iter": "int"},
        slow=True,
    )
    target(
        f"{_q}.fit",
        _method(_cls, "fit"),
        _kw(survivors=_survivors, layout="age"),
        {"survivors": "seq", "layout": "choice", "n_periods": "int"},
        receiver=(lambda c: lambda: getattr(va, c)())(_cls),
        mutates_receiver=True,
        slow=True,
    )
    target(
        f"{_q}.from_params",
        getattr(va, _cls).from_params,
        _kw(**_params),
        {p: "num" for p in _params},
    )
    for _m in ("survival", "retention_rate", "churn_probability"):
        target(
            f"{_q}.{_m}",
            _method(_cls, _m),
            _kw(t=lambda: [1, 2, 3]),
            {"t": "seq"},
            receiver=_factory,
        )
    target(
        f"{_q}.discounted_expected_lifetime",
        _method(_cls, "discounted_expected_lifetime"),
        _kw(discount_rate=0.1),
        {"discount_rate": "num"},
        receiver=_factory,
    )
    target(
        f"{_q}.discounted_expected_residual_lifetime",
        _method(_cls, "discounted_expected_residual_lifetime"),
        _kw(discount_rate=0.1, renewals=2),
        {"discount_rate": "num", "renewals": "int"},
        receiver=_factory,
    )
    target(
        f"{_q}.project",
        _method(_cls, "project"),
        _kw(n_periods=5, alpha=0.05, method="delta"),
        {"n_periods": "int", "alpha": "num", "method": "choice"},
        receiver=(lambda c: lambda: _fitted(c))(_cls),
        nan_cols=("retention_rate", "retention_lower", "retention_upper"),
    )  # undefined at t=0
    target(
        f"{_q}.residual_value",
        _method(_cls, "residual_value"),
        _kw(survivors=_cohort_survivors, discount_rate=0.1, margin=100.0, layout="age"),
        {"survivors": "seq", "discount_rate": "num", "margin": "num", "layout": "choice"},
        receiver=_factory,
    )
    target(
        f"{_q}.summary",
        _method(_cls, "summary"),
        _kw(alpha=0.05),
        {"alpha": "num"},
        receiver=(lambda c: lambda: _fitted(c))(_cls),
    )
target(
    "crmcore.value.aggregate_retention_residual_value",
    va.aggregate_retention_residual_value,
    _kw(survivors=_cohort_survivors, discount_rate=0.1, margin=100.0, layout="age"),
    {"survivors": "seq", "discount_rate": "num", "margin": "num", "layout": "choice"},
)
target(
    "crmcore.value.customer_base_residual_value",
    va.customer_base_residual_value,
    _kw(survivors=_cohort_survivors, alpha=0.704, beta=1.182, discount_rate=0.1, margin=100.0),
    {"survivors": "seq", "alpha": "num", "beta": "num", "discount_rate": "num", "margin": "num"},
)
target(
    "crmcore.value.discounted_expected_lifetime",
    va.discounted_expected_lifetime,
    _kw(alpha=0.704, beta=1.182, discount_rate=0.1),
    {"alpha": "num", "beta": "num", "discount_rate": "num"},
)
target(
    "crmcore.value.discounted_expected_residual_lifetime",
    va.discounted_expected_residual_lifetime,
    _kw(alpha=0.704, beta=1.182, discount_rate=0.1, renewals=2),
    {"alpha": "num", "beta": "num", "discount_rate": "num", "renewals": "int"},
)

# ---- economics, migration chain, cohorts, profitability ----
target(
    "crmcore.value.CustomerMigrationModel",
    lambda **kw: va.CustomerMigrationModel(**kw).fit(
        va.purchase_history(_tx(), as_of="2024-06-30")
    ),
    _kw(n_states=3),
    {"n_states": "int"},
)
target(
    "crmcore.value.CustomerMigrationModel.from_params",
    va.CustomerMigrationModel.from_params,
    _kw(purchase_probabilities=lambda: [0.3, 0.2, 0.15, 0.05, 0.0]),
    {"purchase_probabilities": "seq"},
)
target(
    "crmcore.value.CustomerMigrationModel.fit",
    _method("CustomerMigrationModel", "fit"),
    _kw(history=lambda: va.purchase_history(_tx(), as_of="2024-06-30")),
    {"history": "frame"},
    receiver=lambda: va.CustomerMigrationModel(n_states=3),
    mutates_receiver=True,
)
target(
    "crmcore.value.CustomerMigrationModel.fit_transactions",
    _method("CustomerMigrationModel", "fit_transactions"),
    _kw(transactions=_tx, period="M", as_of="2024-06-30"),
    {"transactions": "frame", "period": "choice", "as_of": "date"},
    receiver=lambda: va.CustomerMigrationModel(n_states=3),
    mutates_receiver=True,
)
target(
    "crmcore.value.CustomerMigrationModel.summary",
    _method("CustomerMigrationModel", "summary"),
    _kw(alpha=0.05),
    {"alpha": "num"},
    receiver=lambda: va.CustomerMigrationModel(n_states=3).fit_transactions(
        _tx(), as_of="2024-06-30"
    ),
)
target(
    "crmcore.value.CustomerMigrationModel.fundamental_matrix",
    _method("CustomerMigrationModel", "fundamental_matrix"),
    _kw(discount_rate=0.2),
    {"discount_rate": "num"},
    receiver=_migration,
)
target(
    "crmcore.value.CustomerMigrationModel.state_values",
    _method("CustomerMigrationModel", "state_values"),
    _kw(discount_rate=0.2, margin=40.0, marketing_cost=lambda: [4.0, 4.0, 4.0, 4.0, 0.0]),
    {"discount_rate": "num", "margin": "num", "marketing_cost": "seq"},
    receiver=_migration,
)
target(
    "crmcore.value.CustomerMigrationModel.project",
    _method("CustomerMigrationModel", "project"),
    _kw(n_periods=4, initial=lambda: [100.0, 0.0, 0.0, 0.0, 0.0]),
    {"n_periods": "int", "initial": "seq"},
    receiver=_migration,
)
target(
    "crmcore.value.purchase_history",
    va.purchase_history,
    _kw(transactions=_tx, period="M", as_of="2024-06-30"),
    {"transactions": "frame", "period": "choice", "as_of": "date"},
)
target(
    "crmcore.value.cohort_table",
    va.cohort_table,
    _kw(
        transactions=_tx,
        cohort="M",
        period="M",
        metric="revenue",
        as_of="2024-06-30",
        relative=False,
    ),
    {
        "transactions": "frame",
        "cohort": "choice",
        "period": "choice",
        "metric": "choice",
        "as_of": "date",
        "relative": "obj",
    },
    nan_ok=True,
)  # the cohort triangle is NaN below the diagonal by design
target(
    "crmcore.value.cohort_churn_rates",
    va.cohort_churn_rates,
    _kw(table=lambda: pd.DataFrame([[100.0, 80.0, 60.0], [90.0, 70.0, 50.0]], columns=[0, 1, 2])),
    {"table": "frame"},
    # documented: a None/NaN cell is an unobserved cell and the churn rates next to it are
    # NaN (the oracle does not count None as a non-finite input); infinities still fail
    documented_nan=lambda r: r.fillna(0.0),
)
target(
    "crmcore.value.constant_retention_clv",
    va.constant_retention_clv,
    _kw(margin=100.0, retention=0.8, discount_rate=0.1, timing="end", growth=0.0, horizon=5),
    {
        "margin": "num",
        "retention": "num",
        "discount_rate": "num",
        "timing": "choice",
        "growth": "num",
        "horizon": "int",
    },
)
target(
    "crmcore.value.margin_multiple",
    va.margin_multiple,
    _kw(retention=0.8, discount_rate=0.1),
    {"retention": "num", "discount_rate": "num"},
)
_CE = {
    "margin": 100.0,
    "acquisition_ceiling": 0.5,
    "acquisition_k": 0.1,
    "retention_ceiling": 0.8,
    "retention_k": 0.05,
    "discount_rate": 0.15,
}
target(
    "crmcore.value.customer_equity",
    va.customer_equity,
    _kw(acquisition_spend=10.0, retention_spend=20.0, **_CE),
    {"acquisition_spend": "num", "retention_spend": "num", **{k: "num" for k in _CE}},
)
target(
    "crmcore.value.optimal_customer_equity",
    va.optimal_customer_equity,
    _kw(**_CE),
    {k: "num" for k in _CE},
)
target(
    "crmcore.value.npv_by_retention",
    va.npv_by_retention,
    _kw(
        profit_by_tenure=lambda: [10.0, 12.0, 14.0],
        retention=lambda: [0.5, 0.8, 0.9],
        discount_rate=0.1,
        acquisition_cost=5.0,
    ),
    {
        "profit_by_tenure": "seq",
        "retention": "seq",
        "discount_rate": "num",
        "acquisition_cost": "num",
    },
)
target(
    "crmcore.value.retention_profit_impact",
    va.retention_profit_impact,
    _kw(
        profit_by_tenure=lambda: [10.0] * 10,
        discount_rate=0.1,
        retention=0.9,
        retention_change=0.05,
        acquisition_cost=2.0,
        customers=100.0,
    ),
    {
        "profit_by_tenure": "seq",
        "discount_rate": "num",
        "retention": "num",
        "retention_change": "num",
        "acquisition_cost": "num",
        "customers": "num",
    },
    # relative_change = change / |baseline| is NaN where the baseline is 0 (documented)
    documented_nan=lambda r: [
        r.drop(index="relative_change"),
        r.loc[["relative_change"], r.loc["baseline"] != 0],
    ],
)
target(
    "crmcore.value.tenure_profit_profile",
    va.tenure_profit_profile,
    _kw(years=5, base_profit=10.0, growth=0.05, cost_savings=1.0, referrals=0.5, price_premium=0.2),
    {
        "years": "int",
        "base_profit": "num",
        "growth": "num",
        "cost_savings": "num",
        "referrals": "num",
        "price_premium": "num",
    },
)
target(
    "crmcore.value.customer_profitability",
    va.customer_profitability,
    _kw(
        transactions=_tx_plain,
        cogs_rate=0.6,
        cost_per_order=5.0,
        service_costs=lambda: pd.Series({"b": 40.0, "c": 10.0}),
        acquisition_costs=8.0,
    ),
    {
        "transactions": "frame",
        "cogs_rate": "num",
        "cost_per_order": "num",
        "service_costs": "series",
        "acquisition_costs": "num",
    },
)

# ---- crmcore.pipeline (issue 9) ----
# A small simulated stage history (200 deals, ~1,200 events, salesforce_pipeline) with the
# probability overrides written out as the stage defaults (NaN there means "the default", and
# a NaN in the baseline would switch off the silent-NaN check for every case of the target).
_PP_AS_OF = "2025-06-30"


def _sf() -> Any:
    return pp.salesforce_pipeline()


@_fresh
def _ph() -> pd.DataFrame:
    h = ds.simulate_pipeline(200, random_state=1)
    h["probability"] = h["stage"].map({s.name: s.probability for s in _sf().stages})
    return h


@_fresh
def _psnap() -> pd.DataFrame:
    snap = pp.snapshot(_ph(), _PP_AS_OF, pipeline=_sf())
    return snap[["opportunity_id", "stage", "amount", "expected_close", "probability", "owner"]]


@_fresh
def _pmodel() -> Any:
    return pp.PipelineMarkovModel(step="W").fit(_ph(), _sf(), as_of=_PP_AS_OF)


@_fresh
def _pforecast() -> Any:
    return pp.forecast_revenue(
        _psnap(), period_start="2025-07-01", period_end="2025-09-30", grid_step=100.0
    )


def _pstages() -> list[Any]:
    return list(pp.simple_pipeline().stages)


def _popp() -> Any:
    return pp.Opportunity(
        id="O-1",
        customer_id="C-9",
        name="Fleet",
        amount=mo.Money("100", "EUR"),
        stage="Lead",
        expected_close=dt.date(2024, 3, 1),
        owner="ann",
        created_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
    )


def _pchange() -> Any:
    return pp.StageChange(
        stage="Qualified",
        at=dt.datetime(2024, 1, 9, tzinfo=UTC),
        amount=mo.Money("120", "EUR"),
        expected_close=dt.date(2024, 3, 15),
    )


@_fresh
def _psalesforce() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "OpportunityId": ["0061x01", "0061x01", "0061x02"],
            "StageName": ["Prospecting", "Closed Won", "Negotiation/Review"],
            "CreatedDate": [
                "2024-01-03T09:15:00.000+0000",
                "2024-02-20T16:40:00.000+0000",
                "2024-02-01T08:00:00.000+0000",
            ],
            "Amount": [15000.0, 14000.0, 8000.0],
            "CloseDate": ["2024-03-31", "2024-02-20", "2024-04-15"],
            "Probability": [10, 100, 90],
        }
    )


def _podoo_pipeline() -> Any:
    return pp.Pipeline(
        stages=[
            pp.Stage(name="New", order=1, probability=0.1, outcome="open"),
            pp.Stage(name="Qualified", order=2, probability=0.3, outcome="open"),
            pp.Stage(name="Proposition", order=3, probability=0.6, outcome="open"),
            pp.Stage(name="Won", order=4, probability=1.0, outcome="won"),
            pp.Stage(name="Lost", order=5, probability=0.0, outcome="lost"),
        ]
    )


@_fresh
def _podoo() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [42, 42, 42, 43],
            "stage": ["New", "Proposition", "Won", "Qualified"],
            "date": [
                "2024-01-08 10:00:00",
                "2024-01-30 14:30:00",
                "2024-02-12 09:00:00",
                "2024-02-01 08:00:00",
            ],
            "expected_revenue": [5000.0, 6500.0, 6500.0, 1200.0],
            "date_deadline": ["2024-03-01", "2024-02-28", "2024-02-28", "2024-04-30"],
            "probability": [10.0, 55.0, 100.0, 30.0],
        }
    )


@_fresh
def _popps_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["Lead", "Proposal", "Won", "Lost", "Lead"],
            "amount": [10.0, 20.0, 40.0, 80.0, 5.0],
            "forecast_category": [None, None, None, None, "Commit"],
            "expected_close": pd.to_datetime(["2024-02-01"] * 5),
            "owner": ["x", "x", "y", "y", "x"],
        }
    )


target(
    "crmcore.pipeline.Stage",
    pp.Stage,
    _kw(name="Lead", order=1, probability=0.1, outcome="open", forecast_category=None),
    {
        "name": "text",
        "order": "int",
        "probability": "num",
        "outcome": "choice",
        "forecast_category": "choice",
    },
)
target(
    "crmcore.pipeline.Pipeline",
    pp.Pipeline,
    _kw(stages=_pstages, transitions=lambda: {"Lead": ["Qualified", "Lost"]}),
    {"stages": "obj", "transitions": "obj"},
)
target(
    "crmcore.pipeline.Pipeline.allows",
    _method("Pipeline", "allows"),
    _kw(from_name="Lead", to_name="Qualified"),
    {"from_name": "text", "to_name": "text"},
    receiver=pp.simple_pipeline,
)
target(
    "crmcore.pipeline.Pipeline.stage",
    _method("Pipeline", "stage"),
    _kw(name="Lead"),
    {"name": "text"},
    receiver=pp.simple_pipeline,
)
target("crmcore.pipeline.salesforce_pipeline", pp.salesforce_pipeline, _kw())
target("crmcore.pipeline.simple_pipeline", pp.simple_pipeline, _kw())
target(
    "crmcore.pipeline.StageChange",
    pp.StageChange,
    _kw(
        stage="Qualified",
        at=dt.datetime(2024, 1, 9, tzinfo=UTC),
        amount=mo.Money("120", "EUR"),
        expected_close=dt.date(2024, 3, 15),
        probability=0.4,
    ),
    {
        "stage": "text",
        "at": "date",
        "amount": "obj",
        "expected_close": "date",
        "probability": "num",
    },
)
target(
    "crmcore.pipeline.Opportunity",
    pp.Opportunity,
    _kw(
        id="O-1",
        customer_id="C-9",
        name="Fleet",
        amount=mo.Money("100", "EUR"),
        stage="Lead",
        expected_close=dt.date(2024, 3, 1),
        owner="ann",
        created_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
        probability=0.2,
        forecast_category="Commit",
        lost_reason=None,
        history=lambda: (_pchange(),),
    ),
    {
        "id": "text",
        "customer_id": "text",
        "name": "text",
        "amount": "obj",
        "stage": "text",
        "expected_close": "date",
        "owner": "text",
        "created_at": "date",
        "probability": "num",
        "forecast_category": "choice",
        "lost_reason": "text",
        "history": "obj",
    },
)
target(
    "crmcore.pipeline.Opportunity.move_to",
    _method("Opportunity", "move_to"),
    _kw(
        stage="Qualified",
        at=dt.datetime(2024, 1, 9, tzinfo=UTC),
        pipeline=pp.simple_pipeline,
        amount=mo.Money("120", "EUR"),
        expected_close=dt.date(2024, 3, 15),
        probability=0.4,
    ),
    {
        "stage": "text",
        "at": "date",
        "pipeline": "obj",
        "amount": "obj",
        "expected_close": "date",
        "probability": "num",
    },
    receiver=_popp,
)
target(
    "crmcore.pipeline.Opportunity.close_won",
    _method("Opportunity", "close_won"),
    _kw(at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=pp.simple_pipeline),
    {"at": "date", "pipeline": "obj"},
    receiver=_popp,
)
target(
    "crmcore.pipeline.Opportunity.close_lost",
    _method("Opportunity", "close_lost"),
    _kw(at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=pp.simple_pipeline, reason="price"),
    {"at": "date", "pipeline": "obj", "reason": "text"},
    receiver=_popp,
)
target(
    "crmcore.pipeline.Opportunity.check",
    _method("Opportunity", "check"),
    _kw(pipeline=pp.simple_pipeline),
    {"pipeline": "obj"},
    receiver=_popp,
)
target(
    "crmcore.pipeline.Opportunity.events", _method("Opportunity", "events"), _kw(), receiver=_popp
)
target(
    "crmcore.pipeline.Opportunity.last_open_stage",
    _method("Opportunity", "last_open_stage"),
    _kw(pipeline=pp.simple_pipeline),
    {"pipeline": "obj"},
    receiver=lambda: _popp().close_lost(
        at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=pp.simple_pipeline()
    ),
)
target(
    "crmcore.pipeline.Opportunity.state_at",
    _method("Opportunity", "state_at"),
    _kw(at=dt.datetime(2024, 1, 20, tzinfo=UTC)),
    {"at": "date"},
    receiver=lambda: _popp().move_to(
        "Qualified", at=dt.datetime(2024, 1, 9, tzinfo=UTC), pipeline=pp.simple_pipeline()
    ),
)
target(
    "crmcore.pipeline.read_history",
    pp.read_history,
    _kw(history=_ph, pipeline=_sf, who="read_history"),
    {"history": "frame", "pipeline": "obj", "who": "text"},
    # probability is the override in force; NaN = the stage default (documented)
    documented_nan=lambda r: r.drop(columns=["probability"]),
)
target(
    "crmcore.pipeline.snapshot",
    pp.snapshot,
    _kw(history=_ph, as_of=_PP_AS_OF, pipeline=_sf),
    {"history": "frame", "as_of": "date", "pipeline": "obj"},
    nan_cols=("probability_override",),  # NaN = no override (documented)
)
target(
    "crmcore.pipeline.history_to_opportunities",
    pp.history_to_opportunities,
    _kw(history=_ph, pipeline=_sf, currency="USD"),
    {"history": "frame", "pipeline": "obj", "currency": "text"},
)
target(
    "crmcore.pipeline.opportunities_to_history",
    pp.opportunities_to_history,
    _kw(
        opportunities=lambda: [
            _popp()
            .move_to(
                "Qualified", at=dt.datetime(2024, 1, 9, tzinfo=UTC), pipeline=pp.simple_pipeline()
            )
            .close_won(at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=pp.simple_pipeline())
        ]
    ),
    {"opportunities": "obj"},
    # the probability column is the override in force; NaN = the stage default (documented)
    documented_nan=lambda r: r.drop(columns=["probability"]),
)


def _popps() -> list[Any]:
    return [
        _popp()
        .move_to("Qualified", at=dt.datetime(2024, 1, 9, tzinfo=UTC), pipeline=pp.simple_pipeline())
        .close_won(at=dt.datetime(2024, 2, 1, tzinfo=UTC), pipeline=pp.simple_pipeline())
    ]


# crmcore.frames re-exports the history conversions and adds the one-row-per-opportunity frame
target(
    "crmcore.frames.opportunities_to_history",
    fr.opportunities_to_history,
    _kw(opportunities=_popps),
    {"opportunities": "obj"},
    documented_nan=lambda r: r.drop(columns=["probability"]),
)
target(
    "crmcore.frames.history_to_opportunities",
    fr.history_to_opportunities,
    _kw(history=_ph, pipeline=_sf, currency="USD"),
    {"history": "frame", "pipeline": "obj", "currency": "text"},
)
target(
    "crmcore.frames.opportunities_to_frame",
    fr.opportunities_to_frame,
    _kw(opportunities=_popps),
    {"opportunities": "obj"},
    # probability and lost_reason are optional per opportunity (None/NaN when unset)
    documented_nan=lambda r: r.drop(columns=["probability"], errors="ignore"),
)
target(
    "crmcore.frames.frame_to_opportunities",
    fr.frame_to_opportunities,
    _kw(frame=lambda: fr.opportunities_to_frame(_popps())),
    {"frame": "frame"},
)
target(
    "crmcore.pipeline.history_from_salesforce",
    pp.history_from_salesforce,
    _kw(frame=_psalesforce, pipeline=_sf, owner_col=None),
    {"frame": "frame", "pipeline": "obj", "owner_col": "text"},
)
target(
    "crmcore.pipeline.history_from_odoo",
    pp.history_from_odoo,
    _kw(frame=_podoo, pipeline=_podoo_pipeline),
    {"frame": "frame", "pipeline": "obj"},
)
_PP_HIST_KINDS = {"history": "frame", "pipeline": "obj", "as_of": "date"}
target(
    "crmcore.pipeline.close_time_curves",
    pp.close_time_curves,
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF, time_unit="D"),
    {**_PP_HIST_KINDS, "time_unit": "choice"},
)
target(
    "crmcore.pipeline.win_rates",
    pp.win_rates,
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF, definition="cohort", start="2024-06-01"),
    {**_PP_HIST_KINDS, "definition": "choice", "start": "date"},
    # win_rate and std_err are NaN where no deal has closed yet (documented)
    documented_nan=lambda r: r.loc[(r["won"] + r["lost"]) > 0],
)
target(
    "crmcore.pipeline.stage_conversion",
    pp.stage_conversion,
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF, definition="snapshot", start="2024-06-01"),
    {**_PP_HIST_KINDS, "definition": "choice", "start": "date"},
    # conversion_rate and std_err are NaN where no deal has advanced or been lost (documented)
    documented_nan=lambda r: r.loc[(r["advanced"] + r["lost"]) > 0],
)


def _velocity_defined(r: pd.Series) -> pd.Series:
    """sales_velocity documents NaN win_rate without closed deals, NaN size, cycle and
    velocity without won deals (velocity also with a zero mean cycle)."""
    drop = []
    if np.isnan(r["win_rate"]):
        drop.append("win_rate")
    if np.isnan(r["mean_won_amount"]):
        drop += ["mean_won_amount", "mean_cycle_length", "velocity"]
    elif r["mean_cycle_length"] == 0:
        drop.append("velocity")
    return r.drop(drop)


target(
    "crmcore.pipeline.sales_velocity",
    pp.sales_velocity,
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF, start="2024-06-01", time_unit="W"),
    {**_PP_HIST_KINDS, "start": "date", "time_unit": "choice"},
    documented_nan=lambda r: _velocity_defined(r),
)
target(
    "crmcore.pipeline.slip_rates",
    pp.slip_rates,
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF, by="owner"),
    {**_PP_HIST_KINDS, "by": "text"},
)
target(
    "crmcore.pipeline.weighted_pipeline",
    pp.weighted_pipeline,
    _kw(snapshot=_psnap, pipeline=_sf, by=("owner", "Q")),
    {"snapshot": "frame", "pipeline": "obj", "by": "obj"},
)
target(
    "crmcore.pipeline.pipeline_coverage",
    pp.pipeline_coverage,
    _kw(
        snapshot=_psnap,
        target=100000.0,
        period_start="2025-07-01",
        period_end="2025-12-31",
        weighted=True,
    ),
    {
        "snapshot": "frame",
        "target": "num",
        "period_start": "date",
        "period_end": "date",
        "weighted": "obj",
    },
)
target(
    "crmcore.pipeline.forecast_category_rollup",
    pp.forecast_category_rollup,
    _kw(opportunities=_popps_frame, pipeline=pp.simple_pipeline, by=("owner", "Q")),
    {"opportunities": "frame", "pipeline": "obj", "by": "obj"},
)
target(
    "crmcore.pipeline.forecast_revenue",
    pp.forecast_revenue,
    _kw(
        snapshot=_psnap,
        period_start="2025-07-01",
        period_end="2025-09-30",
        model=None,
        target=100000.0,
        method="exact",
        grid_step=100.0,
        amount_slip=0.1,
        close_slip_days=7.0,
    ),
    {
        "snapshot": "frame",
        "period_start": "date",
        "period_end": "date",
        "target": "num",
        "method": "choice",
        "grid_step": "num",
        "amount_slip": "num",
        "close_slip_days": "num",
    },
)
target(
    "crmcore.pipeline.forecast_revenue[model]",
    pp.forecast_revenue,
    _kw(
        snapshot=_psnap,
        period_start="2025-07-01",
        period_end="2025-09-30",
        model=_pmodel,
        as_of=_PP_AS_OF,
        method="monte_carlo",
        n_simulations=2000,
        random_state=3,
    ),
    {
        "snapshot": "frame",
        "model": "obj",
        "as_of": "date",
        "n_simulations": "int",
        "random_state": "rs",
    },
)
target(
    "crmcore.pipeline.expected_new_business",
    pp.expected_new_business,
    _kw(history=_ph, pipeline=_sf, as_of="2025-06-01", period_days=30, lookback_days=365),
    {
        "history": "frame",
        "pipeline": "obj",
        "as_of": "date",
        "period_days": "int",
        "lookback_days": "int",
    },
)
target(
    "crmcore.pipeline.backtest",
    pp.backtest,
    _kw(
        history=_ph,
        as_of_dates=lambda: ["2025-03-01", "2025-06-01"],
        pipeline=_sf,
        horizon_days=90,
        model=None,
        step="W",
        method="exact",
        grid_step=100.0,
    ),
    {
        "history": "frame",
        "as_of_dates": "obj",
        "pipeline": "obj",
        "horizon_days": "int",
        "model": "choice",
        "step": "choice",
        "method": "choice",
        "grid_step": "num",
    },
    slow=True,
)
target(
    "crmcore.pipeline.PipelineMarkovModel",
    pp.PipelineMarkovModel,
    _kw(step="W"),
    {"step": "choice"},
)
target(
    "crmcore.pipeline.PipelineMarkovModel.fit",
    _method("PipelineMarkovModel", "fit"),
    _kw(history=_ph, pipeline=_sf, as_of=_PP_AS_OF),
    {"history": "frame", "pipeline": "obj", "as_of": "date"},
    receiver=lambda: pp.PipelineMarkovModel(step="W"),
    mutates_receiver=True,
)


def _drunkard() -> pd.DataFrame:
    """Grinstead & Snell's drunkard's walk (n = 4): stages 1-3 open, 4 won, 0 lost."""
    names = ["0", "1", "2", "3", "4"]
    m = pd.DataFrame(0.0, index=names, columns=names)
    for i in (1, 2, 3):
        m.iloc[i, i - 1] = m.iloc[i, i + 1] = 0.5
    m.iloc[0, 0] = m.iloc[4, 4] = 1.0
    return m


def _drunkard_pipeline() -> Any:
    return pp.Pipeline(
        stages=[
            pp.Stage(name="1", order=1, probability=0.25, outcome="open"),
            pp.Stage(name="2", order=2, probability=0.5, outcome="open"),
            pp.Stage(name="3", order=3, probability=0.75, outcome="open"),
            pp.Stage(name="4", order=4, probability=1.0, outcome="won"),
            pp.Stage(name="0", order=5, probability=0.0, outcome="lost"),
        ]
    )


target(
    "crmcore.pipeline.PipelineMarkovModel.from_params",
    pp.PipelineMarkovModel.from_params,
    _kw(transition_matrix=_drunkard, pipeline=_drunkard_pipeline, step="W"),
    {"transition_matrix": "frame", "pipeline": "obj", "step": "choice"},
)
target(
    "crmcore.pipeline.PipelineMarkovModel.summary",
    _method("PipelineMarkovModel", "summary"),
    _kw(),
    receiver=_pmodel,
)
target(
    "crmcore.pipeline.PipelineMarkovModel.win_probability_within",
    _method("PipelineMarkovModel", "win_probability_within"),
    _kw(k=4),
    {"k": "int"},
    receiver=_pmodel,
)
target(
    "crmcore.pipeline.RevenueForecast",
    pp.RevenueForecast,
    _kw(
        revenue=lambda: np.array([0.0, 100.0, 200.0, 300.0]),
        probability=lambda: np.array([0.25, 0.25, 0.25, 0.25]),
        mean=150.0,
        variance=12500.0,
        method="exact",
        grid_step=100.0,
        pipeline_value=300.0,
        deal_probability=lambda: pd.Series([0.5, 0.5], index=["a", "b"]),
        target=None,
    ),
    {
        "revenue": "seq",
        "probability": "seq",
        "mean": "num",
        "variance": "num",
        "method": "choice",
        "grid_step": "num",
        "pipeline_value": "num",
        "deal_probability": "series",
        "target": "num",
    },
)
target(
    "crmcore.pipeline.RevenueForecast.quantile",
    _method("RevenueForecast", "quantile"),
    _kw(q=0.5),
    {"q": "num"},
    receiver=_pforecast,
)
target(
    "crmcore.pipeline.RevenueForecast.probability_at_least",
    _method("RevenueForecast", "probability_at_least"),
    _kw(target=50000.0),
    {"target": "num"},
    receiver=_pforecast,
)
target(
    "crmcore.pipeline.RevenueForecast.to_frame",
    _method("RevenueForecast", "to_frame"),
    _kw(),
    receiver=_pforecast,
)

# ---- crmcore.scale (issue 12) ----
target(
    "crmcore.scale.score",
    sc.score,
    _kw(
        model=lambda: va.BetaGeoModel.from_params(**_TM_PARAMS["BetaGeoModel"]),
        frame=_summary,
        outputs=["expected_purchases", "probability_alive"],
        t=4.0,
    ),
    {"model": "obj", "frame": "frame", "outputs": "obj", "t": "num"},
)

# ---- crmcore.service (issue 10) ----
# A Mon-Fri 09:00-17:00 calendar in Europe/Berlin and a ticket with one status change; all
# timestamps are tz-aware (naive ones are a documented ValidationError).
_SV_T0 = dt.datetime(2024, 3, 1, 9, tzinfo=UTC)


def _svhours() -> dict[int, list[tuple[str, str]]]:
    return {d: [("09:00", "17:00")] for d in range(5)}


def _svcal() -> Any:
    return sv.BusinessCalendar(hours=_svhours(), tz="Europe/Berlin")


def _svevent() -> Any:
    return sv.TicketEvent(kind="agent_reply", occurred_at=dt.datetime(2024, 3, 1, 12, tzinfo=UTC))


def _svticket() -> Any:
    return sv.Ticket(
        id="T-1",
        customer_id="C-7",
        opened_at=_SV_T0,
        channel="email",
        category="question",
        priority="high",
    ).transition_to("open", dt.datetime(2024, 3, 1, 10, tzinfo=UTC))


target(
    "crmcore.service.BusinessCalendar",
    sv.BusinessCalendar,
    _kw(hours=_svhours, tz="Europe/Berlin", holidays=lambda: [dt.date(2024, 12, 25)]),
    {"hours": "obj", "tz": "text", "holidays": "obj"},
)
target(
    "crmcore.service.BusinessCalendar.working_time",
    _method("BusinessCalendar", "working_time"),
    _kw(
        start=pd.Timestamp("2024-03-01 16:00", tz="Europe/Berlin"),
        end=pd.Timestamp("2024-03-04 10:00", tz="UTC"),
    ),
    {"start": "date", "end": "date"},
    receiver=_svcal,
)
target(
    "crmcore.service.BusinessCalendar.add_working_time",
    _method("BusinessCalendar", "add_working_time"),
    _kw(
        start=pd.Timestamp("2024-03-01 16:00", tz="Europe/Berlin"),
        duration=pd.Timedelta(hours=3),
    ),
    {"start": "date", "duration": "obj"},
    receiver=_svcal,
)
target(
    "crmcore.service.TicketEvent",
    sv.TicketEvent,
    _kw(
        kind="status_change",
        occurred_at=dt.datetime(2024, 3, 1, 12, tzinfo=UTC),
        status="open",
        automatic=False,
        author_id="ann",
    ),
    {
        "kind": "choice",
        "occurred_at": "date",
        "status": "choice",
        "automatic": "obj",
        "author_id": "text",
    },
)
target(
    "crmcore.service.Ticket",
    sv.Ticket,
    _kw(
        id="T-1",
        customer_id="C-7",
        opened_at=_SV_T0,
        channel="email",
        category="question",
        priority="high",
        status="new",
        contact_id="P-1",
        events=lambda: (_svevent(),),
        satisfaction="good",
    ),
    {
        "id": "text",
        "customer_id": "text",
        "opened_at": "date",
        "channel": "choice",
        "category": "choice",
        "priority": "choice",
        "status": "choice",
        "contact_id": "text",
        "events": "obj",
        "satisfaction": "obj",
    },
)
target(
    "crmcore.service.Ticket.allows",
    _method("Ticket", "allows"),
    _kw(status="solved"),
    {"status": "choice"},
    receiver=_svticket,
)
target(
    "crmcore.service.Ticket.transition_to",
    _method("Ticket", "transition_to"),
    _kw(status="solved", at=dt.datetime(2024, 3, 1, 11, tzinfo=UTC), author_id="ann"),
    {"status": "choice", "at": "date", "author_id": "text"},
    receiver=_svticket,
)
target(
    "crmcore.service.Ticket.with_event",
    _method("Ticket", "with_event"),
    _kw(event=_svevent),
    {"event": "obj"},
    receiver=_svticket,
)


# Frames of three tickets (one solved after a reply, one pending, one untouched) for the
# service analytics; times in two zones on purpose.
_SV_AS_OF = pd.Timestamp("2024-03-08 12:00", tz="UTC")


def _svtickets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-2", "T-3"],
            "customer_id": ["C-1", "C-1", "C-2"],
            "opened_at": pd.to_datetime(
                ["2024-03-04 09:00", "2024-03-04 10:00", "2024-03-05 11:00"]
            ).tz_localize("Europe/Berlin"),
            "channel": ["email", "phone", "web"],
            "category": ["question", "complaint", "incident"],
            "priority": ["high", "normal", "urgent"],
            "satisfaction": [5, None, 2],
        }
    )


def _svevents() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": ["T-1", "T-1", "T-1", "T-2", "T-2"],
            "occurred_at": pd.to_datetime(
                [
                    "2024-03-04 08:30",
                    "2024-03-04 09:00",
                    "2024-03-04 13:00",
                    "2024-03-04 10:00",
                    "2024-03-04 12:00",
                ],
                utc=True,
            ),
            "kind": [
                "agent_reply",
                "status_change",
                "status_change",
                "agent_reply",
                "status_change",
            ],
            "status": [None, "open", "solved", None, "pending"],
            "automatic": [False, False, False, True, False],
        }
    )


def _svpolicy() -> Any:
    return sv.SlaPolicy(
        {
            "high": {"first_response": "4h", "resolution": "16h"},
            "normal": {"first_response": "8h", "next_response": "8h", "resolution": "24h"},
            "urgent": {"first_response": "1h", "resolution": "8h"},
        },
        calendar=_svcal(),
    )


def _svsla() -> pd.DataFrame:
    return sv.sla_status(_svtickets(), _svevents(), _svpolicy(), as_of=_SV_AS_OF)


_SV_FRAMES = {"tickets": "frame", "events": "frame", "as_of": "date"}

target(
    "crmcore.service.SlaPolicy",
    sv.SlaPolicy,
    _kw(
        targets=lambda: {"high": {"first_response": "4h", "resolution": "2D"}},
        calendar=_svcal,
        paused_statuses=("pending",),
        categories=lambda: ["incident"],
        tiers=lambda: ["gold"],
        name="gold",
    ),
    {
        "targets": "obj",
        "calendar": "obj",
        "paused_statuses": "obj",
        "categories": "obj",
        "tiers": "obj",
        "name": "text",
    },
)
target(
    "crmcore.service.sla_status",
    sv.sla_status,
    _kw(tickets=_svtickets, events=_svevents, policy=_svpolicy, as_of=_SV_AS_OF),
    {**_SV_FRAMES, "policy": "obj"},
)
target(
    "crmcore.service.ticket_metrics",
    sv.ticket_metrics,
    _kw(tickets=_svtickets, events=_svevents, as_of=_SV_AS_OF, calendar=_svcal),
    {**_SV_FRAMES, "calendar": "obj"},
)
target(
    "crmcore.service.breach_rate",
    sv.breach_rate,
    _kw(sla=_svsla, by="priority"),
    {"sla": "frame", "by": "text"},
    nan_ok=True,  # NaN where a group has no decided target (documented)
)
target(
    "crmcore.service.sla_report",
    sv.sla_report,
    _kw(sla=_svsla, by="priority"),
    {"sla": "frame", "by": "text"},
)


def _svreport() -> Any:
    return sv.sla_report(_svsla())


target(
    "crmcore.service.SlaReport",
    sv.SlaReport,
    _kw(counts=lambda: _svreport().counts, by="priority"),
    {"counts": "frame", "by": "text"},
)
target(
    "crmcore.service.SlaReport.to_frame",
    _method("SlaReport", "to_frame"),
    _kw(),
    receiver=_svreport,
    nan_cols=("breach_rate",),  # NaN where no target of a group is decided (documented)
)
target(
    "crmcore.service.SlaReport.plot",
    _method("SlaReport", "plot"),
    _kw(title="SLA"),
    {"title": "text"},
    receiver=_svreport,
)
target(
    "crmcore.service.reopen_rate",
    sv.reopen_rate,
    _kw(tickets=_svtickets, events=_svevents, as_of=_SV_AS_OF, by="priority"),
    {**_SV_FRAMES, "by": "text"},
    nan_ok=True,  # NaN for a group with no solved ticket (documented)
)
target(
    "crmcore.service.one_touch_rate",
    sv.one_touch_rate,
    _kw(tickets=_svtickets, events=_svevents, as_of=_SV_AS_OF, by="priority"),
    {**_SV_FRAMES, "by": "text"},
    nan_ok=True,  # NaN for a group with no solved ticket (documented)
)
target(
    "crmcore.service.csat",
    sv.csat,
    _kw(tickets=_svtickets, scale=lambda: {1: "bad", 2: "bad", 3: None, 4: "good", 5: "good"}),
    {"tickets": "frame", "scale": "obj"},
    nan_ok=True,  # NaN when no rating is good or bad (documented)
)
target(
    "crmcore.service.backlog_ageing",
    sv.backlog_ageing,
    _kw(tickets=_svtickets, events=_svevents, as_of=_SV_AS_OF, buckets=("1D", "3D")),
    {**_SV_FRAMES, "buckets": "obj"},
)
target(
    "crmcore.service.complaint_rate",
    sv.complaint_rate,
    _kw(
        tickets=_svtickets,
        orders=lambda: pd.DataFrame({"customer_id": ["C-1", "C-1", "C-2", "C-3"]}),
    ),
    {"tickets": "frame", "orders": "frame"},
    nan_ok=True,  # a customer with orders and no ticket has no complaint share (documented)
)
target(
    "crmcore.service.cost_to_serve",
    sv.cost_to_serve,
    _kw(
        tickets=_svtickets,
        events=_svevents,
        cost_per_ticket=2.0,
        cost_per_channel=lambda: {"email": 1.0, "phone": 5.0, "web": 0.5},
        cost_per_reply=1.5,
        as_of=_SV_AS_OF,
    ),
    {
        "tickets": "frame",
        "events": "frame",
        "cost_per_ticket": "num",
        "cost_per_channel": "obj",
        "cost_per_reply": "num",
        "as_of": "date",
    },
)
target(
    "crmcore.frames.tickets_to_frame",
    fr.tickets_to_frame,
    _kw(tickets=lambda: [_svticket()]),
    {"tickets": "obj"},
    nan_ok=True,  # satisfaction of an unrated ticket is missing (documented)
)
target(
    "crmcore.frames.ticket_events_to_frame",
    fr.ticket_events_to_frame,
    _kw(tickets=lambda: [_svticket()]),
    {"tickets": "obj"},
    nan_ok=True,  # status of a non-status event is missing (documented)
)
target(
    "crmcore.frames.frame_to_tickets",
    fr.frame_to_tickets,
    _kw(tickets=_svtickets, events=_svevents),
    {"tickets": "frame", "events": "frame"},
)
target(
    "crmcore.datasets.simulate_tickets",
    ds.simulate_tickets,
    _kw(
        customer_ids=lambda: ["C-1", "C-2", "C-3"],
        start=pd.Timestamp("2024-01-01", tz="Europe/Berlin"),
        end=pd.Timestamp("2024-03-01", tz="Europe/Berlin"),
        tickets_per_customer=2.0,
        random_state=1,
    ),
    {
        "customer_ids": "seq",
        "start": "date",
        "end": "date",
        "tickets_per_customer": "num",
        "random_state": "rs",
    },
    nan_ok=True,  # missing status / satisfaction cells are documented
)

TARGET_BY_NAME = {t.name: t for t in TARGETS}
assert len(TARGET_BY_NAME) == len(TARGETS), "duplicate target names"

# --------------------------------------------------------------------------------------------
# Corruptions
# --------------------------------------------------------------------------------------------

CELL_VALUES: dict[str, Any] = {
    "nan": NAN,
    "none": None,
    "inf": INF,
    "string": "abc",
    "comma_decimal": "12,50",
    "huge": HUGE,
    "negative": -5.0,
    "float_in_text": 1.5,
}


def _set_cells(column: pd.Series, rows: list[int], value: Any) -> pd.Series:
    values = list(column.to_numpy(dtype=object))
    for r in rows:
        values[r % len(values)] = value
    return pd.Series(values, index=column.index, name=column.name)


def corrupt_frame_cell(frame: pd.DataFrame, column: str, value: Any, rows: list[int]) -> Any:
    out = frame.copy()
    out[column] = _set_cells(out[column], rows, value)
    return out


class CannotBuild(Exception):
    """This corruption cannot be expressed for this argument (e.g. objects in PyArrow)."""


def _frame_whole(name: str, frame: pd.DataFrame, column: str) -> Any:
    if name == "empty":
        return frame.iloc[:0].copy()
    if name == "missing_column":
        return frame.drop(columns=[column])
    if name == "duplicated_rows":
        return pd.concat([frame, frame.iloc[:1]])
    if name == "multiindex":
        out = frame.copy()
        out.index = pd.MultiIndex.from_arrays([frame.index, np.zeros(len(frame), dtype=int)])
        return out
    if name in ("polars", "pyarrow"):
        try:
            if name == "polars":
                return pl.from_pandas(frame)
            return pa.Table.from_pandas(frame, preserve_index=False)
        except Exception as exc:
            raise CannotBuild(name) from exc
    if name == "records":
        return frame.to_dict("records")
    if name == "none":
        return None
    if name == "all_huge":
        out = frame.copy()
        out[column] = HUGE
        return out
    raise AssertionError(name)


FRAME_WHOLE = (
    "empty",
    "missing_column",
    "duplicated_rows",
    "multiindex",
    "polars",
    "pyarrow",
    "records",
    "none",
)


def corrupt_series(name: str, series: pd.Series, rows: list[int], value: Any = None) -> Any:
    if name in CELL_VALUES:
        return _set_cells(series, rows, CELL_VALUES[name] if value is None else value)
    n = len(series)
    if name == "all_huge":
        return pd.Series(HUGE, index=series.index, dtype=float)
    if name == "float_id":
        idx = list(series.index)
        idx[rows[0] % n] = 1.5
        return pd.Series(series.to_numpy(), index=pd.Index(idx, dtype=object))
    if name == "none_id":
        idx = list(series.index)
        idx[rows[0] % n] = None
        return pd.Series(series.to_numpy(), index=pd.Index(idx, dtype=object))
    if name == "multiindex":
        return pd.Series(
            series.to_numpy(),
            index=pd.MultiIndex.from_arrays([series.index, np.arange(n) % 2]),
        )
    if name == "duplicated_ids":
        return pd.concat([series, series.iloc[:1]])
    if name == "empty":
        return series.iloc[:0]
    if name == "polars":
        return pl.Series("value", series.to_numpy())
    if name == "pyarrow":
        return pa.array(series.to_numpy())
    if name == "list":
        return list(series.to_numpy())
    if name == "none":
        return None
    if name == "string_scalar":
        return "abc"
    raise AssertionError(name)


SERIES_CORRUPTIONS = (
    *CELL_VALUES,
    "all_huge",
    "float_id",
    "none_id",
    "multiindex",
    "duplicated_ids",
    "empty",
    "polars",
    "pyarrow",
    "list",
    "none",
    "string_scalar",
)

SCALAR_BAD: dict[str, dict[str, Any]] = {
    "num": {
        "string": "abc",
        "none": None,
        "list": [1.0],
        "negative": -1.0,
        "nan": NAN,
        "inf": INF,
        "neg_inf": -INF,
        "zero": 0.0,
        "huge": HUGE,
        "tiny": 1e-308,
        "bool": True,
        "numeric_string": "0.5",
        "comma_decimal": "0,5",
    },
    "int": {
        "string": "abc",
        "none": None,
        "float": 2.5,
        "negative": -1,
        "zero": 0,
        "nan": NAN,
        "inf": INF,
        "bool": True,
        "numeric_string": "3",
        "list": [3],
    },
    "choice": {"int": 3, "none": None, "bogus": "bogus", "empty": "", "list": ["a"]},
    "text": {"int": 3, "none": None, "empty": "", "float_nan": NAN, "list": ["a"]},
    "date": {
        "garbage": "not a date",
        "nat": pd.NaT,
        "none": None,
        "float": 3.5,
        "list": ["2024-01-01"],
        "bad_day": "2024-13-45",
    },
    "rs": {"negative": -1, "string": "abc", "float": 0.5, "list": [1, 2], "huge": 2**64},
    "obj": {
        "none": None,
        "int": 3,
        "string": "abc",
        "empty_list": [],
        "empty_dict": {},
        "nan": NAN,
    },
}


def corrupt_seq(name: str, seq: Any, rows: list[int], value: Any = None) -> Any:
    flat = list(seq)
    n = len(flat)
    if name in ("nan", "inf", "string", "comma_decimal", "huge", "negative", "none"):
        v = (
            {
                "nan": NAN,
                "inf": INF,
                "string": "abc",
                "comma_decimal": "12,50",
                "huge": HUGE,
                "negative": -5.0,
                "none": None,
            }[name]
            if value is None
            else value
        )
        out = list(flat)
        out[rows[0] % n] = v
        return type(seq)(out) if isinstance(seq, tuple) else out
    if name == "all_huge":
        return [HUGE] * n
    if name == "empty":
        return []
    if name == "ragged":
        return [flat[:1], flat]
    if name == "scalar_string":
        return "abc"
    if name == "is_none":
        return None
    if name == "too_long":
        return flat + flat
    if name == "too_short":
        return flat[:1]
    if name == "nd":
        return np.array([flat, flat], dtype=object)
    raise AssertionError(name)


SEQ_CORRUPTIONS = (
    "nan",
    "inf",
    "string",
    "comma_decimal",
    "huge",
    "negative",
    "none",
    "all_huge",
    "empty",
    "ragged",
    "scalar_string",
    "is_none",
    "too_long",
    "too_short",
    "nd",
)


def grid_corruptions(t: Target) -> Iterator[tuple[str, str, str, str | None]]:
    """(arg, kind, corruption, column) for every cell of the grid of target `t`."""
    base = t.base()
    for arg, kind in t.kinds.items():
        if kind == "frame":
            frame = base[arg]
            for column in frame.columns:
                for c in CELL_VALUES:
                    yield arg, kind, c, str(column)
                yield arg, kind, "all_huge", str(column)
                yield arg, kind, "missing_column", str(column)
            for c in FRAME_WHOLE:
                if c != "missing_column":
                    yield arg, kind, c, str(frame.columns[0])
        elif kind == "series":
            for c in SERIES_CORRUPTIONS:
                yield arg, kind, c, None
        elif kind == "seq":
            for c in SEQ_CORRUPTIONS:
                yield arg, kind, c, None
        else:
            for c in SCALAR_BAD[kind]:
                yield arg, kind, c, None


def apply(
    t: Target,
    arg: str,
    kind: str,
    corruption: str,
    column: str | None,
    rows: list[int],
    value: Any = None,
) -> dict[str, Any]:
    args = t.base()
    original = args.get(arg)
    if kind == "frame":
        assert column is not None
        col = next(c for c in original.columns if str(c) == column)
        if corruption in CELL_VALUES:
            v = CELL_VALUES[corruption] if value is None else value
            args[arg] = corrupt_frame_cell(original, col, v, rows)
        elif corruption == "all_huge":
            args[arg] = _frame_whole("all_huge", original, col)
        else:
            args[arg] = _frame_whole(corruption, original, col)
    elif kind == "series":
        args[arg] = corrupt_series(corruption, original, rows, value)
    elif kind == "seq":
        if original is None:
            original = [1.0, 2.0]
        nested = len(original) > 0 and isinstance(original[0], list | tuple)
        if nested and corruption in (
            "nan",
            "inf",
            "string",
            "comma_decimal",
            "huge",
            "negative",
            "none",
        ):
            inner = corrupt_seq(corruption, original[0], rows, value)
            args[arg] = [inner, *original[1:]]
        else:
            args[arg] = corrupt_seq(corruption, original, rows, value)
    else:
        args[arg] = SCALAR_BAD[kind][corruption] if value is None else value
    return args


# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------


def _numeric_values(obj: Any, depth: int = 0, skip: tuple[str, ...] = ()) -> Iterator[np.ndarray]:
    """Float arrays found in a result (frames, series, arrays, scalars, models, containers)."""
    if depth > 3 or obj is None:
        return
    if isinstance(obj, bool | str | Decimal):
        return
    if isinstance(obj, int | float | np.number):
        yield np.asarray([obj], dtype=np.float64)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield obj.astype(np.complex128).real.ravel() if obj.dtype.kind == "c" else obj.ravel()
    elif isinstance(obj, pd.DataFrame):
        for col in obj.columns:
            if str(col) not in skip:
                yield from _numeric_values(obj[col], depth + 1)
        for v in obj.attrs.values():
            yield from _numeric_values(v, depth + 1)
    elif isinstance(obj, pd.Series):
        if obj.dtype.kind == "f":
            yield obj.to_numpy(dtype=np.float64)
        elif obj.dtype == object:
            floats = [v for v in obj.to_numpy() if isinstance(v, float)]
            if floats:
                yield np.asarray(floats, dtype=np.float64)
    elif isinstance(obj, list | tuple):
        for v in obj[:1000]:
            yield from _numeric_values(v, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numeric_values(v, depth + 1)
    elif hasattr(obj, "params_"):
        try:
            params = obj.params_
        except CRMError:
            return
        yield from _numeric_values(params, depth + 1)


def _has_nonfinite(obj: Any) -> bool:
    if isinstance(obj, pl.DataFrame | pl.Series):
        obj = obj.to_pandas()
    if isinstance(obj, pa.Table):
        obj = obj.to_pandas()
    if isinstance(obj, pa.Array):
        obj = pd.Series(obj.to_pandas())
    if isinstance(obj, pd.DataFrame):
        # strings like "inf" / "nan" in an object column are non-finite input too
        return any(_has_nonfinite(obj[c]) for c in obj.columns) or _has_nonfinite(
            obj.index.to_series()
        )
    if isinstance(obj, pd.Index):
        obj = obj.to_series()
    if isinstance(obj, pd.Series):
        if isinstance(obj.dtype, np.dtype) and obj.dtype.kind == "f":  # vectorised fast path
            return not bool(np.isfinite(obj.to_numpy()).all())
        if isinstance(obj.dtype, np.dtype) and obj.dtype.kind in "iubmM":
            return False
        vals = obj.to_numpy(dtype=object)
        return any(_has_nonfinite(v) for v in vals)
    if isinstance(obj, float | np.floating):
        return not math.isfinite(float(obj))
    if isinstance(obj, list | tuple):
        return any(_has_nonfinite(v) for v in obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return not bool(np.isfinite(obj).all())
        if obj.dtype.kind in "iubmM":
            return False
        return any(_has_nonfinite(v) for v in obj.ravel().tolist())
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if obj is pd.NaT or obj is None:
        return False
    return False


def _index_identical(a: pd.Index, b: pd.Index) -> bool:
    return type(a) is type(b) and a.dtype == b.dtype and a.names == b.names and bool(a.equals(b))


def _frames_identical(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same labels, names, dtypes and values (NaN equal to NaN): what assert_frame_equal
    with check_exact=True accepts, found with vectorised `equals` instead."""
    return (
        _index_identical(a.index, b.index)
        and _index_identical(a.columns, b.columns)
        and bool((a.dtypes == b.dtypes).all())
        and bool(a.equals(b))
    )


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if a is pd.NaT:  # NaT != NaT, like NaN: an unchanged NaT argument is not a mutation
        return b is pd.NaT
    if isinstance(a, pd.DataFrame):
        if _frames_identical(a, b):  # fast path; anything else gets the full comparison
            return a.attrs == b.attrs
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError:
            return False
        return a.attrs == b.attrs
    if isinstance(a, pd.Series):
        try:
            pd.testing.assert_series_equal(a, b, check_exact=True)
        except AssertionError:
            return False
        return True
    if isinstance(a, pl.DataFrame | pl.Series):
        return bool(a.equals(b))
    if isinstance(a, pa.Table | pa.Array):
        return bool(a.equals(b))
    if isinstance(a, np.ndarray):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and (
                (
                    a.dtype == object
                    and all(_same(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True))
                )
                or (a.dtype != object and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
            )
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, types.MethodType):
        return a.__func__ is b.__func__
    if type(a).__eq__ is not object.__eq__:
        try:
            eq = a == b
            if isinstance(eq, bool):
                return eq
        except Exception:
            pass
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return _same(vars(a), vars(b))
    try:
        return pickle.dumps(a) == pickle.dumps(b)
    except Exception:
        return True


@dataclass
class Outcome:
    ok: bool
    detail: str = ""
    raised: BaseException | None = field(default=None, repr=False)


CASE_TIMEOUT_S = 10


class CaseTimeout(Exception):
    """A bad input made a call run for longer than CASE_TIMEOUT_S (a hang is a finding)."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def run_case(t: Target, args: dict[str, Any]) -> Outcome:
    """Call `t` with `args` and judge the outcome against the contract."""
    before = {k: copy.deepcopy(v) for k, v in args.items()}
    recv = t.receiver() if t.receiver is not None else None
    recv_before = pickle.dumps(recv) if recv is not None and not t.mutates_receiver else None
    input_nonfinite = _has_nonfinite(list(args.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            previous = signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(CASE_TIMEOUT_S)
            try:
                with np.errstate(all="ignore"):
                    result = t.call(recv, **args) if t.receiver is not None else t.call(**args)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
        except CaseTimeout:
            outcome = Outcome(False, f"no answer within {CASE_TIMEOUT_S} s (hang)")
        except CRMError as exc:
            outcome = Outcome(True, f"CRMError {type(exc).__name__}", exc)
        except Exception as exc:
            msg = str(exc).splitlines()[0][:160] if str(exc) else ""
            outcome = Outcome(False, f"raw {type(exc).__name__}: {msg}", exc)
        else:
            outcome = Outcome(True, "result")
            if not t.nan_ok and not input_nonfinite:
                checked = result if t.documented_nan is None else t.documented_nan(result)
                bad = [
                    a
                    for a in _numeric_values(checked, skip=t.nan_cols)
                    if not np.all(np.isfinite(a))
                ]
                if bad:
                    outcome = Outcome(False, "silent NaN/inf in the result")
    for k, v in before.items():
        if not _same(v, args[k]):
            return Outcome(False, f"argument {k!r} was mutated")
    if recv_before is not None and pickle.dumps(recv) != recv_before:
        return Outcome(False, "the receiver was mutated")
    return outcome


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_baseline_call_is_valid(t: Target) -> None:
    """The harness is sound: every baseline call succeeds with a finite result."""
    outcome = run_case(t, t.base())
    assert outcome.ok and outcome.raised is None, f"{t.name} baseline: {outcome.detail}"


def grid_cases(t: Target) -> Iterator[tuple[str, str, str, str | None]]:
    """The deterministic grid of target `t` (fits: cell corruptions of one column only)."""
    for arg, kind, corruption, column in grid_corruptions(t):
        if t.slow and kind == "frame" and corruption in CELL_VALUES and column != "frequency":
            continue
        yield arg, kind, corruption, column


def grid_failures(t: Target) -> list[str]:
    failures = []
    for arg, kind, corruption, column in grid_cases(t):
        try:
            args = apply(t, arg, kind, corruption, column, rows=[0, 1])
        except CannotBuild:
            continue
        outcome = run_case(t, args)
        if not outcome.ok:
            where = f"{arg}.{column}" if column else arg
            failures.append(f"{where}={corruption}: {outcome.detail}")
    return failures


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
def test_bad_input_grid(t: Target) -> None:
    """Every argument x every corruption of the catalogue: a CRMError or a valid result."""
    failures = grid_failures(t)
    assert not failures, f"{t.name}: {len(failures)} bad-input cases fail:\n  " + "\n  ".join(
        failures
    )


_BAD_FLOATS = st.one_of(
    st.sampled_from([NAN, INF, -INF, HUGE, -HUGE, 1e-308, -1.0, 0.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_BAD_TEXT = st.one_of(
    st.sampled_from(["", "12,50", "1.234,5", "abc", " 3 ", "None", "NaN"]), st.text(max_size=5)
)
_BAD_ANY = st.one_of(
    _BAD_FLOATS,
    _BAD_TEXT,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
)


@st.composite
def corrupted_call(draw: st.DrawFn, t: Target) -> tuple[str, dict[str, Any]]:
    """Hypothesis strategy: one argument of `t` corrupted at a random place by a random value."""
    if not t.kinds:
        return "(no arguments)", t.base()
    arg = draw(st.sampled_from(sorted(t.kinds)))
    kind = t.kinds[arg]
    base = t.base()
    rows = [draw(st.integers(0, 50)), draw(st.integers(0, 50))]
    if kind == "frame":
        column = str(draw(st.sampled_from([str(c) for c in base[arg].columns])))
        corruption = draw(st.sampled_from([*CELL_VALUES, "all_huge", *FRAME_WHOLE]))
        value = draw(_BAD_ANY) if corruption in CELL_VALUES else None
        try:
            args = apply(t, arg, kind, corruption, column, rows, value)
        except CannotBuild:
            args = t.base()
        return f"{arg}.{column}|{corruption}|{value!r}", args
    if kind == "series":
        corruption = draw(st.sampled_from(SERIES_CORRUPTIONS))
        value = draw(_BAD_ANY) if corruption in CELL_VALUES else None
        return f"{arg}|{corruption}|{value!r}", apply(t, arg, kind, corruption, None, rows, value)
    if kind == "seq":
        corruption = draw(st.sampled_from(SEQ_CORRUPTIONS))
        value = draw(_BAD_ANY) if corruption in ("nan", "string") else None
        return f"{arg}|{corruption}|{value!r}", apply(t, arg, kind, corruption, None, rows, value)
    if kind in ("num", "int"):
        value = draw(st.one_of(_BAD_ANY, st.sampled_from(list(SCALAR_BAD[kind].values()))))
    elif kind == "rs":
        value = draw(
            st.one_of(st.integers(-(2**70), -1), st.sampled_from(list(SCALAR_BAD["rs"].values())))
        )
    else:
        value = draw(st.one_of(st.sampled_from(list(SCALAR_BAD[kind].values())), _BAD_ANY))
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool) and value > 10**4:
        value = -value  # huge sizes would only allocate memory, not test validation
    args = base
    args[arg] = value
    return f"{arg}|{value!r}", args


@pytest.mark.parametrize("t", TARGETS, ids=lambda t: t.name)
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
@given(data=st.data())
def test_bad_input_hypothesis(t: Target, data: st.DataObject) -> None:
    label, args = data.draw(corrupted_call(t), label="case")
    outcome = run_case(t, args)
    assert outcome.ok, f"{t.name} [{label}]: {outcome.detail}"


# --------------------------------------------------------------------------------------------
# Coverage: every public callable has a case
# --------------------------------------------------------------------------------------------

PUBLIC_MODULES = (crmcore, mo, cu, fr, ds, seg, va, pp, sv, sc)

# Public names that are not functions of data, with the reason they have no case.
EXEMPT = {
    # exception and warning classes: constructors of messages
    "crmcore.CRMError",
    "crmcore.CRMWarning",
    "crmcore.ColumnNotFoundError",
    "crmcore.ConvergenceError",
    "crmcore.ConvergenceWarning",
    "crmcore.CurrencyMismatchError",
    "crmcore.InvalidStageTransition",
    "crmcore.InvalidTransition",
    "crmcore.MissingRateError",
    "crmcore.NotFittedError",
    "crmcore.ValidationError",
    # enumerations: calling an Enum is a value lookup (the entities validate them, see cases)
    "crmcore.customers.BuyingRole",
    "crmcore.customers.ContactLevel",
    "crmcore.customers.CustomerKind",
    "crmcore.customers.OrderStatus",
    "crmcore.pipeline.ForecastCategory",
    "crmcore.pipeline.StageOutcome",
    "crmcore.service.TicketCategory",
    "crmcore.service.TicketChannel",
    "crmcore.service.TicketEventKind",
    "crmcore.service.TicketPriority",
    "crmcore.service.TicketStatus",
    # abstract bases: every method is covered through each concrete model
    "crmcore.value.MaximumLikelihoodModel",
    "crmcore.value.TransactionModel",
}


def _qualified(module: Any, name: str) -> str:
    obj = getattr(module, name)
    home = {
        "Money": "crmcore.money",
        "ExchangeRates": "crmcore.money",
    }.get(name, module.__name__)
    del obj
    return f"{home}.{name}"


def public_callables() -> set[str]:
    names: set[str] = set()
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj):
                continue
            q = f"{module.__name__}.{name}"
            if q in EXEMPT:
                continue
            if module is crmcore and name in ("Money", "ExchangeRates"):
                q = f"crmcore.money.{name}"
            if isinstance(obj, type) and issubclass(obj, BaseException | Warning):
                continue
            if isinstance(obj, type) and q not in EXEMPT:
                names.add(q)
                own = set().union(
                    *(vars(k) for k in obj.__mro__ if k.__module__.startswith("crmcore"))
                )
                for attr in dir(obj):
                    if attr.startswith("_") or attr not in own:
                        continue
                    if callable(getattr(obj, attr, None)) and not isinstance(
                        getattr(obj, attr), type
                    ):
                        names.add(f"{q}.{attr}")
            elif not isinstance(obj, type):
                names.add(q)
    for q in list(names):
        if q.startswith("crmcore.customers.OrderStatus."):
            names.discard(q)
    return names | {"crmcore.customers.OrderStatus.can_transition_to"}


def test_every_public_callable_is_in_the_campaign() -> None:
    missing = sorted(public_callables() - set(TARGET_BY_NAME))
    assert not missing, f"public callables without a bad-input case: {missing}"


def test_the_oracle_can_fail() -> None:
    """The judge is not vacuous: a raw error, a silent NaN and a mutation are each caught."""

    def raw(x: Any) -> float:
        return float(x)

    def silent(x: float) -> float:
        return x * HUGE * 10

    def mutating(frame: pd.DataFrame) -> int:
        frame.iloc[0, 0] = -1
        return 0

    assert not run_case(Target("raw", raw, _kw(x="12,50"), {}), {"x": "12,50"}).ok
    assert not run_case(Target("silent", silent, _kw(x=1.0), {}), {"x": 1.0}).ok
    assert not run_case(Target("mutating", mutating, _kw(frame=_rfm), {}), {"frame": _rfm()}).ok
    assert run_case(Target("gini", seg.gini, _kw(values=_values), {}), {"values": _values()}).ok
