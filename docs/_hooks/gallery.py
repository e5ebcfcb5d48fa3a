"""The plots gallery: every public plot function drawn on the shipped data at build time.

Each function of ``crmcore.plotting.__all__`` has a *recipe* here: a short function on the
public API whose body is both run (to draw the picture) and shown on the gallery page (the
code that made it). Recipes share a few *set-ups* (CDNOW loaded and BG/NBD fitted once, a
simulated pipeline, simulated support tickets, the sBG example cohort); a set-up's body is
shown once at the top of the page, so a reader can paste the set-up and then any recipe of
it.

At build time (``on_files``) every recipe is drawn with matplotlib's Agg backend at a fixed
size and resolution and added to the site as ``gallery/<function>.png``; the pictures are
build outputs, never committed. The build fails when a public plot function has no recipe
(a new plot cannot be forgotten) or when a recipe raises. Guides link the same files
(``![...](gallery/plot_x.png)``).

The page ``gallery.md`` holds the introduction and the marker ``<!-- gallery -->``, which
``on_page_markdown`` replaces with the set-ups and the pictures.
"""

from __future__ import annotations

import ast
import inspect
import io
import logging
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AREAS",
    "MARKER",
    "RECIPES",
    "SETUPS",
    "missing_recipes",
    "on_files",
    "on_page_markdown",
    "recipe_code",
    "render_gallery",
    "setup_code",
]

log = logging.getLogger("mkdocs.plugins.crmcore_gallery")

#: The line of gallery.md replaced by the generated gallery.
MARKER = "<!-- gallery -->"
#: Figure size (inches) and resolution of every picture.
FIGSIZE = (8.0, 4.5)
DPI = 100


# --- set-ups: shared data, each body shown once on the page ---------------------------------


def setup_cdnow() -> dict[str, Any]:
    import pandas as pd

    import crmcore.segmentation as seg
    from crmcore.datasets import load_cdnow_master
    from crmcore.value import BetaGeoModel, btyd_summary

    # CDNOW: every purchase of the 23,570 customers acquired in early 1997
    transactions = load_cdnow_master()
    as_of = "1998-06-30"

    # RFM: one row per customer, scores 1-5, the 10-segment R x F grid
    table = seg.rfm_table(transactions, as_of=as_of)
    scores = seg.rfm_scores(table, bins=5, ties="rank")
    segments = seg.assign_segments(scores, "rf-grid")
    revenue = table["monetary"]

    # BG/NBD on weekly repeat purchases, calibrated on the first 39 weeks
    summary = btyd_summary(
        transactions,
        as_of=as_of,
        calibration_end="1997-09-30",
        time_unit="W",
    )
    bgnbd = BetaGeoModel().fit(summary)
    # weeks since Monday 1996-12-30 (for the tracking plot)
    weeks = (transactions["date"] - pd.Timestamp("1996-12-30")).dt.days / 7
    return locals()


def setup_retention() -> dict[str, Any]:
    from crmcore.value import ShiftedBetaGeoModel

    # Fader & Hardie (2007): a cohort of 1,000 "high end" customers over 12 years
    high_end = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
    sbg = ShiftedBetaGeoModel().fit(high_end[:8])  # fitted on years 0-7
    return locals()


def setup_pipeline() -> dict[str, Any]:
    import pandas as pd

    from crmcore.datasets import simulate_pipeline
    from crmcore.pipeline import (
        PipelineMarkovModel,
        backtest,
        forecast_revenue,
        salesforce_pipeline,
        snapshot,
    )

    # a simulated Salesforce-like stage history and its weekly Markov chain
    pipeline = salesforce_pipeline()
    history = simulate_pipeline(5_000, random_state=7)
    open_mid_2025 = snapshot(history, "2025-06-30", pipeline=pipeline)
    model = PipelineMarkovModel(step="W").fit(history, pipeline, as_of="2025-06-30")
    by_chain = forecast_revenue(
        open_mid_2025,
        period_start="2025-07-01",
        period_end="2025-09-30",
        model=model,
        as_of="2025-06-30",
        target=5_000_000,
    )
    quarters = pd.date_range("2025-01-01", periods=4, freq="QS")
    backtest_table = backtest(history, quarters, pipeline=pipeline, model="markov")
    return locals()


