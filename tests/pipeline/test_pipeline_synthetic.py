"""simulate_pipeline: a seeded history whose weekly discretisation is the chain it came from.

The expected transition frequencies are the chain's own probabilities (the truth the
generator is given), compared with a replay of the discretisation rule of issue 9 written
here independently: the state at step k is the stage of the last event at or before
created + k weeks; only whole steps up to floor((as_of - created) / 1 week) count; nothing
is counted after a won or lost state. Standard error of a row frequency: sqrt(p (1 - p) / n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import default_transition_matrix, simulate_pipeline
from crmcore.exceptions import ValidationError
from crmcore.pipeline._entities import Pipeline, Stage, salesforce_pipeline, simple_pipeline

WEEK = pd.Timedelta(weeks=1)
END = pd.Timestamp("2025-12-31", tz="UTC")


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return simulate_pipeline(20_000, random_state=2024)


def replay_counts(
    history: pd.DataFrame, names: list[str], open_names: list[str], as_of: pd.Timestamp
) -> np.ndarray:
    """Weekly transition counts by the discretisation rule (vectorised over steps)."""
    codes = {name: i for i, name in enumerate(names)}
    opp, first = np.unique(history["opportunity_id"].to_numpy(), return_inverse=True)
    secs = (history["changed_at"] - as_of).dt.total_seconds().to_numpy()  # <= 0 before as_of
    order = np.lexsort((secs, first))
    ev_opp, ev_t = first[order], secs[order]
    ev_state = history["stage"].map(codes).to_numpy()[order]
    created = pd.Series(ev_t).groupby(ev_opp).min().to_numpy()
    n_steps = np.floor(-created / WEEK.total_seconds()).astype(np.int64)  # K per opportunity
    pair_opp = np.repeat(np.arange(opp.size), n_steps + 1)
    starts = np.cumsum(n_steps + 1) - (n_steps + 1)
    pair_k = np.arange(pair_opp.size) - np.repeat(starts, n_steps + 1)
    at = created[pair_opp] + pair_k * WEEK.total_seconds()
    # last event of the same opportunity with time <= at: search in (opp, time) order
    span = 1e9
    key_events = ev_opp * span + (ev_t + 5e8)
    key_pairs = pair_opp * span + (at + 5e8)
    pos = np.searchsorted(key_events, key_pairs, side="right") - 1
    assert (ev_opp[pos] == pair_opp).all()
    state = ev_state[pos]
    is_open = np.isin(np.arange(len(names)), [codes[s] for s in open_names])
    same = pair_opp[1:] == pair_opp[:-1]
    counted = same & is_open[state[:-1]]
    counts = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(counts, (state[:-1][counted], state[1:][counted]), 1)
    return counts


def test_one_seed_gives_one_frame_and_another_seed_another() -> None:
    a = simulate_pipeline(300, random_state=5)
    assert a.equals(simulate_pipeline(300, random_state=5))
    assert not a.equals(simulate_pipeline(300, random_state=6))
    gen = np.random.default_rng(5)
    assert simulate_pipeline(300, random_state=gen).equals(a)


def test_the_frame_has_the_event_frame_columns_and_dtypes(history: pd.DataFrame) -> None:
    assert history.columns.tolist() == [
        "opportunity_id",
        "stage",
        "changed_at",
        "amount",
        "expected_close",
        "probability",
        "owner",
    ]
    assert str(history["changed_at"].dtype) == "datetime64[ns, UTC]"
    assert str(history["expected_close"].dtype) == "datetime64[ns]"
    assert (history["expected_close"] == history["expected_close"].dt.normalize()).all()
    assert history["amount"].dtype == np.float64 and (history["amount"] >= 1).all()
    assert history["probability"].isna().all()
    assert history["opportunity_id"].nunique() == 20_000
    assert set(history["owner"]) == {"Avery", "Blake", "Casey", "Devon", "Emery"}
    assert isinstance(history.index, pd.RangeIndex)
    assert history["changed_at"].max() <= END
    keys = history[["opportunity_id", "changed_at"]]
    assert keys.equals(keys.sort_values(["opportunity_id", "changed_at"], kind="stable"))


def test_the_history_has_skips_regressions_amount_only_rows_and_open_deals(
    history: pd.DataFrame,
) -> None:
    p = salesforce_pipeline()
    order = history["stage"].map({n: p.stage(n).order for n in p.names})
    same_opp = history["opportunity_id"].eq(history["opportunity_id"].shift())
    step = order.diff()[same_opp]
    open_orders = {p.stage(n).order for n in p.open_names}
    prev_open = order.shift()[same_opp].isin(open_orders)
    now_open = order[same_opp].isin(open_orders)
    assert ((step >= 2) & prev_open & now_open).sum() > 100  # skips
    assert ((step < 0) & now_open).sum() > 100  # regressions
    same_stage = step == 0
    amount_only = same_stage & history["amount"].diff()[same_opp].ne(0)
    assert amount_only.sum() > 1_000
    pushed = same_stage & history["expected_close"].diff()[same_opp].gt(pd.Timedelta(0))
    assert pushed.sum() > 1_000
    last = history.groupby("opportunity_id")["stage"].last()
    assert last.isin(p.open_names).sum() > 500  # open at the end
    assert last.isin(p.won_names).sum() > 1_000 and last.isin(p.lost_names).sum() > 1_000
    # nothing follows a close
    closed = history["stage"].isin(p.won_names + p.lost_names)
    assert (history.loc[closed, "opportunity_id"].value_counts() == 1).all()
    assert (
        not history["opportunity_id"]
        .eq(history["opportunity_id"].shift())[closed.shift(fill_value=False)]
        .any()
    )


def test_weekly_transition_frequencies_match_the_chain_within_three_standard_errors(
    history: pd.DataFrame,
) -> None:
    p = salesforce_pipeline()
    truth = default_transition_matrix(p).to_numpy()
    as_of = history["changed_at"].max()
    counts = replay_counts(history, list(p.names), list(p.open_names), as_of)
    for name in p.open_names:
        i = p.names.index(name)
        n = counts[i].sum()
        assert n > 1_000, name
        freq = counts[i] / n
        se = np.sqrt(truth[i] * (1 - truth[i]) / n)
        assert (np.abs(freq - truth[i]) <= 3 * se).all(), (name, freq, truth[i])
        # impossible moves never happen
        assert (counts[i][truth[i] == 0] == 0).all()


def test_without_jitter_events_sit_on_whole_weeks_after_creation() -> None:
    h = simulate_pipeline(500, jitter=False, random_state=3)
    created = h.groupby("opportunity_id")["changed_at"].transform("min")
    weeks = (h["changed_at"] - created) / WEEK
    assert (weeks == np.round(weeks)).all()


def test_a_given_chain_on_the_short_pipeline_is_recovered() -> None:
    p = simple_pipeline()
    names = list(p.names)
    chain = pd.DataFrame(0.0, index=names, columns=names)
    chain.loc["Lead", ["Lead", "Qualified", "Lost"]] = [0.5, 0.3, 0.2]
    chain.loc["Qualified", ["Lead", "Qualified", "Proposal", "Lost"]] = [0.1, 0.5, 0.3, 0.1]
    chain.loc["Proposal", ["Qualified", "Proposal", "Won", "Lost"]] = [0.1, 0.4, 0.3, 0.2]
    h = simulate_pipeline(5_000, pipeline=p, transition_matrix=chain, random_state=11)
    counts = replay_counts(h, names, list(p.open_names), h["changed_at"].max())
    truth = chain.to_numpy()
    for i in range(3):
        n = counts[i].sum()
        se = np.sqrt(truth[i] * (1 - truth[i]) / n)
        assert (np.abs(counts[i] / n - truth[i]) <= 3 * se).all()


def test_bad_parameters_raise_validation_errors_naming_them() -> None:
    p = simple_pipeline()
    bad = default_transition_matrix(p)
    bad.loc["Lead", "Lead"] += 0.1
    with pytest.raises(ValidationError, match="Lead"):
        simulate_pipeline(10, pipeline=p, transition_matrix=bad)
    with pytest.raises(ValidationError, match="n_opportunities"):
        simulate_pipeline(0)
    with pytest.raises(ValidationError, match="owners"):
        simulate_pipeline(10, owners=())
    with pytest.raises(ValidationError, match="end"):
        simulate_pipeline(10, start="2025-01-01", end="2024-01-01")
    with pytest.raises(ValidationError, match="pipeline"):
        simulate_pipeline(10, pipeline="salesforce")  # type: ignore[arg-type]


def test_moves_the_pipeline_forbids_are_refused_and_left_out_of_the_default_chain() -> None:
    stages = [
        Stage(name="A", order=1, probability=0.2, outcome="open"),
        Stage(name="B", order=2, probability=0.6, outcome="open"),
        Stage(name="W", order=3, probability=1.0, outcome="won"),
        Stage(name="L", order=4, probability=0.0, outcome="lost"),
    ]
    p = Pipeline(stages=stages, transitions={"A": ["B", "L"], "B": ["W", "L"]})
    chain = default_transition_matrix(p)
    assert chain.loc["A", "W"] == 0 and chain.loc["B", "A"] == 0
    assert np.allclose(chain.sum(axis=1), 1)
    h = simulate_pipeline(300, pipeline=p, random_state=1)
    assert set(h["stage"]) <= {"A", "B", "W", "L"}
    bad = chain.copy()
    bad.loc["B", ["A", "B"]] = [0.1, bad.loc["B", "B"] - 0.1]
    with pytest.raises(ValidationError, match="B -> A"):
        simulate_pipeline(10, pipeline=p, transition_matrix=bad)


def test_the_input_matrix_is_not_mutated() -> None:
    chain = default_transition_matrix(simple_pipeline())
    before = chain.copy()
    simulate_pipeline(50, pipeline=simple_pipeline(), transition_matrix=chain, random_state=0)
    pd.testing.assert_frame_equal(chain, before)


def test_the_frame_passes_read_history_unchanged(history: pd.DataFrame) -> None:
    from crmcore.pipeline import read_history

    before = history.copy()
    read = read_history(history, salesforce_pipeline(), who="test")
    pd.testing.assert_frame_equal(history, before)
    assert len(read) == len(history)
    cols = ["opportunity_id", "stage", "changed_at", "amount", "expected_close", "owner"]
    pd.testing.assert_frame_equal(read[cols], history[cols])
    assert set(read["outcome"]) == {"open", "won", "lost"}
