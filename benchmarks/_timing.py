"""Timing helpers shared by the benchmark modules (imported by ``run.py``'s path set-up)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def row(
    case: str, ours: float, peer: str, theirs: float | None, peak: float | None, note: str
) -> dict[str, object]:
    return {
        "case": case,
        "crmcore_s": ours,
        "peer": peer,
        "peer_s": theirs,
        "ratio": None if theirs is None else theirs / ours,
        "peak_mb": peak,
        "note": note,
    }
