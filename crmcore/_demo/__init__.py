"""The report printed by ``python -m crmcore demo``.

The overview lives here; each analytics section is a module of this package that defines
``demo_report() -> str`` and uses the public API only, so no demo code sits in the algorithm
packages.
"""

from __future__ import annotations

import importlib

import pandas as pd

from crmcore.datasets import load_cdnow_master

__all__ = ["SECTIONS", "demo_report", "overview_report"]

#: (title, module) of each analytics section; every module defines ``demo_report() -> str``.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("RFM segments (as of 1998-07-01)", "crmcore._demo._rfm"),
    ("ABC tiers and revenue concentration", "crmcore._demo._tiers"),
    ("Customer lifetime value (BG/NBD + Gamma-Gamma)", "crmcore._demo._clv"),
    ("Cohorts and the economics of retention", "crmcore._demo._retention"),
    ("Sales pipeline (simulated): funnel, forecast, back-test", "crmcore._demo._pipeline"),
    (
        "Customer service (simulated tickets): SLAs, backlog, CSAT, cost to serve",
        "crmcore._demo._service",
    ),
)


def overview_report() -> str:
    """Return the CDNOW overview: customers, orders, revenue, date range, top-10 customers.

    Examples
    --------
    >>> print(overview_report().splitlines()[1])
    customers            23,570
    """
    master = load_cdnow_master()
    revenue = master.groupby("customer_id", sort=False)["amount"].sum()
    top = (
        revenue.sort_values(ascending=False, kind="stable")
        .head(10)
        .round(2)
        .rename("revenue")
        .reset_index()
    )
    top.index = pd.RangeIndex(1, len(top) + 1, name="rank")
    lines = [
        "CDNOW master (Fader, Hardie & Lee 2005): first purchases in Q1 1997",
        f"{'customers':<20} {master['customer_id'].nunique():>6,}",
        f"{'orders':<20} {len(master):>6,}",
        f"{'revenue (USD)':<20} {master['amount'].sum():>12,.2f}",
        f"{'first order':<20} {master['date'].min():%Y-%m-%d}",
        f"{'last order':<20} {master['date'].max():%Y-%m-%d}",
        "",
        "Top 10 customers by revenue",
        top.to_string(),
    ]
    return "\n".join(lines)


def demo_report() -> str:
    """Return the whole demo report: the overview and every analytics section."""
    parts = ["=" * 72, overview_report()]
    for title, module in SECTIONS:
        section = importlib.import_module(module)
        parts += ["", "=" * 72, title, "-" * len(title), section.demo_report()]
    return "\n".join(parts)
