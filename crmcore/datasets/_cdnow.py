"""Loaders for the embedded CDNOW and donation data sets."""

from __future__ import annotations

import gzip
import io
from importlib import resources
from typing import cast

import pandas as pd

__all__ = ["load_cdnow_master", "load_cdnow_sample", "load_cdnow_summary", "load_donations"]


def _read_bytes(name: str) -> bytes:
    data = resources.files("crmcore.datasets").joinpath("data").joinpath(name).read_bytes()
    return gzip.decompress(data)


def load_cdnow_master() -> pd.DataFrame:
    """Load the full CDNOW transaction log: 69,659 transactions of 23,570 customers.

    Returns
    -------
    pandas.DataFrame
        One row per transaction (a customer may have several on one day), with columns
        ``customer_id`` (str, zero-padded as in the source, e.g. ``"00001"``), ``date``
        (datetime64, 1997-01-01 to 1998-06-30), ``quantity`` (int, number of CDs) and
        ``amount`` (float, US dollars).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
    Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> master = load_cdnow_master()
    >>> master.columns.tolist()
    ['customer_id', 'date', 'quantity', 'amount']
    >>> str(master["date"].min().date()), str(master["date"].max().date())
    ('1997-01-01', '1998-06-30')
    """
    raw = _read_bytes("cdnow_master.txt.gz").decode("ascii").splitlines()[1:]
    frame = pd.read_csv(
        io.StringIO("\n".join(raw)),
        sep=r"\s+",
        header=None,
        names=["customer_id", "date", "quantity", "amount"],
        dtype={"customer_id": "str", "date": "str", "quantity": "int64", "amount": "float64"},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["customer_id"] = frame["customer_id"].astype(object)
    return frame


def load_cdnow_sample() -> pd.DataFrame:
    """Load the transactions of the 1/10 CDNOW sample (2,357 customers) used in the papers.

    Returns
    -------
    pandas.DataFrame
        6,919 rows with columns ``customer_id`` (str, the sample's id ``"0001"`` ..
        ``"2357"``), ``master_id`` (str, the id in :func:`load_cdnow_master`), ``date``,
        ``quantity`` and ``amount``.

    Examples
    --------
    >>> sample = load_cdnow_sample()
    >>> len(sample), sample["customer_id"].nunique()
    (6919, 2357)
    """
    frame = pd.read_csv(
        io.BytesIO(_read_bytes("cdnow_sample.txt.gz")),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "quantity", "amount"],
        dtype={
            "master_id": "str",
            "customer_id": "str",
            "date": "str",
            "quantity": "int64",
            "amount": "float64",
        },
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame = frame[["customer_id", "master_id", "date", "quantity", "amount"]]
    return cast(pd.DataFrame, frame.astype({"customer_id": object, "master_id": object}))


def load_cdnow_summary() -> pd.DataFrame:
    """Load the weekly BTYD summary of the 2,357-customer CDNOW sample (39-week calibration).

    This is the data of Fader, Hardie & Lee (2005a, 2005b): for each customer the number of
    repeat purchases in weeks 0 to 39 (``frequency``, x), the time of the last purchase
    (``recency``, t_x, weeks after the first purchase), the time observed (``T``, weeks)
    and the mean value of the repeat purchases (``monetary_value``, US dollars; 0 when
    ``frequency`` is 0).

    Returns
    -------
    pandas.DataFrame
        2,357 rows indexed by ``customer_id`` (int, 1..2357). ``frame.attrs["time_unit"]``
        is ``"W"``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
    for Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.

    Examples
    --------
    >>> summary = load_cdnow_summary()
    >>> summary.shape, int((summary["frequency"] > 0).sum())
    ((2357, 4), 946)
    """
    frame = pd.read_csv(io.BytesIO(_read_bytes("cdnow_summary.csv.gz")))
    frame = frame.rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    ).set_index("customer_id")
    frame = frame.astype(
        {"frequency": "int64", "recency": "float64", "T": "float64", "monetary_value": "float64"}
    )
    frame.attrs["time_unit"] = "W"
    return cast(pd.DataFrame, frame)


def load_donations() -> pd.DataFrame:
    """Load the 11,104 first-time donors of Fader, Hardie & Shang (2010), compressed.

    Each row is a (frequency, recency, periods) pattern over six annual opportunities
    (1996-2001) with ``weights``, the number of donors with that pattern.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-Base Analysis in a
    Discrete-Time Noncontractual Setting. Marketing Science 29(6), 1086-1108.

    Examples
    --------
    >>> donations = load_donations()
    >>> int(donations["weights"].sum()), len(donations)
    (11104, 22)
    """
    return cast(
        pd.DataFrame, pd.read_csv(io.BytesIO(_read_bytes("donations.csv.gz"))).astype("int64")
    )
