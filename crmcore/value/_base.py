"""Shared maximum-likelihood estimator base of the BTYD ("buy till you die") models.

Two classes live here:

:class:`MaximumLikelihoodModel`
    Settings, optimisation on log-parameters, covariance by the delta method, ``summary``,
    ``from_params``, AIC/BIC, ``__repr__`` and pickling. It knows nothing about the data layout.
    :class:`~crmcore.value.GammaGammaModel` subclasses it directly.

:class:`TransactionModel`
    Adds the ``(frequency, recency, T)`` layer shared by every transaction model (BG/NBD,
    MBG/NBD, Pareto/NBD, BG/BB): ``fit`` with validation, compression of identical rows into
    weights, the public prediction methods (Series aligned with the caller's index, or an
    ndarray for array input), cohort tracking curves and lifetimes interop.

How a transaction model plugs in
--------------------------------
Subclass :class:`TransactionModel` and define, in a module of its own (no model-specific code
goes into this file):

``_param_names: ClassVar[tuple[str, ...]]`` (required)
    Parameter names in the order used by every array below, e.g. ``("r", "alpha", "a", "b")``.
    All parameters must be strictly positive (the optimiser works on their logarithms).

``_neg_log_likelihood_and_grad(self, log_params, x, t_x, T, w) -> (float, ndarray)`` (required)
    The *weighted sum* over rows of minus the per-customer log-likelihood, and its gradient with
    respect to ``log_params`` (natural log of the parameters, ``_param_names`` order). The
    arrays are float64 and already validated and compressed: ``x`` frequency, ``t_x`` recency,
    ``T`` age, ``w`` weights (row counts). Do not add a penalty: the base adds the L2 penalizer.
    Return a non-finite value rather than raising when parameters are extreme; the base turns
    it into a large finite value so the line search backs off.

``_initial_log_params(self, x, t_x, T, w) -> ndarray`` (optional)
    Starting point on log scale used when the caller gives no ``initial_params``
    (default: zeros, i.e. every parameter 1).

``_make_objective(self, x, t_x, T, w) -> Callable[[ndarray], tuple[float, ndarray]]`` (optional)
    Return the function the optimiser calls. The default calls
    ``_neg_log_likelihood_and_grad`` with the arrays; override it to precompute per-fit
    quantities (e.g. special functions over the distinct frequencies) once. The callable is
    used during ``fit`` only and never stored on the instance.

Optional analytic Hessian: if the callable returned by ``_make_objective`` also has a method
``value_grad_hessian(log_params) -> (float, ndarray, ndarray)`` (summed negative
log-likelihood, gradient and Hessian on log scale), the base minimises with Newton's method
(eigenvalue-floored, with a line search; L-BFGS-B is the fallback) and uses that Hessian for
the covariance instead of differencing the gradient. BG/NBD and MBG/NBD do this.

On more than 200,000 distinct rows the base first fits a systematic subsample of 50,000 rows
to get a starting point; nothing is needed from the subclass for that.

``_extra_input_checks(self, x, t_x, T) -> list[tuple[str, ndarray]]`` (optional)
    Extra model-specific data rules as ``(rule text, boolean mask of offending rows)``, e.g.
    BG/BB's "T must be a whole number of opportunities". Counted and reported with the first ids
    together with the base rules.

Prediction kernels (optional; a public method whose kernel is missing raises
``NotImplementedError``). ``params`` is the natural-scale parameter vector in
``_param_names`` order; ``x, t_x, T`` are float64 arrays of one length and ``t``, ``n``,
``future_t`` are arrays broadcastable against them:

- ``_expected_purchases_kernel(params, t, x, t_x, T)``: E[X(T, T + t) | x, t_x, T];
- ``_expected_purchases_new_customer_kernel(params, t)``: E[X(t)] for a new customer;
- ``_probability_alive_kernel(params, future_t, x, t_x, T)``: P(alive at T + future_t | ...);
- ``_purchase_probability_kernel(params, n, t, x, t_x, T)``: P(X(T, T + t) = n | ...);
- ``_population_purchase_probability_kernel(params, n, t)``: P(X(t) = n) for a new customer.

Interop with lifetimes: set ``_lifetimes_class`` (e.g. ``"BetaGeoFitter"``) and, if the names
differ, ``_lifetimes_param_names``; ``from_lifetimes`` and ``to_lifetimes`` then work unchanged.

Example of a minimal subclass (a Poisson purchase process with a gamma-distributed rate and
no dropout, the NBD model):

>>> import numpy as np
>>> from scipy.special import digamma, gammaln
>>> class NBDModel(TransactionModel):
...     _param_names = ("r", "alpha")
...
...     def _neg_log_likelihood_and_grad(self, log_params, x, t_x, T, w):
...         r, alpha = np.exp(log_params)
...         ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
...               - (r + x) * np.log(alpha + T))
...         d_r = digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T)
...         d_alpha = r / alpha - (r + x) / (alpha + T)
...         grad = np.array([r * np.sum(w * d_r), alpha * np.sum(w * d_alpha)])
...         return -float(np.sum(w * ll)), -grad
...
...     def _expected_purchases_kernel(self, params, t, x, t_x, T):
...         r, alpha = params
...         return (r + x) / (alpha + T) * t
>>> import pandas as pd
>>> data = pd.DataFrame({"frequency": [0, 1, 4, 2], "recency": [0.0, 3.0, 9.0, 5.0],
...                      "T": [10.0, 10.0, 10.0, 8.0]}, index=["a", "b", "c", "d"])
>>> model = NBDModel().fit(data)
>>> model.expected_purchases(data, t=10).round(3).to_dict()
{'a': 1.306, 'b': 1.6, 'c': 2.483, 'd': 2.013}
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
    coerce_number_series,
    format_ids,
    require_columns,
)
from crmcore.exceptions import (
    ColumnNotFoundError,
    ConvergenceError,
    ConvergenceWarning,
    NotFittedError,
    ValidationError,
)

__all__ = ["MaximumLikelihoodModel", "TransactionModel"]

FloatArray = npt.NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

_M = TypeVar("_M", bound="MaximumLikelihoodModel")
_TM = TypeVar("_TM", bound="TransactionModel")

# log-parameters are kept inside [-_LOG_BOUND, _LOG_BOUND] so that kernels never see
# parameters outside [1e-13, 1e13]; a bound that is active at the optimum is reported.
_LOG_BOUND = 30.0
_HUGE = 1e300
# above this many distinct rows, fit a systematic subsample first to get a starting point
_WARM_START_ROWS = 200_000
_WARM_START_SAMPLE = 50_000
# maximum check: largest gradient of the summed objective per customer, and the largest
# log-likelihood gain a Newton step may still promise at a verified maximum
_GRAD_TOL = 1e-4
_GAIN_TOL = 1e-5
# an estimate beyond exp(+-_EDGE_LOG) (3e-7, 3e6) is reported as on the boundary
_EDGE_LOG = 15.0
# Polars/PyArrow frames have no index: predictions are labelled by this column when present
_DEFAULT_ID_COL = "customer_id"
# documented input limits (issue 8): the kernels lose all precision, overflow or run for
# minutes beyond them. Times (recency, T, t, future_t) and frequencies are at most
# _MAX_TIME (1e9 periods: 19 million years in weeks); the `n` of the purchase probabilities
# (a sum over n terms for some models) is at most _MAX_N.
_MAX_TIME = 1e9
_MAX_N = 10_000


def _is_real_number(value: Any) -> bool:
    """True for int/float (also numpy scalars), False for bool, text, None, containers."""
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _numeric_array(name: str, value: Any, who: str) -> FloatArray:
    """`value` (a number or a 1-D array-like of numbers) as float64, or a ValidationError.

    Text (also numeric text such as ``"0.5"``), booleans, ``None``, ragged or nested
    sequences and dates are rejected with the parameter named; range checks are the
    caller's.
    """
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        hint = ""
        if isinstance(value, str) and "," in value:
            hint = " Hint: write decimals with a point ('0.5'), not a comma."
        raise ValidationError(
            f"{who}: the {name!r} parameter must be a number or a 1-D array of numbers; "
            f"got {value!r} ({type(value).__name__}).{hint}"
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"{who}: the {name!r} parameter must be a number or a 1-D array of numbers; "
            f"got a ragged or nested sequence {value!r}."
        ) from exc
    if arr.ndim > 1:
        raise ValidationError(
            f"{who}: the {name!r} parameter must be a number or a 1-D array of numbers; "
            f"got an array of shape {arr.shape}."
        )
    if arr.dtype.kind in "iuf":
        return np.asarray(arr, dtype=np.float64)
    if arr.dtype.kind == "O" and all(isinstance(v, (list, tuple, np.ndarray)) for v in arr.flat):
        raise ValidationError(
            f"{who}: the {name!r} parameter must be a number or a 1-D array of numbers; "
            f"got a ragged or nested sequence {value!r}."
        )
    values = coerce_number_series(
        pd.Series(np.atleast_1d(arr).astype(object)), name=name, who=who, allow_missing=True
    )
    return values.reshape(arr.shape)


class MaximumLikelihoodModel:
    """Base of every maximum-likelihood model in :mod:`crmcore.value` (not used directly).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty coefficient ``c``: the optimiser minimises
        ``-LL(theta) / n + c * sum(theta ** 2)`` with ``theta`` on the natural scale and ``n``
        the number of customers (the same objective as lifetimes' ``penalizer_coef``).
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
        given = dict(self.initial_params)
        missing = [p for p in names if p not in given]
        extra = [p for p in given if p not in names]
        if missing or extra:
            raise ValidationError(
                f"{who}: initial_params must give exactly {', '.join(names)}; "
                f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(extra) or 'none'}."
            )
        for p in names:
            if not _is_real_number(given[p]):
                raise ValidationError(
                    f"{who}: initial_params[{p!r}] must be a positive finite number; got "
                    f"{given[p]!r} ({type(given[p]).__name__})."
                )
        values = np.array([float(given[p]) for p in names], dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValidationError(
                f"{who}: every initial parameter must be a positive finite number; got {given}."
            )
        return np.log(values)

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
            A model with ``params_`` set; ``covariance_`` and ``log_likelihood_`` are NaN and
            ``n_obs_`` is 0.

        Raises
        ------
        ValidationError
            If a parameter is missing, unknown, non-finite or not positive.
        """
        who = f"{cls.__name__}.from_params"
        names = cls._param_names
        missing = [p for p in names if p not in params]
        extra = [p for p in params if p not in names]
        if missing or extra:
            raise ValidationError(
                f"{who}: expected parameters {', '.join(names)}; "
                f"missing: {', '.join(missing) or 'none'}, unknown: {', '.join(extra) or 'none'}."
            )
        for p in names:
            if not _is_real_number(params[p]):
                raise ValidationError(
                    f"The {p!r} parameter of {who} must be a positive finite number. "
                    f"Got {params[p]!r} ({type(params[p]).__name__}) instead."
                )
        values = np.array([float(params[p]) for p in names], dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValidationError(
                f"{who}: every parameter must be a positive finite number; got {params}."
            )
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
        names = list(self._param_names)
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
        se_log = std_err / est
        # isf, not ppf(1 - alpha/2): exact for tiny alpha (ppf(1.0) would be inf)
        z = float(stats.norm.isf(alpha / 2.0))
        table: pd.DataFrame = pd.DataFrame(
            {
                "estimate": est,
                "std_err": std_err,
                "ci_lower": est * np.exp(-z * se_log),
                "ci_upper": est * np.exp(z * se_log),
            },
            index=pd.Index(list(self._param_names), name="parameter"),
        )
        table.attrs["notes"] = self.fit_notes()
        return table

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"{name}(penalizer={self.penalizer!r}) [not fitted]"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        extra = ""
        if self.n_obs_ > 0:
            extra = f"; n_obs={self.n_obs_:,.0f}, log_likelihood={self.log_likelihood_:.2f}"
        if self.time_unit_:
            extra += f"; time_unit={self.time_unit_!r}"
        return f"{name}({params}{extra})"

    def _repr_html_(self) -> str:
        """Jupyter display: the repr line and, once fitted, the ``summary()`` table."""
        import html

        head = f"<p><code>{html.escape(repr(self))}</code></p>"
        if not hasattr(self, "params_"):
            return head
        summary = self._summary_table(0.05)
        table = summary.to_html(float_format=lambda v: f"{v:.4g}")
        fit = ""
        if self.n_obs_ > 0:
            fit = (
                f"<p>log-likelihood {self.log_likelihood_:.2f}, AIC {self.aic_:.2f}, "
                f"BIC {self.bic_:.2f}</p>"
            )
        notes = "".join(
            f"<p><strong>Warning:</strong> {html.escape(note)}</p>"
            for note in summary.attrs["notes"]
        )
        return head + table + fit + notes


class TransactionModel(MaximumLikelihoodModel):
    """Base of the (frequency, recency, T) transaction models; see the module docstring.

    Parameters
    ----------
    penalizer, tol, max_iter, initial_params
        See :class:`MaximumLikelihoodModel`.

    Notes
    -----
    Input limits: frequencies, recencies, ages ``T`` and the time arguments of the
    predictions (``t``, ``future_t``, tracking times) are at most ``1e9`` periods
    (``_max_time``; BG/BB counts opportunities and allows ``1e5``, because its sums run over
    them), and the ``n`` of the purchase probabilities at most ``10,000``; larger values are
    rejected with a ValidationError instead of returning NaN/inf or running for minutes.
    """

    _lifetimes_class: ClassVar[str | None] = None
    _max_time: ClassVar[float] = _MAX_TIME
    _lifetimes_param_names: ClassVar[tuple[str, ...] | None] = None

    # ------------------------------------------------------------------ subclass hooks
    def _neg_log_likelihood_and_grad(
        self,
        log_params: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        w: FloatArray,
    ) -> tuple[float, FloatArray]:
        raise NotImplementedError

    def _initial_log_params(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
    ) -> FloatArray:
        return np.zeros(len(self._param_names))

    def _make_objective(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
    ) -> Objective:
        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            return self._neg_log_likelihood_and_grad(log_params, x, t_x, T, w)

        return objective

    def _extra_input_checks(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> list[tuple[str, npt.NDArray[np.bool_]]]:
        return []

    def _expected_purchases_kernel(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> FloatArray:
        raise NotImplementedError(f"{type(self).__name__} does not implement expected_purchases")

    def _expected_purchases_new_customer_kernel(
        self, params: FloatArray, t: FloatArray
    ) -> FloatArray:
        raise NotImplementedError(
            f"{type(self).__name__} does not implement expected_purchases_new_customer"
        )

    def _probability_alive_kernel(
        self,
        params: FloatArray,
        future_t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        raise NotImplementedError(f"{type(self).__name__} does not implement probability_alive")

    def _purchase_probability_kernel(
        self,
        params: FloatArray,
        n: FloatArray,
        t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        raise NotImplementedError(f"{type(self).__name__} does not implement purchase_probability")

    def _population_purchase_probability_kernel(
        self, params: FloatArray, n: FloatArray, t: FloatArray
    ) -> FloatArray:
        raise NotImplementedError(
            f"{type(self).__name__} does not implement population_purchase_probability"
        )

    # ------------------------------------------------------------------ input handling
    def _validate_rows(
        self,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        ids: Sequence[Any] | pd.Index | None,
        cols: tuple[str, str, str],
        who: str,
        w: FloatArray | None = None,
        weights_col: str | None = None,
    ) -> None:
        fcol, rcol, tcol = cols
        with np.errstate(invalid="ignore"):
            rules: list[tuple[str, npt.NDArray[np.bool_]]] = [
                (f"{fcol} must be finite and not missing", ~np.isfinite(x)),
                (f"{rcol} must be finite and not missing", ~np.isfinite(t_x)),
                (f"{tcol} must be finite and not missing", ~np.isfinite(T)),
                (f"{fcol} must be >= 0", x < 0),
                (f"{fcol} must be a whole number", np.isfinite(x) & (x != np.round(x))),
                (f"{rcol} must be >= 0", t_x < 0),
                (f"{tcol} must be >= 0", T < 0),
                (f"{rcol} must be <= {tcol}", t_x > T),
                (f"{rcol} must be 0 when {fcol} is 0", (x == 0) & (t_x != 0)),
                (f"{fcol} must be 0 when {tcol} is 0", (T == 0) & (x > 0)),
                (f"{fcol} must be <= {self._max_time:g}", x > self._max_time),
                (f"{tcol} must be <= {self._max_time:g}", self._max_time < T),
            ]
            if w is not None:
                rules.append(
                    (f"{weights_col} must be finite and >= 0", ~(w >= 0) | ~np.isfinite(w))
                )
        rules.extend(self._extra_input_checks(x, t_x, T))
        problems = []
        n = len(x)
        for rule, mask in rules:
            count = int(np.count_nonzero(mask))
            if count:
                where = np.flatnonzero(mask)[:6]
                first = [ids[i] for i in where] if ids is not None else list(where)
                label = "first ids" if ids is not None else "first rows"
                problems.append(
                    f"{rule}; {count:,} of {n:,} rows violate this ({label}: {format_ids(first)})"
                )
        if problems:
            raise ValidationError(
                f"{who}: " + ". ".join(problems) + ". Hint: build the input with "
                "crmcore.value.btyd_summary, and check that observation_end is after the last "
                "purchase."
            )

    def _frame_arrays(
        self,
        data: Any,
        cols: Sequence[str],
        who: str,
        id_col: str | None = _DEFAULT_ID_COL,
    ) -> tuple[list[FloatArray], pd.Index | None]:
        """Columns of a pandas/Polars/PyArrow frame as float64 arrays plus the row labels.

        A pandas frame gives its index. A Polars/PyArrow frame (no index) gives the values
        of `id_col` as an Index named after it when that column exists, else None; an
        `id_col` other than the default that is missing raises ColumnNotFoundError.
        """
        # checked on the narwhals wrapper so that PyArrow tables list their column names
        require_model_columns(data, list(cols), who=who)
        if isinstance(data, pd.DataFrame):
            index: pd.Index | None = data.index
            arrays = []
            for c in cols:
                series = data[c]
                if not (
                    pd.api.types.is_numeric_dtype(series.dtype)
                    and not pd.api.types.is_bool_dtype(series.dtype)
                ):
                    raise ValidationError(
                        f"{who}: column {c!r} must be numeric; got dtype {series.dtype}."
                    )
                arrays.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
            return arrays, index
        frame = as_narwhals(data, who=who)
        arrays = []
        for c in cols:
            dtype = frame.schema[c]
            if not dtype.is_numeric():
                raise ValidationError(f"{who}: column {c!r} must be numeric; got dtype {dtype}.")
            col = frame[c]
            if col.null_count():
                col = col.cast(nw.Float64).fill_null(float("nan"))
            arrays.append(np.asarray(col.to_numpy(), dtype=np.float64))
        ids: pd.Index | None = None
        if id_col is not None:
            if id_col in frame.columns:
                ids = pd.Index(frame[id_col].to_numpy(), name=id_col)
            elif id_col != _DEFAULT_ID_COL:
                require_columns(frame, [id_col], who=who)
        return arrays, ids

    def _prediction_arrays(
        self,
        data: Any,
        cols: tuple[str, str, str],
        who: str,
        id_col: str | None = _DEFAULT_ID_COL,
    ) -> tuple[FloatArray, FloatArray, FloatArray, pd.Index | None, bool]:
        """(x, t_x, T, index, is_frame) for a prediction input.

        ``data`` is a pandas/Polars/PyArrow frame with the three columns, a tuple or list of
        three array-likes ``(frequency, recency, T)``, or a 2-D array with those three columns.
        A pandas frame gives its index; a Polars/PyArrow frame gives its `id_col` column
        (``customer_id`` by default) when present, else a RangeIndex; array input gives
        ``index=None`` and ``is_frame=False`` (the caller then returns an ndarray).
        """
        is_frame = True
        index: pd.Index | None
        if isinstance(data, (tuple, list)):
            if len(data) != 3:
                raise ValidationError(
                    f"{who}: array input must be (frequency, recency, T); got {len(data)} arrays."
                )
            arrays = [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in data]
            x, t_x, T = np.broadcast_arrays(*arrays)
            index, is_frame = None, False
        elif isinstance(data, np.ndarray):
            arr = np.asarray(data, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != 3:
                raise ValidationError(
                    f"{who}: a 2-D array input must have 3 columns (frequency, recency, T); "
                    f"got shape {arr.shape}."
                )
            x, t_x, T = arr[:, 0], arr[:, 1], arr[:, 2]
            index, is_frame = None, False
        else:
            (x, t_x, T), index = self._frame_arrays(data, cols, who, id_col)
            if index is None:
                index = pd.RangeIndex(len(x))
        x = np.ascontiguousarray(x, dtype=np.float64)
        t_x = np.ascontiguousarray(t_x, dtype=np.float64)
        T = np.ascontiguousarray(T, dtype=np.float64)
        self._validate_rows(x, t_x, T, index, cols, who)
        return x, t_x, T, index, is_frame

    # ------------------------------------------------------------------ fit
    def fit(
        self: _TM,
        data: Any,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        weights_col: str | None = None,
    ) -> _TM:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        data : DataFrame (pandas, Polars or PyArrow)
            One row per customer (or per group of identical customers with `weights_col`),
            e.g. the output of :func:`~crmcore.value.btyd_summary`. Other columns are ignored.
        frequency_col, recency_col, T_col : str
            Columns holding the number of repeat purchases ``x``, the time of the last
            purchase since the first ``t_x`` and the customer's age ``T`` (same time unit).
        weights_col : str, optional
            Column of non-negative row counts (how many customers each row stands for).

        Returns
        -------
        self

        Raises
        ------
        ColumnNotFoundError
            If a column is missing.
        ValidationError
            On NaN, non-finite values, negative or fractional frequency, negative recency,
            ``T < 0``, ``recency > T``, ``recency != 0`` with ``frequency == 0``,
            ``frequency > 0`` with ``T == 0``, negative weights (count and first ids given),
            or a bad setting; also when every row has ``T == 0``.
        ColumnNotFoundError
            If a column is missing; when `data` looks like an order log or an RFM table
            (:func:`~crmcore.segmentation.rfm_table`) the message says so and names the
            function that builds the right input (:func:`~crmcore.value.btyd_summary`).
        ConvergenceError
            If the likelihood is not finite at the start or at the end.

        Warns
        -----
        ConvergenceWarning
            If the fit does not end at a verified maximum (see Notes) or a parameter reaches
            its bound.

        Notes
        -----
        **Customers with T = 0** (first purchase in the last period of the window, which
        :func:`~crmcore.value.btyd_summary` produces at week or month resolution) are
        accepted and *left out of the likelihood*: their count is ``n_excluded_`` and they
        are not in ``n_obs_`` (so not in BIC or the penalizer's ``1/n``). Such a customer has
        ``x = t_x = 0`` and likelihood exactly 1 whatever the parameters: BG/NBD
        ``(alpha/(alpha+0))^r = 1``; MBG/NBD ``b/(a+b) + a/(a+b) = 1`` (the "dead at time 0"
        term is ``B(a+1, b)/B(a, b) (alpha/alpha)^r``); Pareto/NBD
        ``(alpha/alpha)^r (beta/beta)^s + s * (integral over [0, 0]) = 1``; BG/BB
        ``B(a, b)/B(a, b) * B(g, d)/B(g, d) = 1`` (no opportunity yet). They are scored like
        any other customer (``probability_alive``, ``expected_purchases`` ...).

        Identical ``(x, t_x, T)`` rows are merged into one row whose weight is their count
        (the likelihood depends on nothing else), which makes the fit exact and fast on data
        with discrete times. The optimiser works on log-parameters (L-BFGS-B with the analytic
        gradient, then Newton's method where the model has an analytic Hessian).

        **Verified maximum.** The end point is checked on the summed objective: the largest
        gradient in log-parameters must be below ``1e-4`` per customer and, where the Hessian
        is positive definite, a Newton step must promise a log-likelihood gain below
        ``1e-5``. A point that fails (an optimiser stopped on a flat ridge, as happens with
        Pareto/NBD where the likelihood barely changes along ``s/beta`` fixed) is finished
        with Newton steps (numerical Hessian where no analytic one exists), then restarted
        from a few spread points (along the ridge for Pareto/NBD); the best point wins.
        ``max_gradient_`` and ``newton_gain_`` record the final check and ``converged_`` its
        outcome; a ConvergenceWarning names the remedy when it still fails.

        The covariance is the inverse Hessian of the summed negative log-likelihood on the
        log scale (analytic, or a numerical derivative of the analytic gradient,
        symmetrised), mapped to the natural scale by the delta method. Time is never rescaled,
        so ``log_likelihood_`` is on the caller's time scale; the time unit is read from
        ``data.attrs["time_unit"]`` (set by ``btyd_summary``) into ``time_unit_``.

        Examples
        --------
        A weekly summary in which one customer bought for the first time in the last week:

        >>> import pandas as pd
        >>> from crmcore.value import BetaGeoModel
        >>> data = pd.DataFrame({"frequency": [0, 1, 4, 2, 0], "recency": [0, 3, 9, 5, 0],
        ...                      "T": [10, 10, 10, 8, 0]}, index=list("abcde"))
        >>> model = BetaGeoModel().fit(data)
        >>> model.n_obs_, model.n_excluded_
        (4.0, 1.0)
        >>> bool(model.converged_)
        True
        """
        who = self._who("fit")
        self._check_settings()
        cols = (frequency_col, recency_col, T_col)
        needed = list(cols) + ([weights_col] if weights_col is not None else [])
        arrays, index = self._frame_arrays(data, needed, who)
        x, t_x, T = arrays[0], arrays[1], arrays[2]
        w = arrays[3] if weights_col is not None else None
        self._validate_rows(x, t_x, T, index, cols, who, w=w, weights_col=weights_col)
        if len(x) == 0:
            raise ValidationError(f"{who}: the data has no rows.")
        xc, tc, Tc, wc = compress_rows(x, t_x, T, w)
        if float(np.sum(wc)) <= 0:
            raise ValidationError(f"{who}: the weights sum to zero; nothing to fit.")
        # T = 0 rows (first purchase in the last period) have likelihood exactly 1 under
        # every model: they are left out of the optimisation and counted
        zero_age = Tc == 0
        self.n_excluded_ = float(np.sum(wc[zero_age]))
        if np.any(zero_age):
            keep = ~zero_age
            xc, tc, Tc, wc = xc[keep], tc[keep], Tc[keep], wc[keep]
        n_obs = float(np.sum(wc))
        if n_obs <= 0:
            raise ValidationError(
                f"{who}: every customer has {T_col} = 0 (first purchase in the last period of "
                "the observation window), so the data carry no information about repeat "
                "buying. Hint: use a later observation_end or a finer time_unit in "
                "crmcore.value.btyd_summary."
            )
        x0 = self._initial_from_settings(self._initial_log_params(xc, tc, Tc, wc))
        near = len(xc) > _WARM_START_ROWS
        if near:
            # a fit on a systematic subsample gives a starting point close to the optimum,
            # so the full-data optimiser needs few iterations (the result does not depend
            # on it beyond the tolerance)
            pick = np.linspace(0, len(xc) - 1, _WARM_START_SAMPLE).astype(np.int64)
            sub = self._make_objective(xc[pick], tc[pick], Tc[pick], wc[pick])
            x0 = self._minimise(sub, x0, float(np.sum(wc[pick])), warm=True)[0]
        objective = self._make_objective(xc, tc, Tc, wc)
        attrs = getattr(data, "attrs", None)
        unit = attrs.get("time_unit") if isinstance(attrs, dict) else None
        self.time_unit_ = None if unit is None else str(unit)
        self._optimise(objective, x0, n_obs, near=near)
        return self

    # ------------------------------------------------------------------ predictions
    def _wrap(self, values: FloatArray, index: pd.Index | None, is_frame: bool, name: str) -> Any:
        values = np.asarray(values, dtype=np.float64)
        if not is_frame:
            return values
        return pd.Series(values, index=index, name=name)

    def _check_t(self, name: str, t: Any, who: str, *, allow_zero: bool = True) -> FloatArray:
        arr = _numeric_array(name, t, who)
        limit = self._max_time
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > limit):
            raise ValidationError(
                f"{who}: {name} must be a finite number in [0, {limit:g}] (or a 1-D array of "
                f"them); got {t!r}."
            )
        if not allow_zero and np.any(arr == 0):
            raise ValidationError(f"{who}: {name} must be > 0; got {t!r}.")
        return arr

    def _check_n(self, n: Any, who: str) -> FloatArray:
        arr = _numeric_array("n", n, who)
        if (
            not np.all(np.isfinite(arr))
            or np.any(arr < 0)
            or np.any(arr > _MAX_N)
            or np.any(arr != np.round(arr))
        ):
            raise ValidationError(
                f"{who}: n must be a whole number in [0, {_MAX_N:,}] (or a 1-D array of "
                f"them); got {n!r}."
            )
        return arr

    def expected_purchases(
        self,
        data: Any,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        id_col: str | None = _DEFAULT_ID_COL,
    ) -> Any:
        """Expected number of purchases in the next `t` periods, given each customer's history.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories (same time unit as the fit).
        t : float
            Length of the future window ``(T, T + t]``.
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        id_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the column whose values
            label the result; used when present (a RangeIndex otherwise). A pandas frame's
            own index is always kept.

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``E[X(T, T + t) | x, t_x, T]``, a Series aligned with the frame's index (an ndarray
            for array input).
        """
        self._check_fitted()
        who = self._who("expected_purchases")
        tt = self._check_t("t", t, who)
        x, t_x, T, index, is_frame = self._prediction_arrays(
            data, (frequency_col, recency_col, T_col), who, id_col
        )
        out = self._expected_purchases_kernel(self._params_array(), tt, x, t_x, T)
        return self._wrap(out, index, is_frame, "expected_purchases")

    def probability_alive(
        self,
        data: Any,
        future_t: float = 0.0,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        id_col: str | None = _DEFAULT_ID_COL,
    ) -> Any:
        """Probability that each customer is still active at ``T + future_t``.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories.
        future_t : float, default 0
            How far beyond the end of the observation period to look.
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        id_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the column whose values
            label the result; used when present (a RangeIndex otherwise). A pandas frame's
            own index is always kept.

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities in [0, 1].
        """
        self._check_fitted()
        who = self._who("probability_alive")
        ft = self._check_t("future_t", future_t, who)
        x, t_x, T, index, is_frame = self._prediction_arrays(
            data, (frequency_col, recency_col, T_col), who, id_col
        )
        out = self._probability_alive_kernel(self._params_array(), ft, x, t_x, T)
        return self._wrap(np.clip(out, 0.0, 1.0), index, is_frame, "probability_alive")

    def purchase_probability(
        self,
        data: Any,
        n: int,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        id_col: str | None = _DEFAULT_ID_COL,
    ) -> Any:
        """Probability of exactly `n` purchases in the next `t` periods, given the history.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories.
        n : int
            Number of purchases (0 allowed; at most 10,000, the documented input limit of
            :class:`TransactionModel`).
        t : float
            Length of the future window ``(T, T + t]``.
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        id_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the column whose values
            label the result; used when present (a RangeIndex otherwise). A pandas frame's
            own index is always kept.

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``P(X(T, T + t) = n | x, t_x, T)``.
        """
        self._check_fitted()
        who = self._who("purchase_probability")
        nn = self._check_n(n, who)
        tt = self._check_t("t", t, who)
        x, t_x, T, index, is_frame = self._prediction_arrays(
            data, (frequency_col, recency_col, T_col), who, id_col
        )
        out = self._purchase_probability_kernel(self._params_array(), nn, tt, x, t_x, T)
        return self._wrap(np.clip(out, 0.0, 1.0), index, is_frame, "purchase_probability")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Expected number of repeat purchases of a newly acquired customer in ``(0, t]``.

        Parameters
        ----------
        t : float or 1-D array of float
            Time since the first purchase.

        Returns
        -------
        float or numpy.ndarray
            ``E[X(t)]``; a float for scalar `t`.
        """
        self._check_fitted()
        who = self._who("expected_purchases_new_customer")
        tt = self._check_t("t", t, who)
        out = np.asarray(
            self._expected_purchases_new_customer_kernel(self._params_array(), tt),
            dtype=np.float64,
        )
        return float(out) if out.ndim == 0 else out

    def population_purchase_probability(self, n: Any, t: Any) -> Any:
        """Probability that a newly acquired customer makes exactly `n` repeat purchases by `t`.

        Parameters
        ----------
        n : int or 1-D array of int
            Number of repeat purchases (0 allowed; at most 10,000: the pmf of some models is
            a sum over ``n`` terms, e.g. Pareto/NBD, so larger ``n`` would run for minutes).
        t : float or 1-D array of float
            Time since the first purchase (broadcast against `n`).

        Returns
        -------
        float or numpy.ndarray
            ``P(X(t) = n)``; a float when both arguments are scalars.

        Raises
        ------
        ValidationError
            If `n` is not a whole number in ``[0, 10000]``, `t` not a number in ``[0, 1e9]``
            (``[0, 1e5]`` opportunities for BG/BB), or either is text, ``None`` or ragged.

        Examples
        --------
        >>> from crmcore.value import BetaGeoModel
        >>> m = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> m.population_purchase_probability(10**6, 10.0)
        Traceback (most recent call last):
        ...
        crmcore.exceptions.ValidationError: BetaGeoModel.population_purchase_probability: n must be a whole number in [0, 10,000] (or a 1-D array of them); got 1000000.
        """  # noqa: E501
        self._check_fitted()
        who = self._who("population_purchase_probability")
        nn = self._check_n(n, who)
        tt = self._check_t("t", t, who)
        out = np.asarray(
            self._population_purchase_probability_kernel(self._params_array(), nn, tt),
            dtype=np.float64,
        )
        out = np.clip(out, 0.0, 1.0)
        return float(out) if out.ndim == 0 else out

    def tracking_curve(self, acquisition_times: Any, times: Any) -> pd.DataFrame:
        """Expected cumulative and incremental repeat transactions of an acquired cohort.

        Parameters
        ----------
        acquisition_times : 1-D array-like of float
            Time of each customer's first purchase, on the calendar axis of `times` and in the
            model's time unit (e.g. weeks since the start of the acquisition window). From a
            ``btyd_summary`` frame: ``T.max() - T`` (times since the first acquisition).
        times : 1-D array-like of float
            Increasing calendar times at which to evaluate the curve.

        Returns
        -------
        pandas.DataFrame
            Indexed by `times` (name ``time``) with ``cumulative`` (expected repeat
            transactions of the whole cohort in ``(acquisition, time]``, summed over customers)
            and ``incremental`` (the difference from the previous time; the first row equals
            the cumulative value).

        Notes
        -----
        ``cumulative(t) = sum_i E[X(t - s_i)] 1{t > s_i}`` (Fader, Hardie & Lee 2005, the
        tracking plot of section 4). Customers acquired at the same time are grouped, so the
        cost depends on the number of distinct acquisition times only.
        """
        self._check_fitted()
        who = self._who("tracking_curve")
        s = _numeric_array("acquisition_times", acquisition_times, who).ravel()
        grid = _numeric_array("times", times, who).ravel()
        limit = self._max_time
        for label, arr in (("acquisition_times", s), ("times", grid)):
            if not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > limit):
                raise ValidationError(
                    f"{who}: {label} must be finite numbers in [-{limit:g}, {limit:g}]; "
                    f"got {format_ids(arr[~(np.abs(arr) <= limit)])} among {arr.size:,} values."
                )
        if grid.size > 1 and np.any(np.diff(grid) <= 0):
            raise ValidationError(f"{who}: times must be strictly increasing.")
        uniq, counts = np.unique(s, return_counts=True)
        age = np.clip(grid[None, :] - uniq[:, None], 0.0, None)
        kernel = self._expected_purchases_new_customer_kernel
        expected = np.asarray(kernel(self._params_array(), age.ravel()), dtype=np.float64)
        expected = np.where(age.ravel() > 0, expected, 0.0).reshape(age.shape)
        cumulative = counts.astype(np.float64) @ expected
        incremental = np.diff(cumulative, prepend=0.0)
        curve: pd.DataFrame = pd.DataFrame(
            {"cumulative": cumulative, "incremental": incremental},
            index=pd.Index(grid, name="time"),
        )
        return curve

    # ------------------------------------------------------------------ interop
    @classmethod
    def from_lifetimes(cls: type[_TM], fitter: Any, *, time_unit: str | None = None) -> _TM:
        """Build a model from a fitted lifetimes fitter of the matching class.

        Parameters
        ----------
        fitter : lifetimes fitter
            A fitted ``lifetimes`` fitter of the class this model mirrors.
        time_unit : str, optional
            Time unit of the data the fitter saw.

        Returns
        -------
        model
            A scoring model with lifetimes' parameters (no covariance, no log-likelihood:
            lifetimes reports those on a rescaled time axis).
        """
        from crmcore.value._interop import params_from_lifetimes

        params = params_from_lifetimes(
            fitter,
            expected_class=cls._lifetimes_class,
            names=cls._param_names,
            lifetimes_names=cls._lifetimes_param_names,
            who=f"{cls.__name__}.from_lifetimes",
        )
        return cls.from_params(time_unit=time_unit, **params)

    def to_lifetimes(self) -> Any:
        """Return an equivalent lifetimes fitter (lifetimes must be installed).

        Returns
        -------
        lifetimes fitter
            A fitter of the matching lifetimes class with ``params_`` set, ready for scoring.
        """
        from crmcore.value._interop import fitter_to_lifetimes

        self._check_fitted()
        return fitter_to_lifetimes(
            class_name=type(self)._lifetimes_class,
            params=self.params_,
            lifetimes_names=type(self)._lifetimes_param_names,
            penalizer=float(self.penalizer),
            who=self._who("to_lifetimes"),
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
    date_col='order_date', amount_col='revenue', observation_end=..., time_unit='W') first
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
            "crmcore.value.btyd_summary(transactions, observation_end=..., time_unit='W', "
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
        f"customer_col={ids[0]!r}, date_col={dates[0]!r}, {amount_arg}observation_end=..., "
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
