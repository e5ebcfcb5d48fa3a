"""Customer, Contact, Order and OrderLine entities (private module; import from crmcore.customers).

Only the standard library, attrs and dateutil are imported here, never numpy or pandas.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import attrs
from dateutil import parser as date_parser

from crmcore._entity_checks import (
    aware_datetime,
    enum_value,
    fail,
    member_of,
    non_empty_str,
    optional_str,
    to_decimal,
    to_frozenset,
    to_tuple,
)
from crmcore.exceptions import InvalidTransition, ValidationError
from crmcore.money import Money, validate_currency_code

__all__ = [
    "ORDER_TRANSITIONS",
    "BuyingRole",
    "Contact",
    "ContactLevel",
    "Customer",
    "CustomerKind",
    "Order",
    "OrderLine",
    "OrderStatus",
]


# ====================================================================== enums


class CustomerKind(str, enum.Enum):
    """Whether a customer is a person or an organization.

    Examples
    --------
    >>> CustomerKind("organization")
    <CustomerKind.ORGANIZATION: 'organization'>
    """

    PERSON = "person"
    ORGANIZATION = "organization"


class BuyingRole(str, enum.Enum):
    """The part a contact plays in a buying decision.

    Examples
    --------
    >>> BuyingRole("decision_maker").value
    'decision_maker'
    """

    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    TECHNICAL_BUYER = "technical_buyer"
    FINANCIAL_BUYER = "financial_buyer"
    GATEKEEPER = "gatekeeper"


class ContactLevel(str, enum.Enum):
    """The organizational level of a contact.

    Examples
    --------
    >>> [level.value for level in ContactLevel]
    ['operational', 'management', 'executive']
    """

    OPERATIONAL = "operational"
    MANAGEMENT = "management"
    EXECUTIVE = "executive"


class OrderStatus(str, enum.Enum):
    """The life-cycle status of an order.

    Allowed changes (see :data:`ORDER_TRANSITIONS`): draft -> confirmed | cancelled,
    confirmed -> fulfilled | cancelled, fulfilled -> returned. ``cancelled`` and ``returned``
    are terminal.

    Examples
    --------
    >>> OrderStatus.DRAFT.can_transition_to(OrderStatus.CONFIRMED)
    True
    >>> OrderStatus.CANCELLED.can_transition_to("confirmed")
    False
    """

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    def can_transition_to(self, target: OrderStatus | str) -> bool:
        """Return True if an order may move from this status to `target`.

        Parameters
        ----------
        target : OrderStatus or str
            The status to move to (its value as a str is accepted).

        Returns
        -------
        bool
            Whether ``target`` is in ``ORDER_TRANSITIONS[self]``.

        Raises
        ------
        ValidationError
            If `target` is not a valid status.

        Examples
        --------
        >>> OrderStatus.FULFILLED.can_transition_to("returned")
        True
        """
        return _as_status(target, "target") in ORDER_TRANSITIONS[self]

    @property
    def is_terminal(self) -> bool:
        """True when no change is allowed from this status.

        Examples
        --------
        >>> OrderStatus.RETURNED.is_terminal
        True
        """
        return not ORDER_TRANSITIONS[self]


#: Allowed order status changes: status -> the statuses it may move to.
ORDER_TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType(
    {
        OrderStatus.DRAFT: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
        OrderStatus.CONFIRMED: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
        OrderStatus.FULFILLED: frozenset({OrderStatus.RETURNED}),
        OrderStatus.CANCELLED: frozenset(),
        OrderStatus.RETURNED: frozenset(),
    }
)


def _as_status(value: object, field: str) -> OrderStatus:
    converted = enum_value(OrderStatus, value)
    if not isinstance(converted, OrderStatus):
        allowed = ", ".join(repr(s.value) for s in OrderStatus)
        raise fail("OrderStatus", field, "an OrderStatus", value, f"allowed values: {allowed}.")
    return converted


# Named converters (the attrs mypy plugin needs named functions).
def _to_kind(value: CustomerKind | str) -> Any:
    return enum_value(CustomerKind, value)


def _to_role(value: BuyingRole | str | None) -> Any:
    return enum_value(BuyingRole, value)


def _to_level(value: ContactLevel | str | None) -> Any:
    return enum_value(ContactLevel, value)


def _to_status(value: OrderStatus | str) -> Any:
    return enum_value(OrderStatus, value)


def _to_quantity(value: Decimal | int | str | float) -> Any:
    return to_decimal(value)


def _to_tags(value: Iterable[str]) -> Any:
    return to_frozenset(value)


def _to_contacts(value: Iterable[Contact]) -> Any:
    return to_tuple(value)


def _to_lines(value: Iterable[OrderLine]) -> Any:
    return to_tuple(value)


def _zero() -> Decimal:
    return Decimal(0)


# ====================================================================== contacts


def _check_email(instance: Contact, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    rule = "None or an e-mail address (one '@', non-empty parts, no spaces)"
    if not isinstance(value, str):
        raise fail(instance, attribute.name, rule, value)
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in value):
        raise fail(instance, attribute.name, rule, value)


@attrs.frozen(kw_only=True)
class Contact:
    """A person to talk to at a customer.

    Parameters
    ----------
    id : str
        Non-empty contact id, unique within its customer.
    name : str
        Non-empty display name (any script).
    email : str or None, default None
        Checked loosely: one ``@``, non-empty parts, no whitespace.
    phone : str or None, default None
        Free text.
    buying_role : BuyingRole, str or None, default None
        The contact's part in buying decisions (its value as a str is accepted).
    level : ContactLevel, str or None, default None
        Operational, management or executive (its value as a str is accepted).

    Raises
    ------
    ValidationError
        If a field breaks its rule; the message names the field, the value and its type.

    Examples
    --------
    >>> Contact(id="c1", name="Ana Lima", email="ana@example.com", buying_role="influencer")
    Contact(id='c1', name='Ana Lima', email='ana@example.com', phone=None, \
buying_role=<BuyingRole.INFLUENCER: 'influencer'>, level=None)
    >>> Contact(id="c1", name="Ana Lima", email="ana at example.com")
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: Contact.email must be None or an e-mail address \
(one '@', non-empty parts, no spaces); got 'ana at example.com' (type str).
    """

    id: str = attrs.field(validator=non_empty_str)
    name: str = attrs.field(validator=non_empty_str)
    email: str | None = attrs.field(default=None, validator=_check_email)
    phone: str | None = attrs.field(default=None, validator=optional_str)
    buying_role: BuyingRole | None = attrs.field(
        default=None, converter=_to_role, validator=member_of(BuyingRole, optional=True)
    )
    level: ContactLevel | None = attrs.field(
        default=None, converter=_to_level, validator=member_of(ContactLevel, optional=True)
    )


# ====================================================================== customers


def _check_tags(instance: Customer, attribute: attrs.Attribute[Any], value: object) -> None:
    rule = "a collection of non-empty str"
    if isinstance(value, str):
        raise fail(instance, attribute.name, rule, value, f"wrap a single tag: {{{value!r}}}.")
    if not isinstance(value, frozenset):
        raise fail(instance, attribute.name, rule, value)
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise fail(instance, f"{attribute.name} item", "a non-empty str", tag)


def _check_contacts(instance: Customer, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise fail(instance, attribute.name, "a sequence of Contact", value)
    seen: set[str] = set()
    for index, contact in enumerate(value):
        if not isinstance(contact, Contact):
            raise fail(instance, f"{attribute.name}[{index}]", "a Contact", contact)
        if contact.id in seen:
            raise fail(
                instance,
                f"{attribute.name}[{index}].id",
                "unique among the customer's contacts",
                contact.id,
                "give each contact its own id.",
            )
        seen.add(contact.id)


def _check_parent(instance: Customer, attribute: attrs.Attribute[Any], value: object) -> None:
    optional_str(instance, attribute, value)
    if value is not None and value == instance.id:
        raise fail(
            instance,
            attribute.name,
            "different from the customer's own id",
            value,
            "leave it None for a top-level account.",
        )


_CUSTOMER_FIELDS: Final = (
    "id",
    "name",
    "kind",
    "created_at",
    "acquisition_channel",
    "parent_account_id",
    "tags",
    "contacts",
)


@attrs.frozen(kw_only=True)
class Customer:
    """A customer: a person or an organization that buys.

    Parameters
    ----------
    id : str
        Non-empty customer id.
    name : str
        Non-empty after stripping; any script.
    created_at : datetime.datetime
        When the customer was created; must be timezone-aware (its zone is kept).
    kind : CustomerKind or str, default CustomerKind.PERSON
        Person or organization.
    acquisition_channel : str or None, default None
        Where the customer came from (free text, e.g. ``"web"``).
    parent_account_id : str or None, default None
        Id of the parent account; may not equal `id`.
    tags : iterable of str, default empty
        Stored as a ``frozenset[str]``; a single str is rejected (wrap it in a set).
    contacts : iterable of Contact, default empty
        Stored as a tuple; contact ids must be unique.

    Raises
    ------
    ValidationError
        If a field breaks its rule; the message names the field, the value and its type.

    Examples
    --------
    >>> import datetime as dt
    >>> acme = Customer(
    ...     id="C1", name="Acme GmbH", kind="organization",
    ...     created_at=dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone.utc), tags=["b2b"],
    ... )
    >>> acme.kind
    <CustomerKind.ORGANIZATION: 'organization'>
    >>> sorted(acme.with_tag("vip").tags)
    ['b2b', 'vip']
    >>> Customer(id="C2", name="Bo", created_at=dt.datetime(2024, 5, 1))
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: Customer.created_at must be a timezone-aware datetime; \
got datetime.datetime(2024, 5, 1, 0, 0) (type datetime). Hint: attach a zone, e.g. \
value.replace(tzinfo=zoneinfo.ZoneInfo('Europe/Berlin')); crmcore never guesses the zone of a \
naive datetime.
    """

    id: str = attrs.field(validator=non_empty_str)
    name: str = attrs.field(validator=non_empty_str)
    created_at: dt.datetime = attrs.field(validator=aware_datetime)
    kind: CustomerKind = attrs.field(
        default=CustomerKind.PERSON, converter=_to_kind, validator=member_of(CustomerKind)
    )
    acquisition_channel: str | None = attrs.field(default=None, validator=optional_str)
    parent_account_id: str | None = attrs.field(default=None, validator=_check_parent)
    tags: frozenset[str] = attrs.field(factory=frozenset, converter=_to_tags, validator=_check_tags)
    contacts: tuple[Contact, ...] = attrs.field(
        factory=tuple, converter=_to_contacts, validator=_check_contacts
    )

    def with_tag(self, tag: str) -> Customer:
        """Return a copy with `tag` added (unchanged tags if already present).

        Parameters
        ----------
        tag : str
            A non-empty tag.

        Returns
        -------
        Customer
            A new instance.

        Examples
        --------
        >>> import datetime as dt
        >>> created = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        >>> c = Customer(id="C1", name="Bo", created_at=created)
        >>> c.with_tag("vip").tags
        frozenset({'vip'})
        >>> c.tags
        frozenset()
        """
        if not isinstance(tag, str):
            raise fail(self, "tags item", "a non-empty str", tag)
        return attrs.evolve(self, tags=self.tags | {tag})

    def without_tag(self, tag: str) -> Customer:
        """Return a copy without `tag` (no error if it is absent).

        Parameters
        ----------
        tag : str
            The tag to remove.

        Returns
        -------
        Customer
            A new instance.

        Examples
        --------
        >>> import datetime as dt
        >>> c = Customer(
        ...     id="C1", name="Bo", created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        ...     tags={"vip", "b2b"},
        ... )
        >>> c.without_tag("vip").tags
        frozenset({'b2b'})
        """
        if not isinstance(tag, str):
            raise fail(self, "tags item", "a str", tag)
        return attrs.evolve(self, tags=self.tags - {tag})

    def add_contact(self, contact: Contact) -> Customer:
        """Return a copy with `contact` appended.

        Parameters
        ----------
        contact : Contact
            The new contact; its id must not be used by another contact of this customer.

        Returns
        -------
        Customer
            A new instance.

        Raises
        ------
        ValidationError
            If the contact id is already used, or `contact` is not a Contact.

        Examples
        --------
        >>> import datetime as dt
        >>> created = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        >>> c = Customer(id="C1", name="Bo", created_at=created)
        >>> c2 = c.add_contact(Contact(id="k1", name="Kim", level="executive"))
        >>> [k.id for k in c2.contacts], len(c.contacts)
        (['k1'], 0)
        """
        return attrs.evolve(self, contacts=(*self.contacts, contact))

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], *, field_map: Mapping[str, str] | None = None
    ) -> Customer:
        """Build a Customer from a flat record such as an ERP row.

        Parameters
        ----------
        record : Mapping[str, Any]
            The source row. Keys not named by the field map are ignored.
        field_map : Mapping[str, str] or None, default None
            Customer field name -> record key, e.g. ``{"id": "KUNNR", "name": "NAME1"}``.
            Fields not mapped are read under their own name.

        Returns
        -------
        Customer
            The validated customer.

        Raises
        ------
        ValidationError
            If the field map names an unknown field, a required field (``id``, ``name``,
            ``created_at``) is missing, or a value breaks a rule.

        Notes
        -----
        Conversions applied at this boundary only: ``created_at`` given as a str is parsed with
        :func:`dateutil.parser.isoparse` (it must carry an offset); ``tags`` given as a str is split
        on commas; ``contacts`` may hold Contact objects or mappings of Contact fields; empty
        strings in ``acquisition_channel`` and ``parent_account_id`` become None.

        Examples
        --------
        >>> row = {"KUNNR": "0042", "NAME1": "Müller AG", "ERDAT": "2024-03-01T08:00:00+01:00",
        ...        "KTOKD": "organization", "TAGS": "b2b, dach", "CHANNEL": ""}
        >>> c = Customer.from_record(row, field_map={
        ...     "id": "KUNNR", "name": "NAME1", "created_at": "ERDAT", "kind": "KTOKD",
        ...     "tags": "TAGS", "acquisition_channel": "CHANNEL"})
        >>> c.id, c.name, c.created_at.isoformat(), sorted(c.tags), c.acquisition_channel
        ('0042', 'Müller AG', '2024-03-01T08:00:00+01:00', ['b2b', 'dach'], None)
        """
        if not isinstance(record, Mapping):
            raise fail(
                "Customer", "from_record(record)", "a mapping of record keys to values", record
            )
        if field_map is not None and not isinstance(field_map, Mapping):
            raise fail(
                "Customer",
                "from_record(field_map)",
                "a mapping of Customer field names to record keys, or None",
                field_map,
                'e.g. field_map={"id": "KUNNR"}.',
            )
        mapping = dict(field_map or {})
        bad_keys = [k for k in mapping.values() if not isinstance(k, str)]
        if bad_keys:
            raise fail("Customer", "from_record(field_map) value", "a str record key", bad_keys[0])
        unknown = sorted(set(mapping) - set(_CUSTOMER_FIELDS))
        if unknown:
            raise ValidationError(
                f"Customer.from_record: field_map names unknown fields {unknown}; "
                f"Customer fields are {list(_CUSTOMER_FIELDS)}."
            )
        values: dict[str, Any] = {}
        for name in _CUSTOMER_FIELDS:
            key = mapping.get(name, name)
            if key in record:
                values[name] = record[key]
            elif name in ("id", "name", "created_at"):
                raise ValidationError(
                    f"Customer.from_record: required field {name!r} (record key {key!r}) is "
                    f"missing; record keys: {sorted(map(str, record))}. Hint: pass field_map."
                )
        created = values["created_at"]
        if isinstance(created, str):
            try:
                values["created_at"] = date_parser.isoparse(created)
            except ValueError as error:
                raise fail(
                    "Customer", "created_at", "an ISO-8601 datetime with an offset", created
                ) from error
        tags = values.get("tags")
        if isinstance(tags, str):
            values["tags"] = frozenset(t.strip() for t in tags.split(",") if t.strip())
        elif tags is None and "tags" in values:
            values["tags"] = frozenset()
        contacts = values.get("contacts")
        if contacts is not None and not isinstance(contacts, (str, bytes)):
            values["contacts"] = tuple(
                Contact(**k) if isinstance(k, Mapping) else k for k in contacts
            )
        elif contacts is None and "contacts" in values:
            values["contacts"] = ()
        for name in ("acquisition_channel", "parent_account_id"):
            if values.get(name) == "":
                values[name] = None
        return cls(**values)


# ====================================================================== orders


def _check_positive(instance: OrderLine, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise fail(
            instance,
            attribute.name,
            "a positive finite Decimal (int, str or float accepted)",
            value,
            "record returns as a 'returned' order, not a negative quantity.",
        )


def _check_discount(instance: OrderLine, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 1:
        raise fail(
            instance,
            attribute.name,
            "a Decimal fraction in [0, 1]",
            value,
            "a 15% discount is Decimal('0.15').",
        )


def _check_money(instance: OrderLine, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money):
        raise fail(instance, attribute.name, "a Money", value)


def _check_unit_cost(instance: OrderLine, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Money):
        raise fail(instance, attribute.name, "a Money or None", value)
    if value.currency != instance.unit_price.currency:
        raise fail(
            instance,
            f"{attribute.name}.currency",
            f"the unit_price currency {instance.unit_price.currency}",
            value.currency,
        )


@attrs.frozen(kw_only=True)
class OrderLine:
    """One product line of an order.

    Parameters
    ----------
    product_id : str
        Non-empty product id.
    quantity : Decimal, int, str or float
        A positive quantity (a float goes through ``str``).
    unit_price : Money
        Price of one unit before discount.
    discount : Decimal, int, str or float, default 0
        Fraction in [0, 1] taken off the line total.
    unit_cost : Money or None, default None
        Cost of one unit, in the unit_price currency; None means unknown (cost counted as 0).

    Raises
    ------
    ValidationError
        If a field breaks its rule; the message names the field, the value and its type.

    Notes
    -----
    ``total = quantity * unit_price * (1 - discount)``, ``cost = quantity * unit_cost``,
    ``margin = total - cost``; all exact (no rounding).

    Examples
    --------
    >>> line = OrderLine(product_id="P1", quantity=3, unit_price=Money("10.00", "EUR"),
    ...                  discount="0.1", unit_cost=Money("6.00", "EUR"))
    >>> line.total, line.cost, line.margin
    (Money('27.000', 'EUR'), Money('18.00', 'EUR'), Money('9.000', 'EUR'))
    >>> OrderLine(product_id="P1", quantity=-1, unit_price=Money("1", "EUR"))
    Traceback (most recent call last):
    ...
    crmcore.exceptions.ValidationError: OrderLine.quantity must be a positive finite Decimal \
