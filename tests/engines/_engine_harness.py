"""The engine parity harness: one pandas input, every engine, one comparison.

``to_engine(pdf, engine)`` turns a pandas frame into the native frame of an engine;
``collect(result)`` brings any engine's result (eager or lazy) back to pandas; and
``assert_same_table(result, expected, key=...)`` compares a result with the in-memory
(pandas) result after normalising what engines legitimately spell differently: row order,
the key as an index or a column, integer widths (Polars counts are ``uint32``), and date
types (``date`` objects, ``date32``, ``datetime64[ms]``). Values are compared exactly for
integers, dates and text and to ``rtol`` (default 1e-12) for floats.

Engines that are not installed are skipped, except when ``CRMCORE_REQUIRE_ENGINES`` is
``1`` (all) or names them (``polars,duckdb``): then a missing engine fails the test. CI
requires every engine but Spark in the README environment and all of them, Spark included,
in the pandas-3 environment (one JVM start per run is enough).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

ENGINES = ("pandas", "polars", "polars-lazy", "pyarrow", "duckdb", "spark", "dask")
LAZY_ENGINES = ("polars-lazy", "duckdb", "spark", "dask")
_MODULE = {
    "polars": "polars",
    "polars-lazy": "polars",
    "pyarrow": "pyarrow",
    "duckdb": "duckdb",
    "spark": "pyspark",
    "dask": "dask.dataframe",
}
_SPARK: list[Any] = []
_CONNECTIONS: list[Any] = []


def require_engine(engine: str) -> None:
    """Skip (or, with CRMCORE_REQUIRE_ENGINES=1, fail) when `engine` is not installed."""
    module = _MODULE.get(engine)
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        required = os.environ.get("CRMCORE_REQUIRE_ENGINES", "")
        if required == "1" or engine in required.split(","):
            pytest.fail(f"engine {engine!r} is required in CI but cannot be imported: {exc}")
        pytest.skip(f"engine {engine!r} is not installed ({exc})")


def spark_session() -> Any:
    """One local Spark session for the whole run (UTC, 2 cores, quiet)."""
    if _SPARK:
        return _SPARK[0]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("crmcore-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    _SPARK.append(session)
    return session


def to_engine(pdf: pd.DataFrame, engine: str, *, npartitions: int = 4) -> Any:
    """`pdf` as a native frame of `engine` (the caller's frame is not modified)."""
    require_engine(engine)
    pdf = pdf.reset_index(drop=True).copy()
    if engine == "pandas":
        return pdf
    if engine in ("polars", "polars-lazy"):
        import polars as pl

        frame = pl.from_pandas(pdf)
        return frame.lazy() if engine == "polars-lazy" else frame
    if engine == "pyarrow":
        import pyarrow as pa

        return pa.Table.from_pandas(pdf, preserve_index=False)
    if engine == "duckdb":
        import duckdb

        connection = duckdb.connect()
        connection.register("crmcore_input", pdf)
        # materialise: the relation must not depend on the pandas frame staying alive
        connection.execute("create table crmcore_orders as select * from crmcore_input")
        connection.unregister("crmcore_input")
        _CONNECTIONS.append(connection)
        return connection.table("crmcore_orders")
    if engine == "spark":
        return spark_session().createDataFrame(pdf)
    if engine == "dask":
        import dask.dataframe as dd

        return dd.from_pandas(pdf, npartitions=max(1, min(npartitions, len(pdf))))
    raise ValueError(f"unknown engine {engine!r}")


def is_lazy_result(result: Any) -> bool:
    """Whether `result` is a lazy native frame (what lazy input must give back)."""
    import narwhals.stable.v2 as nw2

    try:
        return isinstance(nw2.from_native(result), nw2.LazyFrame)
    except TypeError:
        return False


def collect(result: Any) -> pd.DataFrame:
    """Any engine's frame (eager or lazy) as a pandas DataFrame with a default index."""
    if isinstance(result, pd.DataFrame):
        frame = result
        if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
            frame = frame.reset_index()
        return frame.reset_index(drop=True)
    import narwhals.stable.v2 as nw2

    native = nw2.from_native(result)
    if isinstance(native, nw2.LazyFrame):
        native = native.collect()
    out: pd.DataFrame = native.to_pandas()
    return out.reset_index(drop=True)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        col = frame[name]
        dtype = col.dtype
        if isinstance(dtype, pd.ArrowDtype) or str(dtype).startswith(("date32", "timestamp")):
            col = pd.Series(col.to_numpy(), name=name)  # via numpy
            dtype = col.dtype
        values = col.dropna()
        if pd.api.types.is_datetime64_any_dtype(dtype) or (
            dtype.kind == "O" and len(values) and hasattr(values.iloc[0], "year")
        ):
            col = pd.to_datetime(col)
            if getattr(col.dt, "tz", None) is not None:
                col = col.dt.tz_localize(None)
            col = col.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(dtype):
            col = col.astype(bool)
        elif pd.api.types.is_integer_dtype(dtype):
            col = col.astype("int64") if not col.isna().any() else col.astype("float64")
        elif pd.api.types.is_float_dtype(dtype):
            col = col.astype("float64")
        elif isinstance(dtype, pd.CategoricalDtype):
            col = col.astype(object)
        elif pd.api.types.is_string_dtype(dtype) or dtype.kind == "O":
            col = col.astype(object).where(col.notna(), None)
        out[name] = col.reset_index(drop=True)
    return pd.DataFrame(out)


def assert_same_table(
    result: Any,
    expected: Any,
    *,
    key: str | list[str],
    rtol: float = 1e-12,
    check_column_order: bool = False,
) -> None:
    """Assert that `result` (any engine) equals `expected` (pandas), up to engine spelling."""
    keys = [key] if isinstance(key, str) else list(key)
    got = _normalise(collect(result))
    want = _normalise(collect(expected))
    if check_column_order:
        assert list(got.columns) == list(want.columns)
    assert sorted(map(str, got.columns)) == sorted(map(str, want.columns)), (
        f"columns differ: {list(got.columns)} vs {list(want.columns)}"
    )
    got = got[list(want.columns)]
    assert len(got) == len(want), f"{len(got)} rows vs {len(want)} expected"
    got = got.sort_values(keys, kind="stable").reset_index(drop=True)
    want = want.sort_values(keys, kind="stable").reset_index(drop=True)
    for name in want.columns:
        a, b = got[name], want[name]
        if pd.api.types.is_float_dtype(b.dtype) or pd.api.types.is_float_dtype(a.dtype):
            np.testing.assert_allclose(
                a.to_numpy(dtype=float),
                b.to_numpy(dtype=float),
                rtol=rtol,
                atol=0.0,
                equal_nan=True,
                err_msg=f"column {name!r}",
            )
        else:
            assert a.dtype == b.dtype or (a.dtype == object) == (b.dtype == object), (
                f"column {name!r}: {a.dtype} vs {b.dtype}"
            )
            assert a.tolist() == b.tolist(), f"column {name!r} differs"
