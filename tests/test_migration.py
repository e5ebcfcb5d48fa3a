"""Tests of the segment/tier migration matrix and its heatmap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._plots.segmentation_tiers import plot_migration_heatmap
from crmcore.exceptions import ValidationError
from crmcore.segmentation import abc_tiers, migration_matrix


def _example() -> tuple[pd.Series, pd.Series]:
    # customers 1-6 before, 3-8 after: 1, 2 gone; 7, 8 new.
    before = pd.Series(["A", "B", "A", "B", "C", "C"], index=[1, 2, 3, 4, 5, 6])
    after = pd.Series(["A", "A", "C", "B", "A", "C"], index=[3, 4, 5, 6, 7, 8])
    return before, after


def test_migration_counts_stayers_movers_entrants_and_leavers() -> None:
    before, after = _example()
    m = migration_matrix(before, after)
    # by hand: 3 A->A, 4 B->A, 5 C->C, 6 C->B, 1 A->gone, 2 B->gone, 7 new->A, 8 new->C
    expected = pd.DataFrame(
        [[1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0], [1, 0, 1, 0]],
        index=pd.Index(["A", "B", "C", "(new)"], dtype=object, name="before"),
        columns=pd.Index(["A", "B", "C", "(gone)"], dtype=object, name="after"),
    )
    pd.testing.assert_frame_equal(m, expected)
    assert m.to_numpy().sum() == 8  # the union of the two customer sets


def test_migration_row_shares_sum_to_one_per_non_empty_row() -> None:
    before, after = _example()
    m = migration_matrix(before, after, normalize="row")
    assert m.loc["A"].tolist() == [0.5, 0.0, 0.0, 0.5]
    assert m.loc["C"].tolist() == [0.0, 0.5, 0.5, 0.0]
    np.testing.assert_allclose(m.sum(axis=1).to_numpy(), 1.0)


def test_migration_empty_rows_have_nan_shares_and_all_normalises_by_everyone() -> None:
    before = pd.Series(["A", "B"], index=[1, 2])
    after = pd.Series(["B", "A"], index=[1, 2])
    rows = migration_matrix(before, after, normalize="row")
    assert rows.loc["(new)"].isna().all()
    total = migration_matrix(before, after, normalize="all")
    assert total.to_numpy().sum() == pytest.approx(1.0)
    assert total.loc["A", "B"] == 0.5


def test_migration_follows_categorical_order_and_shows_empty_categories() -> None:
    cats = pd.CategoricalDtype(["gold", "silver", "bronze"], ordered=True)
    before = pd.Series(["bronze", "gold"], index=["x", "y"], dtype=cats)
    after = pd.Series(["gold", "gold"], index=["x", "y"], dtype=cats)
    m = migration_matrix(before, after)
    assert list(m.index) == ["gold", "silver", "bronze", "(new)"]
    assert list(m.columns) == ["gold", "silver", "bronze", "(gone)"]
    assert m.loc["bronze", "gold"] == 1 and m.loc["gold", "gold"] == 1


def test_migration_of_abc_tiers_between_two_years() -> None:
    year1 = pd.Series([50.0, 20, 10, 8, 5, 4, 2, 1], index=list("abcdefgh"))
    year2 = pd.Series([5.0, 60, 10, 8, 1, 9], index=list("abcdei"))
    m = migration_matrix(abc_tiers(year1)["tier"], abc_tiers(year2)["tier"])
    assert m.loc["A", "(gone)"] == 0
    assert m.loc["C", "(gone)"] == 3  # f, g, h left
    assert m.loc["(new)"].sum() == 1  # i entered
    assert int(m.to_numpy().sum()) == 9


def test_migration_rejects_bad_inputs_with_clear_messages() -> None:
    good = pd.Series(["A"], index=[1])
    with pytest.raises(ValidationError, match=r"Hint: pass one column"):
        migration_matrix(pd.DataFrame({"tier": ["A"]}), good)
    with pytest.raises(ValidationError, match="repeated customer ids"):
        migration_matrix(pd.Series(["A", "B"], index=[1, 1]), good)
    with pytest.raises(ValidationError, match="1 missing segment labels"):
        migration_matrix(good, pd.Series(["A", None], index=[1, 2]))
    with pytest.raises(ValidationError, match="reserved labels"):
        migration_matrix(pd.Series(["(new)"], index=[1]), good)
    with pytest.raises(ValidationError, match="'normalize' parameter"):
        migration_matrix(good, good, normalize="column")


@settings(max_examples=80, deadline=None)
@given(
    before=st.dictionaries(st.integers(0, 30), st.sampled_from(["A", "B", "C"]), max_size=20),
    after=st.dictionaries(st.integers(0, 30), st.sampled_from(["A", "B", "D"]), max_size=20),
    seed=st.integers(0, 99),
)
def test_migration_counts_everyone_once_and_ignores_row_order(
    before: dict[int, str], after: dict[int, str], seed: int
) -> None:
    b = pd.Series(before, dtype=object)
    a = pd.Series(after, dtype=object)
    b_copy, a_copy = b.copy(), a.copy()
    m = migration_matrix(b, a)
    rng = np.random.default_rng(seed)
    shuffled = migration_matrix(b.iloc[rng.permutation(len(b))], a.iloc[rng.permutation(len(a))])
    pd.testing.assert_frame_equal(m, shuffled)
    pd.testing.assert_series_equal(b, b_copy)
    pd.testing.assert_series_equal(a, a_copy)
    assert int(m.to_numpy().sum()) == len(set(before) | set(after))
    assert int(m["(gone)"].sum()) == len(set(before) - set(after))
    assert int(m.loc["(new)"].sum()) == len(set(after) - set(before))
    assert m.loc["(new)", "(gone)"] == 0
    # row totals of the before segments are the before segment sizes
    sizes = b.value_counts()
    for label, size in sizes.items():
        assert m.loc[label].sum() == size


def test_migration_heatmap_draws_one_image_and_one_text_per_cell() -> None:
    before, after = _example()
    m = migration_matrix(before, after)
    ax = plot_migration_heatmap(m)
    assert len(ax.images) == 1
    assert len(ax.texts) == m.size
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "C", "(gone)"]
    assert ax.texts[0].get_text() == "1"
    plt.close(ax.figure)
    shares = plot_migration_heatmap(migration_matrix(before, after, normalize="row"))
    assert shares.texts[0].get_text() == "50%"
    plt.close(shares.figure)
