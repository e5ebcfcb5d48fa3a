"""One contract for every estimator in crmcore (the scikit-learn ``check_estimator`` idea).

Every public class with a ``fit`` method is found by walking the public modules; the set
must equal ``EXPECTED`` so that a new estimator cannot escape the contract (add it there
with a fitting fixture in ``SPECS``). For each estimator:

- ``__init__`` stores its settings only (the attributes are exactly its parameters);
- ``fit`` returns ``self`` and keeps no training data (no attribute, nor any part of a
  tuple/list/dict attribute, has a dimension of the input's length or as many values
  as the input has cells);
- attributes learned by ``fit`` end in ``_`` (private ``_x`` helpers aside);
- a model rebuilt from its parameters (``from_params(**params_)``) predicts the same, and
  its ``covariance_`` has the fitted shape, all NaN (one rule for every model);
- a pickle round trip predicts the same;
- ``summary()`` has the columns ``estimate, std_err, ci_lower, ci_upper``;
- ``repr`` (and ``_repr_html_`` where there is one) renders fitted and unfitted;
- using an unfitted model raises ``NotFittedError``.

The checks of "no training data" and "fitted attributes end in _" are themselves tested on
a deliberately bad estimator at the end, so they can fail.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

import crmcore
from crmcore.datasets import load_cdnow_summary, load_donations, simulate_pipeline
from crmcore.exceptions import NotFittedError
from crmcore.pipeline import PipelineMarkovModel, salesforce_pipeline
from crmcore.segmentation import RFMScorer
from crmcore.value import (
    BetaDiscreteWeibullModel,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    CustomerMigrationModel,
    GammaGammaModel,
    MaximumLikelihoodModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    TransactionModel,
)

EXPECTED = {
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    BetaGeoBetaBinomModel,
    GammaGammaModel,
    ShiftedBetaGeoModel,
    BetaDiscreteWeibullModel,
    CustomerMigrationModel,
    RFMScorer,
    PipelineMarkovModel,
}
# public bases with a ``fit`` but no model of their own: their subclasses are checked
ABSTRACT = {TransactionModel}
SUMMARY_COLUMNS = ["estimate", "std_err", "ci_lower", "ci_upper"]


# ------------------------------------------------------------------ discovery


def _all_modules() -> Iterator[str]:
    for info in pkgutil.walk_packages(crmcore.__path__, "crmcore."):
        if info.name != "crmcore.__main__":
            yield info.name


def _is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split("."))


def discover_public_estimators() -> set[type]:
    """Classes with a ``fit`` method listed in the ``__all__`` of a public module."""
    found: set[type] = set()
    for name in ["crmcore", *filter(_is_public, _all_modules())]:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.isclass(obj) and callable(getattr(obj, "fit", None)):
                found.add(obj)
    return found


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def discover_likelihood_models() -> set[type]:
    """Named (non-underscore) subclasses of the estimator base defined anywhere in crmcore."""
    for name in _all_modules():
        importlib.import_module(name)
    return {
        sub
        for sub in _subclasses(MaximumLikelihoodModel)
        if sub.__module__.startswith("crmcore.") and not sub.__name__.startswith("_")
    }


# ------------------------------------------------------------------ fixtures

# Fader & Hardie (2007), "regular" customers; and two later cohorts of the same
# size observed for fewer years (a calendar staircase, right-censored)
SURVIVORS = pd.DataFrame(
    [
        [1000, 631, 468, 382, 326, 289, 262, 241],
        [1000, 869, 743, 653, 593, 551, 517, np.nan],
        [800, 510, 380, 310, 265, np.nan, np.nan, np.nan],
        [900, 600, 450, 370, np.nan, np.nan, np.nan, np.nan],
        [700, 480, 350, np.nan, np.nan, np.nan, np.nan, np.nan],
        [600, 400, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
    ],
    index=pd.Index([2015, 2016, 2017, 2018, 2019, 2020], name="cohort"),
)


@cache
def _cdnow() -> pd.DataFrame:
    return load_cdnow_summary()


@cache
def _donations() -> pd.DataFrame:
    return load_donations().rename(columns={"periods": "T"})


@cache
def _purchase_history() -> pd.DataFrame:
    # 300 customers x 18 months; the first purchase in month 0..5, then a purchase each
    # month with probability 0.35
    rng = np.random.default_rng(11)
    bought = (rng.random((300, 18)) < 0.35).astype(np.int64)
    first = rng.integers(0, 6, size=300)
    months = np.arange(18)
    bought[months[None, :] < first[:, None]] = 0
    bought[np.arange(300), first] = 1
    return pd.DataFrame(bought, index=pd.Index(np.arange(300), name="customer_id"))


@cache
def _stage_history() -> pd.DataFrame:
    return simulate_pipeline(300, start="2024-01-01", end="2024-12-31", random_state=3)


@cache
def _rfm() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 120
    return pd.DataFrame(
        {
            "recency_days": rng.integers(1, 365, size=n).astype(np.float64),
            "frequency": rng.integers(1, 12, size=n),
            "monetary": rng.gamma(2.0, 40.0, size=n).round(2),
        },
        index=pd.Index([f"c{i:03d}" for i in range(n)], name="customer_id"),
    )


PIPELINE = salesforce_pipeline()


def _by_params(model: Any) -> Any:
    return type(model).from_params(**model.params_)


@dataclass(frozen=True)
class Spec:
    """How to fit, score and rebuild one estimator class."""

    cls: type
    fit: Callable[[Any], Any]
    predict: Callable[[Any], Any]
    data: Callable[[], pd.DataFrame]
    # counts of the input's units (default: its rows; entities too when rows are events)
    units: Callable[[], tuple[int, ...]] | None = None
    rebuild: Callable[[Any], Any] | None = _by_params
    # documented per-unit summaries a model keeps on purpose (checked to be small)
    kept: frozenset[str] = field(default_factory=frozenset)


def _transaction_spec(cls: type) -> Spec:
    return Spec(
        cls=cls,
        fit=lambda m: m.fit(_cdnow()),
        predict=lambda m: m.expected_purchases(_cdnow(), t=10.0),
        data=_cdnow,
    )


def _cohort_spec(cls: type) -> Spec:
    return Spec(
        cls=cls,
        fit=lambda m: m.fit(SURVIVORS),
        predict=lambda m: m.survival(np.arange(0, 25)),
        data=lambda: SURVIVORS,
        # one (size, length) pair per cohort for the parametric bootstrap of project()
        kept=frozenset({"_design_"}),
    )


SPECS = {
    spec.cls.__name__: spec
    for spec in [
        _transaction_spec(BetaGeoModel),
        _transaction_spec(ModifiedBetaGeoModel),
        _transaction_spec(ParetoNBDModel),
        Spec(
            cls=BetaGeoBetaBinomModel,
            fit=lambda m: m.fit(_donations(), weights_col="weights"),
            predict=lambda m: m.expected_purchases(_donations(), t=5.0, customer_col=None),
            data=_donations,
        ),
        Spec(
            cls=GammaGammaModel,
            fit=lambda m: m.fit(_cdnow()),
            predict=lambda m: m.conditional_expected_average_spend(_cdnow()),
            data=_cdnow,
        ),
        _cohort_spec(ShiftedBetaGeoModel),
        _cohort_spec(BetaDiscreteWeibullModel),
        Spec(
            cls=CustomerMigrationModel,
            fit=lambda m: m.fit(_purchase_history()),
            predict=lambda m: m.state_values(discount_rate=0.1, margin=10.0, marketing_cost=1.0),
            data=_purchase_history,
        ),
        Spec(
            cls=PipelineMarkovModel,
            fit=lambda m: m.fit(_stage_history(), PIPELINE, as_of="2024-12-31"),
            predict=lambda m: m.win_probability_within(6),
            data=_stage_history,
            units=lambda: (
                len(_stage_history()),
                _stage_history()["opportunity_id"].nunique(),
            ),
            rebuild=lambda m: PipelineMarkovModel.from_params(
                m.transition_matrix_, pipeline=PIPELINE, step=m.step
            ),
        ),
        Spec(
            cls=RFMScorer,
            fit=lambda m: m.fit(_rfm()),
            predict=lambda m: m.transform(_rfm()),
            data=_rfm,
            # no from_params: the learned edges are the fixed thresholds of a new scorer
            rebuild=lambda m: RFMScorer(method="fixed", thresholds=m.edges_).fit(_rfm()),
        ),
    ]
}
NAMES = sorted(SPECS)


@cache
def _fitted(name: str) -> Any:
    spec = SPECS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixture's fit notes are not under test here
        return spec.fit(spec.cls())


def _same(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=False, rtol=1e-12)
    else:
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


# ------------------------------------------------------------------ checkers


def _parts(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for part in value.values():
            yield from _parts(part)
    elif isinstance(value, tuple | list):
        for part in value:
            yield from _parts(part)
    else:
        yield value


def training_data_attributes(
    model: Any, units: tuple[int, ...], cells: int, kept: frozenset[str] = frozenset()
) -> list[str]:
    """Attributes holding something of the input's length (or size): training data."""
    bad = []
    for name, value in vars(model).items():
        for part in _parts(value):
            if not isinstance(part, np.ndarray | pd.Series | pd.DataFrame | pd.Index):
                continue
            shape = np.shape(part)
            per_unit = any(dim in units for dim in shape)
            if name in kept:
                per_unit = per_unit and np.size(part) > max(units)
            if per_unit or np.size(part) >= cells:
                bad.append(name)
                break
    return bad


