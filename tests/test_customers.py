"""Tests for crmcore.customers: invariants, order life cycle, totals and helpers."""

from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from crmcore.customers import (
    ORDER_TRANSITIONS,
    BuyingRole,
    Contact,
    ContactLevel,
    Customer,
    CustomerKind,
    Order,
    OrderLine,
    OrderStatus,
)
from crmcore.exceptions import CRMError, InvalidTransition, ValidationError
from crmcore.money import Money

BERLIN = ZoneInfo("Europe/Berlin")
WHEN = dt.datetime(2024, 3, 1, 10, 0, tzinfo=BERLIN)


def make_customer(**changes: object) -> Customer:
    fields: dict[str, object] = {"id": "C1", "name": "Acme", "created_at": WHEN}
    fields.update(changes)
    return Customer(**fields)  # type: ignore[arg-type]


def line(price: str = "10.00", currency: str = "EUR", **changes: object) -> OrderLine:
    fields: dict[str, object] = {
        "product_id": "P1",
        "quantity": 1,
        "unit_price": Money(price, currency),
    }
    fields.update(changes)
    return OrderLine(**fields)  # type: ignore[arg-type]


def make_order(**changes: object) -> Order:
    fields: dict[str, object] = {
        "id": "O1",
        "customer_id": "C1",
        "ordered_at": WHEN,
        "currency": "EUR",
    }
    fields.update(changes)
    return Order(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- invalid entities


def test_a_negative_quantity_is_rejected_naming_quantity_value_and_type() -> None:
    with pytest.raises(ValidationError) as info:
        line(quantity=-2)
    message = str(info.value)
    assert "OrderLine.quantity" in message and "Decimal('-2')" in message
    assert "type Decimal" in message
    assert isinstance(info.value, CRMError)


def test_a_zero_quantity_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.quantity"):
        line(quantity="0")


def test_a_bool_quantity_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.quantity.*type bool"):
        line(quantity=True)


def test_a_discount_outside_zero_to_one_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.discount"):
        line(discount="1.5")
    with pytest.raises(ValidationError, match=r"OrderLine\.discount"):
        line(discount=-0.1)


def test_a_unit_cost_in_another_currency_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"OrderLine\.unit_cost\.currency.*'USD'"):
        line(unit_cost=Money(1, "USD"))


def test_an_unknown_order_currency_is_rejected_naming_currency() -> None:
    with pytest.raises(ValidationError, match=r"Order\.currency.*'EUX'.*Hint"):
        make_order(currency="EUX")


def test_a_naive_ordered_at_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"Order\.ordered_at.*timezone-aware"):
        make_order(ordered_at=dt.datetime(2024, 1, 1))


def test_a_naive_created_at_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.created_at.*type datetime"):
        make_customer(created_at=dt.datetime(2024, 1, 1))


def test_a_date_is_not_accepted_as_created_at() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.created_at.*type date"):
        make_customer(created_at=dt.date(2024, 1, 1))


def test_a_line_in_another_currency_is_rejected_naming_its_position() -> None:
    lines = [line("1", "EUR"), line("1", "USD")]
    with pytest.raises(ValidationError, match=r"Order\.lines\[1\]\.unit_price\.currency.*'USD'"):
        make_order(lines=lines)


def test_an_unknown_status_is_rejected_listing_the_allowed_values() -> None:
    with pytest.raises(ValidationError, match=r"Order\.status.*'shipped'.*'draft'"):
        make_order(status="shipped")


@pytest.mark.parametrize("name", ["", "   ", None, 42])
def test_a_blank_or_non_string_customer_name_is_rejected(name: object) -> None:
    with pytest.raises(ValidationError, match=r"Customer\.name"):
        make_customer(name=name)


def test_a_customer_cannot_be_its_own_parent_account() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.parent_account_id.*'C1'"):
        make_customer(parent_account_id="C1")
    assert make_customer(parent_account_id="C0").parent_account_id == "C0"


def test_a_single_string_as_tags_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.tags.*Hint"):
        make_customer(tags="vip")


def test_duplicate_contact_ids_are_rejected() -> None:
    contacts = [Contact(id="k1", name="A"), Contact(id="k1", name="B")]
    with pytest.raises(ValidationError, match=r"Customer\.contacts\[1\]\.id.*'k1'"):
        make_customer(contacts=contacts)


@pytest.mark.parametrize("email", ["no-at-sign", "two@@example.com", "a b@example.com", "@x", "x@"])
def test_a_malformed_email_is_rejected(email: str) -> None:
    with pytest.raises(ValidationError, match=r"Contact\.email"):
        Contact(id="k1", name="Kim", email=email)


def test_an_unknown_buying_role_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"Contact\.buying_role.*'boss'"):
        Contact(id="k1", name="Kim", buying_role="boss")


# ---------------------------------------------------------------- valid entities


