"""Parity tests: a skipped parity test is a failure when CRMCORE_REQUIRE_PEERS=1 (CI)."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from _peers import REQUIRE_PEERS_ENV, peers_required


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and peers_required() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} was skipped ({report.longrepr!r}) but {REQUIRE_PEERS_ENV}=1: "
            "parity tests must run in CI"
        )
