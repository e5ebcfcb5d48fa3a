"""Customer migration model: a recency-state Markov chain (Pfeifer & Carraway 2000).

A customer's state at the end of a period is its recency: state 1 if it bought in that
period, state k if its last purchase was k periods ago, and state n for "n or more".
From state k the customer buys in the next period with probability p_k (back to state 1)
or moves to state min(k + 1, n). The expected discounted value of a customer in each
state is ``V = (I - P/(1+d))^{-1} R``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, overload

import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import factorize_ids, group_counts
from crmcore._compat import renamed_parameters
from crmcore._lazy import as_lazy, collect_pandas, read_order_log_lazy
from crmcore._orderlog import exclude_after, read_order_log
from crmcore._periods import (
    DATE_UNIT,
    period_expr,
    period_numbers,
    period_start,
    with_period_start,
)
from crmcore._validation import (
    check_param_choice,
    check_param_number,
    coerce_number_series,
    coerce_timestamp,
    to_pandas,
)
from crmcore.exceptions import ValidationError
from crmcore.value._base import MaximumLikelihoodModel
from crmcore.value.economics._economics import _df

__all__ = ["CustomerMigrationModel", "purchase_history"]

FloatArray = npt.NDArray[np.float64]
_M = TypeVar("_M", bound="CustomerMigrationModel")
_PERIODS = ("D", "W", "M", "Q", "Y")


def _number_vector(value: Any, name: str, who: str) -> FloatArray:
    """A flat sequence of finite numbers as float64 (no text, nesting or booleans)."""
    message = f"The {name!r} parameter of {who} must be a 1-d sequence of numbers."
    if value is None or isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        raise ValidationError(f"{message} Got {value!r} instead.")
    arr = np.asarray(list(value) if not isinstance(value, np.ndarray) else value, dtype=object)
    if arr.ndim != 1:
        raise ValidationError(f"{message} Got an array of shape {arr.shape} instead.")
    return coerce_number_series(pd.Series(arr, dtype=object), name=name, who=who)


def _check_finite_result(values: Any, who: str, inputs: str) -> None:
    """Raise when a result computed from finite inputs overflowed float64."""
    bad = ~np.isfinite(np.asarray(values, dtype=np.float64))
    if bad.any():
        raise ValidationError(
            f"{who}: {int(bad.sum())} values of the result are beyond the float64 range "
            f"(about 1.8e308); check {inputs} (e.g. express money in thousands)."
        )


@overload
def purchase_history(
    transactions: pd.DataFrame,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    period: str = ...,
    as_of: Any,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    date_format: str | None = ...,
) -> pd.DataFrame: ...


@overload
def purchase_history(
    transactions: Any,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    period: str = ...,
    as_of: Any,
    status_col: str | None = ...,
    statuses: Iterable[str] | None = ...,
    date_format: str | None = ...,
) -> Any: ...


def purchase_history(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    period: str = "M",
    as_of: Any,
    status_col: str | None = "status",
    statuses: Iterable[str] | None = None,
    date_format: str | None = None,
) -> Any:
    """Return a customer x period table of purchase counts (the migration model's input).

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per purchase. A lazy frame (Polars LazyFrame, DuckDB relation, PySpark or
        Dask DataFrame) is counted on its own engine into a long table, see Returns.
    customer_col, date_col : str
        Column roles.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period (week = Monday to Sunday, month = calendar month), as the
        package's period clock (:mod:`crmcore._periods`) numbers it.
    as_of : date-like
        End of observation (a date includes its whole day); the period containing it is
        the last column. Purchases after it are excluded and counted in a
        :class:`~crmcore.exceptions.CRMWarning`.
    status_col : str or None, default "status"
        When this column exists only purchases count (status in `statuses`); the other
        rows are counted by status in a ``CRMWarning``.
    statuses : iterable of str, optional
        Statuses that count as purchases; default ``("confirmed", "fulfilled")``.
    date_format : str, optional
        ``strftime`` layout of a string date column (else ISO 8601; never guessed per row;
        required for a string column of a lazy frame).

    Returns
    -------
    pandas.DataFrame or lazy frame
        For eager input: index customer id (sorted); columns period start dates from the
        first purchase period in the data to the period of `as_of`; values number of
        purchases (int).

        For a lazy frame: a lazy frame of the same engine in **long form**, one row per
        customer and period with at least one purchase: columns `customer_col`,
        ``period`` (Date, the period's first day) and ``purchases`` (Int64); row order
        unspecified. Periods without purchases are absent (the zeros of the wide table):
        a wide table of millions of customers times a data-dependent number of periods
        is not something a lazy engine can (or should) build. Pivot the collected
        result, filling 0, over the periods up to `as_of` to get the eager table.

    Raises
    ------
    ValidationError
        On a bad `period`, unparsable dates or missing values.
    ColumnNotFoundError
        If a column is missing.

    Notes
    -----
    In memory the table is one bincount of packed (customer code, period) keys: ids
    factorised in sorted order, dates numbered by the period clock. On a lazy engine it is
    one group-by of (customer, period number), labelled on the engine
    (:func:`crmcore._periods.with_period_start`).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-10"])})
    >>> purchase_history(tx, as_of="2024-03-31").to_numpy().tolist()
    [[1, 0, 1], [0, 1, 0]]

    A lazy frame gives the long table, on its engine (Polars here):

    >>> import polars as pl
    >>> long = purchase_history(pl.from_pandas(tx).lazy(), as_of="2024-03-31")
    >>> rows = long.collect().sort("customer_id", "period").rows()
    >>> [(c, str(p), n) for c, p, n in rows]
    [('a', '2024-01-01', 1), ('a', '2024-03-01', 1), ('b', '2024-02-01', 1)]
    """

    who = "purchase_history"
    check_param_choice("period", period, _PERIODS, who=who)
    end = coerce_timestamp(as_of, name="as_of", who=who, date_format=date_format)
    lazy = as_lazy(transactions)
    if lazy is not None:
        rows = read_order_log_lazy(
            lazy,
            who=who,
            customer_col=customer_col,
            date_col=date_col,
            status_col=status_col,
            statuses=statuses,
            date_format=date_format,
            cutoff=end,
        )
        return _history_lazy(rows, customer_col=customer_col, date_col=date_col, period=period)
    log = read_order_log(
        transactions,
        who=who,
        customer_col=customer_col,
        date_col=date_col,
        status_col=status_col,
        statuses=statuses,
        date_format=date_format,
    )
    log = exclude_after(
        log, date_col=date_col, customer_col=customer_col, cutoff=end, name="as_of", who=who
    )
    if len(log) == 0:
        raise ValidationError(f"{who}: no transactions on or before as_of={end.date()}.")
    counts, customers, numbers = _history_from_arrays(
        log, customer_col=customer_col, date_col=date_col, period=period, end=end, who=who
    )
    columns = pd.DatetimeIndex(period_start(numbers, period, who=who), name="period")
    return _df(
        counts,
        index=pd.Index(customers, name=customer_col),
        columns=columns.as_unit(DATE_UNIT),
    )


def _wide_history(
    long: pd.DataFrame, customer_col: str, period: str, end: pd.Timestamp
) -> pd.DataFrame:
    """The in-memory (customers x periods) table of a collected long purchase history."""
    numbers = period_numbers(
        np.asarray(pd.to_datetime(long["period"]).to_numpy()), period, who="fit_transactions"
    )
    last = int(period_numbers(np.array([np.datetime64(end, "us")]), period)[0])
    first = int(numbers.min())
    codes, customers = factorize_ids(long[customer_col])
    counts = np.zeros((len(customers), last - first + 1), dtype=np.int64)
    counts[codes, numbers - first] = long["purchases"].to_numpy(dtype=np.int64)
    labels = np.arange(first, last + 1, dtype=np.int64)
    columns = pd.DatetimeIndex(period_start(labels, period), name="period")
    return _df(
        counts,
        index=pd.Index(customers, name=customer_col),
        columns=columns.as_unit(DATE_UNIT),
    )


def _history_lazy(rows: Any, *, customer_col: str, date_col: str, period: str) -> Any:
    """The long purchase history of a lazy order log, on its engine (narwhals only)."""
    counts = (
        rows.with_columns(period_expr(date_col, period).alias("__period__"))
        .group_by(customer_col, "__period__")
        .agg(nw2.len().alias("purchases"))
    )
    labelled = with_period_start(counts, "__period__", period, name="period")
    return labelled.select(
        nw2.col(customer_col), nw2.col("period"), nw2.col("purchases").cast(nw2.Int64)
    ).to_native()


def _history_from_arrays(
    log: Any, *, customer_col: str, date_col: str, period: str, end: pd.Timestamp, who: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], npt.NDArray[np.int64]]:
    """Purchase counts per customer and period of an eager order log (kernel layer).

    Ids become dense codes in sorted id order (:func:`crmcore._aggregate.factorize_ids`),
    dates period numbers of the period clock; each row's cell of the dense customer x
    period matrix is the packed key ``code * n_periods + period - first``, and the matrix
    is one bincount of those keys (the result is dense anyway).

    Returns
    -------
    counts : int64 array, shape (n_customers, n_periods)
    customers : array of the distinct ids, sorted
    numbers : int64 array of the period numbers from the first purchase period to `end`'s
    """
    codes, customers = factorize_ids(log[customer_col].to_native())
    idx = period_numbers(np.asarray(log[date_col].to_numpy()), period, name=date_col, who=who)
    last = int(period_numbers(pd.DatetimeIndex([end]), period, name="as_of", who=who)[0])
    first = int(idx.min())
    n_periods = last - first + 1
    n_customers = len(customers)
    keys = codes * n_periods
    keys += idx
    if first:
        keys -= first
    counts = group_counts(keys, n_customers * n_periods).reshape(n_customers, n_periods)
    return counts, customers, np.arange(first, last + 1, dtype=np.int64)


class CustomerMigrationModel(MaximumLikelihoodModel):
    """Recency-state Markov chain of customer migration (Pfeifer & Carraway 2000).

    An estimator of the :class:`~crmcore.value.MaximumLikelihoodModel` family with a
    closed-form (counting) maximum-likelihood ``fit``: it shares the base's ``params_``,
    ``covariance_``, ``summary``, ``from_params(**params_)``, reprs, pickling and
    ``NotFittedError``; it has no optimiser, so the base's ``penalizer``, ``tol``,
    ``max_iter`` and ``initial_params`` settings do not exist here.

    Parameters
    ----------
    n_states : int, default 5
        Number of recency states; the last one means "n_states or more periods since the
        last purchase".

    Attributes
    ----------
    purchase_probabilities_ : pandas.Series
        p_1..p_n, indexed by state (recency) 1..n.
    params_ : pandas.Series
        Same values, indexed ``p1..pn``.
    covariance_ : pandas.DataFrame
        Diagonal binomial covariance ``p(1-p)/n_k`` (rows of a Markov chain are estimated
        independently); all NaN for a model built with :meth:`from_params` (no data, the
        one rule of :class:`~crmcore.value.MaximumLikelihoodModel`).
    summary(alpha) : pandas.DataFrame
        (a method) estimate, std_err, ci_lower, ci_upper of p1..pn: the binomial standard
        error and the Wald interval ``p +- z_{1-alpha/2} se`` (NaN after
        :meth:`from_params`).
    log_likelihood_ : float
        ``sum_k [m_k ln p_k + (n_k - m_k) ln(1 - p_k)]`` at the estimate, with ``n_k``
        transitions out of state k and ``m_k`` of them purchases (NaN after
        :meth:`from_params`).
    n_obs_ : float
        Observed transitions (the Bernoulli trials of the likelihood; 0 after
        :meth:`from_params`); ``aic_`` and ``bic_`` use it.
    time_unit_ : str or None
        The period of :meth:`fit_transactions` (``"M"``, ...); None after :meth:`fit` on a
        ready table or :meth:`from_params` without ``time_unit``.
    transition_counts_ : pandas.DataFrame
        Observed transitions from state (rows) to state (columns); zero for a model built
        with :meth:`from_params`.
    transition_matrix_ : pandas.DataFrame
        P; every row sums to 1.
    state_counts_ : pandas.Series
        Customers in each state at the end of the last observed period.
    n_customers_ : int
        Customers with at least one purchase in the history.

    Notes
    -----
    Estimation: every customer enters state 1 at the end of its first purchase period;
    every later period gives one observed transition. ``p_k`` is the share of transitions
    out of state k that go to state 1 (maximum likelihood for a Markov chain). Periods
    before a customer's first purchase carry no information and are ignored.

    References
    ----------
    Pfeifer, P. E. & Carraway, R. L. (2000). Modeling customer relationships as Markov
    chains. Journal of Interactive Marketing 14(2), 43-55.

    Examples
    --------
    >>> model = CustomerMigrationModel.from_params(purchase_probabilities=[0.3, 0.2, 0.15, 0.05, 0])
    >>> values = model.state_values(margin=40, marketing_cost=[4, 4, 4, 4, 0], discount_rate=0.2)
    >>> values.round(2).tolist()
    [52.32, 5.55, 1.25, -1.82, 0.0]
    """

    def __init__(self, *, n_states: int = 5) -> None:
        # no super().__init__(): a counting fit has no optimiser settings
        self.n_states = n_states

    #: the Jupyter display names what ``n_obs_`` counts
    _n_obs_noun = "transitions"

    def _settings_repr(self) -> str:
        return f"n_states={self.n_states!r}"

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_params(  # type: ignore[override]  # also takes a sequence, not only floats
        cls: type[_M],
        *,
        purchase_probabilities: Sequence[float] | None = None,
        time_unit: str | None = None,
        **params: float,
    ) -> _M:
        """Build a model from purchase probabilities p_1..p_n (n >= 2), each in [0, 1].

        Parameters
        ----------
        purchase_probabilities : sequence of float, optional
            p_1..p_n in state order.
        time_unit : str, optional
            The period the probabilities refer to, recorded as ``time_unit_``.
        **params : float
            Instead of `purchase_probabilities`: ``p1=..., p2=..., ...`` (the labels of
            ``params_``), so that ``from_params(**model.params_)`` rebuilds a fitted model.

        Returns
        -------
        CustomerMigrationModel
            ``covariance_`` is an n x n NaN matrix, ``log_likelihood_`` NaN, ``n_obs_`` 0.

        Raises
        ------
        ValidationError
            Both or neither forms given, labels other than p1..pn, fewer than two
            probabilities, or a probability outside [0, 1].

        Examples
        --------
        >>> m = CustomerMigrationModel.from_params(p1=0.3, p2=0.1)
        >>> m.transition_matrix_.to_numpy().tolist()
        [[0.3, 0.7], [0.1, 0.9]]
        """
        who = "CustomerMigrationModel.from_params"
        if purchase_probabilities is None:
            expected = [f"p{k}" for k in range(1, len(params) + 1)]
            if not params or sorted(params) != sorted(expected):
                raise ValidationError(
                    f"{who}: give purchase_probabilities=[p_1, ..., p_n] or p1=..., ..., pn=... "
                    f"(n >= 2); got keywords {sorted(params)!r}."
                )
            purchase_probabilities = [params[name] for name in expected]
        elif params:
            raise ValidationError(
                f"{who}: give either purchase_probabilities= or p1=..., pn=..., not both; got "
                f"also {sorted(params)!r}."
            )
        p = _number_vector(purchase_probabilities, "purchase_probabilities", who)
        if p.ndim != 1 or p.shape[0] < 2:
            raise ValidationError(f"{who}: give at least two purchase probabilities.")
        if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
            raise ValidationError(f"{who}: purchase probabilities must be in [0, 1]; got {p}.")
        model = cls(n_states=int(p.shape[0]))
        model._set(p, np.zeros((p.shape[0], p.shape[0]), dtype=np.int64), None, 0)
        model.time_unit_ = time_unit
        return model

    def _set(
        self,
        p: FloatArray,
        counts: npt.NDArray[np.int64],
        state_counts: npt.NDArray[np.int64] | None,
        n_customers: int,
    ) -> None:
        n = p.shape[0]
        states = pd.Index(np.arange(1, n + 1), name="state")
        matrix = np.zeros((n, n), dtype=np.float64)
        matrix[:, 0] = p
        nxt = np.minimum(np.arange(1, n + 1), n - 1)
        matrix[np.arange(n), nxt] += 1.0 - p
        self.purchase_probabilities_ = pd.Series(p, index=states, name="purchase_probability")
        self.params_ = pd.Series(p, index=[f"p{k}" for k in range(1, n + 1)], name="estimate")
        trials = counts.sum(axis=1).astype(np.float64)
        n_obs = float(trials.sum())
        if n_obs > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                cov = np.diag(np.where(trials > 0, p * (1.0 - p) / trials, np.nan))
            bought = counts[:, 0].astype(np.float64)
            # Bernoulli log-likelihood with 0 ln 0 = 0 (p_k is 0 or 1 only when m_k is)
            with np.errstate(divide="ignore", invalid="ignore"):
                ll = float(
                    np.sum(np.where(bought > 0, bought * np.log(p), 0.0))
                    + np.sum(np.where(trials > bought, (trials - bought) * np.log1p(-p), 0.0))
                )
        else:
            cov = np.full((n, n), np.nan)
            ll = np.nan
        self.covariance_ = pd.DataFrame(cov, index=self.params_.index, columns=self.params_.index)
        self.log_likelihood_ = ll
        self.n_obs_ = n_obs
        self.aic_ = 2.0 * n - 2.0 * ll
        self.bic_ = n * np.log(n_obs) - 2.0 * ll if n_obs > 0 else np.nan
        self.converged_ = True  # closed form: the estimate is the maximum
        self.n_iter_ = 0
        self.n_excluded_ = 0.0
        self.max_gradient_ = np.nan
        self.newton_gain_ = np.nan
        self.time_unit_ = None
        self.transition_counts_ = pd.DataFrame(
            counts, index=states, columns=pd.Index(states.to_numpy(), name="to_state")
        )
        self.transition_matrix_ = pd.DataFrame(
            matrix, index=states, columns=pd.Index(states.to_numpy(), name="to_state")
        )
        self.state_counts_ = pd.Series(
            np.zeros(n, dtype=np.int64) if state_counts is None else state_counts,
            index=states,
            name="customers",
        )
        self.n_customers_ = n_customers

    def fit(self: _M, history: Any) -> _M:
        """Estimate the chain from a customer x period purchase table.

        Parameters
        ----------
        history : DataFrame or array_like
            Rows are customers, columns consecutive periods in time order; a value > 0
            (or True) means the customer bought in that period. NaN is not allowed. Build
            it from transactions with :func:`purchase_history` or use
            :meth:`fit_transactions`.

        Returns
        -------
        CustomerMigrationModel
            self, fitted.

        Raises
        ------
        ValidationError
            If the table is empty, has missing or negative values, or no transition out of
            some state was observed (lower `n_states`).
        """
        who = "CustomerMigrationModel.fit"
        check_param_number("n_states", self.n_states, who=who, low=2, integer=True)
        n = int(self.n_states)
        table = history
        if not isinstance(table, pd.DataFrame) and hasattr(table, "columns"):
            table = to_pandas(table, who=who)  # Polars / PyArrow
        try:
            if isinstance(table, pd.DataFrame):
                values = table.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                values = np.asarray(table, dtype=np.float64)
        except (TypeError, ValueError):
            if isinstance(table, pd.DataFrame):
                for column in table.columns:  # name the first column that is not numeric
                    coerce_number_series(
                        table[column], name=str(column), who=who, allow_missing=True
                    )
            raise ValidationError(
                f"{who}: history must be a customers x periods table of numbers (purchase "
                f"counts or 0/1); got {type(history).__name__}."
            ) from None
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
            raise ValidationError(f"{who}: history must be a non-empty customers x periods table.")
        if np.isnan(values).any():
            raise ValidationError(
                f"{who}: history has {int(np.isnan(values).sum()):,} missing values; use 0 "
                "for a period without purchase."
            )
        if (values < 0).any():
            raise ValidationError(f"{who}: history has negative values.")
        bought = values > 0
        state = np.zeros(values.shape[0], dtype=np.int64)  # 0 = not yet a customer
        counts = np.zeros((n, n), dtype=np.int64)
        for t in range(values.shape[1]):  # loop over periods, vectorised over customers
            new = np.where(bought[:, t], 1, np.where(state > 0, np.minimum(state + 1, n), 0))
            active = state > 0
            np.add.at(counts, (state[active] - 1, new[active] - 1), 1)
            state = new
        trials = counts.sum(axis=1)
        if (trials == 0).any():
            missing = ", ".join(str(k + 1) for k in np.flatnonzero(trials == 0))
            raise ValidationError(
                f"{who}: no transition out of state(s) {missing} was observed, so their "
                f"purchase probabilities cannot be estimated. Hint: use fewer states "
                f"(n_states < {n}) or a longer history."
            )
        p = counts[:, 0] / trials
        state_counts = np.bincount(state[state > 0] - 1, minlength=n).astype(np.int64)
        self._set(p.astype(np.float64), counts, state_counts, int((state > 0).sum()))
        return self

    def fit_transactions(
        self: _M,
        transactions: Any,
        *,
        customer_col: str = "customer_id",
        date_col: str = "date",
        period: str = "M",
        as_of: Any,
        status_col: str | None = "status",
        statuses: Iterable[str] | None = None,
        date_format: str | None = None,
    ) -> _M:
        """Fit from a transaction table: :func:`purchase_history` then :meth:`fit`.

        The order-log keywords (`status_col`, `statuses`, `date_format`) are those of
        :func:`purchase_history`.
        """
        table = purchase_history(
            transactions,
            customer_col=customer_col,
            date_col=date_col,
            period=period,
            as_of=as_of,
            status_col=status_col,
            statuses=statuses,
            date_format=date_format,
        )
        long = as_lazy(table)
        if long is not None:
            # a lazy order log: the long history (one row per non-empty cell) is counted on
            # the engine and collected; the chain is fitted in memory on the wide table
            end = coerce_timestamp(
                as_of, name="as_of", who="fit_transactions", date_format=date_format
            )
            table = _wide_history(collect_pandas(long), customer_col, period, end)
        self.fit(table)
        self.time_unit_ = period
        return self

    # -- results ------------------------------------------------------------------------

    def fit_notes(self) -> list[str]:
        """Always empty: the counting estimate is the exact maximum (no optimiser notes).

        A p_k of 0 or 1 has a zero binomial standard error; ``summary`` shows it as is.
        """
        self._check_fitted()
        return []

    def _interval(
        self, estimate: npt.NDArray[np.float64], std_err: npt.NDArray[np.float64], z: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``summary`` limits: the Wald interval ``p +- z se`` with the binomial
        ``se = sqrt(p(1-p)/n_k)`` (probabilities may be 0, so not on the log scale)."""
        return estimate - z * std_err, estimate + z * std_err

    def _rewards(
        self,
        margin: float | None,
        marketing_cost: float | Sequence[float],
        rewards: Sequence[float] | None,
        who: str,
    ) -> FloatArray:
        n = self.transition_matrix_.shape[0]
        if rewards is not None:
            if margin is not None:
                raise ValidationError(f"{who}: give either rewards= or margin=, not both.")
            r = _number_vector(rewards, "rewards", who)
            if r.shape != (n,) or not np.isfinite(r).all():
                raise ValidationError(f"{who}: rewards must be {n} finite numbers (one per state).")
            return r
        if margin is None:
            raise ValidationError(
                f"{who}: give margin= (net contribution of a purchase) or rewards=."
            )
        check_param_number("margin", margin, who=who)
        if isinstance(marketing_cost, numbers.Real | np.number):
            check_param_number("marketing_cost", marketing_cost, who=who)
            cost = np.full(n, float(marketing_cost))
        else:
            cost = _number_vector(marketing_cost, "marketing_cost", who)
        if cost.shape != (n,) or not np.isfinite(cost).all():
            raise ValidationError(
                f"{who}: marketing_cost must be a number or {n} numbers (one per state)."
            )
        r = -cost
        r[0] += float(margin)
        return r

    def fundamental_matrix(self, discount_rate: float) -> pd.DataFrame:
        """Return ``(I - P/(1+d))^{-1}``: expected discounted visits to each state."""
        self._check_fitted()
        who = "CustomerMigrationModel.fundamental_matrix"
        check_param_number("discount_rate", discount_rate, who=who, low=0, low_inclusive=False)
        d = float(discount_rate)
        if 1.0 / (1.0 + d) == 1.0:
            raise ValidationError(
                f"The 'discount_rate' parameter of {who} must be at least about 1e-16 (the "
                f"discount factor 1 / (1 + rate) rounds to 1 in float64 below that, and "
                f"I - P is singular). Got {discount_rate!r} instead."
            )
        p = self.transition_matrix_.to_numpy()
        n = p.shape[0]
        try:
            inv = np.linalg.inv(np.eye(n) - p / (1.0 + d))
        except np.linalg.LinAlgError:
            raise ValidationError(
                f"{who}: I - P / (1 + discount_rate) is singular for discount_rate="
                f"{discount_rate!r}. Hint: use a larger discount rate."
            ) from None
        _check_finite_result(inv, who, "discount_rate")
        return _df(
            inv, index=self.transition_matrix_.index, columns=self.transition_matrix_.columns
        )

    def state_values(
        self,
        *,
        discount_rate: float,
        margin: float | None = None,
        marketing_cost: float | Sequence[float] = 0.0,
        rewards: Sequence[float] | None = None,
    ) -> pd.Series:
        """Return the expected discounted value of a customer in each recency state.

        Parameters
        ----------
        discount_rate : float
            Per-period discount rate d > 0.
        margin : float, optional
            Net contribution of a purchase (earned in state 1, the period of purchase).
        marketing_cost : float or sequence, default 0
            Marketing spent per customer per period in each state (a sequence of n values
            lets the last state cost nothing, as in the paper).
        rewards : sequence of float, optional
            The reward vector R directly (instead of margin and marketing_cost).

        Returns
        -------
        pandas.Series
            ``V = (I - P/(1+d))^{-1} R`` indexed by state; V_1 includes the contribution of
            the purchase just made.

        Raises
        ------
        ValidationError
            If d <= 0 (or too small for 1 / (1 + d) < 1 in float64), the rewards are
            malformed (text, nested, wrong length) or a value is beyond the float64 range.

        Notes
        -----
        ``R_1 = margin - cost_1`` and ``R_k = -cost_k``; V is the expected present value of
        the rewards of the current and all future periods, ``sum_t (1+d)^-t P^t R``.
        """
        who = "CustomerMigrationModel.state_values"
        fundamental = self.fundamental_matrix(discount_rate).to_numpy()
        r = self._rewards(margin, marketing_cost, rewards, who)
        scale = float(np.max(np.abs(r))) or 1.0  # scaled: no intermediate overflow
        with np.errstate(over="ignore", invalid="ignore"):
            values = (fundamental @ (r / scale)) * scale
        _check_finite_result(values, who, "margin, marketing_cost and rewards")
        return pd.Series(values, index=self.transition_matrix_.index, name="value")

    @renamed_parameters(periods="n_periods")
    def project(self, n_periods: int, *, initial: Sequence[float] | None = None) -> pd.DataFrame:
        """Return the expected customers (or shares) in each state for 0..`n_periods` periods.

        Parameters
        ----------
        n_periods : int
            Number of periods to project (>= 0). Formerly ``periods`` (deprecated alias).
        initial : sequence of float, optional
            Customers or shares by state at period 0; default :attr:`state_counts_`.

        Returns
        -------
        pandas.DataFrame
            Row k is ``initial @ P^k``; index ``period`` 0..n_periods, columns states.

        Raises
        ------
        ValidationError
            On a bad `n_periods` or `initial` (text, nested, wrong length, negative), or
            counts beyond the float64 range.
        """
        self._check_fitted()
        who = "CustomerMigrationModel.project"
        check_param_number("n_periods", n_periods, who=who, low=0, integer=True)
        p = self.transition_matrix_.to_numpy()
        n = p.shape[0]
        x = (
            self.state_counts_.to_numpy(dtype=np.float64)
            if initial is None
            else _number_vector(initial, "initial", who)
        )
        if x.shape != (n,) or not np.isfinite(x).all() or (x < 0).any():
            raise ValidationError(f"{who}: initial must be {n} non-negative numbers.")
        scale = float(x.max(initial=0.0)) or 1.0  # scaled: no intermediate overflow
        rows = np.empty((int(n_periods) + 1, n), dtype=np.float64)
        rows[0] = x / scale
        for k in range(1, int(n_periods) + 1):
            rows[k] = rows[k - 1] @ p
        with np.errstate(over="ignore"):
            rows *= scale
        _check_finite_result(rows, who, "initial")
        return _df(
            rows,
            index=pd.RangeIndex(int(n_periods) + 1, name="period"),
            columns=self.transition_matrix_.columns,
        )
