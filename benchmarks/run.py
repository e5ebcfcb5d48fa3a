"""Run crmcore's benchmarks and print a table of timings and ratios against peer libraries.

Usage::

    python benchmarks/run.py            # full sizes (minutes; see README.md)
    python benchmarks/run.py --quick    # small sizes, a smoke run (CI runs this)
    python benchmarks/run.py --only btyd rfm
    python benchmarks/run.py --hypothesis-random [pytest args]   # the test suite with
                                # fresh random Hypothesis examples, 10x as many (scheduled)

Each ``bench_<topic>.py`` module beside this file exposes ``run(quick: bool) -> list[dict]``
whose rows have the keys ``case, crmcore_s, peer, peer_s, ratio, peak_mb, note``; ``ratio``
is the peer's time divided by crmcore's (higher is better for crmcore), measured in the same
process, so the ratio is comparable across machines while the seconds are not.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the bench modules share benchmarks/_timing.py


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt(value: object, spec: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def _hypothesis_random(pytest_args: list[str]) -> int:
    """Run pytest with HYPOTHESIS_PROFILE=random (see tests/conftest.py); return its code."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": "random"}
    args = pytest_args or ["-x", "-q", "-p", "no:cacheprovider", "tests"]
    command = [sys.executable, "-m", "pytest", *args]
    print("# HYPOTHESIS_PROFILE=random " + " ".join(command[1:]), file=sys.stderr)
    return subprocess.call(command, cwd=HERE.parent, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", nargs="*", default=None, help="topics to run, e.g. btyd rfm")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--hypothesis-random",
        action="store_true",
        help="instead of timing, run the test suite with the Hypothesis profile 'random' "
        "(fresh examples, 10x as many); extra arguments go to pytest (default: -x -q tests)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.hypothesis_random:
        return _hypothesis_random(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    modules = sorted(HERE.glob("bench_*.py"))
    if args.only:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in args.only]
    rows: list[dict[str, Any]] = []
    for path in modules:
        started = time.perf_counter()
        for row in _load(path).run(quick=args.quick):
            rows.append({"topic": path.stem.removeprefix("bench_"), **row})
        print(f"# {path.stem}: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    header = f"{'topic':<10} {'case':<52} {'crmcore s':>10} {'peer':<28} {'peer s':>9} {'ratio':>7} {'peak MB':>8}"
    print(f"# {platform.platform()} | Python {platform.python_version()} | quick={args.quick}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['topic']:<10} {str(r['case'])[:52]:<52} {_fmt(r.get('crmcore_s'), '10.3f')} "
            f"{str(r.get('peer') or '-')[:28]:<28} {_fmt(r.get('peer_s'), '9.3f')} "
            f"{_fmt(r.get('ratio'), '7.1f')} {_fmt(r.get('peak_mb'), '8.0f')}"
        )
        if r.get("note"):
            print(f"{'':<10}   {r['note']}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