def setup_service() -> dict[str, Any]:
    import pandas as pd

    from crmcore.datasets import load_cdnow_master, simulate_tickets
    from crmcore.service import BusinessCalendar, SlaPolicy, sla_status

    # support tickets of the CDNOW customers (about one each), a 9-17 desk
    as_of = pd.Timestamp("1998-06-30 18:00", tz="America/New_York")
    tickets, events = simulate_tickets(
        load_cdnow_master()["customer_id"].unique(),
        start=pd.Timestamp("1997-01-01", tz="America/New_York"),
        end=as_of,
        tickets_per_customer=1.0,
        tz="America/New_York",
        random_state=7,
    )
    desk = BusinessCalendar(
        hours={day: [("09:00", "17:00")] for day in range(5)}, tz="America/New_York"
    )
    policy = SlaPolicy(
        {
            "urgent": {"first_response": "1h", "resolution": "8h"},
            "high": {
                "first_response": "4h",
                "next_response": "8h",
                "resolution": "16h",
            },
            "normal": {
                "first_response": "8h",
                "next_response": "16h",
                "resolution": "24h",
            },
            "low": {"first_response": "16h", "resolution": "40h"},
        },
        calendar=desk,
    )
    sla = sla_status(tickets, events, policy, as_of=as_of)
    return locals()


#: Set-ups in page order: name -> (title, function).
SETUPS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "cdnow": ("CDNOW orders: RFM table, segments, BG/NBD", setup_cdnow),
    "retention": ("A contractual cohort: the sBG model", setup_retention),
    "pipeline": ("A simulated sales pipeline", setup_pipeline),
    "service": ("Simulated support tickets of the CDNOW customers", setup_service),
}


# --- recipes: one per public plot function ---------------------------------------------------

#: Page sections in order: area -> (heading, the guides that explain it as (title, page)).
AREAS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "segmentation": ("Segmentation (RFM)", (("RFM segmentation", "segmentation.md"),)),
    "tiers": ("Tiers and concentration", (("Tiers and concentration", "tiers.md"),)),
    "clv": (
        "Customer lifetime value",
        (("Customer lifetime value", "clv.md"), ("More BTYD models", "clv-models.md")),
    ),
    "retention": (
        "Retention",
        (
            ("Contractual retention", "retention.md"),
            ("Retention economics", "retention-economics.md"),
        ),
    ),
    "pipeline": ("Sales pipeline", (("Sales pipeline", "pipeline.md"),)),
    "service": ("Customer service", (("Customer service", "service.md"),)),
}


@dataclass(frozen=True)
class Recipe:
    """How the gallery draws one plot function."""

    name: str
    area: str
    setup: str  # a key of SETUPS, or "" for a recipe that needs none
    draw: Callable[..., Any]


RECIPES: dict[str, Recipe] = {}


