"""Fixtures of the engine parity suite (see ``_engine_harness``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from _engine_harness import ENGINES, require_engine, to_engine

# PySpark 4 warns that it does not fully support pandas 3; narwhals warns that its Dask
# support moves to a separate package. Neither changes a result here.
warnings.filterwarnings("ignore", message=".*does not yet fully support pandas.*")
warnings.filterwarnings("ignore", message=".*Dask support is moving out of Narwhals.*")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every engine in turn (missing ones skip, or fail in CI)."""
    name: str = request.param
    require_engine(name)
    return name


@pytest.fixture
def make_frame(engine: str) -> Callable[[pd.DataFrame], Any]:
    """pandas frame -> the current engine's native frame."""
    return lambda pdf: to_engine(pdf, engine)