def misnamed_fitted_attributes(before: set[str], after: set[str]) -> list[str]:
    """Public attributes added by ``fit`` that do not end in ``_``."""
    return sorted(n for n in after - before if not n.startswith("_") and not n.endswith("_"))


def _cells(data: pd.DataFrame) -> int:
    return int(data.shape[0] * max(data.shape[1], 1))


def _units(spec: Spec) -> tuple[int, ...]:
    return (len(spec.data()),) if spec.units is None else spec.units()


# ------------------------------------------------------------------ the contract


def test_every_estimator_in_the_package_is_under_contract() -> None:
    discovered = discover_public_estimators()
    assert discovered - ABSTRACT == EXPECTED
    assert set(SPECS) == {cls.__name__ for cls in EXPECTED}
    # a likelihood model that is not exported (or not listed) cannot hide either
    assert discover_likelihood_models() - ABSTRACT <= EXPECTED


@pytest.mark.parametrize("name", NAMES)
def test_init_stores_its_settings_only(name: str) -> None:
    cls = SPECS[name].cls
    settings = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(vars(cls())) == settings


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self(name: str) -> None:
    spec = SPECS[name]
    model = spec.cls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert spec.fit(model) is model


@pytest.mark.parametrize("name", NAMES)
def test_fit_keeps_no_training_data(name: str) -> None:
    spec = SPECS[name]
    model = _fitted(name)
    assert training_data_attributes(model, _units(spec), _cells(spec.data()), spec.kept) == []


