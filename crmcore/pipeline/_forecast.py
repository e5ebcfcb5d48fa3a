"""Revenue forecast of an open pipeline, its back-test and new-business estimate (private module).

The revenue closing in a period is ``R = sum_j a_j B_j`` with independent
``B_j ~ Bernoulli(q_j)``: a Poisson-binomial sum. :func:`forecast_revenue` computes its
distribution exactly on a lattice (amounts rounded to multiples of ``grid_step``) by a
divide-and-conquer FFT convolution, or by Monte Carlo.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import check_param_choice, check_param_number, require_columns, to_pandas
from crmcore.exceptions import ValidationError
from crmcore.pipeline._entities import Pipeline, StageOutcome
from crmcore.pipeline._history import coerce_as_of, read_history, snapshot

if TYPE_CHECKING:  # pragma: no cover
    from crmcore.pipeline._markov import PipelineMarkovModel

__all__ = ["RevenueForecast", "backtest", "expected_new_business", "forecast_revenue"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_DAY_NS: Final[int] = 86_400 * 10**9
_STEP_NS: Final[dict[str, int]] = {"D": _DAY_NS, "W": 7 * _DAY_NS}
_DP_LIMIT: Final[int] = 2_000_000  # deals x lattice size below which the plain DP is used
_MAX_LATTICE: Final[int] = 1 << 27
_TRIM: Final[float] = 1e-14  # relative tail level dropped between FFT levels
_CDF_TOL: Final[float] = 1e-12


# ============================================================== lattice kernels


def _dp_pmf(units: IntArray, q: FloatArray) -> FloatArray:
    """Poisson-binomial pmf on 0..sum(units) by dynamic programming over deals (exact zeros)."""
    total = int(units.sum())
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    top = 0
    for k, p in zip(units.tolist(), q.tolist(), strict=True):
        head = pmf[: top + 1].copy()
        pmf[: top + 1] *= 1.0 - p
        pmf[k : k + top + 1] += p * head
        top += k
    return pmf


def _gather(data: FloatArray, starts: IntArray, lens: IntArray, width: int) -> FloatArray:
    """Ragged segments of `data` as the rows of a zero-padded (n, width) array."""
    out = np.zeros((starts.size, width))
    total = int(lens.sum())
    row = np.repeat(np.arange(starts.size), lens)
    col = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    out[row, col] = data[np.repeat(starts, lens) + col]
    return out


def _fft_pmf(units: IntArray, q: FloatArray) -> tuple[int, FloatArray]:
    """Poisson-binomial pmf by pairwise FFT convolution, level by level (vectorised).

    Returns ``(offset, pmf)``: ``pmf[i] = P(sum units B = offset + i)``. Each level convolves
    neighbouring partial sums (deals sorted by size, so neighbours are alike) with batched
    real FFTs of a common power-of-two length, then trims tails below 1e-14 of the row peak.
    """
    order = np.argsort(units, kind="stable")
    units, q = units[order], q[order]
    lens = units + 1
    starts = np.cumsum(lens) - lens
    data = np.zeros(int(lens.sum()))
    data[starts] = 1.0 - q
    data[starts + units] += q
    offsets = np.zeros(units.size, dtype=np.int64)
    while starts.size > 1:
        m = starts.size
        pairs = m // 2
        a, b = np.arange(0, 2 * pairs, 2), np.arange(1, 2 * pairs, 2)
        out_len = lens[a] + lens[b] - 1
        nfft = 1 << np.ceil(np.log2(np.maximum(out_len, 2))).astype(np.int64)
        new_starts = np.cumsum(out_len) - out_len
        new_data = np.zeros(int(out_len.sum()))
        for size in np.unique(nfft).tolist():
            sel = np.flatnonzero(nfft == size)
            fa = np.fft.rfft(_gather(data, starts[a[sel]], lens[a[sel]], size), axis=1)
            fb = np.fft.rfft(_gather(data, starts[b[sel]], lens[b[sel]], size), axis=1)
            conv = np.fft.irfft(fa * fb, n=size, axis=1)
            ol = out_len[sel]
            row = np.repeat(np.arange(sel.size), ol)
            col = np.arange(int(ol.sum())) - np.repeat(np.cumsum(ol) - ol, ol)
            new_data[np.repeat(new_starts[sel], ol) + col] = conv[row, col]
        np.maximum(new_data, 0.0, out=new_data)
        new_offsets = offsets[a] + offsets[b]
        # trim negligible tails of each segment
        peak = np.maximum.reduceat(new_data, new_starts)
        seg = np.repeat(np.arange(pairs), out_len)
        big = new_data > _TRIM * peak[seg]
        pos = np.arange(new_data.size)
        first = np.minimum.reduceat(np.where(big, pos, new_data.size), new_starts)
        last = np.maximum.reduceat(np.where(big, pos, -1), new_starts)
        new_offsets = new_offsets + (first - new_starts)
        new_lens = last - first + 1
        if m % 2:  # the odd one out moves up a level unchanged
            tail = slice(m - 1, m)
            new_data = np.concatenate((new_data, data[starts[-1] : starts[-1] + lens[-1]]))
            first = np.concatenate((first, [new_data.size - lens[-1]]))
            new_lens = np.concatenate((new_lens, lens[tail]))
            new_offsets = np.concatenate((new_offsets, offsets[tail]))
        data, starts, lens, offsets = new_data, first, new_lens, new_offsets
    pmf = data[starts[0] : starts[0] + lens[0]].copy()
    pmf[pmf < _TRIM * pmf.max()] = 0.0
    return int(offsets[0]), pmf


def lattice_pmf(units: IntArray, q: FloatArray) -> tuple[int, FloatArray]:
    """Exact distribution of ``sum units_j B_j``, ``B_j ~ Bernoulli(q_j)`` independent.

    Returns ``(offset, pmf)`` with ``pmf[i] = P(S = offset + i)`` (sums to 1). Deals with
    q = 0 or units = 0 drop out and q = 1 deals shift the offset. Small problems use the
    exact DP; large ones the FFT kernel (relative error about 1e-14 of the peak).
    """
    units = np.asarray(units, dtype=np.int64)
    q = np.asarray(q, dtype=np.float64)
    sure = q >= 1.0
    offset = int(units[sure].sum())
    live = (q > 0.0) & ~sure & (units > 0)
    units, q = units[live], q[live]
    if units.size == 0:
        return offset, np.ones(1)
    if units.size * (int(units.sum()) + 1) <= _DP_LIMIT:
        pmf = _dp_pmf(units, q)
        start = 0
    else:
        start, pmf = _fft_pmf(units, q)
    pmf = pmf / pmf.sum()
    return offset + start, pmf


# ============================================================== result


class RevenueForecast:
    """The distribution of the revenue that closes won in a period.

    Built by :func:`forecast_revenue`; read-only.

    Attributes
    ----------
    mean, variance : float
        Exact mode: ``sum(a q)`` and ``sum(a^2 q (1 - q))`` over the deals (unrounded
        amounts, whatever the grid). Monte Carlo mode: the sample mean and variance.
    method : str
        ``"exact"`` or ``"monte_carlo"``.
    grid_step : float or None
        Lattice spacing of the exact mode (None for Monte Carlo).
    pipeline_value : float
        Sum of the amounts of every deal in the snapshot.
    n_deals : int
        Deals in the snapshot.
    deal_probability : pandas.Series
        q by opportunity id: the probability of closing won inside the period.
    target : float or None
        The target passed to :func:`forecast_revenue`.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import forecast_revenue
    >>> deals = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "amount": [100.0, 200, 300],
    ...                       "probability": [0.5, 0.5, 0.25],
    ...                       "expected_close": pd.to_datetime(["2024-02-01"] * 3)})
    >>> f = forecast_revenue(deals, period_start="2024-01-01", period_end="2024-03-31",
    ...                      grid_step=1)
    >>> f.mean, f.quantile(0.5), f.probability_at_least(300)
    (225.0, 200.0, 0.4375)
    """

    def __init__(
        self,
        *,
        revenue: FloatArray,
        probability: FloatArray,
        mean: float,
        variance: float,
        method: str,
        grid_step: float | None,
        pipeline_value: float,
        deal_probability: pd.Series,
        target: float | None,
    ) -> None:
        who = "RevenueForecast"
        rev = _pmf_array(revenue, "revenue", who)
        prob = _pmf_array(probability, "probability", who)
        if rev.size != prob.size or rev.size == 0:
            raise ValidationError(
                f"{who}: 'revenue' and 'probability' must have the same length >= 1; got "
                f"{rev.size} and {prob.size}."
            )
        if (rev.size > 1 and not bool((np.diff(rev) >= 0).all())) or rev[0] < 0:
            raise ValidationError(f"{who}: 'revenue' must be ascending and >= 0.")
        if not bool(((prob >= 0) & (prob <= 1 + 1e-9)).all()) or abs(prob.sum() - 1) > 1e-6:
            raise ValidationError(
                f"{who}: 'probability' must be a pmf (values in [0, 1] summing to 1); got a "
                f"sum of {prob.sum():.6g}, minimum {prob.min():.6g}."
            )
        for name, value in (("mean", mean), ("variance", variance)):
            check_param_number(name, value, who=who, low=0)
        check_param_number("pipeline_value", pipeline_value, who=who, low=0)
        check_param_choice("method", method, ["exact", "monte_carlo"], who=who)
        if grid_step is not None:
            check_param_number("grid_step", grid_step, who=who, low=0, low_inclusive=False)
        if target is not None:
            check_param_number("target", target, who=who)
        if not isinstance(deal_probability, pd.Series):
            raise ValidationError(
                f"The 'deal_probability' parameter of {who} must be a pandas Series (q by "
                f"opportunity id). Got {type(deal_probability).__name__} instead."
            )
        q = pd.to_numeric(deal_probability, errors="coerce").to_numpy(dtype=np.float64)
        if not bool(((q >= 0) & (q <= 1)).all()):
            raise ValidationError(
                f"{who}: 'deal_probability' must hold probabilities in [0, 1]; "
                f"{int((~((q >= 0) & (q <= 1))).sum())} values do not."
            )
        keep = prob > 0.0
        self._revenue = rev[keep]
        self._probability = prob[keep]
        self._cdf = np.cumsum(self._probability)
        self.mean = float(mean)
        self.variance = float(variance)
        self.method = method
        self.grid_step = grid_step
        self.pipeline_value = float(pipeline_value)
        self.deal_probability = deal_probability
        self.n_deals = int(deal_probability.size)
        self.target = target

    def quantile(self, q: float) -> float:
        """The smallest revenue x with ``P(R <= x) >= q`` (cumulative sums compared with a
        1e-12 tolerance), for `q` in [0, 1]."""
        check_param_number("q", q, who="RevenueForecast.quantile", low=0, high=1)
        i = int(np.searchsorted(self._cdf, float(q) - _CDF_TOL, side="left"))
        return float(self._revenue[min(i, self._revenue.size - 1)])

    def probability_at_least(self, target: float) -> float:
        """``P(R >= target)``, the target included."""
        check_param_number("target", target, who="RevenueForecast.probability_at_least")
        tol = 1e-9 * (self.grid_step or 0.0)
        return float(min(1.0, self._probability[self._revenue >= float(target) - tol].sum()))

    @property
    def std(self) -> float:
        """Standard deviation, ``sqrt(variance)``."""
        return math.sqrt(max(self.variance, 0.0))

    @property
    def probability_target(self) -> float | None:
        """``P(R >= target)`` for the target given to :func:`forecast_revenue` (None without)."""
        return None if self.target is None else self.probability_at_least(self.target)

    def to_frame(self) -> pd.DataFrame:
        """The pmf: columns ``revenue`` and ``probability`` (revenue ascending, zero-probability
        lattice points left out)."""
        frame: pd.DataFrame = pd.DataFrame(
            {"revenue": self._revenue.copy(), "probability": self._probability.copy()}
        )
        return frame

    #: probability levels of the quantile table of the Jupyter display
    _DISPLAY_LEVELS: Final[tuple[float, ...]] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

    def _repr_html_(self) -> str:
        """Jupyter display: the forecast's facts, the revenue quantiles P5..P95 and, with a
        target, ``P(R >= target)``; money with thousands separators and two decimals."""
        from crmcore import _display as d

        live = int((self.deal_probability.to_numpy(dtype=np.float64) > 0).sum())
        method = (
            f"exact (amounts rounded to multiples of {d.number(self.grid_step)})"
            if self.grid_step is not None
            else "Monte Carlo"
        )
        pairs = [
            ("method", method),
            ("deals in the snapshot", d.count(self.n_deals)),
            ("deals that can close in the period (q > 0)", d.count(live)),
            ("pipeline value", d.money(self.pipeline_value)),
            ("mean revenue", d.money(self.mean)),
            ("standard deviation", d.money(self.std)),
        ]
        if self.target is not None and self.probability_target is not None:
            pairs += [
                ("target", d.money(self.target)),
                ("P(revenue >= target)", d.number(self.probability_target)),
            ]
        rows: list[list[str | d.Cell]] = [
            [f"P{round(100 * level)}", d.percent(level), d.money(self.quantile(level))]
            for level in self._DISPLAY_LEVELS
        ]
        quantiles = d.table(["level", "revenue"], rows, index_header="quantile")
        return d.block(
            "RevenueForecast",
            d.code_line(repr(self)),
            d.facts(pairs),
            quantiles,
            notes=[
                "Pk is the smallest revenue x with P(revenue <= x) >= k%: the period's won "
                "revenue stays at or below Pk with probability k%."
            ],
        )

    def __repr__(self) -> str:
        return (
            f"RevenueForecast(method={self.method!r}, n_deals={self.n_deals}, "
            f"mean={self.mean:.6g}, std={self.std:.6g}, P10={self.quantile(0.1):.6g}, "
            f"P90={self.quantile(0.9):.6g})"
        )


def _pmf_array(values: Any, name: str, who: str) -> FloatArray:
    """A 1-D array of finite floats, or a ValidationError naming `name`."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a 1-D array of numbers. "
            f"Got {type(values).__name__} instead."
        ) from exc
    if out.ndim != 1 or not bool(np.isfinite(out).all()):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a 1-D array of finite numbers "
            f"(got {out.ndim} dimensions, {int((~np.isfinite(out)).sum())} non-finite values)."
        )
    return out


