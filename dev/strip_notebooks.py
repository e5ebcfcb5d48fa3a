"""Strip outputs from the documentation notebooks before they are committed.

Git holds the notebooks under ``docs/notebooks`` without outputs: the docs build executes them
and CI runs them (``tests/test_notebooks.py``). This script removes what running a notebook
adds: cell outputs, execution counts, execution timing metadata, widget state and the
interpreter details in ``language_info``.

Usage::

    python dev/strip_notebooks.py            # strip every notebook under docs/notebooks
    python dev/strip_notebooks.py a.ipynb    # strip the given notebooks
    python dev/strip_notebooks.py --check    # list notebooks that need stripping, exit 1 if any

A stripped notebook is rewritten byte for byte identically, so the script can run as a
pre-commit step.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "docs" / "notebooks"

#: Cell metadata written by Jupyter front ends and executors, never by an author.
_CELL_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled")
#: Notebook metadata written by widget front ends.
_NOTEBOOK_KEYS = ("widgets",)


def strip(notebook: Any) -> Any:
    """Return `notebook` (an nbformat v4 node) without outputs; it is changed in place too."""
    for cell in notebook.cells:
        for key in _CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    for key in _NOTEBOOK_KEYS:
        notebook.metadata.pop(key, None)
    language = notebook.metadata.get("language_info")
    if language is not None:
        notebook.metadata["language_info"] = {"name": language.get("name", "python")}
    return notebook


def stripped_text(path: Path) -> str:
    """The text `path` has once stripped (validated against the nbformat v4 schema)."""
    notebook = strip(nbformat.read(path, as_version=4))
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: docs/notebooks)")
    parser.add_argument(
        "--check", action="store_true", help="only list notebooks that need stripping"
    )
    args = parser.parse_args(argv)
    paths = args.paths or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    dirty = []
    for path in paths:
        text = stripped_text(path)
        if path.read_text(encoding="utf-8") == text:
            continue
        dirty.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "needs stripping" if args.check else "stripped"
    for path in dirty:
        print(f"{path}: {verb}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
