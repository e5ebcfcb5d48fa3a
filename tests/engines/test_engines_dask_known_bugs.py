"""Why Dask stays experimental: two Dask bugs crmcore's lazy paths work around.

Both tests are strict ``xfail``s that assert the *correct* answer: they fail today (the bug
is there) and will start passing - and so fail the suite - when Dask fixes it, which is the
signal to revisit docs/bigger-data.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from _engine_harness import require_engine


def _orders(n_customers: int = 2_000, n_rows: int = 40_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n_rows),
            "day": rng.integers(0, 50, n_rows),
        }
    )


@pytest.fixture
def dd() -> Any:
    """dask.dataframe (a missing Dask is a setup error in CI, not an expected failure)."""
    require_engine("dask")
    import dask.dataframe

    return dask.dataframe


@pytest.mark.xfail(strict=True, reason="Dask adds per-partition n_unique in a group-by")
def test_dask_n_unique_in_a_group_by_counts_each_customer_once(dd: Any) -> None:
    import narwhals.stable.v2 as nw2

    orders = _orders()
    expected = orders.groupby("customer_id")["day"].nunique().sort_index()
    lazy = nw2.from_native(dd.from_pandas(orders, npartitions=4))
    got = (
        lazy.group_by("customer_id")
        .agg(nw2.col("day").n_unique())
        .collect()
        .to_pandas()
        .set_index("customer_id")["day"]
        .sort_index()
    )
    # crmcore counts distinct days as the rows of a (customer, day) group-by instead
    assert got.to_numpy().tolist() == expected.to_numpy().tolist()


@pytest.mark.xfail(strict=True, raises=KeyError, reason="dask-expr: group-by then merge")
def test_dask_group_by_then_merge_from_16_partitions(dd: Any) -> None:
    orders = _orders()
    ddf = dd.from_pandas(orders, npartitions=16)
    first = ddf.groupby("customer_id").agg(first_day=("day", "min")).reset_index()
    joined = ddf.merge(first, on="customer_id", how="inner").compute()
    assert len(joined) == len(orders)
