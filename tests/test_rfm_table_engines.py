"""rfm_table's array kernels (crmcore._aggregate) equal its narwhals group-by path."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.exceptions import CRMWarning
from crmcore.segmentation import _rfm as rfm_module
from crmcore.segmentation import rfm_table

AS_OF = "2024-02-15"


@st.composite
def order_logs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 50))
    text = draw(st.booleans())
    ids = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
    seconds = draw(st.lists(st.integers(-86_400 * 3, 86_400 * 90), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-5_000, 100_000), min_size=n, max_size=n))
    status = draw(
        st.lists(st.sampled_from(["confirmed", "fulfilled", "cancelled"]), min_size=n, max_size=n)
    )
    frame: pd.DataFrame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in ids] if text else ids,
            "date": draw(st.sampled_from(_STARTS)) + pd.to_timedelta(seconds, unit="s"),
            "amount": np.asarray(cents, dtype=np.float64) / 100.0,
            "status": status,
        }
    )
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    return frame.astype({"date": f"datetime64[{unit}]"})


# a 2024 start with rows after as_of, and starts before 1970 and before 1900
_STARTS = [pd.Timestamp("2024-01-01"), pd.Timestamp("1969-12-30"), pd.Timestamp("1899-02-27")]


def _both_paths(data: object, monkeypatch: pytest.MonkeyPatch, **kw: object) -> tuple:  # type: ignore[type-arg]
    out = []
    for array_engine in (True, False):
        monkeypatch.setattr(rfm_module, "_ARRAY_ENGINE", array_engine)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CRMWarning)
            try:
                result: object = rfm_table(data, **kw)
            except Exception as exc:
                result = (type(exc), str(exc))
        out.append((result, [str(w.message) for w in caught]))
    return tuple(out)


@settings(max_examples=60, deadline=None)
@given(
    order_logs(),
    st.sampled_from(["orders", "days"]),
    st.sampled_from(["total", "mean"]),
    st.booleans(),
)
def test_array_kernels_equal_the_group_by_path_on_every_backend(
    frame: pd.DataFrame, frequency: str, monetary: str, truncate: bool
) -> None:
    # the group-by path in both of its day-key forms (dt.truncate, period-clock numbers)
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    inputs = [frame, pa.Table.from_pandas(frame, preserve_index=False)]
    if frame["date"].dtype != "datetime64[s]":  # Polars has no second-resolution Datetime
        inputs.append(pl.from_pandas(frame))
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(rfm_module, "_HAS_TRUNCATE", truncate and rfm_module._HAS_TRUNCATE)
        for data in inputs:
            (ours, our_warnings), (theirs, their_warnings) = _both_paths(
                data, monkeypatch, as_of=AS_OF, frequency=frequency, monetary=monetary
            )
            assert our_warnings == their_warnings
            if isinstance(theirs, tuple):
                assert ours == theirs
                continue
            assert isinstance(ours, pd.DataFrame)
            # bincount sums in row order, group-bys compensate: last-bit differences only
            pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-12)
            assert ours.attrs == theirs.attrs


@pytest.mark.parametrize("frequency", ["orders", "days"])
def test_array_kernels_equal_the_group_by_path_with_customers_and_huge_amounts(
    frequency: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a's total (2e308) overflows float64: summed scaled by a power of two; the mean per
    # order fits, the mean per purchase day (one day) does not and is refused alike
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-01 00:00", "2024-01-01 12:00", "2023-12-31 00:00", "2024-03-01 00:00"]
            ),
            "amount": [1e308, 1e308, 2.0, 3.0],
        }
    )
    kw = {"as_of": AS_OF, "frequency": frequency, "monetary": "mean"}
    (ours, w1), (theirs, w2) = _both_paths(frame, monkeypatch, customers=["a", "b", "c", "z"], **kw)
    assert w1 == w2
    if frequency == "days":
        assert isinstance(ours, tuple) and ours == theirs
        assert "exceeds the float64 range" in ours[1]
        return
    assert isinstance(ours, pd.DataFrame)
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours.loc["a", "monetary"] == 1e308
    assert ours.index.tolist() == ["a", "b", "c", "z"]  # c only after as_of
