"""Absorbing Markov chain of a sales pipeline, fitted from the stage-history event frame.

The open stages are the transient states; every won and every lost stage is absorbing.
With the one-step matrix in canonical form ``P = [[Q, R], [0, I]]`` the fundamental matrix
is ``N = (I - Q)^{-1}``; the absorption probabilities are ``B = N R``, the expected number
of steps to absorption ``t = N 1`` and its variance ``(2N - I) t - t*t`` (Grinstead &
Snell, *Introduction to Probability*, 2nd ed., AMS 1997, section 11.2, theorems 11.4-11.6).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import (
    check_param_choice,
    check_param_number,
    format_ids,
)
from crmcore.exceptions import CRMWarning, NotFittedError, ValidationError

if TYPE_CHECKING:
    from crmcore.pipeline._entities import Pipeline

__all__ = ["PipelineMarkovModel"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_M = TypeVar("_M", bound="PipelineMarkovModel")
_STEPS = ("D", "W")
_STEP_NS = {"D": 86_400 * 10**9, "W": 7 * 86_400 * 10**9}
_ROW_SUM_TOL = 1e-9


class UndefinedStageWarning(CRMWarning):
    """Some open stages have no observed transition, so their chain quantities are NaN."""


def _outcome_masks(
    pipeline: Pipeline, names: list[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Boolean masks (open, won) over `names` from the pipeline's stage helpers."""
    open_names = set(pipeline.open_names)
    won_names = set(pipeline.won_names)
    is_open = np.array([n in open_names for n in names], dtype=bool)
    won = np.array([n in won_names for n in names], dtype=bool)
    return is_open, won


def _as_int_array(values: Any) -> IntArray:
    out: IntArray = np.asarray(values, dtype=np.int64)
    return out


def discretised_counts(
    opportunity: IntArray,
    changed_at: IntArray,
    state: IntArray,
    is_open: npt.NDArray[np.bool_],
    *,
    as_of: int,
    step: int,
) -> IntArray:
    """Transition counts of the discretised chain (the kernel of ``PipelineMarkovModel.fit``).

    Parameters
    ----------
    opportunity : ndarray of int64
        Opportunity codes, grouped (all events of one opportunity contiguous).
    changed_at : ndarray of int64
        Event times in ns, ascending within each opportunity; the first event of an
        opportunity is its creation c.
    state : ndarray of int64
        Stage index of each event (0 .. n_states - 1).
    is_open : ndarray of bool
        ``is_open[s]`` is True for an open stage.
    as_of : int
        End of observation in ns.
    step : int
        Step length L in ns.

    Returns
    -------
    ndarray of int64, shape (n_states, n_states)
        ``counts[i, j]`` = number of steps k -> k + 1 (k + 1 <= K) from open stage i to j.

    Notes
    -----
    The state at step k is the stage of the last event with ``changed_at <= c + k L``.
    An event at time t is first seen at step ``s = ceil((t - c) / L)``; only events with
    ``s <= K = floor((as_of - c) / L)`` matter (this also drops events after `as_of` and
    opportunities created after it). Keeping the last event of each (opportunity, s)
    gives the state path as runs: a run entered at step s_m lasts until s_{m+1}, which
    contributes ``s_{m+1} - s_m - 1`` self-loops and one move state_m -> state_{m+1}
    (a self-loop again when a row repeats the stage); the last run adds ``K - s_last``
    self-loops while open. The cost is linear in the number of events, whatever the
    number of steps.
    """
    n_states = int(is_open.shape[0])
    counts = np.zeros(n_states * n_states, dtype=np.int64)
    n = int(opportunity.shape[0])
    if n == 0:
        return counts.reshape(n_states, n_states)
    first = np.ones(n, dtype=bool)
    first[1:] = opportunity[1:] != opportunity[:-1]
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    created = changed_at[starts][group]
    horizon = np.floor_divide(as_of - changed_at[starts], step)  # K per opportunity
    s = -np.floor_divide(created - changed_at, step)  # ceil((t - c) / L) >= 0
    keep = s <= horizon[group]
    # the last event of each (opportunity, step) among the kept ones
    opp_k, s_k, st_k = group[keep], s[keep], state[keep]
    if opp_k.shape[0] == 0:
        return counts.reshape(n_states, n_states)
    last = np.ones(opp_k.shape[0], dtype=bool)
    last[:-1] = (opp_k[1:] != opp_k[:-1]) | (s_k[1:] != s_k[:-1])
    opp_r, s_r, st_r = opp_k[last], s_k[last], st_k[last]
    same_next = np.zeros(opp_r.shape[0], dtype=bool)
    same_next[:-1] = opp_r[1:] == opp_r[:-1]
    open_r = is_open[st_r]
    # moves between consecutive runs of one opportunity (from an open run only)
    move = same_next & open_r
    idx = np.flatnonzero(move)
    np.add.at(counts, st_r[idx] * n_states + st_r[idx + 1], 1)
    # self-loops inside a run: up to the next run, or to K for the last run
    end = np.where(same_next, np.roll(s_r, -1) - 1, horizon[opp_r])
    loops = np.where(open_r, end - s_r, 0)
    diag = st_r * n_states + st_r
    counts += np.bincount(diag, weights=loops, minlength=n_states * n_states).astype(np.int64)
    return counts.reshape(n_states, n_states)


