"""`python -m crmcore report ORDERS ...` writes an HTML report of the user's own order file."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

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
