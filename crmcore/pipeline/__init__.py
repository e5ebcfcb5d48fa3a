"""crmcore.pipeline: sales-pipeline entities, the stage-history frame and funnel forecasting.

The entities (:class:`Stage`, :class:`Pipeline`, :class:`Opportunity`, :class:`StageChange`
and the presets) import only the standard library, attrs and dateutil. Everything that needs
pandas (history frames, analytics, the Markov model, forecasts, survival curves) is loaded
lazily on first access, so ``from crmcore.pipeline import Stage`` stays cheap.

Examples
--------
>>> from crmcore.pipeline import simple_pipeline
>>> simple_pipeline().names
('Lead', 'Qualified', 'Proposal', 'Won', 'Lost')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crmcore.pipeline._entities import (
    ForecastCategory as ForecastCategory,
)
from crmcore.pipeline._entities import (
    Opportunity as Opportunity,
)
from crmcore.pipeline._entities import (
    Pipeline as Pipeline,
)
from crmcore.pipeline._entities import (
    Stage as Stage,
)
from crmcore.pipeline._entities import (
    StageChange as StageChange,
)
from crmcore.pipeline._entities import (
    StageOutcome as StageOutcome,
)
from crmcore.pipeline._entities import (
    salesforce_pipeline as salesforce_pipeline,
)
from crmcore.pipeline._entities import (
    simple_pipeline as simple_pipeline,
)

if TYPE_CHECKING:  # names for type checkers; loaded lazily at run time
    from crmcore.pipeline._analytics import (
        forecast_category_rollup as forecast_category_rollup,
    )
    from crmcore.pipeline._analytics import (
        pipeline_coverage as pipeline_coverage,
    )
    from crmcore.pipeline._analytics import (
        sales_velocity as sales_velocity,
    )
    from crmcore.pipeline._analytics import (
        slip_rates as slip_rates,
    )
    from crmcore.pipeline._analytics import (
        stage_conversion as stage_conversion,
    )
    from crmcore.pipeline._analytics import (
        weighted_pipeline as weighted_pipeline,
    )
    from crmcore.pipeline._analytics import (
        win_rates as win_rates,
    )
    from crmcore.pipeline._forecast import (
        RevenueForecast as RevenueForecast,
    )
    from crmcore.pipeline._forecast import (
        backtest as backtest,
    )
    from crmcore.pipeline._forecast import (
        expected_new_business as expected_new_business,
    )
    from crmcore.pipeline._forecast import (
        forecast_revenue as forecast_revenue,
    )
    from crmcore.pipeline._history import (
        HISTORY_COLUMNS as HISTORY_COLUMNS,
    )
    from crmcore.pipeline._history import (
        history_from_odoo as history_from_odoo,
    )
    from crmcore.pipeline._history import (
        history_from_salesforce as history_from_salesforce,
    )
    from crmcore.pipeline._history import (
        history_to_opportunities as history_to_opportunities,
    )
    from crmcore.pipeline._history import (
        opportunities_to_history as opportunities_to_history,
    )
    from crmcore.pipeline._history import (
        read_history as read_history,
    )
    from crmcore.pipeline._history import (
        snapshot as snapshot,
    )
    from crmcore.pipeline._markov import PipelineMarkovModel as PipelineMarkovModel
    from crmcore.pipeline._survival import close_time_curves as close_time_curves

_ENTITIES = [
    "ForecastCategory",
    "Opportunity",
    "Pipeline",
    "Stage",
    "StageChange",
    "StageOutcome",
    "salesforce_pipeline",
    "simple_pipeline",
]

#: Public names that need pandas, and the private module that holds each.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        [
            "HISTORY_COLUMNS",
            "history_from_odoo",
            "history_from_salesforce",
            "history_to_opportunities",
            "opportunities_to_history",
            "read_history",
            "snapshot",
        ],
        "crmcore.pipeline._history",
    ),
    "PipelineMarkovModel": "crmcore.pipeline._markov",
    **dict.fromkeys(
        [
            "forecast_category_rollup",
            "pipeline_coverage",
            "sales_velocity",
            "slip_rates",
            "stage_conversion",
            "weighted_pipeline",
            "win_rates",
        ],
        "crmcore.pipeline._analytics",
    ),
    **dict.fromkeys(
        ["RevenueForecast", "backtest", "expected_new_business", "forecast_revenue"],
        "crmcore.pipeline._forecast",
    ),
    "close_time_curves": "crmcore.pipeline._survival",
}

__all__ = sorted(_ENTITIES + list(_LAZY))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore.pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