def _reach(adjacency: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Reflexive-transitive closure of a boolean adjacency matrix (small n)."""
    reach = adjacency | np.eye(adjacency.shape[0], dtype=bool)
    while True:
        nxt = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
        if (nxt == reach).all():
            return reach
        reach = nxt


class PipelineMarkovModel:
    """Absorbing Markov chain of pipeline stages, fitted at a day or week step.

    Parameters
    ----------
    step : {"D", "W"}, default "W"
        Step length L: one day or seven days.

    Attributes
    ----------
    transition_counts_ : pandas.DataFrame
        Index and columns: every stage name in pipeline order; observed steps from each
        open stage (zeros in the won and lost rows). All zeros after ``from_params``.
    transition_matrix_ : pandas.DataFrame
        One-step probabilities, counts / row totals; won and lost rows are unit rows.
        An open stage never observed has a NaN row.
    win_probability_ : pandas.Series
        By open stage: probability of absorption in any won stage (row sums of the won
        columns of ``B = N R``).
    expected_steps_to_close_ : pandas.Series
        By open stage: expected number of steps until a won or lost stage, ``t = N 1``.
    steps_to_close_variance_ : pandas.Series
        By open stage: variance of that number, ``(2N - I) t - t*t``.
    win_probability_std_err_ : pandas.Series
        Delta-method standard error of ``win_probability_`` (rows multinomial given the
        row totals); NaN after ``from_params``.
    n_opportunities_ : int
        Opportunities that contributed to the fit (0 after ``from_params``).
    as_of_ : pandas.Timestamp or None
        End of observation used by ``fit`` (UTC).

    Notes
    -----
    Discretisation: with c an opportunity's creation time (its first event), its state at
    step k = 0, 1, ... is the stage of its last event with ``changed_at <= c + k L``. Only
    whole steps up to ``K = floor((as_of - c) / L)`` count (the unfinished step is
    right-censored); each step k -> k + 1 with ``k + 1 <= K`` from an open state adds one
    count (a self-loop when the stage is unchanged, a skip or a regression otherwise);
    nothing is counted after a won or lost state. Events after `as_of` and opportunities
    created after it are ignored. The model keeps no training data.

    An open stage without observed steps, or one from which a stage without observed
    steps or a closed class without exit can be reached, gets NaN win probability,
    expected steps and variance (with an :class:`UndefinedStageWarning`).

    References
    ----------
    Grinstead, C. M. & Snell, J. L. (1997). *Introduction to Probability*, 2nd ed., AMS,
    chapter 11 (absorbing Markov chains, theorems 11.4-11.6).

    Examples
    --------
    The drunkard's walk of Grinstead & Snell (section 11.2) on 0..4, with 4 "won" and
    0 "lost":

    >>> import pandas as pd
    >>> from crmcore.pipeline import Pipeline, Stage, PipelineMarkovModel
    >>> stages = [Stage(name=str(i), order=i, probability=p, outcome=o) for i, p, o in
    ...           [(0, 0.0, "lost"), (1, 0.25, "open"), (2, 0.5, "open"),
    ...            (3, 0.75, "open"), (4, 1.0, "won")]]
    >>> pipe = Pipeline(stages=stages)
    >>> names = [str(i) for i in range(5)]
    >>> P = pd.DataFrame(0.0, index=names, columns=names)
    >>> for i in (1, 2, 3):
    ...     P.loc[str(i), str(i - 1)] = P.loc[str(i), str(i + 1)] = 0.5
    >>> model = PipelineMarkovModel.from_params(P, pipeline=pipe)
    >>> model.win_probability_.round(4).tolist()
    [0.25, 0.5, 0.75]
    >>> model.expected_steps_to_close_.round(4).tolist()
    [3.0, 4.0, 3.0]
    >>> model.steps_to_close_variance_.round(4).tolist()
    [8.0, 8.0, 8.0]
    """

    transition_counts_: pd.DataFrame
    transition_matrix_: pd.DataFrame
    win_probability_: pd.Series
    expected_steps_to_close_: pd.Series
    steps_to_close_variance_: pd.Series
    win_probability_std_err_: pd.Series
    n_opportunities_: int
    as_of_: pd.Timestamp | None

    def __init__(self, step: str = "W") -> None:
        self.step = step

    # -- fitting ---------------------------------------------------------------------

    def fit(self: _M, history: Any, pipeline: Pipeline, *, as_of: Any = None) -> _M:
        """Fit the chain from a stage-history event frame.

        Parameters
        ----------
        history : DataFrame
            Stage-history event frame (pandas, Polars or PyArrow): ``opportunity_id,
            stage, changed_at, amount, expected_close`` and optionally ``probability``.
            The whole frame is validated (see :func:`crmcore.pipeline.read_history`).
        pipeline : Pipeline
            The stages (order, outcome) the history refers to.
        as_of : date-like, optional
            End of observation (tz-aware, or naive read as UTC); default: the latest
            ``changed_at``.

        Returns
        -------
        PipelineMarkovModel
            self, fitted.

        Raises
        ------
        ValidationError, InvalidStageTransition, ColumnNotFoundError
            On an inconsistent history (named opportunity ids) or a bad `step`.

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.pipeline import PipelineMarkovModel, simple_pipeline
        >>> pipe = simple_pipeline()
        >>> first, second = pipe.open_names[0], pipe.open_names[1]
        >>> h = pd.DataFrame({
        ...     "opportunity_id": ["a", "a", "a", "b", "b"],
        ...     "stage": [first, second, pipe.won_names[0], "Proposal", "Lost"],
        ...     "changed_at": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-20",
        ...                                   "2024-01-01", "2024-01-03"]),
        ...     "amount": 100.0, "expected_close": pd.Timestamp("2024-02-01")})
        >>> m = PipelineMarkovModel(step="W").fit(h, pipe, as_of="2024-02-01")
        >>> counts = m.transition_counts_
        >>> int(counts.loc[first, first]), int(counts.loc[first, second])
        (1, 1)
        """
        from crmcore.pipeline._history import coerce_as_of, read_history

        who = "PipelineMarkovModel.fit"
        check_param_choice("step", self.step, _STEPS, who="PipelineMarkovModel")
        frame = read_history(history, pipeline, who=who)
        names = list(pipeline.names)
        # read_history sorts by opportunity id: a new id starts a new group
        ids = frame["opportunity_id"].to_numpy(dtype=object)
        first = np.ones(ids.shape[0], dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        opp_codes = _as_int_array(np.cumsum(first) - 1)
        times = _as_int_array(pd.DatetimeIndex(frame["changed_at"]).asi8)
        if as_of is None:
            if times.shape[0] == 0:
                raise ValidationError(
                    f"{who}: the history has no rows, so as_of cannot default to the latest "
                    "changed_at. Hint: pass as_of explicitly."
                )
            as_of_ns = int(times.max())
        else:
            as_of_ns = int(coerce_as_of(as_of, who=who).value)
        # names are in stage order, so the stage index is the rank of stage_order
        orders = np.array([pipeline.stage(n).order for n in names], dtype=np.int64)
        state = _as_int_array(
            np.searchsorted(orders, frame["stage_order"].to_numpy(dtype=np.int64))
        )
        is_open, won = _outcome_masks(pipeline, names)
        counts = discretised_counts(
            opp_codes,
            times,
            state,
            is_open,
            as_of=as_of_ns,
            step=_STEP_NS[self.step],
        )
        used = times[first]
        self._set_chain(counts.astype(np.float64), names, is_open, won, counts=counts)
        self.n_opportunities_ = int((used <= as_of_ns).sum())
        self.as_of_ = pd.Timestamp(as_of_ns, tz="UTC")
        return self

    @classmethod
    def from_params(
        cls: type[_M], transition_matrix: Any, *, pipeline: Pipeline, step: str = "W"
    ) -> _M:
        """Build a model from a known one-step matrix.

        Parameters
        ----------
        transition_matrix : pandas.DataFrame
            Index and columns: stage names (every stage of `pipeline`, any order). Each
            open stage's row must be probabilities summing to 1; won and lost rows are
            replaced by unit rows.
        pipeline : Pipeline
            The stages.
        step : {"D", "W"}, default "W"
            Step length the matrix refers to.

        Returns
        -------
        PipelineMarkovModel

        Raises
        ------
        CRMError
            (a :class:`ValidationError`) if a row does not sum to 1, a value is outside
            [0, 1] or missing, or the labels are not the pipeline's stage names.

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.pipeline import PipelineMarkovModel, simple_pipeline
        >>> pipe = simple_pipeline()
        >>> P = pd.DataFrame(0.0, index=list(pipe.names), columns=list(pipe.names))
        >>> for name in pipe.open_names:
        ...     P.loc[name, pipe.won_names[0]] = 0.5
        ...     P.loc[name, pipe.lost_names[0]] = 0.5
        >>> m = PipelineMarkovModel.from_params(P, pipeline=pipe)
        >>> float(m.win_probability_.iloc[0])
        0.5
        """
        who = "PipelineMarkovModel.from_params"
        check_param_choice("step", step, _STEPS, who=who)
        from crmcore.pipeline._entities import Pipeline

        if not isinstance(pipeline, Pipeline):
            raise ValidationError(
                f"The 'pipeline' parameter of {who} must be a crmcore.pipeline.Pipeline. "
                f"Got {type(pipeline).__name__} instead."
            )
        if not isinstance(transition_matrix, pd.DataFrame):
            raise ValidationError(
                f"The 'transition_matrix' parameter of {who} must be a pandas DataFrame whose "
                f"index and columns are the stage names. Got {type(transition_matrix).__name__}."
            )
        names = list(pipeline.names)
        for axis, labels in (
            ("index", transition_matrix.index),
            ("columns", transition_matrix.columns),
        ):
            got = [str(x) for x in labels]
            if sorted(got) != sorted(names) or len(set(got)) != len(got):
                missing = [n for n in names if n not in got]
                extra = [g for g in got if g not in names]
                raise ValidationError(
                    f"{who}: the {axis} of transition_matrix must be the pipeline's stage names "
                    f"{names}; missing: {missing}, unknown or repeated: {extra or 'none'}."
                )
        frame = transition_matrix.copy()
        frame.index = [str(x) for x in frame.index]
        frame.columns = [str(x) for x in frame.columns]
        try:
            values = frame.loc[names, names].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{who}: transition_matrix must hold numbers.") from exc
        is_open, won = _outcome_masks(pipeline, names)
        rows = values[is_open]
        open_names = [n for n, o in zip(names, is_open, strict=True) if o]
        bad_value = ~np.isfinite(rows) | (rows < 0) | (rows > 1)
        if bad_value.any():
            ids = [open_names[i] for i in np.flatnonzero(bad_value.any(axis=1))]
            raise ValidationError(
                f"{who}: transition probabilities must be numbers in [0, 1]; the rows of "
                f"{len(ids)} open stages break this (first stages: {format_ids(ids)})."
            )
        sums = rows.sum(axis=1)
        bad = np.abs(sums - 1.0) > _ROW_SUM_TOL
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                f"{who}: each open stage's row must sum to 1; {int(bad.sum())} rows do not "
                f"(first stages: {format_ids(open_names[i] for i in np.flatnonzero(bad))}; "
                f"row {open_names[first]!r} sums to {sums[first]:.6g})."
            )
        model = cls(step=step)
        model._set_chain(values, names, is_open, won, counts=None)
        model.n_opportunities_ = 0
        model.as_of_ = None
        return model

    def _set_chain(
        self,
        values: FloatArray,
        names: list[str],
        is_open: npt.NDArray[np.bool_],
        won: npt.NDArray[np.bool_],
        *,
        counts: IntArray | None,
    ) -> None:
        n = len(names)
        if counts is not None:
            totals = counts.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                matrix = counts / totals[:, None]
            matrix[is_open & (totals == 0)] = np.nan
            row_n = totals.astype(np.float64)
        else:
            matrix = values.copy()
            row_n = np.full(n, np.nan)
        closed = ~is_open
        matrix[closed] = 0.0
        matrix[closed, closed] = 0.0
        matrix[np.flatnonzero(closed), np.flatnonzero(closed)] = 1.0
        cnt = np.zeros((n, n), dtype=np.int64) if counts is None else counts.copy()
        cnt[closed] = 0
        self.transition_counts_ = pd.DataFrame(cnt, index=names, columns=names)
        self.transition_counts_.index.name = "from_stage"
        self.transition_counts_.columns.name = "to_stage"
        self.transition_matrix_ = pd.DataFrame(matrix, index=names, columns=names)
        self.transition_matrix_.index.name = "from_stage"
        self.transition_matrix_.columns.name = "to_stage"
        self._names = tuple(names)
        self._is_open = is_open.copy()
        self._won = won.copy()
        self._compute(row_n)

    def _compute(self, row_n: FloatArray) -> None:
        p = self.transition_matrix_.to_numpy(dtype=np.float64)
        op = np.flatnonzero(self._is_open)
        won = self._won
        open_names = [self._names[i] for i in op]
        q = p[np.ix_(op, op)]
        undefined = np.isnan(q).any(axis=1)
        # open stages from which absorption is reached with probability one
        q_adj = np.nan_to_num(q) > 0
        exits = np.nan_to_num(p[op][:, ~self._is_open]).sum(axis=1) > 0
        reach = _reach(q_adj)
        can_exit = (reach & exits[None, :]).any(axis=1)
        bad_stage = undefined | ~can_exit
        good = ~(reach & bad_stage[None, :]).any(axis=1)
        m = len(op)
        win = np.full(m, np.nan)
        steps = np.full(m, np.nan)
        var = np.full(m, np.nan)
        se = np.full(m, np.nan)
        g = np.flatnonzero(good)
        if g.size:
            qg = q[np.ix_(g, g)]
            fund = np.linalg.inv(np.eye(g.size) - qg)
            r_won = p[op[g]][:, won].sum(axis=1)
            win[g] = fund @ r_won
            steps[g] = fund @ np.ones(g.size)
            var[g] = (2.0 * fund - np.eye(g.size)) @ steps[g] - steps[g] ** 2
            # delta method: dw = N[:, i] (dP_i . v), v = w on open, 1 on won, 0 on lost
            v = np.zeros(p.shape[0])
            v[won] = 1.0
            v[op[g]] = win[g]
            rows = p[op[g]]
            spread = rows @ (v**2) - (rows @ v) ** 2
            n_rows = row_n[op[g]]
            with np.errstate(invalid="ignore", divide="ignore"):
                var_row = np.where(n_rows > 0, spread / n_rows, np.nan)
            se[g] = np.sqrt((fund**2) @ var_row)
        if (~good).any():
            warnings.warn(
                f"PipelineMarkovModel: {int((~good).sum())} open stages have no observed "
                f"steps or lead to such a stage (first stages: "
                f"{format_ids(open_names[i] for i in np.flatnonzero(~good))}); their win "
                "probability and steps to close are NaN.",
                UndefinedStageWarning,
                stacklevel=4,
            )
        index = pd.Index(open_names, name="stage")
        self.win_probability_ = pd.Series(win, index=index, name="win_probability")
        self.expected_steps_to_close_ = pd.Series(
            steps, index=index, name="expected_steps_to_close"
        )
        self.steps_to_close_variance_ = pd.Series(var, index=index, name="steps_to_close_variance")
        self.win_probability_std_err_ = pd.Series(se, index=index, name="win_probability_std_err")
        self._row_n = row_n[op]

    # -- results ---------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "transition_matrix_"):
            raise NotFittedError(
                "This PipelineMarkovModel is not fitted yet. Call fit() or from_params()."
            )

    def win_probability_within(self, k: int) -> pd.Series:
        """Return P(won within `k` steps) by open stage, from the won columns of ``P^k``.

        Parameters
        ----------
        k : int
            Number of steps (>= 0).

        Returns
        -------
        pandas.Series
            Index: open stages; increases with `k` towards ``win_probability_``.

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.pipeline import PipelineMarkovModel, simple_pipeline
        >>> pipe = simple_pipeline()
        >>> P = pd.DataFrame(0.0, index=list(pipe.names), columns=list(pipe.names))
        >>> for name in pipe.open_names:
        ...     P.loc[name, name] = 0.5
        ...     P.loc[name, pipe.won_names[0]] = 0.5
        >>> m = PipelineMarkovModel.from_params(P, pipeline=pipe)
        >>> float(m.win_probability_within(2).iloc[0])
        0.75
        """
        self._check_fitted()
        check_param_number("k", k, who="win_probability_within", low=0, integer=True)
        p = self.transition_matrix_.to_numpy(dtype=np.float64)
        pk = np.linalg.matrix_power(p, int(k))
        op = np.flatnonzero(self._is_open)
        out = pk[op][:, self._won].sum(axis=1)
        result: pd.Series = pd.Series(
            out,
            index=pd.Index([self._names[i] for i in op], name="stage"),
            name=f"win_probability_within_{int(k)}",
        )
        return result

    def summary(self) -> pd.DataFrame:
        """Return one row per open stage with the chain's main quantities.

        Returns
        -------
        pandas.DataFrame
            Index: open stages. Columns: ``n_steps`` (observed steps out of the stage; NaN
            after ``from_params``), ``stay_probability`` (the diagonal of the matrix),
            ``win_probability``, ``win_probability_std_err``, ``expected_steps_to_close``,
            ``steps_to_close_std`` (square root of the variance).

        Examples
        --------
        >>> import pandas as pd
        >>> from crmcore.pipeline import PipelineMarkovModel, simple_pipeline
        >>> pipe = simple_pipeline()
        >>> P = pd.DataFrame(0.0, index=list(pipe.names), columns=list(pipe.names))
        >>> for name in pipe.open_names:
        ...     P.loc[name, pipe.won_names[0]] = 1.0
        >>> list(PipelineMarkovModel.from_params(P, pipeline=pipe).summary().columns)[:3]
        ['n_steps', 'stay_probability', 'win_probability']
        """
        self._check_fitted()
        index = self.win_probability_.index
        diag = np.diag(self.transition_matrix_.to_numpy(dtype=np.float64))[self._is_open]
        table: pd.DataFrame = pd.DataFrame(
            {
                "n_steps": self._row_n,
                "stay_probability": diag,
                "win_probability": self.win_probability_.to_numpy(),
                "win_probability_std_err": self.win_probability_std_err_.to_numpy(),
                "expected_steps_to_close": self.expected_steps_to_close_.to_numpy(),
                "steps_to_close_std": np.sqrt(self.steps_to_close_variance_.to_numpy()),
            },
            index=index,
        )
        return table

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "transition_matrix_"):
            return f"{name}(step={self.step!r}) [not fitted]"
        n_open = int(self._is_open.sum())
        n_closed = len(self._names) - n_open
        how = (
            f"fitted on {self.n_opportunities_:,} opportunities, "
            f"{int(np.nansum(self._row_n)):,} steps"
            if self.as_of_ is not None
            else "from_params"
        )
        return f"{name}(step={self.step!r}; {n_open} open and {n_closed} closed stages; {how})"

    def _repr_html_(self) -> str:
        """Jupyter display: the repr line, what the chain was fitted on and the
        :meth:`summary` table by open stage.

        Counts carry thousands separators, probabilities and steps 4 significant digits. A
        NaN standard error of the win probability is marked ``*`` and a footnote says why:
        the chain was built with ``from_params`` (no observed steps, so no multinomial
        variance), or the stage has no observed step out of it or leads to such a stage
        (its win probability is NaN as well, see :class:`UndefinedStageWarning`).
        """
        from crmcore import _display as d

        if not hasattr(self, "transition_matrix_"):
            return d.not_fitted(repr(self), "call fit(history, pipeline) or from_params(...)")
        step = {"D": "day", "W": "week (7 days)"}.get(str(self.step), str(self.step))
        pairs = [("step", step)]
        fitted = self.as_of_ is not None
        if fitted:
            pairs += [
                ("opportunities", d.count(self.n_opportunities_)),
                ("observed steps", d.count(float(np.nansum(self._row_n)))),
                ("observed until", str(self.as_of_)),
            ]
        else:
            pairs.append(("source", "from_params (no data)"))
        table = self.summary()
        nan_se = [str(s) for s, v in table["win_probability_std_err"].items() if np.isnan(v)]
        rows: list[list[str | d.Cell]] = [
            [
                str(stage),
                d.count(row["n_steps"]) if fitted else "-",
                d.number(row["stay_probability"]),
                d.number(row["win_probability"]),
                d.Cell(
                    d.number(row["win_probability_std_err"]),
                    mark=d.NAN_MARK if str(stage) in nan_se else "",
                ),
                d.number(row["expected_steps_to_close"]),
                d.number(row["steps_to_close_std"]),
            ]
            for stage, row in table.iterrows()
        ]
        body = d.table(
            [
                "observed steps",
                "P(stay)",
                "P(win)",
                "std_err of P(win)",
                "steps to close",
                "std of steps",
            ],
            rows,
            index_header="open stage",
        )
        notes = []
        if nan_se:
            if not fitted:
                reason = (
                    "the chain was built with from_params(...) from a transition matrix, not "
                    "fitted to a history: without observed step counts there is no "
                    "multinomial variance, hence no standard errors."
                )
            else:
                reason = (
                    "no step out of the stage was observed before as_of, or the stage leads "
                    "to such a stage (or to a loop without exit), so its row of the chain "
                    "is unknown: win probability, steps to close and the standard error are "
                    "NaN. Hint: a longer history, or merge the stage with a neighbour."
                )
            notes.append(f"{d.NAN_MARK} NaN standard error ({', '.join(nan_se)}): {reason}")
        return d.block(
            type(self).__name__, d.code_line(repr(self)), d.facts(pairs), body, notes=notes
        )
