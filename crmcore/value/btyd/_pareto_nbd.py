"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) on the shared estimator base."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, overload

import numpy as np
import numpy.typing as npt

from crmcore._compat import renamed_parameters
from crmcore._validation import check_param_number
from crmcore.value.btyd._pareto_kernels import (
    pareto_conditional_expected,
    pareto_conditional_pmf,
    pareto_dert,
    pareto_expected_new,
    pareto_neg_ll_and_grad,
    pareto_population_pmf,
    pareto_probability_alive,
    unique_pairs,
)
from crmcore.value.btyd._transaction import TransactionModel

if TYPE_CHECKING:
    import pandas as pd

    from crmcore.value.btyd._transaction import ArrayInput, FrameInput

__all__ = ["ParetoNBDModel"]

FloatArray = npt.NDArray[np.float64]


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model of non-contractual repeat buying, fitted by maximum likelihood.

    While alive a customer buys as a Poisson process with rate ``lambda``; the lifetime is
    exponential with rate ``mu``; across customers ``lambda ~ Gamma(r, alpha)`` and
    ``mu ~ Gamma(s, beta)`` independently.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters, on the data's own time scale (lifetimes'
        ``penalizer_coef`` penalises them on time rescaled by the largest T).
    tol : float, default 1e-10
        Optimiser tolerance on the mean negative log-likelihood.
    max_iter : int, default 2000
        Maximum number of optimiser iterations.
    initial_params : mapping, optional
        Starting values ``{"r": ..., "alpha": ..., "s": ..., "beta": ...}``.

    Attributes
    ----------
    params_ : pandas.Series
        ``r, alpha, s, beta``.
    covariance_ : pandas.DataFrame
        Delta-method covariance of the parameters (symmetric).
    log_likelihood_ : float
        Maximised log-likelihood on the caller's time scale.

    Notes
    -----
    The log-likelihood is evaluated in an overflow-safe form: the two Gauss hypergeometric
    terms of Fader & Hardie's note 009 (eqs. 19-20, with the ``alpha >= beta`` and
    ``alpha < beta`` cases) are rewritten with Euler's transformation so that the remaining
    ``2F1(1, b; c; z)`` is bounded by ``1/(1-z)``, and all products are carried in logarithms
    and combined by log-sum-exp. The gradient in log-parameters is a central finite
    difference (step 1e-5, eight shifted parameter sets evaluated in one vectorised call)
    because the derivatives of ``2F1`` in its parameters have no closed form; the
    hypergeometric terms are evaluated once per distinct ``(x, t)`` pair. Predictions follow
    note 009 (P(alive), conditional expectation), note 012 (P(X(t) = x)), note 028
    (conditional pmf) and Fader, Hardie & Lee (2005, JMR) for DERT.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers: Who
    Are They and What Will They Do Next?" Management Science 33(1), 1-24.

    Fader, P. S. & Hardie, B. G. S. (2005). "A Note on Deriving the Pareto/NBD Model and
    Related Expressions". http://brucehardie.com/notes/009/

    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "RFM and CLV: Using Iso-Value Curves
    for Customer Base Analysis". Journal of Marketing Research 42(4), 415-430.

    Examples
    --------
    >>> from crmcore.datasets import load_cdnow_summary
    >>> data = load_cdnow_summary()
    >>> model = ParetoNBDModel().fit(data)
    >>> model.params_.round(2).to_dict()
    {'r': 0.55, 'alpha': 10.58, 's': 0.61, 'beta': 11.67}
    >>> round(model.log_likelihood_, 1)
    -9595.0
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _model_name: ClassVar[str] = "Pareto/NBD"
    _lifetimes_class: ClassVar[str | None] = "ParetoNBDFitter"

    def _neg_log_likelihood_and_grad(
        self,
        log_params: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
        w: FloatArray,
    ) -> tuple[float, FloatArray]:
        return pareto_neg_ll_and_grad(log_params, x, t_x, T, w)

    def _make_objective(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        pairs = unique_pairs(x, t_x, T)

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            return pareto_neg_ll_and_grad(log_params, x, t_x, T, w, pairs)

        return objective

    def _initial_log_params(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
    ) -> FloatArray:
        # scale-aware start: rates of the order of the observed purchase frequency and ages
        mean_T = float(np.average(T, weights=w))
        mean_x = max(float(np.average(x, weights=w)), 0.1)
        start: FloatArray = np.log(np.array([1.0, mean_T / (2.0 * mean_x), 1.0, mean_T]))
        return start

    def _restart_log_params(self, log_params: FloatArray, x0: FloatArray) -> list[FloatArray]:
        # The likelihood is nearly flat along (s, beta) with the mean dropout rate s/beta
        # fixed, and along (r, alpha) with r/alpha fixed: restart along those ridges (a
        # shift of d in both log-parameters keeps the ratio), then from the original start.
        starts = [log_params + np.array([0.0, 0.0, d, d]) for d in (-2.0, -1.0, 1.0, 2.0)] + [
            log_params + np.array([d, d, 0.0, 0.0]) for d in (-1.0, 1.0)
        ]
        starts.append(np.asarray(x0, dtype=np.float64))
        return starts

    def _expected_purchases_kernel(
        self, params: FloatArray, t: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = params
        return pareto_conditional_expected(r, alpha, s, beta, x, t_x, T, t)

    def _expected_purchases_new_customer_kernel(
        self, params: FloatArray, t: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = params
        return pareto_expected_new(r, alpha, s, beta, t)

    def _probability_alive_kernel(
        self,
        params: FloatArray,
        future_t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        r, alpha, s, beta = params
        return pareto_probability_alive(r, alpha, s, beta, x, t_x, T, future_t)

    def _purchase_probability_kernel(
        self,
        params: FloatArray,
        n: FloatArray,
        t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        r, alpha, s, beta = params
        return pareto_conditional_pmf(n, t, r, alpha, s, beta, x, t_x, T)

    def _population_purchase_probability_kernel(
        self, params: FloatArray, n: FloatArray, t: FloatArray
    ) -> FloatArray:
        r, alpha, s, beta = params
        return pareto_population_pmf(n, t, r, alpha, s, beta)

    @overload
    def dert(
        self,
        data: ArrayInput,
        discount_rate: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> FloatArray: ...
    @overload
    def dert(
        self,
        data: FrameInput,
        discount_rate: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> pd.Series: ...
    @renamed_parameters(id_col="customer_col")
    def dert(
        self,
        data: Any,
        discount_rate: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        customer_col: str | None = "customer_id",
    ) -> FloatArray | pd.Series:
        """Discounted expected residual transactions (DERT) of each customer.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories, in the time unit of the fit.
        discount_rate : float
            Discount rate per time unit of the model (e.g. a weekly rate for a model fitted
            in weeks; an annual 15% is ``1.15 ** (1 / 52) - 1`` per week). Must be > 0.
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        customer_col : str or None, default "customer_id"
            For a Polars or PyArrow frame, the customer id column labelling the result when
            present (see :meth:`expected_purchases`). Formerly ``id_col`` (deprecated alias).

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``DERT = E[ int_T^inf exp(-delta (u - T)) dX(u) | x, t_x, T ]`` with the continuously
            compounded rate ``delta = log(1 + discount_rate)``.

        Raises
        ------
        ValidationError
            If `discount_rate` is not positive or the data are invalid.

        Notes
        -----
        Fader, Hardie & Lee (2005, JMR, eq. 2):
        ``DERT = alpha^r beta^s delta^(s-1) Gamma(r+x+1) U(s, s; delta (beta+T))
        / (Gamma(r) (alpha+T)^(r+x+1) L(r, alpha, s, beta | x, t_x, T))``, with ``U`` the
        confluent hypergeometric function of the second kind (``scipy.special.hyperu``).
        Multiply by the expected margin per transaction for residual lifetime value.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "RFM and CLV: Using Iso-Value
        Curves for Customer Base Analysis". Journal of Marketing Research 42(4), 415-430.

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
        >>> d = m.dert(([2], [30.43], [38.86]), discount_rate=1.15 ** (1 / 52) - 1)
        >>> round(float(d[0]), 2)
        6.45
        """
        self._check_fitted()
        who = self._who("dert")
        check_param_number("discount_rate", discount_rate, who=who, low=0.0, low_inclusive=False)
        delta = float(np.log1p(discount_rate))
        cols = (frequency_col, recency_col, T_col)
        return self._score("dert", _dert_kernel, (delta,), data, cols, who, customer_col)


def _dert_kernel(
    params: FloatArray, delta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """DERT kernel in the ``TransactionModel._score`` order (parameters, delta, data)."""
    r, alpha, s, beta = params
    return pareto_dert(r, alpha, s, beta, x, t_x, T, delta)
