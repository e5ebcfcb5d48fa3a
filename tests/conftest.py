"""Test configuration: Hypothesis profiles.

- ``ci`` (loaded when ``CI`` is set): derandomised, so that a CI run is reproducible.
- ``random`` (``HYPOTHESIS_PROFILE=random``): fresh random examples and ten times as many
  (``max_examples`` 1000 instead of the default 100; a test's own ``@settings`` value is
  multiplied by ten as well). Derandomised runs hid a Pareto/NBD fit that stopped short
  (issue 8), so ``benchmarks/run.py --hypothesis-random`` runs the suite with this profile
  on a schedule.

``HYPOTHESIS_PROFILE`` wins over ``CI``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

_RANDOM_FACTOR = 10

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile(
    "random",
    derandomize=False,
    max_examples=_RANDOM_FACTOR * settings.default.max_examples,
    print_blob=True,
)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
if _PROFILE is not None:
    settings.load_profile(_PROFILE)


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Under the ``random`` profile, multiply each test's own ``max_examples`` by ten."""
    if _PROFILE != "random":
        return
    done: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        test = getattr(test, "__func__", test)  # methods of test classes
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is None or id(test) in done:
            continue
        done.add(id(test))  # parametrized tests share one function: scale it once
        if own.max_examples == settings.default.max_examples:
            continue  # inherits the profile's value, already ten times the default
        scaled = settings(own, max_examples=_RANDOM_FACTOR * own.max_examples)
        test._hypothesis_internal_use_settings = scaled
