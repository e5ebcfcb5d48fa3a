"""Entity <-> DataFrame conversion, and the frame validation helpers (from crmcore._validation).

This is the one place where entities become canonical pandas DataFrames and back. It imports pandas
and narwhals, so it is not imported by ``import crmcore``.

The conversions are **lossless**: ``frame_to_orders(orders_to_frame(orders)) == list(orders)`` and
``frame_to_customers(customers_to_frame(customers)) == list(customers)``, down to the Decimal digits
(``Decimal('1.50')`` stays ``'1.50'``) and the time zone of each datetime. To get both exactness and
fast analytics, every frame carries two kinds of columns:

* **analytics columns** with native pandas dtypes (``datetime64[ns, UTC]``, ``float64``, strings),
  derived from the entities, for algorithms; and
* **exact columns** (``object`` dtype) holding the original Python values: Decimal amounts,
  tz-aware ``datetime`` objects in their own zones, and tuples of entities (order lines,
  contacts).

On the way back only the exact and identity columns are read; the derived analytics columns
(``date``, ``amount``, ``margin``, ``amount_exact``, ``margin_exact``, ``created_at_utc``) are
ignored, so edit entities, not those columns.

Orders frame (:func:`orders_to_frame`), one row per order, default RangeIndex, columns in this
order:

================  ========================  ====================================================
column            dtype                     meaning
================  ========================  ====================================================
customer_id       str                       ``Order.customer_id``
order_id          str                       ``Order.id``
date              datetime64[ns, UTC]       ``Order.ordered_at`` converted to UTC
amount            float64                   ``float(Order.total.amount)``
margin            float64                   ``float(Order.margin.amount)``
currency          str                       ISO-4217 code of the order
status            str                       ``Order.status.value`` (``draft``, ``confirmed``, ...)
amount_exact      object (Decimal)          ``Order.total.amount``, exact
margin_exact      object (Decimal)          ``Order.margin.amount``, exact
ordered_at        object (datetime)         the original tz-aware ``datetime``, own zone
lines             object (tuple)            ``Order.lines``: a tuple of ``OrderLine``
================  ========================  ====================================================

Customers frame (:func:`customers_to_frame`), one row per customer, default RangeIndex:

===================  ========================  =================================================
column               dtype                     meaning
===================  ========================  =================================================
customer_id          str                       ``Customer.id``
name                 str                       ``Customer.name``
kind                 str                       ``Customer.kind.value`` (``person``/``organization``)
created_at           object (datetime)         the original tz-aware ``datetime``, own zone
created_at_utc       datetime64[ns, UTC]       ``created_at`` converted to UTC
acquisition_channel  object (str or None)      ``Customer.acquisition_channel``
parent_account_id    object (str or None)      ``Customer.parent_account_id``
tags                 object (frozenset)        ``Customer.tags``
contacts             object (tuple)            ``Customer.contacts``: a tuple of ``Contact``
===================  ========================  =================================================

Opportunities frame (:func:`opportunities_to_frame`), one row per
:class:`~crmcore.pipeline.Opportunity`, default RangeIndex (the history goes to the
stage-history event frame of :func:`opportunities_to_history`; :func:`frame_to_opportunities`
takes it back with ``history=``):

=================  ========================  ==================================================
column             dtype                     meaning
=================  ========================  ==================================================
opportunity_id     str                       ``Opportunity.id``
customer_id        str                       ``Opportunity.customer_id``
name               str                       ``Opportunity.name``
amount             float64                   ``float(Opportunity.amount.amount)``
currency           str                       ISO-4217 code of the amount
amount_exact       object (Decimal)          ``Opportunity.amount.amount``, exact
stage              str                       the current stage name
expected_close     datetime64[ns]            the expected close date (midnight)
owner              str                       ``Opportunity.owner``
created_at         datetime64[ns, UTC]       ``Opportunity.created_at`` converted to UTC
probability        float64                   the override; NaN = None (the stage default)
forecast_category  object (str or None)      the override's label (``Commit``, ...) or None
lost_reason        object (str or None)      ``Opportunity.lost_reason``
created_at_exact   object (datetime)         the original tz-aware ``created_at``, own zone
=================  ========================  ==================================================

Tickets frame (:func:`tickets_to_frame`) and ticket-event frame (:func:`ticket_events_to_frame`):
columns :data:`TICKET_COLUMNS` and :data:`TICKET_EVENT_COLUMNS`, timestamps in UTC, enums as
their string values; :func:`frame_to_tickets` joins the two back into
:class:`~crmcore.service.Ticket` entities.

Notes
-----
``datetime64[ns, UTC]`` covers the years 1677 to 2262; datetimes outside that range cannot be
put in a frame. Optional string columns are ``object`` so that None stays None (pandas' string
dtype would turn it into NaN). Input frames are never mutated. A Polars (or other narwhals-
supported eager) frame is accepted by the ``frame_to_*`` functions and converted to pandas first.

Examples
--------
>>> import datetime as dt
>>> from crmcore.customers import Order, OrderLine
>>> from crmcore.money import Money
>>> order = Order(
...     id="O1", customer_id="C1", currency="EUR", status="confirmed",
...     ordered_at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
...     lines=[OrderLine(product_id="P1", quantity=2, unit_price=Money("9.95", "EUR"))],
... )
>>> frame = orders_to_frame([order])
>>> frame[["order_id", "date", "amount", "status"]]
  order_id                      date  amount     status
0       O1 2024-05-01 10:00:00+00:00    19.9  confirmed
>>> frame_to_orders(frame) == [order]
True
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import attrs
import numpy as np
import pandas as pd

# the frame validation helpers live in crmcore._validation (algorithms import them without
# the entity conversion code); they are public here, and the conversions below use them too
from crmcore._validation import (
    as_narwhals,
    check_no_duplicates,
    check_no_missing,
    check_param_choice,
    check_param_number,
    check_single_currency,
    coerce_datetime_column,
    coerce_timestamp,
    format_ids,
    nearest_name,
    require_columns,
    to_pandas,
)
from crmcore.customers import Customer, Order
from crmcore.exceptions import InvalidTransition, ValidationError
from crmcore.money import Money
from crmcore.pipeline._entities import Opportunity, Pipeline, StageChange
from crmcore.pipeline._history import (
    history_to_opportunities,
    opportunities_to_history,
    read_history,
)

if TYPE_CHECKING:  # imported on first use at run time (see _ticket_classes)
    from crmcore.service._entities import Ticket

__all__ = [
    "CUSTOMER_COLUMNS",
    "OPPORTUNITY_COLUMNS",
    "ORDER_COLUMNS",
    "TICKET_COLUMNS",
    "TICKET_EVENT_COLUMNS",
    "as_narwhals",
    "check_no_duplicates",
    "check_no_missing",
    "check_param_choice",
    "check_param_number",
    "check_single_currency",
    "coerce_datetime_column",
    "coerce_timestamp",
    "customers_to_frame",
    "format_ids",
    "frame_to_customers",
    "frame_to_opportunities",
    "frame_to_orders",
    "frame_to_tickets",
    "history_to_opportunities",
    "nearest_name",
    "opportunities_to_frame",
    "opportunities_to_history",
    "orders_to_frame",
    "require_columns",
    "ticket_events_to_frame",
    "tickets_to_frame",
    "to_pandas",
]

T = TypeVar("T")

#: Columns of :func:`orders_to_frame`, in order.
ORDER_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "order_id",
    "date",
    "amount",
    "margin",
    "currency",
    "status",
    "amount_exact",
    "margin_exact",
    "ordered_at",
    "lines",
)

#: Columns of :func:`customers_to_frame`, in order.
CUSTOMER_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "name",
    "kind",
    "created_at",
    "created_at_utc",
    "acquisition_channel",
    "parent_account_id",
    "tags",
    "contacts",
)

#: Columns of :func:`opportunities_to_frame`, in order.
OPPORTUNITY_COLUMNS: Final[tuple[str, ...]] = (
    "opportunity_id",
    "customer_id",
    "name",
    "amount",
    "currency",
    "amount_exact",
    "stage",
    "expected_close",
    "owner",
    "created_at",
    "probability",
    "forecast_category",
    "lost_reason",
    "created_at_exact",
)

#: Columns of :func:`tickets_to_frame`, in order.
TICKET_COLUMNS: Final[tuple[str, ...]] = (
    "ticket_id",
    "customer_id",
    "contact_id",
    "opened_at",
    "channel",
    "category",
    "priority",
    "status",
    "satisfaction",
)

#: Columns of :func:`ticket_events_to_frame`, in order.
TICKET_EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "ticket_id",
    "occurred_at",
    "kind",
    "status",
    "automatic",
    "author_id",
)

_TICKET_INPUT: Final = ("ticket_id", "customer_id", "opened_at", "channel", "category", "priority")
_TICKET_EVENT_INPUT: Final = ("ticket_id", "occurred_at", "kind")
# the columns frame_to_orders / frame_to_customers read: entity keyword -> column, in the
# order the missing-column message lists them
_ORDER_FIELDS: Final = {
    "id": "order_id",
    "customer_id": "customer_id",
    "ordered_at": "ordered_at",
    "currency": "currency",
    "status": "status",
    "lines": "lines",
}
_CUSTOMER_FIELDS: Final = {
    "id": "customer_id",
    "name": "name",
    "kind": "kind",
    "created_at": "created_at",
    "acquisition_channel": "acquisition_channel",
    "parent_account_id": "parent_account_id",
    "tags": "tags",
    "contacts": "contacts",
}
_OPPORTUNITY_INPUT: Final = (
    "opportunity_id",
    "customer_id",
    "name",
    "currency",
    "stage",
    "expected_close",
    "owner",
    "created_at",
)
_UTC: Final = "datetime64[ns, UTC]"
_AWARE: Final = "column must hold timezone-aware timestamps"


# ---------------------------------------------------------------------- helpers


def _objects(values: Sequence[object]) -> pd.Series:
    """An object Series holding `values` as they are (no inference, tuples kept whole)."""
    array = np.empty(len(values), dtype=object)
    for position, value in enumerate(values):
        array[position] = value
    series: pd.Series = pd.Series(array, dtype=object)
    return series


def _strings(values: Sequence[str]) -> pd.Series:
    return pd.Series(list(values), dtype=str)


def _utc(values: Sequence[object]) -> pd.Series:
    if not values:
        return pd.Series([], dtype=_UTC)
    series: pd.Series = pd.Series(pd.to_datetime(_objects(values), utc=True)).astype(_UTC)
    return series


def _python(value: object) -> object:
    """Undo pandas boxing: Timestamp -> datetime, missing markers -> None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _rows(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    cells = [[_python(v) for v in frame[c].tolist()] for c in columns]
    return (
        [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)] if cells else []
    )


