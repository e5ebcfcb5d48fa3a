"""Customer tiers: ABC (Pareto), Curry's pyramid, quantiles, profitability, B2B relationship type.

Every function takes one value per customer (a pandas Series indexed by customer id, or a
frame plus ``value_col``) and returns a DataFrame indexed by customer id, in the input order,
with a ``tier`` column. Ranking is deterministic: value descending, then customer id
ascending (ids that cannot be compared are compared as strings), so permuting the input rows
never changes a result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from typing import Any, Literal, cast, overload

import narwhals.stable.v2 as nw2
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._aggregate import (
    consecutive_gap_sums,
    distinct_pairs,
    factorize_ids,
    group_counts,
    group_sums,
)
from crmcore._lazy import as_lazy, engine_name, read_order_log_lazy, stacked
from crmcore._orderlog import read_order_log
from crmcore._periods import period_expr, period_numbers
from crmcore._validation import (
    check_param_choice,
    check_param_number,
    check_random_state,
    coerce_number_series,
    exact_scale,
    format_ids,
    require_columns,
    to_pandas,
)
from crmcore.exceptions import CRMWarning, ValidationError
from crmcore.segmentation._rfm_kernels import rank_bins, tiebreak_keys

__all__ = [
    "abc_tiers",
    "profitability_tiers",
    "pyramid_tiers",
    "quantile_tiers",
    "relationship_type",
]

#: Shares within this distance of a threshold count as equal to it (float cumsum noise).
_SHARE_TOL = 1e-9


# ---------------------------------------------------------------------------------------
# input handling (shared with _concentration)
# ---------------------------------------------------------------------------------------


def _customer_values(
    values: Any,
    *,
    value_col: str | None,
    customer_col: str | None,
    who: str,
) -> tuple[pd.Index, npt.NDArray[np.float64]]:
    """Return (customer ids, float64 values) from a Series or a frame; validate both.

    A pandas Series uses its index as the customer id. A frame needs `value_col`; the ids
    come from `customer_col` when given, else from the index of a pandas frame, else from a
    ``customer_id`` column. Raises ValidationError on missing or non-numeric values and
    on repeated customer ids. The input is never modified.
    """
    if not isinstance(values, pd.Series) and not hasattr(values, "columns"):
        kind = f"{type(values).__module__}.{type(values).__qualname__}"
        hint = "wrap it, e.g. pd.Series(values, index=ids)"
        if hasattr(values, "to_numpy") or hasattr(values, "to_pandas"):
            hint = (
                "a Polars or PyArrow Series has no customer ids: pass a frame with the ids, "
                "e.g. (df, value_col='revenue', customer_col='customer_id'), or "
                "pd.Series(values.to_numpy(), index=ids)"
            )
        raise ValidationError(
            f"{who}: expected a pandas Series indexed by customer id or a DataFrame; got "
            f"{kind}. Hint: {hint}."
        )
    if isinstance(values, pd.Series):
        if isinstance(values.index, pd.MultiIndex):
            raise ValidationError(
                f"{who}: expected one value per customer; got a Series with a "
                f"{values.index.nlevels}-level MultiIndex "
                f"({', '.join(map(str, values.index.names))}). Hint: aggregate to one level "
                "first, e.g. values.groupby(level=-1).sum(), or flatten the keys with "
                "values.set_axis(values.index.to_flat_index())."
            )
        if value_col is not None or customer_col is not None:
            raise ValidationError(
                f"{who}: value_col and customer_col apply to a DataFrame input; got a Series "
                "(its index is the customer id). Hint: drop those arguments."
            )
        ids = values.index
        series = values
    else:
        if not hasattr(values, "columns"):
            raise ValidationError(
                f"{who}: expected a pandas Series indexed by customer id or a DataFrame; got "
                f"{type(values).__name__}. Hint: wrap it, e.g. pd.Series(values, index=ids)."
            )
        frame = to_pandas(values, who=who)
        if isinstance(frame.index, pd.MultiIndex) and customer_col is None:
            raise ValidationError(
                f"{who}: the frame has a {frame.index.nlevels}-level MultiIndex; one value per "
                "customer is needed. Hint: pass customer_col= or reset_index() first."
            )
        if value_col is None:
            raise ValidationError(
                f"{who}: a DataFrame input needs value_col (the per-customer value column). "
                f"Available columns: {', '.join(map(str, frame.columns))}."
            )
        if customer_col is None and not isinstance(values, pd.DataFrame):
            customer_col = "customer_id"
        needed = [value_col] + ([customer_col] if customer_col is not None else [])
        require_columns(frame, needed, who=who)
        series = frame[value_col]
        if customer_col is not None:
            ids = pd.Index(frame[customer_col].to_numpy(), name=customer_col)
        else:
            ids = frame.index
    if ids.hasnans:
        raise ValidationError(
            f"{who}: {int(np.asarray(ids.isna()).sum()):,} customer ids are missing. "
            "Hint: drop or fill them before calling."
        )
    if ids.has_duplicates:
        dup = ids[ids.duplicated()]
        raise ValidationError(
            f"{who}: expected one value per customer; {len(dup):,} customer ids repeat "
            f"(first: {format_ids(dup.unique())}). Hint: aggregate first, e.g. "
            "transactions.groupby('customer_id')['amount'].sum()."
        )
    name = str(value_col) if value_col is not None else "values"
    arr = coerce_number_series(series, name=name, who=who, ids=ids)
    return ids, arr


def _unit_scale(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Values divided by their largest magnitude: shares stay exact and sums cannot overflow.

    Values near 1e308 are finite, but their sum is not; every share, Lorenz ordinate and
    Gini coefficient is invariant to a common positive scale, so kernels work on this.
    """
    scale = float(np.max(np.abs(values))) if len(values) else 0.0
    if scale == 0.0 or not np.isfinite(scale):
        return values
    out: npt.NDArray[np.float64] = values / scale
    return out


