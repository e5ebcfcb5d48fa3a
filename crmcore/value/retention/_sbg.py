"""Shifted-beta-geometric (sBG) contractual retention model and the shared cohort machinery.

A customer renews at the end of each contract period with probability 1 - theta and
cancels with probability theta; theta is fixed for a customer and Beta(alpha, beta)
distributed across customers (Fader & Hardie 2007). The sorting of high-theta customers
out of a cohort makes the cohort's retention rate rise with tenure.

:class:`_CohortRetentionModel` holds what every cohort retention model shares on top of the
estimator base :class:`~crmcore.value.MaximumLikelihoodModel` (which gives the optimiser,
covariance, ``summary``, ``from_params``, reprs and pickling): input parsing and validation
through :mod:`._survivors`, the pooled likelihood on log-parameters with an analytic
gradient, projections with intervals, DEL/DERL by a bounded series, residual value through
the one cohort loop of :mod:`._contractual_value`; a model supplies its per-period log
retention rate and its gradient.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from crmcore.exceptions import (
    ConvergenceError,
    NotFittedError,
    ValidationError,
)
from crmcore.value._base import MaximumLikelihoodModel
from crmcore.value.retention import _contractual_value as _cv
from crmcore.value.retention._contractual_value import _check_discount_factor
from crmcore.value.retention._survivors import parse_survivors

__all__ = ["ShiftedBetaGeoModel"]

FloatArray = npt.NDArray[np.float64]
ModelT = TypeVar("ModelT", bound="_CohortRetentionModel")

_CUMSUM_LIMIT = 200_000
_MAX_PERIOD = 2**53  # longest horizon t (periods) accepted by survival and retention


# ---------------------------------------------------------------------------------------
# pooling and periods
# ---------------------------------------------------------------------------------------


def _sufficient_stats(counts: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Pool cohorts: lost[t-1] churned at t (t = 1..T), censored[t] still active at t."""
    horizon = max(c.size for c in counts) - 1
    lost = np.zeros(horizon, dtype=np.float64)
    censored = np.zeros(horizon + 1, dtype=np.float64)
    for c in counts:
        n = c.size - 1
        lost[:n] += c[:-1] - c[1:]
        censored[n] += c[-1]
    return lost, censored


def _as_periods(t: Any, *, who: str, low: int) -> tuple[npt.NDArray[np.int64], bool]:
    try:
        arr = np.asarray(t)
    except (TypeError, ValueError):  # ragged nested sequences
        raise ValidationError(
            f"{who}: t must be an integer period or a rectangular array of them; got {t!r}."
        ) from None
    scalar = arr.ndim == 0
    flat = np.atleast_1d(arr)
    if flat.dtype.kind not in "iuf" or flat.dtype == np.bool_:
        raise ValidationError(f"{who}: t must be an integer period (or array of them); got {t!r}.")
    as_float = flat.astype(np.float64)
    if (
        not np.isfinite(as_float).all()
        or (as_float != np.round(as_float)).any()
        or (as_float < low).any()
        or (as_float > _MAX_PERIOD).any()
    ):
        raise ValidationError(
            f"{who}: t must be whole periods in [{low}, 2**53]; got {t!r}. Hint: periods are "
            "counted in contract periods since acquisition."
        )
    return as_float.astype(np.int64), scalar


# ---------------------------------------------------------------------------------------
# the shared estimator
# ---------------------------------------------------------------------------------------


