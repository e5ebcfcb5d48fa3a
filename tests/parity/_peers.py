"""Import a peer library for a parity test: skip when it is absent, FAIL when CI requires it.

Parity tests compare crmcore with a peer library run side by side (today: lifetimes 0.11.3).
Published numbers (papers, Hardie's notes, R packages) live in the model's own test file and
run without any peer installed; only tests that need the peer itself live under
``tests/parity``.

With ``CRMCORE_REQUIRE_PEERS=1`` in the environment (``.ci/run`` sets it) a missing peer is a
collection error, never a silent skip: a parity test that does not run must not look green.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

REQUIRE_PEERS_ENV = "CRMCORE_REQUIRE_PEERS"


def peers_required() -> bool:
    """True when the environment says a missing peer library is an error, not a skip."""
    return os.environ.get(REQUIRE_PEERS_ENV, "") == "1"


def require_peer(module: str) -> ModuleType:
    """Return the imported peer `module`; skip without it, or fail if peers are required."""
    if not peers_required():
        return pytest.importorskip(module)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(
            f"{REQUIRE_PEERS_ENV}=1 but the peer library {module!r} cannot be imported ({exc}); "
            f"parity tests must run, not skip. Hint: pip install -e '.[test]'.",
            pytrace=False,
        )
