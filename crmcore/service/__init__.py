"""crmcore.service: reserved for the service issue (not built yet).

Nothing is exported yet; the subpackage exists so that the package layout of
DESIGN.md is stable for callers and for the issues that fill it.
"""

from __future__ import annotations

__all__: list[str] = []
