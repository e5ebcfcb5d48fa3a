"""crmcore.scale: fitted models applied where the data lives (Spark, Dask, DuckDB, Polars).

:func:`score` maps the vectorised prediction code of a fitted model over the partitions of
the caller's frame and returns a frame of the same engine (lazy in, lazy out). Fitting
needs nothing from here: every BTYD model's ``fit`` accepts a lazy summary frame itself
(the identical rows are counted on the engine and only that table is collected).

Importing this package imports no engine: an engine's module is used only when the
caller's frame comes from it.

Examples
--------
>>> import crmcore.scale as scale
>>> callable(scale.score)
True
"""

from __future__ import annotations

from crmcore.scale._score import score

__all__: list[str] = ["score"]
