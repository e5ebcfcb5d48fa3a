"""Engines side by side: ``btyd_summary`` and ``rfm_table`` on an order log read from Parquet.

Cases
-----
* ``btyd_summary`` (daily periods, with amounts) and ``rfm_table`` (frequency = orders) on
  an order log of ``N`` rows and ``N / 10`` customers (``customer_id`` int64 or str, a
  naive ``date`` with a time of day, ``amount``) read from one Parquet file by:

  - **pandas**: ``pd.read_parquet`` then crmcore in memory (the array kernels);
  - **Polars lazy**: ``pl.scan_parquet`` -> crmcore -> ``.collect().to_pandas()``;
  - **DuckDB**: ``duckdb.connect().read_parquet`` (a relation) -> crmcore -> ``.df()``;
  - **Spark local[2]**: ``spark.read.parquet`` -> crmcore -> ``.toPandas()`` (Arrow on;
    session as in ``tests/engines/_engine_harness.py``, driver memory 6g).

  The time is read + call (on a lazy engine the call runs the order-log checks, two small
  queries) + collect of the whole per-customer result into pandas. Every engine gives the
  same table: the runner compares row counts and column sums with the pandas result.
* The peer (``--cases native``): each engine's own group-by on the same file (last date,
  order count and amount total per customer; no validation, no recency), collected the
  same way: the floor under a lazy ``rfm_table``.
* **BG/NBD fit on a summary of ``M`` customers** (whole weeks over two years, read from
  Parquet): in memory (``pd.read_parquet`` then ``BetaGeoModel().fit``, which merges
  identical rows itself) against a lazy frame of each engine (identical rows counted on the
  engine, only that table collected); then ``crmcore.scale.score`` of every customer
  (expected purchases in 52 weeks + P(alive)), reduced to two sums on the engine.

Each (engine, case) runs in its **own subprocess** after an untimed warm-up on 10,000
rows (imports, JIT, Spark's first query), so the peak memory is per engine: the child's
peak resident size (``VmHWM`` from ``/proc``; Linux), plus for Spark the JVM's (the java
child process; Spark's heap is sized by ``driver.memory``, so it says what the JVM took,
not what the job needed). DuckDB and Polars run inside the Python process, so their
memory is in its number. Spark's session start is reported apart
and not in the time. The load average is recorded with each run: the machine is shared.

Usage::

    python benchmarks/bench_engines.py --rows 1000000                  # all engines
    python benchmarks/bench_engines.py --rows 50000000 --fit-customers 10000000 \\
        --engines pandas polars duckdb spark --json engines.json
    python benchmarks/run.py --quick --only engines                     # CI smoke size

Data files are written once to ``--data-dir`` (default ``/tmp/crmcore-bench``) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CRMCORE_BENCH_DATA", "/tmp/crmcore-bench"))
ENGINES = ("pandas", "polars", "duckdb", "spark")
_MODULES = {"pandas": "pandas", "polars": "polars", "duckdb": "duckdb", "spark": "pyspark"}
START = np.datetime64("2020-01-01T00:00:00", "us")
DAYS = 730  # two years of orders
AS_OF = "2022-01-01"  # the day after the last order
WEEKS = 104  # the fit data: whole weeks, T in 0..WEEKS
TRUTH = (0.243, 4.414, 0.793, 2.426)  # BG/NBD r, alpha, a, b (CDNOW, weeks)
WARMUP_ROWS = 10_000


# --------------------------------------------------------------------------- data


def order_log_path(n_rows: int, id_type: str, data_dir: Path = DATA_DIR) -> Path:
    """Write (once) an order log of `n_rows` rows and `n_rows // 10` customers to Parquet."""
    path = data_dir / f"orders_{n_rows}_{id_type}.parquet"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    data_dir.mkdir(parents=True, exist_ok=True)
    n_customers = max(1, n_rows // 10)
    rng = np.random.default_rng(12)
    chunk = 5_000_000
    tmp = path.with_suffix(".part")
    writer: Any = None
    try:
        for begin in range(0, n_rows, chunk):
            size = min(chunk, n_rows - begin)
            ids = rng.integers(0, n_customers, size)
            seconds = rng.integers(0, DAYS * 86_400, size).astype("timedelta64[s]")
            dates = START + seconds.astype("timedelta64[us]")
            customer: Any = ids if id_type == "int" else np.char.add("C", ids.astype("U9"))
            table = pa.table(
                {
                    "customer_id": pa.array(customer),
                    "date": pa.array(dates),
                    "amount": pa.array(np.round(rng.gamma(2.0, 20.0, size), 2)),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)
    return path


def fit_data_path(n_customers: int, data_dir: Path = DATA_DIR) -> Path:
    """Write (once) a BG/NBD summary of `n_customers` customers in whole weeks to Parquet.

    Customers are simulated in continuous time (``simulate_bgnbd``, CDNOW parameters) with
    an integer age ``T`` in ``0..WEEKS``; recency is then floored to whole weeks and the
    frequency capped at it (at most one counted purchase per week after the first), which
    is the shape of a weekly ``btyd_summary``: integers with ``x <= t_x <= T``.
    """
    path = data_dir / f"fit_{n_customers}.parquet"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crmcore.value import simulate_bgnbd

    data_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    chunk = 2_000_000
    tmp = path.with_suffix(".part")
    writer: Any = None
    try:
        for begin in range(0, n_customers, chunk):
            size = min(chunk, n_customers - begin)
            T = rng.integers(0, WEEKS + 1, size).astype(np.float64)
            sim = simulate_bgnbd(*TRUTH, T=np.maximum(T, 1e-9), random_state=rng)
            t_x = np.minimum(np.floor(sim["recency"].to_numpy(float)), T)
            x = np.minimum(sim["frequency"].to_numpy(float), t_x)
            table = pa.table(
                {
                    "customer_id": pa.array(np.arange(begin, begin + size, dtype=np.int64)),
                    "frequency": pa.array(x),
                    "recency": pa.array(t_x),
                    "T": pa.array(T),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)
    return path


# --------------------------------------------------------------------------- engines


def _spark_session(memory: str = "6g") -> Any:
    """The harness's local[2] UTC session (tests/engines/_engine_harness.py), more memory."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("TZ", "UTC")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("crmcore-bench")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