def _frame(data: Any, *, index: Any = None, columns: Any = None) -> pd.DataFrame:
    """pd.DataFrame with a precise static type (the stubs return Any for some inputs)."""
    out: pd.DataFrame = pd.DataFrame(data, index=index, columns=columns)
    return out


def _id_rank(ids: pd.Index) -> npt.NDArray[np.int64]:
    """Rank (0-based) of every id in ascending id order; incomparable ids compare as str."""
    try:
        perm = np.asarray(ids.argsort(), dtype=np.int64)
    except TypeError:
        perm = np.asarray(pd.Index(ids.astype(str)).argsort(), dtype=np.int64)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[perm] = np.arange(len(ids), dtype=np.int64)
    return rank


def _order_desc(ids: pd.Index, values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Positions sorted by value descending, ties by customer id ascending."""
    return np.lexsort((_id_rank(ids), -values)).astype(np.int64)


def _check_negative(ids: pd.Index, values: npt.NDArray[np.float64], *, who: str) -> None:
    neg = values < 0
    if neg.any():
        raise ValidationError(
            f"{who}: values must be >= 0 (a share of a total needs non-negative parts); "
            f"{int(neg.sum()):,} of {len(values):,} are negative "
            f"(first ids: {format_ids(ids[neg])}). Hint: net returns per customer and clip at 0, "
            "or use whale_curve / profitability_tiers for profit that can be negative."
        )


def _check_number_list(name: str, values: Any, *, who: str) -> list[Any]:
    """The elements of a flat list-like parameter of numbers (no str, no nesting)."""
    message = (
        f"The {name!r} parameter of {who} must be a sequence of numbers. Got {values!r} instead."
    )
    if values is None or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValidationError(message)
    out = list(values)
    for v in out:
        check_param_number(name, v, who=who)
    return out


def _check_labels(name: str, labels: Any, *, who: str) -> list[str]:
    if labels is None or isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be a sequence of labels. Got {labels!r} instead."
        )
    return [str(x) for x in labels]


def _check_increasing_shares(name: str, shares: Sequence[float], *, who: str) -> list[float]:
    out = [float(s) for s in _check_number_list(name, shares, who=who)]
    if not out:
        raise ValidationError(f"The {name!r} parameter of {who} must not be empty.")
    for s in shares:
        check_param_number(name, s, who=who, low=0, high=1, low_inclusive=False)
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ValidationError(
            f"The {name!r} parameter of {who} must be strictly increasing. Got {tuple(shares)}."
        )
    return out


def _labelled(codes: npt.NDArray[np.int64], labels: Sequence[str]) -> pd.Categorical:
    dtype = pd.CategoricalDtype(list(labels), ordered=True)
    return cast("pd.Categorical", pd.Categorical.from_codes(codes, dtype=dtype))


def _count_layers(n: int, cumulative_shares: Sequence[float]) -> npt.NDArray[np.int64]:
    """Layer code of each rank position 0..n-1 for cumulative customer-count shares.

    Position p (0 = best) goes to the first layer k with p < ceil(share_k * n): each layer
    is rounded up, so a non-empty base always has at least one customer in the top layer.
    """
    bounds = np.ceil(np.round(np.asarray(cumulative_shares, dtype=np.float64) * n, 9))
    positions = np.arange(n, dtype=np.float64)
    return np.searchsorted(bounds, positions, side="right").astype(np.int64)


# ---------------------------------------------------------------------------------------
# ABC
# ---------------------------------------------------------------------------------------


def _abc_codes(
    sorted_values: npt.NDArray[np.float64],
    thresholds: Sequence[float],
    boundary: str,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Kernel: tier codes and cumulative shares of values sorted in descending order."""
    total = float(sorted_values.sum())
    cumulative = np.cumsum(sorted_values) / total
    cumulative[-1] = 1.0
    codes = np.zeros(len(sorted_values), dtype=np.int64)
    if boundary == "inclusive":
        for t in thresholds:
            codes += (cumulative > t + _SHARE_TOL).astype(np.int64)
    else:
        before = np.concatenate(([0.0], cumulative[:-1]))
        for t in thresholds:
            codes += (before >= t - _SHARE_TOL).astype(np.int64)
    return codes, cumulative


def abc_tiers(
    values: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    thresholds: Sequence[float] = (0.80, 0.95),
    boundary: Literal["inclusive", "crossing"] = "inclusive",
    labels: Sequence[str] = ("A", "B", "C"),
) -> pd.DataFrame:
    """ABC (Pareto) tiers: customers ranked by value, cut at cumulative value shares.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One non-negative value per customer (e.g. revenue), a Series indexed by customer id,
        or a frame with `value_col` (ids from `customer_col`, else the frame's index; a
        Polars frame without `customer_col` uses its ``customer_id`` column).
    value_col, customer_col : str, optional
        Column roles for a frame input.
    thresholds : sequence of float, default (0.80, 0.95)
        Strictly increasing cumulative value shares in (0, 1]; ``len(labels) - 1`` of them.
    boundary : {"inclusive", "crossing"}, default "inclusive"
        ``"inclusive"``: a customer is in tier k if its own cumulative share (itself
        included) is <= thresholds[k]. ``"crossing"``: a customer is in tier k if the share
        of the customers ranked above it is < thresholds[k], so the customer that crosses the
        threshold still belongs to the tier.
    labels : sequence of str, default ("A", "B", "C")
        Tier names, best first.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id, in the input order, with columns ``value``, ``rank``
        (1 = largest value), ``value_share``, ``cumulative_share`` (own share included) and
        ``tier`` (ordered categorical with `labels`).

    Raises
    ------
    ValidationError
        Missing, non-numeric or negative values, repeated ids, a total of zero, or bad
        thresholds/labels.

    Notes
    -----
    Customers are ranked by value descending, ties by customer id ascending; equal values
    can therefore fall on both sides of a threshold. With :math:`S_i` the cumulative
    share of the first i customers, inclusive puts customer i in the first tier k with
    :math:`S_i \\le t_k` and crossing in the first tier k with :math:`S_{i-1} < t_k`.
    Shares within 1e-9 of a threshold count as equal to it. In the crossing convention the
    top customer is always in the first tier; in the inclusive convention a customer that
    alone holds more than ``thresholds[0]`` of the value is not. An empty input gives an
    empty frame.

    References
    ----------
    Dickie, H. F. (1951). ABC inventory analysis shoots for dollars, not pennies. Factory
    Management and Maintenance 109(7), 92-94.

    Examples
    --------
    >>> import pandas as pd
    >>> revenue = pd.Series([50, 20, 10, 8, 5, 4, 2, 1], index=list("abcdefgh"))
    >>> "".join(abc_tiers(revenue)["tier"])
    'AAABBCCC'
    >>> "".join(abc_tiers(revenue, boundary="crossing")["tier"])
    'AAABBBCC'
    """
    who = "abc_tiers"
    check_param_choice("boundary", boundary, ["inclusive", "crossing"], who=who)
    cuts = _check_increasing_shares("thresholds", thresholds, who=who)
    labels = _check_labels("labels", labels, who=who)
    if len(labels) != len(cuts) + 1 or len(set(labels)) != len(labels):
        raise ValidationError(
            f"{who}: need {len(cuts) + 1} distinct labels for {len(cuts)} thresholds; "
            f"got {labels!r}."
        )
    ids, arr = _customer_values(values, value_col=value_col, customer_col=customer_col, who=who)
    _check_negative(ids, arr, who=who)
    n = len(arr)
    if n and float(arr.sum()) <= 0:
        raise ValidationError(
            f"{who}: the values of all {n:,} customers sum to 0; value shares are undefined. "
            "Hint: check the value column and the period."
        )
    order = _order_desc(ids, arr)
    unit = _unit_scale(arr)
    total = float(unit[order].sum()) if n else 1.0  # sorted: independent of row order
    if n:
        codes_sorted, cum_sorted = _abc_codes(unit[order], cuts, boundary)
    else:
        codes_sorted = np.zeros(0, dtype=np.int64)
        cum_sorted = np.zeros(0, dtype=np.float64)
    codes = np.empty(n, dtype=np.int64)
    cumulative = np.empty(n, dtype=np.float64)
    rank = np.empty(n, dtype=np.int64)
    codes[order] = codes_sorted
    cumulative[order] = cum_sorted
    rank[order] = np.arange(1, n + 1, dtype=np.int64)
    return _frame(
        {
            "value": arr,
            "rank": rank,
            "value_share": unit / total,
            "cumulative_share": cumulative,
            "tier": _labelled(codes, labels),
        },
        index=ids.copy(),
    )


# ---------------------------------------------------------------------------------------
# Curry's pyramid
# ---------------------------------------------------------------------------------------


def _as_id_index(ids: Collection[Any] | None, name: str, *, who: str) -> pd.Index:
    if ids is None:
        return pd.Index([])
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise ValidationError(
            f"{who}: {name} must be a collection of customer ids; got {ids!r} "
            f"({type(ids).__name__})."
        )
    index: pd.Index = pd.Index(list(ids))
    if index.has_duplicates:
        index = index.unique()
    return index


def pyramid_tiers(
    values: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    inactive: Collection[Any] | None = None,
    prospects: Collection[Any] | None = None,
    shares: Sequence[float] = (0.01, 0.04, 0.15, 0.80),
    labels: Sequence[str] = ("top", "big", "medium", "small"),
) -> pd.DataFrame:
    """Curry's customer pyramid: top 1% / big 4% / medium 15% / small 80% of active customers.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        Revenue of each ACTIVE customer in the period (a Series indexed by customer id, or a
        frame with `value_col`; see :func:`abc_tiers`). Every customer here is active.
    value_col, customer_col : str, optional
        Column roles for a frame input.
    inactive : collection of ids, optional
        Former customers who did not buy in the period: the ``"inactive"`` layer.
    prospects : collection of ids, optional
        Known non-customers: the ``"prospect"`` layer.
    shares : sequence of float, default (0.01, 0.04, 0.15, 0.80)
        Share of the active customers in each layer, best first; must sum to 1.
    labels : sequence of str, default ("top", "big", "medium", "small")
        Names of the active layers, best first.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: the active customers in input order, then `inactive`, then
        `prospects`. Columns ``value`` (NaN outside the active layers), ``rank`` (1 = largest
        value; <NA> outside the active layers) and ``tier`` (ordered categorical: `labels`,
        then ``"inactive"``, ``"prospect"``).

    Raises
    ------
    ValidationError
        Missing or non-numeric values, repeated ids, an id in two layers, bad shares.

    Notes
    -----
    Customers are ranked by value descending, ties by id ascending. With n active
    customers and cumulative shares :math:`c_k`, the customer at rank position p (0 = best)
    is in the first layer with :math:`p < \\lceil c_k n \\rceil`: layer sizes are rounded up
    from the top, so the top layer holds :math:`\\lceil 0.01 n \\rceil` customers. Values may
    be zero or negative (returns); they rank at the bottom.

    References
    ----------
    Curry, J. and Curry, A. (2000). The Customer Marketing Method: How to Implement and
    Profit from Customer Relationship Management. Free Press.

    Examples
    --------
    >>> import pandas as pd
    >>> revenue = pd.Series(range(100, 0, -1), index=range(100))
    >>> out = pyramid_tiers(revenue, inactive=[200, 201], prospects=[300])
    >>> out["tier"].value_counts(sort=False).to_dict()
    {'top': 1, 'big': 4, 'medium': 15, 'small': 80, 'inactive': 2, 'prospect': 1}
    """
    who = "pyramid_tiers"
    parts = [float(s) for s in _check_number_list("shares", shares, who=who)]
    for s in shares:
        check_param_number("shares", s, who=who, low=0, high=1, low_inclusive=False)
    if not parts or not math.isclose(sum(parts), 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValidationError(
            f"The 'shares' parameter of {who} must sum to 1. Got {tuple(shares)} "
            f"(sum {sum(parts):g})."
        )
    labels = _check_labels("labels", labels, who=who)
    all_labels = [*labels, "inactive", "prospect"]
    if len(labels) != len(parts) or len(set(all_labels)) != len(all_labels):
        raise ValidationError(
            f"{who}: need {len(parts)} distinct labels (other than 'inactive' and 'prospect') "
            f"for {len(parts)} shares; got {labels!r}."
        )
    ids, arr = _customer_values(values, value_col=value_col, customer_col=customer_col, who=who)
    lapsed = _as_id_index(inactive, "inactive", who=who)
    prospect = _as_id_index(prospects, "prospects", who=who)
    for name_a, a, name_b, b in (
        ("active", ids, "inactive", lapsed),
        ("active", ids, "prospects", prospect),
        ("inactive", lapsed, "prospects", prospect),
    ):
        both = a.intersection(b)
        if len(both):
            raise ValidationError(
                f"{who}: {len(both):,} customers are both {name_a} and {name_b} "
                f"(first: {format_ids(both)}); each customer belongs to one layer."
            )
    n = len(arr)
    order = _order_desc(ids, arr)
    codes = np.empty(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    codes[order] = np.minimum(_count_layers(n, list(np.cumsum(parts))), len(parts) - 1)
    rank[order] = np.arange(1, n + 1, dtype=np.int64)
    n_in, n_pr = len(lapsed), len(prospect)
    all_codes = np.concatenate(
        [
            codes,
            np.full(n_in, len(parts), dtype=np.int64),
            np.full(n_pr, len(parts) + 1, dtype=np.int64),
        ]
    )
    index = ids.append(lapsed).append(prospect) if (n_in or n_pr) else ids.copy()
    ranks = pd.array(np.concatenate([rank, np.zeros(n_in + n_pr, dtype=np.int64)]), dtype="Int64")
    ranks[n:] = pd.NA
    return _frame(
        {
            "value": np.concatenate([arr, np.full(n_in + n_pr, np.nan)]),
            "rank": ranks,
            "tier": _labelled(all_codes, all_labels),
        },
        index=index,
    )


# ---------------------------------------------------------------------------------------
# quantile tiers
# ---------------------------------------------------------------------------------------


def quantile_tiers(
    values: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    bins: int = 10,
    ties: Literal["shared", "rank", "random"] = "shared",
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Quantile tiers (deciles by default): tier ``bins`` holds the largest values.

    Parameters
    ----------
    values : pandas.Series or DataFrame
        One value per customer (see :func:`abc_tiers`); any sign.
    value_col, customer_col : str, optional
        Column roles for a frame input.
    bins : int, default 10
        Number of tiers (10 = deciles, 5 = quintiles, 4 = quartiles).
    ties : {"shared", "rank", "random"}, default "shared"
        ``"shared"``: equal values share a tier (the tier of the lowest-ranked member of the
        tie group), so some tiers can be empty (a CRMWarning names the number of non-empty
        tiers). ``"rank"``: forced rank, ties ordered by customer id (the larger id ranks
        higher), so tier sizes differ by at most one. ``"random"``: forced rank with ties
        ordered at random through `random_state` (reproducible for a fixed seed, and
        independent of the input row order).
    random_state : int, numpy.random.Generator or None
        Seed for ``ties="random"``; ignored otherwise.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id in the input order; columns ``value``, ``rank`` (1 = smallest
        value; for ``"shared"`` the smallest rank of the tie group) and ``tier`` (int,
        1..bins, larger = more valuable, like an RFM score).

    Raises
    ------
    ValidationError
        Missing or non-numeric values, repeated ids, bins < 2 or an unknown tie policy.

    Warns
    -----
    CRMWarning
        With ``ties="shared"`` when ties leave some tiers empty.

    Notes
    -----
    With n customers and ascending rank r (1-based), the tier is
    :math:`1 + \\lfloor \\text{bins} \\cdot (r - 1) / n \\rfloor`.

    Examples
    --------
    >>> import pandas as pd
    >>> spend = pd.Series([5, 1, 4, 2, 3, 6, 8, 7, 10, 9], index=list("abcdefghij"))
    >>> quantile_tiers(spend, bins=5)["tier"].tolist()
    [3, 1, 2, 1, 2, 3, 4, 4, 5, 5]
    """
    who = "quantile_tiers"
    check_param_number("bins", bins, who=who, low=2, integer=True)
    check_param_choice("ties", ties, ["shared", "rank", "random"], who=who)
    check_random_state(random_state, who=who)
    ids, arr = _customer_values(values, value_col=value_col, customer_col=customer_col, who=who)
    n = len(arr)
    id_rank = _id_rank(ids)
    rank = np.empty(n, dtype=np.int64)
    # the same forced-rank rule and tie-break keys as rfm_scores (crmcore.segmentation
    # ._rfm_kernels); "shared" gives a tie group the tier where the group starts
    keys = tiebreak_keys(id_rank, "random" if ties == "random" else "rank", random_state)
    order = np.lexsort((keys, arr))
    rank[order] = np.arange(1, n + 1, dtype=np.int64)
    if ties == "shared" and n:
        sorted_vals = arr[order]
        starts = np.searchsorted(sorted_vals, sorted_vals, side="left")
        rank[order] = starts + 1
        tier = (1 + (int(bins) * (rank - 1)) // n).astype(np.int64)
    else:
        tier = rank_bins(arr, int(bins), keys)
    if ties == "shared" and n:
        used = len(np.unique(tier))
        if used < int(bins):
            import warnings

            warnings.warn(
                f"{who}: ties leave {int(bins) - used} of {int(bins)} tiers empty "
                f"(effective tiers: {used}). Hint: ties='rank' or ties='random' forces "
                "equal-sized tiers.",
                CRMWarning,
                stacklevel=2,
            )
    return _frame({"value": arr, "rank": rank, "tier": tier}, index=ids.copy())


# ---------------------------------------------------------------------------------------
# profitability tiers
# ---------------------------------------------------------------------------------------


def profitability_tiers(
    profit: Any,
    *,
    value_col: str | None = None,
    customer_col: str | None = None,
    shares: Sequence[float] = (0.10, 0.30),
    labels: Sequence[str] = ("platinum", "gold", "iron", "lead"),
) -> pd.DataFrame:
    """Zeithaml, Rust & Lemon's profitability pyramid: platinum / gold / iron / lead.

    Parameters
    ----------
    profit : pandas.Series or DataFrame
        Profit per customer (any sign; see :func:`abc_tiers` for the input forms).
    value_col, customer_col : str, optional
        Column roles for a frame input.
    shares : (float, float), default (0.10, 0.30)
        Cumulative shares of the customers with profit >= 0 that are platinum and platinum or
        gold: by default the top 10% are platinum, the next 20% gold, the rest iron.
    labels : sequence of 4 str, default ("platinum", "gold", "iron", "lead")
        Tier names, best first.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id in the input order; columns ``profit``, ``rank`` (1 = most
        profitable) and ``tier`` (ordered categorical).

    Raises
    ------
    ValidationError
        Missing or non-numeric profit, repeated ids, bad shares or labels.

    Notes
    -----
    Lead = negative profit (the customers who cost the firm money). The customers with
    profit >= 0 are ranked by profit descending (ties by id) and cut by count with the
    layer rule of :func:`pyramid_tiers` (sizes rounded up from the top). The paper leaves
    the platinum/gold/iron cut-offs to the firm; 10% / 20% / 70% is crmcore's default.

    References
    ----------
    Zeithaml, V. A., Rust, R. T. and Lemon, K. N. (2001). The Customer Pyramid: Creating and
    Serving Profitable Customers. California Management Review 43(4), 118-142.

    Examples
    --------
    >>> import pandas as pd
    >>> profit = pd.Series([120, 80, 40, 30, 20, 10, 5, 0, -5, -40], index=list("abcdefghij"))
    >>> "".join(t[0] for t in profitability_tiers(profit)["tier"])
    'pggiiiiill'
    """
    who = "profitability_tiers"
    cuts = _check_increasing_shares("shares", shares, who=who)
    if len(cuts) != 2:
        raise ValidationError(
            f"The 'shares' parameter of {who} must hold 2 cumulative shares (platinum, "
            f"platinum + gold). Got {tuple(shares)}."
        )
    labels = _check_labels("labels", labels, who=who)
    if len(labels) != 4 or len(set(labels)) != 4:
        raise ValidationError(f"{who}: need 4 distinct labels, best first; got {labels!r}.")
    ids, arr = _customer_values(profit, value_col=value_col, customer_col=customer_col, who=who)
    n = len(arr)
    order = _order_desc(ids, arr)
    n_pos = int((arr >= 0).sum())
    codes_sorted = np.full(n, 3, dtype=np.int64)
    codes_sorted[:n_pos] = _count_layers(n_pos, [*cuts, 1.0])
    codes = np.empty(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    codes[order] = np.minimum(codes_sorted, 3)
    rank[order] = np.arange(1, n + 1, dtype=np.int64)
    return _frame({"profit": arr, "rank": rank, "tier": _labelled(codes, labels)}, index=ids.copy())


# ---------------------------------------------------------------------------------------
# B2B relationship type
# ---------------------------------------------------------------------------------------


@overload
def relationship_type(
    transactions: pd.DataFrame,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    contracts: Collection[Any] | None = ...,
    cv_threshold: float = ...,
    min_purchase_days: int = ...,
    size_threshold: float | None = ...,
    status_col: str | None = ...,
    statuses: Collection[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> pd.DataFrame: ...


@overload
def relationship_type(
    transactions: Any,
    *,
    customer_col: str = ...,
    date_col: str = ...,
    amount_col: str = ...,
    contracts: Collection[Any] | None = ...,
    cv_threshold: float = ...,
    min_purchase_days: int = ...,
    size_threshold: float | None = ...,
    status_col: str | None = ...,
    statuses: Collection[str] | None = ...,
    currency_col: str | None = ...,
    date_format: str | None = ...,
) -> Any: ...


def relationship_type(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    contracts: Collection[Any] | None = None,
    cv_threshold: float = 0.5,
    min_purchase_days: int = 3,
    size_threshold: float | None = None,
    status_col: str | None = "status",
    statuses: Collection[str] | None = None,
    currency_col: str | None = "currency",
    date_format: str | None = None,
) -> Any:
    """Classify B2B accounts as transactional, hybrid or relationship buyers.

    Parameters
    ----------
    transactions : DataFrame (pandas, Polars or PyArrow) or a lazy frame
        One row per order with customer id, date and amount. A lazy frame (Polars
        LazyFrame, DuckDB relation or PySpark DataFrame; a Dask frame is refused, see
        Notes) is classified on its own engine, see Returns.
    customer_col, date_col, amount_col : str
        Column roles.
    contracts : collection of ids, optional
        Accounts with a framework contract (ids not in `transactions` are ignored).
    cv_threshold : float, default 0.5
        An account orders regularly when the coefficient of variation of the gaps between
        its purchase days is <= this.
    min_purchase_days : int, default 3
        Fewest distinct purchase days (>= 2 gaps) for an account to count as regular.
    size_threshold : float, optional
        An account orders large when its mean order value is >= this; default: the median
        of the accounts' mean order values.
    status_col, statuses, currency_col, date_format
        The order-log rules shared by every transaction function: only purchase rows count
        (status ``confirmed`` / ``fulfilled`` by default, the others counted in a
        :class:`~crmcore.CRMWarning`), one currency, and string dates read with one format
        (`date_format`, else ISO 8601).

    Returns
    -------
    pandas.DataFrame or lazy frame
        Indexed by account id (sorted); columns ``orders``, ``purchase_days``,
        ``mean_order_value``, ``gap_cv`` (NaN below 3 purchase days), ``regular``,
        ``large``, ``contract`` (bool) and ``relationship_type`` (ordered categorical
        ``transactional < hybrid < relationship``). For a lazy frame: a lazy frame of the
        same engine with the account id as a column, the same columns and values,
        ``gap_cv`` null below 3 purchase days, ``relationship_type`` as text, rows in no
        particular order.

    Raises
    ------
    ValidationError
        Missing columns or values, non-numeric or infinite amounts, or bad thresholds; a
        Dask frame (see Notes).

    Notes
    -----
    Gaps are days between consecutive distinct purchase days; CV = population standard
    deviation / mean. Each account scores one point for each of ``regular``, ``large`` and
    ``contract``: 2-3 points = relationship (lost-for-good buyers: regular, sizeable,
    contracted), 1 point = hybrid, 0 = transactional (always-a-share buyers: occasional,
    small, uncommitted) -- the split of Dell's buyers into transactional and relationship
    segments that CRM case studies describe.

    With k gaps of sum :math:`S_1` (last minus first purchase day) and sum of squares
    :math:`S_2`, :math:`CV = \\sqrt{k S_2 - S_1^2} / S_1`: an exact integer under the root,
    so equal gaps give exactly 0, in memory and on every engine alike.

    In memory (pandas, Polars, PyArrow) the table comes from the array kernels of
    ``crmcore._aggregate`` (dense customer codes, whole-day numbers, bincounts, one sort
    of packed (customer, day) keys for the distinct days and their gaps); mean order values
    use correctly rounded sums. On a lazy engine it is built from narwhals group-bys,
    joins and casts only: the engine's sums (equal to about 1e-15), the median from the
    engine (a cross-joined one-row aggregate), and the gap between consecutive purchase
    days without a window function, by a search over the 22 bits of the day numbers (one
    group-by and one join on about 11 rows per distinct purchase day; measured on 2M
    orders with 1.9M distinct purchase days: about 24 s on Polars and on DuckDB, against
    0.6 s in memory). Dask is refused: the gap search is a group-by followed by a
    join, which Dask breaks on frames of many partitions, and its median is approximate.

    References
    ----------
    Jackson, B. B. (1985). Build Customer Relationships That Last. Harvard Business Review
    63(6), 120-128.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a"] * 4 + ["b"] * 2,
    ...     "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-02", "2024-04-01",
    ...                             "2024-01-10", "2024-06-20"]),
    ...     "amount": [900.0, 1000.0, 1100.0, 1000.0, 50.0, 80.0]})
    >>> relationship_type(orders, contracts=["a"])["relationship_type"].tolist()
    ['relationship', 'transactional']
    """
    who = "relationship_type"
    check_param_number("cv_threshold", cv_threshold, who=who, low=0)
    check_param_number("min_purchase_days", min_purchase_days, who=who, low=2, integer=True)
    if size_threshold is not None:
        check_param_number("size_threshold", size_threshold, who=who)
    contract_ids = _as_id_index(contracts, "contracts", who=who)
    lazy = as_lazy(transactions)
    if lazy is not None:
        rows = read_order_log_lazy(
            lazy,
            who=who,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            status_col=status_col,
            statuses=statuses,
            currency_col=currency_col,
            date_format=date_format,
        )
        return _relationship_lazy(
            rows,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            contracts=contract_ids,
            cv_threshold=float(cv_threshold),
            min_purchase_days=int(min_purchase_days),
            size_threshold=None if size_threshold is None else float(size_threshold),
            who=who,
        )
    log = read_order_log(
        transactions,
        who=who,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        status_col=status_col,
        statuses=statuses,
        currency_col=currency_col,
        date_format=date_format,
    )
    # the kernel layer: dense customer codes, whole-day numbers of the period clock,
    # bincounts, and one sort of packed (customer, day) keys for the distinct days and gaps
    codes, uniques = factorize_ids(log[customer_col].to_native())
    n_customers = len(uniques)
    days = period_numbers(np.asarray(log[date_col].to_numpy()), "D", name=date_col, who=who)
    amounts = np.asarray(log[amount_col].to_numpy(), dtype=np.float64)
    orders = group_counts(codes, n_customers)
    total = group_sums(codes, amounts, n_customers)
    scale = 1.0
    if not np.isfinite(total).all():
        # totals near 1e308 overflow: sum amounts divided by a power of two (exact) instead
        scale = exact_scale([float(np.abs(amounts).max())])
        total = group_sums(codes, amounts / scale, n_customers)
    mean_order = total / orders * scale
    group, day = distinct_pairs(codes, days, n_customers)
    n_days = np.bincount(group, minlength=n_customers).astype(np.int64)
    n_gaps, gap_total, gap_total_sq = consecutive_gap_sums(group, day, n_customers)
    cv = _gap_cv(n_gaps, gap_total, gap_total_sq)
    threshold = float(np.median(mean_order)) if size_threshold is None else float(size_threshold)
    regular = (n_days >= int(min_purchase_days)) & (np.nan_to_num(cv, nan=np.inf) <= cv_threshold)
    large = mean_order >= threshold
    index = pd.Index(uniques, name=customer_col)
    contract = np.asarray(index.isin(contract_ids), dtype=bool)
    points = regular.astype(np.int64) + large.astype(np.int64) + contract.astype(np.int64)
    codes_out = np.minimum(points, 2)
    return _frame(
        {
            "orders": orders,
            "purchase_days": n_days,
            "mean_order_value": mean_order,
            "gap_cv": cv,
            "regular": regular,
            "large": large,
            "contract": contract,
            "relationship_type": _labelled(codes_out, _RELATIONSHIP_LABELS),
        },
        index=index,
    )


#: Relationship types, by points (0, 1, 2-3).
_RELATIONSHIP_LABELS = ("transactional", "hybrid", "relationship")


def _gap_cv(
    n_gaps: npt.NDArray[np.int64],
    total: npt.NDArray[np.int64],
    total_sq: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Coefficient of variation of each customer's gaps (NaN below two gaps).

    With k gaps of sum S1 and sum of squares S2, the population variance is
    ``(k S2 - S1**2) / k**2`` and the mean ``S1 / k``, so CV = ``sqrt(k S2 - S1**2) / S1``:
    an exact integer under the root (int64 while the span ``S1 < 2**21`` days, which makes
    ``k S2 <= S1**3 < 2**63``), then one square root and one division.
    """
    cv = np.full(len(n_gaps), np.nan)
    ok = n_gaps >= 2
    k, s1, s2 = n_gaps[ok], total[ok], total_sq[ok]
    if s1.size and int(s1.max()) < 2**21:
        numerator = (k * s2 - s1 * s1).astype(np.float64)
    else:
        s1f = s1.astype(np.float64)
        numerator = np.maximum(k.astype(np.float64) * s2.astype(np.float64) - s1f * s1f, 0.0)
    cv[ok] = np.sqrt(numerator) / s1
    return cv


