"""BG/BB model for discrete transaction opportunities (Fader, Hardie & Shang 2010)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, gammaln

from crmcore.exceptions import ValidationError
from crmcore.value.btyd._bgbb_kernels import (
    bgbb_conditional_expected,
    bgbb_expected_new,
    bgbb_neg_ll_and_grad,
    bgbb_population_pmf,
    bgbb_probability_alive,
)
from crmcore.value.btyd._transaction import TransactionModel

__all__ = ["BetaGeoBetaBinomModel"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _require_whole(name: str, value: FloatArray, who: str) -> None:
    if np.any(value != np.round(value)):
        raise ValidationError(
            f"{who}: {name} counts transaction opportunities and must be a whole number for "
            f"the BG/BB model; got {value!r}."
        )


class BetaGeoBetaBinomModel(TransactionModel):
    """Beta-geometric/beta-binomial (BG/BB) model of discrete-time repeat buying.

    At each transaction opportunity a living customer buys with probability
    ``p ~ Beta(alpha, beta)``; at the start of each opportunity a living customer becomes
    permanently inactive with probability ``theta ~ Beta(gamma, delta)``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters (as lifetimes' ``penalizer_coef``).
    tol : float, default 1e-10
        Optimiser tolerance on the mean negative log-likelihood.
    max_iter : int, default 2000
        Maximum number of optimiser iterations.
    initial_params : mapping, optional
        Starting values ``{"alpha": ..., "beta": ..., "gamma": ..., "delta": ...}``.

    Attributes
    ----------
    params_ : pandas.Series
        ``alpha, beta, gamma, delta``.
    covariance_ : pandas.DataFrame
        Delta-method covariance of the parameters (symmetric).
    log_likelihood_ : float
        Maximised log-likelihood.

    Notes
    -----
    Data per customer (``fit`` columns): ``frequency`` = ``x`` opportunities with a
    transaction, ``recency`` = ``t_x`` the opportunity of the last one (0 if none), and
    ``T_col`` = ``n`` the number of opportunities observed; all whole numbers with
    ``x <= t_x <= n``. Time in predictions is counted in opportunities: ``t`` in
    ``expected_purchases`` is the number of future opportunities, ``t`` in
    ``probability_alive`` gives P(alive at opportunity ``n + t``) (``t = 1``
    is the paper's "alive at the next opportunity", eq. 11), and the new-customer methods
    take ``t`` whole opportunities.

    The log-likelihood (FHS eq. 5) is a log-sum-exp of sums of ``log B(.,.)`` with an exact
    gradient (digamma differences); the sum over the opportunities after ``t_x`` runs in
    blocks with a running maximum, so thousands of opportunities cost memory in proportion
    to one block. The conditional pmf uses that, given alive at ``n``, ``p`` and ``theta``
    are ``Beta(alpha+x, beta+n-x)`` and ``Beta(gamma, delta+n)``: it is
    ``(1 - P_alive) [k = 0] + P_alive * P(X(t) = k)`` under those updated parameters.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). "Customer-Base Analysis in a
    Discrete-Time Noncontractual Setting". Marketing Science 29(6), 1086-1108.

    Examples
    --------
    >>> from crmcore.datasets import load_donations
    >>> donations = load_donations()
    >>> model = BetaGeoBetaBinomModel().fit(donations, T_col="periods", weights_col="weights")
    >>> model.params_.round(3).to_dict()
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(model.log_likelihood_, 1)
    -33225.6
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _model_name: ClassVar[str] = "BG/BB"
    _lifetimes_class: ClassVar[str | None] = "BetaGeoBetaBinomFitter"
    # the likelihood and the probabilities sum over opportunities: bound them (documented
    # in TransactionModel's Notes)
    _max_time: ClassVar[float] = 1e5

    def _neg_log_likelihood_and_grad(
        self,
        log_params: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        w: FloatArray,
    ) -> tuple[float, FloatArray]:
        return bgbb_neg_ll_and_grad(log_params, x, t_x, T, w)

    def _extra_input_checks(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> list[tuple[str, BoolArray]]:
        with np.errstate(invalid="ignore"):
            return [
                ("recency must be a whole number of opportunities", t_x != np.round(t_x)),
                ("T must be a whole number of opportunities", np.round(T) != T),
                ("frequency must be <= recency (x transactions need x opportunities)", x > t_x),
            ]

    def _expected_purchases_kernel(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> FloatArray:
        a, b, g, d = params
        return bgbb_conditional_expected(a, b, g, d, x, t_x, T, t)

    def _expected_purchases_new_customer_kernel(
        self, params: FloatArray, t: FloatArray
    ) -> FloatArray:
        a, b, g, d = params
        out = bgbb_expected_new(a, b, g, d, t)
        return out.reshape(np.shape(t))

    def _probability_alive_kernel(
        self,
        params: FloatArray,
        future_t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        a, b, g, d = params
        return bgbb_probability_alive(a, b, g, d, x, t_x, T, future_t)

    def _purchase_probability_kernel(
        self,
        params: FloatArray,
        n: FloatArray,
        t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        _require_whole("t", t, self._who("purchase_probability"))
        a, b, g, d = params
        p_alive = bgbb_probability_alive(a, b, g, d, x, t_x, T, 0.0)
        # given alive at n, the customer is a "new" customer with updated beta parameters
        pop = _conditional_population_pmf(a, b, g, d, n, t, x, T)
        out = np.where(n == 0, 1.0 - p_alive, 0.0) + p_alive * pop
        return np.asarray(out, dtype=np.float64)

    def _population_purchase_probability_kernel(
        self, params: FloatArray, n: FloatArray, t: FloatArray
    ) -> FloatArray:
        _require_whole("t", t, self._who("population_purchase_probability"))
        a, b, g, d = params
        return bgbb_population_pmf(a, b, g, d, n, t)


def _conditional_population_pmf(
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    k: FloatArray,
    t: FloatArray,
    x: FloatArray,
    n: FloatArray,
) -> FloatArray:
    """P(X(t) = k) under ``Beta(alpha+x, beta+n-x)``, ``Beta(gamma, delta+n)``, vectorised
    over customers (the parameters differ per customer)."""
    k_, t_, x_, n_ = np.broadcast_arrays(
        np.asarray(k, dtype=np.float64),
        np.asarray(t, dtype=np.float64),
        np.atleast_1d(np.asarray(x, dtype=np.float64)),
        np.atleast_1d(np.asarray(n, dtype=np.float64)),
    )
    a = alpha + x_
    b = beta + n_ - x_
    d = delta + n_
    base = -betaln(a, b) - betaln(gamma, d)

    def log_comb(top: FloatArray, bot: FloatArray) -> FloatArray:
        return np.asarray(gammaln(top + 1.0) - gammaln(bot + 1.0) - gammaln(top - bot + 1.0))

    with np.errstate(invalid="ignore"):
        first = log_comb(t_, k_) + betaln(a + k_, b + t_ - k_) + betaln(gamma, d + t_) + base
    total = np.where(k_ <= t_, np.exp(first), 0.0)
    max_t = int(np.max(t_)) if t_.size else 0
    for i in range(max_t):
        active = (i >= k_) & (i < t_)
        if not active.any():
            continue
        with np.errstate(invalid="ignore"):
            lt = (
                log_comb(np.full_like(k_, float(i)), k_)
                + betaln(a + k_, b + i - k_)
                + betaln(gamma + 1.0, d + i)
                + base
            )
        total = total + np.where(active, np.exp(lt), 0.0)
    return np.asarray(np.clip(total, 0.0, 1.0), dtype=np.float64)