def _iterable_of(items: Any, kind: type, caller: str, name: str) -> list[Any]:
    """`items` as a list, checked to be an iterable (not a str or one entity) of `kind`.

    The entity-to-frame functions share it: "orders must be an iterable of Order", then
    "orders[3] must be an Order" (a/an by the first letter of the class name).
    """
    if isinstance(items, str | bytes | kind) or not isinstance(items, Iterable):
        raise ValidationError(
            f"{caller}: {name} must be an iterable of {kind.__name__}; got "
            f"{items!r} ({type(items).__name__})."
        )
    article = "an" if kind.__name__[:1] in "AEIOU" else "a"
    out = list(items)
    for position, item in enumerate(out):
        if not isinstance(item, kind):
            raise ValidationError(
                f"{caller}: {name}[{position}] must be {article} {kind.__name__}; got "
                f"{type(item).__name__}."
            )
    return out


def _ids_error(
    text: str, ids: Sequence[object], *, rule: str, column: str, hint: str = ""
) -> ValidationError:
    """The error for the rows `ids` (one id per offending row or key, all of them).

    The message is `text` + `` (first ids: ...).`` (+ `` Hint: ...``); ``count`` and
    ``first_ids`` come from the same `ids`, so the fields and the text always agree.
    """
    return ValidationError(
        f"{text} (first ids: {format_ids(ids)})." + (f" Hint: {hint}" if hint else ""),
        rule=rule,
        column=column,
        count=len(ids),
        first_ids=ids[:5],
    )


