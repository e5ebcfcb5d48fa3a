"""Customers and orders: frozen, validated domain entities.

Imports only the standard library, attrs and dateutil (never numpy or pandas). Every change
returns a new instance; invalid values raise :class:`~crmcore.exceptions.ValidationError` naming
the field, the value and its type.

Examples
--------
>>> import datetime as dt
>>> from crmcore.customers import Order, OrderLine
>>> from crmcore.money import Money
>>> order = Order(id="O1", customer_id="C1", currency="USD",
...               ordered_at=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
>>> order.add_line(OrderLine(product_id="P1", quantity=2, unit_price=Money("4.25", "USD"))).total
Money('8.50', 'USD')
"""

from __future__ import annotations

from crmcore.customers._entities import (
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
