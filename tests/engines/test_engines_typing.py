"""Typed order-log functions: a pandas frame in, ``pd.DataFrame`` out; a lazy frame, ``Any``.

Each function accepting lazy frames has two ``typing.overload``s (``rfm_table`` is the
model): ``transactions: pd.DataFrame -> pd.DataFrame`` and ``transactions: Any -> Any``, as
the engine's lazy frame comes back and crmcore imports no engine to name its type.
``period_transactions`` returns the small pandas table for lazy input too, so it keeps a
single ``pd.DataFrame`` annotation. The slow test runs ``mypy --strict`` on a tiny typed
example and reads what it reveals, and checks that a wrong assignment is refused (so the
check can fail).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

FUNCTIONS = (
    "rfm_table",
    "btyd_summary",
    "cohort_table",
    "purchase_history",
    "relationship_type",
    "customer_profitability",
)

EXAMPLE = """
from typing import Any

import pandas as pd
import polars as pl

from crmcore.segmentation import relationship_type, rfm_table
from crmcore.value import (
    BetaGeoModel,
    btyd_summary,
    cohort_table,
    customer_profitability,
    period_transactions,
    purchase_history,
)

orders: pd.DataFrame = pd.DataFrame(
    {"customer_id": ["a"], "date": ["2024-01-05"], "amount": [10.0]}
)
lazy = pl.LazyFrame({"customer_id": ["a"], "date": ["2024-01-05"], "amount": [10.0]})
model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)

reveal_type(rfm_table(orders, as_of="2024-01-31"))
reveal_type(btyd_summary(orders, as_of="2024-01-31"))
reveal_type(cohort_table(orders, as_of="2024-01-31"))
reveal_type(purchase_history(orders, as_of="2024-01-31"))
reveal_type(relationship_type(orders))
reveal_type(customer_profitability(orders))
reveal_type(rfm_table(lazy, as_of="2024-01-31"))
reveal_type(btyd_summary(lazy, as_of="2024-01-31"))
reveal_type(cohort_table(lazy, as_of="2024-01-31"))
reveal_type(purchase_history(lazy, as_of="2024-01-31"))
reveal_type(relationship_type(lazy))
reveal_type(customer_profitability(lazy))
reveal_type(period_transactions(model, lazy))

table: pd.DataFrame = rfm_table(orders, as_of="2024-01-31")
summary: pd.DataFrame = btyd_summary(orders, as_of="2024-01-31").sort_index()
"""


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        # a cache of its own: two xdist workers may run mypy at the same time
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            tempfile.mkdtemp(prefix="crmcore-mypy-"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )


@pytest.mark.slow
def test_mypy_sees_a_dataframe_for_pandas_input_and_any_for_a_lazy_frame(
    tmp_path: Path,
) -> None:
    example = tmp_path / "typed_example.py"
    example.write_text(EXAMPLE)
    run = _mypy(example)
    revealed = re.findall(r'Revealed type is "([^"]+)"', run.stdout)
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert not errors, run.stdout + run.stderr
    n = len(FUNCTIONS)
    assert revealed[:n] == ["pandas.core.frame.DataFrame"] * n, run.stdout
    assert revealed[n : 2 * n] == ["Any"] * n, run.stdout
    assert revealed[2 * n :] == ["pandas.core.frame.DataFrame"], run.stdout  # the pandas table
    # the check can fail: a pandas result is not a Series
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from crmcore.value import cohort_table

            orders: pd.DataFrame = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-05"]})
            column: pd.Series = cohort_table(orders, as_of="2024-01-31")
            """
        )
    )
    bad = _mypy(wrong)
    assert bad.returncode == 1 and "Incompatible types in assignment" in bad.stdout, bad.stdout