def _require_unique_ids(ids: Sequence[object], column: str, caller: str) -> None:
    """Raise when an id of `column` repeats (each repeated id counted once)."""
    repeated = pd.unique(np.asarray(ids, dtype=object)[pd.Series(ids).duplicated().to_numpy()])
    if len(repeated):
        raise _ids_error(
            f"{caller}: {column} must be unique; {len(repeated):,} ids repeat",
            repeated,
            rule=f"{column} must be unique",
            column=column,
        )


def _build(
    rows: list[dict[str, Any]],
    make: Callable[[dict[str, Any]], T],
    caller: str,
    id_column: str,
) -> list[T]:
    built: list[T] = []
    for position, row in enumerate(rows):
        try:
            built.append(make(row))
        except ValidationError as error:
            raise ValidationError(
                f"{caller}: row {position} ({id_column} {row[id_column]!r}): {error}"
            ) from error
    return built


def _entities(
    frame: Any,
    kind: Callable[..., T],
    fields: dict[str, str],
    caller: str,
    *,
    empty: dict[str, object],
) -> list[T]:
    """One `kind` per row of `frame`: keyword ``k`` gets column ``fields[k]``.

    A missing value (None, NaN) in the column of a keyword in `empty` becomes its empty
    collection; the message of a row the entity rejects names its position and its
    ``fields["id"]`` column.
    """
    data = to_pandas(frame, who=caller)
    columns = list(fields.values())
    require_columns(data, columns, who=caller, col_args=False)

    def make(row: dict[str, Any]) -> T:
        values = {key: row[column] for key, column in fields.items()}
        for key, blank in empty.items():
            if values[key] is None:
                values[key] = blank
        return kind(**values)

    return _build(_rows(data, columns), make, caller, fields["id"])


def _frame(columns: dict[str, pd.Series]) -> pd.DataFrame:
    """The DataFrame of `columns` (typed for mypy: the stubs return Any for some inputs)."""
    result: pd.DataFrame = pd.DataFrame(columns)
    return result


# ---------------------------------------------------------------------- orders


def orders_to_frame(orders: Iterable[Order]) -> pd.DataFrame:
    """Return one row per order with analytics columns and exact columns.

    Parameters
    ----------
    orders : iterable of Order
        The orders, in the row order wanted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ORDER_COLUMNS` with the dtypes in the module docstring; RangeIndex.

    Raises
    ------
    ValidationError
        If an item is not an Order.

    Notes
    -----
    ``amount`` and ``margin`` are float64 copies of the exact Decimal ``amount_exact`` and
    ``margin_exact`` (order total and margin in the order currency, no rounding); ``date`` is the
    UTC instant of ``ordered_at``.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.customers import Order
    >>> o = Order(id="O1", customer_id="C1", currency="JPY",
    ...           ordered_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    >>> list(orders_to_frame([o]).columns) == list(ORDER_COLUMNS)
    True
    >>> orders_to_frame([]).dtypes["date"]
    datetime64[ns, UTC]
    """
    items: list[Order] = _iterable_of(orders, Order, "orders_to_frame", "orders")
    totals = [o.total.amount for o in items]
    margins = [o.margin.amount for o in items]
    columns: dict[str, pd.Series] = {
        "customer_id": _strings([o.customer_id for o in items]),
        "order_id": _strings([o.id for o in items]),
        "date": _utc([o.ordered_at for o in items]),
        "amount": pd.Series([float(t) for t in totals], dtype="float64"),
        "margin": pd.Series([float(m) for m in margins], dtype="float64"),
        "currency": _strings([o.currency for o in items]),
        "status": _strings([o.status.value for o in items]),
        "amount_exact": _objects(totals),
        "margin_exact": _objects(margins),
        "ordered_at": _objects([o.ordered_at for o in items]),
        "lines": _objects([o.lines for o in items]),
    }
    return _frame(columns)


