"""Customer profitability: revenue - cost of goods - cost to serve - acquisition cost."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import narwhals.stable.v1 as nw
import numpy as np
import pandas as pd

from crmcore._orderlog import read_order_log
from crmcore._validation import (
    check_no_missing,
    check_param_number,
    first_ids,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import ValidationError

__all__ = ["customer_profitability"]


def _per_customer(
    value: Any, *, name: str, column: str, customer_col: str, who: str
) -> pd.Series | float:
    """Read a per-customer cost given as a number, a Series or a frame with `column`."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        check_param_number(name, value, who=who, low=0)
        return float(value)
    if isinstance(value, pd.Series):
        series = value
        if isinstance(series.index, pd.MultiIndex):
            raise ValidationError(
                f"{who}: {name} must be indexed by customer id; got a MultiIndex with "
                f"{series.index.nlevels} levels. Hint: reset_index() and pass a frame with "
                f"{customer_col!r} and {column!r}."
            )
        missing_id = np.asarray(series.index.isna(), dtype=bool)
        if missing_id.any():
            raise ValidationError(
                f"{who}: {name} has {int(missing_id.sum()):,} entries without a customer id "
                f"(first positions: {format_ids(np.flatnonzero(missing_id))}).",
                rule="every entry must have a customer id",
                count=int(missing_id.sum()),
                first_ids=first_ids(np.flatnonzero(missing_id)),
            )
    else:
        require_columns(value, [customer_col, column], who=who)
        check_no_missing(value, [customer_col, column], who=who)
        pdf = to_pandas(value, who=who)
        series = pd.Series(
            pdf[column].to_numpy(dtype=np.float64), index=pdf[customer_col].to_numpy()
        )
    values = pd.to_numeric(series, errors="coerce").astype(np.float64)
    # the column of a frame; None for a Series (the parameter itself)
    label = None if isinstance(value, pd.Series) else column
    repeated = values.index.duplicated()
    checks = (
        (
            f"{name} must be numbers",
            values.isna().to_numpy(),
            "has {:,} missing or non-numeric values",
        ),
        (
            f"{name} must be >= 0",
            (values < 0).to_numpy(),
            "must be >= 0; {:,} customers have negative values",
        ),
        ("one entry per customer", repeated, "lists some customers more than once"),
    )
    for rule, mask, text in checks:
        if mask.any():
            ids = values.index[mask]
            hint = " Hint: sum them per customer first." if mask is repeated else ""
            raise ValidationError(
                f"{who}: {name} {text.format(int(mask.sum()))} (first ids: "
                f"{format_ids(ids)}).{hint}",
                rule=rule,
                column=label,
                count=len(ids.unique()) if mask is repeated else int(mask.sum()),
                first_ids=first_ids(ids),
            )
    return values