class _CohortObjective:
    """Summed negative log-likelihood of pooled cohort counts, in log-parameters.

    ``__call__`` gives the value and its analytic gradient; ``value_grad_hessian`` adds
    the Hessian by central differences of that gradient, so that the base's Newton steps
    (:meth:`MaximumLikelihoodModel._minimise`) finish the fit. The counts are pooled
    (``lost``, ``censored``: one number per period), never per customer.
    """

    def __init__(
        self, model: type[_CohortRetentionModel], lost: FloatArray, censored: FloatArray
    ) -> None:
        self.model = model
        self.lost = lost
        self.censored = censored

    def __call__(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        return self.model._neg_ll(log_params, self.lost, self.censored, 1.0)

    def value_grad_hessian(self, log_params: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        value, grad = self(log_params)
        hess = -self.model._hessian_log(log_params, self.lost, self.censored)
        return value, grad, hess


class _CohortRetentionModel(MaximumLikelihoodModel):
    """Base class: maximum likelihood on pooled right-censored cohort survivor counts.

    A thin layer over :class:`~crmcore.value.MaximumLikelihoodModel`: the base optimises
    (Newton steps on the Hessian of the analytic gradient, L-BFGS-B as fall-back, the
    maximum check), stores ``params_``, ``covariance_``, ``log_likelihood_``, ``aic_``,
    ``bic_``, and gives ``summary``, ``from_params``, the reprs and pickling. This class adds
    survivor-count parsing, the pooled likelihood, projections and DEL/DERL. ``n_obs_`` is
    the number of customers (period-0 counts); ``time_unit_`` is None (contract periods).
    """

    n_cohorts_: int
    n_customers_: int
    _design_: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None

    # fixed, not settings: no penalty, the optimiser starts at log-parameters 0
    penalizer = 0.0
    initial_params = None

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 500) -> None:
        # only the settings of this signature (no super().__init__: see the class vars)
        self.tol = tol
        self.max_iter = max_iter

    def _settings_repr(self) -> str:
        return f"tol={self.tol!r}, max_iter={self.max_iter!r}"

    # -- model-specific kernels (natural parameters p, periods t >= 1) -------------------
    @classmethod
    def _log_retention(cls, p: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Return log r(t) and log(1 - r(t)), r(t) = S(t) / S(t - 1)."""
        raise NotImplementedError

    @classmethod
    def _log_retention_grad(
        cls, p: FloatArray, t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """log r, log(1 - r) and their gradients w.r.t. the log-parameters (len(t), k)."""
        raise NotImplementedError

    @classmethod
    def _log_survival_closed(cls, p: FloatArray, t: FloatArray) -> FloatArray:
        """Closed-form log S(t) for any t >= 0 (used for very long horizons)."""
        raise NotImplementedError

    @classmethod
    def _draw_lifetimes(cls, p: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
        """Simulate `size` lifetimes T >= 1 (the period of cancellation)."""
        raise NotImplementedError

    # -- likelihood ------------------------------------------------------------------------
    @classmethod
    def _neg_ll(
        cls, x: FloatArray, lost: FloatArray, censored: FloatArray, scale: float
    ) -> tuple[float, FloatArray]:
        p = np.exp(x)
        horizon = lost.size
        k = len(cls._param_names)
        t = np.arange(1, horizon + 1, dtype=np.float64)
        lr, l1r, g_lr, g_l1r = cls._log_retention_grad(p, t)
        log_s = np.concatenate([[0.0], np.cumsum(lr)])
        g_s = np.vstack([np.zeros((1, k)), np.cumsum(g_lr, axis=0)])
        log_p = log_s[:-1] + l1r
        g_p = g_s[:-1] + g_l1r
        used_l = lost > 0
        used_c = censored > 0
        ll = float(lost[used_l] @ log_p[used_l] + censored[used_c] @ log_s[used_c])
        grad = lost[used_l] @ g_p[used_l] + censored[used_c] @ g_s[used_c]
        if not math.isfinite(ll):
            return math.inf, np.zeros(k)
        return -ll / scale, -np.asarray(grad, dtype=np.float64) / scale

    @classmethod
    def _hessian_log(cls, x: FloatArray, lost: FloatArray, censored: FloatArray) -> FloatArray:
        """Hessian of the log-likelihood in log-parameters (central differences of the
        analytic gradient)."""
        k = x.size
        hess = np.empty((k, k))
        for j in range(k):
            h = 1e-5 * max(1.0, abs(float(x[j])))
            xp = x.copy()
            xm = x.copy()
            xp[j] += h
            xm[j] -= h
            gp = -cls._neg_ll(xp, lost, censored, 1.0)[1]
            gm = -cls._neg_ll(xm, lost, censored, 1.0)[1]
            hess[:, j] = (gp - gm) / (2 * h)
        return np.asarray(0.5 * (hess + hess.T), dtype=np.float64)

    # -- public API ------------------------------------------------------------------------
    def fit(
        self: ModelT,
        survivors: Any,
        *,
        layout: str = "age",
        n_periods: int | None = None,
    ) -> ModelT:
        """Fit the model by maximum likelihood to cohort survivor counts.

        Parameters
        ----------
        survivors : sequence, list of sequences, 2-D array or DataFrame
            One cohort's survivor counts at t = 0, 1, ..., n (e.g. ``[1000, 631, 468]``);
            or a list of such sequences, one per cohort, of different lengths (cohorts
            acquired in different calendar periods, all observed up to now); or a cohort x
            period DataFrame with NaN where a cohort is not observed (see `layout`).
        layout : {"age", "calendar"}, default "age"
            DataFrame columns are periods since acquisition ("age": each row starts at
            column 0, NaN after its last observed period) or calendar periods
            ("calendar": a staircase; each row starts at its acquisition period and runs to
            the last column; a row labelled with a column label must start there).
        n_periods : int, optional
            Length of the period table: when given, a cohort with counts beyond period
            `n_periods` is an error.

        Returns
        -------
        self

        Raises
        ------
        ValidationError
            Survivor counts that increase, negative, non-integer, non-finite or above 2**53
            counts, `tol` not in (0, 1] or `max_iter` not an int >= 1, a cohort starting
            at 0, a gap in a cohort's counts, a cohort longer than the period table, or
            data without any cancellation (all problems listed at once).
        ConvergenceError
            If the optimiser fails.

        Warns
        -----
        ConvergenceWarning
            When the fit does not reach a verified maximum inside the parameter range
            (e.g. an almost homogeneous cohort) or the information matrix is singular.

        Notes
        -----
        The model keeps the fitted parameters, their covariance and, for the parametric
        bootstrap of :meth:`project`, each cohort's size and observation length
        (``_design_``); not the counts.
        """
        who = f"{type(self).__name__}.fit"
        from crmcore._validation import check_param_number

        check_param_number("tol", self.tol, who=who, low=0, high=1, low_inclusive=False)
        check_param_number("max_iter", self.max_iter, who=who, low=1, integer=True)
        if n_periods is not None:
            check_param_number("n_periods", n_periods, who=who, low=1, integer=True)
        _, counts = parse_survivors(survivors, who=who, layout=layout, n_periods=n_periods)
        if max(c.size for c in counts) < 2:
            raise ValidationError(
                f"{who}: no cohort has been observed over a renewal (every cohort has a single "
                "count); the model needs at least one cohort with counts at t = 0 and t = 1."
            )
        lost, censored = _sufficient_stats(counts)
        if lost.sum() == 0:
            raise ValidationError(
                f"{who}: no customer has cancelled in the data, so the churn distribution "
                "cannot be estimated (the likelihood grows without bound as churn -> 0)."
            )
        objective = _CohortObjective(type(self), lost, censored)
        n_obs = float(lost.sum() + censored.sum())
        try:
            self._optimise(objective, np.zeros(len(self._param_names)), n_obs)
        except ConvergenceError:
            raise ConvergenceError(
                f"{who}: the optimiser failed. Hint: check the counts; a cohort table with "
                "very few cancellations carries little information."
            ) from None
        self.n_excluded_ = 0.0
        self.time_unit_ = None
        self.n_cohorts_ = len(counts)
        self.n_customers_ = int(sum(c[0] for c in counts))
        self._design_ = (
            np.array([c[0] for c in counts], dtype=np.int64),
            np.array([c.size - 1 for c in counts], dtype=np.int64),
        )
        return self

    @classmethod
    def _from_param_values(cls: type[ModelT], values: dict[str, Any]) -> ModelT:
        who = f"{cls.__name__}.from_params"
        checked = {
            name: _cv._check_positive(name, values[name], who=who) for name in cls._param_names
        }
        model = super().from_params(time_unit=None, **checked)
        model.n_cohorts_ = 0
        model.n_customers_ = 0
        model._design_ = None
        return model

    def _fitted_params(self, who: str) -> FloatArray:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{type(self).__name__}.{who}: this model is not fitted yet. Call fit(...) or "
                "build one with from_params(...)."
            )
        return self._params_array()

    def _cov_log(self, p: FloatArray) -> FloatArray | None:
        """Covariance of the log-parameters, or None when there is none (from_params)."""
        cov = self.covariance_.to_numpy(dtype=np.float64) / np.outer(p, p)
        return None if np.isnan(cov).all() else np.asarray(cov, dtype=np.float64)

    def _log_survival_array(self, p: FloatArray, t: npt.NDArray[np.int64]) -> FloatArray:
        if t.size == 0:
            return np.zeros(0)
        horizon = int(t.max())
        if horizon <= _CUMSUM_LIMIT:
            steps = np.arange(1, horizon + 1, dtype=np.float64)
            lr, _ = self._log_retention(p, steps)
            log_s = np.concatenate([[0.0], np.cumsum(np.minimum(lr, 0.0))])
            return np.asarray(log_s[t], dtype=np.float64)
        return self._log_survival_closed(p, t.astype(np.float64))

    @overload
    def survival(self, t: int) -> float: ...
    @overload
    def survival(self, t: npt.ArrayLike) -> float | FloatArray: ...
    def survival(self, t: npt.ArrayLike) -> float | FloatArray:
        """Probability S(t) that a new customer is still a customer after t periods.

        S(0) = 1. A scalar t gives a float, an array gives an array. t must be whole
        periods in [0, 2**53] (a ValidationError otherwise, also for ragged input).
        """
        p = self._fitted_params("survival")
        periods, scalar = _as_periods(t, who=f"{type(self).__name__}.survival", low=0)
        out = np.exp(self._log_survival_array(p, periods))
        return float(out[0]) if scalar else out.reshape(np.shape(t))

    @overload
    def retention_rate(self, t: int) -> float: ...
    @overload
    def retention_rate(self, t: npt.ArrayLike) -> float | FloatArray: ...
    def retention_rate(self, t: npt.ArrayLike) -> float | FloatArray:
        """Retention rate r(t) = S(t) / S(t - 1) of period t >= 1 (share of the customers
        active at t - 1 who renew at t)."""
        p = self._fitted_params("retention_rate")
        periods, scalar = _as_periods(t, who=f"{type(self).__name__}.retention_rate", low=1)
        lr, _ = self._log_retention(p, periods.astype(np.float64))
        out = np.exp(np.minimum(lr, 0.0))
        return float(out[0]) if scalar else out.reshape(np.shape(t))

    @overload
    def churn_probability(self, t: int) -> float: ...
    @overload
    def churn_probability(self, t: npt.ArrayLike) -> float | FloatArray: ...
    def churn_probability(self, t: npt.ArrayLike) -> float | FloatArray:
        """Probability P(T = t) that a new customer cancels at period t >= 1
        (= S(t - 1) - S(t), computed without cancellation)."""
        p = self._fitted_params("churn_probability")
        periods, scalar = _as_periods(t, who=f"{type(self).__name__}.churn_probability", low=1)
        log_s = self._log_survival_array(p, periods - 1)
        _, l1r = self._log_retention(p, periods.astype(np.float64))
        out = np.exp(log_s + l1r)
        return float(out[0]) if scalar else out.reshape(np.shape(t))

    def _curves(self, p: FloatArray, horizon: int) -> tuple[FloatArray, FloatArray]:
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        lr, _ = self._log_retention(p, steps)
        lr = np.minimum(lr, 0.0)
        return np.concatenate([[0.0], np.cumsum(lr)]), lr

    def project(
        self,
        n_periods: int,
        *,
        alpha: float = 0.05,
        method: str = "delta",
        n_boot: int = 500,
        random_state: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Project survival and retention for t = 0..n_periods with (1 - alpha) intervals.

        Parameters
        ----------
        n_periods : int
            Last period of the projection (>= 1).
        alpha : float, default 0.05
            Interval level 1 - alpha.
        method : {"delta", "bootstrap"}, default "delta"
            "delta": delta method on logit S(t) and logit r(t) from the covariance of the
            log-parameters. "bootstrap": parametric bootstrap: `n_boot` data sets are
            simulated from the fitted model with the fitted cohorts' sizes and observation
            lengths, refitted, and percentile intervals taken.
        n_boot : int, default 500
            Bootstrap replicates.
        random_state : int, numpy Generator or None
            Seed for the bootstrap.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``t``; columns ``survival, survival_lower, survival_upper,
            retention_rate, retention_lower, retention_upper`` (retention is NaN at t = 0).
            Intervals are NaN for a model built with ``from_params``.
        """
        who = f"{type(self).__name__}.project"
        p = self._fitted_params("project")
        from crmcore._validation import check_param_choice, check_param_number

        check_param_number("n_periods", n_periods, who=who, low=1, integer=True)
        check_param_number(
            "alpha", alpha, who=who, low=0, high=1, low_inclusive=False, high_inclusive=False
        )
        check_param_choice("method", method, ["delta", "bootstrap"], who=who)
        horizon = int(n_periods)
        log_s, lr = self._curves(p, horizon)
        surv = np.exp(log_s)
        ret = np.concatenate([[np.nan], np.exp(lr)])
        nan = np.full(horizon + 1, np.nan)
        s_lo, s_hi, r_lo, r_hi = nan.copy(), nan.copy(), nan.copy(), nan.copy()
        cov_log = self._cov_log(p)
        if method == "delta" and cov_log is not None:
            z = float(stats.norm.isf(alpha / 2))
            steps = np.arange(1, horizon + 1, dtype=np.float64)
            lr_, _, g_lr, _ = self._log_retention_grad(p, steps)
            g_s = np.vstack([np.zeros((1, p.size)), np.cumsum(g_lr, axis=0)])
            cov = np.asarray(cov_log)
            with np.errstate(divide="ignore", invalid="ignore"):
                # logit S: d logit S = d log S / (1 - S)
                g_logit_s = g_s / (1.0 - surv)[:, None]
                se_s = np.sqrt(np.einsum("ij,jk,ik->i", g_logit_s, cov, g_logit_s))
                logit_s = log_s - np.log1p(-surv)
                s_lo = special.expit(logit_s - z * se_s)
                s_hi = special.expit(logit_s + z * se_s)
                r = np.exp(lr_)
                g_logit_r = g_lr / (1.0 - r)[:, None]
                se_r = np.sqrt(np.einsum("ij,jk,ik->i", g_logit_r, cov, g_logit_r))
                logit_r = lr_ - np.log1p(-r)
                r_lo[1:] = special.expit(logit_r - z * se_r)
                r_hi[1:] = special.expit(logit_r + z * se_r)
            s_lo[0] = s_hi[0] = 1.0
        elif method == "bootstrap":
            check_param_number("n_boot", n_boot, who=who, low=2, integer=True)
            design = getattr(self, "_design_", None)
            if design is not None:
                draws_s, draws_r = self._bootstrap(p, design, horizon, int(n_boot), random_state)
                q = [alpha / 2, 1 - alpha / 2]
                s_lo, s_hi = np.nanquantile(draws_s, q, axis=0)
                r_q = np.nanquantile(draws_r, q, axis=0)
                r_lo[1:], r_hi[1:] = r_q[0], r_q[1]
        frame: pd.DataFrame = pd.DataFrame(
            {
                "survival": surv,
                "survival_lower": s_lo,
                "survival_upper": s_hi,
                "retention_rate": ret,
                "retention_lower": r_lo,
                "retention_upper": r_hi,
            },
            index=pd.RangeIndex(horizon + 1, name="t"),
        )
        return frame

    def _bootstrap(
        self,
        p: FloatArray,
        design: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
        horizon: int,
        n_boot: int,
        random_state: int | np.random.Generator | None,
    ) -> tuple[FloatArray, FloatArray]:
        rng = np.random.default_rng(random_state)
        sizes, lengths = design
        draws_s = np.full((n_boot, horizon + 1), np.nan)
        draws_r = np.full((n_boot, horizon), np.nan)
        for b in range(n_boot):
            counts = []
            for size, length in zip(sizes, lengths, strict=True):
                life = self._draw_lifetimes(p, int(size), rng)
                t = np.arange(int(length) + 1)
                alive = (life[None, :] > t[:, None]).sum(axis=1).astype(np.float64)
                counts.append(alive)
            lost, censored = _sufficient_stats(counts)
            if lost.sum() == 0:
                continue
            objective = _CohortObjective(type(self), lost, censored)
            try:  # the base optimiser, warm-started at the fit, without its warnings
                x, _, _ = self._minimise(
                    objective, np.log(p), float(lost.sum() + censored.sum()), warm=True
                )
            except ConvergenceError:
                continue
            log_s, lr = self._curves(np.exp(x), horizon)
            draws_s[b] = np.exp(log_s)
            draws_r[b] = np.exp(lr)
        return draws_s, draws_r

    # -- value -----------------------------------------------------------------------------
    def _discounted_survival_sum(self, p: FloatArray, d: float, renewals: int) -> float:
        """sum_{k>=0} S(n+1+k) / S(n) z^k with an analytic tail bound (S non-increasing)."""
        z = 1.0 / (1.0 + d)
        total = 0.0
        start = renewals + 1
        chunk = 512
        log_sn = float(self._log_survival_array(p, np.array([renewals], dtype=np.int64))[0])
        log_z = math.log(z)
        while True:
            t = np.arange(start, start + chunk, dtype=np.int64)
            log_s = self._log_survival_closed(p, t.astype(np.float64)) - log_sn
            log_s = np.minimum(log_s, 0.0)
            log_terms = log_s + (t - renewals - 1) * log_z
            terms = np.exp(log_terms)
            total += float(terms.sum())
            bound = float(terms[-1]) * z / (1.0 - z)
            if bound <= 2e-13 * total or terms[-1] == 0.0:
                return total + 0.5 * bound
            start += chunk
            if start > 20_000_000:
                raise ConvergenceError(
                    f"{type(self).__name__}: the discounted lifetime did not converge "
                    "(discount rate too close to 0)."
                )
            chunk = min(chunk * 2, 1 << 20)

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals: int) -> float:
        """Discounted expected residual lifetime after `renewals` renewals (see
        :func:`crmcore.value.discounted_expected_residual_lifetime`)."""
        who = f"{type(self).__name__}.discounted_expected_residual_lifetime"
        p = self._fitted_params("discounted_expected_residual_lifetime")
        d = _cv.check_discount_rate(discount_rate, who=who, allow_zero=False)
        _check_discount_factor(d, who=who)
        n = _cv.check_renewals(renewals, who=who)
        return self._discounted_survival_sum(p, d, n)

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime of a new customer paying now:
        DEL = 1 + DERL(renewals=0) / (1 + d)."""
        who = f"{type(self).__name__}.discounted_expected_lifetime"
        p = self._fitted_params("discounted_expected_lifetime")
        d = _cv.check_discount_rate(discount_rate, who=who, allow_zero=False)
        _check_discount_factor(d, who=who)
        return 1.0 + self._discounted_survival_sum(p, d, 0) / (1.0 + d)

    def residual_value(
        self,
        survivors: Any,
        *,
        discount_rate: float,
        margin: float = 1.0,
        layout: str = "age",
    ) -> pd.DataFrame:
        """Residual value of a customer base by cohort: survivors x DERL x margin.

        Same input and output as :func:`crmcore.value.customer_base_residual_value`, with
        DERL from this model.
        """
        who = f"{type(self).__name__}.residual_value"
        self._fitted_params("residual_value")
        d = _cv.check_discount_rate(discount_rate, who=who)
        _check_discount_factor(d, who=who)
        m = _cv._check_margin(margin, who=who)
        return _cv.residual_value_by_cohort(
            survivors,
            lambda n: self.discounted_expected_residual_lifetime(d, n),
            margin=m,
            who=who,
            layout=layout,
        )


# ---------------------------------------------------------------------------------------
# the sBG model
# ---------------------------------------------------------------------------------------


class ShiftedBetaGeoModel(_CohortRetentionModel):
    """Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

    Each customer cancels at the end of a contract period with a fixed probability theta,
    theta ~ Beta(alpha, beta) across customers. Survival, retention and churn follow:

    S(t) = B(alpha, beta + t) / B(alpha, beta),
    r(t) = (beta + t - 1) / (alpha + beta + t - 1),
    P(T = t) = S(t - 1) alpha / (alpha + beta + t - 1).

    Parameters
    ----------
    tol : float, default 1e-10
        Convergence tolerance in (0, 1] of the quasi-Newton fall-back of the
        maximum-likelihood search (Newton steps on the Hessian of the analytic gradient
        come first and stop at machine precision).
    max_iter : int, default 500
        Iteration cap of the quasi-Newton fall-back.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha`` and ``beta``.
    covariance_ : pandas.DataFrame
        Symmetric 2 x 2 covariance of the estimates (observed information, delta method
        from the log-parameters); all NaN for a model built with :meth:`from_params` (the
        one rule of :class:`~crmcore.value.MaximumLikelihoodModel`).
    log_likelihood_ : float
        Maximised log-likelihood (counts scale, comparable with published values).
    n_obs_, aic_, bic_, converged_, n_iter_, max_gradient_, newton_gain_
        Fit statistics of :class:`~crmcore.value.MaximumLikelihoodModel`; ``n_obs_`` counts
        customers.
    n_cohorts_, n_customers_ : int
        Cohorts and customers (period-0 counts) in the fitted data (0 after
        :meth:`from_params`).

    Notes
    -----
    ``fit`` accepts one cohort's survivor counts at t = 0..n, several right-censored
    cohorts (a list of sequences of different lengths, each cohort acquired in a different
    calendar period and observed up to now) or a cohort x period DataFrame with NaN where a
    cohort is not observed. Cohorts are pooled: cohort i contributes
    sum_t (n_{t-1} - n_t) ln P(T = t) + n_{n_i} ln S(n_i). The likelihood is maximised
    over log(alpha), log(beta) with the analytic gradient of the P(T = t) recursion by the
    optimiser of :class:`~crmcore.value.MaximumLikelihoodModel` (Newton steps on the
    Hessian of that gradient, L-BFGS-B as fall-back, a verified maximum).

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal
    of Interactive Marketing 21(1), 76-90.
    Fader, P. S. & Hardie, B. G. S. (2010), "Customer-Base Valuation in a Contractual
    Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93.

    Examples
    --------
    The "regular" customers of Fader & Hardie (2007), years 0-7:

    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeoModel().fit(regular)
    >>> model.params_.round(3).to_dict()
    {'alpha': 0.704, 'beta': 1.182}
    >>> round(model.log_likelihood_, 1)
    -1680.3
    >>> round(model.survival(12), 3)
    0.17
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _model_name: ClassVar[str] = "sBG"

    @classmethod
    def from_params(  # type: ignore[override]  # named parameters, not **params
        cls, *, alpha: float, beta: float
    ) -> ShiftedBetaGeoModel:
        """Build a scoring model from known parameters (covariance_ all NaN).

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=1.0, beta=1.0)
        >>> round(m.retention_rate(1), 3), round(m.survival(3), 3)
        (0.5, 0.25)
        """
        return cls._from_param_values({"alpha": alpha, "beta": beta})

    @classmethod
    def _log_retention(cls, p: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        a, b = float(p[0]), float(p[1])
        total = a + b + t - 1.0
        # r(t) = 1 - a / (a + b + t - 1): as log1p of a ratio it is accurate when a << b and
        # non-decreasing in t to the last bit (a difference of two logs is not)
        return np.log1p(-a / total), math.log(a) - np.log(total)

    @classmethod
    def _log_retention_grad(
        cls, p: FloatArray, t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        a, b = float(p[0]), float(p[1])
        inv_ab = 1.0 / (a + b + t - 1.0)
        lr, l1r = cls._log_retention(p, t)
        # derivatives w.r.t. log alpha, log beta (chain rule: x d/dx)
        g_lr = np.column_stack([-a * inv_ab, b * (1.0 / (b + t - 1.0) - inv_ab)])
        g_l1r = np.column_stack([1.0 - a * inv_ab, -b * inv_ab])
        return lr, l1r, g_lr, g_l1r

    @classmethod
    def _log_survival_closed(cls, p: FloatArray, t: FloatArray) -> FloatArray:
        a, b = float(p[0]), float(p[1])
        return np.asarray(special.betaln(a, b + t) - special.betaln(a, b), dtype=np.float64)

    @classmethod
    def _draw_lifetimes(cls, p: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
        theta = np.clip(rng.beta(float(p[0]), float(p[1]), size=size), 1e-300, 1.0)
        return rng.geometric(theta).astype(np.float64)

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime (DEL) of a new customer paying now.

        DEL = 2F1(1, beta; alpha + beta; 1 / (1 + d)) (Fader & Hardie 2010), see
        :func:`crmcore.value.discounted_expected_lifetime`.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=3.80, beta=15.20)
        >>> round(m.discounted_expected_lifetime(0.1), 3)
        4.009
        """
        p = self._fitted_params("discounted_expected_lifetime")
        return _cv.discounted_expected_lifetime(float(p[0]), float(p[1]), discount_rate)

    def discounted_expected_residual_lifetime(self, discount_rate: float, renewals: int) -> float:
        """Discounted expected residual lifetime (DERL) after `renewals` renewals, standing
        just before the next renewal decision (Fader & Hardie 2010, eq. 6).

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=3.80, beta=15.20)
        >>> round(m.discounted_expected_residual_lifetime(0.1, renewals=0), 2)
        3.31
        """
        p = self._fitted_params("discounted_expected_residual_lifetime")
        return _cv.discounted_expected_residual_lifetime(
            float(p[0]), float(p[1]), discount_rate, renewals
        )