def test_enum_values_given_as_strings_are_converted() -> None:
    contact = Contact(id="k1", name="Kim", buying_role="gatekeeper", level="management")
    assert contact.buying_role is BuyingRole.GATEKEEPER
    assert contact.level is ContactLevel.MANAGEMENT
    assert make_customer(kind="organization").kind is CustomerKind.ORGANIZATION
    assert make_order(status="confirmed").status is OrderStatus.CONFIRMED


def test_defaults_are_a_person_customer_and_a_draft_order() -> None:
    customer = make_customer()
    assert customer.kind is CustomerKind.PERSON
    assert customer.tags == frozenset() and customer.contacts == ()
    order = make_order()
    assert order.status is OrderStatus.DRAFT and order.lines == ()


def test_unicode_names_are_accepted_as_given() -> None:
    assert make_customer(name="株式会社 山田").name == "株式会社 山田"
    assert Contact(id="k", name="Ζωή Παπαδοπούλου").name == "Ζωή Παπαδοπούλου"


def test_tags_and_lines_are_converted_from_any_iterable() -> None:
    customer = make_customer(tags=["a", "b", "a"])
    assert customer.tags == frozenset({"a", "b"})
    order = make_order(lines=[line()])
    assert isinstance(order.lines, tuple) and len(order.lines) == 1


# ---------------------------------------------------------------- totals


def test_line_total_cost_and_margin_computed_by_hand() -> None:
    # 3 units at 19.99 with 10% off: 3 * 19.99 = 59.97; 59.97 * 0.9 = 53.973
    # cost 3 * 12.50 = 37.50; margin 53.973 - 37.50 = 16.473
    item = line("19.99", quantity=3, discount="0.1", unit_cost=Money("12.50", "EUR"))
    assert item.total == Money("53.973", "EUR")
    assert item.cost == Money("37.50", "EUR")
    assert item.margin == Money("16.473", "EUR")


def test_a_line_without_unit_cost_has_zero_cost() -> None:
    item = line("4.00", quantity="2.5")
    assert item.cost == Money(0, "EUR")
    assert item.margin == Money("10.00", "EUR")


def test_order_total_cost_and_margin_computed_by_hand() -> None:
    lines = [
        line("100", "KWD", quantity=2, unit_cost=Money("60.500", "KWD")),  # 200 / 121 / 79
        line("0.250", "KWD", product_id="P2", quantity=4, discount="0.5"),  # 0.5 / 0 / 0.5
    ]
    order = make_order(currency="KWD", lines=lines)
    assert order.total == Money("200.500", "KWD")
    assert order.cost == Money("121.000", "KWD")
    assert order.margin == Money("79.500", "KWD")


def test_an_order_without_lines_totals_zero_in_its_currency() -> None:
    order = make_order(currency="JPY")
    assert order.total == Money(0, "JPY")
    assert order.cost == Money(0, "JPY")
    assert order.margin == Money(0, "JPY")


# ---------------------------------------------------------------- transitions


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "confirmed"),
        ("draft", "cancelled"),
        ("confirmed", "fulfilled"),
        ("confirmed", "cancelled"),
        ("fulfilled", "returned"),
    ],
)
def test_allowed_transitions_return_a_new_order(start: str, target: str) -> None:
    before = make_order(status=start)
    after = before.transition_to(target)
    assert after.status.value == target
    assert before.status.value == start
    assert after is not before


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "fulfilled"),
        ("draft", "returned"),
        ("draft", "draft"),
        ("confirmed", "draft"),
        ("fulfilled", "cancelled"),
        ("cancelled", "confirmed"),
        ("returned", "fulfilled"),
    ],
)
def test_forbidden_transitions_raise_invalid_transition_naming_both_statuses(
    start: str, target: str
) -> None:
    with pytest.raises(InvalidTransition) as info:
        make_order(status=start).transition_to(target)
    message = str(info.value)
    assert f"from {start} to {target}" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, CRMError)


def test_the_error_lists_the_allowed_targets() -> None:
    with pytest.raises(InvalidTransition, match="allowed from confirmed: cancelled, fulfilled"):
        make_order(status="confirmed").transition_to("returned")
    with pytest.raises(InvalidTransition, match="cancelled is terminal"):
        make_order(status="cancelled").confirm()


def test_named_transition_methods_walk_the_life_cycle() -> None:
    order = make_order()
    assert order.confirm().fulfil().mark_returned().status is OrderStatus.RETURNED
    assert order.cancel().status is OrderStatus.CANCELLED
    assert order.confirm().cancel().status is OrderStatus.CANCELLED


def test_the_transition_table_matches_the_documented_life_cycle() -> None:
    s = OrderStatus
    assert dict(ORDER_TRANSITIONS) == {
        s.DRAFT: {s.CONFIRMED, s.CANCELLED},
        s.CONFIRMED: {s.FULFILLED, s.CANCELLED},
        s.FULFILLED: {s.RETURNED},
        s.CANCELLED: set(),
        s.RETURNED: set(),
    }
    assert s.DRAFT.can_transition_to("confirmed")
    assert not s.RETURNED.can_transition_to(s.DRAFT)
    assert s.CANCELLED.is_terminal and not s.FULFILLED.is_terminal


