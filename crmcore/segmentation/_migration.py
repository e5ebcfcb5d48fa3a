"""Migration of customers between segments or tiers from one date to another."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_param_choice, format_ids
from crmcore.exceptions import ValidationError
from crmcore.segmentation._tiers import _frame

__all__ = ["migration_matrix"]

#: Row label of customers present only in ``after`` (they entered).
NEW = "(new)"
#: Column label of customers present only in ``before`` (they left).
GONE = "(gone)"


def _segments(series: Any, name: str, *, who: str) -> pd.Series:
    if not isinstance(series, pd.Series):
        hint = ""
        if isinstance(series, pd.DataFrame):
            hint = " Hint: pass one column, e.g. tiers['tier']."
        raise ValidationError(
            f"{who}: {name} must be a pandas Series of segment labels indexed by customer id; "
            f"got {type(series).__name__}.{hint}"
        )
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()]
        raise ValidationError(
            f"{who}: {name} has {len(dup):,} repeated customer ids (first: "
            f"{format_ids(dup.unique())}); a customer has one segment at a date."
        )
    missing = series.isna().to_numpy()
    if missing.any():
        raise ValidationError(
            f"{who}: {name} has {int(missing.sum()):,} missing segment labels (first ids: "
            f"{format_ids(series.index[missing])}). Hint: drop those customers (they then count "
            f"as {NEW!r} or {GONE!r}) or label them explicitly."
        )
    reserved = series.isin([NEW, GONE]).to_numpy()
    if reserved.any():
        raise ValidationError(
            f"{who}: {name} uses the reserved labels {NEW!r}/{GONE!r} "
            f"(first ids: {format_ids(series.index[reserved])})."
        )
    return series


def _states(series: pd.Series) -> list[Any]:
    """Segment order: categorical order if categorical (all categories), else sorted labels."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    unique = pd.unique(series.to_numpy())
    try:
        return sorted(unique.tolist())
    except TypeError:
        return sorted(unique.tolist(), key=str)


def migration_matrix(
    before: pd.Series,
    after: pd.Series,
    *,
    normalize: str | None = None,
) -> pd.DataFrame:
    """Cross-table of customers' segments (or tiers) at two dates, with entrants and leavers.

    Parameters
    ----------
    before, after : pandas.Series
        Segment label of each customer at the first and the second date, indexed by
        customer id (e.g. ``abc_tiers(revenue_2023)["tier"]``).
    normalize : {None, "row", "all"}, default None
        None: customer counts. ``"row"``: each row divided by its total (the share of the
        customers of a ``before`` segment that went to each ``after`` segment; NaN for an
        empty row). ``"all"``: divided by the number of customers in either series.

    Returns
    -------
    pandas.DataFrame
        Rows (index name ``before``) are the ``before`` segments plus the row ``"(new)"``
        (customers only in `after`); columns (name ``after``) are the ``after`` segments
        plus the column ``"(gone)"`` (customers only in `before`). The ``("(new)",
        "(gone)")`` cell is always 0. Segments follow the categorical order when a series
        is categorical (every category is shown, even an empty one), else sorted order.
        Counts are int64; shares float64.

    Raises
    ------
    ValidationError
        A non-Series input, repeated ids, missing labels, the reserved labels ``"(new)"``
        / ``"(gone)"`` used as segments, a MultiIndex in one series but not the other, or
        an unknown `normalize`.

    Notes
    -----
    Every customer of either series is counted exactly once, so the counts sum to the
    size of the union of the two indexes. Row shares are the empirical transition
    probabilities of a first-order Markov migration model.

    References
    ----------
    Pfeifer, P. E. and Carraway, R. L. (2000). Modeling Customer Relationships as Markov
    Chains. Journal of Interactive Marketing 14(2), 43-55.

    Examples
    --------
    >>> import pandas as pd
    >>> before = pd.Series(["A", "A", "B", "C"], index=[1, 2, 3, 4])
    >>> after = pd.Series(["A", "B", "B", "A"], index=[1, 2, 3, 5])
    >>> migration_matrix(before, after)
    after   A  B  (gone)
    before
    A       1  1       0
    B       0  1       0
    C       0  0       1
    (new)   1  0       0
    """
    who = "migration_matrix"
    check_param_choice("normalize", normalize, [None, "row", "all"], who=who)
    b = _segments(before, "before", who=who)
    a = _segments(after, "after", who=who)
    rows = [*_states(b), NEW]
    cols = [*_states(a), GONE]
    if isinstance(b.index, pd.MultiIndex) != isinstance(a.index, pd.MultiIndex):
        which = "before" if isinstance(b.index, pd.MultiIndex) else "after"
        raise ValidationError(
            f"{who}: {which} is indexed by a MultiIndex ({b.index.nlevels} and "
            f"{a.index.nlevels} index levels in before and after); both series must be "
            "indexed by the same kind of customer id. Hint: flatten it with "
            "series.index.to_flat_index() or reset the extra levels."
        )
    union = b.index.union(a.index, sort=False)
    b_codes = pd.Categorical(b.reindex(union).astype(object), categories=rows[:-1]).codes
    a_codes = pd.Categorical(a.reindex(union).astype(object), categories=cols[:-1]).codes
    b_codes = np.where(b_codes < 0, len(rows) - 1, b_codes).astype(np.int64)
    a_codes = np.where(a_codes < 0, len(cols) - 1, a_codes).astype(np.int64)
    flat = np.bincount(b_codes * len(cols) + a_codes, minlength=len(rows) * len(cols))
    counts = flat.reshape(len(rows), len(cols)).astype(np.int64)
    index = pd.Index(rows, dtype=object, name="before")
    columns = pd.Index(cols, dtype=object, name="after")
    if normalize is None:
        return _frame(counts, index=index, columns=columns)
    if normalize == "row":
        totals = counts.sum(axis=1, keepdims=True).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = counts / totals
    else:
        shares = counts / max(int(counts.sum()), 1)
    return _frame(shares.astype(np.float64), index=index, columns=columns)
