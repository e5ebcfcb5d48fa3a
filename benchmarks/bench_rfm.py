"""Benchmark: rfm_table + rfm_scores vs a plain pandas group-by, Polars and lifetimes' way.

Full size: 10M transactions over 1M customers (quick: 200k / 20k). The peer follows
lifetimes' ``summary_data_from_transaction_data``: dates to daily periods, a group-by over
(customer, period), a second group-by per customer, period differences mapped to ints,
then ``pandas.qcut`` per dimension. Both sides compute the same table (purchase days,
total spend, days since the last purchase) and the same shared-tie quintile scores; the
run checks that they agree.

Issue 12 adds the peers to beat, on the same rows in the same run: a well-written plain
pandas group-by (whole days as integers, one named-aggregation group-by, ``nunique`` for
purchase days, ``qcut`` scores) and Polars-native (a Polars frame built before timing,
one ``group_by().agg()``, ``qcut`` scores). Tables are checked equal to crmcore's.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import numpy as np
import pandas as pd

from crmcore.exceptions import CRMWarning
from crmcore.segmentation import rfm_scores, rfm_table

AS_OF = pd.Timestamp("2021-12-31")


def make_transactions(n_rows: int, n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, size=n_rows, dtype=np.int64)
    day = rng.integers(0, 730, size=n_rows)
    dates = np.datetime64("2020-01-01", "ns") + day.astype("timedelta64[D]")
    amount = np.round(rng.lognormal(3.5, 0.8, size=n_rows), 2)
    return cast(
        pd.DataFrame, pd.DataFrame({"customer_id": customer, "date": dates, "amount": amount})
    )


def crmcore_pipeline(frame: pd.DataFrame, frequency: str = "days") -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CRMWarning)
        table = rfm_table(frame, as_of=AS_OF, frequency=frequency)
        scores = rfm_scores(table, bins=5)
    return cast(pd.DataFrame, table.join(scores[["r_score", "f_score", "m_score"]]))


def peer_pipeline(frame: pd.DataFrame, frequency: str = "days") -> pd.DataFrame:
    tx = frame[["customer_id", "date", "amount"]].copy()
    tx["date"] = tx["date"].dt.to_period("D")
    end = AS_OF.to_period("D")
    tx = tx.loc[tx["date"] <= end]
    if frequency == "days":
        # lifetimes: one row per (customer, period), then per-customer aggregates
        periods = tx.groupby(["customer_id", "date"], sort=False)["amount"].sum().reset_index()
    else:
        periods = tx
    customers = periods.groupby("customer_id")["date"].agg(["min", "max", "count"])
    customers["recency_days"] = (end - customers["max"]).map(lambda r: r.n).astype(float)
    customers["frequency"] = customers["count"]
    customers["monetary"] = tx.groupby("customer_id")["amount"].sum()
    out = customers[["recency_days", "frequency", "monetary"]].sort_index()
    for col, score in (
        ("recency_days", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        bins = pd.qcut(out[col], q=5, duplicates="drop", labels=False).astype(np.int64) + 1
        k = int(bins.max())
        out[score] = (k + 1 - bins) if col == "recency_days" else bins
    return cast(pd.DataFrame, out)


def pandas_groupby(frame: pd.DataFrame, frequency: str = "days") -> pd.DataFrame:
    """A well-written plain pandas group-by computing the same table and scores."""
    day = frame["date"].to_numpy().astype("datetime64[D]").view(np.int64)
    end = np.datetime64(AS_OF.date(), "D").view(np.int64)
    keep = day <= end
    tx = pd.DataFrame(
        {"customer_id": frame["customer_id"].to_numpy()[keep], "day": day[keep]}
    ).assign(amount=frame["amount"].to_numpy()[keep])
    count = ("day", "nunique") if frequency == "days" else ("day", "size")
    out = tx.groupby("customer_id").agg(
        last=("day", "max"), frequency=count, monetary=("amount", "sum")
    )
    out["recency_days"] = (end - out["last"]).astype(np.float64)
    out = out[["recency_days", "frequency", "monetary"]]
    for col, score in (
        ("recency_days", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        bins = pd.qcut(out[col], q=5, duplicates="drop", labels=False).astype(np.int64) + 1
        k = int(bins.max())
        out[score] = (k + 1 - bins) if col == "recency_days" else bins
    return out


def polars_native(frame: Any, frequency: str = "days") -> Any:
    """Polars-native: one group_by().agg() on a Polars frame, qcut scores."""
    import polars as pl

    end = AS_OF.date()
    day = pl.col("date").dt.date()
    count = day.n_unique() if frequency == "days" else pl.len()
    out = (
        frame.lazy()
        .filter(day <= end)
        .group_by("customer_id")
        .agg(
            (pl.lit(end) - day.max()).dt.total_days().cast(pl.Float64).alias("recency_days"),
            count.cast(pl.Int64).alias("frequency"),
            pl.col("amount").sum().alias("monetary"),
        )
        .sort("customer_id")
        .with_columns(
            (pl.col(col).qcut(5, allow_duplicates=True).to_physical().cast(pl.Int64) + 1).alias(
                score
            )
            for col, score in (
                ("recency_days", "r_score"),
                ("frequency", "f_score"),
                ("monetary", "m_score"),
            )
        )
        .collect()
    )
    return out


def _table_mismatches(ours: pd.DataFrame, theirs: pd.DataFrame) -> str:
    bad = []
    for col in ("recency_days", "frequency"):
        if not np.array_equal(ours[col].to_numpy(), np.asarray(theirs[col].to_numpy())):
            bad.append(col)
    if not np.allclose(ours["monetary"].to_numpy(), np.asarray(theirs["monetary"].to_numpy())):
        bad.append("monetary")
    return "identical tables" if not bad else "MISMATCH " + ", ".join(bad)


def _best_time(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def _peak_mb(func: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def _mismatches(ours: pd.DataFrame, theirs: pd.DataFrame) -> str:
    bad = []
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        n = int((ours[col].to_numpy() != theirs[col].to_numpy()).sum())
        if n:
            bad.append(f"{col}: {n}")
    if not np.allclose(ours["monetary"].to_numpy(), theirs["monetary"].to_numpy()):
        bad.append("monetary")
    return "identical results" if not bad else "MISMATCH " + ", ".join(bad)


def run(quick: bool = False) -> list[dict[str, object]]:
    n_rows, n_customers = (200_000, 20_000) if quick else (10_000_000, 1_000_000)
    frame = make_transactions(n_rows, n_customers)
    input_mb = frame.memory_usage(deep=True).sum() / 1e6
    repeat = 3  # best of 3: the CPU is often shared, and a single run is noisy
    rows: list[dict[str, object]] = []
    try:
        import polars as pl

        pl_frame: Any = pl.from_pandas(frame)
    except ImportError:  # pragma: no cover - polars is a test dependency
        pl_frame = None
    for frequency in ("days", "orders"):
        ours_s, ours = _best_time(partial(crmcore_pipeline, frame, frequency), repeat)
        pd_s, pd_out = _best_time(partial(pandas_groupby, frame, frequency), repeat)
        peers = [("plain pandas group-by (nunique/size, qcut)", pd_s, pd_out)]
        if pl_frame is not None:
            pl_s, pl_out = _best_time(partial(polars_native, pl_frame, frequency), repeat)
            peers.append(("Polars-native group_by (qcut)", pl_s, pl_out))
        peak_mb = _peak_mb(partial(crmcore_pipeline, frame, frequency))
        for peer, peer_s, out in peers:
            rows.append(
                {
                    "case": f"rfm_table(frequency={frequency!r})+rfm_scores "
                    f"{n_rows:,} tx / {n_customers:,} customers",
                    "crmcore_s": ours_s,
                    "peer": peer,
                    "peer_s": peer_s,
                    "ratio": peer_s / ours_s,
                    "peak_mb": peak_mb,
                    "note": f"input frame {input_mb:.0f} MB; peak/input {peak_mb / input_mb:.2f}; "
                    + _table_mismatches(ours, out),
                }
            )
        peer_s, theirs = _best_time(partial(peer_pipeline, frame, frequency), repeat)
        peak = _peak_mb(partial(crmcore_pipeline, frame, frequency))
        rows.append(
            {
                "case": f"rfm_table(frequency={frequency!r})+rfm_scores "
                f"{n_rows:,} tx / {n_customers:,} customers",
                "crmcore_s": ours_s,
                "peer": "lifetimes-style pandas (to_period + group-bys + qcut)",
                "peer_s": peer_s,
                "ratio": peer_s / ours_s,
                "peak_mb": peak,
                "note": f"input frame {input_mb:.0f} MB; peak/input {peak / input_mb:.2f}; "
                + _mismatches(ours, theirs),
            }
        )
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
