"""Typed predictions (issue 11, item 5): frame in, Series out; arrays in, ndarray out.

The functions below assign predictions to annotated variables, so ``mypy --strict`` on this
file checks the ``typing.overload``s of the prediction methods (the slow test runs it, and
runs it on a wrong assignment too, to see that the check can fail). The fast tests check
that the run-time types and index alignment agree with the annotations.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
import pytest

from crmcore.value import BetaGeoModel, GammaGammaModel, ParetoNBDModel

FloatArray = npt.NDArray[np.float64]

CUSTOMERS = pd.DataFrame(
    {
        "frequency": [2.0, 0.0, 5.0],
        "recency": [30.43, 0.0, 35.0],
        "T": [38.86, 38.86, 38.86],
        "monetary_value": [40.0, 0.0, 25.0],
    },
    index=pd.Index(["c9", "c1", "c5"], name="customer_id"),  # not sorted: alignment shows
)


def bg() -> BetaGeoModel:
    return BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)


def frame_predictions() -> list[pd.Series]:
    model = bg()
    expected: pd.Series = model.expected_purchases(CUSTOMERS, 4.0)
    alive: pd.Series = model.probability_alive(CUSTOMERS)
    p_one: pd.Series = model.purchase_probability(CUSTOMERS, 1, 4.0)
    pareto = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    dert: pd.Series = pareto.dert(CUSTOMERS, 0.01)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    spend: pd.Series = gg.conditional_expected_average_spend(CUSTOMERS)
    polars_alive: pd.Series = model.probability_alive(
        pl.from_pandas(CUSTOMERS.reset_index()), t=1.0
    )
    return [expected, alive, p_one, dert, spend, polars_alive]


def array_predictions() -> list[FloatArray]:
    model = bg()
    x, t_x, T = (CUSTOMERS[c].to_numpy() for c in ("frequency", "recency", "T"))
    expected: FloatArray = model.expected_purchases((x, t_x, T), 4.0)
    alive: FloatArray = model.probability_alive(np.column_stack([x, t_x, T]), t=2.0)
    p_one: FloatArray = model.purchase_probability([x, t_x, T], 1, 4.0)
    pareto = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    dert: FloatArray = pareto.dert((x, t_x, T), 0.01)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    spend: FloatArray = gg.conditional_expected_average_spend(
        (x, CUSTOMERS["monetary_value"].to_numpy())
    )
    return [expected, alive, p_one, dert, spend]


def test_frame_input_gives_series_aligned_with_the_callers_rows() -> None:
    *pandas_results, polars_result = frame_predictions()
    for result in pandas_results:
        assert isinstance(result, pd.Series)
        assert list(result.index) == ["c9", "c1", "c5"]
    # a Polars frame has no index: its customer_id column labels the result
    assert isinstance(polars_result, pd.Series)
    assert list(polars_result.index) == ["c9", "c1", "c5"]


def test_array_input_gives_ndarrays_with_the_same_values() -> None:
    for got, want in zip(array_predictions(), frame_predictions()[:5], strict=True):
        assert type(got) is np.ndarray and got.dtype == np.float64
        if want.name != "probability_alive":  # the array call looks 2 periods ahead
            np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-12)


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        # a cache of its own: two xdist workers may run mypy at the same time
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            tempfile.mkdtemp(prefix="crmcore-mypy-"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )


@pytest.mark.slow
def test_mypy_accepts_the_annotated_predictions_and_refuses_a_wrong_one(tmp_path: Path) -> None:
    ok = _mypy(Path(__file__))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        textwrap.dedent(
            """
            import numpy as np
            import pandas as pd
            from crmcore.value import BetaGeoModel

            model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
            x = np.array([2.0])
            series: pd.Series = model.expected_purchases((x, x, x), 4.0)
            """
        )
    )
    bad = _mypy(wrong)
    assert bad.returncode == 1 and "Incompatible types in assignment" in bad.stdout, bad.stdout
