"""cohort_table, purchase_history and period_transactions on every engine (parity suite).

Eager engines give the in-memory tables; lazy engines give the long tables documented in
each function, which are pivoted back here (plain pandas) and compared with the pandas
result to 1e-12. Spark runs one or two inputs per function (each case costs seconds).
"""

from __future__ import annotations

import warnings
from typing import Any

import narwhals.stable.v1 as nw
import narwhals.stable.v2 as nw2
import numpy as np
import pandas as pd
import pytest
from _engine_harness import (
    LAZY_ENGINES,
    assert_same_table,
    collect,
    is_lazy_result,
    to_engine,
)

from crmcore._periods import period_numbers, period_start, with_period_start
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.value import BetaGeoModel
from crmcore.value.btyd._checking import period_transactions
from crmcore.value.economics._migration_chain import purchase_history
from crmcore.value.retention._cohorts import cohort_table

AS_OF = "2024-03-31"
NOT_SPARK = [e for e in LAZY_ENGINES if e != "spark"]
# (cohort, period, metric, relative): Spark runs the first only (distinct customers and
# the age-0 join of relative values: the most intricate plan)
CONFIGS = [
    ("Q", "W", "customers", True),
    ("M", "M", "customers", False),
    ("Q", "W", "revenue", True),
    ("W", "D", "orders", False),
    ("Y", "M", "revenue", False),
]


def _orders(n: int = 300, seed: int = 4) -> pd.DataFrame:
    """Orders with times of day, returns, statuses and rows after AS_OF."""
    rng = np.random.default_rng(seed)
    stamp = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 480 * 86_400, n), unit="s")
    return pd.DataFrame(
        {
            "customer_id": [f"c{int(i):02d}" for i in rng.integers(0, 40, n)],
            "date": stamp,
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2) * np.where(rng.random(n) < 0.05, -1, 1),
            "status": rng.choice(["confirmed", "fulfilled", "cancelled"], n, p=[0.6, 0.3, 0.1]),
        }
    )


