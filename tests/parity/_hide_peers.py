"""pytest plugin that hides the peer libraries, to prove reference tests do not need them.

``PYTHONPATH=tests/parity python -m pytest -p _hide_peers tests`` makes ``import lifetimes``
raise ImportError; every test outside ``tests/parity`` must still be collected and run.
The hiding happens in ``pytest_configure``, so that importing this module (pytest's doctest
collection does) hides nothing.
"""

from __future__ import annotations

import sys

import pytest

PEERS = ("lifetimes",)


def pytest_configure(config: pytest.Config) -> None:
    for name in PEERS:
        sys.modules[name] = None  # type: ignore[assignment]
