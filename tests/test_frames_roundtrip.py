"""Round trips entity -> DataFrame -> entity are exact; the frames have the documented schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.customers import (
    BuyingRole,
    Contact,
    ContactLevel,
    Customer,
    CustomerKind,
    Order,
    OrderLine,
    OrderStatus,
)
from crmcore.exceptions import ColumnNotFoundError, ValidationError
from crmcore.frames import (
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    customers_to_frame,
    frame_to_customers,
    frame_to_orders,
    orders_to_frame,
)
from crmcore.money import Money

ZONES = [
    ZoneInfo(key)
    for key in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide")
]
CURRENCIES = ["JPY", "KWD", "EUR", "USD"]

# ---------------------------------------------------------------- strategies

ids = st.text(alphabet="ABCDEFGHJK0123456789-_", min_size=1, max_size=8)
names = st.one_of(
    st.sampled_from(["Zoë Ångström", "山田商事", "Ζωή", "Мария", "محمد", "नमस्ते", "O'Brien & Co"]),
    st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != ""),
)
aware = st.datetimes(
    min_value=dt.datetime(1990, 1, 1),
    max_value=dt.datetime(2040, 12, 31),
    timezones=st.sampled_from(ZONES),
)


def decimals(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Decimals with 0-4 decimal places, keeping the exponent (e.g. Decimal('1.50'))."""
    return st.integers(0, 4).flatmap(
        lambda places: st.decimals(min_value=low, max_value=high, places=places)
    )