# ============================================================== forecast


def _rng(random_state: Any, who: str) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, numbers.Integral)
        and not isinstance(random_state, bool)
        and int(random_state) >= 0
    ):
        return np.random.default_rng(None if random_state is None else int(random_state))
    raise ValidationError(
        f"The 'random_state' parameter of {who} must be an int >= 0, a numpy Generator or None. "
        f"Got {random_state!r} ({type(random_state).__name__}) instead."
    )


def _default_grid(amounts: FloatArray, q: FloatArray) -> float:
    """A lattice step that keeps quantiles within 0.1% of the value in play (see Notes)."""
    live = (q > 0.0) & (q < 1.0) & (amounts > 0)
    value = float(amounts[q > 0].sum())
    n = int(live.sum())
    if n == 0 or value <= 0.0:
        return 1.0
    tol = 1e-3 * value
    step = tol / (math.sqrt(n) + 1.0)
    if step <= 1.0 and np.all(amounts == np.round(amounts)):
        return 1.0
    a, p = amounts[live], q[live]
    while True:
        err = a - step * np.round(a / step)
        bound = abs(float(err @ p)) + 5.0 * math.sqrt(float((err * err) @ (p * (1 - p))))
        if bound <= tol / 2 or value / step > _MAX_LATTICE / 2:
            return step
        step /= 2.0


