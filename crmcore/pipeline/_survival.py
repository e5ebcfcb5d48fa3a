"""Time to close as competing risks: Kaplan-Meier and Aalen-Johansen (private module)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from crmcore._compat import renamed_parameters
from crmcore._validation import check_param_choice
from crmcore.pipeline._entities import Pipeline, StageOutcome
from crmcore.pipeline._history import coerce_as_of, read_history

__all__ = ["close_time_curves"]

#: Length of one duration unit in nanoseconds (a month is 365.25 / 12 days, never 30).
_UNIT_NS: Final[dict[str, float]] = {
    "h": 3_600e9,
    "D": 86_400e9,
    "W": 7 * 86_400e9,
    "M": 365.25 / 12 * 86_400e9,
}


def competing_risks_curves(
    durations: np.ndarray[Any, np.dtype[np.float64]],
    events: np.ndarray[Any, np.dtype[np.int64]],
) -> tuple[
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
]:
    """Kaplan-Meier and Aalen-Johansen curves from durations and event codes (kernel).

    `events` is 0 (censored), 1 (won) or 2 (lost). Returns ``(times, open, won, lost)``:
    ``times`` is 0 followed by every distinct duration (events and censorings), ascending;
    the curves are right-continuous step values at those times. Tied times are exact:
    ``S(t) = S(t-) (1 - d(t) / n(t))`` and ``F_k(t) = F_k(t-) + S(t-) d_k(t) / n(t)``, with
    ``n(t)`` the number at risk (duration >= t) and ``d`` the events at t, so
    ``S + F_won + F_lost = 1`` at every time.
    """
    times, inverse = np.unique(durations, return_inverse=True)
    m = times.size
    d_won = np.bincount(inverse, weights=(events == 1).astype(np.float64), minlength=m)
    d_lost = np.bincount(inverse, weights=(events == 2).astype(np.float64), minlength=m)
    leaving = np.bincount(inverse, minlength=m).astype(np.float64)
    at_risk = leaving[::-1].cumsum()[::-1]
    hazard = np.divide(d_won + d_lost, at_risk, out=np.zeros(m), where=at_risk > 0)
    surv = np.cumprod(1.0 - hazard)
    before = np.concatenate(([1.0], surv[:-1]))
    won = np.cumsum(before * np.divide(d_won, at_risk, out=np.zeros(m), where=at_risk > 0))
    lost = np.cumsum(before * np.divide(d_lost, at_risk, out=np.zeros(m), where=at_risk > 0))
    if m == 0 or times[0] > 0.0:
        times = np.concatenate(([0.0], times))
        surv = np.concatenate(([1.0], surv))
        won = np.concatenate(([0.0], won))
        lost = np.concatenate(([0.0], lost))
    return times, surv, won, lost


@renamed_parameters(unit="time_unit")
def close_time_curves(
    history: Any, *, pipeline: Pipeline, as_of: Any, time_unit: str = "D"
) -> pd.DataFrame:
    """Time to close as competing risks: still open (Kaplan-Meier), won and lost (Aalen-Johansen).

    Parameters
    ----------
    history : DataFrame
        The stage-history event frame (pandas, Polars or PyArrow); the whole frame is
        validated by :func:`crmcore.pipeline.read_history`.
    pipeline : Pipeline
        The stages the history refers to.
    as_of : date-like
        End of observation (tz-aware, or naive read as UTC; a date is midnight UTC). Events
        after it are not seen and opportunities created after it are left out.
    time_unit : {"h", "D", "W", "M"}, default "D"
        Duration unit: hour, day, week (7 days) or month (365.25 / 12 days). Formerly
        ``unit`` (deprecated alias).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``duration`` (in `time_unit`, ascending: 0, then every distinct observed
        duration, closes and censorings), with columns ``open`` (Kaplan-Meier probability of
        still being open), ``won`` and ``lost`` (Aalen-Johansen cumulative incidence). The
        three sum to 1 in every row.

    Raises
    ------
    ValidationError, ColumnNotFoundError, InvalidStageTransition
        As :func:`crmcore.pipeline.read_history`; ValidationError for a bad `as_of` or
        `time_unit`.

    Notes
    -----
    An opportunity's duration runs from its first event (its creation) to its first won or
    lost event at or before `as_of`; an opportunity still open at `as_of` is right-censored
    at ``as_of - created``. With ``n(t)`` at risk (duration >= t), ``d_won(t)`` and
    ``d_lost(t)`` closes at t:

    ``open(t) = prod_{s <= t} (1 - (d_won(s) + d_lost(s)) / n(s))``,
    ``won(t) = sum_{s <= t} open(s-) d_won(s) / n(s)``, and likewise ``lost``.

    Tied close times are handled exactly by these formulas (no jitter), so
    ``open + won + lost = 1``. The won curve is the cumulative incidence, not one minus a
    Kaplan-Meier that treats losses as censoring (which overstates it). It equals
    lifelines' ``AalenJohansenFitter`` on data without tied close times (lifelines jitters
    ties at random; its formula is the same once times are distinct).

    References
    ----------
    Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
    observations. *JASA* 53, 457-481. Aalen, O. O. & Johansen, S. (1978). An empirical
    transition matrix for non-homogeneous Markov chains based on censored observations.
    *Scandinavian Journal of Statistics* 5, 141-150.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import close_time_curves, simple_pipeline
    >>> history = pd.DataFrame({
    ...     "opportunity_id": ["A", "A", "B", "B", "C", "D", "D"],
    ...     "stage": ["Lead", "Won", "Lead", "Lost", "Lead", "Lead", "Won"],
    ...     "changed_at": ["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-21",
    ...                    "2024-01-01", "2024-01-01", "2024-01-31"],
    ...     "amount": [100.0] * 7,
    ...     "expected_close": ["2024-03-31"] * 7,
    ... })
    >>> close_time_curves(history, pipeline=simple_pipeline(), as_of="2024-01-26")
              open   won  lost
    duration
    0.0       1.00  0.00  0.00
    10.0      0.75  0.25  0.00
    20.0      0.50  0.25  0.25
    25.0      0.50  0.25  0.25
    """
    who = "close_time_curves"
    check_param_choice("time_unit", time_unit, list(_UNIT_NS), who=who)
    events = read_history(history, pipeline, who=who)
    cut = coerce_as_of(as_of, who=who)
    ids = events["opportunity_id"].to_numpy()
    n = ids.size
    first = np.ones(n, dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    group = np.cumsum(first) - 1
    t_ns = pd.DatetimeIndex(events["changed_at"]).asi8
    cut_ns = int(cut.value)
    created_ns = t_ns[first]
    outcome = events["outcome"].to_numpy()
    closed = (outcome != StageOutcome.OPEN.value) & (t_ns <= cut_ns)
    n_opp = created_ns.size
    # first close per opportunity (rows are sorted by time within an opportunity)
    close_row = np.full(n_opp, -1, dtype=np.int64)
    rows = np.flatnonzero(closed)
    # later rows overwrite earlier ones, so assign in reverse to keep the first close
    close_row[group[rows[::-1]]] = rows[::-1]
    kept = created_ns <= cut_ns
    has_close = close_row >= 0
    end_ns = np.where(has_close, t_ns[np.maximum(close_row, 0)], cut_ns)
    code = np.zeros(n_opp, dtype=np.int64)
    won_row = has_close & (outcome[np.maximum(close_row, 0)] == StageOutcome.WON.value)
    code[won_row] = 1
    code[has_close & ~won_row] = 2
    durations = (end_ns - created_ns)[kept].astype(np.float64) / _UNIT_NS[time_unit]
    times, surv, won, lost = competing_risks_curves(durations, code[kept])
    curves: pd.DataFrame = pd.DataFrame(
        {"open": surv, "won": won, "lost": lost},
        index=pd.Index(times, name="duration"),
    )
    return curves
