"""Small embedded data sets and seeded synthetic generators.

The CDNOW data (Fader, Hardie & Lee 2005) are the standard benchmark of the
buy-till-you-die literature: 23,570 customers who made their first purchase at the
CDNOW web site in the first quarter of 1997, followed to the end of June 1998. They are
embedded as compressed package data and read with :mod:`importlib.resources`.

Examples
--------
>>> from crmcore.datasets import load_cdnow_master
>>> master = load_cdnow_master()
>>> len(master), master["customer_id"].nunique()
(69659, 23570)
"""

from __future__ import annotations

from crmcore.datasets._cdnow import (
    load_cdnow_master,
    load_cdnow_sample,
    load_cdnow_summary,
    load_donations,
)
from crmcore.datasets._pipeline_synthetic import default_transition_matrix, simulate_pipeline
from crmcore.datasets._service_synthetic import simulate_tickets
from crmcore.datasets._synthetic import generate_transactions

__all__ = [
    "default_transition_matrix",
    "generate_transactions",
    "load_cdnow_master",
    "load_cdnow_sample",
    "load_cdnow_summary",
    "load_donations",
    "simulate_pipeline",
    "simulate_tickets",
]