def recipe(
    name: str, *, area: str, setup: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the recipe of plot function `name`."""

    def register(draw: Callable[..., Any]) -> Callable[..., Any]:
        RECIPES[name] = Recipe(name=name, area=area, setup=setup, draw=draw)
        return draw

    return register


@recipe("plot_segment_sizes", area="segmentation", setup="cdnow")
def _segment_sizes(table: Any, segments: Any) -> Any:
    import crmcore.segmentation as seg
    from crmcore.plotting import plot_segment_sizes

    return plot_segment_sizes(seg.segment_summary(table, segments), metric="customers")


@recipe("plot_rfm_heatmap", area="segmentation", setup="cdnow")
def _rfm_heatmap(scores: Any, table: Any) -> Any:
    from crmcore.plotting import plot_rfm_heatmap

    return plot_rfm_heatmap(scores, values=table["monetary"])  # mean spend per R x F cell


@recipe("plot_rfm_histograms", area="segmentation", setup="cdnow")
def _rfm_histograms(table: Any) -> Any:
    from crmcore.plotting import plot_rfm_histograms

    return plot_rfm_histograms(table)


@recipe("plot_rfm_scatter", area="segmentation", setup="cdnow")
def _rfm_scatter(table: Any, segments: Any) -> Any:
    from crmcore.plotting import plot_rfm_scatter

    return plot_rfm_scatter(table, x="frequency", y="monetary", segments=segments)


@recipe("plot_segment_medians", area="segmentation", setup="cdnow")
def _segment_medians(table: Any, segments: Any) -> Any:
    from crmcore.plotting import plot_segment_medians

    return plot_segment_medians(table, segments, measure="recency")


@recipe("plot_order_distribution", area="segmentation", setup="cdnow")
def _order_distribution(table: Any) -> Any:
    from crmcore.plotting import plot_order_distribution

    return plot_order_distribution(table)


@recipe("plot_lorenz_curve", area="tiers", setup="cdnow")
def _lorenz(revenue: Any) -> Any:
    from crmcore.plotting import plot_lorenz_curve

    return plot_lorenz_curve(revenue)


@recipe("plot_whale_curve", area="tiers", setup="cdnow")
def _whale(transactions: Any) -> Any:
    from crmcore.plotting import plot_whale_curve
    from crmcore.value import customer_profitability

    # 70% cost of goods and 8 USD to serve each order: small buyers lose money
    profit = customer_profitability(transactions, cogs_rate=0.7, cost_per_order=8.0)
    return plot_whale_curve(profit["profit"])


@recipe("plot_migration_heatmap", area="tiers", setup="cdnow")
def _migration(transactions: Any) -> Any:
    import crmcore.segmentation as seg
    from crmcore.plotting import plot_migration_heatmap

    # ABC tiers by revenue in the second half of 1997, then in early 1998
    def revenue(start, end):
        period = transactions[transactions["date"].between(start, end)]
        return period.groupby("customer_id")["amount"].sum()

    before = seg.abc_tiers(revenue("1997-07-01", "1997-12-31"))["tier"]
    after = seg.abc_tiers(revenue("1998-01-01", "1998-06-30"))["tier"]
    return plot_migration_heatmap(seg.migration_matrix(before, after))


@recipe("plot_period_transactions", area="clv", setup="cdnow")
def _period_transactions(bgnbd: Any, summary: Any) -> Any:
    from crmcore.plotting import plot_period_transactions
    from crmcore.value import period_transactions

    return plot_period_transactions(period_transactions(bgnbd, summary))


@recipe("plot_calibration_holdout", area="clv", setup="cdnow")
def _calibration_holdout(bgnbd: Any, summary: Any) -> Any:
    from crmcore.plotting import plot_calibration_holdout
    from crmcore.value import calibration_holdout_table

    return plot_calibration_holdout(calibration_holdout_table(bgnbd, summary))


@recipe("plot_tracking", area="clv", setup="cdnow")
def _tracking(bgnbd: Any, transactions: Any, weeks: Any) -> Any:
    import numpy as np

    from crmcore.plotting import plot_tracking
    from crmcore.value import tracking_table

    # weekly purchase periods, as in the weekly summary
    log = transactions.assign(time=weeks)
    table = tracking_table(bgnbd, log, times=np.arange(1.0, 79.0), period=1.0)
    return plot_tracking(table, cumulative=True, calibration_end=39.0)


@recipe("plot_frequency_recency_matrix", area="clv", setup="cdnow")
def _frequency_recency(bgnbd: Any) -> Any:
    from crmcore.plotting import plot_frequency_recency_matrix

    # expected purchases in the next 52 weeks of a customer observed for 39 weeks
    return plot_frequency_recency_matrix(bgnbd, T=39, t=52, max_frequency=20)


@recipe("plot_probability_alive_matrix", area="clv", setup="cdnow")
def _alive_matrix(bgnbd: Any) -> Any:
    from crmcore.plotting import plot_probability_alive_matrix

    return plot_probability_alive_matrix(bgnbd, T=39, max_frequency=20)


@recipe("plot_probability_alive_path", area="clv", setup="cdnow")
def _alive_path(bgnbd: Any, transactions: Any) -> Any:
    from crmcore.plotting import plot_probability_alive_path
    from crmcore.value import probability_alive_path

    path = probability_alive_path(
        bgnbd, transactions, customer_id="00011", as_of="1998-06-30", time_unit="W"
    )
    return plot_probability_alive_path(path, transactions=transactions)


@recipe("plot_cohort_heatmap", area="retention", setup="cdnow")
def _cohort_heatmap(transactions: Any) -> Any:
    from crmcore.plotting import plot_cohort_heatmap
    from crmcore.value import cohort_table

    # share of each monthly cohort buying again at each age (months); observed to mid-June
    # 1998, so the June cells (hatched) cover half a month
    before = transactions[transactions["date"] <= "1998-06-15"]
    table = cohort_table(before, as_of="1998-06-15", relative=True)
    return plot_cohort_heatmap(table, fmt=".0%")


@recipe("plot_retention_survival", area="retention", setup="retention")
def _retention_survival(sbg: Any, high_end: Any) -> Any:
    from crmcore.plotting import plot_retention_survival

    return plot_retention_survival(sbg, high_end, n_periods=12, calibration_periods=7)


@recipe("plot_retention_sensitivity", area="retention", setup="")
def _retention_sensitivity() -> Any:
    from crmcore.plotting import plot_retention_sensitivity
    from crmcore.value import tenure_profit_profile

    # profit per customer-year growing with tenure (Reichheld)
    profile = tenure_profit_profile(
        20, base_profit=25, growth=4, cost_savings=2, referrals=2, price_premium=1
    )
    return plot_retention_sensitivity(
        profile, discount_rate=0.10, acquisition_cost=60, mark=[0.80, 0.85]
    )


@recipe("plot_funnel", area="pipeline", setup="pipeline")
def _funnel(open_mid_2025: Any, pipeline: Any) -> Any:
    from crmcore.plotting import plot_funnel

    return plot_funnel(open_mid_2025, pipeline=pipeline)


@recipe("plot_forecast_distribution", area="pipeline", setup="pipeline")
def _forecast_distribution(by_chain: Any) -> Any:
    from crmcore.plotting import plot_forecast_distribution

    return plot_forecast_distribution(by_chain, target=5_000_000)


@recipe("plot_backtest_calibration", area="pipeline", setup="pipeline")
def _backtest(backtest_table: Any) -> Any:
    from crmcore.plotting import plot_backtest_calibration

    return plot_backtest_calibration(backtest_table)


@recipe("plot_sla_breaches", area="service", setup="service")
def _sla_breaches(sla: Any) -> Any:
    from crmcore.plotting import plot_sla_breaches
    from crmcore.service import breach_rate

    return plot_sla_breaches(breach_rate(sla, by="priority"))


@recipe("plot_backlog_ageing", area="service", setup="service")
def _backlog(tickets: Any, events: Any, as_of: Any) -> Any:
    from crmcore.plotting import plot_backlog_ageing
    from crmcore.service import backlog_ageing

    return plot_backlog_ageing(backlog_ageing(tickets, events, as_of=as_of))


# --- source of set-ups and recipes: what is shown is what runs ------------------------------


def _body(function: Callable[..., Any]) -> tuple[str, ast.stmt]:
    """The dedented body of `function` without its final ``return``, and that return."""
    source = textwrap.dedent(inspect.getsource(function))
    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef)
    final = definition.body[-1]
    if not isinstance(final, ast.Return) or final.value is None:
        raise ValueError(f"{function.__name__} must end with a return statement")
    lines = source.splitlines()
    first = definition.body[0].lineno - 1
    if definition.body[0].col_offset == 0:  # pragma: no cover - a one-line def
        raise ValueError(f"{function.__name__}: write the body on its own lines")
    body = textwrap.dedent("\n".join(lines[first : final.lineno - 1])).rstrip()
    return body, final


def setup_code(name: str) -> str:
    """The code of a set-up, as shown on the page and run by the gallery."""
    body, _ = _body(SETUPS[name][1])
    return body


def recipe_code(name: str) -> str:
    """The code of a recipe as shown: its body, the final ``return x`` shown as ``x``."""
    body, final = _body(RECIPES[name].draw)
    source = textwrap.dedent(inspect.getsource(RECIPES[name].draw)).splitlines()
    end = final.end_lineno if final.end_lineno is not None else final.lineno
    returned = "\n".join(source[final.lineno - 1 : end])
    returned = textwrap.dedent(returned).replace("return ", "", 1)
    return f"{body}\n{returned}".strip("\n")


def _run(code: str, namespace: dict[str, Any], where: str) -> Any:
    """Run `code` in `namespace`; the value of its last expression statement is returned."""
    tree = ast.parse(code, where)
    result = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, where, "exec"), namespace)
        result = eval(compile(last, where, "eval"), namespace)
    else:
        exec(compile(tree, where, "exec"), namespace)
    return result


def public_plot_functions() -> list[str]:
    """Names in ``crmcore.plotting.__all__``."""
    import crmcore.plotting

    return list(crmcore.plotting.__all__)


def missing_recipes() -> list[str]:
    """Public plot functions without a recipe (the build fails on any)."""
    return [name for name in public_plot_functions() if name not in RECIPES]


@dataclass(frozen=True)
class Picture:
    """One rendered plot."""

    name: str
    png: bytes
    seconds: float


def _figure_of(result: Any) -> Any:
    """The Figure of an Axes or of an array / sequence of Axes."""
    if hasattr(result, "figure"):
        return result.figure
    import numpy as np

    first = np.ravel(np.asarray(result, dtype=object))[0]
    return first.figure


def render_gallery() -> tuple[dict[str, Picture], dict[str, float]]:
    """Draw every public plot function; return the pictures and the set-up times.

    Raises
    ------
    RuntimeError
        If a public plot function has no recipe, or a recipe or set-up fails (the message
        names it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    missing = missing_recipes()
    if missing:
        raise RuntimeError(
            "plots gallery: no recipe for the public plot function(s) "
            f"{', '.join(missing)}; add one to docs/_hooks/gallery.py"
        )
    wanted = [name for name in RECIPES if name in set(public_plot_functions())]
    skipped = sorted(set(RECIPES) - set(wanted))
    if skipped:
        log.info("plots gallery: recipes for functions not in crmcore.plotting: %s", skipped)
    namespaces: dict[str, dict[str, Any]] = {}
    setup_seconds: dict[str, float] = {}
    pictures: dict[str, Picture] = {}
    style = {"figure.figsize": FIGSIZE, "figure.dpi": DPI, "savefig.dpi": DPI}
    with matplotlib.rc_context(style):
        for name in wanted:
            recipe_ = RECIPES[name]
            if recipe_.setup not in namespaces and not recipe_.setup:
                namespaces[""] = {}
            elif recipe_.setup not in namespaces:
                start = time.perf_counter()
                namespace: dict[str, Any] = {}
                try:
                    _run(setup_code(recipe_.setup), namespace, f"<gallery set-up {recipe_.setup}>")
                except Exception as error:
                    raise RuntimeError(
                        f"plots gallery: set-up {recipe_.setup!r} failed: {error!r}"
                    ) from error
                namespaces[recipe_.setup] = namespace
                setup_seconds[recipe_.setup] = time.perf_counter() - start
            start = time.perf_counter()
            scope = dict(namespaces[recipe_.setup])
            try:
                result = _run(recipe_code(name), scope, f"<gallery recipe {name}>")
                figure = _figure_of(result)
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
            except Exception as error:
                raise RuntimeError(f"plots gallery: recipe {name!r} failed: {error!r}") from error
            finally:
                plt.close("all")
            pictures[name] = Picture(name, buffer.getvalue(), time.perf_counter() - start)
    return pictures, setup_seconds


# --- the page --------------------------------------------------------------------------------


def _summary_line(name: str) -> str:
    """First sentence of the function's docstring: what the picture shows."""
    import crmcore.plotting

    doc = inspect.getdoc(getattr(crmcore.plotting, name)) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def gallery_markdown(pictures: dict[str, Picture]) -> str:
    """The generated part of the gallery page: the pictures by area, then the set-ups."""
    parts: list[str] = []
    for area, (heading, guides) in AREAS.items():
        names = [name for name in pictures if RECIPES[name].area == area]
        if not names:
            continue
        links = " and ".join(f"[{title}]({page})" for title, page in guides)
        parts += ["", f"## {heading}", "", f"Explained in {links}."]
        for name in names:
            setup = RECIPES[name].setup
            uses = (
                f"After the set-up [{SETUPS[setup][0]}](#setup-{setup}):"
                if setup
                else "Needs no set-up:"
            )
            parts += [
                "",
                f"### `{name}`",
                "",
                _summary_line(name),
                "",
                f"![{name}](gallery/{name}.png)",
                "",
                uses,
                "",
                "```python",
                recipe_code(name),
                "```",
            ]
    parts += [
        "",
        "## The data behind the pictures",
        "",
        "Each picture above starts from one of these set-ups: run it once, then the "
        "picture's code. All of it runs on the data shipped with crmcore.",
    ]
    used = {RECIPES[name].setup for name in pictures} - {""}
    for key, (title, _) in SETUPS.items():
        if key in used:
            parts += ["", f"### {title} {{#setup-{key}}}", "", "```python", setup_code(key), "```"]
    return "\n".join(parts).lstrip("\n") + "\n"


# --- mkdocs events ---------------------------------------------------------------------------

_rendered: dict[str, Picture] = {}


def on_files(files: Any, *, config: Any) -> Any:
    """mkdocs event: render the gallery and add ``gallery/<name>.png`` to the site's files."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    start = time.perf_counter()
    try:
        pictures, setup_seconds = render_gallery()
    except RuntimeError as error:
        raise PluginError(str(error)) from error
    _rendered.clear()
    _rendered.update(pictures)
    for name, picture in pictures.items():
        files.append(File.generated(config, f"gallery/{name}.png", content=picture.png))
    slowest = sorted(pictures.values(), key=lambda p: p.seconds, reverse=True)[:3]
    log.info(
        "plots gallery: %d pictures in %.1f s (set-ups %s; slowest %s)",
        len(pictures),
        time.perf_counter() - start,
        ", ".join(f"{k} {v:.1f} s" for k, v in setup_seconds.items()),
        ", ".join(f"{p.name} {p.seconds:.1f} s" for p in slowest),
    )
    return files


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: fill the gallery page's marker with the set-ups and pictures."""
    if MARKER not in markdown:
        return markdown
    from mkdocs.exceptions import PluginError

    if not _rendered:
        raise PluginError("plots gallery: no pictures rendered (on_files did not run)")
    return markdown.replace(MARKER, gallery_markdown(_rendered))
