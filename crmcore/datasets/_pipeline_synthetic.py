"""Seeded synthetic sales pipelines driven by a known weekly Markov chain.

The generator is the ground truth of the pipeline tests, benchmarks and demo: the
one-step matrix it simulates is exactly what
:class:`crmcore.pipeline.PipelineMarkovModel` (``step="W"``) estimates from the history
it returns, because every event is placed inside the weekly step it belongs to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from crmcore._validation import check_param_number, coerce_timestamp, random_generator
from crmcore.exceptions import ValidationError
from crmcore.pipeline import Pipeline, salesforce_pipeline

__all__ = ["default_transition_matrix", "simulate_pipeline"]

_WEEK_S = 7 * 86_400
#: Most events one call may generate; more is almost surely a typo.
_MAX_EVENTS = 50_000_000

#: Weekly probabilities of the default chain from an open stage (see
#: :func:`default_transition_matrix`).
_ADVANCE = 0.20
_SKIP = 0.04
_REGRESS = 0.03
_WIN_DIRECT = 0.01
_LOSE = 0.06


def _names(pipeline: object) -> tuple[list[str], list[str], list[str], list[str]]:
    """Return (all names, open names, won names, lost names) of `pipeline`, in order."""
    if not isinstance(pipeline, Pipeline):
        raise ValidationError(
            "The 'pipeline' parameter of simulate_pipeline must be a crmcore.pipeline."
            f"Pipeline or None. Got {type(pipeline).__name__} instead."
        )
    names = list(pipeline.names)
    open_names = list(pipeline.open_names)
    won = list(pipeline.won_names)
    lost = list(pipeline.lost_names)
    if not open_names or not won or not lost:
        raise ValidationError(
            "simulate_pipeline: the pipeline needs at least one open, one won and one lost "
            f"stage; got open={open_names}, won={won}, lost={lost}."
        )
    return names, open_names, won, lost


def default_transition_matrix(pipeline: Pipeline | None = None) -> pd.DataFrame:
    """Return the weekly chain that :func:`simulate_pipeline` uses by default.

    From the i-th of m open stages (in pipeline order) a deal moves in one week to

    ========================  ======================================================
    next open stage (i + 1)   0.20 (from the last open stage: the first won stage)
    skip one (i + 2)          0.04 (when it exists and is open)
    back one (i - 1)          0.03 (not from the first open stage)
    first won stage           0.01 (besides the 0.20 above from the last open stage)
    first lost stage          0.06
    stays                     the rest (0.66 in the middle of the funnel)
    ========================  ======================================================

    Moves that the pipeline's ``transitions`` graph forbids are dropped and their
    probability is added to staying. Won and lost rows are unit rows (absorbing).

    Parameters
    ----------
    pipeline : crmcore.pipeline.Pipeline, optional
        Default: :func:`crmcore.pipeline.salesforce_pipeline`.

    Returns
    -------
    pandas.DataFrame
        Index and columns are every stage name, in pipeline order; rows sum to 1.

    Examples
    --------
    >>> from crmcore.datasets import default_transition_matrix
    >>> chain = default_transition_matrix()
    >>> bool((chain.sum(axis=1).round(12) == 1).all())
    True
    """
    if pipeline is None:
        pipeline = salesforce_pipeline()
    names, open_names, won, lost = _names(pipeline)
    index = {name: i for i, name in enumerate(names)}
    n = len(names)
    matrix = np.zeros((n, n))
    m = len(open_names)
    for i, name in enumerate(open_names):
        row = index[name]
        moves: list[tuple[str, float]] = [
            (open_names[i + 1] if i + 1 < m else won[0], _ADVANCE),
            (won[0], _WIN_DIRECT),
            (lost[0], _LOSE),
        ]
        if i + 2 < m:
            moves.append((open_names[i + 2], _SKIP))
        if i > 0:
            moves.append((open_names[i - 1], _REGRESS))
        for target, p in moves:
            if pipeline.allows(name, target):
                matrix[row, index[target]] += p
        matrix[row, row] = 1.0 - matrix[row].sum()
    for name in (*won, *lost):
        matrix[index[name], index[name]] = 1.0
    return cast(pd.DataFrame, pd.DataFrame(matrix, index=pd.Index(names), columns=pd.Index(names)))


def _check_matrix(
    matrix: object, names: list[str], open_names: list[str], pipeline: Pipeline
) -> np.ndarray[Any, np.dtype[np.float64]]:
    who = "simulate_pipeline"
    n = len(names)
    if isinstance(matrix, pd.DataFrame):
        missing = [s for s in names if s not in matrix.index or s not in matrix.columns]
        if missing:
            raise ValidationError(
                f"The 'transition_matrix' parameter of {who} must have every stage name as "
                f"index and column; missing: {missing}."
            )
        values = matrix.loc[names, names].to_numpy(dtype=np.float64)
    else:
        values = np.asarray(matrix, dtype=np.float64)
        if values.shape != (n, n):
            raise ValidationError(
                f"The 'transition_matrix' parameter of {who} must be a DataFrame or a "
                f"({n}, {n}) array in pipeline order. Got shape {values.shape} instead."
            )
    index = {name: i for i, name in enumerate(names)}
    bad: list[str] = []
    for name in open_names:
        row = values[index[name]]
        if not np.all(np.isfinite(row)) or (row < 0).any() or abs(row.sum() - 1.0) > 1e-9:
            bad.append(name)
    if bad:
        raise ValidationError(
            f"{who}: each open stage's row of transition_matrix must hold probabilities "
            f"summing to 1; {len(bad)} rows do not (first stages: {', '.join(bad[:5])})."
        )
    forbidden = [
        f"{a} -> {b}"
        for a in open_names
        for j, b in enumerate(names)
        if b != a and values[index[a], j] > 0 and not pipeline.allows(a, b)
    ]
    if forbidden:
        raise ValidationError(
            f"{who}: transition_matrix gives probability to {len(forbidden)} moves that the "
            f"pipeline forbids (first: {', '.join(forbidden[:5])})."
        )
    out: np.ndarray[Any, np.dtype[np.float64]] = np.array(values, dtype=np.float64)
    for name in names:
        if name not in open_names:
            out[index[name]] = 0.0
            out[index[name], index[name]] = 1.0
    return out


def simulate_pipeline(
    n_opportunities: int,
    *,
    pipeline: Pipeline | None = None,
    transition_matrix: pd.DataFrame | np.ndarray[Any, Any] | None = None,
    start: str | pd.Timestamp = "2024-01-01",
    end: str | pd.Timestamp = "2025-12-31",
    owners: Sequence[str] = ("Avery", "Blake", "Casey", "Devon", "Emery"),
    amount_median: float = 20_000.0,
    amount_sigma: float = 1.0,
    amount_change_rate: float = 0.05,
    close_weeks: tuple[int, int] = (4, 20),
    jitter: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate an opportunity stage history from a known weekly Markov chain.

    Each opportunity is created at a uniform second of [`start`, `end`), in the first
    open stage, with a log-normal amount (median `amount_median`, log-sd
    `amount_sigma`, rounded to whole currency units), an owner drawn uniformly from
    `owners` and an expected close date `close_weeks` weeks after creation (uniform
    whole weeks in the closed range). Week by week (a loop over weeks, vectorised over
    opportunities) its stage moves by `transition_matrix`: the stage at step k is the
    chain's state after k steps. A move of step k is written as one event at
    ``created + (k - 1) weeks + offset`` with a uniform offset in (0, 1] week (exactly 1
    week when `jitter` is False), so the stage of the last event at or before
    ``created + k weeks`` is the chain's state at step k: the discretisation rule of
    :class:`~crmcore.pipeline.PipelineMarkovModel` recovers the chain. Self-loops write
    no event. Besides moves, an open opportunity gets in each week, with probability
    `amount_change_rate`, an amount-only event (amount times a log-normal factor with
    log-sd 0.2), and when its expected close date has passed an event pushing it four
    weeks later (the slips and pushes of the analytics); these events repeat the stage
    in force at their time. Won and lost events set the expected close date to the close
    date; nothing follows them. Events later than `end` are not written, so deals still
    open at `end` are right-censored, as in a real export.

    Parameters
    ----------
    n_opportunities : int
        Number of opportunities (>= 1).
    pipeline : crmcore.pipeline.Pipeline, optional
        Default: :func:`crmcore.pipeline.salesforce_pipeline`.
    transition_matrix : DataFrame or (n, n) array, optional
        One-step (weekly) matrix; a DataFrame indexed and labelled by stage names, or an
        array in ``pipeline.names`` order. Open rows must sum to 1 and give no
        probability to moves the pipeline forbids; won and lost rows are ignored
        (absorbing). Default: :func:`default_transition_matrix` (skips, regressions,
        direct wins and losses).
    start, end : str or Timestamp
        Window of creation dates and of events (naive values are UTC).
    owners : sequence of str
        Owner names (non-empty).
    amount_median, amount_sigma : float
        Log-normal amount: median (> 0) and log-sd (>= 0).
    amount_change_rate : float in [0, 1]
        Weekly probability of an amount-only event for an open deal.
    close_weeks : (int, int)
        Range of the initial expected close, in whole weeks after creation.
    jitter : bool, default True
        Place events at a random time inside their week (else at its end).
    random_state : int, numpy.random.Generator or None
        Seed or generator; one seed gives one frame.

    Returns
    -------
    pandas.DataFrame
        The stage-history event frame: ``opportunity_id`` (str), ``stage`` (str),
        ``changed_at`` (datetime64[ns, UTC]), ``amount`` (float64), ``expected_close``
        (datetime64[ns], midnight), ``probability`` (float64, all NaN: the stage
        defaults) and ``owner`` (str); sorted by opportunity then time, RangeIndex.

    Raises
    ------
    ValidationError
        A parameter of the wrong type or out of range, an empty window, a matrix whose
        open rows do not sum to 1, or more than 50 million events.

    Examples
    --------
    >>> from crmcore.datasets import simulate_pipeline
    >>> history = simulate_pipeline(500, random_state=1)
    >>> history.columns.tolist()
    ['opportunity_id', 'stage', 'changed_at', 'amount', 'expected_close', 'probability', 'owner']
    >>> history["opportunity_id"].nunique()
    500
    >>> history.equals(simulate_pipeline(500, random_state=1))
    True
    """
    who = "simulate_pipeline"
    check_param_number("n_opportunities", n_opportunities, who=who, low=1, integer=True)
    # amounts are drawn in float64: a median up to 1e12 and a log-sd up to 5 keep every
    # draw (and a row's later amount changes) far from overflow
    check_param_number(
        "amount_median", amount_median, who=who, low=0, low_inclusive=False, high=1e12
    )
    check_param_number("amount_sigma", amount_sigma, who=who, low=0, high=5)
    check_param_number("amount_change_rate", amount_change_rate, who=who, low=0, high=1)
    if not (math.isfinite(float(amount_median)) and math.isfinite(float(amount_sigma))):
        raise ValidationError(
            f"{who}: amount_median and amount_sigma must be finite numbers. Got "
            f"{amount_median!r} and {amount_sigma!r}."
        )
    if (
        not isinstance(close_weeks, tuple)
        or len(close_weeks) != 2
        or not all(isinstance(w, int) and not isinstance(w, bool) for w in close_weeks)
        or not 0 <= close_weeks[0] <= close_weeks[1]
    ):
        raise ValidationError(
            f"The 'close_weeks' parameter of {who} must be a pair of ints (low, high) with "
            f"0 <= low <= high. Got {close_weeks!r} instead."
        )
    if owners is None or not isinstance(owners, (str, Iterable)):
        raise ValidationError(
            f"The 'owners' parameter of {who} must be a non-empty sequence of str. "
            f"Got {owners!r} instead."
        )
    owner_names = [owners] if isinstance(owners, str) else list(owners)
    if not owner_names or not all(isinstance(o, str) for o in owner_names):
        raise ValidationError(
            f"The 'owners' parameter of {who} must be a non-empty sequence of str. "
            f"Got {owners!r} instead."
        )
    rng = random_generator(random_state, who=who)
    if pipeline is None:
        pipeline = salesforce_pipeline()
    names, open_names, _, _ = _names(pipeline)
    matrix = (
        default_transition_matrix(pipeline).to_numpy()
        if transition_matrix is None
        else _check_matrix(transition_matrix, names, open_names, pipeline)
    )
    t0 = coerce_timestamp(start, name="start", who=who)
    t1 = coerce_timestamp(end, name="end", who=who)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    t1 = t1.tz_localize("UTC") if t1.tzinfo is None else t1.tz_convert("UTC")
    span_s = int((t1 - t0).total_seconds())
    if span_s < 1:
        raise ValidationError(f"{who}: end ({t1}) must be after start ({t0}).")

    n = int(n_opportunities)
    n_states = len(names)
    is_open = np.zeros(n_states, dtype=bool)
    is_open[[names.index(s) for s in open_names]] = True
    cum = np.cumsum(matrix, axis=1)
    cum[:, -1] = 1.0

    created = np.sort(rng.integers(0, span_s, size=n))  # seconds after start
    amount = np.round(np.exp(rng.normal(math.log(amount_median), amount_sigma, n)))
    amount = np.maximum(amount, 1.0)
    owner_idx = rng.integers(0, len(owner_names), size=n)
    created_day = (created + int(t0.value // 10**9) % 86_400) // 86_400  # days after start's day
    close_day = created_day + 7 * rng.integers(close_weeks[0], close_weeks[1] + 1, size=n)
    state = np.full(n, names.index(open_names[0]), dtype=np.int64)

    # event columns, collected per week: opp index, seconds after start, state, amount, close day
    ev_opp = [np.arange(n)]
    ev_t = [created]
    ev_state = [state.copy()]
    ev_amount = [amount.copy()]
    ev_close = [close_day.copy()]
    total = n
    active = np.arange(n)
    k = 0
    while active.size:
        k += 1
        step_start = created[active] + (k - 1) * _WEEK_S  # start of step k's interval
        active = active[step_start < span_s]
        if not active.size:
            break
        base = created[active] + (k - 1) * _WEEK_S
        prev = state[active]
        u = rng.random(active.size)
        nxt = np.minimum((u[:, None] >= cum[prev]).sum(axis=1), n_states - 1)
        if jitter:
            off_move = 1 + rng.integers(0, _WEEK_S, size=active.size)
            off_upd = 1 + rng.integers(0, _WEEK_S, size=active.size)
        else:
            off_move = np.full(active.size, _WEEK_S)
            off_upd = np.full(active.size, _WEEK_S)
        t_move = base + off_move
        t_upd = base + off_upd
        moved = (nxt != prev) & (t_move <= span_s)
        # a move after `end` is not seen: the deal is censored in its old stage
        nxt = np.where(t_move <= span_s, nxt, prev)
        closes = moved & ~is_open[nxt]
        # updates (amount change and/or push) only while the deal stays open this week
        upd_day = (t_upd + int(t0.value // 10**9) % 86_400) // 86_400
        change = rng.random(active.size) < amount_change_rate
        push = close_day[active] < upd_day
        upd = (change | push) & is_open[nxt] & (t_upd <= span_s)
        factor = np.exp(rng.normal(0.0, 0.2, active.size))
        new_amount = np.where(
            change & upd, np.maximum(np.round(amount[active] * factor), 1.0), amount[active]
        )
        new_close = np.where(
            push & upd, np.maximum(close_day[active], upd_day) + 28, close_day[active]
        )
        # stage in force at the update: the new one if the move came first
        upd_state = np.where(t_upd >= t_move, nxt, prev)
        # move events carry the amount and close date in force at their time
        mv_amount = np.where(upd & (t_upd < t_move), new_amount, amount[active])
        mv_close = np.where(upd & (t_upd < t_move), new_close, close_day[active])
        mv_day = (t_move + int(t0.value // 10**9) % 86_400) // 86_400
        mv_close = np.where(closes, mv_day, mv_close)

        # the moves first, then the updates (the order the events are numbered in)
        for written, *columns in (
            (moved, active, t_move, nxt, mv_amount, mv_close),
            (upd, active, t_upd, upd_state, new_amount, new_close),
        ):
            rows = np.flatnonzero(written)
            for events, values in zip(
                (ev_opp, ev_t, ev_state, ev_amount, ev_close), columns, strict=True
            ):
                events.append(values[rows])
            total += rows.size
        if total > _MAX_EVENTS:
            raise ValidationError(
                f"{who}: more than {_MAX_EVENTS:,} events would be generated. Hint: lower "
                "n_opportunities or shorten the window."
            )

        state[active] = nxt
        amount[active] = new_amount
        close_day[active] = new_close
        still = is_open[nxt] & (base + _WEEK_S < span_s)
        active = active[still]

    opp = np.concatenate(ev_opp)
    times = np.concatenate(ev_t)
    order = np.lexsort((times, opp))
    opp = opp[order]
    width = len(str(n - 1))
    ids = np.char.add("OPP", np.char.zfill(np.arange(n).astype(str), width)).astype(object)
    start_ns = np.datetime64(t0.tz_localize(None).as_unit("ns").to_datetime64(), "ns")
    day0 = np.datetime64(t0.tz_localize(None).normalize().as_unit("ns").to_datetime64(), "D")
    changed = start_ns + np.concatenate(ev_t)[order].astype("timedelta64[s]")
    expected = (day0 + np.concatenate(ev_close)[order].astype("timedelta64[D]")).astype(
        "datetime64[ns]"
    )
    names_arr = np.array(names, dtype=object)
    frame = pd.DataFrame(
        {
            "opportunity_id": ids[opp],
            "stage": names_arr[np.concatenate(ev_state)[order]],
            "changed_at": pd.DatetimeIndex(changed.astype("datetime64[ns]")).tz_localize("UTC"),
            "amount": np.concatenate(ev_amount)[order].astype(np.float64),
            "expected_close": expected,
            "probability": np.full(opp.size, np.nan),
            "owner": np.array(owner_names, dtype=object)[owner_idx[opp]],
        }
    )
    return cast(pd.DataFrame, frame)
