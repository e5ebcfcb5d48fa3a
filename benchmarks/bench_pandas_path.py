"""The pandas path before and after issue 12's kernel port, side by side (acceptance item 4).

Issue 12 moved every order-log aggregation onto the eager kernel layer
(``crmcore._aggregate``). This benchmark checks its acceptance item "the pandas path is at
least as fast as before for every function": each function is called on the same pandas
input by two crmcore versions,

* **before**: commit ``fb14b65`` (branch main before the port), imported from a git worktree
  (``/tmp/wt_before`` by default; created with ``git worktree add --detach`` when absent and
  this file is run as a script);
* **after**: the tree this file belongs to.

Each side runs in its own worker subprocess (the same worker code, only ``sys.path[0]``
differs; the worker checks which ``crmcore`` it imported), builds the same deterministic
order log once, and times one call at a time on request. The parent interleaves the two
sides (before/after, then after/before, ...) so that a change of machine load hits both,
keeps the best of ``repeat`` runs of each, and compares the first results of both sides
(pickled): identical index and columns, numbers equal to 1e-12 relative.

The order log: ``rows`` orders of ``customers`` customers (2M / 200k), int ids (spread over
[0, 1e9), not 0..n-1) and the same ids as strings (``"C000123456"``); each customer has a
first day, a Gamma-distributed purchase rate and an exponential lifetime, so the BTYD fits
are meaningful; order times carry a time of day; amounts are a per-customer mean times
Gamma noise, rounded to cents. Every order lies on or before ``as_of`` (2021-12-31).

Cases: ``rfm_table`` + ``rfm_scores`` (frequency orders and days), ``btyd_summary`` (D and
W, with and without amounts and a calibration period), ``cohort_table`` (customers,
revenue, orders; M and W), ``purchase_history`` (M, W), ``relationship_type``,
``customer_profitability``, and, once (they do not see the ids), ``BetaGeoModel.fit`` and
``GammaGammaModel.fit`` on each side's own daily and weekly summaries,
``period_transactions`` with each side's own BG/NBD model, and the unchanged service
functions ``sla_status`` and ``ticket_metrics`` (``simulate_tickets``).

Usage::

    python benchmarks/bench_pandas_path.py                      # 2M rows, best of 5
    python benchmarks/bench_pandas_path.py --only rfm btyd --repeat 3
    python benchmarks/bench_pandas_path.py --before /path/to/old/checkout --json out.json
    python benchmarks/bench_pandas_path.py --after /path/to/another/checkout

Through ``benchmarks/run.py`` (``run(quick)``), the "before" side is used only when its tree
already exists (a CI checkout has neither the worktree nor, shallow, the commit); without
it the rows time the current tree alone and say so. ``ratio`` there is before / after
(higher is better for the current tree); this script's own table also prints after /
before, the form the README reports.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
AFTER_ROOT = HERE.parent
BEFORE_COMMIT = "fb14b65"
BEFORE_ROOT = Path("/tmp/wt_before")
AS_OF = "2021-12-31"
CALIBRATION_END = "2021-06-30"
RTOL = 1e-12

# (case name, id types it runs with); "-" = the case does not see the order ids.
CASES: list[tuple[str, tuple[str, ...]]] = [
    ("rfm_table+rfm_scores, frequency=orders", ("int", "str")),
    ("rfm_table+rfm_scores, frequency=days", ("int", "str")),
    ("btyd_summary D", ("int", "str")),
    ("btyd_summary D, amounts", ("int", "str")),
    ("btyd_summary D, amounts, holdout", ("int", "str")),
    ("btyd_summary W", ("int", "str")),
    ("btyd_summary W, amounts, holdout", ("int", "str")),
    ("cohort_table M, customers", ("int", "str")),
    ("cohort_table M, revenue", ("int", "str")),
    ("cohort_table M, orders", ("int", "str")),
    ("cohort_table W, customers", ("int", "str")),
    ("cohort_table W, revenue", ("int", "str")),
    ("purchase_history M", ("int", "str")),
    ("purchase_history W", ("int", "str")),
    ("relationship_type", ("int", "str")),
    ("customer_profitability", ("int", "str")),
    ("BetaGeoModel.fit, D summary", ("-",)),
    ("BetaGeoModel.fit, W summary", ("-",)),
    ("GammaGammaModel.fit, D summary", ("-",)),
    ("period_transactions, W summary", ("-",)),
    ("sla_status", ("-",)),
    ("ticket_metrics", ("-",)),
]


# --------------------------------------------------------------------------- the data


def make_order_log(n_rows: int, n_customers: int, ids: str, seed: int = 12) -> pd.DataFrame:
    """The deterministic order log (``ids``: ``"int"`` or ``"str"``; same rows either way)."""
    rng = np.random.default_rng(seed)
    id_values = np.sort(rng.choice(1_000_000_000, size=n_customers, replace=False))
    rate = rng.gamma(0.8, 1.0, size=n_customers)
    first = rng.integers(0, 600, size=n_customers)
    last = np.minimum(first + rng.exponential(300.0, size=n_customers), 730.0)
    mean_amount = rng.lognormal(3.5, 0.5, size=n_customers)
    who = rng.choice(n_customers, size=n_rows, p=rate / rate.sum())
    day = np.floor(first[who] + rng.random(n_rows) * (last[who] - first[who])).astype(np.int64)
    seconds = day * 86_400 + rng.integers(0, 86_400, size=n_rows)
    dates = np.datetime64("2020-01-01T00:00:00", "ns") + seconds.astype("timedelta64[s]")
    amount = np.round(mean_amount[who] * rng.gamma(4.0, 0.25, size=n_rows), 2)
    if ids == "int":
        customer: Any = id_values[who]
    else:
        labels = np.array([f"C{v:09d}" for v in id_values.tolist()], dtype=object)
        customer = labels[who]
    return pd.DataFrame({"customer_id": customer, "date": dates, "amount": amount})


def make_tickets(n_customers: int) -> tuple[Any, ...]:
    """Tickets, events, SLA policy, calendar and as-of time (the service benchmark's set-up)."""
    import datetime as dt

    from crmcore.datasets import simulate_tickets
    from crmcore.service import BusinessCalendar, SlaPolicy

    tz = "Europe/Berlin"
    holidays = [dt.date(2024, 12, 25), dt.date(2024, 12, 26), dt.date(2025, 1, 1)]
    calendar = BusinessCalendar(
        hours={day: [("09:00", "17:00")] for day in range(5)}, tz=tz, holidays=holidays
    )
    targets = {"first_response": "4h", "next_response": "8h", "resolution": "16h"}
    policy = SlaPolicy(
        targets={p: targets for p in ("urgent", "high", "normal", "low")}, calendar=calendar
    )
    as_of = pd.Timestamp("2025-12-31 18:00", tz=tz)
    tickets, events = simulate_tickets(
        np.arange(n_customers),
        start=pd.Timestamp("2024-01-01", tz=tz),
        end=as_of,
        tickets_per_customer=1 / 3,
        tz=tz,
        random_state=0,
    )
    return tickets, events, policy, calendar, as_of


# --------------------------------------------------------------------------- the worker


class _Worker:
    """Inside the subprocess: holds the data and runs one case per request."""

    def __init__(self, n_rows: int, n_customers: int) -> None:
        self.n_rows, self.n_customers = n_rows, n_customers
        self.frames: dict[str, pd.DataFrame] = {}
        self.cache: dict[str, Any] = {}

    def frame(self, ids: str) -> pd.DataFrame:
        if ids not in self.frames:
            self.frames[ids] = make_order_log(self.n_rows, self.n_customers, ids)
        return self.frames[ids]

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def call(self, case: str, ids: str) -> Callable[[], Any]:
        """A zero-argument call of ``case`` (set-up done here, outside the timing)."""
        from crmcore.segmentation import relationship_type, rfm_scores, rfm_table
        from crmcore.service import sla_status, ticket_metrics
        from crmcore.value import (
            BetaGeoModel,
            GammaGammaModel,
            btyd_summary,
            cohort_table,
            customer_profitability,
            period_transactions,
            purchase_history,
        )

        as_of = pd.Timestamp(AS_OF)
        if case.startswith(("BetaGeo", "GammaGamma", "period_")):
            unit = "W" if "W summary" in case else "D"
            summary = self.cached(
                f"summary {unit}",
                lambda: btyd_summary(
                    self.frame("int"), as_of=as_of, amount_col="amount", time_unit=unit
                ),
            )
            if case.startswith("BetaGeo"):
                return lambda: BetaGeoModel().fit(summary).params_
            if case.startswith("GammaGamma"):
                repeat = summary.loc[summary["frequency"] > 0]
                return lambda: GammaGammaModel().fit(repeat).params_
            model = self.cached("bgnbd W", lambda: BetaGeoModel().fit(summary))
            return lambda: period_transactions(model, summary)
        if case in ("sla_status", "ticket_metrics"):
            n = max(self.n_customers * 3, 3_000)
            tickets, events, policy, calendar, t = self.cached("tickets", lambda: make_tickets(n))
            if case == "sla_status":
                return lambda: sla_status(tickets, events, policy, as_of=t)
            return lambda: ticket_metrics(tickets, events, as_of=t, calendar=calendar)

        tx = self.frame(ids)
        if case.startswith("rfm_table"):
            freq = case.rsplit("=", 1)[1]

            def rfm() -> pd.DataFrame:
                table = rfm_table(tx, as_of=as_of, frequency=freq)
                return table.join(rfm_scores(table, bins=5)[["r_score", "f_score", "m_score"]])

            return rfm
        if case.startswith("btyd_summary"):
            unit = case.split()[1].rstrip(",")
            kwargs: dict[str, Any] = {"as_of": as_of, "time_unit": unit}
            if "amounts" in case:
                kwargs["amount_col"] = "amount"
            if "holdout" in case:
                kwargs["calibration_end"] = pd.Timestamp(CALIBRATION_END)
            return lambda: btyd_summary(tx, **kwargs)
        if case.startswith("cohort_table"):
            unit, metric = case.split()[1].rstrip(","), case.split()[2]
            return lambda: cohort_table(tx, as_of=as_of, cohort=unit, period=unit, metric=metric)
        if case.startswith("purchase_history"):
            unit = case.split()[1]
            return lambda: purchase_history(tx, as_of=as_of, period=unit)
        if case == "relationship_type":
            return lambda: relationship_type(tx)
        if case == "customer_profitability":
            return lambda: customer_profitability(tx, cogs_rate=0.6, cost_per_order=1.5)
        raise ValueError(f"unknown case {case!r}")

    def serve(self, requests: TextIO, replies: TextIO) -> None:
        for line in requests:
            request = json.loads(line)
            reply: dict[str, Any]
            try:
                fn = self.call(request["case"], request["ids"])
                gc.collect()
                start = time.perf_counter()
                result = fn()
                seconds = time.perf_counter() - start
                if request.get("save"):
                    with open(request["save"], "wb") as fh:
                        pickle.dump(result, fh)
                del result
                reply = {"seconds": seconds}
            except Exception as exc:  # reported in the table, not fatal
                reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


def _worker_main(root: str, n_rows: int, n_customers: int) -> None:
    sys.path.insert(0, root)
    replies = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr  # library output must not mix with the replies
    import crmcore

    where = Path(crmcore.__file__).resolve()
    if not where.is_relative_to(Path(root).resolve()):
        raise SystemExit(f"worker for {root} imported crmcore from {where}")
    warnings.simplefilter("ignore")
    replies.write(json.dumps({"ready": str(where)}) + "\n")
    replies.flush()
    _Worker(n_rows, n_customers).serve(sys.stdin, replies)


class _Side:
    """The parent's handle on one worker subprocess."""

    def __init__(self, name: str, root: Path, n_rows: int, n_customers: int) -> None:
        self.name = name
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            str(root),
            "--rows",
            str(n_rows),
            "--customers",
            str(n_customers),
        ]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        ready = self._read()
        if "ready" not in ready:
            raise RuntimeError(f"{name} worker did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker exited (code {self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def time(self, case: str, ids: str, save: str | None) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"case": case, "ids": ids, "save": save}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


# --------------------------------------------------------------------------- comparison


def _max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.where(both_nan | (a == b), 0.0, np.abs(a - b) / np.where(scale == 0, 1, scale))
    return float(np.max(diff, initial=0.0))


def compare(before: Any, after: Any) -> str:
    """``"equal"`` or ``"equal, ..."`` (within 1e-12 relative) or ``"DIFFERENT: ..."``."""
    if isinstance(before, pd.Series):
        before, after = before.to_frame(), after.to_frame()
    notes: list[str] = []
    if not before.columns.equals(after.columns):
        if set(before.columns) != set(after.columns):
            return f"DIFFERENT columns {list(before.columns)} vs {list(after.columns)}"
        notes.append("column order differs")
        after = after[before.columns]
    if not before.index.equals(after.index):
        if len(before.index) != len(after.index) or not before.index.sort_values().equals(
            after.index.sort_values()
        ):
            return f"DIFFERENT index ({len(before)} vs {len(after)} rows)"
        notes.append("row order differs")
        after = after.loc[before.index]
    if before.index.dtype != after.index.dtype or before.index.names != after.index.names:
        notes.append(f"index dtype/name {before.index.dtype}/{before.index.names}")
    worst = 0.0
    for col in before.columns:
        x, y = before[col], after[col]
        if x.dtype != y.dtype:
            notes.append(f"{col}: dtype {x.dtype} -> {y.dtype}")
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            worst = max(worst, _max_rel_diff(x.to_numpy(), y.to_numpy()))
        else:
            missing = x.isna().to_numpy() & y.isna().to_numpy()
            differ = int(((x.astype(object) != y.astype(object)).to_numpy() & ~missing).sum())
            if differ:
                return f"DIFFERENT {col!r} in {differ:,} of {len(x):,} rows"
    if worst > RTOL:
        return f"DIFFERENT: max rel. diff {worst:.1e}" + "".join(f"; {n}" for n in notes)
    if worst > 0:
        notes.insert(0, f"max rel. diff {worst:.0e}")
    return "equal" + "".join(f"; {n}" for n in notes)


# --------------------------------------------------------------------------- the run


def ensure_before(root: Path, create: bool) -> Path | None:
    """The "before" tree, created as a detached worktree of fb14b65 if ``create``."""
    if (root / "crmcore" / "__init__.py").exists():
        return root
    if not create:
        return None
    done = subprocess.run(
        ["git", "-C", str(AFTER_ROOT), "worktree", "add", "--detach", str(root), BEFORE_COMMIT],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"# cannot create {root}: {done.stderr.strip()}", file=sys.stderr)
        return None
    return root


def measure(
    n_rows: int,
    n_customers: int,
    repeat: int,
    before_root: Path | None,
    only: list[str] | None = None,
    ids: tuple[str, ...] = ("int", "str"),
    after_root: Path = AFTER_ROOT,
) -> list[dict[str, Any]]:
    """Time every case on both sides, interleaved; one dict per (case, id type)."""
    cases = [
        (case, kind)
        for case, kinds in CASES
        for kind in kinds
        if (kind == "-" or kind in ids) and (not only or any(case.startswith(o) for o in only))
    ]
    sides: list[_Side] = []
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench_pandas_path_") as tmp:
        try:
            if before_root is not None:
                sides.append(_Side("before", before_root, n_rows, n_customers))
            sides.append(_Side("after", after_root, n_rows, n_customers))
            for case, kind in cases:
                load = os.getloadavg()[0]
                best = {side.name: float("inf") for side in sides}
                errors: dict[str, str] = {}
                started = time.perf_counter()
                for rep in range(repeat):
                    order = sides if rep % 2 == 0 else sides[::-1]
                    for side in order:
                        if side.name in errors:
                            continue
                        save = f"{tmp}/{side.name}.pkl" if rep == 0 else None
                        reply = side.time(case, kind, save)
                        if "error" in reply:
                            errors[side.name] = reply["error"]
                        else:
                            best[side.name] = min(best[side.name], reply["seconds"])
                if errors:
                    check = "; ".join(f"{k} failed: {v}" for k, v in errors.items())
                elif before_root is None:
                    check = "no before tree: current tree timed alone"
                else:
                    with open(f"{tmp}/before.pkl", "rb") as fh:
                        old = pickle.load(fh)
                    with open(f"{tmp}/after.pkl", "rb") as fh:
                        new = pickle.load(fh)
                    check = compare(old, new)
                before_s = best.get("before")
                after_s = best["after"]
                if before_s is not None and not np.isfinite(before_s):
                    before_s = None
                result = {
                    "case": case,
                    "ids": kind,
                    "before_s": before_s,
                    "after_s": after_s if np.isfinite(after_s) else None,
                    "after_over_before": (
                        after_s / before_s if before_s and np.isfinite(after_s) else None
                    ),
                    "load_1min": load,
                    "check": check,
                }
                results.append(result)
                print(
                    f"# {case} [{kind}]: {_fmt(before_s)} -> {_fmt(after_s)} s "
                    f"({time.perf_counter() - started:.0f} s, load {load:.1f}) {check}",
                    file=sys.stderr,
                )
        finally:
            for side in sides:
                side.close()
    return results


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | ids | before s | after s | after / before | load | results |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['ids']} | {_fmt(r['before_s'])} | {_fmt(r['after_s'])} | "
            f"{_fmt(r['after_over_before'], '.2f')} | {r['load_1min']:.1f} | {r['check']} |"
        )
    return "\n".join(lines)


