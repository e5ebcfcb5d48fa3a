"""``python -m crmcore report``: the demo's analysis on the user's own order file.

The command reads an order log (``.csv``, ``.csv.gz`` or ``.parquet``), runs the same
analysis as ``python -m crmcore demo`` (RFM segments, ABC tiers, BG/NBD + Gamma-Gamma CLV,
monthly cohorts) through the public API, prints a short text summary and writes one
self-contained HTML file (tables as HTML, plots as base64 PNG when matplotlib is installed).
Progress lines go to ``stderr``; errors are the library's own :class:`~crmcore.exceptions.CRMError`
messages, reported by :func:`crmcore.__main__.main`.
"""

from __future__ import annotations

import base64
import html
import io
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import attrs
import pandas as pd

from crmcore._orderlog import PLACEHOLDER_IDS, PLACEHOLDER_RULE
from crmcore._validation import (
    coerce_datetime_column,
    coerce_timestamp,
    nearest_name,
    require_columns,
)
from crmcore.exceptions import ColumnNotFoundError, ValidationError

__all__ = ["AMOUNT_FROM_LINES", "SECTION_TITLES", "ReportOptions", "read_orders", "run_report"]

_WHO = "crmcore report"

#: Section titles of the HTML report, in order.
SECTION_TITLES: tuple[str, ...] = (
    "Overview",
    "RFM segments",
    "ABC tiers and revenue concentration",
    "Customer lifetime value (BG/NBD + Gamma-Gamma)",
    "Monthly cohorts",
)

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
    "th{background:#f3f3f3}img{max-width:100%}.note{color:#666}"
)


@attrs.frozen(kw_only=True)
class ReportOptions:
    """Settings of one ``report`` run (the parsed command line).

    Parameters
    ----------
    path : pathlib.Path
        The order file: ``.csv``, ``.csv.gz`` (or any other CSV name) or ``.parquet``.
    customer_col, date_col : str
        Column names of the customer id and the order date.
    amount_col : str or None
        Column of the order amount. Give either it or both `quantity_col` and `price_col`.
    quantity_col, price_col : str or None
        Columns of a line's quantity and unit price (invoice-line exports); the amount is
        their product.
    order_col : str or None
        Order (invoice) id column. When given, the rows of one order are summed into one
        order dated at its earliest row (exports stamp an invoice's lines a minute apart);
        every row of an order must have the same customer.
    drop_unknown_customers : bool
        Drop rows whose customer id is missing or a placeholder (``"(blank)"``, ``"n/a"``, ...:
        :data:`crmcore._orderlog.PLACEHOLDER_IDS`) with a warning that counts them, instead
        of refusing the file.
    date_format : str or None
        ``strftime`` format of the date column (e.g. ``"%d/%m/%Y"``); None means ISO 8601.
    as_of : str or None
        Observation end (inclusive; ISO 8601 or in `date_format`); None means the last
        order date.
    out : pathlib.Path
        Where the HTML report is written.
    sep : str
        CSV field separator (``"\\s+"`` for whitespace-separated files).

    Examples
    --------
    >>> ReportOptions(path=Path("orders.csv"), customer_col="c", date_col="d",
    ...               amount_col="a").out
    PosixPath('report.html')
    """

    path: Path
    customer_col: str
    date_col: str
    amount_col: str | None = None
    quantity_col: str | None = None
    price_col: str | None = None
    order_col: str | None = None
    drop_unknown_customers: bool = False
    date_format: str | None = None
    as_of: str | None = None
    out: Path = Path("report.html")
    sep: str = ","

    @property
    def amount_name(self) -> str:
        """The amount column the analysis reads (`amount_col`, or the computed one)."""
        return self.amount_col if self.amount_col is not None else AMOUNT_FROM_LINES


#: Name of the amount column computed as quantity x unit price.
AMOUNT_FROM_LINES = "amount"