def frame_to_orders(frame: Any) -> list[Order]:
    """Rebuild the orders from a frame produced by :func:`orders_to_frame`.

    Parameters
    ----------
    frame : pandas.DataFrame or Polars DataFrame
        Needs the columns ``order_id, customer_id, ordered_at, currency, status, lines``; other
        columns (the derived analytics and ``*_exact`` columns) are ignored. Not mutated.

    Returns
    -------
    list of Order
        One order per row, in row order.

    Raises
    ------
    ColumnNotFoundError
        If a needed column is missing (all missing columns are listed, with the nearest names).
    ValidationError
        If a row does not make a valid Order; the message gives the row position and order id.

    Examples
    --------
    >>> import datetime as dt
    >>> from zoneinfo import ZoneInfo
    >>> from crmcore.customers import Order
    >>> o = Order(id="O1", customer_id="C1", currency="KWD",
    ...           ordered_at=dt.datetime(2024, 3, 1, 9, tzinfo=ZoneInfo("Asia/Kolkata")))
    >>> back = frame_to_orders(orders_to_frame([o]))
    >>> back == [o], back[0].ordered_at.tzinfo
    (True, zoneinfo.ZoneInfo(key='Asia/Kolkata'))
    """
    return _entities(frame, Order, _ORDER_FIELDS, "frame_to_orders", empty={"lines": ()})


# ---------------------------------------------------------------------- customers


def customers_to_frame(customers: Iterable[Customer]) -> pd.DataFrame:
    """Return one row per customer with analytics columns and exact columns.

    Parameters
    ----------
    customers : iterable of Customer
        The customers, in the row order wanted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CUSTOMER_COLUMNS` with the dtypes in the module docstring; RangeIndex.

    Raises
    ------
    ValidationError
        If an item is not a Customer.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.customers import Customer
    >>> c = Customer(id="C1", name="Zoë", tags={"vip"},
    ...              created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    >>> frame = customers_to_frame([c])
    >>> frame.loc[0, "name"], frame.loc[0, "kind"], frame.loc[0, "tags"]
    ('Zoë', 'person', frozenset({'vip'}))
    """
    items: list[Customer] = _iterable_of(customers, Customer, "customers_to_frame", "customers")
    columns: dict[str, pd.Series] = {
        "customer_id": _strings([c.id for c in items]),
        "name": _strings([c.name for c in items]),
        "kind": _strings([c.kind.value for c in items]),
        "created_at": _objects([c.created_at for c in items]),
        "created_at_utc": _utc([c.created_at for c in items]),
        "acquisition_channel": _objects([c.acquisition_channel for c in items]),
        "parent_account_id": _objects([c.parent_account_id for c in items]),
        "tags": _objects([c.tags for c in items]),
        "contacts": _objects([c.contacts for c in items]),
    }
    return _frame(columns)


def frame_to_customers(frame: Any) -> list[Customer]:
    """Rebuild the customers from a frame produced by :func:`customers_to_frame`.

    Parameters
    ----------
    frame : pandas.DataFrame or Polars DataFrame
        Needs the columns ``customer_id, name, kind, created_at, acquisition_channel,
        parent_account_id, tags, contacts``; ``created_at_utc`` and other columns are ignored.
        Not mutated. Missing values (None, NaN) in the optional columns become None, and in
        ``tags`` / ``contacts`` an empty collection.

    Returns
    -------
    list of Customer
        One customer per row, in row order.

    Raises
    ------
    ColumnNotFoundError
        If a needed column is missing (all missing columns are listed, with the nearest names).
    ValidationError
        If a row does not make a valid Customer; the message gives the row position and id.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.customers import Contact, Customer
    >>> c = Customer(id="C1", name="山田商事", kind="organization",
    ...              created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    ...              contacts=[Contact(id="k1", name="山田 太郎")])
    >>> frame_to_customers(customers_to_frame([c])) == [c]
    True
    """
    return _entities(
        frame,
        Customer,
        _CUSTOMER_FIELDS,
        "frame_to_customers",
        empty={"tags": frozenset(), "contacts": ()},
    )


# ---------------------------------------------------------------------- opportunities


def opportunities_to_frame(opportunities: Iterable[Opportunity]) -> pd.DataFrame:
    """Return one row per opportunity (its current values) with analytics and exact columns.

    The history is not in this frame: :func:`opportunities_to_history` gives the stage-history
    event frame of the same opportunities, and :func:`frame_to_opportunities` joins the two back.

    Parameters
    ----------
    opportunities : iterable of Opportunity
        The opportunities, in the row order wanted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`OPPORTUNITY_COLUMNS` with the dtypes in the module docstring; RangeIndex.

    Raises
    ------
    ValidationError
        If an item is not an Opportunity.

    Notes
    -----
    ``amount`` is the float64 copy of the exact Decimal ``amount_exact``; ``created_at`` is the
    UTC instant of ``created_at_exact``; ``probability`` is NaN where the opportunity has no
    override (the stage default applies).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.money import Money
    >>> from crmcore.pipeline import Opportunity
    >>> deal = Opportunity(id="O-1", customer_id="C-9", name="Fleet",
    ...                    amount=Money("1200.50", "EUR"), stage="Proposal",
    ...                    expected_close=dt.date(2024, 6, 30), owner="ann",
    ...                    created_at=dt.datetime(2024, 1, 2, 9, tzinfo=dt.timezone.utc),
    ...                    forecast_category="Commit")
    >>> frame = opportunities_to_frame([deal])
    >>> frame[["opportunity_id", "amount", "stage", "expected_close", "forecast_category"]]
      opportunity_id  amount     stage expected_close forecast_category
    0            O-1  1200.5  Proposal     2024-06-30            Commit
    >>> frame.loc[0, "amount_exact"]
    Decimal('1200.50')
    """
    items: list[Opportunity] = _iterable_of(
        opportunities, Opportunity, "opportunities_to_frame", "opportunities"
    )
    amounts = [o.amount.amount for o in items]
    closes: pd.Series = pd.Series(
        pd.to_datetime(_objects([o.expected_close for o in items])), dtype="datetime64[ns]"
    )
    columns: dict[str, pd.Series] = {
        "opportunity_id": _strings([o.id for o in items]),
        "customer_id": _strings([o.customer_id for o in items]),
        "name": _strings([o.name for o in items]),
        "amount": pd.Series([float(a) for a in amounts], dtype="float64"),
        "currency": _strings([o.amount.currency for o in items]),
        "amount_exact": _objects(amounts),
        "stage": _strings([o.stage for o in items]),
        "expected_close": closes,
        "owner": _strings([o.owner for o in items]),
        "created_at": _utc([o.created_at for o in items]),
        "probability": pd.Series(
            [math.nan if o.probability is None else o.probability for o in items],
            dtype="float64",
        ),
        "forecast_category": _objects(
            [None if o.forecast_category is None else o.forecast_category.value for o in items]
        ),
        "lost_reason": _objects([o.lost_reason for o in items]),
        "created_at_exact": _objects([o.created_at for o in items]),
    }
    return _frame(columns)


