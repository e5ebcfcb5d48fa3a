"""Customer profitability: revenue - cost of goods - cost to serve - acquisition cost."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, overload

import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import factorize_ids, group_counts, group_sums
from crmcore._lazy import (
    as_lazy,
    engine_name,
    lazy_only_option,
    read_order_log_lazy,
    stacked,
)
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


@overload
def customer_profitability(
    transactions: pd.DataFrame,
    *,
    customer_col: str = ...,
    amount_col: str = ...,
    cogs_col: str | None = ...,
    cogs_rate: float | None = ...,
    cost_per_order: float = ...,
    service_costs: Any = ...,
    service_cost_col: str = ...,
    acquisition_costs: Any = ...,
    acquisition_cost_col: str = ...,
    currency_col: str = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
) -> pd.DataFrame: ...


@overload
def customer_profitability(
    transactions: Any,
    *,
    customer_col: str = ...,
    amount_col: str = ...,
    cogs_col: str | None = ...,
    cogs_rate: float | None = ...,
    cost_per_order: float = ...,
    service_costs: Any = ...,
    service_cost_col: str = ...,
    acquisition_costs: Any = ...,
    acquisition_cost_col: str = ...,
    currency_col: str = ...,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
) -> Any: ...


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
) -> Any:
    """Return revenue, costs and profit per customer (input of a whale curve).

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per order in one currency. A lazy frame (Polars LazyFrame, DuckDB
        relation, PySpark or Dask DataFrame) is aggregated on its own engine, see Returns
        and Notes.
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
    pandas.DataFrame or lazy frame
        Indexed by customer id (sorted), columns ``orders, revenue, cogs, gross_margin,
        service_cost, acquisition_cost, profit`` with
        ``profit = revenue - cogs - service_cost - acquisition_cost`` and ``service_cost``
        including ``cost_per_order * orders``. For a lazy frame: a lazy frame of the same
        engine with the customer id as a column, the same columns and values, rows in no
        particular order.

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

    In memory the sums come from the array kernels of ``crmcore._aggregate`` (dense
    customer codes, correctly rounded bincount sums). On a lazy engine the order sums and
    the cost tables are stacked and summed in one narwhals group-by (no join, so customers
    with costs but no orders keep their row). Cost tables stay small and in memory: a
    number, or a pandas Series / eager frame validated here and then moved to the orders'
    engine (a Polars LazyFrame, a relation of the orders' DuckDB connection, a frame of the
    orders' Spark session, a Dask frame); a lazy cost frame is refused (it would skip
    those checks). Totals beyond the float range are a ValidationError in memory; an
    engine returns them as its own ``inf`` or overflow error.

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
    if cogs_col is not None and cogs_rate is not None:
        raise ValidationError(f"{who}: give cogs_col or cogs_rate, not both.")
    if cogs_rate is not None:
        check_param_number("cogs_rate", cogs_rate, who=who, low=0, high=1)
    check_param_number("cost_per_order", cost_per_order, who=who, low=0)
    lazy = as_lazy(transactions)
    if lazy is not None:
        return _profitability_lazy(
            lazy,
            customer_col=customer_col,
            amount_col=amount_col,
            cogs_col=cogs_col,
            cogs_rate=cogs_rate,
            cost_per_order=float(cost_per_order),
            costs={
                "service_cost": (service_costs, "service_costs", service_cost_col),
                "acquisition_cost": (
                    acquisition_costs,
                    "acquisition_costs",
                    acquisition_cost_col,
                ),
            },
            currency_col=currency_col,
            status_col=status_col,
            statuses=statuses,
            who=who,
        )
    cols = [customer_col, amount_col] + ([cogs_col] if cogs_col is not None else [])
    require_columns(transactions, cols, who=who)
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
    if cogs_col is not None:
        _check_numeric(frame.schema[cogs_col], cogs_col, who=who)
    # the kernel layer: dense customer codes and bincount sums (correctly rounded)
    codes, uniques = factorize_ids(frame[customer_col].to_native())
    n_customers = len(uniques)
    with np.errstate(over="ignore", invalid="ignore"):
        revenue_sums = group_sums(codes, _floats(frame, amount_col), n_customers)
        cogs_sums = (
            group_sums(codes, _floats(frame, cogs_col), n_customers)
            if cogs_col is not None
            else None
        )
    grouped_index = pd.Index(uniques, name=customer_col)
    revenue = pd.Series(revenue_sums, index=grouped_index)
    if cogs_sums is not None:
        cogs = pd.Series(cogs_sums, index=grouped_index)
    else:
        cogs = revenue * (0.0 if cogs_rate is None else float(cogs_rate))
    grouped = pd.DataFrame({"orders": group_counts(codes, n_customers)}, index=grouped_index)
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