#: Day numbers are shifted by this before the bit levels of the lazy gap search: day 0 is
#: then 0001-01-01, so every date of years 1..9999 has a shifted number in [0, 2**22).
_DAY_SHIFT = 719_162
_DAY_BITS = 22

#: Sums of amounts on an engine are taken on amounts times 2**-512 and scaled back: a power
#: of two scales without rounding, so the result equals the plain sum wherever that does
#: not overflow (amounts in [3e-154, 1.8e308]), and totals near 1e308 stay finite.
_LAZY_SCALE = 2.0**512


def _next_day_squares(days: Any, customer_col: str) -> Any:
    """Per customer: the number of gaps and the sum of squared gaps, lazily, without over().

    `days` holds the distinct (customer, ``__s``) rows, ``__s`` a shifted day number in
    ``[0, 2**22)``. The next purchase day of day s is the smallest later day; a later day
    t first differs from s at some bit b where s has 0 and t has 1, i.e. ``t >> b ==
    (s >> b) + 1``. So the candidates of s are, for every b with bit b of s clear, the
    smallest day of the customer whose prefix ``t >> b`` is ``(s >> b) + 1``, and the
    next day is the smallest candidate. That takes one group-by (the smallest day per
    customer, level and odd prefix), one equi-join of the probes and one group-by: plain
    group-bys and joins, so it runs on every engine (a rank or ``diff`` would need a
    window). The price: about 11 rows per distinct (customer, day) in each of the two
    intermediate tables (22 levels, half of them per day), so this step costs some 20x
    an ordinary group-by of the distinct days.
    """
    s = nw2.col("__s")
    levels = [(b, 2**b) for b in range(_DAY_BITS)]
    # only odd prefixes are ever probed ((s >> b) + 1 with bit b of s clear)
    smallest = (
        nw2.concat(
            [
                days.filter((s // step) % 2 == 1).select(
                    nw2.col(customer_col),
                    nw2.lit(b).cast(nw2.Int64).alias("__b"),
                    (s // step).alias("__p"),
                    s.alias("__t"),
                )
                for b, step in levels
            ]
        )
        .group_by(customer_col, "__b", "__p")
        .agg(nw2.col("__t").min())
    )
    probes = nw2.concat(
        [
            days.filter((s // step) % 2 == 0).select(
                nw2.col(customer_col),
                s,
                nw2.lit(b).cast(nw2.Int64).alias("__b"),
                (s // step + 1).alias("__p"),
            )
            for b, step in levels
        ]
    )
    following = (
        probes.join(smallest, on=[customer_col, "__b", "__p"], how="inner")
        .group_by(customer_col, "__s")
        .agg(nw2.col("__t").min())
    )
    gap = nw2.col("__t") - s
    return (
        following.select(nw2.col(customer_col), (gap * gap).cast(nw2.Int64).alias("__s2"))
        .group_by(customer_col)
        .agg(nw2.len().alias("__k"), nw2.col("__s2").sum())
        .with_columns(nw2.col("__k").cast(nw2.Int64))
    )


def _contract_values(contracts: pd.Index, dtype: Any) -> list[Any]:
    """The contract ids that can equal a value of an engine column of `dtype`.

    As in memory (where ``Index.isin`` compares values), an id of another type matches no
    customer: text ids for a text column, integral numbers for an integer column, numbers
    for a float column.
    """
    values = [v for v in contracts.tolist() if v is not None]
    numbers = [
        v for v in values if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
    ]
    if dtype == nw2.String:
        return [v for v in values if isinstance(v, str)]
    if dtype.is_integer():
        return [int(v) for v in numbers if float(v).is_integer()]
    if dtype.is_float():
        return [float(v) for v in numbers]
    return values


def _relationship_lazy(
    rows: Any,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    contracts: pd.Index,
    cv_threshold: float,
    min_purchase_days: int,
    size_threshold: float | None,
    who: str,
) -> Any:
    """relationship_type on the caller's engine: narwhals group-bys, joins and casts only.

    Per-customer pieces (orders and amount totals; distinct days with the first and last
    one; gaps and their squares from :func:`_next_day_squares`) are stacked and summed in
    one group-by rather than joined. The CV is the same exact-integer formula as in memory
    (:func:`_gap_cv`); the size threshold (default: the median of the mean order values)
    comes from a one-row aggregate joined on as a cross join.
    """
    if engine_name(rows) == "dask":
        raise ValidationError(
            f"{who}: a Dask frame cannot be classified on its engine: the gaps between "
            "purchase days need a group-by followed by a join, which Dask breaks (KeyError "
            "'... not in index' on frames of many partitions), and Dask's median is "
            "approximate. Hint: compute the frame (ddf.compute()) and pass the pandas frame, "
            "or use Polars, DuckDB or Spark.",
            rule="option must be available on the input's engine",
        )
    cid = nw2.col(customer_col)
    amount = nw2.col(amount_col).cast(nw2.Float64)
    day = (period_expr(date_col, "D") + _DAY_SHIFT).cast(nw2.Int64).alias("__s")
    days = rows.select(cid, day).unique()
    parts = {
        "orders": (0, nw2.Int64),
        "__total": (0.0, nw2.Float64),
        "purchase_days": (0, nw2.Int64),
        # shifted day numbers are in [0, 2**22): these fillers never win a min / max
        "__first": (2**62, nw2.Int64),
        "__last": (-1, nw2.Int64),
        "__k": (0, nw2.Int64),
        "__s2": (0, nw2.Int64),
    }

    # Dask takes only elementary aggregations: columns are prepared before each group-by
    per_order = (
        rows.select(cid, (amount / _LAZY_SCALE).alias("__total"))
        .group_by(customer_col)
        .agg(nw2.len().alias("orders"), nw2.col("__total").sum())
        .with_columns(nw2.col("orders").cast(nw2.Int64))
    )
    per_day = (
        days.with_columns(nw2.col("__s").alias("__first"), nw2.col("__s").alias("__last"))
        .group_by(customer_col)
        .agg(
            nw2.len().alias("purchase_days"),
            nw2.col("__first").min(),
            nw2.col("__last").max(),
        )
        .with_columns(nw2.col("purchase_days").cast(nw2.Int64))
    )
    gaps = _next_day_squares(days, customer_col)
    table = (
        nw2.concat(
            [
                stacked(per_order, customer_col, parts, ["orders", "__total"]),
                stacked(per_day, customer_col, parts, ["purchase_days", "__first", "__last"]),
                stacked(gaps, customer_col, parts, ["__k", "__s2"]),
            ]
        )
        .group_by(customer_col)
        .agg(
            nw2.col("orders", "__total", "purchase_days", "__k", "__s2").sum(),
            nw2.col("__first").min(),
            nw2.col("__last").max(),
        )
    )
    k, span = nw2.col("__k"), nw2.col("__last") - nw2.col("__first")
    numerator = (k * nw2.col("__s2") - span * span).cast(nw2.Float64)
    cv = nw2.when(k >= 2).then(numerator.sqrt() / span.cast(nw2.Float64))  # else null
    mean_order = nw2.col("__total") / nw2.col("orders").cast(nw2.Float64) * _LAZY_SCALE
    table = table.select(
        cid,
        nw2.col("orders").cast(nw2.Int64),
        nw2.col("purchase_days").cast(nw2.Int64),
        mean_order.cast(nw2.Float64).alias("mean_order_value"),
        cv.alias("gap_cv"),
    )
    if size_threshold is None:
        # from the order totals alone: the median does not wait for (or recompute) the gaps
        median = per_order.select(
            (nw2.col("__total") / nw2.col("orders").cast(nw2.Float64) * _LAZY_SCALE)
            .median()
            .alias("__threshold")
        )
        table = table.join(median, how="cross")
        threshold = nw2.col("__threshold")
    else:
        threshold = nw2.lit(size_threshold).cast(nw2.Float64)
    ids = _contract_values(contracts, rows.collect_schema()[customer_col])
    contract = cid.is_in(ids) if ids else nw2.lit(False)
    regular = (nw2.col("purchase_days") >= min_purchase_days) & (
        nw2.col("gap_cv") <= cv_threshold
    ).fill_null(False)
    table = table.with_columns(
        regular.cast(nw2.Boolean).alias("regular"),
        (nw2.col("mean_order_value") >= threshold).cast(nw2.Boolean).alias("large"),
        contract.cast(nw2.Boolean).alias("contract"),
    )
    points = (
        nw2.col("regular").cast(nw2.Int64)
        + nw2.col("large").cast(nw2.Int64)
        + nw2.col("contract").cast(nw2.Int64)
    )
    label = (
        nw2.when(points >= 2)
        .then(nw2.lit(_RELATIONSHIP_LABELS[2]))
        .when(points == 1)
        .then(nw2.lit(_RELATIONSHIP_LABELS[1]))
        .otherwise(nw2.lit(_RELATIONSHIP_LABELS[0]))
    )
    return table.select(
        cid,
        "orders",
        "purchase_days",
        "mean_order_value",
        "gap_cv",
        "regular",
        "large",
        "contract",
        label.alias("relationship_type"),
    ).to_native()
