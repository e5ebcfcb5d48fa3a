"""`python -m crmcore demo` runs end to end on the embedded CDNOW data."""

from __future__ import annotations

import subprocess
import sys


def test_demo_prints_the_cdnow_overview() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "crmcore", "demo"], check=True, capture_output=True, text=True
    ).stdout
    assert "23,570" in out
    assert "69,659" in out
    assert "1997-01-01" in out and "1998-06-30" in out
    assert "Top 10 customers by revenue" in out


def test_cli_without_a_command_exits_with_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "crmcore"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage" in result.stderr