class _Engine:
    """Read a Parquet file as the engine's frame and collect a result to pandas."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.session: Any = None
        self.connection: Any = None
        self.start_s = 0.0
        started = time.perf_counter()
        if name == "spark":
            self.session = _spark_session()
        elif name == "duckdb":
            import duckdb

            self.connection = duckdb.connect()
        self.start_s = time.perf_counter() - started

    def read(self, path: Path) -> Any:
        if self.name == "pandas":
            import pandas as pd

            return pd.read_parquet(path)
        if self.name == "polars":
            import polars as pl

            return pl.scan_parquet(path)
        if self.name == "duckdb":
            return self.connection.read_parquet(str(path))
        return self.session.read.parquet(str(path))

    def to_pandas(self, result: Any) -> Any:
        if self.name == "pandas":
            return result.reset_index()
        if self.name == "polars":
            return result.collect().to_pandas()
        if self.name == "duckdb":
            return result.df()
        return result.toPandas()

    def native_group_by(self, frame: Any) -> Any:
        """The peer of ``rfm_table``: the engine's own group-by (last date, orders, total).

        No validation, no recency, no checks: the floor a lazy ``rfm_table`` is built on.
        """
        if self.name == "pandas":
            return frame.groupby("customer_id").agg(
                last=("date", "max"), frequency=("date", "size"), monetary=("amount", "sum")
            )
        if self.name == "polars":
            import polars as pl

            return frame.group_by("customer_id").agg(
                pl.col("date").max().alias("last"),
                pl.len().alias("frequency"),
                pl.col("amount").sum().alias("monetary"),
            )
        if self.name == "duckdb":
            return frame.aggregate(
                "customer_id, max(date) as last, count(*) as frequency, sum(amount) as monetary",
                "customer_id",
            )
        from pyspark.sql import functions as F

        return frame.groupBy("customer_id").agg(
            F.max("date").alias("last"),
            F.count("*").alias("frequency"),
            F.sum("amount").alias("monetary"),
        )

    def sums(self, frame: Any, columns: list[str]) -> list[float]:
        """Sum of each column computed by the engine (forces every row to be computed)."""
        if self.name == "pandas":
            return [float(frame[c].sum()) for c in columns]
        if self.name == "polars":
            import polars as pl

            out = frame.select([pl.col(c).sum() for c in columns]).collect()
            return [float(out[c][0]) for c in columns]
        if self.name == "duckdb":
            row = frame.aggregate(", ".join(f'sum("{c}")' for c in columns)).fetchall()[0]
            return [float(v) for v in row]
        from pyspark.sql import functions as F

        row = frame.agg(*[F.sum(c) for c in columns]).collect()[0]
        return [float(v) for v in row]

    def jvm_peak_mb(self) -> float | None:
        """Peak resident size of this process's java descendants (Spark's JVM), in MB."""
        if self.name != "spark":
            return None
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        mine = {os.getpid()}
        changed = True
        while changed:
            new = {pid for pid, parent in parents.items() if parent in mine} - mine
            changed = bool(new)
            mine |= new
        peak = 0.0
        for pid in mine - {os.getpid()}:
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if name == "java":
                peak += _peak_rss_mb(pid)
        return peak or None


# --------------------------------------------------------------------------- cases


def _peak_rss_mb(pid: int) -> float:
    """Peak resident size of process `pid` in MB (``VmHWM``; Linux).

    Not ``ru_maxrss``: Linux carries the parent's high-water mark over ``fork`` + ``exec``
    into the child's ``ru_maxrss``, so a child would report at least its parent's peak.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _summary_case(engine: _Engine, func: str, path: Path) -> dict[str, Any]:
    from crmcore.segmentation import rfm_table
    from crmcore.value import btyd_summary

    common = {"customer_col": "customer_id", "date_col": "date", "amount_col": "amount"}
    started = time.perf_counter()
    frame = engine.read(path)
    read_s = time.perf_counter() - started
    if func == "btyd":
        result = btyd_summary(frame, as_of=AS_OF, **common)
        columns = ["frequency", "recency", "T", "monetary_value"]
    elif func == "native":
        result = engine.native_group_by(frame)
        columns = ["frequency", "monetary"]
    else:
        result = rfm_table(frame, as_of=AS_OF, **common)
        columns = ["recency_days", "frequency", "monetary"]
    call_s = time.perf_counter() - started - read_s
    table = engine.to_pandas(result)
    total_s = time.perf_counter() - started
    return {
        "read_s": read_s,
        "call_s": call_s,
        "collect_s": total_s - read_s - call_s,
        "time_s": total_s,
        "rows": len(table),
        "sums": [float(table[c].astype("float64").sum()) for c in columns],
    }