def _floats(frame: Any, column: str) -> npt.NDArray[np.float64]:
    """One column of an eager narwhals frame as a float64 array."""
    return np.asarray(frame[column].to_numpy(), dtype=np.float64)


def _costs_on_engine(
    value: Any,
    rows: nw2.LazyFrame[Any],
    *,
    name: str,
    column: str,
    customer_col: str,
    who: str,
) -> nw2.LazyFrame[Any] | float:
    """A per-customer cost as a number, or as a (customer, cost) frame of the log's engine.

    An in-memory cost (a Series or an eager frame) is validated exactly as for in-memory
    orders (:func:`_per_customer`) and then moved to the engine of `rows`: a Polars
    LazyFrame, a DuckDB relation of the orders' connection, a Spark frame of the orders'
    own session, a one-partition Dask frame. Its ids take the dtype of the orders' id
    column; ids of another kind (text against numbers) are refused as in memory.
    """
    if as_lazy(value) is not None:
        raise lazy_only_option(
            who,
            f"{name} as a lazy frame",
            "crmcore validates a cost table in memory (one entry per customer, numbers "
            ">= 0) before it meets the orders on the engine",
        )
    costs = _per_customer(value, name=name, column=column, customer_col=customer_col, who=who)
    if not isinstance(costs, pd.Series):
        return costs
    id_dtype = rows.collect_schema()[customer_col]
    ids = pd.Index(costs.index)
    text_ids = id_dtype in (nw2.String, nw2.Categorical, nw2.Enum)
    if len(ids) and (
        (text_ids and not pd.api.types.is_string_dtype(ids))
        or (id_dtype.is_numeric() and not pd.api.types.is_numeric_dtype(ids))
    ):
        raise ValidationError(
            f"{who}: the ids of {name} ({ids.dtype}) are not of the kind of the orders' "
            f"{customer_col!r} column ({id_dtype}); customer ids must all be of one type "
            f"(first ids: {format_ids(ids)}). Hint: convert them, e.g. with .astype(str).",
            rule="customer ids must all be of one type",
            column=customer_col,
            count=len(ids),
            first_ids=first_ids(ids),
        )
    crmcore_costs = pd.DataFrame({customer_col: ids.to_numpy(), column: costs.to_numpy(np.float64)})
    native = rows.to_native()
    kind = rows.implementation
    if engine_name(rows) == "duckdb":
        # on the orders' own connection (DuckDB cannot combine relations of two
        # connections): a query of that connection reads the local pandas frame
        on_engine = nw2.from_native(native.query("crmcore_orders", "select * from crmcore_costs"))
    elif kind.is_spark_like():
        session = getattr(native, "sparkSession", None) or getattr(native, "session", None)
        on_engine = nw2.from_native(crmcore_costs, eager_only=True).lazy(
            backend=kind, session=session
        )
    else:
        on_engine = nw2.from_native(crmcore_costs, eager_only=True).lazy(kind)
    result: nw2.LazyFrame[Any] = on_engine.with_columns(nw2.col(customer_col).cast(id_dtype))
    return result