(int, str or float accepted); got Decimal('-1') (type Decimal). Hint: record returns as a \
'returned' order, not a negative quantity.
    """

    product_id: str = attrs.field(validator=non_empty_str)
    quantity: Decimal = attrs.field(converter=_to_quantity, validator=_check_positive)
    unit_price: Money = attrs.field(validator=_check_money)
    discount: Decimal = attrs.field(
        factory=_zero, converter=_to_quantity, validator=_check_discount
    )
    unit_cost: Money | None = attrs.field(default=None, validator=_check_unit_cost)

    @property
    def currency(self) -> str:
        """The line currency (that of `unit_price`).

        Examples
        --------
        >>> OrderLine(product_id="P", quantity=1, unit_price=Money(5, "JPY")).currency
        'JPY'
        """
        return self.unit_price.currency

    @property
    def total(self) -> Money:
        """``quantity * unit_price * (1 - discount)``, exact.

        Examples
        --------
        >>> OrderLine(product_id="P", quantity=2, unit_price=Money("2.50", "USD")).total
        Money('5.00', 'USD')
        """
        return self.unit_price * (self.quantity * (1 - self.discount))

    @property
    def cost(self) -> Money:
        """``quantity * unit_cost``, or zero when the unit cost is unknown.

        Examples
        --------
        >>> OrderLine(product_id="P", quantity=2, unit_price=Money("2.50", "USD")).cost
        Money('0', 'USD')
        """
        if self.unit_cost is None:
            return Money.zero(self.currency)
        return self.unit_cost * self.quantity

    @property
    def margin(self) -> Money:
        """``total - cost``.

        Examples
        --------
        >>> OrderLine(product_id="P", quantity=2, unit_price=Money("2.50", "USD"),
        ...           unit_cost=Money("1.50", "USD")).margin
        Money('2.00', 'USD')
        """
        return self.total - self.cost


def _check_currency(instance: Order, attribute: attrs.Attribute[Any], value: object) -> None:
    validate_currency_code(value, field=attribute.name, owner="Order")


def _check_lines(instance: Order, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple):
        raise fail(instance, attribute.name, "a sequence of OrderLine", value)
    for index, line in enumerate(value):
        if not isinstance(line, OrderLine):
            raise fail(instance, f"{attribute.name}[{index}]", "an OrderLine", line)
        if line.currency != instance.currency:
            raise fail(
                instance,
                f"{attribute.name}[{index}].unit_price.currency",
                f"the order currency {instance.currency}",
                line.currency,
                "convert the price with ExchangeRates or use one order per currency.",
            )


@attrs.frozen(kw_only=True)
class Order:
    """A customer order: lines in one currency with a life-cycle status.

    Parameters
    ----------
    id : str
        Non-empty order id.
    customer_id : str
        Non-empty id of the ordering customer.
    ordered_at : datetime.datetime
        When the order was placed; must be timezone-aware (its zone is kept).
    currency : str
        Active ISO-4217 code; every line is priced in it.
    status : OrderStatus or str, default OrderStatus.DRAFT
        The life-cycle status; change it with :meth:`transition_to` and friends.
    lines : iterable of OrderLine, default empty
        Stored as a tuple.

    Raises
    ------
    ValidationError
        If a field breaks its rule, e.g. a line priced in another currency
        (the message names ``lines[i].unit_price.currency``).

    Examples
    --------
    >>> import datetime as dt
    >>> order = Order(
    ...     id="O1", customer_id="C1", currency="EUR",
    ...     ordered_at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc),
    ...     lines=[OrderLine(product_id="P1", quantity=2, unit_price=Money("9.50", "EUR"))],
    ... )
    >>> order.total
    Money('19.00', 'EUR')
    >>> order.confirm().fulfil().status
    <OrderStatus.FULFILLED: 'fulfilled'>
    >>> order.mark_returned()
    Traceback (most recent call last):
    ...
    crmcore.exceptions.InvalidTransition: Order 'O1' cannot move from draft to returned; \