def read_orders(options: ReportOptions) -> pd.DataFrame:
    """Read the order file named by `options` and return it with its date column parsed.

    Customer ids and dates are read as text (so ``"00001"`` keeps its zeros and a day-first
    date is never guessed); the date column is then parsed with the library's one date rule
    (`date_format` when given, else ISO 8601).

    Parameters
    ----------
    options : ReportOptions
        The file, the column names, the separator and the date format.

    Returns
    -------
    pandas.DataFrame
        The file's rows with the named columns (others are kept) and a datetime date
        column; with `quantity_col` and `price_col`, an ``amount`` column (their product);
        with `order_col`, one row per order (customer, date, order id, amount).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ColumnNotFoundError
        If a named column is not in the file (with the nearest existing name).
    ValidationError
        If the dates do not parse with the one format, the file type is unknown, the amount
        options are not exactly one of `amount_col` or `quantity_col` + `price_col`, a
        quantity or price is not a number, or one order has several customers or dates.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "o.csv").write_text("id,day,eur\\n007,13/01/2024,9.5\\n")
    >>> opts = ReportOptions(path=folder / "o.csv", customer_col="id", date_col="day",
    ...                      amount_col="eur", date_format="%d/%m/%Y")
    >>> row = read_orders(opts).iloc[0]
    >>> row["id"], str(row["day"].date()), float(row["eur"])
    ('007', '2024-01-13', 9.5)
    """
    _check_amount_options(options)
    path = options.path
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    name = path.name.lower()
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
        _require_role_columns(frame, options)
    elif name.endswith((".xlsx", ".xls", ".json", ".feather")):
        raise ValidationError(
            f"{_WHO}: cannot read {path.name!r}; give a .csv, .csv.gz or .parquet file."
        )
    else:
        header = pd.read_csv(path, sep=options.sep, nrows=0)
        _require_role_columns(header, options)
        text = {options.customer_col: str, options.date_col: str}
        if options.order_col is not None:
            text[options.order_col] = str
        frame = pd.read_csv(path, sep=options.sep, dtype=text)
    if options.drop_unknown_customers:
        frame = _drop_unknown_customers(frame, options.customer_col)
    try:
        result: pd.DataFrame = coerce_datetime_column(
            frame, options.date_col, who=_WHO, date_format=options.date_format
        )
    except ValidationError as err:
        message = str(err.args[0]).replace("date_format=", "--date-format ")
        raise _restated(err, message) from None
    if options.quantity_col is not None and options.price_col is not None:
        quantity = _numeric(result, options.quantity_col, "--quantity-col", options)
        price = _numeric(result, options.price_col, "--price-col", options)
        result = result.assign(**{AMOUNT_FROM_LINES: quantity * price})
    if options.order_col is not None:
        result = _one_row_per_order(result, options)
    return result


def _amount_source(options: ReportOptions) -> str:
    """How the report got each order's amount, in words (shown in the overview)."""
    if options.amount_col is not None:
        source = f"column {options.amount_col}"
    else:
        source = f"{options.quantity_col} x {options.price_col}"
    if options.order_col is not None:
        source += f", lines summed per {options.order_col}"
    return source


def _check_amount_options(options: ReportOptions) -> None:
    """Exactly one amount source: ``--amount-col``, or ``--quantity-col`` + ``--price-col``."""
    lines = (options.quantity_col, options.price_col)
    if options.amount_col is not None and any(col is not None for col in lines):
        raise ValidationError(
            f"{_WHO}: give either --amount-col or --quantity-col with --price-col, not both.",
            rule="amount options",
        )
    if options.amount_col is None and None in lines:
        raise ValidationError(
            f"{_WHO}: no amount: give --amount-col, or --quantity-col and --price-col "
            "(the amount is then quantity x unit price).",
            rule="amount options",
        )
    if options.amount_col is None and options.quantity_col == options.price_col:
        raise ValidationError(
            f"{_WHO}: --quantity-col and --price-col name the same column "
            f"{options.quantity_col!r}.",
            rule="amount options",
        )


def _drop_unknown_customers(frame: pd.DataFrame, customer_col: str) -> pd.DataFrame:
    """Drop rows whose customer id is missing or a placeholder; warn with the count."""
    ids = frame[customer_col]
    text = ids.astype("string").str.strip().str.lower()
    unknown = (ids.isna() | text.isin(PLACEHOLDER_IDS)).to_numpy(dtype=bool, na_value=True)
    count = int(unknown.sum())
    if count:
        warnings.warn(
            f"{_WHO}: dropped {count:,} of {len(frame):,} rows whose {customer_col!r} is "
            "missing or means 'no customer' (--drop-unknown-customers).",
            UserWarning,
            stacklevel=3,
        )
    kept: pd.DataFrame = frame.loc[~unknown]
    return kept


