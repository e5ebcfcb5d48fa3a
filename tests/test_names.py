"""One name per role across the public API (issue 11, item 6).

The test lists the parameters of every public callable (the ``__all__`` of every public
package and the public methods of its classes) and fails when a role is spelled two ways.
``ROLES`` is the table of record; ``docs/architecture.md`` ("Names") explains it. The old
spellings that still work for one release are exercised with their ``DeprecationWarning``.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from crmcore._compat import RENAMED_ATTR, renamed_parameters
from crmcore.exceptions import ValidationError

PUBLIC_MODULES = (
    "crmcore",
    "crmcore.frames",
    "crmcore.money",
    "crmcore.customers",
    "crmcore.segmentation",
    "crmcore.value",
    "crmcore.pipeline",
    "crmcore.service",
    "crmcore.datasets",
    "crmcore.plotting",
    "crmcore.scale",
)

# role -> (the one public name, spellings that must not appear beside it). A spelling in the
# second set is either a deprecated alias (see DEPRECATED below) or a name a contributor
# could plausibly reach for; the test keeps it out of every public signature.
ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "cut-off date of the analysis (end of observation)": (
        "as_of",
        frozenset(
            {"observation_end", "cutoff", "cut_off", "as_of_date", "end_date", "analysis_date"}
        ),
    ),
    "future window after T (prediction horizon in model time)": (
        "t",
        frozenset({"future_t", "horizon_t", "t_future", "future_window"}),
    ),
    "unit time is measured in (data, summary, model, durations)": (
        "time_unit",
        frozenset({"unit", "model_time_unit", "data_time_unit", "freq", "frequency_unit"}),
    ),
    "length of the CLV horizon (number of horizon periods)": (
        "horizon",
        frozenset({"horizon_periods", "n_horizon", "clv_horizon"}),
    ),
    "unit of one CLV horizon period": (
        "horizon_unit",
        frozenset({"horizon_time_unit", "clv_time_unit", "period_unit"}),
    ),
    "number of periods to project": (
        "n_periods",
        frozenset({"periods", "num_periods", "n_steps_ahead"}),
    ),
    "customer id column": (
        "customer_col",
        frozenset({"id_col_customer", "customer_id_col", "client_col", "cust_col"}),
    ),
    "money per order row": (
        "amount_col",
        frozenset({"revenue_col", "spend_col", "sales_col", "price_col", "total_col"}),
    ),
    "per-customer monetary measure of the RFM table": (
        "monetary_col",
        frozenset({"m_col", "rfm_monetary_col"}),
    ),
    "per-customer mean spend per repeat purchase (Gamma-Gamma input)": (
        "monetary_value_col",
        frozenset({"mean_spend_col", "avg_spend_col", "average_spend_col"}),
    ),
    "per-customer value a ranking or concentration is computed on": (
        "value_col",
        frozenset({"metric_col", "score_col", "measure_col"}),
    ),
    "order date column": (
        "date_col",
        frozenset({"datetime_col", "order_date_col", "timestamp_col"}),
    ),
    "order status column": ("status_col", frozenset({"state_col", "order_status_col"})),
    "currency column": ("currency_col", frozenset({"ccy_col", "currency_code_col"})),
    "seed or generator": ("random_state", frozenset({"seed", "rng", "random_seed"})),
    "discount rate per period": (
        "discount_rate",
        frozenset({"discount_per_period", "d", "interest_rate"}),
    ),
    "customers' repeat-purchase count column": ("frequency_col", frozenset({"freq_col", "x_col"})),
    "time of the last repeat purchase column": ("recency_col", frozenset({"t_x_col"})),
    "customer age column": ("T_col", frozenset({"age_col", "t_col"})),
    "row weights column": ("weights_col", frozenset({"weight_col", "count_col"})),
}

# Names that look alike but serve different roles (documented in docs/architecture.md):
# `period` is the calendar period purchases are bucketed into (cohort_table,
# purchase_history, tracking_table), `step` the time step of a discrete-time chain
# (PipelineMarkovModel, backtest), `grid_step` a revenue grid spacing, `calibration_end` the
# calibration/holdout split (not a cut-off: `as_of` still ends the observation), `discount`
# an order line's price reduction (money, not a rate), `duration` a working-time span of
# the service calendar (not a prediction window) and `id_col` (frames' check_no_missing)
# the row-id column naming offending rows.

# Renames whose old spelling keeps another role elsewhere: `id_col` named the customer id
# column in the transaction models' predictions; customer_lifetime_value's `time_unit` was
# the horizon's unit (now `horizon_unit`) and now names the data's unit, as everywhere else
# (an old call is still read the old way for one release).
RENAMED_ACROSS_ROLES = {("id_col", "customer_col"), ("time_unit", "horizon_unit")}


def _own_callable(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "") or "").startswith("crmcore")


def public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    """(qualified name, callable) for every public function, class and public method."""
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if id(obj) in seen or not _own_callable(obj):
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                if not issubclass(obj, (enum.Enum, BaseException)):
                    yield f"{name}()", obj
                for attr, member in inspect.getmembers(obj):
                    if attr.startswith("_") or not callable(member) or inspect.isclass(member):
                        continue
                    if _own_callable(member):
                        yield f"{name}.{attr}", member
            elif callable(obj):
                yield name, obj


def parameter_names(func: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in params if p.name not in ("self", "cls") and p.kind not in skip]


def name_index() -> dict[str, set[str]]:
    """parameter name -> the public callables using it."""
    index: dict[str, set[str]] = defaultdict(set)
    for qualname, func in public_callables():
        for name in parameter_names(func):
            index[name].add(qualname)
    return index


def test_the_listing_sees_the_package() -> None:
    # guards the test itself: a listing that found nothing would pass everything below
    index = name_index()
    assert len(index) > 150
    assert {"btyd_summary", "rfm_table", "sales_velocity"} <= index["as_of"]
    assert "BetaGeoModel.probability_alive" in index["t"]
    assert "customer_lifetime_value" in index["horizon_unit"]


def test_roles_do_not_share_spellings() -> None:
    spellings: dict[str, str] = {}
    for role, (name, synonyms) in ROLES.items():
        for spelling in {name, *synonyms}:
            assert spelling not in spellings, (spelling, role, spellings.get(spelling))
            spellings[spelling] = role


def test_each_role_has_one_name_across_the_public_api() -> None:
    index = name_index()
    problems = []
    for role, (name, synonyms) in ROLES.items():
        for spelling in sorted(synonyms):
            if spelling in index:
                where = ", ".join(sorted(index[spelling]))
                problems.append(f"{role}: {spelling!r} used by {where} (the name is {name!r})")
    assert not problems, "\n".join(problems)


def test_every_role_name_is_in_use() -> None:
    # a role whose name nobody uses is a stale table row
    index = name_index()
    unused = [name for name, _ in ROLES.values() if name not in index]
    assert not unused


# ------------------------------------------------------------- deprecated spellings


def _log() -> pd.DataFrame:
    # customer a buys on days 1, 3 and 10 (two repeat days), b once on day 2
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-10", "2024-01-02"]),
            "amount": [10.0, 20.0, 40.0, 5.0],
        }
    )


def _bg() -> Any:
    from crmcore.value import BetaGeoModel

    return BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")


def _pareto() -> Any:
    from crmcore.value import ParetoNBDModel

    return ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)


_POLARS = pl.DataFrame(
    {"cid": ["c1", "c2"], "frequency": [2.0, 0.0], "recency": [30.43, 0.0], "T": [38.86, 38.86]}
)
_CUSTOMERS = pd.DataFrame(
    {
        "frequency": [2.0, 0.0],
        "recency": [30.43, 0.0],
        "T": [38.86, 38.86],
        "monetary_value": [40.0, 0.0],
    },
    index=["c1", "c2"],
)


def _history() -> pd.DataFrame:
    # o1 won after 10 days, o2 lost after 4 days, o3 open
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o1", "o2", "o2", "o3"],
            "stage": ["Lead", "Won", "Lead", "Lost", "Lead"],
            "changed_at": pd.to_datetime(
                ["2024-01-01", "2024-01-11", "2024-01-02", "2024-01-06", "2024-01-03"]
            ),
            "amount": [100.0, 100.0, 50.0, 50.0, 70.0],
            "expected_close": pd.to_datetime(["2024-02-01"] * 5),
        }
    )


def _call_btyd_summary(**kw: Any) -> Any:
    from crmcore.value import btyd_summary

    return btyd_summary(_log(), amount_col="amount", **kw)


def _call_close_time_curves(**kw: Any) -> Any:
    from crmcore.pipeline import close_time_curves, simple_pipeline

    return close_time_curves(_history(), pipeline=simple_pipeline(), as_of="2024-01-31", **kw)


def _call_sales_velocity(**kw: Any) -> Any:
    from crmcore.pipeline import sales_velocity, simple_pipeline

    return sales_velocity(_history(), pipeline=simple_pipeline(), as_of="2024-01-31", **kw)


def _call_project(**kw: Any) -> Any:
    from crmcore.value import CustomerMigrationModel

    model = CustomerMigrationModel.from_params(purchase_probabilities=[0.3, 0.1])
    return model.project(initial=[100.0, 0.0], **kw)


def _call_clv(**kw: Any) -> Any:
    from crmcore.value import GammaGammaModel, customer_lifetime_value

    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    return customer_lifetime_value(_bg(), gg, _CUSTOMERS, horizon=3, discount_rate=0.01, **kw)


# (public callable, old keyword, new keyword, call taking the keyword, value)
DEPRECATED: list[tuple[str, str, str, Callable[..., Any], Any]] = [
    ("btyd_summary", "observation_end", "as_of", _call_btyd_summary, "2024-01-31"),
    ("TransactionModel.probability_alive", "future_t", "t",
     lambda **kw: _bg().probability_alive(_CUSTOMERS, **kw), 4.0),
    ("TransactionModel.probability_alive", "id_col", "customer_col",
     lambda **kw: _bg().probability_alive(_POLARS, **kw), "cid"),
    ("TransactionModel.expected_purchases", "id_col", "customer_col",
     lambda **kw: _bg().expected_purchases(_POLARS, 2.0, **kw), "cid"),
    ("TransactionModel.purchase_probability", "id_col", "customer_col",
     lambda **kw: _bg().purchase_probability(_POLARS, 1, 2.0, **kw), "cid"),
    ("ParetoNBDModel.dert", "id_col", "customer_col",
     lambda **kw: _pareto().dert(_POLARS, 0.01, **kw), "cid"),
    ("close_time_curves", "unit", "time_unit", _call_close_time_curves, "W"),
    ("sales_velocity", "unit", "time_unit", _call_sales_velocity, "W"),
    ("CustomerMigrationModel.project", "periods", "n_periods", _call_project, 3),
    ("customer_lifetime_value", "model_time_unit", "time_unit",
     lambda **kw: _call_clv(horizon_unit="M", **kw), "W"),
]  # fmt: skip


def _assert_same(got: Any, want: Any) -> None:
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("where", "old", "new", "call", "value"),
    DEPRECATED,
    ids=[f"{where}-{old}" for where, old, *_ in DEPRECATED],
)
def test_old_spelling_still_works_with_a_deprecation_warning(
    where: str, old: str, new: str, call: Callable[..., Any], value: Any
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        want = call(**{new: value})  # the new name warns about nothing
    with pytest.warns(DeprecationWarning, match=f"'{old}'.*use '{new}'") as caught:
        got = call(**{old: value})
    # the warning points at the line that used the old name: this file
    assert all(w.filename == __file__ for w in caught), [w.filename for w in caught]
    _assert_same(got, want)
    with pytest.raises(ValidationError, match=f"both '{old}' and its new name '{new}'"):
        call(**{old: value, new: value})


def test_old_spelling_is_not_in_the_signature() -> None:
    for qualname, func in public_callables():
        renamed = getattr(func, RENAMED_ATTR, {})
        names = set(parameter_names(func))
        for old, new in renamed.items():
            assert new in names, (qualname, new)
            assert old not in names, (qualname, old)


def test_every_deprecated_alias_is_tested_and_belongs_to_its_role() -> None:
    declared = set()
    for qualname, func in public_callables():
        for old, new in getattr(func, RENAMED_ATTR, {}).items():
            declared.add((qualname.split(".")[-1], old, new))
            role = next((r for r, (name, _) in ROLES.items() if name == new), None)
            assert role is not None, (qualname, new)
            assert old in ROLES[role][1] or (old, new) in RENAMED_ACROSS_ROLES, (qualname, old)
    tested = {(where.split(".")[-1], old, new) for where, old, new, *_ in DEPRECATED}
    assert declared == tested


def test_clv_time_unit_without_horizon_unit_is_refused_as_ambiguous() -> None:
    # before the rename time_unit was the horizon's unit; a lifetimes user's freq is the
    # data's unit: either reading of this call gives someone a wrong number, so it raises
    with pytest.raises(ValidationError, match=r"time_unit='M' without horizon_unit is ambiguous"):
        _call_clv(time_unit="M")
    with pytest.raises(ValidationError, match="is ambiguous") as err:
        _call_clv(time_unit="M", model_time_unit="W")
    assert err.value.rule == "horizon_unit is required"
    # new call on a model without a recorded unit: time_unit is the data's unit. With no
    # discounting CLV telescopes to spend * E[X(T, T + horizon * delta)]; declaring the data
    # daily makes delta = 7 days / 1 day, so 3 weekly periods are 21 model units, by hand.
    from crmcore.value import BetaGeoModel, GammaGammaModel, customer_lifetime_value

    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        got = customer_lifetime_value(
            bg, gg, _CUSTOMERS, horizon=3, horizon_unit="W", time_unit="D", discount_rate=0.0
        )
    spend = gg.conditional_expected_average_spend(_CUSTOMERS)
    np.testing.assert_allclose(got, spend * bg.expected_purchases(_CUSTOMERS, 21.0), rtol=1e-12)
    # a unit that contradicts the model's recorded one (weekly fit valued as daily data)
    with pytest.raises(ValidationError, match=r"time_unit='D' but the transaction model"):
        customer_lifetime_value(
            _bg(), gg, _CUSTOMERS, horizon=3, horizon_unit="W", time_unit="D", discount_rate=0.0
        )
    params = inspect.signature(customer_lifetime_value).parameters
    assert {"horizon", "horizon_unit", "time_unit"} <= set(params)
    assert "model_time_unit" not in params


# ------------------------------------------------------------------- the decorator


@renamed_parameters(old_a="a", old_b="b")
def _demo(x: int, *, a: int = 1, b: int = 2) -> tuple[int, int, int]:
    """Demo docstring."""
    return x, a, b


def test_decorator_keeps_name_docstring_and_signature() -> None:
    assert _demo.__name__ == "_demo"
    assert _demo.__doc__ == "Demo docstring."
    assert list(inspect.signature(_demo).parameters) == ["x", "a", "b"]
    assert getattr(_demo, RENAMED_ATTR) == {"old_a": "a", "old_b": "b"}


def test_decorator_translates_every_old_name_and_warns_once_each() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        assert _demo(0, old_a=10, old_b=20) == (0, 10, 20)  # type: ignore[call-arg]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert "'old_a' parameter is deprecated; use 'a'" in messages[0]
    assert "'old_b' parameter is deprecated; use 'b'" in messages[1]
    assert {w.filename for w in caught} == {__file__}


def test_decorator_is_silent_for_new_names_and_positional_calls() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _demo(5, a=3) == (5, 3, 2)
        assert _demo(5) == (5, 1, 2)


def test_decorator_refuses_old_and_new_together() -> None:
    with pytest.raises(ValidationError) as info:
        _demo(0, old_a=1, a=2)  # type: ignore[call-arg]
    assert isinstance(info.value, ValueError)
    assert info.value.rule == "renamed" and info.value.column == "a"


def test_decorator_refuses_a_rename_to_a_missing_or_still_present_name() -> None:
    def f(*, a: int = 0) -> int:
        return a

    with pytest.raises(TypeError, match="'z' is not a parameter"):
        renamed_parameters(y="z")(f)
    with pytest.raises(TypeError, match=r"'a' is\s+still a parameter"):
        renamed_parameters(a="a")(f)


def test_decorator_works_on_methods_and_keeps_the_bound_signature() -> None:
    class Box:
        @renamed_parameters(old="new")
        def get(self, *, new: int) -> int:
            return new

    with pytest.warns(DeprecationWarning, match="Box.get: the 'old' parameter"):
        assert Box().get(old=4) == 4  # type: ignore[call-arg]
    assert list(inspect.signature(Box().get).parameters) == ["new"]
