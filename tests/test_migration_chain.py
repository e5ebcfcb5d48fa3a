"""Tests for the Pfeifer & Carraway (2000) customer migration model."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crmcore.exceptions import CRMWarning, NotFittedError, ValidationError
from crmcore.value.economics._migration_chain import CustomerMigrationModel, purchase_history

# Recency example of Pfeifer & Carraway (2000), "Modeling Customer Relationships as Markov
# Chains", J. Interactive Marketing 14(2), 43-55. INPUTS: recency states 1..5 with purchase
# probabilities p = (.30, .20, .15, .05, 0), net contribution NC = 40 per purchase and
# marketing M = 4 per period in states 1-4, so R = (NC - M, -M, -M, -M, 0) = (36, -4, -4, -4,
# 0), as reproduced (citing the paper) in GeorgeMarkov/Modeling-Customer-Relationships-as-
# Markov-Chains, README.md (R code). The discount rate d = 0.2 is that reproduction's own
# setting ("in this simulation, I will set d = 0.2"), not confirmed as the paper's.
# OUTPUTS: the paper's printed LTV vector could NOT be found in any searchable copy of the
# paper or a reproduction (the R code above sums only four truncated terms and prints no
# values), so V = (52.32, 5.55, 1.25, -1.82, 0.00) below is a HAND DERIVATION (the explicit
# discounted series of _explicit_values), not the paper's numbers.
P_EXAMPLE = [0.30, 0.20, 0.15, 0.05, 0.0]


def _explicit_values(p, rewards, d, periods=600):
    """Hand derivation: V = sum_t (1+d)^-t P^t R by explicit powers of P."""
    n = len(p)
    P = np.zeros((n, n))
    for k in range(n):
        P[k, 0] = p[k]
        P[k, min(k + 1, n - 1)] += 1 - p[k]
    total = np.zeros(n)
    power = np.eye(n)
    for t in range(periods):
        total += power @ np.asarray(rewards, float) / (1 + d) ** t
        power = power @ P
    return total


def test_pfeifer_carraway_example_state_values():
    model = CustomerMigrationModel.from_params(purchase_probabilities=P_EXAMPLE)
    values = model.state_values(margin=40, marketing_cost=[4, 4, 4, 4, 0], discount_rate=0.2)
    expected = _explicit_values(P_EXAMPLE, [36, -4, -4, -4, 0], 0.2)
    np.testing.assert_allclose(values.to_numpy(), expected, rtol=1e-10)
    # the hand derivation rounded to cents (not a published value; see the note above)
    np.testing.assert_allclose(values.round(2).to_numpy(), [52.32, 5.55, 1.25, -1.82, 0.0])


def test_pfeifer_carraway_example_transition_matrix_and_fundamental_matrix():
    model = CustomerMigrationModel.from_params(purchase_probabilities=P_EXAMPLE)
    P = model.transition_matrix_.to_numpy()
    expected = np.array(
        [
            [0.30, 0.70, 0, 0, 0],
            [0.20, 0, 0.80, 0, 0],
            [0.15, 0, 0, 0.85, 0],
            [0.05, 0, 0, 0, 0.95],
            [0, 0, 0, 0, 1.0],
        ]
    )
    np.testing.assert_allclose(P, expected)
    fundamental = model.fundamental_matrix(0.2).to_numpy()
    np.testing.assert_allclose(fundamental @ (np.eye(5) - P / 1.2), np.eye(5), atol=1e-12)


def test_rewards_vector_equals_margin_and_cost_form():
    model = CustomerMigrationModel.from_params(purchase_probabilities=P_EXAMPLE)
    a = model.state_values(margin=40, marketing_cost=[4, 4, 4, 4, 0], discount_rate=0.2)
    b = model.state_values(rewards=[36, -4, -4, -4, 0], discount_rate=0.2)
    pd.testing.assert_series_equal(a, b)


def test_fit_counts_transitions_by_hand():
    # customer x buys in periods 0 and 2: states 1, 2, 1, 2 -> 1->2, 2->1, 1->2
    # customer y buys in period 1: states -, 1, 2, 2 -> 1->2, 2->2; z never buys (ignored)
    history = pd.DataFrame([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], index=["x", "y", "z"])
    model = CustomerMigrationModel(n_states=2).fit(history)
    np.testing.assert_array_equal(model.transition_counts_.to_numpy(), [[0, 3], [1, 1]])
    np.testing.assert_allclose(model.purchase_probabilities_.to_numpy(), [0.0, 0.5])
    assert model.n_customers_ == 2
    assert model.state_counts_.tolist() == [0, 2]


def test_fit_rejects_states_without_observations():
    history = pd.DataFrame([[1, 0, 1, 0], [0, 1, 0, 0]])
    with pytest.raises(ValidationError, match="state\\(s\\) 3"):
        CustomerMigrationModel(n_states=3).fit(history)


def test_fit_estimates_share_of_purchases_per_state():
    history = pd.DataFrame([[1, 0, 1, 0, 0, 1], [1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 1, 0]])
    model = CustomerMigrationModel(n_states=3).fit(history)
    counts = model.transition_counts_.to_numpy()
    p = model.purchase_probabilities_.to_numpy()
    np.testing.assert_allclose(p, counts[:, 0] / counts.sum(axis=1))
    # hand count of transitions out of state 1: row 0: 1->2 twice; row 1: 1->1, 1->2;
    # row 2: 1->2 twice
    assert counts[0].tolist() == [1, 5, 0]
    assert model.state_counts_.sum() == 3
    summary = model.summary()
    assert list(summary.columns) == ["estimate", "std_err", "ci_lower", "ci_upper"]
    assert summary.loc["p1", "std_err"] == pytest.approx(np.sqrt((1 / 6) * (5 / 6) / 6))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int8, st.tuples(st.integers(0, 30), st.integers(4, 12)), elements=st.integers(0, 2))
)
def test_rows_of_the_estimated_transition_matrix_sum_to_one(history):
    # one customer who buys once and then never again passes through states 1 -> 2 -> 3 -> 3,
    # so every state has a transition out and the fit is defined (random tables alone often
    # miss one, which made Hypothesis discard too many examples)
    anchor = np.zeros((1, history.shape[1]), dtype=np.int8)
    anchor[0, 0] = 1
    frame = pd.DataFrame(np.vstack([anchor, history]))
    before = frame.copy()
    try:
        model = CustomerMigrationModel(n_states=3).fit(frame)
    except ValidationError:
        assume(False)
        return
    P = model.transition_matrix_.to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert ((P >= 0) & (P <= 1)).all()
    pd.testing.assert_frame_equal(frame, before)


def test_projection_keeps_the_total_and_matches_matrix_powers():
    model = CustomerMigrationModel.from_params(purchase_probabilities=[0.4, 0.2, 0.1])
    proj = model.project(6, initial=[100, 50, 25])
    np.testing.assert_allclose(proj.sum(axis=1), 175.0)
    P = model.transition_matrix_.to_numpy()
    np.testing.assert_allclose(
        proj.loc[6].to_numpy(), np.array([100, 50, 25]) @ np.linalg.matrix_power(P, 6)
    )


def test_fit_transactions_matches_fit_on_purchase_history():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "a"],
            "date": pd.to_datetime(
                ["2024-01-03", "2024-03-09", "2024-01-20", "2024-02-01", "2024-02-14", "2024-06-01"]
            ),
        }
    )
    before = tx.copy()
    with pytest.warns(CRMWarning, match="1 of 6 rows are dated after as_of"):
        table = purchase_history(tx, as_of="2024-05-31")
    assert table.shape == (3, 5)
    assert table.to_numpy().sum() == 5
    with pytest.warns(CRMWarning):
        a = CustomerMigrationModel(n_states=2).fit_transactions(tx, as_of="2024-05-31")
    b = CustomerMigrationModel(n_states=2).fit(table)
    pd.testing.assert_frame_equal(a.transition_counts_, b.transition_counts_)
    pd.testing.assert_frame_equal(tx, before)


def test_unfitted_model_and_bad_input_raise():
    with pytest.raises(NotFittedError):
        CustomerMigrationModel().state_values(margin=1, discount_rate=0.1)
    model = CustomerMigrationModel.from_params(purchase_probabilities=P_EXAMPLE)
    with pytest.raises(ValidationError, match="discount_rate"):
        model.state_values(margin=40, discount_rate=-1.0)
    with pytest.raises(ValidationError, match="\\[0, 1\\]"):
        CustomerMigrationModel.from_params(purchase_probabilities=[0.5, 1.5])
    with pytest.raises(ValidationError, match="missing"):
        CustomerMigrationModel(n_states=2).fit(pd.DataFrame([[1.0, np.nan]]))


def test_model_pickles():
    model = CustomerMigrationModel.from_params(purchase_probabilities=P_EXAMPLE)
    clone = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(clone.transition_matrix_, model.transition_matrix_)


def test_state_values_agree_with_an_independent_implementation_of_the_migration_model() -> None:
    # Peer-computed reference: the phpOMS framework's Metrics::migrationModel, an independent
    # implementation of Pfeifer & Carraway (2000), V = (I - P / (1 + d))^-1 R, asserts in its
    # own test suite V = (231.08, 57.29, 21.01, 0.0) for purchase probabilities
    # (0.5, 0.2, 0.1, 0), a payoff of 100 on purchase, no mailing cost and d = 0.1.
    model = CustomerMigrationModel.from_params(purchase_probabilities=[0.5, 0.2, 0.1, 0.0])
    values = model.state_values(discount_rate=0.1, margin=100.0, marketing_cost=0.0)
    np.testing.assert_allclose(values.to_numpy(), [231.08, 57.29, 21.01, 0.0], atol=0.005)