@pytest.mark.parametrize("name", NAMES)
def test_fitted_attributes_end_in_an_underscore(name: str) -> None:
    spec = SPECS[name]
    before = set(vars(spec.cls()))
    after = set(vars(_fitted(name)))
    assert after - before, "fit learned nothing"
    assert misnamed_fitted_attributes(before, after) == []


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].rebuild is not None])
def test_a_model_rebuilt_from_its_parameters_predicts_the_same(name: str) -> None:
    spec = SPECS[name]
    model = _fitted(name)
    assert spec.rebuild is not None
    rebuilt = spec.rebuild(model)
    _same(spec.predict(rebuilt), spec.predict(model))
    if hasattr(model, "covariance_"):
        # one rule: the fitted shape, all NaN (no standard errors without data)
        assert rebuilt.covariance_.shape == model.covariance_.shape
        assert rebuilt.covariance_.isna().all().all()
        assert list(rebuilt.covariance_.index) == list(model.params_.index)


@pytest.mark.parametrize("name", NAMES)
def test_a_pickle_round_trip_predicts_the_same(name: str) -> None:
    spec = SPECS[name]
    model = _fitted(name)
    clone = pickle.loads(pickle.dumps(model))
    _same(spec.predict(clone), spec.predict(model))
    assert repr(clone) == repr(model)
    unfitted = pickle.loads(pickle.dumps(spec.cls()))
    assert repr(unfitted) == repr(spec.cls())


