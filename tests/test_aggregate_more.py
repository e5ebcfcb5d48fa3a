"""Tests of the kernels appended to crmcore._aggregate (distinct_pairs), against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._aggregate import distinct_pairs


def _pandas_pairs(codes: np.ndarray, values: np.ndarray) -> tuple[list[int], list[int]]:
    pairs = pd.DataFrame({"g": codes, "v": values}).drop_duplicates().sort_values(["g", "v"])
    return pairs["g"].tolist(), pairs["v"].tolist()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(-3, 3) | st.integers(-(10**6), 10**6)),
        min_size=1,
        max_size=80,
    )
)
def test_distinct_pairs_equal_pandas_drop_duplicates(rows: list[tuple[int, int]]) -> None:
    codes = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([v for _, v in rows], dtype=np.int64)
    before = (codes.copy(), values.copy())
    group, value = distinct_pairs(codes, values, 8)
    assert (group.tolist(), value.tolist()) == _pandas_pairs(codes, values)
    assert group.dtype == np.int64 and value.dtype == np.int64
    # the inputs are not modified
    assert np.array_equal(codes, before[0]) and np.array_equal(values, before[1])


def test_each_branch_gives_the_same_pairs() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 50, 2_000)
    # boolean grid, int32 and int64 packed sorts, lexsort
    for spread in (12, 5_000_000, 10**9, 2**61):
        values = rng.integers(-spread, spread, 2_000)
        values[:300] = values[300:600]  # repeated values of other rows
        codes[:300] = codes[300:600]
        group, value = distinct_pairs(codes, values, 50)
        assert (group.tolist(), value.tolist()) == _pandas_pairs(codes, values)


def test_distinct_pairs_by_hand_and_empty() -> None:
    group, value = distinct_pairs(np.array([2, 0, 2, 2, 0]), np.array([-1, 5, -1, 3, 5]), 3)
    assert group.tolist() == [0, 2, 2]
    assert value.tolist() == [5, -1, 3]
    group, value = distinct_pairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 4)
    assert group.size == 0 and value.size == 0
