"""`python -m crmcore report ORDERS ...` writes an HTML report of the user's own order file."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import attrs
import pandas as pd
import pytest

import crmcore

REPO = Path(crmcore.__file__).resolve().parent.parent
CDNOW = Path(str(resources.files("crmcore.datasets").joinpath("data/cdnow_master.txt.gz")))
SECTIONS = (
    "Overview",
    "RFM segments",
    "ABC tiers and revenue concentration",
    "Customer lifetime value (BG/NBD + Gamma-Gamma)",
    "Monthly cohorts",
)


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "crmcore", "report", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def write_day_first_orders(path: Path) -> None:
    """40 customers; customer k buys on 13/01/2024 and then every (k % 5 + 2) weeks."""
    rows = ["client;order_day;total"]
    start = pd.Timestamp("2024-01-13")
    for k in range(40):
        step = pd.Timedelta(weeks=k % 5 + 2)
        n_orders = 1 + k % 4
        for j in range(n_orders):
            day = start + j * step
            rows.append(f"C{k:03d};{day:%d/%m/%Y};{10 + k + 3 * j}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_report_on_the_shipped_cdnow_file_has_every_section_and_the_counts(
    tmp_path: Path,
) -> None:
    out = tmp_path / "cdnow.html"
    result = run_cli(
        CDNOW,
        "--sep",
        r"\s+",
        "--customer-col",
        "customer_id",
        "--date-col",
        "date",
        "--amount-col",
        "dollar_value",
        "--date-format",
        "%Y%m%d",
        "--out",
        out,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # independent peer: pandas on the raw file
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str})
    n_customers = raw["customer_id"].nunique()
    revenue = raw["dollar_value"].sum()
    assert n_customers == 23_570  # Fader, Hardie & Lee (2005)
    page = out.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert f"{n_customers:,}" in page and f"{len(raw):,}" in page
    assert f"{revenue:,.2f}" in page
    assert "1997-01-01" in page and "1998-06-30" in page
    assert f"customers {n_customers:,}, orders {len(raw):,}" in result.stdout
    assert "fitting BG/NBD..." in result.stderr
    pytest.importorskip("matplotlib")
    assert page.count('src="data:image/png;base64,') == 4


def test_day_first_dates_work_with_date_format_and_are_refused_without(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_day_first_orders(orders)
    common = ["--sep", ";", "--customer-col", "client", "--date-col", "order_day"]
    common += ["--amount-col", "total"]
    out = tmp_path / "r.html"
    ok = run_cli(orders, *common, "--date-format", "%d/%m/%Y", "--out", out, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    page = out.read_text(encoding="utf-8")
    # last order: customers 19 and 39 (4 orders, every 6 weeks) -> 13 Jan 2024 + 18 weeks
    # = 13 Jan + 126 days = 18 May 2024 (2024 is a leap year); month-first, 13/01 cannot parse.
    assert "2024-01-13" in page and "2024-05-18" in page
    n_orders = sum(1 + k % 4 for k in range(40))  # 100
    assert f"customers 40, orders {n_orders}" in ok.stdout

    refused = run_cli(orders, *common, "--out", tmp_path / "no.html", cwd=tmp_path)
    assert refused.returncode == 2
    assert "error: crmcore report: column 'order_day'" in refused.stderr
    assert "not ISO 8601 dates" in refused.stderr and "13/01/2024" in refused.stderr
    assert '--date-format "%d/%m/%Y"' in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "no.html").exists()


def test_a_wrong_column_name_exits_with_the_nearest_name(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_day_first_orders(orders)
    result = run_cli(
        orders,
        "--sep",
        ";",
        "--customer-col",
        "clients",
        "--date-col",
        "order_day",
        "--amount-col",
        "total",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "column 'clients' not found (did you mean 'client'?)" in result.stderr
    assert "Available columns: client, order_day, total" in result.stderr
    assert "--customer-col 'client'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "report.html").exists()


def test_a_missing_file_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path / "nope.csv",
        "--customer-col",
        "c",
        "--date-col",
        "d",
        "--amount-col",
        "a",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"error: no such file: '{tmp_path / 'nope.csv'}'")
    assert "Traceback" not in result.stderr


def test_as_of_before_the_last_order_warns_once_and_counts_the_rows_left_out(
    tmp_path: Path,
) -> None:
    orders = tmp_path / "orders.csv"
    write_day_first_orders(orders)
    result = run_cli(
        orders,
        "--sep",
        ";",
        "--customer-col",
        "client",
        "--date-col",
        "order_day",
        "--amount-col",
        "total",
        "--date-format",
        "%d/%m/%Y",
        "--as-of",
        "2024-03-01",
        "--out",
        tmp_path / "r.html",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # 2024-03-01 is 48 days after 13 Jan: order j of customer k (every k % 5 + 2 weeks) is
    # left out when 7 * j * (k % 5 + 2) > 48.
    late = sum(7 * j * (k % 5 + 2) > 48 for k in range(40) for j in range(1 + k % 4))
    lines = result.stderr.splitlines()
    warnings = [line for line in lines if line.startswith("warning: ") and "as_of" in line]
    assert len(warnings) == 1  # rfm_table, btyd_summary and cohort_table: printed once
    assert f"{late} of 100 rows are dated after as_of 2024-03-01" in warnings[0]
    assert f"orders {100 - late}" in result.stdout


def write_invoice_lines(path: Path) -> list[tuple[str, str, str, float]]:
    """An invoice-line export (one row per line, no amount column), like the retail export.

    Returns the orders by hand: (invoice, customer, first line's date, sum of quantity x price).
    Invoice lines are stamped a minute apart, as real exports do; one invoice is a
    cancellation (negative quantity) and two rows have no customer.
    """
    rows = [
        ("I1", "01/02/2024 09:00", "A", 2, 5.0),
        ("I1", "01/02/2024 09:01", "A", 1, 7.5),
        ("I2", "15/02/2024 10:00", "B", 3, 4.0),
        ("I3", "03/03/2024 12:00", "A", 1, 20.0),
        ("I4", "20/03/2024 08:00", "(blank)", 5, 1.0),
        ("I4", "20/03/2024 08:00", "(blank)", 1, 1.0),
        ("C5", "21/03/2024 08:00", "B", -1, 4.0),
        ("I6", "05/04/2024 17:30", "C", 4, 2.5),
        ("I6", "05/04/2024 17:31", "C", 2, 0.5),
    ]
    text = "InvoiceNo,InvoiceDate,CustomerID,Quantity,UnitPrice\n"
    text += "".join(f"{i},{d},{c},{q},{p}\n" for i, d, c, q, p in rows)
    path.write_text(text, encoding="utf-8")
    return [
        ("I1", "A", "2024-02-01 09:00", 2 * 5.0 + 1 * 7.5),  # 17.5
        ("I2", "B", "2024-02-15 10:00", 12.0),
        ("I3", "A", "2024-03-03 12:00", 20.0),
        ("C5", "B", "2024-03-21 08:00", -4.0),
        ("I6", "C", "2024-04-05 17:30", 4 * 2.5 + 2 * 0.5),  # 11.0
    ]


def test_read_orders_sums_invoice_lines_into_orders_and_drops_unknown_customers(
    tmp_path: Path,
) -> None:
    from crmcore._report import ReportOptions, read_orders

    path = tmp_path / "lines.csv"
    expected = write_invoice_lines(path)
    options = ReportOptions(
        path=path,
        customer_col="CustomerID",
        date_col="InvoiceDate",
        quantity_col="Quantity",
        price_col="UnitPrice",
        order_col="InvoiceNo",
        drop_unknown_customers=True,
        date_format="%d/%m/%Y %H:%M",
    )
    with pytest.warns(UserWarning, match=r"dropped 2 of 9 rows whose 'CustomerID'"):
        orders = read_orders(options)
    got = sorted(
        (row.InvoiceNo, row.CustomerID, f"{row.InvoiceDate:%Y-%m-%d %H:%M}", row.amount)
        for row in orders.itertuples()
    )
    assert got == sorted(expected)

    # without the flag, the library's placeholder rule refuses the file at the analysis step
    kept = read_orders(attrs.evolve(options, drop_unknown_customers=False))
    assert "(blank)" in set(kept["CustomerID"])


def test_report_on_invoice_lines_with_quantity_and_price(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    expected = write_invoice_lines(path)
    args = [
        "--customer-col",
        "CustomerID",
        "--date-col",
        "InvoiceDate",
        "--quantity-col",
        "Quantity",
        "--price-col",
        "UnitPrice",
        "--order-col",
        "InvoiceNo",
        "--date-format",
        "%d/%m/%Y %H:%M",
    ]
    refused = run_cli(path, *args, "--out", tmp_path / "no.html", cwd=tmp_path)
    assert refused.returncode == 2
    # the two (blank) lines are one order: the library counts order rows
    assert "1 rows whose id means 'no customer' ('(blank)')" in refused.stderr
    assert refused.stderr.rstrip().endswith("Or pass --drop-unknown-customers.")
    assert "Traceback" not in refused.stderr

    out = tmp_path / "r.html"
    result = run_cli(path, *args, "--drop-unknown-customers", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    revenue = sum(amount for *_, amount in expected)  # 56.5
    assert f"customers 3, orders {len(expected)}, revenue {revenue:,.2f}" in result.stdout
    assert "warning: crmcore report: dropped 2 of 9 rows" in result.stderr
    assert "1 rows have negative amounts" in result.stderr or "1 row has" in result.stderr
    assert out.is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--amount-col", "UnitPrice", "--quantity-col", "Quantity", "--price-col", "UnitPrice"],
            "give either --amount-col or --quantity-col with --price-col, not both",
        ),
        (["--quantity-col", "Quantity"], "no amount: give --amount-col, or --quantity-col"),
        ([], "no amount: give --amount-col, or --quantity-col"),
        (["--quantity-col", "Qty", "--price-col", "UnitPrice"], "column 'Qty' not found"),
    ],
)
def test_amount_options_are_checked(tmp_path: Path, extra: list[str], message: str) -> None:
    path = tmp_path / "lines.csv"
    write_invoice_lines(path)
    base = ["--customer-col", "CustomerID", "--date-col", "InvoiceDate"]
    result = run_cli(path, *base, *extra, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_order_with_two_customers_and_a_non_numeric_quantity_are_refused(
    tmp_path: Path,
) -> None:
    from crmcore._report import ReportOptions, read_orders
    from crmcore.exceptions import ValidationError

    path = tmp_path / "bad.csv"
    path.write_text(
        "inv,day,cust,qty,price\nX1,2024-01-01,A,1,2\nX1,2024-01-01,B,1,2\nX2,2024-01-02,A,1,2\n",
        encoding="utf-8",
    )
    options = ReportOptions(
        path=path,
        customer_col="cust",
        date_col="day",
        quantity_col="qty",
        price_col="price",
        order_col="inv",
    )
    with pytest.raises(ValidationError, match=r"1 orders in 'inv' .* different customers") as err:
        read_orders(options)
    assert err.value.first_ids == ("X1",)

    path.write_text(
        "inv,day,cust,qty,price\nX1,2024-01-01,A,one,2\nX2,2024-01-02,B,1,2\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError, match=r"column 'qty' \(--quantity-col\) has 1 values"):
        read_orders(options)
