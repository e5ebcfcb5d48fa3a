"""Calendar period numbers of the value package (cohort tables and the migration chain).

Shared by :mod:`crmcore.value.retention` (``cohort_table``) and
:mod:`crmcore.value.economics` (``purchase_history``) so that neither imports a private
helper of the other. Issue 11 scope 3 replaces it with the package-wide period clock.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["period_index", "period_start"]


def period_index(dates: pd.Series, period: str) -> npt.NDArray[np.int64]:
    """Integer period numbers of `dates`; ``period`` is "D", "W", "M", "Q" or "Y".

    Days and Monday-start weeks count from 1970-01-01; months, quarters and years count
    from year 0.

    Examples
    --------
    >>> period_index(pd.Series(pd.to_datetime(["1970-01-05", "1997-03-31"])), "M").tolist()
    [23640, 23966]
    """
    values = pd.DatetimeIndex(dates)
    year: npt.NDArray[np.int64] = np.asarray(values.year, dtype=np.int64)
    month: npt.NDArray[np.int64] = np.asarray(values.month, dtype=np.int64)
    out: npt.NDArray[np.int64]
    if period == "M":
        out = year * 12 + month - 1
    elif period == "Q":
        out = year * 4 + (month - 1) // 3
    elif period == "Y":
        out = year
    else:
        delta = pd.TimedeltaIndex(values.normalize() - pd.Timestamp("1970-01-01"))
        days: npt.NDArray[np.int64] = np.asarray(delta.days, dtype=np.int64)
        # Monday-start weeks (1970-01-01 was a Thursday)
        out = days if period == "D" else (days + 3) // 7
    return out


def period_start(index: npt.NDArray[np.int64], period: str) -> pd.DatetimeIndex:
    """First day of each period number of :func:`period_index` (the inverse on period starts).

    Examples
    --------
    >>> period_start(np.array([0, 1]), "W").strftime("%Y-%m-%d").tolist()
    ['1969-12-29', '1970-01-05']
    """
    out: pd.DatetimeIndex
    if period == "M":
        out = pd.DatetimeIndex(
            [pd.Timestamp(year=int(i // 12), month=int(i % 12) + 1, day=1) for i in index]
        )
    elif period == "Q":
        out = pd.DatetimeIndex(
            [pd.Timestamp(year=int(i // 4), month=int(i % 4) * 3 + 1, day=1) for i in index]
        )
    elif period == "Y":
        out = pd.DatetimeIndex([pd.Timestamp(year=int(i), month=1, day=1) for i in index])
    else:
        days = index if period == "D" else index * 7 - 3
        out = pd.DatetimeIndex(pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D"))
    return out