def run(quick: bool = False) -> list[dict[str, object]]:
    """``benchmarks/run.py`` entry: 2M rows / 200k customers, best of 5 (quick: 20k / 2k, 2).

    The "before" tree is used only if it already exists (see the module docstring).
    """
    n_rows, n_customers, repeat = (20_000, 2_000, 2) if quick else (2_000_000, 200_000, 5)
    before = ensure_before(BEFORE_ROOT, create=False)
    rows: list[dict[str, object]] = []
    for r in measure(n_rows, n_customers, repeat, before):
        before_s, after_s = r["before_s"], r["after_s"]
        rows.append(
            {
                "case": f"{r['case']} [{r['ids']}]",
                "crmcore_s": after_s,
                "peer": f"crmcore {BEFORE_COMMIT}" if before_s is not None else "-",
                "peer_s": before_s,
                "ratio": before_s / after_s if before_s and after_s else None,
                "peak_mb": None,
                "note": f"{n_rows:,} rows / {n_customers:,} customers; {r['check']}",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5, help="best of REPEAT per side")
    parser.add_argument("--before", type=Path, default=BEFORE_ROOT, help="fb14b65 checkout")
    parser.add_argument(
        "--after", type=Path, default=AFTER_ROOT, help="current tree (default: this checkout)"
    )
    parser.add_argument("--ids", nargs="*", default=["int", "str"], choices=["int", "str"])
    parser.add_argument("--only", nargs="*", default=None, help="case name prefixes")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker_main(args.worker, args.rows, args.customers)
        return 0
    before = ensure_before(args.before, create=True)
    if before is None:
        print("# no before tree: timing the current tree alone", file=sys.stderr)
    load_start = os.getloadavg()
    started = time.perf_counter()
    results = measure(
        args.rows, args.customers, args.repeat, before, args.only, tuple(args.ids), args.after
    )
    load_end = os.getloadavg()
    print(
        f"# {args.rows:,} rows / {args.customers:,} customers, best of {args.repeat}, "
        f"{time.perf_counter() - started:.0f} s; load average at start "
        f"{'/'.join(f'{x:.1f}' for x in load_start)}, at end "
        f"{'/'.join(f'{x:.1f}' for x in load_end)} (1/5/15 min); after = {args.after}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print(markdown(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
