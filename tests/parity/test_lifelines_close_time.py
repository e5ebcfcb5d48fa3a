"""close_time_curves against lifelines 0.30 KaplanMeierFitter and AalenJohansenFitter.

lifelines' AalenJohansenFitter jitters tied event times at random before estimating (its
estimator formula itself handles ties exactly, through the event table). The first test
uses the simulated pipeline with events at random seconds (ties checked absent, so no
jitter happens); the second rounds durations to whole weeks (many ties) and switches the
jitter pre-step off on the fitter instance, so the two exact tie formulas are compared.
Durations are replayed here with pandas, independently of crmcore.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _peers import require_peer

from crmcore.datasets import simulate_pipeline
from crmcore.pipeline import close_time_curves, salesforce_pipeline

lifelines = require_peer("lifelines")

AS_OF = pd.Timestamp("2025-06-30", tz="UTC")


def _durations(history: pd.DataFrame, as_of: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    pipe = salesforce_pipeline()
    h = history.loc[history["changed_at"] <= as_of]
    created = h.groupby("opportunity_id")["changed_at"].min()
    closed = h.loc[h["stage"].isin(pipe.won_names + pipe.lost_names)]
    first = closed.sort_values("changed_at").drop_duplicates("opportunity_id")
    first = first.set_index("opportunity_id").reindex(created.index)
    end = first["changed_at"].fillna(as_of)
    days = ((end - created) / pd.Timedelta(days=1)).to_numpy()
    code = np.where(
        first["stage"].isin(pipe.won_names), 1, np.where(first["stage"].isin(pipe.lost_names), 2, 0)
    )
    return days, code


def _lifelines_curves(days: np.ndarray, code: np.ndarray, *, allow_ties: bool) -> pd.DataFrame:
    km = lifelines.KaplanMeierFitter().fit(days, event_observed=code > 0)
    out = {"open": km.survival_function_.iloc[:, 0]}
    for name, cause in (("won", 1), ("lost", 2)):
        aj = lifelines.AalenJohansenFitter(calculate_variance=False)
        if allow_ties:
            aj._check_for_duplicates = lambda **kwargs: False  # no random jitter
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a jitter warning would fail the test
            aj.fit(days, code, event_of_interest=cause)
        out[name] = aj.cumulative_density_.iloc[:, 0]
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return simulate_pipeline(20_000, random_state=17)


def test_matches_lifelines_without_ties(history: pd.DataFrame) -> None:
    days, code = _durations(history, AS_OF)
    # events at whole seconds leave a few tied close durations: drop those deals
    ids = history.loc[history["changed_at"] <= AS_OF].groupby("opportunity_id").size().index
    tied = pd.Series(days).duplicated(keep=False).to_numpy() & (code > 0)
    history = history.loc[~history["opportunity_id"].isin(ids[tied])]
    days, code = _durations(history, AS_OF)
    assert pd.Series(days[code > 0]).duplicated().sum() == 0  # no ties: lifelines won't jitter
    ours = close_time_curves(history, pipeline=salesforce_pipeline(), as_of=AS_OF)
    theirs = _lifelines_curves(days, code, allow_ties=False)
    np.testing.assert_allclose(ours.index.to_numpy(), theirs.index.to_numpy(), rtol=1e-12)
    for column in ("open", "won", "lost"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), atol=1e-12)
    assert ours["won"].iloc[-1] > 0.05 and ours["lost"].iloc[-1] > 0.05


def test_matches_lifelines_exact_tie_formula_on_whole_weeks(history: pd.DataFrame) -> None:
    weekly = history.copy()
    created = weekly.groupby("opportunity_id")["changed_at"].transform("min")
    weeks = np.ceil((weekly["changed_at"] - created) / pd.Timedelta(weeks=1))
    weekly["changed_at"] = created + pd.to_timedelta(weeks * 7, unit="D")
    # keep one row per opportunity and time (the last), so a week holds one state
    weekly = weekly.drop_duplicates(["opportunity_id", "changed_at"], keep="last")
    as_of = pd.Timestamp("2025-06-30", tz="UTC")
    days, code = _durations(weekly, as_of)
    assert pd.Series(days[code > 0]).duplicated().sum() > 100  # many ties
    ours = close_time_curves(weekly, pipeline=salesforce_pipeline(), as_of=as_of)
    theirs = _lifelines_curves(days, code, allow_ties=True)
    np.testing.assert_allclose(ours.index.to_numpy(), theirs.index.to_numpy(), rtol=1e-12)
    for column in ("open", "won", "lost"):
        np.testing.assert_allclose(ours[column].to_numpy(), theirs[column].to_numpy(), atol=1e-12)