allowed from draft: cancelled, confirmed.
    """

    id: str = attrs.field(validator=non_empty_str)
    customer_id: str = attrs.field(validator=non_empty_str)
    ordered_at: dt.datetime = attrs.field(validator=aware_datetime)
    currency: str = attrs.field(validator=_check_currency)
    status: OrderStatus = attrs.field(
        default=OrderStatus.DRAFT, converter=_to_status, validator=member_of(OrderStatus)
    )
    lines: tuple[OrderLine, ...] = attrs.field(
        factory=tuple, converter=_to_lines, validator=_check_lines
    )

    @property
    def total(self) -> Money:
        """Sum of the line totals in the order currency (zero for no lines).

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="KWD",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).total
        Money('0', 'KWD')
        """
        return sum((line.total for line in self.lines), Money.zero(self.currency))

    @property
    def cost(self) -> Money:
        """Sum of the line costs (unknown unit costs count as zero).

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        ...       lines=[OrderLine(product_id="P", quantity=4, unit_price=Money(3, "USD"),
        ...                        unit_cost=Money("1.25", "USD"))]).cost
        Money('5.00', 'USD')
        """
        return sum((line.cost for line in self.lines), Money.zero(self.currency))

    @property
    def margin(self) -> Money:
        """``total - cost``.

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        ...       lines=[OrderLine(product_id="P", quantity=4, unit_price=Money(3, "USD"),
        ...                        unit_cost=Money("1.25", "USD"))]).margin
        Money('7.00', 'USD')
        """
        return self.total - self.cost

    def transition_to(self, status: OrderStatus | str) -> Order:
        """Return a copy of this order in `status`.

        Parameters
        ----------
        status : OrderStatus or str
            The target status.

        Returns
        -------
        Order
            A new instance; this one is unchanged.

        Raises
        ------
        InvalidTransition
            If :data:`ORDER_TRANSITIONS` does not allow the change; the message names both
            statuses and the allowed targets.
        ValidationError
            If `status` is not a valid OrderStatus.

        Examples
        --------
        >>> import datetime as dt
        >>> o = Order(id="O", customer_id="C", currency="USD",
        ...           ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
        >>> o.transition_to("cancelled").status.value
        'cancelled'
        """
        target = _as_status(status, "status")
        if not self.status.can_transition_to(target):
            allowed = ", ".join(sorted(s.value for s in ORDER_TRANSITIONS[self.status]))
            raise InvalidTransition(
                f"Order {self.id!r} cannot move from {self.status.value} to {target.value}; "
                + (
                    f"allowed from {self.status.value}: {allowed}."
                    if allowed
                    else f"{self.status.value} is terminal."
                )
            )
        return attrs.evolve(self, status=target)

    def confirm(self) -> Order:
        """Move draft -> confirmed; see :meth:`transition_to`.

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).confirm().status.value
        'confirmed'
        """
        return self.transition_to(OrderStatus.CONFIRMED)

    def fulfil(self) -> Order:
        """Move confirmed -> fulfilled; see :meth:`transition_to`.

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD", status="confirmed",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).fulfil().status.value
        'fulfilled'
        """
        return self.transition_to(OrderStatus.FULFILLED)

    def cancel(self) -> Order:
        """Move draft or confirmed -> cancelled; see :meth:`transition_to`.

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD", status="confirmed",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).cancel().status.value
        'cancelled'
        """
        return self.transition_to(OrderStatus.CANCELLED)

    def mark_returned(self) -> Order:
        """Move fulfilled -> returned; see :meth:`transition_to`.

        Examples
        --------
        >>> import datetime as dt
        >>> Order(id="O", customer_id="C", currency="USD", status="fulfilled",
        ...       ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).mark_returned().status
        <OrderStatus.RETURNED: 'returned'>
        """
        return self.transition_to(OrderStatus.RETURNED)

    def add_line(self, line: OrderLine) -> Order:
        """Return a copy with `line` appended; only a draft order can take new lines.

        Parameters
        ----------
        line : OrderLine
            A line priced in the order currency.

        Returns
        -------
        Order
            A new instance.

        Raises
        ------
        ValidationError
            If the order is not a draft, or the line's currency differs from the order's.

        Examples
        --------
        >>> import datetime as dt
        >>> o = Order(id="O", customer_id="C", currency="JPY",
        ...           ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
        >>> o.add_line(OrderLine(product_id="P", quantity=3, unit_price=Money(500, "JPY"))).total
        Money('1500', 'JPY')
        """
        if self.status is not OrderStatus.DRAFT:
            raise ValidationError(
                f"Order {self.id!r} is {self.status.value}; lines can be added only while its "
                f"status is draft (got a line for product {getattr(line, 'product_id', line)!r}). "
                "Hint: create a new order."
            )
        return attrs.evolve(self, lines=(*self.lines, line))
