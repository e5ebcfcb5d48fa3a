"""Demo section: ABC tiers and revenue concentration of the CDNOW master customers."""

from __future__ import annotations

import pandas as pd

from crmcore.datasets import load_cdnow_master
from crmcore.segmentation import abc_tiers, gini, top_share

__all__ = ["demo_report"]


def demo_report() -> str:
    """Return ABC tiers (80% / 95%, inclusive) of CDNOW customers by revenue, Gini, top-20% share.

    Examples
    --------
    >>> report = demo_report()
    >>> report.splitlines()[0]
    'ABC tiers of the 23,570 CDNOW customers by total revenue (thresholds 80% / 95%, inclusive)'
    """
    master = load_cdnow_master()
    revenue = master.groupby("customer_id", sort=True)["amount"].sum()
    tiers = abc_tiers(revenue)
    table = tiers.groupby("tier", observed=False).agg(
        customers=("value", "size"), revenue=("value", "sum")
    )
    table["customer_share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    shown = pd.DataFrame(
        {
            "customers": table["customers"].map("{:,}".format),
            "customer %": (100 * table["customer_share"]).map("{:.1f}".format),
            "revenue": table["revenue"].map("{:,.2f}".format),
            "revenue %": (100 * table["revenue_share"]).map("{:.1f}".format),
        }
    )
    zero = int((revenue == 0).sum())
    lines = [
        f"ABC tiers of the {len(revenue):,} CDNOW customers by total revenue "
        "(thresholds 80% / 95%, inclusive)",
        shown.to_string(),
        "",
        f"{'Gini of revenue':<28} {gini(revenue):.3f}",
        f"{'top 20% of customers hold':<28} {top_share(revenue, 0.2):.1%} of revenue",
        f"{'customers with zero revenue':<28} {zero:,} (kept, tier C)",
    ]
    return "\n".join(lines)
