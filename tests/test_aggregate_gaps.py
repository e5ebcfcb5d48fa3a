"""consecutive_gap_sums (crmcore._aggregate) against plain pandas diffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._aggregate import consecutive_gap_sums, distinct_pairs


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 6), st.integers(-(10**5), 10**5) | st.integers(0, 5)),
        min_size=1,
        max_size=60,
    ),
    extra_groups=st.integers(0, 3),
)
def test_gap_sums_equal_a_pandas_diff_of_the_distinct_sorted_values(
    rows: list[tuple[int, int]], extra_groups: int
) -> None:
    frame = pd.DataFrame(rows, columns=["g", "v"])
    n_groups = int(frame["g"].max()) + 1 + extra_groups
    distinct = frame.drop_duplicates().sort_values(["g", "v"])
    gaps = distinct.groupby("g")["v"].diff().dropna()
    owner = distinct.loc[gaps.index, "g"]
    expected = (
        pd.DataFrame({"g": owner, "gap": gaps, "sq": gaps**2})
        .groupby("g")
        .agg(count=("gap", "size"), total=("gap", "sum"), total_sq=("sq", "sum"))
    )
    expected = expected.reindex(range(n_groups), fill_value=0)
    count, total, total_sq = consecutive_gap_sums(
        distinct["g"].to_numpy(np.int64), distinct["v"].to_numpy(np.int64), n_groups
    )
    assert count.tolist() == expected["count"].astype(int).tolist()
    assert total.tolist() == expected["total"].astype(int).tolist()
    assert total_sq.tolist() == expected["total_sq"].astype(int).tolist()
    # the kernel layer's own distinct pairs give the same sums
    group, value = distinct_pairs(
        frame["g"].to_numpy(np.int64), frame["v"].to_numpy(np.int64), n_groups
    )
    again = consecutive_gap_sums(group, value, n_groups)
    assert [a.tolist() for a in again] == [count.tolist(), total.tolist(), total_sq.tolist()]


def test_gap_sums_by_hand_and_for_groups_without_gaps() -> None:
    # group 0: values 1, 4, 10 -> gaps 3 and 6 (sum 9, squares 9 + 36); group 2: one value
    group = np.array([0, 0, 0, 2], dtype=np.int64)
    value = np.array([1, 4, 10, 7], dtype=np.int64)
    count, total, total_sq = consecutive_gap_sums(group, value, 3)
    assert (count.tolist(), total.tolist(), total_sq.tolist()) == ([2, 0, 0], [9, 0, 0], [45, 0, 0])
    empty = consecutive_gap_sums(np.zeros(0, np.int64), np.zeros(0, np.int64), 2)
    assert [a.tolist() for a in empty] == [[0, 0], [0, 0], [0, 0]]
    assert all(a.dtype == np.int64 for a in empty)
