"""Maximum-likelihood estimator base shared by the models of :mod:`crmcore.value`.

:class:`MaximumLikelihoodModel`
    Settings, optimisation on log-parameters (Newton's method where the objective has an
    analytic Hessian, L-BFGS-B otherwise), covariance by the delta method, ``summary``,
    ``from_params``, AIC/BIC, ``__repr__`` and pickling. It knows nothing about the data layout.
    :class:`~crmcore.value.GammaGammaModel` subclasses it directly; the transaction models
    subclass it through :class:`~crmcore.value.btyd.TransactionModel`
    (:mod:`crmcore.value.btyd._transaction`), which adds the ``(frequency, recency, T)`` layer;
    the cohort retention models (sBG, BdW) through ``_CohortRetentionModel``
    (:mod:`crmcore.value.retention._sbg`), which adds survivor-count parsing and the pooled
    cohort likelihood; :class:`~crmcore.value.CustomerMigrationModel` directly, with its own
    closed-form (counting) ``fit``.

One contract for all of them: ``fit`` returns ``self``; ``params_`` (a Series named by
parameter), ``covariance_`` (a symmetric ``k x k`` DataFrame on the same labels),
``log_likelihood_``, ``n_obs_``, ``aic_``, ``bic_``; ``summary(alpha)`` with the columns
``estimate, std_err, ci_lower, ci_upper``; ``from_params(**model.params_)`` builds a scoring
model whose ``covariance_`` has the same ``k x k`` shape, filled with NaN (never None: one
shape everywhere, so code reading standard errors needs no special case); a readable
``repr`` and a Jupyter ``_repr_html_``; pickling; :class:`~crmcore.exceptions.NotFittedError`
before ``fit``. ``tests/test_estimator_contract.py`` checks it for every estimator.

It sits in :mod:`crmcore.value` itself, beside the subject packages (``btyd``, ``retention``,
``economics``), so that every one of them can build on it without importing another. The
helpers for model input (:func:`require_model_columns`, :func:`compress_rows`) live here too.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import narwhals.stable.v1 as nw
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

from crmcore._validation import (
    as_narwhals,
    check_param_number,
    require_columns,
)
from crmcore.exceptions import (
    ColumnNotFoundError,
    ConvergenceError,
    ConvergenceWarning,
    NotFittedError,
    ValidationError,
)

__all__ = ["MaximumLikelihoodModel", "compress_rows", "require_model_columns"]

FloatArray = npt.NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

_M = TypeVar("_M", bound="MaximumLikelihoodModel")

# log-parameters are kept inside [-_LOG_BOUND, _LOG_BOUND] so that kernels never see
# parameters outside [1e-13, 1e13]; a bound that is active at the optimum is reported.
_LOG_BOUND = 30.0
_HUGE = 1e300
# maximum check: largest gradient of the summed objective per customer, and the largest
# log-likelihood gain a Newton step may still promise at a verified maximum
_GRAD_TOL = 1e-4
_GAIN_TOL = 1e-5
# an estimate beyond exp(+-_EDGE_LOG) (3e-7, 3e6) is reported as on the boundary
_EDGE_LOG = 15.0


def _is_real_number(value: Any) -> bool:
    """True for int/float (also numpy scalars), False for bool, text, None, containers."""
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


# the wording of _positive_params: fit's initial_params setting, or from_params' keywords
_PARAM_TEXTS: dict[bool, tuple[str, str, str]] = {
    True: (
        "{who}: initial_params must give exactly {names}; ",
        "{who}: initial_params[{p!r}] must be a positive finite number; got {v!r} ({t}).",
        "{who}: every initial parameter must be a positive finite number; got {given}.",
    ),
    False: (
        "{who}: expected parameters {names}; ",
        "The {p!r} parameter of {who} must be a positive finite number. Got {v!r} ({t}) instead.",
        "{who}: every parameter must be a positive finite number; got {given}.",
    ),
}


def _positive_params(
    given: Mapping[str, Any], names: Sequence[str], *, who: str, initial: bool
) -> FloatArray:
    """The values of `given` for `names`, in order, each checked a positive finite real number.

    One check for the two ways parameter values come in: ``initial=True`` words the errors
    for fit's ``initial_params`` setting, ``initial=False`` for ``from_params(**params)``.
    Missing and unknown names are reported together, then the first non-number, then any
    value that is not finite or not positive.
    """
    expected, not_number, not_positive = _PARAM_TEXTS[initial]
    missing = [p for p in names if p not in given]
    extra = [p for p in given if p not in names]
    if missing or extra:
        raise ValidationError(
            expected.format(who=who, names=", ".join(names))
            + f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(extra) or 'none'}."
        )
    for p in names:
        if not _is_real_number(given[p]):
            v = given[p]
            raise ValidationError(not_number.format(who=who, p=p, v=v, t=type(v).__name__))
    values = np.array([float(given[p]) for p in names], dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValidationError(not_positive.format(who=who, given=given))
    return values


class MaximumLikelihoodModel:
    """Base of every maximum-likelihood model in :mod:`crmcore.value` (not used directly).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty coefficient ``c``: the optimiser minimises
        ``-LL(theta) / n + c * sum(theta ** 2)`` with ``theta`` on the natural scale and ``n``
        the number of customers. This is lifetimes' ``penalizer_coef`` objective for
        Gamma-Gamma and BG/BB; lifetimes' BG/NBD, MBG/NBD and Pareto/NBD fitters penalise the
        parameters of time rescaled by the largest T, so at the same coefficient their
        estimates differ (docs/coming-from-lifetimes.md shows how to match them).
        ``log_likelihood_`` is always the unpenalised log-likelihood.
    tol : float, default 1e-10
        Convergence tolerance of the optimiser on the mean objective.
    max_iter : int, default 2000
        Maximum number of optimiser iterations.
    initial_params : mapping of str to float, optional
        Starting values on the natural scale (all parameters must be given).

    Attributes
    ----------
    params_, covariance_, log_likelihood_, aic_, bic_, n_obs_, n_iter_, time_unit_
        Estimates and fit statistics (see ``summary``).
    converged_ : bool
        Whether the fit ended at a verified maximum inside the parameter range.
    max_gradient_, newton_gain_ : float
        The maximum check at the estimate: the largest gradient of the summed penalised
        log-likelihood in log-parameters, and the log-likelihood a Newton step would still
        gain (NaN when the Hessian is not positive definite).
    n_excluded_ : float
        Customers left out of the likelihood because they carry no information (T = 0 rows
        in transaction models, frequency-0 rows in Gamma-Gamma).
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _model_name: ClassVar[str] = ""
    #: what ``n_obs_`` counts, as the Jupyter display names it
    _n_obs_noun: ClassVar[str] = "customers"

    params_: pd.Series
    covariance_: pd.DataFrame
    log_likelihood_: float
    n_obs_: float
    aic_: float
    bic_: float
    converged_: bool
    n_iter_: int
    n_excluded_: float
    max_gradient_: float
    newton_gain_: float
    time_unit_: str | None

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        tol: float = 1e-10,
        max_iter: int = 2000,
        initial_params: Mapping[str, float] | None = None,
    ) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter
        self.initial_params = initial_params

    # ------------------------------------------------------------------ helpers
    @classmethod
    def _who(cls, method: str) -> str:
        return f"{cls.__name__}.{method}"

    def _named(self, values: FloatArray) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in zip(self._param_names, values, strict=True)}

    def _check_settings(self) -> None:
        who = self._who("fit")
        check_param_number("penalizer", self.penalizer, who=who, low=0.0)
        check_param_number("tol", self.tol, who=who, low=0.0, low_inclusive=False)
        check_param_number("max_iter", self.max_iter, who=who, low=1, integer=True)

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call fit(...) or build one "
                f"with {type(self).__name__}.from_params(...) first."
            )

    def _params_array(self) -> FloatArray:
        self._check_fitted()
        return np.asarray(self.params_.to_numpy(dtype=np.float64), dtype=np.float64)

    def _initial_from_settings(self, default_log: FloatArray) -> FloatArray:
        if self.initial_params is None:
            return np.asarray(default_log, dtype=np.float64)
        who = self._who("fit")
        names = self._param_names
        if not isinstance(self.initial_params, Mapping):
            raise ValidationError(
                f"The 'initial_params' parameter of {type(self).__name__} must be a mapping "
                f"of {', '.join(names)} to positive numbers, or None. Got "
                f"{self.initial_params!r} ({type(self.initial_params).__name__}) instead."
            )
        return np.log(_positive_params(dict(self.initial_params), names, who=who, initial=True))

    # ------------------------------------------------------------------ optimisation
    def _penalised(
        self, objective: Objective, n_obs: float
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        k = len(self._param_names)
        penalizer = float(self.penalizer)
        scale = 1.0 / n_obs

        def mean_objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            value, grad = objective(log_params)
            theta = np.exp(log_params)
            value = value * scale + penalizer * float(np.sum(theta**2))
            grad = np.asarray(grad, dtype=np.float64) * scale + penalizer * 2.0 * theta**2
            if not math.isfinite(value) or not np.all(np.isfinite(grad)):
                return _HUGE, np.zeros(k)
            return float(value), grad

        return mean_objective

    def _minimise(
        self,
        objective: Objective,
        x0: FloatArray,
        n_obs: float,
        *,
        warm: bool = False,
        near: bool = False,
    ) -> tuple[FloatArray, int, str]:
        """Minimise the penalised mean objective; return (log_params, iterations, message)."""
        k = len(self._param_names)
        mean_objective = self._penalised(objective, n_obs)
        vgh = getattr(objective, "value_grad_hessian", None)
        # with an analytic Hessian, Newton steps finish the job: L-BFGS-B only gets close
        loose = warm or vgh is not None
        x0 = np.clip(np.asarray(x0, dtype=np.float64), -_LOG_BOUND + 1, _LOG_BOUND - 1)
        start_value, _ = mean_objective(x0)
        if start_value >= _HUGE:
            raise ConvergenceError(
                f"{type(self).__name__}.fit: the log-likelihood is not finite at the starting "
                f"values {self._named(np.exp(x0))}. Hint: pass initial_params=... closer to "
                "plausible values, or express recency and T in a larger time unit (e.g. weeks "
                "instead of days)."
            )
        if vgh is not None:
            # Newton's method with the analytic Hessian (eigenvalue-floored, with a line
            # search); L-BFGS-B below is the fallback if it does not reach a stationary point
            log_params, extra, message = self._newton_polish(vgh, x0, n_obs)
            _, grad = mean_objective(log_params)
            if np.all(np.isfinite(grad)) and float(np.max(np.abs(grad))) < 1e-8:
                return log_params, extra, message
        result = optimize.minimize(
            mean_objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * k,
            options={
                "maxiter": int(self.max_iter),
                "ftol": 1e-8 if loose else float(self.tol),
                "gtol": 1e-6 if loose else 1e-9,
                "maxcor": 20,
            },
        )
        log_params = np.asarray(result.x, dtype=np.float64)
        iterations = int(result.nit)
        message = str(result.message)
        if vgh is not None and not warm:
            log_params, extra, message = self._newton_polish(vgh, log_params, n_obs)
            iterations += extra
        return log_params, iterations, message

    def _newton_polish(
        self,
        vgh: Callable[[FloatArray], tuple[float, FloatArray, FloatArray]],
        x: FloatArray,
        n_obs: float,
        *,
        value_grad: Objective | None = None,
    ) -> tuple[FloatArray, int, str]:
        """Damped Newton steps with an analytic Hessian, from a point near the optimum.

        With `value_grad` (value and gradient only), line-search trials call it and the
        (costly, e.g. numerical) Hessian from `vgh` is computed at accepted points only.
        """
        penalizer = float(self.penalizer)
        scale = 1.0 / n_obs

        def full(lp: FloatArray) -> tuple[float, FloatArray, FloatArray]:
            value, grad, hess = vgh(lp)
            theta2 = np.exp(2.0 * lp)
            value = value * scale + penalizer * float(np.sum(theta2))
            grad = grad * scale + 2.0 * penalizer * theta2
            hess = hess * scale + np.diag(4.0 * penalizer * theta2)
            return float(value), grad, hess

        value, grad, hess = full(x)
        for it in range(1, 101):
            if not (math.isfinite(value) and np.all(np.isfinite(hess))):
                return x, it, "Newton polish stopped: non-finite value"
            eigval, eigvec = np.linalg.eigh(0.5 * (hess + hess.T))
            floor = max(1e-12, 1e-10 * float(np.max(np.abs(eigval))))
            step = -eigvec @ ((eigvec.T @ grad) / np.maximum(np.abs(eigval), floor))
            decrement = float(-grad @ step)
            if decrement < 1e-20 or float(np.max(np.abs(grad))) < 1e-13:
                return x, it - 1, "converged (Newton)"
            norm = float(np.max(np.abs(step)))
            if norm > 2.0:
                step *= 2.0 / norm
            t = 1.0
            while t > 1e-6:
                trial = np.clip(x + t * step, -_LOG_BOUND, _LOG_BOUND)
                if value_grad is None:
                    v_new, g_new, h_new = full(trial)
                else:
                    v_new = float(value_grad(trial)[0]) * scale + penalizer * float(
                        np.sum(np.exp(2.0 * trial))
                    )
                    h_new = hess
                if math.isfinite(v_new) and v_new <= value - 1e-4 * t * decrement + 1e-15 * abs(
                    value
                ):
                    break
                t *= 0.5
            else:
                return x, it, "converged (Newton line search cannot improve)"
            if value_grad is not None:
                v_new, g_new, h_new = full(trial)
            x, value, grad, hess = trial, v_new, g_new, h_new
            if decrement < 1e-16:
                return x, it, "converged (Newton)"
        return x, 100, "Newton's method reached 100 iterations"

    def _restart_log_params(self, log_params: FloatArray, x0: FloatArray) -> list[FloatArray]:
        """Starting points tried when a fit fails the maximum check (see ``_optimise``).

        The default spreads every parameter by a factor ``e`` around the original start and
        takes the midpoint between the start and the failed end point. Models whose
        likelihood has a known flat ridge override this with points along the ridge.
        """
        return [x0 + 1.0, x0 - 1.0, 0.5 * (x0 + log_params)]

    def _mean_hessian(
        self, objective: Objective, log_params: FloatArray, n_obs: float
    ) -> FloatArray:
        """Hessian of the penalised mean objective (analytic when the objective has one)."""
        vgh = getattr(objective, "value_grad_hessian", None)
        if vgh is not None:
            theta2 = np.exp(2.0 * log_params)
            hess: FloatArray = vgh(log_params)[2] / n_obs + np.diag(
                4.0 * float(self.penalizer) * theta2
            )
            return hess
        return _numerical_hessian(self._penalised(objective, n_obs), log_params)

    def _finish_newton(
        self, objective: Objective, x: FloatArray, n_obs: float
    ) -> tuple[FloatArray, int, str]:
        """Newton steps from `x` with the analytic Hessian, or a numerical one if none."""
        vgh = getattr(objective, "value_grad_hessian", None)
        if vgh is not None:
            return self._newton_polish(vgh, x, n_obs)

        def numerical(lp: FloatArray) -> tuple[float, FloatArray, FloatArray]:
            value, grad = objective(lp)
            return (
                float(value),
                np.asarray(grad, dtype=np.float64),
                _numerical_hessian(objective, lp),
            )

        return self._newton_polish(numerical, x, n_obs, value_grad=objective)

    def _optimise(
        self, objective: Objective, x0: FloatArray, n_obs: float, *, near: bool = False
    ) -> None:
        """Minimise ``objective`` (sum of -LL) from ``x0`` and store the fitted attributes.

        ``near=True`` says that ``x0`` comes from a fit on a subsample.

        The end point must pass the maximum check (:func:`_maximum_check`): the largest
        gradient of the summed objective is small *and*, where the Hessian is positive
        definite, the log-likelihood a Newton step would still gain is below
        ``_GAIN_TOL``. A point that fails (an optimiser stopped on a flat ridge, as L-BFGS-B
        can on Pareto/NBD data) is finished with Newton steps (numerical Hessian when the
        model has no analytic one) and, if it still fails, the model's
        ``_restart_log_params`` are tried, each finished the same way; the best point wins.
        If even that fails, a ConvergenceWarning says so.
        """
        penalizer = float(self.penalizer)
        log_params, n_iter, message = self._minimise(objective, x0, n_obs, near=near)
        mean_objective = self._penalised(objective, n_obs)
        value, grad = mean_objective(log_params)
        hessian = (
            self._mean_hessian(objective, log_params, n_obs)
            if value < _HUGE
            else np.full((len(log_params),) * 2, np.nan)
        )
        verified, max_grad, gain = _maximum_check(grad, hessian, n_obs)
        restarts = 0
        if not verified:
            candidates = [log_params]
            finished, extra, msg = self._finish_newton(objective, log_params, n_obs)
            n_iter += extra
            candidates.append(finished)
            best = min(candidates, key=lambda lp: mean_objective(lp)[0])
            value, grad = mean_objective(best)
            hessian = self._mean_hessian(objective, best, n_obs)
            verified, max_grad, gain = _maximum_check(grad, hessian, n_obs)
            message = msg if best is finished else message
            if not verified:
                for start in self._restart_log_params(best, np.asarray(x0, dtype=np.float64)):
                    start = np.clip(start, -_LOG_BOUND + 1, _LOG_BOUND - 1)
                    if mean_objective(start)[0] >= _HUGE:
                        continue
                    restarts += 1
                    point, extra, msg = self._finish_newton(objective, start, n_obs)
                    n_iter += extra
                    point_value = mean_objective(point)[0]
                    if point_value < value:
                        best, value, message = point, point_value, msg
                value, grad = mean_objective(best)
                hessian = self._mean_hessian(objective, best, n_obs)
                verified, max_grad, gain = _maximum_check(grad, hessian, n_obs)
            log_params = best
        if value >= _HUGE or not np.all(np.isfinite(log_params)):
            raise ConvergenceError(
                f"{type(self).__name__}.fit: the optimiser ended at a point where the "
                "log-likelihood is not finite. Hint: try penalizer=0.001, initial_params=..., or "
                "express recency and T in a larger time unit (e.g. weeks instead of days)."
            )
        at_bound = bool(np.any(np.abs(log_params) >= _LOG_BOUND - 1e-6))
        self._store_fit(
            log_params=log_params,
            neg_ll=(value - penalizer * float(np.sum(np.exp(log_params) ** 2))) * n_obs,
            hessian_mean=hessian,
            n_obs=n_obs,
            converged=verified and not at_bound,
            n_iter=n_iter,
        )
        self.max_gradient_ = max_grad
        self.newton_gain_ = gain
        if at_bound:
            warnings.warn(
                f"{type(self).__name__}.fit: a parameter ran to the edge of its allowed range "
                f"({self._named(self._params_array())}); the data may not identify it. Hint: "
                "try penalizer=0.001 or check the data (e.g. almost no repeat purchases).",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif not verified:
            gain_text = "" if math.isnan(gain) else f", a Newton step would still gain {gain:.2e}"
            warnings.warn(
                f"{type(self).__name__}.fit: the fit did not reach a verified maximum after "
                f"{n_iter} iterations and {restarts} restarts (largest gradient of the summed "
                f"log-likelihood {max_grad:.2e}, tolerance {_GRAD_TOL * max(n_obs, 1.0):.2e}"
                f"{gain_text} in log-likelihood; {message}). Hint: add a small penalizer "
                "(e.g. penalizer=0.001), pass initial_params=..., increase max_iter, or "
                "rescale time (weeks instead of days).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _store_fit(
        self,
        *,
        log_params: FloatArray,
        neg_ll: float,
        hessian_mean: FloatArray,
        n_obs: float,
        converged: bool,
        n_iter: int,
    ) -> None:
        names = list(self._param_names)
        theta = np.exp(log_params)
        self.params_ = pd.Series(theta, index=names, name="estimate", dtype=np.float64)
        self.log_likelihood_ = float(-neg_ll)
        self.n_obs_ = float(n_obs)
        k = len(names)
        self.aic_ = 2.0 * k - 2.0 * self.log_likelihood_
        self.bic_ = k * math.log(n_obs) - 2.0 * self.log_likelihood_ if n_obs > 0 else math.nan
        self.converged_ = converged
        self.n_iter_ = n_iter
        cov = np.full((k, k), np.nan)
        h = 0.5 * (hessian_mean + hessian_mean.T) * n_obs  # Hessian of the summed objective
        if np.all(np.isfinite(h)):
            try:
                eig = np.linalg.eigvalsh(h)
                if np.min(eig) > 0:
                    cov_log = np.linalg.inv(h)
                    cov_log = 0.5 * (cov_log + cov_log.T)
                    cov = theta[:, None] * cov_log * theta[None, :]
                    cov = 0.5 * (cov + cov.T)
                else:
                    warnings.warn(
                        f"{type(self).__name__}.fit: the Hessian at the optimum is not positive "
                        "definite, so standard errors are not available (covariance_ is NaN). "
                        "Hint: the data may not identify every parameter; try penalizer=0.001.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
            except np.linalg.LinAlgError:
                pass
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)

    # ------------------------------------------------------------------ public API
    @classmethod
    def from_params(cls: type[_M], *, time_unit: str | None = None, **params: float) -> _M:
        """Build a scoring model from known parameter values (no fit).

        Parameters
        ----------
        time_unit : str, optional
            Time unit the parameters refer to (e.g. ``"W"``), recorded as ``time_unit_``.
        **params : float
            Every parameter of the model by name, each positive.

        Returns
        -------
        model
            A model with ``params_`` set; ``covariance_`` is a ``k x k`` NaN matrix (the
            fitted shape, no standard errors), ``log_likelihood_`` is NaN and ``n_obs_`` is 0.

        Raises
        ------
        ValidationError
            If a parameter is missing, unknown, non-finite or not positive.
        """
        who = f"{cls.__name__}.from_params"
        names = cls._param_names
        values = _positive_params(params, names, who=who, initial=False)
        model = cls()
        model.params_ = pd.Series(values, index=list(names), name="estimate", dtype=np.float64)
        k = len(names)
        model.covariance_ = pd.DataFrame(np.full((k, k), np.nan), index=names, columns=names)
        model.log_likelihood_ = math.nan
        model.n_obs_ = 0.0
        model.aic_ = math.nan
        model.bic_ = math.nan
        model.converged_ = True
        model.n_iter_ = 0
        model.n_excluded_ = 0.0
        model.max_gradient_ = math.nan
        model.newton_gain_ = math.nan
        model.time_unit_ = time_unit
        return model

    def fit_notes(self) -> list[str]:
        """Problems of a fitted model a reader of its estimates must know, with the remedy.

        Returns
        -------
        list of str
            One sentence per problem, empty when there is none (and for models built with
            ``from_params``, which have no standard errors by design): standard errors that
            are NaN (the Hessian at the estimate is not positive definite), estimates on the
            boundary of the parameter space (below ``3e-7`` or above ``3e6``, where the
            allowed range is ``[1e-13, 1e13]``), and a fit that did not reach a
            verified maximum. ``summary()`` warns with these notes and stores them in its
            ``attrs["notes"]``; the Jupyter display shows them.

        Examples
        --------
        >>> from crmcore.datasets import load_cdnow_summary
        >>> from crmcore.value import BetaGeoModel
        >>> BetaGeoModel().fit(load_cdnow_summary()).fit_notes()
        []
        """
        self._check_fitted()
        if not self.n_obs_ > 0:
            return []
        names = [str(n) for n in self.params_.index]
        notes = []
        var = np.diag(self.covariance_.to_numpy(dtype=np.float64))
        nan_se = [n for n, v in zip(names, var, strict=True) if not np.isfinite(v)]
        log_theta = np.log(self._params_array())
        edge = [n for n, v in zip(names, log_theta, strict=True) if abs(v) >= _EDGE_LOG]
        remedy = (
            "Remedy: refit with a small penalizer (e.g. penalizer=0.001; compare the "
            "log-likelihoods) or check the data (e.g. very few repeat purchases, or a "
            "window too short)."
        )
        if edge:
            notes.append(
                f"the estimate of {', '.join(edge)} sits on (or runs to) the boundary of the "
                "parameter space (below 3e-7 or above 3e6, i.e. towards 0 or infinity): the "
                "data do not identify it. " + remedy
            )
        if nan_se:
            notes.append(
                f"standard errors are not available (NaN) for {', '.join(nan_se)}: the "
                "Hessian at the estimate is not positive definite, so the likelihood is flat "
                "(or not at a maximum) in some direction. " + remedy
            )
        if not getattr(self, "converged_", True) and not edge:
            notes.append(
                "the fit did not reach a verified maximum (see max_gradient_ and "
                "newton_gain_). Remedy: pass initial_params=..., add a small penalizer "
                "(penalizer=0.001) or rescale time."
            )
        return notes

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Parameter table with standard errors and confidence intervals.

        Parameters
        ----------
        alpha : float, default 0.05
            One minus the confidence level.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, columns ``estimate, std_err, ci_lower, ci_upper``.

        Notes
        -----
        ``std_err`` is the delta-method standard error on the natural scale,
        ``sqrt(theta^2 * Var[log theta])``. The interval is computed on the log scale, where
        the likelihood is closer to quadratic, and exponentiated:
        ``theta * exp(+-z_{1-alpha/2} * se(log theta))``; it is therefore asymmetric and always
        positive. ``z`` comes from :func:`scipy.stats.norm.ppf`.

        When the fit has a problem (NaN standard errors, an estimate on the boundary, no
        verified maximum; see :meth:`fit_notes`) the table's ``attrs["notes"]`` lists it and
        a ConvergenceWarning says so, with the remedy (usually ``penalizer=``).

        Warns
        -----
        ConvergenceWarning
            When :meth:`fit_notes` is not empty.
        """
        table = self._summary_table(alpha)
        notes = table.attrs["notes"]
        if notes:
            warnings.warn(
                f"{type(self).__name__}.summary: " + " ".join(notes),
                ConvergenceWarning,
                stacklevel=2,
            )
        return table

    def _summary_table(self, alpha: float) -> pd.DataFrame:
        """The ``summary`` table, with ``attrs["notes"]``, without warning."""
        self._check_fitted()
        check_param_number(
            "alpha",
            alpha,
            who=self._who("summary"),
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        est = self._params_array()
        var = np.diag(self.covariance_.to_numpy(dtype=np.float64))
        std_err = np.sqrt(var)
        # isf, not ppf(1 - alpha/2): exact for tiny alpha (ppf(1.0) would be inf)
        z = float(stats.norm.isf(alpha / 2.0))
        lower, upper = self._interval(est, std_err, z)
        table: pd.DataFrame = pd.DataFrame(
            {
                "estimate": est,
                "std_err": std_err,
                "ci_lower": lower,
                "ci_upper": upper,
            },
            index=pd.Index(list(self.params_.index), name="parameter"),
        )
        table.attrs["notes"] = self.fit_notes()
        return table

    def _interval(
        self, estimate: FloatArray, std_err: FloatArray, z: float
    ) -> tuple[FloatArray, FloatArray]:
        """Confidence limits of ``summary``: on the log scale, ``theta * exp(+-z se / theta)``.

        Positive parameters get this asymmetric, always-positive interval; a model whose
        parameters are probabilities that may be 0 (the migration chain) overrides it.
        """
        se_log = std_err / estimate
        # a degenerate fit (a huge standard error) gives an infinite upper limit, not a warning
        with np.errstate(over="ignore"):
            return estimate * np.exp(-z * se_log), estimate * np.exp(z * se_log)

    def _settings_repr(self) -> str:
        """Settings shown by the repr of an unfitted model."""
        return f"penalizer={self.penalizer!r}"

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"{name}({self._settings_repr()}) [not fitted]"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        extra = ""
        if self.n_obs_ > 0:
            extra = f"; n_obs={self.n_obs_:,.0f}, log_likelihood={self.log_likelihood_:.2f}"
        if self.time_unit_:
            extra += f"; time_unit={self.time_unit_!r}"
        return f"{name}({params}{extra})"

    def _nan_std_err_reason(self) -> str:
        """Why some standard errors are NaN, for the Jupyter display's footnote.

        A model built with ``from_params`` has no data, hence no information matrix; a
        fitted one has NaN standard errors only where the Hessian at the estimate is not
        positive definite (then :meth:`fit_notes` says so, with the remedy). Weights and
        compressed rows do not cause NaN: they enter the Hessian as counts.
        """
        if not self.n_obs_ > 0:
            return (
                "the model was built with from_params(...) from known parameter values, not "
                "fitted to data: without data there is no information matrix, hence no "
                "standard errors (covariance_ is NaN by design)."
            )
        return (
            "the Hessian of the log-likelihood at the estimate is not positive definite (the "
            "likelihood is flat, or not at a maximum, in some direction), so it cannot be "
            "inverted into a covariance matrix."
        )

    def _display_facts(self) -> list[tuple[str, str]]:
        """The (label, value) lines above the parameter table of the Jupyter display."""
        from crmcore import _display as d

        if not self.n_obs_ > 0:
            pairs = [("source", "from_params (no data)")]
        else:
            pairs = [(self._n_obs_noun, d.count(self.n_obs_))]
            n_customers = getattr(self, "n_customers_", None)
            if n_customers is not None and self._n_obs_noun != "customers":
                pairs.append(("customers", d.count(n_customers)))
            n_cohorts = getattr(self, "n_cohorts_", None)
            if n_cohorts:
                pairs.append(("cohorts", d.count(n_cohorts)))
            excluded = float(getattr(self, "n_excluded_", 0.0) or 0.0)
            if excluded > 0:
                pairs.append(("left out (carry no information)", d.count(excluded)))
            pairs += [
                ("log-likelihood", d.decimal(self.log_likelihood_)),
                ("AIC", d.decimal(self.aic_)),
                ("BIC", d.decimal(self.bic_)),
                ("verified maximum", "yes" if getattr(self, "converged_", True) else "no"),
            ]
        if getattr(self, "time_unit_", None):
            pairs.append(("time unit", str(self.time_unit_)))
        return pairs

    def _repr_html_(self) -> str:
        """Jupyter display: the repr line, fit facts and the ``summary()`` table.

        Counts carry thousands separators, parameters 4 significant digits; a NaN standard
        error is marked ``*`` and a footnote says why (:meth:`_nan_std_err_reason`); the
        other :meth:`fit_notes` are shown as warnings. An unfitted model shows a short
        "not fitted" note. Nothing is printed and nothing warns.
        """
        from crmcore import _display as d

        name = type(self).__name__
        if not hasattr(self, "params_"):
            return d.not_fitted(repr(self), f"call fit(...) or {name}.from_params(...) first")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            summary = self._summary_table(0.05)  # intervals of a huge se overflow to inf
        nan_se = [str(p) for p, se in summary["std_err"].items() if math.isnan(float(se))]
        rows: list[list[str | d.Cell]] = [
            [
                str(param),
                d.number(values["estimate"]),
                d.Cell(
                    d.number(values["std_err"]), mark=d.NAN_MARK if str(param) in nan_se else ""
                ),
                d.number(values["ci_lower"]),
                d.number(values["ci_upper"]),
            ]
            for param, values in summary.iterrows()
        ]
        params = d.table(
            ["estimate", "std_err", "ci_lower (95%)", "ci_upper (95%)"],
            rows,
            index_header="parameter",
        )
        notes = [str(n) for n in summary.attrs["notes"]]
        nan_note = next((n for n in notes if n.startswith("standard errors are not")), None)
        footnotes = []
        if nan_se:
            reason = self._nan_std_err_reason()
            if nan_note is not None:  # the fit's own note, with its remedy
                reason = nan_note.split(": ", 1)[1]
            footnotes.append(f"{d.NAN_MARK} NaN standard error ({', '.join(nan_se)}): {reason}")
        warnings_ = [n for n in notes if n is not nan_note]
        return d.block(
            name,
            d.code_line(repr(self)),
            d.facts(self._display_facts()),
            params,
            notes=footnotes,
            warnings=warnings_,
        )


_ID_WORDS = ("customer", "client", "user", "account", "member", "buyer", "id")
_DATE_WORDS = ("date", "time", "day", "timestamp", "created", "ordered")
_AMOUNT_WORDS = ("amount", "revenue", "value", "price", "sales", "total", "spend")


def wrong_table_hint(data: Any, needed: Sequence[str], *, who: str) -> str | None:
    """Say what `data` is when it lacks model columns but looks like another crmcore table.

    Returns a sentence for the error message, or None when `data` has every column in
    `needed` or does not look like an order log or an RFM table. An RFM table is recognised
    by its ``recency_days`` column (:func:`crmcore.segmentation.rfm_table`); an order log by
    a customer-id-like column plus a date column (datetime dtype or a date-like name).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-05"],
    ...                        "revenue": [10.0]})
    >>> print(wrong_table_hint(orders, ["frequency", "recency", "T"], who="demo"))
    ... # doctest: +NORMALIZE_WHITESPACE
    this looks like a transaction log (one row per order: customer_id, order_date, revenue),
    not a BTYD summary; build the summary with
    crmcore.value.btyd_summary(transactions, customer_col='customer_id',
    date_col='order_date', amount_col='revenue', as_of=..., time_unit='W') first
    and fit that (it has the columns frequency, recency, T and monetary_value).
    """
    try:
        frame = data if isinstance(data, nw.DataFrame) else as_narwhals(data, who=who)
    except ValidationError:
        return None
    schema = dict(frame.schema)
    columns = [str(c) for c in schema]
    if all(c in columns for c in needed):
        return None
    lowered = {c: c.lower() for c in columns}
    if "recency_days" in columns and ("frequency" in columns or "monetary" in columns):
        return (
            "this looks like an RFM table (crmcore.segmentation.rfm_table output: recency_days "
            "is days since the last purchase and frequency counts every order, the first "
            "included), not a BTYD summary; build the summary from the order log with "
            "crmcore.value.btyd_summary(transactions, as_of=..., time_unit='W', "
            "amount_col=...) and fit that (it has frequency = repeat purchases, recency, T and "
            "monetary_value = mean value of the repeat purchases)."
        )
    dates = [c for c in columns if schema[c].is_temporal()] or [
        c for c in columns if any(wd in lowered[c] for wd in _DATE_WORDS)
    ]
    ids = [c for c in columns if c not in dates and any(wd in lowered[c] for wd in _ID_WORDS)]
    if not dates or not ids:
        return None
    amounts = [
        c
        for c in columns
        if c not in dates and c not in ids and any(wd in lowered[c] for wd in _AMOUNT_WORDS)
    ]
    shown = [ids[0], dates[0], *amounts[:1]]
    amount_arg = f"amount_col={amounts[0]!r}, " if amounts else ""
    return (
        f"this looks like a transaction log (one row per order: {', '.join(shown)}), not a "
        "BTYD summary; build the summary with crmcore.value.btyd_summary(transactions, "
        f"customer_col={ids[0]!r}, date_col={dates[0]!r}, {amount_arg}as_of=..., "
        "time_unit='W') first and fit that (it has the columns frequency, recency, T"
        + (" and monetary_value)." if amounts else ").")
    )


def require_model_columns(data: Any, columns: Sequence[str], *, who: str) -> None:
    """:func:`require_columns` for model input, saying so when `data` is another table.

    Raises
    ------
    ColumnNotFoundError
        If a column is missing. When `data` looks like an order log or an RFM table the
        message leads with that and names the function to call instead of suggesting the
        nearest column name (which would be wrong, e.g. ``T_col='customer_id'``).
    """
    hint = wrong_table_hint(data, columns, who=who)
    if hint is None:
        require_columns(
            data if isinstance(data, pd.DataFrame) else as_narwhals(data, who=who),
            list(columns),
            who=who,
        )
        return
    available = list(as_narwhals(data, who=who).columns)
    missing = [c for c in columns if c not in available]
    raise ColumnNotFoundError(
        f"{who}: {hint} Missing columns: {', '.join(map(repr, missing))}; available columns: "
        f"{', '.join(map(str, available))}."
    )


def compress_rows(
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    w: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Merge identical ``(x, t_x, T)`` rows, summing their weights (1 each when `w` is None).

    Rows with weight 0 are dropped (they do not enter the likelihood). Groups keep the order
    of their first row. When a sample of 20,000 rows shows (almost) no repeated triple, as
    with continuous times, the rows are returned unmerged: hashing them would cost more than
    it saves.

    Examples
    --------
    >>> import numpy as np
    >>> x, t, T, w = compress_rows(np.array([1.0, 0, 1]), np.array([2.0, 0, 2]),
    ...                            np.array([5.0, 5, 5]))
    >>> x.tolist(), t.tolist(), T.tolist(), w.tolist()
    ([1.0, 0.0], [2.0, 0.0], [5.0, 5.0], [2.0, 1.0])
    """
    weights = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
    if w is not None and not np.all(weights > 0):
        keep = weights > 0
        x, t_x, T, weights = x[keep], t_x[keep], T[keep], weights[keep]
    n = len(x)
    if n < 2:
        return x.copy(), t_x.copy(), T.copy(), weights.copy()
    if n > 100_000:
        pick = np.random.default_rng(0).choice(n, 20_000, replace=False)
        sx, st, sT = x[pick], t_x[pick], T[pick]
        order = np.lexsort((sT, st, sx))
        sx, st, sT = sx[order], st[order], sT[order]
        repeats = (sx[1:] == sx[:-1]) & (st[1:] == st[:-1]) & (sT[1:] == sT[:-1])
        if int(np.count_nonzero(repeats)) < 20:
            return x, t_x, T, weights
    codes = [pd.factorize(col)[0] for col in (x, t_x, T)]
    sizes = [int(c.max()) + 1 for c in codes]
    if sizes[0] * sizes[1] * sizes[2] < 2**62:
        key = (codes[0].astype(np.int64) * sizes[1] + codes[1]) * sizes[2] + codes[2]
        group = pd.factorize(key)[0]
    else:  # pragma: no cover - needs > 2**62 distinct combinations
        group = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].ravel()
    n_groups = int(group.max()) + 1
    if n_groups == n:
        return x, t_x, T, weights
    first = np.empty(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(n - 1, -1, -1)
    summed = np.asarray(np.bincount(group, weights=weights, minlength=n_groups), dtype=np.float64)
    return x[first], t_x[first], T[first], summed


def _numerical_hessian(fun: Objective, point: FloatArray) -> FloatArray:
    """Central differences of an analytic gradient, symmetrised."""
    k = len(point)
    hess = np.empty((k, k))
    for i in range(k):
        step = 1e-5 * max(1.0, abs(point[i]))
        up = point.copy()
        down = point.copy()
        up[i] += step
        down[i] -= step
        hess[i] = (fun(up)[1] - fun(down)[1]) / (2.0 * step)
    sym: FloatArray = 0.5 * (hess + hess.T)
    return sym


def _maximum_check(
    grad_mean: FloatArray, hessian_mean: FloatArray, n_obs: float
) -> tuple[bool, float, float]:
    """Is a point a verified maximum? Return (verified, largest gradient, Newton gain).

    Both numbers refer to the summed penalised objective (``n_obs`` times the mean): the
    largest absolute gradient in log-parameters, and the log-likelihood a full Newton step
    would still gain, ``g' H^-1 g / 2`` (NaN when the Hessian is not positive definite;
    then only the gradient is tested). The gradient tolerance is ``_GRAD_TOL`` per
    customer; the gain tolerance ``_GAIN_TOL`` is absolute, in log-likelihood units.
    """
    g = np.asarray(grad_mean, dtype=np.float64) * n_obs
    h = 0.5 * (hessian_mean + hessian_mean.T) * n_obs
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
        return False, math.inf, math.nan
    max_grad = float(np.max(np.abs(g)))
    gain = math.nan
    try:
        if float(np.min(np.linalg.eigvalsh(h))) > 0:
            gain = 0.5 * float(g @ np.linalg.solve(h, g))
    except np.linalg.LinAlgError:  # pragma: no cover - eigvalsh of a finite symmetric matrix
        pass
    verified = max_grad <= _GRAD_TOL * max(n_obs, 1.0) and (math.isnan(gain) or gain <= _GAIN_TOL)
    return verified, max_grad, gain
