"""`import crmcore` stays cheap: entities never pull in the numeric stack."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "narwhals", "polars", "pyarrow")


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_importing_crmcore_and_customers_loads_no_numeric_library() -> None:
    loaded = _modules_loaded_by("import crmcore, crmcore.customers")
    assert "crmcore" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_check_itself_sees_a_heavy_import() -> None:
    # guards the test above against a broken probe that would always pass
    assert "pandas" in _modules_loaded_by("import crmcore.datasets")


def test_importing_pipeline_entities_loads_no_numeric_library() -> None:
    loaded = _modules_loaded_by("from crmcore.pipeline import Stage, Pipeline, Opportunity")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


# pyarrow is not listed: pandas itself imports it when it is installed
ENGINES = ("polars", "duckdb", "pyspark", "dask", "py4j")


def test_importing_the_analytics_loads_no_engine() -> None:
    """Issue 12: no dataframe engine is imported unless the caller's frame comes from it."""
    loaded = _modules_loaded_by(
        "import crmcore.value, crmcore.segmentation, crmcore.service, crmcore.pipeline, "
        "crmcore.frames, crmcore.scale"
        if _has_scale()
        else "import crmcore.value, crmcore.segmentation, crmcore.service, crmcore.pipeline, "
        "crmcore.frames"
    )
    assert "crmcore" in loaded
    assert not loaded & set(ENGINES), sorted(loaded & set(ENGINES))


def test_a_pandas_analysis_loads_no_engine() -> None:
    """Running on pandas input stays on pandas: rfm_table and a BG/NBD fit import no engine."""
    loaded = _modules_loaded_by(
        "import pandas as pd\n"
        "from crmcore.segmentation import rfm_table\n"
        "from crmcore.value import btyd_summary, BetaGeoModel\n"
        "orders = pd.DataFrame({'customer_id': ['a', 'a', 'b', 'c'], 'date': pd.to_datetime("
        "['2024-01-01', '2024-02-01', '2024-01-15', '2024-03-01']), "
        "'amount': [1.0, 2.0, 3.0, 4.0]})\n"
        "rfm_table(orders, as_of='2024-03-31')\n"
        "summary = btyd_summary(orders, as_of='2024-03-31')\n"
    )
    assert not loaded & set(ENGINES), sorted(loaded & set(ENGINES))


def test_the_engine_check_sees_an_engine_import() -> None:
    assert "polars" in _modules_loaded_by("import polars")


def _has_scale() -> bool:
    import importlib.util

    return importlib.util.find_spec("crmcore.scale") is not None
