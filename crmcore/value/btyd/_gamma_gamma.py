"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR; Hardie note 025)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import digamma, gammaln

from crmcore._lazy import as_lazy
from crmcore.exceptions import ValidationError
from crmcore.value._base import MaximumLikelihoodModel, compress_rows
from crmcore.value.btyd._compressed import compressed_model_input
from crmcore.value.btyd._inputs import data_time_unit, frame_float_columns, raise_row_problems

if TYPE_CHECKING:
    from crmcore.value.btyd._transaction import FrameInput

__all__ = ["GammaGammaModel"]

FloatArray = npt.NDArray[np.float64]
_G = TypeVar("_G", bound="GammaGammaModel")


def gamma_gamma_log_likelihood(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Per-customer log-likelihood of the mean spend `m` over `x` repeat transactions.

    Notes
    -----
    ``LL = lnG(p x + q) - lnG(p x) - lnG(q) + q ln v + (p x - 1) ln m + p x ln x
    - (p x + q) ln(x m + v)`` (the density of the mean of ``x`` gamma(p, nu) spends with
    ``nu ~ Gamma(q, v)``; Hardie note 025).
    """
    p, q, v = (float(t) for t in params)
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v),
        dtype=np.float64,
    )


class _GammaGammaObjective:
    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.x, self.m, self.w = x, m, w
        self.log_m = np.log(m)
        self.log_x = np.log(x)
        self.xm = x * m

    def __call__(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = (float(t) for t in np.exp(log_params))
        x, w = self.x, self.w
        px = p * x
        log_xmv = np.log(self.xm + v)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1.0) * self.log_m
            + px * self.log_x
            - (px + q) * log_xmv
        )
        psi = digamma(px + q)
        d_p = x * (psi - digamma(px) + self.log_m + self.log_x - log_xmv)
        d_q = psi - digamma(q) + np.log(v) - log_xmv
        d_v = q / v - (px + q) / (self.xm + v)
        grad = np.array(
            [
                p * float(np.sum(w * d_p)),
                q * float(np.sum(w * d_q)),
                v * float(np.sum(w * d_v)),
            ]
        )
        return -float(np.sum(w * ll)), -grad


class GammaGammaModel(MaximumLikelihoodModel):
    """Gamma-Gamma model of the average transaction value of repeat customers.

    A customer's transaction values are gamma(p, nu) with mean ``p / nu``; across customers
    ``nu ~ Gamma(q, v)`` (shape ``q``, rate ``v``). The model assumes spend independent of
    purchase frequency (check ``corr(frequency, monetary_value)`` is small).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``c * sum(theta^2)`` added to the mean negative log-likelihood.
    tol : float, default 1e-10
        Optimiser tolerance.
    max_iter : int, default 2000
        Maximum optimiser iterations.
    initial_params : mapping, optional
        Starting values ``{"p": ..., "q": ..., "v": ...}``.

    Attributes
    ----------
    params_ : pandas.Series
        ``p, q, v`` (``v`` is the paper's gamma, in money units).
    covariance_ : pandas.DataFrame
        Symmetric delta-method covariance.
    log_likelihood_, aic_, bic_, n_obs_, converged_, n_iter_
        Fit statistics.
    n_excluded_ : float
        Number of rows left out because their frequency is 0 (they carry no repeat spend).

    Notes
    -----
    Log-likelihood (Hardie note 025), with ``x`` repeat transactions of mean value ``m``:
    ``lnG(p x + q) - lnG(p x) - lnG(q) + q ln v + (p x - 1) ln m + p x ln x
    - (p x + q) ln(x m + v)``, maximised on log-parameters with its analytic gradient.
    Conditional expected average spend: ``p (v + x m) / (p x + q - 1)``, a weighted mean of
    the population mean ``p v / (q - 1)`` and the customer's own mean ``m``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
    for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
    Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value (note 025).

    Examples
    --------
    >>> from crmcore.datasets import load_cdnow_summary
    >>> from crmcore.value import GammaGammaModel
    >>> summary = load_cdnow_summary()
    >>> model = GammaGammaModel().fit(summary[summary["frequency"] > 0])
    >>> model.params_.round(2).to_dict()
    {'p': 6.25, 'q': 3.74, 'v': 15.45}
    >>> round(model.log_likelihood_, 2)
    -4055.92
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _lifetimes_class: ClassVar[str] = "GammaGammaFitter"

    n_excluded_: float

    def _arrays(
        self,
        data: Any,
        frequency_col: str,
        monetary_value_col: str,
        weights_col: str | None,
        who: str,
        *,
        compress: bool = False,
    ) -> tuple[FloatArray, FloatArray, FloatArray | None, pd.Index | None, bool]:
        """(x, m, w, index, is_frame) of the input, every row rule checked.

        With `compress` (fit), a lazy engine frame is compressed on its engine: the result
        holds its distinct ``(x, m)`` rows with their counts (or summed weights) as `w`.
        """
        is_frame = True
        index: pd.Index | None = None
        ids: Any = None
        row_counts: FloatArray | None = None
        lazy = as_lazy(data) if compress else None
        if lazy is not None:
            table = compressed_model_input(
                lazy, [frequency_col, monetary_value_col], weights_col, who
            )
            x, m = table.columns
            w = table.weights
            ids, row_counts = table.find_ids, table.rows
        elif isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValidationError(
                    f"{who}: array input must be (frequency, monetary_value); got {len(data)} "
                    "arrays."
                )
            x, m = np.broadcast_arrays(
                np.atleast_1d(np.asarray(data[0], dtype=np.float64)),
                np.atleast_1d(np.asarray(data[1], dtype=np.float64)),
            )
            w = None
            is_frame = False
        else:
            cols = [frequency_col, monetary_value_col] + (
                [weights_col] if weights_col is not None else []
            )
            # an order log or an RFM table gets a message naming what to call instead;
            # Polars/PyArrow rows are labelled by position (no id column)
            arrays, index = frame_float_columns(data, cols, who, None, allow_bool=True)
            if index is None:
                index = pd.RangeIndex(len(arrays[0]))
            x, m = arrays[0], arrays[1]
            w = arrays[2] if weights_col is not None else None
        x = np.ascontiguousarray(x, dtype=np.float64)
        m = np.ascontiguousarray(m, dtype=np.float64)
        if lazy is None:
            ids = index
        fcol, mcol = frequency_col, monetary_value_col
        with np.errstate(invalid="ignore"):
            rules: list[tuple[str, npt.NDArray[np.bool_]]] = [
                (f"{fcol} must be finite", ~np.isfinite(x)),
                (f"{mcol} must be finite", ~np.isfinite(m)),
                (f"{fcol} must be >= 0", x < 0),
                (f"{fcol} must be a whole number", np.isfinite(x) & (x != np.round(x))),
                (f"{mcol} must be > 0 when {fcol} > 0", (x > 0) & (m <= 0)),
            ]
            if w is not None and weights_col is not None:
                rules.append(
                    (f"{weights_col} must be finite and >= 0", ~(w >= 0) | ~np.isfinite(w))
                )
        raise_row_problems(
            rules,
            ids,
            len(x) if row_counts is None else int(np.sum(row_counts)),
            who,
            "Hint: monetary_value is the mean value of a customer's repeat purchases "
            "(see crmcore.value.btyd_summary); remove refunds or zero-value orders first.",
            row_counts=row_counts,
        )
        return x, m, w, index, is_frame

    def fit(
        self: _G,
        data: Any,
        *,
        frequency_col: str = "frequency",
        monetary_value_col: str = "monetary_value",
        weights_col: str | None = None,
    ) -> _G:
        """Fit by maximum likelihood on the customers with repeat purchases.

        Parameters
        ----------
        data : DataFrame (pandas, Polars, PyArrow) or a lazy frame
            One row per customer, e.g. :func:`~crmcore.value.btyd_summary` with an amount.
            A lazy frame (Polars LazyFrame, DuckDB relation, PySpark or Dask DataFrame) is
            compressed on its engine and only the compressed table is collected (see Notes).
        frequency_col, monetary_value_col : str
            Number of repeat purchases and their mean value.
        weights_col : str, optional
            Row counts.

        Returns
        -------
        self

        Raises
        ------
        ValidationError
            On NaN, negative or fractional frequency, monetary value <= 0 for a customer with
            repeat purchases (count and first ids given), or no customer with repeat
            purchases.
        ColumnNotFoundError
            If a column is missing; for an order log or an RFM table
            (:func:`~crmcore.segmentation.rfm_table`, whose ``monetary`` is total spend over
            every order) the message says what it is and to build the input with
            :func:`~crmcore.value.btyd_summary` (``amount_col=...``).

        Notes
        -----
        Rows with frequency 0 carry no repeat spend and are left out (their number is in
        ``n_excluded_``).

        Identical ``(frequency, monetary_value)`` rows are merged into one row weighted by
        their count. A lazy `data` is compressed on its engine
        (``group_by(frequency, monetary_value).agg(len)``, or the sum of `weights_col`) and
        only that table is collected; the counts must be the weights, since an unweighted
        fit of the distinct rows maximises another likelihood (each distinct row counted
        once). The row rules are checked on the collected table, which holds every distinct
        row, so the outcome and the counts are those of the full input (the ids named are
        some offending ``customer_id`` values). Unlike the transaction models' input,
        ``monetary_value`` is money, which the time unit does not bound: expect about one
        collected row per repeat customer (all customers without repeat purchases share
        the row ``(0, 0)``), i.e. three float columns of that length.
        """
        who = self._who("fit")
        self._check_settings()
        x, m, w, _, _ = self._arrays(
            data, frequency_col, monetary_value_col, weights_col, who, compress=True
        )
        keep = x > 0
        weights = np.ones(len(x)) if w is None else w
        self.n_excluded_ = float(np.sum(weights[~keep]))
        if not np.any(keep & (weights > 0)):
            raise ValidationError(
                f"{who}: no customer has repeat purchases (frequency > 0); nothing to fit."
            )
        xc, mc, _, wc = compress_rows(x[keep], m[keep], np.ones(int(keep.sum())), weights[keep])
        n_obs = float(np.sum(wc))
        mean_m = float(np.sum(wc * mc) / n_obs)
        x0 = self._initial_from_settings(np.log(np.array([1.0, 2.0, mean_m])))
        self.time_unit_ = data_time_unit(data)
        self._optimise(_GammaGammaObjective(xc, mc, wc), x0, n_obs)
        return self

    @overload
    def conditional_expected_average_spend(
        self,
        data: tuple[npt.ArrayLike, npt.ArrayLike] | list[npt.ArrayLike],
        *,
        frequency_col: str = ...,
        monetary_value_col: str = ...,
    ) -> FloatArray: ...
    @overload
    def conditional_expected_average_spend(
        self,
        data: FrameInput,
        *,
        frequency_col: str = ...,
        monetary_value_col: str = ...,
    ) -> pd.Series: ...
    def conditional_expected_average_spend(
        self,
        data: Any,
        *,
        frequency_col: str = "frequency",
        monetary_value_col: str = "monetary_value",
    ) -> FloatArray | pd.Series:
        """Expected mean transaction value of each customer, given his repeat purchases.

        Parameters
        ----------
        data : DataFrame or (frequency, monetary_value) arrays
            Customers (frequency 0 allowed: they get the population mean).
        frequency_col, monetary_value_col : str
            Column names when `data` is a frame.

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``p (v + x m) / (p x + q - 1)`` (requires ``q > 1``); a Series aligned with the
            frame's index, an ndarray for array input.

        Raises
        ------
        ValidationError
            If ``q <= 1`` (the population mean spend is infinite).
        """
        self._check_fitted()
        who = self._who("conditional_expected_average_spend")
        x, m, _, index, is_frame = self._arrays(data, frequency_col, monetary_value_col, None, who)
        p, q, v = (float(t) for t in self._params_array())
        if q <= 1:
            raise ValidationError(
                f"{who}: q = {q:.4g} <= 1, so the mean spend is infinite; the model does not "
                "give finite expectations."
            )
        mm = np.where(x > 0, m, 0.0)
        # the same value written as a credibility-weighted mean (FHL 2005b, eq. 5):
        # w * m + (1 - w) * p v / (q - 1) with w = p x / (p x + q - 1), computed as
        # 1 / (1 + (q - 1) / (p x)) so that huge frequencies or spends cannot overflow
        with np.errstate(divide="ignore"):
            ratio = np.where(x > 0, (q - 1.0) / (p * np.where(x > 0, x, 1.0)), np.inf)
        weight = 1.0 / (1.0 + ratio)
        out = weight * mm + (1.0 - weight) * (p * v / (q - 1.0))
        if not is_frame:
            return out
        return pd.Series(out, index=index, name="expected_average_spend")

    def expected_average_spend(self) -> float:
        """Population mean transaction value ``p v / (q - 1)`` (infinite when ``q <= 1``)."""
        self._check_fitted()
        p, q, v = (float(t) for t in self._params_array())
        return float(p * v / (q - 1.0)) if q > 1 else float("inf")

    @classmethod
    def from_lifetimes(cls: type[_G], fitter: Any) -> _G:
        """Build a model from a fitted lifetimes ``GammaGammaFitter``."""
        from crmcore.value.btyd._interop import params_from_lifetimes

        params = params_from_lifetimes(
            fitter,
            expected_class=cls._lifetimes_class,
            names=cls._param_names,
            who=f"{cls.__name__}.from_lifetimes",
        )
        return cls.from_params(time_unit=None, **params)

    def to_lifetimes(self) -> Any:
        """Return an equivalent lifetimes ``GammaGammaFitter`` (lifetimes must be installed)."""
        from crmcore.value.btyd._interop import fitter_to_lifetimes

        self._check_fitted()
        return fitter_to_lifetimes(
            class_name=self._lifetimes_class,
            params=self.params_,
            penalizer=float(self.penalizer),
            who=self._who("to_lifetimes"),
        )