def _profitability_lazy(
    lazy: nw2.LazyFrame[Any],
    *,
    customer_col: str,
    amount_col: str,
    cogs_col: str | None,
    cogs_rate: float | None,
    cost_per_order: float,
    costs: dict[str, tuple[Any, str, str]],
    currency_col: str,
    status_col: str | None,
    statuses: Iterable[str] | None,
    who: str,
) -> Any:
    """customer_profitability on the caller's engine, as a lazy frame of that engine.

    The order aggregates (orders, revenue, cost of goods) and the per-customer cost tables
    are stacked and summed in one group-by (an outer join's work, without a join), so a
    customer that only has costs gets a row with revenue 0, as in memory. Sums are the
    engine's own (equal to the in-memory correctly rounded sums to about 1e-15).
    """
    if cogs_col is not None:
        _check_numeric(lazy.collect_schema().get(cogs_col), cogs_col, who=who)
    rows = read_order_log_lazy(
        lazy,
        who=who,
        customer_col=customer_col,
        date_col=None,
        amount_col=amount_col,
        extra_cols=[cogs_col] if cogs_col is not None else [],
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
        stacklevel=4,
    )
    cid = nw2.col(customer_col)
    parts = {
        "orders": (0, nw2.Int64),
        "revenue": (0.0, nw2.Float64),
        "cogs": (0.0, nw2.Float64),
        "service_cost": (0.0, nw2.Float64),
        "acquisition_cost": (0.0, nw2.Float64),
    }
    # Dask takes only elementary aggregations: columns are cast before the group-by
    sums = ["revenue"] + (["cogs"] if cogs_col is not None else [])
    orders = rows.select(
        cid,
        nw2.col(amount_col).cast(nw2.Float64).alias("revenue"),
        *([nw2.col(cogs_col).cast(nw2.Float64).alias("cogs")] if cogs_col is not None else []),
    )
    per_customer = orders.group_by(customer_col).agg(
        nw2.len().alias("orders"), nw2.col(*sums).sum()
    )
    pieces = [stacked(per_customer, customer_col, parts, ["orders", *sums])]
    flat: dict[str, float] = {}
    for key, (value, name, column) in costs.items():
        on_engine = _costs_on_engine(
            value, rows, name=name, column=column, customer_col=customer_col, who=who
        )
        if isinstance(on_engine, float):
            flat[key] = on_engine
        else:
            pieces.append(stacked(on_engine, customer_col, parts, {key: nw2.col(column)}))
    table = nw2.concat(pieces).group_by(customer_col).agg(nw2.col(*parts).sum())
    revenue = nw2.col("revenue")
    cogs = nw2.col("cogs") if cogs_col is not None else revenue * (cogs_rate or 0.0)
    service = nw2.col("service_cost") + flat.get("service_cost", 0.0)
    return (
        table.select(
            cid,
            nw2.col("orders").cast(nw2.Int64),
            revenue,
            cogs.alias("cogs"),
            (service + cost_per_order * nw2.col("orders").cast(nw2.Float64)).alias("service_cost"),
            (nw2.col("acquisition_cost") + flat.get("acquisition_cost", 0.0)).alias(
                "acquisition_cost"
            ),
        )
        .with_columns((revenue - nw2.col("cogs")).alias("gross_margin"))
        .with_columns(
            (nw2.col("gross_margin") - nw2.col("service_cost") - nw2.col("acquisition_cost"))
            .cast(nw2.Float64)
            .alias("profit")
        )
        .select(
            cid,
            "orders",
            "revenue",
            "cogs",
            "gross_margin",
            "service_cost",
            "acquisition_cost",
            "profit",
        )
        .to_native()
    )


def _check_numeric(dtype: Any, column: str, *, who: str) -> None:
    """Refuse a cost-of-goods column that does not hold numbers (any narwhals dtype)."""
    if dtype is not None and (not dtype.is_numeric() or dtype == nw2.Boolean):
        raise ValidationError(
            f"{who}: column {column!r} must be numeric; got dtype {dtype}. Hint: convert the "
            "column to numbers first.",
            rule="column must hold numbers",
            column=column,
        )