def _refuse_rows(bad: npt.NDArray[np.bool_], ids: Any, rule: str, column: str, who: str) -> None:
    """Raise a ValidationError for the rows where `bad` is True (`ids` as str), if any."""
    if bad.any():
        raise ValidationError(
            f"{who}: {rule}; {int(bad.sum())} of {bad.size} rows violate this (first ids: "
            f"{', '.join(ids[bad][:5])}).",
            rule=rule,
            column=column,
            count=int(bad.sum()),
            first_ids=ids[bad][:5],
        )


def _as_dates(series: pd.Series[Any], who: str) -> npt.NDArray[np.datetime64]:
    values = pd.to_datetime(series, errors="coerce")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if values.isna().any():
        raise ValidationError(
            f"{who}: expected_close must be a date for every deal; "
            f"{int(values.isna().sum())} values are missing or unreadable."
        )
    return values.dt.normalize().to_numpy(dtype="datetime64[ns]")


def _chain_q(
    model: PipelineMarkovModel,
    stages: npt.NDArray[Any],
    as_of: pd.Timestamp,
    start: pd.Timestamp,
    end_excl: pd.Timestamp,
    who: str,
) -> FloatArray:
    step_ns = _STEP_NS.get(str(getattr(model, "step", "")))
    if step_ns is None or not hasattr(model, "win_probability_within"):
        raise ValidationError(
            f"{who}: model must be a fitted PipelineMarkovModel (step 'D' or 'W') or None. "
            f"Got {type(model).__name__}."
        )
    k_end = max(0, (end_excl.value - as_of.value) // step_ns)
    k_start = max(0, (start.value - as_of.value) // step_ns)
    w_end = model.win_probability_within(int(k_end))
    w_start = model.win_probability_within(int(k_start))
    unknown = sorted(set(stages.tolist()) - set(w_end.index))
    if unknown:
        raise ValidationError(
            f"{who}: snapshot stages {unknown[:5]} are not open stages of the model."
        )
    diff = (w_end - w_start).clip(lower=0.0)
    q = diff.reindex(stages).to_numpy(dtype=np.float64)
    if np.isnan(q).any():
        raise ValidationError(
            f"{who}: the model has no win probability for stages "
            f"{sorted(set(stages[np.isnan(q)].tolist()))[:5]} (never observed when fitted)."
        )
    return q


def forecast_revenue(
    snapshot: Any,
    *,
    period_start: Any,
    period_end: Any,
    model: PipelineMarkovModel | None = None,
    target: float | None = None,
    method: str = "exact",
    grid_step: float | None = None,
    n_simulations: int = 100_000,
    random_state: int | np.random.Generator | None = None,
    as_of: Any = None,
    amount_slip: float = 0.0,
    close_slip_days: float = 0.0,
) -> RevenueForecast:
    """Distribution of the revenue the open deals of a snapshot close won in a period.

    Parameters
    ----------
    snapshot : DataFrame
        One row per open deal (e.g. from :func:`crmcore.pipeline.snapshot`; pandas, Polars
        or PyArrow): ``opportunity_id``, ``amount`` (>= 0), ``expected_close`` and
        ``probability`` (in [0, 1]); with a `model`, ``stage`` instead of ``probability``.
        Not mutated.
    period_start, period_end : date-like
        The period, both days included.
    model : PipelineMarkovModel, optional
        A fitted chain. None: q = ``probability`` when ``period_start <= expected_close
        <= period_end`` (dates), else 0. With a model: q = P(won within k_end steps) -
        P(won within k_start steps) for the deal's stage, with ``k_end = floor((period_end
        + 1 day - as_of) / L)`` and ``k_start = floor(max(0, period_start - as_of) / L)``
        whole steps of the model (L = 1 or 7 days): the chain's probability that the deal
        is won after the period starts and by its end (at step resolution);
        ``expected_close`` and ``probability`` are then not used.
    target : float, optional
        Revenue target; ``RevenueForecast.probability_target`` is P(R >= target).
    method : {"exact", "monte_carlo"}
    grid_step : float, optional
        Lattice spacing of the exact method: amounts are rounded to multiples of it. None:
        1 for whole-number amounts when that is fine enough, else a step keeping quantiles
        within 0.1% of the value in play (Notes).
    n_simulations : int, default 100_000
        Monte Carlo scenarios.
    random_state : int, numpy Generator or None
        Seed of the Monte Carlo draws.
    as_of : date-like, optional
        When the snapshot was taken (with a model only); default `period_start`.
    amount_slip : float in [0, 1), default 0
        Expected fraction of a deal's amount lost at closing (discounts): amounts are
        multiplied by ``1 - amount_slip``.
    close_slip_days : float in [-36525, 36525], default 0
        Days added to every ``expected_close`` before the period test (model None only):
        a positive value models deals that close later than forecast (at most a century
        either way).

    Returns
    -------
    RevenueForecast

    Raises
    ------
    ColumnNotFoundError, ValidationError
        A missing column, a missing or negative amount, a probability outside [0, 1], a
        bad parameter or a period that ends before it starts.

    Notes
    -----
    R = sum_j a_j B_j with independent B_j ~ Bernoulli(q_j). The exact method rounds each
    amount to ``grid_step * round(a / grid_step)`` and computes the Poisson-binomial pmf of
    the rounded sum (a plain DP over deals for small inputs; otherwise pairwise FFT
    convolution of neighbouring partial sums, deals sorted by amount, tails below 1e-14 of
    the peak trimmed between levels: O(K log K log n) for a lattice of K points). The
    rounding error is D = sum e_j B_j with known e_j; the default step is halved until
    ``|E D| + 5 sd(D) <= 0.05%`` of the value in play (sum of amounts with q > 0),
    starting from ``0.1% value / (sqrt(n) + 1)``; quantiles then move by less than 0.1%
    of the pipeline value. ``mean`` and ``variance`` use the unrounded amounts. Monte Carlo
    draws ``n_simulations`` x n uniforms (in chunks): O(n_simulations n).

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import forecast_revenue
    >>> deals = pd.DataFrame({"opportunity_id": ["a", "b", "c", "d"],
    ...                       "amount": [100.0, 200.0, 300.0, 400.0],
    ...                       "probability": [0.5, 0.5, 0.25, 0.9],
    ...                       "expected_close": pd.to_datetime(["2024-02-01", "2024-03-31",
    ...                                                         "2024-01-01", "2024-04-01"])})
    >>> f = forecast_revenue(deals, period_start="2024-01-01", period_end="2024-03-31",
    ...                      target=300, grid_step=1)
    >>> f.mean, f.variance, f.quantile(0.1), f.quantile(0.9), f.probability_target
    (225.0, 29375.0, 0.0, 500.0, 0.4375)
    >>> f.to_frame().head(3)
       revenue  probability
    0      0.0       0.1875
    1    100.0       0.1875
    2    200.0       0.1875
    """
    who = "forecast_revenue"
    check_param_choice("method", method, ["exact", "monte_carlo"], who=who)
    check_param_number("amount_slip", amount_slip, who=who, low=0, high=1, high_inclusive=False)
    check_param_number("close_slip_days", close_slip_days, who=who, low=-36525, high=36525)
    if target is not None:
        check_param_number("target", target, who=who)
    if grid_step is not None:
        check_param_number("grid_step", grid_step, who=who, low=0, low_inclusive=False)
    frame = to_pandas(snapshot, who=who)
    needed = ["opportunity_id", "amount"] + (
        ["stage"] if model is not None else ["expected_close", "probability"]
    )
    require_columns(frame, needed, who=who)
    start = coerce_as_of(period_start, who=who, name="period_start").normalize()
    end = coerce_as_of(period_end, who=who, name="period_end").normalize()
    if end < start:
        raise ValidationError(
            f"{who}: period_end ({end.date()}) is before period_start ({start.date()})."
        )
    ids = frame["opportunity_id"].astype(str).to_numpy()
    amounts = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(amounts) | (amounts < 0)
    _refuse_rows(bad, ids, "amount must be a finite number >= 0", "amount", who)
    amounts = amounts * (1.0 - float(amount_slip))
    if model is None:
        prob = pd.to_numeric(frame["probability"], errors="coerce").to_numpy(dtype=np.float64)
        badp = ~((prob >= 0) & (prob <= 1))
        _refuse_rows(badp, ids, "probability must be in [0, 1]", "probability", who)
        close = _as_dates(frame["expected_close"], who)
        shift = np.timedelta64(round(float(close_slip_days) * _DAY_NS), "ns")
        close = close + shift
        inside = (close >= start.tz_localize(None).to_datetime64()) & (
            close <= end.tz_localize(None).to_datetime64()
        )
        q = np.where(inside, prob, 0.0)
    else:
        taken = start if as_of is None else coerce_as_of(as_of, who=who)
        stages = frame["stage"].astype(str).to_numpy()
        q = _chain_q(model, stages, taken, start, end + pd.Timedelta(days=1), who)
    mean = float(amounts @ q)
    variance = float((amounts * amounts) @ (q * (1.0 - q)))
    deal_q = pd.Series(q, index=pd.Index(ids, name="opportunity_id"), name="q")
    common: dict[str, Any] = {
        "pipeline_value": float(amounts.sum()),
        "deal_probability": deal_q,
        "target": None if target is None else float(target),
    }
    if method == "exact":
        step = float(grid_step) if grid_step is not None else _default_grid(amounts, q)
        lattice = float(amounts[q > 0].sum()) / step
        if lattice > _MAX_LATTICE:
            raise ValidationError(
                f"{who}: grid_step={step:g} gives a lattice of {lattice:.3g} points (limit "
                f"{_MAX_LATTICE:,}). Hint: use a larger grid_step or grid_step=None."
            )
        units = np.round(amounts / step).astype(np.int64)
        offset, pmf = lattice_pmf(units, q)
        revenue = (offset + np.arange(pmf.size)).astype(np.float64) * step
        return RevenueForecast(
            revenue=revenue,
            probability=pmf,
            mean=mean,
            variance=variance,
            method="exact",
            grid_step=step,
            **common,
        )
    check_param_number("n_simulations", n_simulations, who=who, low=1, integer=True)
    rng = _rng(random_state, who)
    n_sim = int(n_simulations)
    sims = np.empty(n_sim)
    live = np.flatnonzero(q > 0)
    a_live, q_live = amounts[live], q[live]
    chunk = max(1, 4_000_000 // max(1, live.size))
    for lo in range(0, n_sim, chunk):
        hi = min(n_sim, lo + chunk)
        wins = rng.random((hi - lo, live.size)) < q_live
        sims[lo:hi] = wins @ a_live
    values, counts = np.unique(sims, return_counts=True)
    return RevenueForecast(
        revenue=values,
        probability=counts / n_sim,
        mean=float(sims.mean()),
        variance=float(sims.var()),
        method="monte_carlo",
        grid_step=None,
        **common,
    )


# ============================================================== back-test


def _first_won(events: pd.DataFrame) -> pd.DataFrame:
    """First won event of each opportunity: opportunity_id, won_at, won_amount."""
    won = events.loc[events["outcome"] == StageOutcome.WON.value]
    won = won.drop_duplicates("opportunity_id", keep="first")
    first: pd.DataFrame = pd.DataFrame(
        {
            "won_at": won["changed_at"].to_numpy(),
            "won_amount": won["amount"].to_numpy(dtype=np.float64),
        },
        index=pd.Index(won["opportunity_id"].to_numpy(), name="opportunity_id"),
    )
    return first


def backtest(
    history: Any,
    as_of_dates: Any,
    *,
    pipeline: Pipeline,
    horizon_days: int = 90,
    model: str | PipelineMarkovModel | None = None,
    step: str = "W",
    method: str = "exact",
    grid_step: float | None = None,
    n_simulations: int = 100_000,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Replay the history to past dates, forecast, and compare with what actually closed.

    Parameters
    ----------
    history : DataFrame
        The stage-history event frame (validated whole by
        :func:`crmcore.pipeline.read_history`).
    as_of_dates : sequence of date-like
        The snapshot dates (a date is midnight UTC at its start).
    pipeline : Pipeline
    horizon_days : int, default 90
        Period rule: for an as-of date d the period runs from d's date to d's date +
        ``horizon_days - 1`` (both days included).
    model : None, "markov" or a fitted PipelineMarkovModel
        How q is set (see :func:`forecast_revenue`). None: the snapshot's probability when
        the expected close falls in the period. ``"markov"``: a
        ``PipelineMarkovModel(step)`` refitted at each d on the history as it stood then
        (no look-ahead). A fitted model: used as given at every date.
    step : {"D", "W"}
        Step of the refitted chain (``model="markov"`` only).
    method, grid_step, n_simulations, random_state
        Passed to :func:`forecast_revenue`.

    Returns
    -------
    pandas.DataFrame
        One row per as-of date (index ``as_of``): ``period_start``, ``period_end``,
        ``n_open``, ``pipeline_value``, ``forecast_mean``, ``p10``, ``p90``, ``actual``
        (the revenue of the snapshot's deals whose first won event falls after d and by
        the end of the period, at the amount of that won event), ``error`` (actual -
        forecast_mean) and ``covered`` (p10 <= actual <= p90). The interval coverage is
        ``result["covered"].mean()`` (also in ``result.attrs["coverage"]``).

    Notes
    -----
    Deals created after d are not in the snapshot and their revenue is not in
    ``actual``: the back-test scores the forecast of the pipeline that existed (see
    :func:`expected_new_business` for the rest).

    Examples
    --------
    >>> from crmcore.datasets import simulate_pipeline
    >>> from crmcore.pipeline import backtest, salesforce_pipeline
    >>> history = simulate_pipeline(2000, random_state=3, end="2024-12-31")
    >>> result = backtest(history, ["2024-06-01", "2024-09-01"],
    ...                   pipeline=salesforce_pipeline(), model="markov")
    >>> result.columns.tolist()[:4]
    ['period_start', 'period_end', 'n_open', 'pipeline_value']
    >>> 0.0 <= result.attrs["coverage"] <= 1.0
    True
    """
    who = "backtest"
    check_param_number("horizon_days", horizon_days, who=who, low=1, integer=True)
    check_param_choice("step", step, ["D", "W"], who=who)
    if isinstance(model, str):
        check_param_choice("model", model, ["markov"], who=who)
    events = read_history(history, pipeline, who=who)
    won = _first_won(events)
    if isinstance(as_of_dates, (str, pd.Timestamp)) or not hasattr(as_of_dates, "__iter__"):
        as_of_dates = [as_of_dates]
    as_of_dates = list(as_of_dates)
    if not as_of_dates:
        raise ValidationError(
            f"The 'as_of_dates' parameter of {who} must hold at least one date. Got an empty "
            "collection instead."
        )
    rng = _rng(random_state, who)
    rows: list[dict[str, Any]] = []
    for raw in as_of_dates:
        d = coerce_as_of(raw, who=who, name="as_of_dates")
        start = d.normalize()
        end = start + pd.Timedelta(days=int(horizon_days) - 1)
        snap = snapshot(events, d, pipeline=pipeline)
        chain: Any = model
        if model == "markov":
            from crmcore.pipeline._markov import PipelineMarkovModel

            chain = PipelineMarkovModel(step=step).fit(events, pipeline, as_of=d)
        fc = forecast_revenue(
            snap,
            period_start=start,
            period_end=end,
            model=chain,
            as_of=d,
            method=method,
            grid_step=grid_step,
            n_simulations=n_simulations,
            random_state=rng,
        )
        hit = won.reindex(snap["opportunity_id"].to_numpy())
        end_excl = end + pd.Timedelta(days=1)
        closed = (hit["won_at"] > d) & (hit["won_at"] < end_excl)
        actual = float(hit["won_amount"].where(closed, 0.0).sum())
        p10, p90 = fc.quantile(0.1), fc.quantile(0.9)
        rows.append(
            {
                "as_of": d,
                "period_start": start.tz_localize(None),
                "period_end": end.tz_localize(None),
                "n_open": len(snap),
                "pipeline_value": float(snap["amount"].sum()),
                "forecast_mean": fc.mean,
                "p10": p10,
                "p90": p90,
                "actual": actual,
                "error": actual - fc.mean,
                "covered": bool(p10 <= actual <= p90),
            }
        )
    result: pd.DataFrame = pd.DataFrame(rows).set_index("as_of")
    result.attrs["coverage"] = float(result["covered"].mean()) if len(result) else float("nan")
    return result


def expected_new_business(
    history: Any,
    *,
    pipeline: Pipeline,
    as_of: Any,
    period_days: int,
    lookback_days: int = 365,
) -> float:
    """Expected revenue of deals created and won inside a coming period, from history.

    Parameters
    ----------
    history : DataFrame
        The stage-history event frame.
    pipeline : Pipeline
    as_of : date-like
        End of observation; only events at or before it are used.
    period_days : int
        Length T of the coming period in days.
    lookback_days : int, default 365
        Length W of the history window used (> `period_days`).

    Returns
    -------
    float
        ``sum_i a_i (T - d_i) / (W - T)`` over deals i created in ``[as_of - W, as_of - T)``
        and won with a time to win ``d_i <= T`` days (amount ``a_i`` of the won event).

    Notes
    -----
    A deal created at a uniform time u in a period of length T is created and won inside
    it when its time to win is at most ``T - u``, which has probability ``(T - d)^+ / T``;
    with deals created at a steady rate (``n / (W - T)`` per day, counted only where a
    full T days of follow-up exist, so nothing is censored) the expected revenue is the
    formula above. Stationarity is assumed.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.pipeline import simple_pipeline
    >>> from crmcore.pipeline import expected_new_business
    >>> history = pd.DataFrame({
    ...     "opportunity_id": ["A", "A", "B", "B"],
    ...     "stage": ["Lead", "Won", "Lead", "Won"],
    ...     "changed_at": ["2024-01-01", "2024-01-11", "2024-02-01", "2024-05-01"],
    ...     "amount": [300.0, 300.0, 100.0, 100.0],
    ...     "expected_close": ["2024-03-31"] * 4,
    ... })
    >>> round(expected_new_business(history, pipeline=simple_pipeline(), as_of="2024-12-31",
    ...                             period_days=30, lookback_days=390), 6)  # 300 * 20 / 360
    16.666667
    """
    who = "expected_new_business"
    check_param_number("period_days", period_days, who=who, low=1, high=36_525, integer=True)
    check_param_number("lookback_days", lookback_days, who=who, low=1, high=36_525, integer=True)
    if lookback_days <= period_days:
        raise ValidationError(
            f"{who}: lookback_days ({lookback_days}) must be greater than period_days "
            f"({period_days})."
        )
    events = read_history(history, pipeline, who=who)
    cut = coerce_as_of(as_of, who=who)
    events = events.loc[events["changed_at"] <= cut]
    created = events.groupby("opportunity_id", sort=False)["changed_at"].min()
    won = _first_won(events)
    t = pd.Timedelta(days=int(period_days))
    lo, hi = cut - pd.Timedelta(days=int(lookback_days)), cut - t
    frame = won.join(created.rename("created_at"), how="inner")
    if frame.empty:  # nothing won in the window: no new business expected
        return 0.0
    days = (frame["won_at"] - frame["created_at"]) / pd.Timedelta(days=1)
    keep = (frame["created_at"] >= lo) & (frame["created_at"] < hi) & (days <= period_days)
    weights = (period_days - days).where(keep, 0.0).to_numpy(dtype=np.float64)
    amounts = frame["won_amount"].to_numpy(dtype=np.float64)
    scale = float(np.max(np.abs(amounts))) if amounts.size else 0.0
    if scale == 0.0 or not np.isfinite(scale):
        return 0.0 if scale == 0.0 else _too_large(who)
    value = float(np.sum((amounts / scale) * weights)) / float(lookback_days - period_days)
    result = value * scale
    return result if np.isfinite(result) else _too_large(who)


def _too_large(who: str) -> float:
    raise ValidationError(
        f"{who}: the expected revenue is too large for float64 (amounts near 1e308). "
        "Hint: express amounts in a larger currency unit (e.g. thousands)."
    )
