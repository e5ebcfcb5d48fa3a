"""BG/NBD fit and scoring and btyd_summary against lifetimes 0.11.3.

Cases
-----
* BG/NBD fit on simulated customers with continuous recency and age (no row compression
  possible): crmcore ``BetaGeoModel`` vs lifetimes ``BetaGeoFitter``; the note gives the
  largest relative parameter difference (same optimum).
* Scoring: expected purchases in the next 52 periods plus P(alive) for every customer.
* ``btyd_summary`` on a transaction log vs ``summary_data_from_transaction_data`` (daily
  periods, with amounts); the note says whether the frames are equal.

Peak memory is measured with tracemalloc in a separate, untimed run.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from _timing import best, peak_mb, row

from crmcore.value import BetaGeoModel, btyd_summary, simulate_bgnbd

TRUTH = np.array([0.243, 4.414, 0.793, 2.426])


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = rng.uniform(10.0, 78.0, n)  # weeks, continuous
    sim = simulate_bgnbd(*TRUTH, T=T, random_state=rng)
    x, t_x = sim["frequency"].to_numpy(float), sim["recency"].to_numpy(float)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def _transactions(n_tx: int, n_customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n_tx)
    start = np.datetime64("2020-01-01")
    days = rng.integers(0, 730, n_tx).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "customer_id": customer,
            "date": (start + days).astype("datetime64[us]"),
            "amount": np.round(rng.gamma(2.0, 20.0, n_tx), 2),
        }
    )


def run(quick: bool = False) -> list[dict[str, object]]:
    """Run the benchmark cases; ``quick`` uses small sizes (< 60 s)."""
    warnings.filterwarnings("ignore")
    try:
        import lifetimes
        from lifetimes.utils import summary_data_from_transaction_data
    except ImportError:  # pragma: no cover
        lifetimes = None
    rows: list[dict[str, object]] = []
    repeat = 2 if quick else 3

    # --- BG/NBD fit
    n = 50_000 if quick else 1_000_000
    data = _customers(n)
    ours = best(lambda: BetaGeoModel().fit(data), repeat)
    model = BetaGeoModel().fit(data)
    peak = peak_mb(lambda: BetaGeoModel().fit(data))
    theirs: float | None = None
    note = "continuous recency and T (weeks), no compression"
    if lifetimes is not None:
        x, t_x, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
        fitter = lifetimes.BetaGeoFitter()
        start = time.perf_counter()
        fitter.fit(x, t_x, T)
        theirs = time.perf_counter() - start
        ref = fitter.params_[["r", "alpha", "a", "b"]].to_numpy()
        diff = float(np.max(np.abs(model.params_.to_numpy() / ref - 1)))
        note += f"; max rel. param difference {diff:.1e}"
    rows.append(row(f"BG/NBD fit, {n:,} customers", ours, "lifetimes", theirs, peak, note))

    # --- scoring: on a summary in whole days (what btyd_summary produces) and on continuous
    # times (where every (x, T) pair is distinct and the hypergeometric terms cannot be shared)
    days = data.assign(recency=np.round(data["recency"] * 7) / 7, T=np.round(data["T"] * 7) / 7)
    ref_model = model.to_lifetimes() if lifetimes is not None else None
    for label, frame in (("whole days", days), ("continuous times", data)):

        def score(frame: pd.DataFrame = frame) -> None:
            model.expected_purchases(frame, 52.0)
            model.probability_alive(frame)

        ours = best(score, repeat)
        peak = peak_mb(score)
        theirs = None
        note = f"expected purchases (t=52) + P(alive), {label}"
        if lifetimes is not None:
            x, t_x, T = (frame[c].to_numpy() for c in ("frequency", "recency", "T"))

            def score_ref(x: Any = x, t_x: Any = t_x, T: Any = T) -> None:
                ref_model.conditional_expected_number_of_purchases_up_to_time(52.0, x, t_x, T)
                ref_model.conditional_probability_alive(x, t_x, T)

            theirs = best(score_ref, repeat)
            same = np.allclose(
                model.expected_purchases(frame, 52.0).to_numpy(),
                ref_model.conditional_expected_number_of_purchases_up_to_time(52.0, x, t_x, T),
                rtol=1e-6,
            )
            note += "; equal to lifetimes" if same else "; DIFFERS from lifetimes"
        rows.append(row(f"BG/NBD scoring, {n:,} customers", ours, "lifetimes", theirs, peak, note))

    # --- btyd_summary
    n_tx = 200_000 if quick else 10_000_000
    n_cust = n_tx // 10
    tx = _transactions(n_tx, n_cust)
    end = "2021-12-31"

    def summarise() -> pd.DataFrame:
        return btyd_summary(tx, amount_col="amount", as_of=end)

    ours = best(summarise, 1 if not quick else 2)
    peak = peak_mb(summarise)
    theirs = None
    note = "daily periods, with amounts, pandas input"
    if lifetimes is not None:
        start = time.perf_counter()
        ref_frame = summary_data_from_transaction_data(
            tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=end
        )
        theirs = time.perf_counter() - start
        got = summarise()
        same = got.index.equals(ref_frame.index) and np.allclose(
            got.to_numpy(), ref_frame[got.columns].to_numpy(), rtol=1e-12
        )
        note += "; equal to lifetimes" if same else "; DIFFERS from lifetimes"
    rows.append(row(f"btyd_summary, {n_tx:,} transactions", ours, "lifetimes", theirs, peak, note))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
