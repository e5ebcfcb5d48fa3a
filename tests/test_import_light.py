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