def _histories(
    history: Any, pipeline: Pipeline, currencies: dict[str, str], caller: str
) -> dict[str, tuple[StageChange, ...]]:
    """The events of the stage-history frame `history`, per opportunity id, in time order."""
    events = read_history(history, pipeline, who=caller)
    ids = events["opportunity_id"].to_numpy()
    strangers = pd.unique(ids[~pd.Series(ids).isin(list(currencies)).to_numpy()])
    if len(strangers):
        raise _ids_error(
            f"{caller}: the history has events of {len(strangers):,} opportunities that are "
            "not in the frame",
            strangers,
            rule="every event's opportunity_id must be in the frame",
            column="opportunity_id",
        )
    rows = _rows(events, ["opportunity_id", "stage", "changed_at", "amount", "expected_close"])
    probabilities = [_python(v) for v in events["probability"].tolist()]
    grouped: dict[str, list[StageChange]] = {}
    for row, probability in zip(rows, probabilities, strict=True):
        oid = row["opportunity_id"]
        grouped.setdefault(oid, []).append(
            StageChange(
                stage=row["stage"],
                at=row["changed_at"],
                amount=Money(repr(float(row["amount"])), currencies[oid]),
                expected_close=row["expected_close"].date(),
                probability=cast("float | None", probability),
            )
        )
    return {oid: tuple(changes) for oid, changes in grouped.items()}


def frame_to_opportunities(
    frame: Any, *, history: Any = None, pipeline: Pipeline | None = None
) -> list[Opportunity]:
    """Rebuild the opportunities from a frame produced by :func:`opportunities_to_frame`.

    Parameters
    ----------
    frame : pandas.DataFrame or Polars DataFrame
        Needs the columns ``opportunity_id, customer_id, name, currency, stage, expected_close,
        owner, created_at`` and ``amount_exact`` or ``amount``; ``probability``,
        ``forecast_category``, ``lost_reason`` and ``created_at_exact`` are optional (missing
        values are None). The exact columns win over the analytics ones: ``amount_exact`` over
        ``amount`` (which becomes Money through its shortest decimal text) and
        ``created_at_exact`` over ``created_at``. Not mutated.
    history : DataFrame, optional
        A stage-history event frame (see :func:`crmcore.pipeline.read_history`; e.g. from
        :func:`opportunities_to_history`): each opportunity gets its events, in time order, as
        its ``history`` (amounts in the opportunity's currency, through their shortest decimal
        text; times in UTC). Without it every history is empty; so is the history of an
        opportunity whose only event is its current values at ``created_at`` (how
        :func:`opportunities_to_history` writes one built without history; both replay alike).
    pipeline : Pipeline, optional
        Needed with `history` (the history is validated against it); when given, every
        opportunity is also checked against it (stages and moves).

    Returns
    -------
    list of Opportunity
        One opportunity per row, in row order.

    Raises
    ------
    ColumnNotFoundError
        If a needed column is missing (all missing columns are listed, with the nearest names).
    ValidationError
        If a row does not make a valid Opportunity (the message gives the row position and the
        opportunity id), for duplicate opportunity ids, for `history` without `pipeline`, for
        history events of opportunities not in the frame, and as
        :func:`crmcore.pipeline.read_history` for a bad history.
    InvalidStageTransition
        As :func:`crmcore.pipeline.read_history`, or when `pipeline` forbids a move.

    Examples
    --------
    >>> import datetime as dt
    >>> from zoneinfo import ZoneInfo
    >>> from crmcore.money import Money
    >>> from crmcore.pipeline import Opportunity, simple_pipeline
    >>> pipe = simple_pipeline()
    >>> deal = Opportunity(id="O-1", customer_id="C-9", name="Fleet", amount=Money("99.90", "EUR"),
    ...                    stage="Lead", expected_close=dt.date(2024, 6, 30), owner="ann",
    ...                    created_at=dt.datetime(2024, 1, 2, 9, tzinfo=ZoneInfo("Europe/Paris")))
    >>> frame_to_opportunities(opportunities_to_frame([deal])) == [deal]
    True
    >>> won = deal.close_won(at=dt.datetime(2024, 2, 1, tzinfo=dt.timezone.utc), pipeline=pipe)
    >>> [back] = frame_to_opportunities(opportunities_to_frame([won]),
    ...                                 history=opportunities_to_history([won]), pipeline=pipe)
    >>> back == won, [change.stage for change in back.history]
    (True, ['Lead', 'Won'])
    """
    caller = "frame_to_opportunities"
    data = to_pandas(frame, who=caller)
    require_columns(data, _OPPORTUNITY_INPUT, who=caller, col_args=False)
    if "amount_exact" not in data.columns and "amount" not in data.columns:
        require_columns(data, ["amount_exact"], who=caller, col_args=False)
    if history is not None and pipeline is None:
        raise ValidationError(
            f"{caller}: pass pipeline= with history= (the history is validated against the "
            "pipeline's stages)."
        )
    if pipeline is not None and not isinstance(pipeline, Pipeline):
        raise ValidationError(
            f"The 'pipeline' parameter of {caller} must be a crmcore.pipeline.Pipeline or None. "
            f"Got {type(pipeline).__name__} instead."
        )
    optional = [
        c
        for c in (
            "amount_exact",
            "amount",
            "probability",
            "forecast_category",
            "lost_reason",
            "created_at_exact",
        )
        if c in data.columns
    ]
    rows = _rows(data, [*_OPPORTUNITY_INPUT, *optional])
    _require_unique_ids([row["opportunity_id"] for row in rows], "opportunity_id", caller)
    histories: dict[str, tuple[StageChange, ...]] = {}
    if history is not None and pipeline is not None:
        currencies = {str(row["opportunity_id"]): str(row["currency"]) for row in rows}
        histories = _histories(history, pipeline, currencies, caller)

    def make(row: dict[str, Any]) -> Opportunity:
        exact = row.get("amount_exact")
        if exact is None:
            amount = row.get("amount")
            exact = None if amount is None else repr(float(amount))
        created = row.get("created_at_exact") or row["created_at"]
        close = row["expected_close"]
        opportunity = Opportunity(
            id=row["opportunity_id"],
            customer_id=row["customer_id"],
            name=row["name"],
            amount=Money(cast("Any", exact), row["currency"]),
            stage=row["stage"],
            expected_close=close.date() if isinstance(close, _dt.datetime) else close,
            owner=row["owner"],
            created_at=created,
            probability=row.get("probability"),
            forecast_category=row.get("forecast_category"),
            lost_reason=row.get("lost_reason"),
        )
        changes = histories.get(str(row["opportunity_id"]), ())
        if changes and changes != opportunity.events():
            opportunity = attrs.evolve(opportunity, history=changes)
        return opportunity if pipeline is None else opportunity.check(pipeline)

    return _build(rows, make, caller, "opportunity_id")


