"""relationship_type on the kernel layer equals an independent plain-pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.segmentation import relationship_type


@st.composite
def order_logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 50))
    ids = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    hours = draw(st.lists(st.integers(-2_000, 3_000) | st.integers(0, 30), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-400, 40_000), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "customer_id": [f"acct{i}" for i in ids],
            "date": pd.Timestamp("1969-12-01") + pd.to_timedelta(np.asarray(hours) * 6, unit="h"),
            "amount": np.asarray(cents, dtype=np.float64) / 4.0,
        }
    )


def _plain_pandas(
    orders: pd.DataFrame, *, contracts: list[str], cv_threshold: float, min_days: int
) -> pd.DataFrame:
    """The documented rules with ordinary pandas group-bys (no crmcore code)."""
    frame = orders.assign(day=orders["date"].dt.normalize())
    per = frame.groupby("customer_id").agg(
        orders=("amount", "size"), mean_order_value=("amount", "mean")
    )
    days = frame[["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    days["gap"] = days.groupby("customer_id")["day"].diff().dt.days
    stats = days.groupby("customer_id").agg(
        purchase_days=("day", "size"),
        n_gaps=("gap", "count"),
        mean_gap=("gap", "mean"),
        std_gap=("gap", lambda g: g.dropna().std(ddof=0)),
    )
    out = per.join(stats)
    out["gap_cv"] = np.where(out["n_gaps"] >= 2, out["std_gap"] / out["mean_gap"], np.nan)
    out["regular"] = (out["purchase_days"] >= min_days) & (out["gap_cv"] <= cv_threshold)
    out["large"] = out["mean_order_value"] >= out["mean_order_value"].median()
    out["contract"] = out.index.isin(contracts)
    points = out[["regular", "large", "contract"]].sum(axis=1)
    out["relationship_type"] = np.select(
        [points >= 2, points == 1], ["relationship", "hybrid"], "transactional"
    )
    return out


@pytest.mark.filterwarnings("ignore:relationship_type. .* negative amounts")
@settings(max_examples=120, deadline=None)
@given(
    orders=order_logs(),
    cv_threshold=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    min_days=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_relationship_type_equals_plain_pandas_and_ignores_row_order(
    orders: pd.DataFrame, cv_threshold: float, min_days: int, seed: int
) -> None:
    contracts = ["acct1", "acct4", "nobody"]
    options = {"contracts": contracts, "cv_threshold": cv_threshold, "min_purchase_days": min_days}
    got = relationship_type(orders, **options)  # type: ignore[arg-type]
    ref = _plain_pandas(orders, contracts=contracts, cv_threshold=cv_threshold, min_days=min_days)
    assert got.index.tolist() == sorted(ref.index)  # sorted ids
    ref = ref.loc[got.index]
    assert got["orders"].tolist() == ref["orders"].tolist()
    assert got["purchase_days"].tolist() == ref["purchase_days"].tolist()
    np.testing.assert_allclose(got["mean_order_value"], ref["mean_order_value"], rtol=1e-12)
    np.testing.assert_allclose(got["gap_cv"], ref["gap_cv"], rtol=1e-12, atol=1e-15)
    # a CV within rounding of the threshold may fall either side in the two computations
    clear = ~np.isclose(ref["gap_cv"].to_numpy(), cv_threshold, rtol=1e-9, atol=1e-12)
    assert (got["regular"].to_numpy() == ref["regular"].to_numpy())[clear].all()
    assert got["large"].tolist() == ref["large"].tolist()
    assert got["contract"].tolist() == ref["contract"].tolist()
    agree = got["relationship_type"].astype(str).to_numpy() == ref["relationship_type"].to_numpy()
    assert agree[clear].all()
    shuffled = orders.sample(frac=1.0, random_state=np.random.default_rng(seed))
    pd.testing.assert_frame_equal(relationship_type(shuffled, **options), got)  # type: ignore[arg-type]


def test_relationship_type_gives_the_same_table_for_polars_and_pyarrow() -> None:
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(2)
    n = 500
    orders = pd.DataFrame(
        {
            "customer_id": [f"a{i:03d}" for i in rng.integers(0, 80, n)],
            "date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 9_000, n), unit="h"),
            "amount": rng.integers(1, 10_000, n) / 8.0,
        }
    )
    expected = relationship_type(orders, contracts=["a001", "a050"])
    for frame in (pl.from_pandas(orders), pa.Table.from_pandas(orders)):
        got = relationship_type(frame, contracts=["a001", "a050"])
        pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_relationship_type_mean_order_value_of_huge_amounts_stays_finite() -> None:
    # totals of 2 x 1e308 overflow float64; the mean (1e308) does not
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1e308, 1e308, 3.0],
        }
    )
    out = relationship_type(orders)
    assert out["mean_order_value"].tolist() == [1e308, 3.0]


def test_relationship_type_gap_cv_is_exact_for_equal_gaps_and_hand_values() -> None:
    # a: gaps 7, 7, 7 -> CV exactly 0; b: gaps 1, 3 -> std 1, mean 2 -> CV exactly 0.5
    orders = pd.DataFrame(
        {
            "customer_id": ["a"] * 4 + ["b"] * 3,
            "date": pd.to_datetime(
                [
                    *("2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"),
                    *("2024-03-01", "2024-03-02", "2024-03-05"),
                ]
            ),
            "amount": [10.0] * 7,
        }
    )
    out = relationship_type(orders, cv_threshold=0.5)
    assert out["gap_cv"].tolist() == [0.0, 0.5]
    assert out["regular"].tolist() == [True, True]  # 0.5 <= 0.5
