"""Functions that run in memory only say so, with the hint, when given a lazy frame."""

from __future__ import annotations

import pandas as pd
import pytest
from _engine_harness import LAZY_ENGINES, to_engine

from crmcore.exceptions import ValidationError
from crmcore.service import ticket_metrics


@pytest.mark.parametrize("lazy_engine", [e for e in LAZY_ENGINES if e != "spark"])
def test_service_metrics_refuse_a_lazy_frame_with_a_hint(lazy_engine: str) -> None:
    tickets = pd.DataFrame({"ticket_id": ["t1"], "opened_at": ["2024-01-01"]})
    with pytest.raises(ValidationError, match="a lazy frame: this function runs in memory"):
        ticket_metrics(
            to_engine(tickets, lazy_engine),
            tickets,
            as_of=pd.Timestamp("2024-02-01", tz="UTC"),
        )