# PipelineMarkovModel.summary is a table of stages, not of parameters; RFMScorer has none
@pytest.mark.parametrize(
    "name", [n for n in NAMES if issubclass(SPECS[n].cls, MaximumLikelihoodModel)]
)
def test_summary_has_the_fixed_columns(name: str) -> None:
    model = _fitted(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = model.summary()
        narrow = model.summary(alpha=0.5)
    assert list(table.columns) == SUMMARY_COLUMNS
    assert list(table.index) == list(model.params_.index)
    np.testing.assert_array_equal(table["estimate"].to_numpy(), model.params_.to_numpy())
    # a 50% interval lies inside the 95% one (where standard errors exist)
    finite = table["std_err"].to_numpy() > 0
    assert (narrow["ci_lower"].to_numpy()[finite] > table["ci_lower"].to_numpy()[finite]).all()
    assert (narrow["ci_upper"].to_numpy()[finite] < table["ci_upper"].to_numpy()[finite]).all()


@pytest.mark.parametrize("name", NAMES)
def test_repr_and_html_render_fitted_and_unfitted(name: str) -> None:
    spec = SPECS[name]
    unfitted = spec.cls()
    fitted = _fitted(name)
    assert repr(unfitted).startswith(f"{name}(") and repr(unfitted).endswith("[not fitted]")
    assert repr(fitted).startswith(f"{name}(") and "not fitted" not in repr(fitted)
    assert "\n" not in repr(fitted)
    if hasattr(spec.cls, "_repr_html_"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            html_unfitted = unfitted._repr_html_()
            html_fitted = fitted._repr_html_()
        assert html_unfitted.startswith("<") and "not fitted" in html_unfitted
        assert html_fitted.startswith("<") and "<table" in html_fitted


@pytest.mark.parametrize("name", NAMES)
def test_using_an_unfitted_model_raises_not_fitted(name: str) -> None:
    spec = SPECS[name]
    with pytest.raises(NotFittedError):
        spec.predict(spec.cls())
    if hasattr(spec.cls, "summary"):
        with pytest.raises(NotFittedError):
            spec.cls().summary()


# ------------------------------------------------------------------ the checks can fail


class _LeakyScorer:
    """A bad estimator: keeps its input and names a learned attribute without ``_``."""

    def __init__(self, *, bins: int = 3) -> None:
        self.bins = bins

    def fit(self, data: pd.DataFrame) -> _LeakyScorer:
        self.mean_ = data.mean()
        self.rows = data.index.to_numpy()
        self.cache_ = {"by_id": (data["a"].to_numpy(),)}
        return self


def test_the_checks_catch_a_leaky_estimator() -> None:
    data = pd.DataFrame({"a": np.arange(50.0), "b": np.ones(50)})
    model = _LeakyScorer()
    before = set(vars(model))
    model.fit(data)
    assert training_data_attributes(model, (50,), 100) == ["rows", "cache_"]
    assert misnamed_fitted_attributes(before, set(vars(model))) == ["rows"]
    # a documented per-unit summary passes while it holds at most one value per unit
    assert training_data_attributes(model, (50,), 100, frozenset({"rows"})) == ["cache_"]