def _fit_case(engine: _Engine, path: Path) -> dict[str, Any]:
    import crmcore.scale
    from crmcore.value import BetaGeoModel
    from crmcore.value._base import compress_rows

    started = time.perf_counter()
    frame = engine.read(path)
    model = BetaGeoModel().fit(frame)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    scored = crmcore.scale.score(
        model, frame, t=52, outputs=["expected_purchases", "probability_alive"]
    )
    sums = engine.sums(scored, ["expected_purchases", "probability_alive"])
    score_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "time_s": fit_s,
        "score_s": score_s,
        "params": [float(v) for v in model.params_.to_numpy()],
        "n_obs": float(model.n_obs_) + float(model.n_excluded_),
        "sums": sums,
    }
    if engine.name == "pandas":  # the size of the compressed table (untimed)
        cols = [frame[c].to_numpy(np.float64) for c in ("frequency", "recency", "T")]
        out["distinct_rows"] = len(compress_rows(*cols, None)[0])
    return out


def _worker(engine_name: str, jobs: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Run `jobs` ``(case, path, warmup path)`` on one engine; one result per job."""
    import warnings

    warnings.filterwarnings("ignore")
    engine = _Engine(engine_name)
    results = []
    for case, path, warmup in jobs:
        if case == "fit":
            _fit_case(engine, Path(warmup))
            out = _fit_case(engine, Path(path))
        else:
            _summary_case(engine, case, Path(warmup))
            out = _summary_case(engine, case, Path(path))
        out["start_s"] = engine.start_s
        # peak so far: per case when each case has its own process (the default)
        out["peak_mb"] = _peak_rss_mb(os.getpid())
        out["jvm_peak_mb"] = engine.jvm_peak_mb()
        results.append(out)
    if engine.session is not None:
        engine.session.stop()
    return results


def available(engine: str) -> bool:
    """Whether `engine` can be imported here (Spark also needs ``java`` on the PATH)."""
    import importlib.util
    import shutil

    if importlib.util.find_spec(_MODULES[engine]) is None:
        return False
    return engine != "spark" or shutil.which("java") is not None


def run_engine(
    engine: str, jobs: list[tuple[str, str, str]], timeout: float
) -> list[dict[str, Any]]:
    """Run `jobs` of one engine in a fresh interpreter; return their measurements."""
    load = os.getloadavg()
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", engine]
    command.append(json.dumps(jobs))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    if done.returncode != 0 or not lines:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        return [{"engine": engine, "case": job[0], "error": tail, "load": load} for job in jobs]
    results: list[dict[str, Any]] = json.loads(lines[-1])
    for result, job in zip(results, jobs, strict=True):
        result.update(engine=engine, case=job[0], load=load)
    return results


def measure(
    n_rows: int,
    fit_customers: int,
    engines: list[str],
    cases: list[str],
    id_type: str = "int",
    data_dir: Path = DATA_DIR,
    timeout: float = 3600.0,
    together: bool = False,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """All (case, engine) runs, each in its own process (or one per engine if `together`).

    Every result also records the data size, the id type and the load average before it.
    """
    jobs: list[tuple[str, str, str]] = []
    sizes: dict[str, int] = {}
    for case in cases:
        if case == "fit":
            path, size = fit_data_path(fit_customers, data_dir), fit_customers
            warmup = fit_data_path(WARMUP_ROWS, data_dir)
        else:
            path, size = order_log_path(n_rows, id_type, data_dir), n_rows
            warmup = order_log_path(WARMUP_ROWS, id_type, data_dir)
        jobs.append((case, str(path), str(warmup)))
        sizes[case] = size
    batches = (
        [(e, jobs) for e in engines] if together else [(e, [j]) for j in jobs for e in engines]
    )
    results: list[dict[str, Any]] = []
    for engine, batch in batches:
        for result in run_engine(engine, batch, timeout):
            result.update(size=sizes[result["case"]], id_type=id_type)
            results.append(result)
            if progress:  # one JSON line per result as it comes (long runs)
                print(json.dumps(result), file=sys.stderr, flush=True)
    return results


def check(results: list[dict[str, Any]], rtol: float = 1e-9) -> None:
    """Attach to every result whether it equals the pandas result of its case (note)."""
    reference = {r["case"]: r for r in results if r["engine"] == "pandas" and "error" not in r}
    for r in results:
        ref = reference.get(r["case"])
        if "error" in r or ref is None or r is ref:
            continue
        same = np.allclose(r["sums"], ref["sums"], rtol=rtol, atol=0)
        if r["case"] == "fit":
            diff = np.max(np.abs(np.asarray(r["params"]) / np.asarray(ref["params"]) - 1))
            r["param_rel_diff"] = float(diff)
            r["same"] = bool(same and r["n_obs"] == ref["n_obs"] and diff < 1e-5)
        else:
            r["same"] = bool(same and r["rows"] == ref["rows"])


# --------------------------------------------------------------------------- run.py


_LABEL = {
    "btyd": "btyd_summary (days, amounts)",
    "rfm": "rfm_table (orders)",
    "fit": "BG/NBD fit (weeks)",
    "native": "engine's own group-by (peer)",
}


def run(quick: bool = False) -> list[dict[str, object]]:
    """Rows for ``benchmarks/run.py``: crmcore on each engine, ratio = pandas time / engine time.

    ``quick`` (CI): 20,000 order rows and 20,000 customers, Spark only when installed.
    The full size here is 1M rows / 1M customers; the 50M-row runs of the README are made
    with this file's command line.
    """
    n_rows, customers = (20_000, 20_000) if quick else (1_000_000, 1_000_000)
    engines = [e for e in ENGINES if available(e)]
    results = measure(
        n_rows, customers, engines, ["btyd", "rfm", "fit"], together=quick, progress=False
    )
    check(results)
    broken = [r for r in results if "error" in r or r.get("same") is False]
    if broken:  # a smoke run must notice an engine that fails or disagrees with pandas
        raise RuntimeError(f"bench_engines: failed or unequal results: {broken}")
    rows: list[dict[str, object]] = []
    pandas_time = {r["case"]: r.get("time_s") for r in results if r["engine"] == "pandas"}
    for r in results:
        case = f"{_LABEL[r['case']]} {r['size']:,}, {r['engine']}"
        if "error" in r:
            rows.append(_row(case, None, None, None, f"FAILED: {r['error']}"))
            continue
        peak = r["peak_mb"] + (r.get("jvm_peak_mb") or 0.0)
        note = f"load {r['load'][0]:.1f}"
        if r["engine"] != "pandas":
            note += f"; equal to pandas: {r.get('same')}"
        if r.get("start_s", 0) > 0.5:
            note += f"; session start {r['start_s']:.0f} s not counted"
        if r["case"] == "fit":
            note += f"; score {r['score_s']:.2f} s"
            if "distinct_rows" in r:
                note += f"; {r['distinct_rows']:,} distinct rows"
        peer = "pandas" if r["engine"] != "pandas" else None
        peer_s = pandas_time.get(r["case"]) if peer else None
        rows.append(_row(case, r["time_s"], peer, peer_s, note, peak))
    return rows


def _row(
    case: str,
    ours: float | None,
    peer: str | None,
    theirs: float | None,
    note: str,
    peak: float | None = None,
) -> dict[str, object]:
    ratio = None if ours is None or theirs is None else theirs / ours
    return {
        "case": case,
        "crmcore_s": ours,
        "peer": peer,
        "peer_s": theirs,
        "ratio": ratio,
        "peak_mb": peak,
        "note": note,
    }


def _print(results: list[dict[str, Any]]) -> None:
    head = f"{'case':<6} {'size':>11} {'engine':<7} {'time s':>8} {'read':>6} {'call':>7} "
    head += f"{'collect':>7} {'score':>6} {'py MB':>7} {'jvm MB':>7} {'load':>5} same"
    print(head)
    for r in results:
        if "error" in r:
            print(f"{r['case']:<6} {r['size']:>11,} {r['engine']:<7} FAILED {r['error']}")
            continue

        def f(key: str, spec: str = "8.2f", r: dict[str, Any] = r) -> str:
            value = r.get(key)
            return "-" if value is None else format(value, spec)

        print(
            f"{r['case']:<6} {r['size']:>11,} {r['engine']:<7} {f('time_s')} {f('read_s', '6.2f')} "
            f"{f('call_s', '7.2f')} {f('collect_s', '7.2f')} {f('score_s', '6.2f')} "
            f"{f('peak_mb', '7.0f')} {f('jvm_peak_mb', '7.0f')} {r['load'][0]:5.1f} "
            f"{r.get('same', '-')}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "JOBS_JSON"), help="internal")
    parser.add_argument("--rows", type=int, default=1_000_000, help="order rows")
    parser.add_argument("--fit-customers", type=int, default=1_000_000)
    parser.add_argument("--engines", nargs="*", default=list(ENGINES))
    parser.add_argument(
        "--cases",
        nargs="*",
        default=["btyd", "rfm", "fit"],
        help="btyd, rfm, fit, native (the engine's own group-by: the peer of rfm)",
    )
    parser.add_argument("--id-type", choices=("int", "str"), default="int")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--json", type=Path, default=None, help="append results (JSON lines)")
    args = parser.parse_args(argv)
    if args.worker:
        engine, jobs = args.worker
        print(json.dumps(_worker(engine, [tuple(job) for job in json.loads(jobs)])))
        return 0
    engines = [e for e in args.engines if available(e)]
    results = measure(
        args.rows, args.fit_customers, engines, args.cases, args.id_type, args.data_dir
    )
    check(results)
    _print(results)
    if args.json is not None:
        with args.json.open("a") as out:
            for r in results:
                print(json.dumps(r), file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