# ---------------------------------------------------------------------- tickets


def _ticket_classes() -> tuple[Any, Any]:
    """Ticket and TicketEvent, imported on first use (crmcore.service stays independent)."""
    from crmcore.service._entities import Ticket, TicketEvent

    return Ticket, TicketEvent


def _aware_utc(series: pd.Series, column: str, ids: Sequence[object], caller: str) -> pd.Series:
    """`series` as ``datetime64[ns, UTC]``; naive or missing values raise ValidationError."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        converted: pd.Series = series.dt.tz_convert("UTC").astype(_UTC)
    elif pd.api.types.is_datetime64_dtype(dtype):
        raise ValidationError(
            f"{caller}: column {column!r} must hold timezone-aware timestamps; it is naive "
            f"({dtype}, {len(series):,} rows; first ids: {format_ids(ids)}). Hint: localize "
            "it first, e.g. series.dt.tz_localize('Europe/Berlin').",
            rule=_AWARE,
            column=column,
            count=len(series),
            first_ids=list(ids)[:5],
        )
    else:
        stamps: list[Any] = []
        naive: list[object] = []
        bad: list[object] = []
        for value, key in zip(series.tolist(), ids, strict=True):
            try:
                stamp = None if _python(value) is None else pd.Timestamp(value)
            except (TypeError, ValueError, OverflowError):
                bad.append(key)
                stamps.append(pd.NaT)
                continue
            if stamp is None or stamp is pd.NaT:
                stamps.append(pd.NaT)
            elif stamp.tzinfo is None:
                naive.append(key)
                stamps.append(pd.NaT)
            else:
                stamps.append(stamp.tz_convert("UTC"))
        aware = f"{caller}: column {column!r} must hold timezone-aware timestamps"
        if bad:
            raise _ids_error(
                f"{aware}; {len(bad):,} values are not timestamps", bad, rule=_AWARE, column=column
            )
        if naive:
            raise _ids_error(
                f"{aware}; {len(naive):,} of {len(series):,} values are naive",
                naive,
                rule=_AWARE,
                column=column,
                hint="attach the zone the times were recorded in.",
            )
        converted = pd.Series(pd.DatetimeIndex(stamps, tz="UTC"), index=series.index).astype(_UTC)
    missing = converted.isna().to_numpy()
    if missing.any():
        raise _ids_error(
            f"{caller}: column {column!r} must not have missing values; {int(missing.sum()):,} "
            "rows are missing",
            np.asarray(ids, dtype=object)[missing],
            rule="column must not have missing values",
            column=column,
        )
    return converted


def _cells(frame: pd.DataFrame, column: str, default: object = None) -> list[Any]:
    """The Python values of `column` (numpy scalars unboxed, missing -> None), or `default`."""
    if column not in frame.columns:
        return [default] * len(frame)
    series = frame[column]
    values: list[Any] = series.tolist()
    if series.dtype == object:
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
    for position in np.flatnonzero(series.isna().to_numpy()).tolist():
        values[position] = None
    return values


def tickets_to_frame(tickets: Iterable[Ticket]) -> pd.DataFrame:
    """Return one row per ticket (its current values; the history goes to the event frame).

    Parameters
    ----------
    tickets : iterable of Ticket
        The tickets, in the row order wanted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TICKET_COLUMNS`, RangeIndex: ``ticket_id``, ``customer_id`` (str),
        ``contact_id`` (object: str or None), ``opened_at`` (``datetime64[ns, UTC]``),
        ``channel``, ``category``, ``priority``, ``status`` (the enum values as str) and
        ``satisfaction`` (object: the raw rating, int / float / str, or None).

    Raises
    ------
    ValidationError
        If an item is not a Ticket.

    Notes
    -----
    ``opened_at`` keeps each ticket's instant, converted to UTC so the column has one dtype
    (the original zone is not kept). ``==`` on aware datetimes compares instants, except that
    Python never calls a time inside a repeated fall-back hour equal to one in another zone
    (PEP 495): a ticket with such a local time compares equal to its round trip only after
    its datetimes are moved to UTC. :func:`ticket_events_to_frame` gives the events of the
    same tickets; :func:`frame_to_tickets` joins the two back.

    Examples
    --------
    >>> import datetime as dt
    >>> from zoneinfo import ZoneInfo
    >>> from crmcore.service import Ticket
    >>> t = Ticket(id="T-1", customer_id="C-7", channel="email", category="complaint",
    ...            priority="high", satisfaction=4,
    ...            opened_at=dt.datetime(2024, 3, 1, 9, tzinfo=ZoneInfo("Europe/Berlin")))
    >>> tickets_to_frame([t])[["ticket_id", "opened_at", "priority", "status", "satisfaction"]]
      ticket_id                 opened_at priority status satisfaction
    0       T-1 2024-03-01 08:00:00+00:00     high    new            4
    """
    ticket_cls, _ = _ticket_classes()
    items = _iterable_of(tickets, ticket_cls, "tickets_to_frame", "tickets")
    columns: dict[str, pd.Series] = {
        "ticket_id": _strings([t.id for t in items]),
        "customer_id": _strings([t.customer_id for t in items]),
        "contact_id": _objects([t.contact_id for t in items]),
        "opened_at": _utc([t.opened_at for t in items]),
        "channel": _strings([t.channel.value for t in items]),
        "category": _strings([t.category.value for t in items]),
        "priority": _strings([t.priority.value for t in items]),
        "status": _strings([t.status.value for t in items]),
        "satisfaction": _objects([t.satisfaction for t in items]),
    }
    return _frame(columns)


def ticket_events_to_frame(tickets: Iterable[Ticket]) -> pd.DataFrame:
    """Return one row per ticket event, ticket by ticket, each ticket's events in order.

    Parameters
    ----------
    tickets : iterable of Ticket
        The tickets whose ``events`` are written.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TICKET_EVENT_COLUMNS`, RangeIndex: ``ticket_id`` (str),
        ``occurred_at`` (``datetime64[ns, UTC]``), ``kind`` (str), ``status`` (object: the new
        status of a ``status_change``, else None), ``automatic`` (bool) and ``author_id``
        (object: str or None).

    Raises
    ------
    ValidationError
        If an item is not a Ticket.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.service import Ticket, TicketEvent
    >>> utc = dt.timezone.utc
    >>> t = Ticket(id="T-1", customer_id="C-7", channel="web", category="question",
    ...            priority="low", opened_at=dt.datetime(2024, 3, 1, 9, tzinfo=utc))
    >>> t = t.with_event(TicketEvent(kind="agent_reply", automatic=True,
    ...                              occurred_at=dt.datetime(2024, 3, 1, 9, 1, tzinfo=utc)))
    >>> t = t.transition_to("open", dt.datetime(2024, 3, 1, 10, tzinfo=utc), author_id="ann")
    >>> frame = ticket_events_to_frame([t])
    >>> frame[["occurred_at", "kind", "status", "automatic"]]
                    occurred_at           kind status  automatic
    0 2024-03-01 09:01:00+00:00    agent_reply   None       True
    1 2024-03-01 10:00:00+00:00  status_change   open      False
    """
    ticket_cls, _ = _ticket_classes()
    items = _iterable_of(tickets, ticket_cls, "ticket_events_to_frame", "tickets")
    pairs = [(t.id, e) for t in items for e in t.events]
    columns: dict[str, pd.Series] = {
        "ticket_id": _strings([tid for tid, _ in pairs]),
        "occurred_at": _utc([e.occurred_at for _, e in pairs]),
        "kind": _strings([e.kind.value for _, e in pairs]),
        "status": _objects([None if e.status is None else e.status.value for _, e in pairs]),
        "automatic": pd.Series([e.automatic for _, e in pairs], dtype=bool),
        "author_id": _objects([e.author_id for _, e in pairs]),
    }
    return _frame(columns)


def _ticket_error(error: Exception, caller: str, where: str) -> Exception:
    """`error` again (same class), prefixed with the caller and the ticket it concerns."""
    return type(error)(f"{caller}: {where}: {error}")


def frame_to_tickets(tickets: Any, events: Any = None) -> list[Ticket]:
    """Rebuild Ticket entities from a ticket frame and, optionally, an event frame.

    Parameters
    ----------
    tickets : pandas, Polars or PyArrow DataFrame
        Needs ``ticket_id, customer_id, opened_at, channel, category, priority``; ``status``
        (default: the last status change in the events, else ``"new"``), ``contact_id`` and
        ``satisfaction`` (missing values: None) are optional; other columns are ignored.
        ``opened_at`` must be timezone-aware (any zone; mixed zones in an object column are
        fine). Not mutated.
    events : pandas, Polars or PyArrow DataFrame, optional
        Needs ``ticket_id, occurred_at, kind``; ``status`` (the new status of a
        ``status_change``), ``automatic`` (missing: False) and ``author_id`` are optional.
        Rows may come in any order: each ticket gets its events sorted by ``occurred_at``,
        ties keeping their row order. Without it every ticket has no events.

    Returns
    -------
    list of Ticket
        One ticket per row of `tickets`, in row order, with ``opened_at`` and event times
        as UTC datetimes.

    Raises
    ------
    ColumnNotFoundError
        If a needed column is missing (all missing columns are listed, with the nearest names).
    ValidationError
        For naive or missing timestamps, duplicate ticket ids, events of tickets that are not
        in `tickets`, and any row the entities reject (an event before ``opened_at``, a
        ``status`` that disagrees with the last status change, a bad enum value); the message
        names the ticket id.
    InvalidTransition
        If a ticket's status changes make a move :data:`crmcore.service.TICKET_TRANSITIONS`
        does not allow (the message names the ticket id).

    Notes
    -----
    The events of each ticket are validated by :class:`~crmcore.service.Ticket` itself
    (status changes replayed from ``new``, times not before ``opened_at``). Timestamps come
    back in UTC, at microsecond resolution (Python ``datetime``). This conversion builds one
    entity per row, so it runs a Python loop over rows; the analytics read the frames
    directly and do not need it.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.service import Ticket
    >>> utc = dt.timezone.utc
    >>> t = Ticket(id="T-1", customer_id="C-7", channel="chat", category="incident",
    ...            priority="urgent", opened_at=dt.datetime(2024, 3, 1, 9, tzinfo=utc))
    >>> t = t.transition_to("open", dt.datetime(2024, 3, 1, 9, 5, tzinfo=utc))
    >>> t = t.transition_to("solved", dt.datetime(2024, 3, 1, 11, tzinfo=utc))
    >>> back = frame_to_tickets(tickets_to_frame([t]), ticket_events_to_frame([t]))
    >>> back == [t], back[0].status.value
    (True, 'solved')
    """
    caller = "frame_to_tickets"
    ticket_cls, event_cls = _ticket_classes()
    data = to_pandas(tickets, who=caller)
    require_columns(data, _TICKET_INPUT, who=caller, col_args=False)
    ids = _cells(data, "ticket_id")
    _require_unique_ids(ids, "ticket_id", caller)
    opened = _aware_utc(data["opened_at"], "opened_at", ids, caller)
    opened_py = list(pd.DatetimeIndex(opened).to_pydatetime())
    grouped: list[tuple[Any, ...]] = [() for _ in ids]
    if events is not None:
        grouped = _ticket_event_groups(events, ids, event_cls, caller)
    statuses = _cells(data, "status")
    fields = {
        name: _cells(data, name)
        for name in ("customer_id", "contact_id", "channel", "category", "priority")
    }
    ratings = _cells(data, "satisfaction")
    built: list[Any] = []
    for position, tid in enumerate(ids):
        history = grouped[position]
        status = statuses[position]
        if status is None:
            changes = [e.status for e in history if e.status is not None]
            status = changes[-1] if changes else "new"
        try:
            built.append(
                ticket_cls(
                    id=tid,
                    customer_id=fields["customer_id"][position],
                    contact_id=fields["contact_id"][position],
                    opened_at=opened_py[position],
                    channel=fields["channel"][position],
                    category=fields["category"][position],
                    priority=fields["priority"][position],
                    status=status,
                    events=history,
                    satisfaction=ratings[position],
                )
            )
        except (ValidationError, InvalidTransition) as error:
            raise _ticket_error(error, caller, f"ticket_id {tid!r} (row {position})") from error
    return cast("list[Ticket]", built)


def _ticket_event_groups(
    events: Any, ids: list[Any], event_cls: Any, caller: str
) -> list[tuple[Any, ...]]:
    """The events of `events` as TicketEvents, grouped per ticket of `ids`, in time order."""
    frame = to_pandas(events, who=caller)
    require_columns(frame, _TICKET_EVENT_INPUT, who=caller, col_args=False)
    owners = _cells(frame, "ticket_id")
    codes = pd.Index(pd.Series(ids, dtype=object)).get_indexer(pd.Series(owners, dtype=object))
    strangers = pd.unique(np.asarray(owners, dtype=object)[codes < 0])
    if len(strangers):
        raise _ids_error(
            f"{caller}: the events frame has rows for {len(strangers):,} tickets that are not "
            "in the tickets frame",
            strangers,
            rule="every event's ticket_id must be in the tickets frame",
            column="ticket_id",
        )
    when = _aware_utc(frame["occurred_at"], "occurred_at", owners, caller)
    stamps = pd.DatetimeIndex(when).asi8
    by_time = np.argsort(stamps, kind="stable")
    order = by_time[np.argsort(codes[by_time], kind="stable")]
    times = list(pd.DatetimeIndex(when).to_pydatetime())
    kinds = _cells(frame, "kind")
    statuses = _cells(frame, "status")
    automatic = [
        False if v is None else bool(v) if isinstance(v, bool | np.bool_) else v
        for v in _cells(frame, "automatic", False)
    ]
    authors = _cells(frame, "author_id")
    grouped: list[list[Any]] = [[] for _ in ids]
    for row in order.tolist():
        try:
            event = event_cls(
                kind=kinds[row],
                occurred_at=times[row],
                status=statuses[row],
                automatic=automatic[row],
                author_id=authors[row],
            )
        except ValidationError as error:
            raise _ticket_error(
                error, caller, f"event row {row} of ticket_id {owners[row]!r}"
            ) from error
        grouped[int(codes[row])].append(event)
    return [tuple(g) for g in grouped]
