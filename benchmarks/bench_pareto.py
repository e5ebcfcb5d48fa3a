"""Pareto/NBD and BG/BB fits against lifetimes 0.11.3, plus simulator throughput.

Cases
-----
* Pareto/NBD fit on the CDNOW sample (2,357 customers, weeks): crmcore (L-BFGS-B, standard
  errors included) vs lifetimes ``ParetoNBDFitter`` (Nelder-Mead, no standard errors).
* Pareto/NBD fit on 50,000 simulated customers (continuous recency, so little compression).
* Pareto/NBD expected purchases + P(alive) on many customers vs lifetimes.
* BG/BB fit on the donations data vs lifetimes ``BetaGeoBetaBinomFitter``.
* Simulator throughput (customers per second) of the four simulators; lifetimes'
  generators loop over customers in Python, timed on a small size and scaled.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import best, peak_mb, row

from crmcore.datasets import load_cdnow_summary, load_donations
from crmcore.value import (
    BetaGeoBetaBinomModel,
    ParetoNBDModel,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_mbgnbd,
    simulate_pareto_nbd,
)

PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def run(quick: bool = False) -> list[dict[str, object]]:
    """Run the benchmark cases; ``quick`` uses small sizes (< 60 s)."""
    warnings.filterwarnings("ignore")
    try:
        import lifetimes
    except ImportError:  # pragma: no cover
        lifetimes = None
    rows: list[dict[str, object]] = []
    repeat = 2 if quick else 3

    # --- Pareto/NBD fit on CDNOW
    cdnow = load_cdnow_summary()
    model = ParetoNBDModel()
    ours = best(lambda: model.fit(cdnow), repeat)
    peak = peak_mb(lambda: ParetoNBDModel().fit(cdnow))
    theirs = None
    note = (
        f"LL {model.log_likelihood_:.2f}; std errors {model.summary()['std_err'].round(3).tolist()}"
    )
    if lifetimes is not None:
        fitter = lifetimes.ParetoNBDFitter()
        theirs = best(lambda: fitter.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"]), repeat)
        note += (
            f"; max rel param diff {np.max(np.abs(model.params_.to_numpy() / fitter.params_.to_numpy() - 1)):.1e}"
            "; lifetimes gives no standard errors"
        )
    rows.append(row("Pareto/NBD fit, CDNOW 2,357", ours, "lifetimes", theirs, peak, note))

    # --- Pareto/NBD fit on simulated customers
    n_sim = 20_000 if quick else 50_000
    ages = np.random.default_rng(0).uniform(26.0, 52.0, n_sim)
    sim = simulate_pareto_nbd(**PNBD, T=ages, random_state=1)
    ours = best(lambda: ParetoNBDModel().fit(sim), 1)
    theirs = None
    peer = "lifetimes"
    if lifetimes is not None and not quick:
        fitter = lifetimes.ParetoNBDFitter()
        theirs = best(lambda: fitter.fit(sim["frequency"], sim["recency"], sim["T"]), 1)
    elif quick:
        peer = "-"
    rows.append(
        row(
            f"Pareto/NBD fit, {n_sim:,} simulated (continuous T)",
            ours,
            peer,
            theirs,
            None,
            "no compression possible; finite-difference gradient",
        )
    )

    # --- predictions
    n_pred = 100_000 if quick else 1_000_000
    big = simulate_pareto_nbd(**PNBD, T=39.0, n_customers=n_pred, random_state=2)
    scorer = ParetoNBDModel.from_params(**PNBD)

    def ours_predict() -> None:
        scorer.expected_purchases(big, 52.0)
        scorer.probability_alive(big)

    ours = best(ours_predict, repeat)
    peak = peak_mb(ours_predict)
    theirs = None
    note = "crmcore includes input validation and a pandas Series result"
    if lifetimes is not None:
        ref = scorer.to_lifetimes()
        x, t_x, T = (big[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        diff = np.max(
            np.abs(
                scorer.probability_alive(big).to_numpy()
                - ref.conditional_probability_alive(x, t_x, T)
            )
        )
        note += f"; max abs P(alive) diff vs lifetimes {diff:.1e}"

        def theirs_predict() -> None:
            ref.conditional_expected_number_of_purchases_up_to_time(52.0, x, t_x, T)
            ref.conditional_probability_alive(x, t_x, T)

        theirs = best(theirs_predict, repeat)
    rows.append(
        row(
            f"Pareto/NBD expected purchases + P(alive), {n_pred:,}",
            ours,
            "lifetimes",
            theirs,
            peak,
            note,
        )
    )

    # --- BG/BB on donations
    donations = load_donations()
    ours = best(
        lambda: BetaGeoBetaBinomModel().fit(donations, T_col="periods", weights_col="weights"),
        repeat,
    )
    theirs = None
    if lifetimes is not None:
        bb = lifetimes.BetaGeoBetaBinomFitter()
        theirs = best(
            lambda: bb.fit(
                donations["frequency"],
                donations["recency"],
                donations["periods"],
                weights=donations["weights"],
            ),
            repeat,
        )
    rows.append(row("BG/BB fit, donations 11,104", ours, "lifetimes", theirs, None, "22 rows"))

    # --- simulators
    n_cust = 100_000 if quick else 1_000_000
    sims: list[tuple[str, Callable[[], Any], str | None]] = [
        (
            "BG/NBD",
            lambda: simulate_bgnbd(**BG, T=39.0, n_customers=n_cust, random_state=0),
            "beta_geometric_nbd_model",
        ),
        (
            "MBG/NBD",
            lambda: simulate_mbgnbd(**BG, T=39.0, n_customers=n_cust, random_state=0),
            "modified_beta_geometric_nbd_model",
        ),
        (
            "Pareto/NBD",
            lambda: simulate_pareto_nbd(**PNBD, T=39.0, n_customers=n_cust, random_state=0),
            "pareto_nbd_model",
        ),
        (
            "BG/BB",
            lambda: simulate_bgbb(**BGBB, T=6, n_customers=n_cust, random_state=0),
            "beta_geometric_beta_binom_model",
        ),
    ]
    for name, fn, peer_fn in sims:
        ours = best(fn, repeat)
        theirs = None
        note = f"{n_cust / ours:,.0f} customers/s"
        if lifetimes is not None and peer_fn is not None:
            from lifetimes import generate_data

            gen = getattr(generate_data, peer_fn)
            small = 2_000
            try:
                if name == "BG/BB":
                    t_small = best(
                        lambda gen=gen, small=small: gen(np.full(small, 6), *BGBB.values()), 1
                    )
                elif name == "Pareto/NBD":
                    t_small = best(
                        lambda gen=gen, small=small: gen(39.0, *PNBD.values(), size=small), 1
                    )
                else:
                    t_small = best(
                        lambda gen=gen, small=small: gen(39.0, *BG.values(), size=small), 1
                    )
                theirs = t_small * n_cust / small
                note += f"; lifetimes timed on {small:,} customers and scaled linearly"
            except Exception as exc:  # lifetimes' generators break on current pandas
                note += f"; lifetimes generator failed: {type(exc).__name__}"
        rows.append(
            row(f"simulate {name}, {n_cust:,} customers", ours, "lifetimes", theirs, None, note)
        )
    return rows


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick=True):
        print(row)