def _wide_from_long(long: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The eager (wide) cohort table from the long one: zeros up to max_age, NaN beyond."""
    long = long.assign(cohort=pd.to_datetime(pd.Series(long["cohort"].to_numpy())))
    reach = long.groupby("cohort")["max_age"].max()
    ages = np.arange(int(reach.max()) + 1)
    table = long.pivot(index="cohort", columns="age", values=metric).reindex(
        index=reach.index, columns=ages
    )
    return table.fillna(0.0).where(ages[None, :] <= reach.to_numpy()[:, None])


def _warnings_of(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CRMWarning)
        result = function(*args, **kwargs)
    return result, sorted(str(w.message) for w in caught if w.category is CRMWarning)


def test_cohort_table_same_on_every_engine(engine: str) -> None:
    orders = _orders()
    configs = CONFIGS[:1] if engine == "spark" else CONFIGS
    for cohort, period, metric, relative in configs:
        options = {"cohort": cohort, "period": period, "metric": metric, "relative": relative}
        expected, said = _warnings_of(cohort_table, orders, as_of=AS_OF, **options)
        result, engine_said = _warnings_of(
            cohort_table, to_engine(orders, engine), as_of=AS_OF, **options
        )
        assert engine_said == said  # the same rows excluded, in the same words
        assert len(said) == (3 if metric == "revenue" else 2)  # statuses, cut-off, returns
        assert is_lazy_result(result) == (engine in LAZY_ENGINES)
        if engine in LAZY_ENGINES:
            long = collect(result)
            assert list(long.columns) == ["cohort", "age", metric, "max_age"]
            assert (long["age"] <= long["max_age"]).all()
            result = _wide_from_long(long, metric)
        np.testing.assert_allclose(
            result.to_numpy(dtype=float), expected.to_numpy(), rtol=1e-12, atol=0.0
        )
        assert pd.DatetimeIndex(result.index).tolist() == expected.index.tolist()
        assert list(result.columns) == list(expected.columns)


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_long_cohort_table_by_hand(lazy_engine: str) -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-03", "2024-02-09", "2024-01-20", "2024-03-01", "2024-02-14"]
            ),
            "amount": [10.0, 5.0, 20.0, 8.0, 7.0],
        }
    )
    result = cohort_table(to_engine(orders, lazy_engine), as_of=AS_OF)
    # January cohort {a, b}: a in Jan and Feb, b in Jan and Mar; February cohort {c}
    hand = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"]),
            "age": [0, 1, 2, 0],
            "customers": [2.0, 1.0, 1.0, 1.0],
            "max_age": [2, 2, 2, 1],
        }
    )
    assert_same_table(result, hand, key=["cohort", "age"])


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_relative_revenue_of_a_zero_first_period_is_null_on_a_lazy_engine(
    lazy_engine: str,
) -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-02-14"]),
            "amount": [0.0, 5.0, 4.0],
        }
    )
    result = collect(
        cohort_table(to_engine(orders, lazy_engine), as_of=AS_OF, metric="revenue", relative=True)
    ).sort_values(["cohort", "age"])
    assert result["revenue"].isna().tolist() == [True, True, False]
    assert result["revenue"].iloc[2] == 1.0


def test_purchase_history_same_on_every_engine(engine: str) -> None:
    orders = _orders()
    expected, said = _warnings_of(purchase_history, orders, as_of=AS_OF, period="W")
    result, engine_said = _warnings_of(
        purchase_history, to_engine(orders, engine), as_of=AS_OF, period="W"
    )
    assert engine_said == said and len(said) == 2  # statuses, cut-off
    assert is_lazy_result(result) == (engine in LAZY_ENGINES)
    if engine not in LAZY_ENGINES:
        pd.testing.assert_frame_equal(result, expected)
        return
    # the long table holds the non-zero cells of the wide one
    cells = expected.stack()
    cells = cells[cells > 0]
    long = pd.DataFrame(
        {
            "customer_id": cells.index.get_level_values(0),
            "period": cells.index.get_level_values(1),
            "purchases": cells.to_numpy(dtype=np.int64),
        }
    )
    assert_same_table(result, long, key=["customer_id", "period"])


def test_period_transactions_same_on_every_engine(engine: str) -> None:
    rng = np.random.default_rng(2)
    n = 300
    summary = pd.DataFrame(
        {
            "frequency": rng.poisson(2.0, n),
            "T": rng.integers(1, 40, n).astype(np.float64),
            "weights": rng.integers(1, 6, n),
        }
    )
    model = BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    for weights_col in [None, "weights"] if engine != "spark" else ["weights"]:
        expected = period_transactions(model, summary, weights_col=weights_col, max_frequency=5)
        result = period_transactions(
            model, to_engine(summary, engine), weights_col=weights_col, max_frequency=5
        )
        # a small pandas table on every engine (the model column is computed in memory)
        pd.testing.assert_frame_equal(result, expected, rtol=1e-12)
    # by hand: 300 customers in all, whatever the engine
    assert int(result["actual"].sum()) == int(summary["weights"].sum())


@pytest.mark.parametrize("lazy_engine", NOT_SPARK)
def test_period_transactions_lazy_errors_count_the_rows(lazy_engine: str) -> None:
    summary = pd.DataFrame(
        {"frequency": [0.0, 1.5, 2.0, np.nan], "T": [3.0, 4.0, -1.0, 2.0], "w": [1, 2, 3, 4]}
    )
    model = BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    with pytest.raises(ValidationError, match=r"whole number >= 0; 1 of 4 rows") as info:
        period_transactions(model, to_engine(summary, lazy_engine), weights_col="w")
    message = str(info.value)
    assert "frequency must be a finite number; 1 of 4 rows" in message
    assert "T must be >= 0; 1 of 4 rows" in message
    with pytest.raises(ValidationError, match="'T' must hold numbers"):
        period_transactions(model, to_engine(summary.assign(T="x"), lazy_engine))


def test_with_period_start_same_on_every_engine(engine: str) -> None:
    dates = pd.to_datetime(
        [
            "1700-03-01",
            "1899-12-31",
            "1900-03-01",
            "1969-12-28",
            "1969-12-29",
            "1970-01-01",
            "2000-02-29",
            "2000-03-01",
            "2024-12-30",
            "2100-03-01",
            "2261-12-31",
        ]
    ).to_numpy()
    units = ("D", "W", "M", "Q", "Y")
    numbers = pd.DataFrame({u: period_numbers(dates, u) for u in units})
    native = to_engine(numbers, engine)
    frame = nw2.from_native(native) if engine in LAZY_ENGINES else nw.from_native(native)
    for unit in units:
        frame = with_period_start(frame, unit, unit, name=f"start_{unit}")
    got = collect(frame.to_native()).sort_values("D")
    for unit in units:
        expected = period_start(numbers[unit].to_numpy(), unit)
        starts = pd.to_datetime(pd.Series(got[f"start_{unit}"].to_numpy()))
        assert starts.to_numpy().astype("datetime64[ns]").tolist() == expected.tolist(), unit


@pytest.mark.parametrize("lazy_engine", ["polars-lazy", "duckdb", "dask"])
def test_migration_chain_fits_a_lazy_order_log_like_the_pandas_one(lazy_engine: str) -> None:
    """fit_transactions collects the long history and fits the same chain as in memory."""
    from crmcore.value import CustomerMigrationModel

    rng = np.random.default_rng(5)
    n = 600
    orders = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 80, n),
            "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "amount": 1.0,
        }
    )
    want = CustomerMigrationModel().fit_transactions(orders, period="M", as_of="2024-12-31")
    got = CustomerMigrationModel().fit_transactions(
        to_engine(orders, lazy_engine), period="M", as_of="2024-12-31"
    )
    np.testing.assert_allclose(got.params_.to_numpy(), want.params_.to_numpy(), rtol=1e-10)
