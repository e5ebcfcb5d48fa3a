"""The ``(frequency, recency, T)`` layer shared by every BTYD transaction model.

:class:`TransactionModel` extends :class:`~crmcore.value.MaximumLikelihoodModel` (the shared
estimator base in :mod:`crmcore.value._base`) with what BG/NBD, MBG/NBD, Pareto/NBD and BG/BB
share: ``fit`` with validation, compression of identical rows into weights, the public
prediction methods (Series aligned with the caller's index, or an ndarray for array input),
cohort tracking curves and lifetimes interop.

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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._compat import renamed_parameters
from crmcore._lazy import as_lazy
from crmcore._validation import coerce_number_series, format_ids
from crmcore.exceptions import ValidationError
from crmcore.value._base import FloatArray, MaximumLikelihoodModel, Objective, compress_rows
from crmcore.value.btyd._compressed import compressed_model_input
from crmcore.value.btyd._inputs import (
    DEFAULT_ID_COL,
    data_time_unit,
    frame_float_columns,
    raise_row_problems,
)

__all__ = ["TransactionModel"]


class FrameInput(Protocol):
    """Prediction input given as a frame (pandas, Polars, PyArrow: anything with columns).

    The result is a Series aligned with the frame's rows. A structural type, so the
    annotations import neither Polars nor PyArrow (which has no type stubs).
    """

    @property
    def columns(self) -> Any: ...


if TYPE_CHECKING:
    from typing import TypeAlias

    #: Prediction input given as arrays, ``(frequency, recency, T)`` or a 2-D array with
    #: those columns: the result is an ndarray.
    ArrayInput: TypeAlias = (
        tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike] | list[npt.ArrayLike] | npt.NDArray[Any]
    )

_TM = TypeVar("_TM", bound="TransactionModel")

# above this many distinct rows, fit a systematic subsample first to get a starting point
_WARM_START_ROWS = 200_000
_WARM_START_SAMPLE = 50_000
# Polars/PyArrow frames have no index: predictions are labelled by this column when present
_DEFAULT_ID_COL = DEFAULT_ID_COL
# documented input limits: the kernels lose all precision, overflow or run for
# minutes beyond them. Times (recency, T, t) and frequencies are at most
# _MAX_TIME (1e9 periods: 19 million years in weeks); the `n` of the purchase probabilities
# (a sum over n terms for some models) is at most _MAX_N.
_MAX_TIME = 1e9
_MAX_N = 10_000


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


class TransactionModel(MaximumLikelihoodModel):
    """Base of the (frequency, recency, T) transaction models; see the module docstring.

    Parameters
    ----------
    penalizer, tol, max_iter, initial_params
        See :class:`MaximumLikelihoodModel`.

    Notes
    -----
    Input limits: frequencies, recencies, ages ``T`` and the time arguments of the
    predictions (``t``, tracking times) are at most ``1e9`` periods
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
        ids: Sequence[Any] | pd.Index | Callable[[npt.NDArray[np.bool_]], Sequence[Any]] | None,
        cols: tuple[str, str, str],
        who: str,
        w: FloatArray | None = None,
        weights_col: str | None = None,
        row_counts: FloatArray | None = None,
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
        raise_row_problems(
            rules,
            ids,
            len(x) if row_counts is None else int(np.sum(row_counts)),
            who,
            "Hint: build the input with crmcore.value.btyd_summary, and check that as_of is "
            "after the last purchase.",
            row_counts=row_counts,
        )

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
            (x, t_x, T), index = frame_float_columns(data, cols, who, id_col)
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
        data : DataFrame (pandas, Polars, PyArrow) or a lazy frame
            One row per customer (or per group of identical customers with `weights_col`),
            e.g. the output of :func:`~crmcore.value.btyd_summary`. Other columns are ignored.
            A lazy frame (Polars LazyFrame, DuckDB relation, PySpark or Dask DataFrame) is
            compressed on its engine and only the compressed table is collected (see Notes).
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

        **Fitting from an engine.** A lazy `data` is compressed where it lives: one query
        ``group_by(frequency, recency, T).agg(len)`` (the sum of `weights_col` when given)
        runs on the engine and only the distinct rows with their counts are collected; the
        fit then uses the counts as weights, which is the same likelihood as the one of the
        uncompressed rows (``sum_i LL(x_i, t_x_i, T_i) = sum_g n_g LL(x_g, t_x_g, T_g)``),
        so the parameters equal those of an in-memory fit up to the optimiser's tolerance.
        An *unweighted* fit of the distinct rows would be wrong: it maximises a different
        likelihood, in which every distinct history counts once, so the many customers with
        a common history (e.g. the one-time buyers ``x = 0``) would weigh as much as one
        customer with a rare history. The row rules above are checked on the collected
        table: it holds every distinct row (missing values form their own group; a group
        with a bad weight is flagged on the engine), so a rule is broken by an input row
        exactly when it is broken by a collected row, and the counts in the message are
        the sums of the counts; the ids named are some offending rows of the
        ``customer_id`` column (the offending values when that column is absent; a lazy
        frame has no row order). ``time_unit_`` is None (a lazy frame carries no
        ``attrs``): pass ``time_unit=`` to :func:`~crmcore.value.customer_lifetime_value`.

        The time unit bounds the collected table. With a summary in whole periods (what
        :func:`~crmcore.value.btyd_summary` builds) over ``P`` periods, ``x``, ``t_x`` and
        ``T`` are integers with ``0 <= t_x <= T < P`` and ``x <= t_x``, so there are at
        most about ``P^3 / 6`` distinct rows (``P^3 / 2`` by the looser count ``x <= P``),
        however many customers there are: weekly data over two years (``P = 105``) gives at
        most about 193,000 rows, monthly data over five years (``P = 61``) 38,000. Daily
        data over several years or fractional times (continuous recency) compress much
        less: use a coarser ``time_unit`` for fitting.

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
        lazy = as_lazy(data)
        if lazy is not None:
            # counted on the engine; only the distinct rows and their counts are collected
            table = compressed_model_input(lazy, cols, weights_col, who)
            x, t_x, T = table.columns
            checked = table.weights if weights_col is not None else None
            self._validate_rows(
                x, t_x, T, table.find_ids, cols, who, checked, weights_col, table.rows
            )
            # the counts are the weights: an unweighted fit of the distinct rows would be
            # another likelihood (see Notes)
            w: FloatArray | None = table.weights
        else:
            needed = list(cols) + ([weights_col] if weights_col is not None else [])
            arrays, index = frame_float_columns(data, needed, who)
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
                "buying. Hint: use a later as_of or a finer time_unit in "
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
        self.time_unit_ = data_time_unit(data)
        self._optimise(objective, x0, n_obs, near=near)
        return self

    # ------------------------------------------------------------------ predictions
    def _wrap(
        self, values: FloatArray, index: pd.Index | None, is_frame: bool, name: str
    ) -> FloatArray | pd.Series:
        values = np.asarray(values, dtype=np.float64)
        if not is_frame:
            return values
        return pd.Series(values, index=index, name=name)

    def _score(
        self,
        name: str,
        kernel: Callable[..., FloatArray],
        args: tuple[Any, ...],
        data: Any,
        cols: tuple[str, str, str],
        who: str,
        customer_col: str | None,
        *,
        clip: bool = False,
    ) -> FloatArray | pd.Series:
        """Per-customer prediction ``kernel(params, *args, x, t_x, T)`` of `data`, wrapped.

        The shared tail of the public prediction methods (after their own argument checks):
        reads and validates the ``(frequency, recency, T)`` input, evaluates the kernel with
        the fitted parameters, clips probabilities to [0, 1] when `clip`, and returns a Series
        named `name` aligned with a frame's rows (an ndarray for array input).
        """
        x, t_x, T, index, is_frame = self._prediction_arrays(data, cols, who, customer_col)
        out = kernel(self._params_array(), *args, x, t_x, T)
        return self._wrap(np.clip(out, 0.0, 1.0) if clip else out, index, is_frame, name)

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

    @overload
    def expected_purchases(
        self,
        data: ArrayInput,
        t: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> FloatArray: ...
    @overload
    def expected_purchases(
        self,
        data: FrameInput,
        t: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> pd.Series: ...
    @renamed_parameters(id_col="customer_col")
    def expected_purchases(
        self,
        data: Any,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        customer_col: str | None = _DEFAULT_ID_COL,
    ) -> FloatArray | pd.Series:
        """Expected number of purchases in the next `t` periods, given each customer's history.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories (same time unit as the fit).
        t : float
            Length of the future window ``(T, T + t]``.
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        customer_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the customer id column whose
            values label the result; used when present (a RangeIndex otherwise). A pandas
            frame's own index is always kept. Formerly ``id_col`` (deprecated alias).

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``E[X(T, T + t) | x, t_x, T]``, a Series aligned with the frame's index (an ndarray
            for array input).
        """
        self._check_fitted()
        who = self._who("expected_purchases")
        tt = self._check_t("t", t, who)
        cols = (frequency_col, recency_col, T_col)
        kernel = self._expected_purchases_kernel
        return self._score("expected_purchases", kernel, (tt,), data, cols, who, customer_col)

    @overload
    def probability_alive(
        self,
        data: ArrayInput,
        t: float = ...,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> FloatArray: ...
    @overload
    def probability_alive(
        self,
        data: FrameInput,
        t: float = ...,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> pd.Series: ...
    @renamed_parameters(future_t="t", id_col="customer_col")
    def probability_alive(
        self,
        data: Any,
        t: float = 0.0,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        customer_col: str | None = _DEFAULT_ID_COL,
    ) -> FloatArray | pd.Series:
        """Probability that each customer is still active at ``T + t``.

        Parameters
        ----------
        data : DataFrame or (frequency, recency, T) arrays
            Customers' histories.
        t : float, default 0
            How far beyond the end of the observation period ``T`` to look (the same
            future window ``t`` as in :meth:`expected_purchases`). Formerly ``future_t``
            (deprecated alias).
        frequency_col, recency_col, T_col : str
            Column names when `data` is a frame.
        customer_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the customer id column whose
            values label the result; used when present (a RangeIndex otherwise). A pandas
            frame's own index is always kept. Formerly ``id_col`` (deprecated alias).

        Returns
        -------
        pandas.Series or numpy.ndarray
            Probabilities in [0, 1].
        """
        self._check_fitted()
        who = self._who("probability_alive")
        ft = self._check_t("t", t, who)
        cols = (frequency_col, recency_col, T_col)
        kernel = self._probability_alive_kernel
        return self._score(
            "probability_alive", kernel, (ft,), data, cols, who, customer_col, clip=True
        )

    @overload
    def purchase_probability(
        self,
        data: ArrayInput,
        n: int,
        t: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> FloatArray: ...
    @overload
    def purchase_probability(
        self,
        data: FrameInput,
        n: int,
        t: float,
        *,
        frequency_col: str = ...,
        recency_col: str = ...,
        T_col: str = ...,
        customer_col: str | None = ...,
    ) -> pd.Series: ...
    @renamed_parameters(id_col="customer_col")
    def purchase_probability(
        self,
        data: Any,
        n: int,
        t: float,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
        customer_col: str | None = _DEFAULT_ID_COL,
    ) -> FloatArray | pd.Series:
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
        customer_col : str or None, default "customer_id"
            For a Polars or PyArrow frame (which has no index), the customer id column whose
            values label the result; used when present (a RangeIndex otherwise). A pandas
            frame's own index is always kept. Formerly ``id_col`` (deprecated alias).

        Returns
        -------
        pandas.Series or numpy.ndarray
            ``P(X(T, T + t) = n | x, t_x, T)``.
        """
        self._check_fitted()
        who = self._who("purchase_probability")
        nn = self._check_n(n, who)
        tt = self._check_t("t", t, who)
        cols = (frequency_col, recency_col, T_col)
        kernel = self._purchase_probability_kernel
        return self._score(
            "purchase_probability", kernel, (nn, tt), data, cols, who, customer_col, clip=True
        )

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
        from crmcore.value.btyd._interop import params_from_lifetimes

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
        from crmcore.value.btyd._interop import fitter_to_lifetimes

        self._check_fitted()
        return fitter_to_lifetimes(
            class_name=type(self)._lifetimes_class,
            params=self.params_,
            lifetimes_names=type(self)._lifetimes_param_names,
            penalizer=float(self.penalizer),
            who=self._who("to_lifetimes"),
        )