@st.composite
def order_lines(draw: st.DrawFn, currency: str) -> OrderLine:
    price = draw(decimals(0, 100_000))
    cost = draw(st.none() | decimals(0, 100_000))
    quantity = draw(decimals(1, 1000).filter(lambda q: q > 0))
    return OrderLine(
        product_id=draw(ids),
        quantity=quantity,
        unit_price=Money(price, currency),
        discount=draw(st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.25"), Decimal(1)])),
        unit_cost=None if cost is None else Money(cost, currency),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(CURRENCIES))
    return Order(
        id=draw(ids),
        customer_id=draw(ids),
        ordered_at=draw(aware),
        currency=currency,
        status=draw(st.sampled_from(list(OrderStatus))),
        lines=draw(st.lists(order_lines(currency), max_size=4)),
    )


contacts = st.builds(
    Contact,
    id=ids,
    name=names,
    email=st.none() | st.sampled_from(["kim@example.com", "ana.lima@exämple.de"]),
    phone=st.none() | st.just("+49 30 1234567"),
    buying_role=st.none() | st.sampled_from(list(BuyingRole)),
    level=st.none() | st.sampled_from(list(ContactLevel)),
)


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    people = draw(st.lists(contacts, max_size=3, unique_by=lambda c: c.id))
    own_id = draw(ids)
    parent = draw(st.none() | ids.filter(lambda p: p != own_id))
    return Customer(
        id=own_id,
        name=draw(names),
        kind=draw(st.sampled_from(list(CustomerKind))),
        created_at=draw(aware),
        acquisition_channel=draw(st.none() | st.sampled_from(["web", "partner", "", "店舗"])),
        parent_account_id=parent,
        tags=draw(st.frozensets(st.sampled_from(["vip", "b2b", "churn-risk", "新規"]))),
        contacts=people,
    )


# ---------------------------------------------------------------- exactness helpers


def fingerprint(value: object) -> object:
    """A structure that differs whenever digits, exponents or time zones differ.

    ``==`` alone is too lenient for a lossless check: Decimal('1.5') == Decimal('1.50') and two
    datetimes for the same instant in different zones compare equal.
    """
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, dt.datetime):
        return ("datetime", value.isoformat(), str(value.tzinfo), value.fold)
    if isinstance(value, (tuple, list)):
        return tuple(fingerprint(v) for v in value)
    if isinstance(value, frozenset):
        return ("frozenset", tuple(sorted(value)))
    if isinstance(value, (Order, OrderLine, Customer, Contact, Money)):
        import attrs

        return (
            type(value).__name__,
            tuple((f.name, fingerprint(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    return (type(value).__name__, value)


# ---------------------------------------------------------------- round trips


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(orders(), max_size=6))
def test_orders_survive_a_round_trip_through_a_frame_exactly(items: list[Order]) -> None:
    back = frame_to_orders(orders_to_frame(items))
    assert back == items
    assert fingerprint(back) == fingerprint(items)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(customers(), max_size=6))
def test_customers_survive_a_round_trip_through_a_frame_exactly(items: list[Customer]) -> None:
    back = frame_to_customers(customers_to_frame(items))
    assert back == items
    assert fingerprint(back) == fingerprint(items)


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(orders(), min_size=1, max_size=6))
def test_analytics_columns_agree_with_the_exact_values(items: list[Order]) -> None:
    frame = orders_to_frame(items)
    for position, order in enumerate(items):
        utc_instant = order.ordered_at.astimezone(dt.timezone.utc)
        assert frame["date"].iloc[position] == pd.Timestamp(utc_instant)
        expected_total = sum((ln.total.amount for ln in order.lines), Decimal(0))
        assert frame["amount_exact"].iloc[position] == expected_total
        assert frame["amount"].iloc[position] == pytest.approx(float(expected_total))
        assert frame["status"].iloc[position] == order.status.value


def test_a_frame_with_zones_and_decimals_keeps_them_row_by_row() -> None:
    berlin, kolkata = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
    first = Order(
        id="O1",
        customer_id="C1",
        ordered_at=dt.datetime(2024, 3, 31, 2, 30, tzinfo=berlin),
        currency="KWD",
        lines=[OrderLine(product_id="P", quantity="1.5", unit_price=Money("2.000", "KWD"))],
    )
    second = Order(
        id="O2",
        customer_id="C1",
        ordered_at=dt.datetime(2024, 3, 31, 2, 30, tzinfo=kolkata),
        currency="JPY",
    )
    frame = orders_to_frame([first, second])
    assert frame["ordered_at"].tolist()[0].tzinfo is berlin
    assert frame["ordered_at"].tolist()[1].tzinfo is kolkata
    # 02:30 in Berlin on 2024-03-31 does not exist (DST gap); zoneinfo uses +01:00 -> 01:30 UTC
    assert frame["date"].tolist()[0] == pd.Timestamp("2024-03-31 01:30", tz="UTC")
    assert frame["date"].tolist()[1] == pd.Timestamp("2024-03-30 21:00", tz="UTC")
    assert str(frame["amount_exact"].tolist()[0]) == "3.0000"  # 1.5 * 2.000
    assert frame["amount"].tolist() == [3.0, 0.0]


# ---------------------------------------------------------------- schema


def sample_orders() -> list[Order]:
    return [
        Order(
            id="O1",
            customer_id="C1",
            ordered_at=dt.datetime(2024, 1, 2, 3, 4, tzinfo=ZONES[2]),
            currency="USD",
            status="fulfilled",
            lines=[
                OrderLine(
                    product_id="P1",
                    quantity=2,
                    unit_price=Money("10.00", "USD"),
                    unit_cost=Money("4.00", "USD"),
                )
            ],
        )
    ]


def sample_customers() -> list[Customer]:
    return [
        Customer(
            id="C1",
            name="Acme",
            created_at=dt.datetime(2020, 5, 6, tzinfo=ZONES[4]),
            tags={"vip"},
            contacts=[Contact(id="k", name="Kim")],
        )
    ]


def test_orders_frame_has_the_documented_columns_and_dtypes() -> None:
    frame = orders_to_frame(sample_orders())
    assert tuple(frame.columns) == ORDER_COLUMNS
    assert ORDER_COLUMNS[:7] == (
        "customer_id",
        "order_id",
        "date",
        "amount",
        "margin",
        "currency",
        "status",
    )
    assert str(frame["date"].dtype) == "datetime64[ns, UTC]"
    assert frame["amount"].dtype == "float64" and frame["margin"].dtype == "float64"
    for column in ("amount_exact", "margin_exact", "ordered_at", "lines"):
        assert frame[column].dtype == object
    # hand-computed: 2 * 10.00 = 20.00 total, 2 * 4.00 = 8.00 cost, margin 12.00
    assert frame.loc[0, "amount"] == 20.0 and frame.loc[0, "margin"] == 12.0
    assert frame.loc[0, "amount_exact"] == Decimal("20.00")
    assert frame.loc[0, "status"] == "fulfilled" and frame.loc[0, "currency"] == "USD"
    assert isinstance(frame.index, pd.RangeIndex)


def test_empty_inputs_give_empty_frames_with_the_same_schema() -> None:
    orders_frame = orders_to_frame([])
    assert tuple(orders_frame.columns) == ORDER_COLUMNS and len(orders_frame) == 0
    assert str(orders_frame["date"].dtype) == "datetime64[ns, UTC]"
    assert orders_frame["amount"].dtype == "float64"
    assert frame_to_orders(orders_frame) == []
    customers_frame = customers_to_frame([])
    assert tuple(customers_frame.columns) == CUSTOMER_COLUMNS
    assert frame_to_customers(customers_frame) == []


def test_customers_frame_has_the_documented_columns_and_dtypes() -> None:
    frame = customers_to_frame(sample_customers())
    assert tuple(frame.columns) == CUSTOMER_COLUMNS
    assert str(frame["created_at_utc"].dtype) == "datetime64[ns, UTC]"
    assert frame.loc[0, "kind"] == "person"
    # Adelaide is UTC+09:30 in May (no DST): midnight local is 14:30 UTC the day before
    assert frame.loc[0, "created_at_utc"] == pd.Timestamp("2020-05-05 14:30", tz="UTC")
    assert frame.loc[0, "tags"] == frozenset({"vip"})
    assert frame.loc[0, "acquisition_channel"] is None


def test_frame_functions_do_not_mutate_their_input() -> None:
    orders_frame = orders_to_frame(sample_orders())
    customers_frame = customers_to_frame(sample_customers())
    orders_before, customers_before = orders_frame.copy(deep=True), customers_frame.copy(deep=True)
    frame_to_orders(orders_frame)
    frame_to_customers(customers_frame)
    pd.testing.assert_frame_equal(orders_frame, orders_before)
    pd.testing.assert_frame_equal(customers_frame, customers_before)


def test_to_frame_does_not_consume_or_change_the_entities() -> None:
    items = sample_orders()
    snapshot = list(items)
    orders_to_frame(items)
    assert items == snapshot


def test_derived_columns_are_ignored_on_the_way_back() -> None:
    frame = orders_to_frame(sample_orders()).drop(
        columns=["date", "amount", "margin", "amount_exact", "margin_exact"]
    )
    assert frame_to_orders(frame) == sample_orders()


def test_a_missing_column_is_reported_with_the_existing_columns_and_a_suggestion() -> None:
    frame = orders_to_frame(sample_orders()).rename(columns={"ordered_at": "ordered"})
    with pytest.raises(
        ColumnNotFoundError, match=r"'ordered_at' not found \(did you mean 'ordered'\?\)"
    ):
        frame_to_orders(frame)
    with pytest.raises(KeyError):
        frame_to_customers(frame)


def test_a_bad_row_is_reported_with_its_position_and_id() -> None:
    frame = orders_to_frame(sample_orders() * 2)
    frame.loc[1, "currency"] = "EUX"
    with pytest.raises(ValidationError, match=r"row 1 \(order_id 'O1'\).*Order\.currency"):
        frame_to_orders(frame)


def test_missing_values_in_optional_customer_columns_become_none_or_empty() -> None:
    frame = customers_to_frame(sample_customers())
    frame["acquisition_channel"] = float("nan")
    frame["tags"] = None
    back = frame_to_customers(frame)[0]
    assert back.acquisition_channel is None and back.tags == frozenset()


def test_a_polars_frame_with_object_columns_is_accepted() -> None:
    pl = pytest.importorskip("polars")
    items = sample_orders()
    pandas_frame = orders_to_frame(items)
    polars_frame = pl.DataFrame(
        [
            pl.Series(name, pandas_frame[name].tolist(), dtype=pl.Object)
            if pandas_frame[name].dtype == object
            else pl.Series(name, pandas_frame[name].tolist())
            for name in ("order_id", "customer_id", "ordered_at", "currency", "status", "lines")
        ]
    )
    back = frame_to_orders(polars_frame)
    assert back == items and fingerprint(back) == fingerprint(items)


def test_non_entities_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"orders\[0\] must be an Order"):
        orders_to_frame([object()])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match=r"customers\[0\] must be a Customer"):
        customers_to_frame(sample_orders())  # type: ignore[arg-type]
