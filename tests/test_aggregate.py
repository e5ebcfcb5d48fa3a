"""Tests of crmcore._aggregate, the eager kernel layer, against plain pandas group-bys."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._aggregate import (
    distinct_counts,
    factorize_ids,
    group_counts,
    group_min_max,
    group_sums,
)


@st.composite
def grouped_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 60))
    ids = draw(st.lists(st.integers(-5, 9), min_size=n, max_size=n))
    values = draw(
        st.lists(st.integers(-(10**6), 10**6) | st.integers(-3, 3), min_size=n, max_size=n)
    )
    amounts = draw(st.lists(st.integers(-500, 500), min_size=n, max_size=n))
    return (
        np.asarray(ids, dtype=np.int64),
        np.asarray(values, dtype=np.int64),
        np.asarray(amounts, dtype=np.float64) / 4.0,
    )


def _pandas_reference(ids: np.ndarray, values: np.ndarray, amounts: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"id": ids, "value": values, "amount": amounts})
    ref: pd.DataFrame = frame.groupby("id").agg(
        n=("value", "size"),
        n_distinct=("value", "nunique"),
        lo=("value", "min"),
        hi=("value", "max"),
        total=("amount", "sum"),
    )
    return ref


@settings(max_examples=80, deadline=None)
@given(grouped_rows())
def test_kernels_equal_a_pandas_group_by(rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    ids, values, amounts = rows
    before = [a.copy() for a in rows]
    ref = _pandas_reference(ids, values, amounts)
    codes, uniques = factorize_ids(ids)
    n = len(uniques)
    assert uniques.tolist() == ref.index.tolist()
    np.testing.assert_array_equal(uniques[codes], ids)
    np.testing.assert_array_equal(group_counts(codes, n), ref["n"].to_numpy())
    lo, hi = group_min_max(codes, values, n)
    np.testing.assert_array_equal(lo, ref["lo"].to_numpy())
    np.testing.assert_array_equal(hi, ref["hi"].to_numpy())
    count, first, last = distinct_counts(codes, values, n)
    np.testing.assert_array_equal(count, ref["n_distinct"].to_numpy())
    np.testing.assert_array_equal(first, ref["lo"].to_numpy())
    np.testing.assert_array_equal(last, ref["hi"].to_numpy())
    # quarters of integers sum exactly in any order
    np.testing.assert_array_equal(group_sums(codes, amounts, n), ref["total"].to_numpy())
    for got, want in zip(rows, before, strict=True):
        np.testing.assert_array_equal(got, want)  # inputs never modified


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(-(10**9), 10**9)), min_size=1, max_size=60),
    st.lists(st.tuples(st.integers(0, 4), st.floats(-1e6, 1e6)), max_size=20),
)
def test_group_sums_are_correctly_rounded_whatever_the_row_order(
    cents: list[tuple[int, int]], floats: list[tuple[int, float]]
) -> None:
    # money amounts (cents / 100): exactly the correctly rounded sum (math.fsum), in any
    # row order; arbitrary floats: within one unit in the last place of it
    for rows, exact in ((cents, True), (cents + floats, False)):
        codes = np.array([c for c, _ in rows], dtype=np.int64)
        values = np.array([v / 100 if exact else v for _, v in rows], dtype=np.float64)
        want = np.array([math.fsum(values[codes == g]) for g in range(5)])
        for order in (slice(None), slice(None, None, -1)):
            got = group_sums(codes[order].copy(), values[order].copy(), 5)
            if exact:
                np.testing.assert_array_equal(got, want)
            else:
                assert (np.abs(got - want) <= np.spacing(np.abs(want))).all()


def test_distinct_counts_fall_back_to_lexsort_for_ranges_too_wide_to_pack() -> None:
    codes = np.array([0, 1, 1, 0, 1], dtype=np.int64)
    values = np.array([-(2**61), 2**61, 2**61, 5, 0], dtype=np.int64)
    count, first, last = distinct_counts(codes, values, 3)
    assert count.tolist() == [2, 2, 0]
    assert first.tolist() == [-(2**61), 0, 0]
    assert last.tolist() == [5, 2**61, 0]


def test_empty_input_gives_empty_groups() -> None:
    codes = np.array([], dtype=np.int64)
    count, first, last = distinct_counts(codes, codes, 2)
    assert count.tolist() == [0, 0] and first.tolist() == [0, 0] and last.tolist() == [0, 0]
    assert group_counts(codes, 2).tolist() == [0, 0]
    assert group_sums(codes, np.array([], dtype=np.float64), 2).tolist() == [0.0, 0.0]


text_ids = st.lists(
    st.sampled_from(["b", "a", "ä", "Z", "c10", "c9", "", " x"]), min_size=1, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(text_ids)
def test_text_ids_are_coded_in_sorted_order_on_every_backend(ids: list[str]) -> None:
    want_uniques = sorted(set(ids))
    want_codes = [want_uniques.index(i) for i in ids]
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    inputs = [
        np.asarray(ids, dtype=object),
        pd.Series(ids, dtype="string"),
        pl.Series(ids),
        pl.Series(ids, dtype=pl.Categorical),
        pa.array(ids),
        pa.chunked_array([ids[: len(ids) // 2], ids[len(ids) // 2 :]], type=pa.string()),
        pa.array(ids, type=pa.large_string()),
    ]
    for values in inputs:
        codes, uniques = factorize_ids(values)
        assert codes.dtype == np.int64
        assert codes.tolist() == want_codes, type(values)
        assert [str(u) for u in uniques] == want_uniques, type(values)


def test_sparse_integer_ids_are_hashed_not_offset() -> None:
    ids = np.array([10**15, -(10**15), 10**15, 3], dtype=np.int64)
    codes, uniques = factorize_ids(ids)
    assert uniques.tolist() == [-(10**15), 3, 10**15]
    assert codes.tolist() == [2, 0, 2, 1]


@settings(max_examples=60, deadline=None)
@given(grouped_rows(), st.integers(0, 3))
def test_groups_without_rows_count_zero_in_every_kernel(
    rows: tuple[np.ndarray, np.ndarray, np.ndarray], spread: int
) -> None:
    # codes with gaps (groups 1, 3, 5, ... or wider never occur) and trailing empty groups
    ids, values, amounts = rows
    codes, uniques = factorize_ids(ids)
    gapped = codes * (spread + 1)
    n = len(uniques) * (spread + 1) + 2
    count, first, last = distinct_counts(gapped, values, n)
    ref_count, ref_first, ref_last = distinct_counts(codes, values, len(uniques))
    taken = np.arange(len(uniques)) * (spread + 1)
    empty = np.setdiff1d(np.arange(n), taken)
    np.testing.assert_array_equal(count[taken], ref_count)
    np.testing.assert_array_equal(first[taken], ref_first)
    np.testing.assert_array_equal(last[taken], ref_last)
    assert not count[empty].any() and not first[empty].any() and not last[empty].any()
    assert not group_counts(gapped, n)[empty].any()
    assert not group_sums(gapped, amounts, n)[empty].any()
