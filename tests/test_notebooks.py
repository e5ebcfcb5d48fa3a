"""The notebooks under docs/notebooks: stored without outputs, run end to end, show the answers.

Each notebook is executed once, as a reader would run it: in its own directory, on a fresh
IPython kernel of this interpreter (``sys.executable``, whatever kernels Jupyter has
installed), with matplotlib on the Agg backend. The checks then read what the reader sees:
published estimates, hand-derived SLA clocks, rates documented by the data generators.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NOTEBOOKS = ("cdnow-end-to-end.ipynb", "pipeline-forecast.ipynb", "service-levels.ipynb")
STRIP_HINT = "strip it with `python dev/strip_notebooks.py` before committing"
PUBLIC_PACKAGES = {
    "crmcore",
    "crmcore.customers",
    "crmcore.datasets",
    "crmcore.frames",
    "crmcore.pipeline",
    "crmcore.plotting",
    "crmcore.scale",
    "crmcore.segmentation",
    "crmcore.service",
    "crmcore.value",
}


def _read(name: str) -> Any:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


# ------------------------------------------------------------------------- stored form
def test_every_notebook_in_the_folder_is_one_of_the_tested_ones() -> None:
    found = sorted(path.name for path in NOTEBOOK_DIR.glob("*.ipynb"))
    assert found == sorted(NOTEBOOKS), "add a new notebook to NOTEBOOKS (and give it checks)"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_valid_and_without_outputs(name: str) -> None:
    notebook = _read(name)
    nbformat.validate(notebook)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not with_outputs, (
        f"{name}: cells {with_outputs} hold outputs or execution counts; {STRIP_HINT}"
    )
    assert "widgets" not in notebook.metadata, f"{name} holds widget state; {STRIP_HINT}"
    timed = [index for index, cell in enumerate(notebook.cells) if "execution" in cell.metadata]
    assert not timed, f"{name}: cells {timed} hold execution timings; {STRIP_HINT}"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_imports_only_public_crmcore_names(name: str) -> None:
    private = []
    for cell in _code_cells(_read(name)):
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crmcore"):
                names = [alias.name for alias in node.names]
                if node.module not in PUBLIC_PACKAGES or any(n.startswith("_") for n in names):
                    private.append(f"from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Import):
                private += [
                    f"import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("crmcore") and alias.name not in PUBLIC_PACKAGES
                ]
    assert not private, f"{name} imports non-public crmcore names: {private}"


# ------------------------------------------------------------------------- execution
def _execute(name: str) -> Any:
    """Run the notebook on an IPython kernel of this interpreter and return it with outputs."""
    notebook = _read(name)
    # kernel_dirs=[]: no installed kernelspec is consulted, so "python3" is ipykernel's own
    # spec, whose command is sys.executable (a user-level "python3" spec could point elsewhere)
    manager = AsyncKernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[])
    )
    assert manager.kernel_spec.argv[0] == sys.executable
    client = NotebookClient(
        notebook,
        km=manager,
        kernel_name="python3",
        timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    return notebook


def _text(notebook: Any) -> str:
    """Everything the notebook printed or displayed as text, in cell order."""
    parts = []
    for cell in _code_cells(notebook):
        for output in cell.outputs:
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def _count(notebook: Any, mime: str) -> int:
    return sum(
        mime in output.get("data", {}) for cell in _code_cells(notebook) for output in cell.outputs
    )


def _numbers(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match is not None, f"no output matches {pattern!r}"
    return [float(group.replace(",", "")) for group in match.groups()]


def _check_cdnow(notebook: Any, text: str) -> None:
    assert "23,570 customers, 69,659 order rows" in text
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), CDNOW sample of 2,357 customers in
    # weeks: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (3 decimals printed)
    r, alpha, a, b, log_likelihood = _numbers(
        r"BG/NBD: r = ([\d.]+), alpha = ([\d.]+), a = ([\d.]+), b = ([\d.]+), "
        r"log-likelihood = (-[\d.]+)",
        text,
    )
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for value, (label, expected) in zip((r, alpha, a, b), published.items(), strict=True):
        assert value == pytest.approx(expected, rel=1e-3, abs=5e-4), label
    assert log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # Fader, Hardie & Lee (2005), JMR 42(4) / Hardie note 025: p = 6.25, q = 3.74,
    # gamma = 15.44 on the 946 repeat customers (2 decimals printed)
    p, q, v = _numbers(r"Gamma-Gamma: p = ([\d.]+), q = ([\d.]+), v = ([\d.]+)", text)
    for value, expected in ((p, 6.25), (q, 3.74), (v, 15.44)):
        assert value == pytest.approx(expected, rel=1e-3, abs=0.005)
    # every customer has exactly one first-purchase month: the cohorts add up to the base
    sizes = _numbers(
        r"1997-01 ([\d,]+), 1997-02 ([\d,]+), 1997-03 ([\d,]+) \(total ([\d,]+)\)", text
    )
    assert sum(sizes[:3]) == sizes[3] == 23_570
    # a reactivation programme with no lift only adds cost: break-even needs a positive lift
    (break_even,) = _numbers(r"pays off from a lift of about ([\d.]+) points", text)
    assert 0.0 < break_even < 3.0
    # plots: segment sizes, RFM heatmap, Lorenz, model checks, P(alive) matrix and path,
    # cohort heatmap, scenario; fitted models display as HTML tables
    assert _count(notebook, "image/png") >= 8
    assert _count(notebook, "text/html") >= 10


def _true_win_probabilities() -> dict[str, float]:
    """Win probability per open stage of the simulator's chain, by the fundamental matrix.

    Grinstead & Snell (1997), ch. 11: with Q the open-to-open block and R the open-to-closed
    block of the transition matrix, B = (I - Q)^-1 R holds the absorption probabilities.
    """
    from crmcore.datasets import default_transition_matrix
    from crmcore.pipeline import salesforce_pipeline

    pipeline = salesforce_pipeline()
    matrix = default_transition_matrix(pipeline)
    open_names = list(pipeline.open_names)
    q = matrix.loc[open_names, open_names].to_numpy(dtype=float)
    r = matrix.loc[open_names, list(pipeline.won_names)].to_numpy(dtype=float)
    won = np.linalg.solve(np.eye(len(open_names)) - q, r).sum(axis=1)
    return dict(zip(open_names, won.tolist(), strict=True))


def _check_pipeline(notebook: Any, text: str) -> None:
    assert "5,000 opportunities" in text
    for stage, truth in _true_win_probabilities().items():
        fitted, shown_truth, _, _ = _numbers(
            rf"^{re.escape(stage)}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text
        )
        assert shown_truth == pytest.approx(truth, abs=5e-4 + 1e-9), stage
        # about 3,700 deals: the fitted chain recovers the true one to sampling error
        assert fitted == pytest.approx(truth, abs=0.03), stage
    # the mean of a Poisson-binomial sum of amounts is the sum of amount x probability
    weighted, mean = _numbers(r"sum of amount x q: ([\d,.]+); forecast mean: ([\d,.]+)", text)
    assert weighted == pytest.approx(mean, abs=0.011)
    # what the open deals actually brought (read from the simulated history) lies inside the
    # chain's P10-P90 band and below the stage-default forecast's P10
    actual, low, high, stage_p10 = _numbers(
        r"deals open on 30 June: ([\d,]+) \(chain P10-P90 ([\d,]+) to ([\d,]+); "
        r"stage-probability P10 ([\d,]+)\)",
        text,
    )
    assert low <= actual <= high
    assert actual < stage_p10
    # funnel, forecast distribution, close-time curves, back-test
    assert _count(notebook, "image/png") >= 4


def _check_service(notebook: Any, text: str) -> None:
    # By hand (Berlin, Mon-Fri 9-17): first reply Mon 11:00 to a ticket opened Fri 16:00 is
    # 1 h on Friday + 2 h on Monday = 3 h of a 4 h target due Mon 12:00; the resolution clock
    # runs Fri 16-17 (1 h), Mon 9-12 (3 h), stops while pending, runs Tue 9:30-15:00 (5.5 h):
    # 9.5 h of 16 h; the 6.5 h left end on Wed 13:30 (2 h on Tuesday, 4.5 h on Wednesday).
    assert "first response: met after 0 days 03:00:00, due Mon 11 Mar 12:00" in text
    assert (
        "resolution: met after 0 days 09:30:00, 0 days 06:30:00 to spare, due Wed 13 Mar 13:30"
        in text
    )
    # simulate_tickets reopens 8% of solved tickets; about 7,000 tickets: sd 0.3 points
    (reopen,) = _numbers(r"reopen rate\s+([\d.]+)%", text)
    assert reopen / 100 == pytest.approx(0.08, abs=0.02)
    # its ratings 1-5 have probabilities .04 .06 .12 .33 .45 (complaints .15 .15 .20 .25 .25)
    # and 10% of tickets are complaints: CSAT = good / (good + bad) =
    # (.9 * .78 + .1 * .50) / (.9 * .88 + .1 * .80) = 0.862; complaints alone .50 / .80 = 0.625
    (overall,) = _numbers(r"CSAT\s+([\d.]+)%", text)
    assert overall / 100 == pytest.approx(0.862, abs=0.03)
    (complaints,) = _numbers(r"^complaint\s+([\d.]+)$", text)
    assert complaints == pytest.approx(0.625, abs=0.08)
    # SLA breaches, backlog, whale curve
    assert _count(notebook, "image/png") >= 3


CHECKS: dict[str, Callable[[Any, str], None]] = {
    "cdnow-end-to-end.ipynb": _check_cdnow,
    "pipeline-forecast.ipynb": _check_pipeline,
    "service-levels.ipynb": _check_service,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_shows_the_expected_results(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one test per notebook (not one per check), so that a notebook runs once per session
    # even when the suite is spread over several xdist workers
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = _execute(name)
    errors = [
        output
        for cell in _code_cells(notebook)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    CHECKS[name](notebook, _text(notebook))