def customer_profitability(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    amount_col: str = "amount",
    cogs_col: str | None = None,
    cogs_rate: float | None = None,
    cost_per_order: float = 0.0,
    service_costs: Any = None,
    service_cost_col: str = "service_cost",
    acquisition_costs: Any = None,
    acquisition_cost_col: str = "acquisition_cost",
    currency_col: str = "currency",
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return revenue, costs and profit per customer (input of a whale curve).

    Parameters
    ----------
    transactions : DataFrame
        One row per order (pandas, Polars or PyArrow) in one currency.
    customer_col, amount_col : str
        Column roles; `amount_col` is revenue.
    cogs_col : str, optional
        Per-order cost of goods column. Give this or `cogs_rate`, or neither (cost of goods
        0, e.g. when `amount_col` already is a margin).
    cogs_rate : float, optional
        Cost of goods as a fraction of revenue, in [0, 1].
    cost_per_order : float, default 0
        Handling cost to serve per order.
    service_costs : float, pandas.Series or DataFrame, optional
        Cost to serve per customer (e.g. support tickets): a Series indexed by customer id,
        a frame with `customer_col` and `service_cost_col`, or one number for everyone.
        Customers absent from it cost 0; customers present in it without orders are
        added with revenue 0 (nothing is dropped).
    service_cost_col : str, default "service_cost"
        Column of a `service_costs` frame.
    acquisition_costs : float, pandas.Series or DataFrame, optional
        Acquisition cost per customer, in the same forms (column `acquisition_cost_col`).
    acquisition_cost_col : str, default "acquisition_cost"
        Column of an `acquisition_costs` frame.
    currency_col : str, default "currency"
        If present, must hold one currency (convert with
        :meth:`crmcore.money.ExchangeRates.convert_frame`).
    status_col : str or None, default "status"
        When this column exists only purchases count (status in `statuses`); the other
        rows are counted by status in a :class:`~crmcore.CRMWarning`.
    statuses : iterable of str, optional
        Statuses that count as purchases; default ``("confirmed", "fulfilled")``.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (sorted), columns ``orders, revenue, cogs, gross_margin,
        service_cost, acquisition_cost, profit`` with
        ``profit = revenue - cogs - service_cost - acquisition_cost`` and ``service_cost``
        including ``cost_per_order * orders``.

    Raises
    ------
    ValidationError
        On missing values, both `cogs_col` and `cogs_rate`, a rate outside [0, 1],
        negative costs, several currencies, customer ids of mixed types (text and numbers),
        cost Series without ids or with a MultiIndex, or totals beyond the float range.
    ColumnNotFoundError
        If a column is missing.

    Notes
    -----
    Sorting the ``profit`` column in decreasing order and cumulating it gives the whale
    curve (Kaplan & Narayanan 2001): the most profitable customers often earn more than
    100% of total profit, which the least profitable ones then give back.

    References
    ----------
    Kaplan, R. S. & Narayanan, V. G. (2001). Measuring and managing customer
    profitability. Journal of Cost Management 15(5), 5-15.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100.0, 50.0, 30.0]})
    >>> out = customer_profitability(tx, cogs_rate=0.6, cost_per_order=5,
    ...     service_costs=pd.Series({"b": 40.0, "c": 10.0}), acquisition_costs=8.0)
    >>> out["profit"].tolist()
    [42.0, -41.0, -18.0]
    """
    who = "customer_profitability"
    cols = [customer_col, amount_col] + ([cogs_col] if cogs_col is not None else [])
    require_columns(transactions, cols, who=who)
    if cogs_col is not None and cogs_rate is not None:
        raise ValidationError(f"{who}: give cogs_col or cogs_rate, not both.")
    if cogs_rate is not None:
        check_param_number("cogs_rate", cogs_rate, who=who, low=0, high=1)
    check_param_number("cost_per_order", cost_per_order, who=who, low=0)
    frame = read_order_log(
        transactions,
        who=who,
        customer_col=customer_col,
        date_col=None,
        amount_col=amount_col,
        extra_cols=[cogs_col] if cogs_col is not None else [],
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
    )
    cogs_expr = (
        nw.col(cogs_col).sum().alias("cogs")
        if cogs_col is not None
        else nw.col(amount_col).sum().alias("cogs")
    )
    grouped = (
        frame.group_by(customer_col)
        .agg(nw.len().alias("orders"), nw.col(amount_col).sum().alias("revenue"), cogs_expr)
        .to_pandas()
        .set_index(customer_col)
    )
    grouped.index.name = customer_col
    revenue = grouped["revenue"].astype(np.float64)
    if cogs_col is not None:
        cogs = grouped["cogs"].astype(np.float64)
    else:
        cogs = revenue * (0.0 if cogs_rate is None else float(cogs_rate))
    service = _per_customer(
        service_costs,
        name="service_costs",
        column=service_cost_col,
        customer_col=customer_col,
        who=who,
    )
    acquisition = _per_customer(
        acquisition_costs,
        name="acquisition_costs",
        column=acquisition_cost_col,
        customer_col=customer_col,
        who=who,
    )
    index = grouped.index
    for extra in (service, acquisition):
        if isinstance(extra, pd.Series):
            index = index.union(pd.Index(extra.index))
    index = _sorted_ids(index, customer_col=customer_col, who=who)

    def spread(value: pd.Series | float) -> pd.Series:
        result: pd.Series
        if isinstance(value, pd.Series):
            result = value.reindex(index).fillna(0.0).astype(np.float64)
        else:
            result = pd.Series(float(value), index=index, dtype=np.float64)
        return result

    orders = grouped["orders"].reindex(index).fillna(0).astype(np.int64)
    out: pd.DataFrame = pd.DataFrame(
        {
            "orders": orders,
            "revenue": revenue.reindex(index).fillna(0.0),
            "cogs": cogs.reindex(index).fillna(0.0),
        },
        index=index,
    )
    out["gross_margin"] = out["revenue"] - out["cogs"]
    out["service_cost"] = spread(service) + float(cost_per_order) * out["orders"]
    out["acquisition_cost"] = spread(acquisition)
    out["profit"] = out["gross_margin"] - out["service_cost"] - out["acquisition_cost"]
    money = out.drop(columns="orders").to_numpy(dtype=np.float64)
    overflow = ~np.isfinite(money).all(axis=1)
    if overflow.any():
        raise ValidationError(
            f"{who}: the revenue, costs or profit of {int(overflow.sum()):,} of "
            f"{overflow.size:,} customers exceed the largest float (about 1.8e308) and cannot "
            f"be represented (first ids: {format_ids(index[overflow])}). Hint: amounts or "
            "costs near 1e308 are data errors.",
            rule="results must fit in float64",
            count=int(overflow.sum()),
            first_ids=first_ids(index[overflow]),
        )
    return out


def _sorted_ids(index: pd.Index, *, customer_col: str, who: str) -> pd.Index:
    """The customer ids sorted, or a ValidationError when they mix incomparable types."""
    values = np.asarray(index, dtype=object)
    try:
        ordered = np.sort(values)
    except TypeError:
        kinds = pd.Series(values).map(lambda v: type(v).__name__)
        counts = kinds.value_counts()
        minority = kinds != counts.index[0]
        raise ValidationError(
            f"{who}: customer ids must all be of one type (e.g. all text or all integers); "
            f"got {', '.join(f'{n:,} {k}' for k, n in counts.items())} (first ids of the "
            f"other types: {format_ids(values[minority.to_numpy()])}). Hint: convert "
            f"{customer_col!r} (and the ids of service_costs/acquisition_costs) with "
            ".astype(str).",
            rule="customer ids must all be of one type",
            column=customer_col,
            count=int(minority.sum()),
            first_ids=first_ids(values[minority.to_numpy()]),
        ) from None
    result: pd.Index = pd.Index(ordered, name=customer_col)
    return result