# ---------------------------------------------------------------- changes return new instances


def test_evolve_returns_a_new_validated_instance() -> None:
    customer = make_customer()
    renamed = attrs.evolve(customer, name="Acme Ltd")
    assert renamed.name == "Acme Ltd" and customer.name == "Acme"
    with pytest.raises(ValidationError):
        attrs.evolve(customer, created_at=dt.datetime(2024, 1, 1))


def test_entities_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        make_customer().name = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        make_order().status = OrderStatus.CONFIRMED  # type: ignore[misc]


def test_add_line_appends_while_draft_and_refuses_afterwards() -> None:
    draft = make_order()
    grown = draft.add_line(line("2.50", quantity=2))
    assert grown.total == Money("5.00", "EUR") and draft.lines == ()
    with pytest.raises(ValidationError, match="only while its status is draft"):
        grown.confirm().add_line(line())
    with pytest.raises(ValidationError, match=r"lines\[1\]\.unit_price\.currency"):
        grown.add_line(line("1", "USD"))


def test_with_tag_and_without_tag_return_new_customers() -> None:
    customer = make_customer(tags={"b2b"})
    tagged = customer.with_tag("vip")
    assert tagged.tags == {"b2b", "vip"} and customer.tags == {"b2b"}
    assert tagged.without_tag("b2b").tags == {"vip"}
    assert customer.without_tag("absent") == customer
    with pytest.raises(ValidationError, match=r"Customer\.tags item"):
        customer.with_tag("")


def test_add_contact_appends_and_rejects_a_duplicate_id() -> None:
    customer = make_customer()
    kim = Contact(id="k1", name="Kim", email="kim@example.com", level="executive")
    with_kim = customer.add_contact(kim)
    assert with_kim.contacts == (kim,) and customer.contacts == ()
    with pytest.raises(ValidationError, match=r"contacts\[1\]\.id"):
        with_kim.add_contact(Contact(id="k1", name="Other"))


def test_entities_pickle_and_hash() -> None:
    order = make_order(lines=[line()])
    assert pickle.loads(pickle.dumps(order)) == order
    assert hash(make_customer(tags={"a"})) == hash(make_customer(tags=["a"]))


# ---------------------------------------------------------------- from_record


def test_from_record_maps_erp_field_names_and_parses_iso_datetimes() -> None:
    row = {
        "KUNNR": "0000042",
        "NAME1": "Müller GmbH",
        "ERDAT": "2023-11-05T14:30:00-05:00",
        "KTOKD": "organization",
        "TAGS": "b2b, dach,",
        "VKORG": "",
        "UNRELATED": 1,
    }
    customer = Customer.from_record(
        row,
        field_map={
            "id": "KUNNR",
            "name": "NAME1",
            "created_at": "ERDAT",
            "kind": "KTOKD",
            "tags": "TAGS",
            "acquisition_channel": "VKORG",
        },
    )
    assert customer.id == "0000042" and customer.name == "Müller GmbH"
    assert customer.created_at == dt.datetime(2023, 11, 5, 19, 30, tzinfo=dt.timezone.utc)
    assert customer.created_at.utcoffset() == dt.timedelta(hours=-5)
    assert customer.kind is CustomerKind.ORGANIZATION
    assert customer.tags == {"b2b", "dach"}
    assert customer.acquisition_channel is None


def test_from_record_builds_contacts_from_mappings() -> None:
    row = {
        "id": "C1",
        "name": "Acme",
        "created_at": WHEN,
        "contacts": [{"id": "k1", "name": "Kim", "buying_role": "user"}],
    }
    customer = Customer.from_record(row)
    assert customer.contacts == (Contact(id="k1", name="Kim", buying_role=BuyingRole.USER),)


def test_from_record_reports_a_missing_required_field_and_its_source_key() -> None:
    with pytest.raises(ValidationError, match=r"'created_at' \(record key 'ERDAT'\)"):
        Customer.from_record({"id": "C1", "name": "A"}, field_map={"created_at": "ERDAT"})


def test_from_record_rejects_unknown_field_map_names() -> None:
    with pytest.raises(ValidationError, match="unknown fields"):
        Customer.from_record({}, field_map={"customer_number": "KUNNR"})


def test_from_record_rejects_a_naive_datetime_string() -> None:
    with pytest.raises(ValidationError, match=r"Customer\.created_at"):
        Customer.from_record({"id": "C1", "name": "A", "created_at": "2024-01-01T00:00:00"})


def test_a_float_quantity_becomes_the_decimal_of_its_str() -> None:
    assert line(quantity=1.1).quantity == Decimal("1.1")
