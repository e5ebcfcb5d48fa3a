"""The end-to-end Spark and DuckDB scripts of docs/bigger-data.md run as printed.

They read an ``orders.parquet`` of the reader's own; here it is the CDNOW sample moved 23
years forward (so that the scripts' ``as_of="2022-01-01"`` falls after its last order) with
a ``status`` column, written to a temporary folder where each script runs unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from _engine_harness import require_engine, spark_session

from crmcore.datasets import load_cdnow_sample

DOCS = Path(__file__).resolve().parents[2] / "docs" / "bigger-data.md"


def _script(marker: str) -> str:
    """The one ```python block of bigger-data.md that contains `marker`."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"expected one python block with {marker!r}, found {len(found)}"
    return found[0]


@pytest.fixture
def orders_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    orders = load_cdnow_sample()[["customer_id", "date", "amount"]].copy()
    orders["date"] = orders["date"] + pd.DateOffset(years=23)
    orders["status"] = ["cancelled" if i % 10 == 0 else "complete" for i in range(len(orders))]
    assert orders["date"].max() < pd.Timestamp("2022-01-01")
    # as the guide says: Spark reads micro-, not nanosecond Parquet timestamps
    orders.to_parquet(tmp_path / "orders.parquet", index=False, coerce_timestamps="us")
    monkeypatch.chdir(tmp_path)
    # customers with at least one complete order: the rows every summary must have
    customers = orders.loc[orders["status"] == "complete", "customer_id"].nunique()
    return tmp_path, int(customers)


def test_the_duckdb_script_runs_as_printed(orders_folder: tuple[Path, int]) -> None:
    require_engine("duckdb")
    folder, customers = orders_folder
    namespace: dict[str, object] = {}
    exec(compile(_script("duckdb.connect"), "bigger-data.md (DuckDB)", "exec"), namespace)
    rfm = pd.read_parquet(folder / "rfm.parquet")
    assert len(rfm) == customers
    top = namespace["top"]
    assert isinstance(top, pd.DataFrame) and len(top) == 10
    assert top["expected_purchases"].is_monotonic_decreasing


def test_the_spark_script_runs_as_printed(orders_folder: tuple[Path, int]) -> None:
    require_engine("spark")
    spark_session()  # the suite's session settings (UTC); the script's getOrCreate reuses it
    folder, customers = orders_folder
    namespace: dict[str, object] = {}
    # Spark resolves a relative path against its JVM's working directory, fixed when the
    # session started (the suite's, elsewhere): the script's two file names are made absolute
    script = _script("SparkSession")
    for name in ("orders.parquet", "scores.parquet"):
        assert script.count(f'"{name}"') == 1, name
        script = script.replace(f'"{name}"', repr(str(folder / name)))
    exec(compile(script, "bigger-data.md (Spark)", "exec"), namespace)
    scores = pd.read_parquet(folder / "scores.parquet")
    assert len(scores) == customers
    assert {"expected_purchases", "probability_alive", "clv"} <= set(scores.columns)
    assert scores["probability_alive"].between(0.0, 1.0).all()
