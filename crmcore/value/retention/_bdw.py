"""Beta-discrete-Weibull (BdW) contractual retention model (Fader, Hardie, Liu & Souza 2018)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from crmcore.value.retention._sbg import FloatArray, _CohortRetentionModel

__all__ = ["BetaDiscreteWeibullModel"]


def _u_and_dlog(t: FloatArray, c: float) -> tuple[FloatArray, FloatArray]:
    """u = t^c and du/dlog(c) = c t^c ln t (0 at t = 0)."""
    safe = np.where(t > 0, t, 1.0)
    u = np.where(t > 0, np.power(safe, c), 0.0)
    du = np.where(t > 0, c * u * np.log(safe), 0.0)
    return u, du


class BetaDiscreteWeibullModel(_CohortRetentionModel):
    """Beta-discrete-Weibull (BdW) model of contract renewals with duration dependence.

    A customer with churn parameter theta survives t periods with probability
    (1 - theta)^(t^c) (a discrete Weibull); theta ~ Beta(alpha, beta) across customers.
    c < 1 means an individual's churn probability falls with tenure, c > 1 that it rises;
    c = 1 is the shifted-beta-geometric model.

    S(t) = B(alpha, beta + t^c) / B(alpha, beta),  r(t) = S(t) / S(t - 1).

    Parameters
    ----------
    tol : float, default 1e-10
        Convergence tolerance in (0, 1] of the quasi-Newton fall-back of the
        maximum-likelihood search (see :class:`ShiftedBetaGeoModel`).
    max_iter : int, default 500
        Iteration cap of the quasi-Newton fall-back.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha``, ``beta`` and ``c``.
    covariance_ : pandas.DataFrame
        Symmetric 3 x 3 covariance (delta method from the log-parameters); all NaN for a
        model built with :meth:`from_params`.
    log_likelihood_ : float
        Maximised log-likelihood.
    n_cohorts_, n_customers_ : int
        Cohorts and customers in the fitted data.

    Notes
    -----
    Same data forms and methods as :class:`ShiftedBetaGeoModel`. The per-period log
    retention is ln B(alpha, beta + t^c) - ln B(alpha, beta + (t - 1)^c), its gradient
    uses digamma differences; ln(1 - r) is formed with ``expm1`` so churn probabilities
    near 0 keep their accuracy. DEL and DERL have no closed form: they are summed over
    survival terms, stopping when the tail, bounded by the last term times z / (1 - z)
    (z = 1 / (1 + d), S non-increasing), is negligible.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., Liu, Y., Davin, J. & Steenburgh, T. (2018),
    "'How to Project Customer Retention' Revisited: The Role of Duration Dependence",
    Journal of Interactive Marketing 43, 1-16.

    Examples
    --------
    >>> m = BetaDiscreteWeibullModel.from_params(alpha=0.704, beta=1.182, c=1.0)
    >>> round(m.survival(1), 4)  # c = 1: the sBG value beta / (alpha + beta)
    0.6267
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "c")
    _model_name: ClassVar[str] = "BdW"

    @classmethod
    def from_params(  # type: ignore[override]  # named parameters, not **params
        cls, *, alpha: float, beta: float, c: float
    ) -> BetaDiscreteWeibullModel:
        """Build a scoring model from known parameters (covariance_ all NaN).

        Examples
        --------
        >>> m = BetaDiscreteWeibullModel.from_params(alpha=1.0, beta=1.0, c=2.0)
        >>> round(m.survival(2), 3)  # B(1, 1 + 4) / B(1, 1) = 1 / 5
        0.2
        """
        return cls._from_param_values({"alpha": alpha, "beta": beta, "c": c})

    @classmethod
    def _log_retention(cls, p: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        a, b, c = float(p[0]), float(p[1]), float(p[2])
        u_t, _ = _u_and_dlog(t, c)
        u_p, _ = _u_and_dlog(t - 1.0, c)
        lr = np.minimum(special.betaln(a, b + u_t) - special.betaln(a, b + u_p), 0.0)
        l1r = np.log(-np.expm1(np.minimum(lr, -1e-300)))
        return np.asarray(lr, dtype=np.float64), np.asarray(l1r, dtype=np.float64)

    @classmethod
    def _log_retention_grad(
        cls, p: FloatArray, t: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        a, b, c = float(p[0]), float(p[1]), float(p[2])
        lr, l1r = cls._log_retention(p, t)
        u_t, du_t = _u_and_dlog(t, c)
        u_p, du_p = _u_and_dlog(t - 1.0, c)
        psi_ab_t = special.digamma(a + b + u_t)
        psi_ab_p = special.digamma(a + b + u_p)
        db_t = special.digamma(b + u_t) - psi_ab_t  # d lnB(a, b + u) / d b (= / d u)
        db_p = special.digamma(b + u_p) - psi_ab_p
        g_lr = np.column_stack(
            [
                a * (psi_ab_p - psi_ab_t),
                b * (db_t - db_p),
                db_t * du_t - db_p * du_p,
            ]
        )
        # d log(1 - r) = -r / (1 - r) d log r = -d log r / expm1(-log r)
        with np.errstate(divide="ignore", over="ignore"):
            factor = -1.0 / np.expm1(-np.minimum(lr, -1e-300))
        g_l1r = g_lr * factor[:, None]
        return lr, l1r, g_lr, g_l1r

    @classmethod
    def _log_survival_closed(cls, p: FloatArray, t: FloatArray) -> FloatArray:
        a, b, c = float(p[0]), float(p[1]), float(p[2])
        u, _ = _u_and_dlog(t, c)
        return np.asarray(special.betaln(a, b + u) - special.betaln(a, b), dtype=np.float64)

    @classmethod
    def _draw_lifetimes(cls, p: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
        a, b, c = float(p[0]), float(p[1]), float(p[2])
        theta = rng.beta(a, b, size=size)
        u = rng.uniform(size=size)
        with np.errstate(divide="ignore"):
            ratio = np.log(u) / np.log1p(-np.clip(theta, 0.0, 1.0 - 1e-16))
        life = np.ceil(np.power(np.maximum(ratio, 0.0), 1.0 / c))
        return np.asarray(
            np.maximum(np.nan_to_num(life, nan=1.0, posinf=1e12), 1.0), dtype=np.float64
        )