def _numeric(frame: pd.DataFrame, column: str, flag: str, options: ReportOptions) -> pd.Series:
    """`column` as float; text that is not a number is an error naming the first rows."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna().to_numpy() & frame[column].notna().to_numpy()
    if bad.any():
        first = frame.loc[bad, options.customer_col].head(3).astype(str).tolist()
        raise ValidationError(
            f"{_WHO}: column {column!r} ({flag}) has {int(bad.sum()):,} values that are not "
            f"numbers (first customer ids: {', '.join(first)}; first values: "
            f"{', '.join(repr(v) for v in frame.loc[bad, column].head(3))}).",
            rule="numeric",
            column=column,
            count=int(bad.sum()),
            first_ids=tuple(first),
        )
    return values.astype(float)


def _one_row_per_order(frame: pd.DataFrame, options: ReportOptions) -> pd.DataFrame:
    """Sum the lines of each order, dated at its first line; one customer per order."""
    order_col, customer_col, date_col = options.order_col, options.customer_col, options.date_col
    assert order_col is not None
    amount = options.amount_name
    grouped = frame.groupby(order_col, sort=False, dropna=False)
    customers = grouped[customer_col].nunique(dropna=False)
    mixed = customers.index[(customers > 1).to_numpy()]
    if len(mixed):
        raise ValidationError(
            f"{_WHO}: {len(mixed):,} orders in {order_col!r} (--order-col) have rows of "
            f"different customers (first orders: {', '.join(str(v) for v in mixed[:3])}); the "
            "lines of one order must share the customer.",
            rule="one customer per order",
            column=order_col,
            count=len(mixed),
            first_ids=tuple(str(v) for v in mixed[:3]),
        )
    orders = grouped.agg(
        **{
            customer_col: (customer_col, "first"),
            date_col: (date_col, "min"),
            amount: (amount, "sum"),
        }
    )
    one_row_each: pd.DataFrame = orders.reset_index()
    return one_row_each


def _restated(err: ColumnNotFoundError | ValidationError, message: str) -> Exception:
    """Return `err` with `message` (same class and structured fields)."""
    return type(err)(
        message, rule=err.rule, column=err.column, count=err.count, first_ids=err.first_ids
    )


def _require_role_columns(frame: pd.DataFrame, options: ReportOptions) -> None:
    """Check the three named columns; the hint names the command-line flag to pass."""
    named = {
        "--customer-col": options.customer_col,
        "--date-col": options.date_col,
        "--amount-col": options.amount_col,
        "--quantity-col": options.quantity_col,
        "--price-col": options.price_col,
        "--order-col": options.order_col,
    }
    roles = {flag: col for flag, col in named.items() if col is not None}
    try:
        require_columns(frame, list(roles.values()), who=_WHO)
    except ColumnNotFoundError as err:
        available = [str(c) for c in frame.columns]
        hints = [
            f"{flag} {near!r}"
            for flag, col in roles.items()
            if col not in available and (near := nearest_name(col, available)) is not None
        ]
        message = str(err.args[0]).split(" Hint: ")[0]
        if hints:
            message += " Hint: pass " + ", ".join(hints) + "."
        raise _restated(err, message) from None


def _table_html(frame: pd.DataFrame | pd.Series, *, float_format: str = "{:,.2f}") -> str:
    shown = frame.to_frame() if isinstance(frame, pd.Series) else frame
    return shown.to_html(float_format=float_format.format, border=0, escape=True)


def _plot_html(draw: Callable[[Any], Any], alt: str) -> str:
    """Return an ``<img>`` with the PNG `draw(ax)` makes, or a note without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return '<p class="note">(plot omitted: install matplotlib to include plots)</p>'
    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        draw(ax)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def run_report(options: ReportOptions, *, progress: IO[str] | None = None) -> str:
    """Analyse the order file of `options`, write the HTML report and return a text summary.

    Sections: overview (customers, orders, revenue, dates), RFM segments (quintiles,
    forced-rank ties, the R x F grid), ABC tiers (80% / 95%) with Gini and the top-20%
    share, a BG/NBD + Gamma-Gamma fit in weeks with the top 20 customers by 52-week CLV
    (margin 1, discount 0.2% per week), and monthly cohorts (share of month-0 customers
    active, ages 0-11).

    Parameters
    ----------
    options : ReportOptions
        File, columns, date format, observation end and output path.
    progress : text stream, optional
        Where progress lines go (``"reading ..."``); default ``sys.stderr``.

    Returns
    -------
    str
        The text summary printed by the command line.

    Raises
    ------
    CRMError
        Whatever the library raises on the data (missing columns, unparseable dates,
        non-numeric amounts, a model that does not converge ...).
    FileNotFoundError
        If the order file does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from crmcore.datasets import load_cdnow_sample
    >>> folder = Path(tempfile.mkdtemp())
    >>> load_cdnow_sample().to_csv(folder / "orders.csv", index=False)
    >>> opts = ReportOptions(path=folder / "orders.csv", customer_col="customer_id",
    ...                      date_col="date", amount_col="amount", out=folder / "r.html")
    >>> print(run_report(opts, progress=io.StringIO()).splitlines()[1])
    customers 2,357, orders 6,919, revenue 244,091.94
    """
    from crmcore.plotting import (
        plot_cohort_heatmap,
        plot_lorenz_curve,
        plot_probability_alive_matrix,
        plot_segment_sizes,
    )
    from crmcore.segmentation import (
        abc_tiers,
        assign_segments,
        gini,
        rfm_scores,
        rfm_table,
        segment_summary,
        top_share,
    )
    from crmcore.value import (
        BetaGeoModel,
        GammaGammaModel,
        btyd_summary,
        cohort_table,
        customer_lifetime_value,
    )

    stream = sys.stderr if progress is None else progress

    def step(message: str) -> None:
        stream.write(f"{message}...\n")
        stream.flush()

    step(f"reading {options.path}")
    orders = read_orders(options)
    customer_col, date_col, amount_col = options.customer_col, options.date_col, options.amount_name
    dates = orders[options.date_col]
    as_of = (
        coerce_timestamp(options.as_of, name="--as-of", who=_WHO, date_format=options.date_format)
        if options.as_of is not None
        else dates.max().normalize()
    )
    as_of_text = f"{as_of:%Y-%m-%d}"

    step("computing RFM segments")
    try:
        table = rfm_table(
            orders, as_of=as_of, customer_col=customer_col, date_col=date_col, amount_col=amount_col
        )
    except ValidationError as err:
        if err.rule != PLACEHOLDER_RULE:
            raise
        raise _restated(err, f"{err.args[0]} Or pass --drop-unknown-customers.") from None
    scores = rfm_scores(table, bins=5, ties="rank")
    segments = assign_segments(scores, "rf-grid")
    seg_summary = segment_summary(table, segments)
    n_customers = len(table)
    n_orders = int(table["frequency"].sum())
    revenue_total = float(table["monetary"].sum())

    step("computing tiers")
    # Tiers and concentration are shares of a total: a customer whose returns exceed the
    # purchases (negative net revenue) counts as 0 there, and the report says how many.
    net_negative = int((table["monetary"] < 0).sum())
    if net_negative:
        warnings.warn(
            f"{_WHO}: {net_negative:,} customers have negative net revenue (returns exceed "
            "purchases); they count as 0 in the tiers and the concentration figures.",
            UserWarning,
            stacklevel=2,
        )
    revenue = table["monetary"].clip(lower=0.0)
    tiers = abc_tiers(revenue)
    tier_table = tiers.groupby("tier", observed=False).agg(
        customers=("value", "size"), revenue=("value", "sum")
    )
    tier_table["customer_share"] = tier_table["customers"] / tier_table["customers"].sum()
    tier_table["revenue_share"] = tier_table["revenue"] / tier_table["revenue"].sum()
    gini_value = gini(revenue)
    top20 = top_share(revenue, 0.2)

    step("fitting BG/NBD")
    summary = btyd_summary(
        orders,
        as_of=as_of,
        time_unit="W",
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    bg = BetaGeoModel().fit(summary)
    step("fitting Gamma-Gamma")
    # Gamma-Gamma needs a positive mean spend: repeat buyers whose repeat orders are all
    # zero-value (refunds netted, free items) are left out of the fit, and said so.
    zero_spend_mask = (summary["frequency"] > 0) & (summary["monetary_value"] <= 0)
    zero_spend = int(zero_spend_mask.sum())
    valued = summary[~zero_spend_mask]
    gg = GammaGammaModel().fit(valued)
    clv = customer_lifetime_value(bg, gg, valued, horizon=52, horizon_unit="W", discount_rate=0.002)
    clv_table = valued.assign(
        p_alive=bg.probability_alive(valued),
        purchases_52w=bg.expected_purchases(valued, 52),
        spend=gg.conditional_expected_average_spend(valued),
        clv_52w=clv,
    )
    top = clv_table.sort_values("clv_52w", ascending=False, kind="stable").head(20)

    step("computing cohorts")
    cohorts = cohort_table(
        orders,
        as_of=as_of,
        metric="customers",
        relative=True,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    # drawn with its dates (the heatmap hatches the month not over at as_of), shown as months
    cohort_drawn = cohorts.iloc[:, :12]
    cohort_shown = cohort_drawn.set_axis(
        pd.DatetimeIndex(cohort_drawn.index).strftime("%Y-%m"), axis=0
    )

    step("drawing plots")
    median_t = float(summary["T"].median())
    plots = {
        "RFM segments": _plot_html(lambda ax: plot_segment_sizes(seg_summary, ax=ax), "segments"),
        "ABC tiers and revenue concentration": _plot_html(
            lambda ax: plot_lorenz_curve(revenue, ax=ax), "Lorenz curve"
        ),
        "Customer lifetime value (BG/NBD + Gamma-Gamma)": _plot_html(
            lambda ax: plot_probability_alive_matrix(bg, T=median_t, ax=ax), "P(alive)"
        ),
        "Monthly cohorts": _plot_html(
            lambda ax: plot_cohort_heatmap(cohort_drawn, ax=ax, annotate=False), "cohorts"
        ),
    }

    first, last = dates.min(), dates.max()
    overview = pd.Series(
        {
            "customers": f"{n_customers:,}",
            "orders": f"{n_orders:,}",
            "revenue": f"{revenue_total:,.2f}",
            "first order": f"{first:%Y-%m-%d}",
            "last order": f"{last:%Y-%m-%d}",
            "as of": as_of_text,
            "amount": _amount_source(options),
        },
        name="value",
    )
    sections = {
        "Overview": _table_html(overview),
        "RFM segments": "<p>Quintile scores (forced-rank ties), R x F grid.</p>"
        + _table_html(seg_summary),
        "ABC tiers and revenue concentration": _table_html(tier_table)
        + f"<p>Gini of revenue {gini_value:.3f}; the top 20% of customers hold "
        f"{top20:.1%} of revenue."
        + (
            f" {net_negative:,} customers with negative net revenue (returns exceed "
            "purchases) count as 0 here."
            if net_negative
            else ""
        )
        + "</p>",
        "Customer lifetime value (BG/NBD + Gamma-Gamma)": "<p>Time unit weeks; 52-week CLV, "
        "margin 1, discount 0.2% per week."
        + (
            f" {zero_spend:,} repeat customers whose repeat orders are all zero-value are left "
            "out of the Gamma-Gamma fit and the CLV table."
            if zero_spend
            else ""
        )
        + "</p><h3>BG/NBD</h3>"
        + _table_html(bg.summary(), float_format="{:.4g}")
        + "<h3>Gamma-Gamma</h3>"
        + _table_html(gg.summary(), float_format="{:.4g}")
        + "<h3>Top 20 customers by 52-week CLV</h3>"
        + _table_html(top),
        "Monthly cohorts": "<p>Share of each monthly cohort's customers active, by age in "
        "months (0-11).</p>" + _table_html(cohort_shown, float_format="{:.1%}"),
    }
    body = []
    for title in SECTION_TITLES:
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(sections[title])
        if title in plots:
            body.append(plots[title])
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>crmcore report: {html.escape(options.path.name)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>crmcore report: {html.escape(options.path.name)}</h1>" + "\n".join(body)
    )
    page += "</body></html>\n"
    step(f"writing {options.out}")
    options.out.write_text(page, encoding="utf-8")

    lines = [
        f"crmcore report on {options.path.name} (as of {as_of_text})",
        f"customers {n_customers:,}, orders {n_orders:,}, revenue {revenue_total:,.2f}",
        f"largest segment: {seg_summary['customers'].idxmax()} "
        f"({int(seg_summary['customers'].max()):,} customers)",
        f"Gini of revenue {gini_value:.3f}; top 20% hold {top20:.1%} of revenue",
        f"total 52-week CLV {float(clv.sum()):,.0f}",
        f"report written to {options.out}",
    ]
    return "\n".join(lines)
