"""The bundled sample service and load generator used by `canaria demo`.

Public API::

    create_app(version, fault, ...) -> FastAPI          canaria.demo.service
    generate_load(base_url, *, rps, duration_s, max_requests, ...) -> LoadStats
                                                         canaria.demo.load

Names are imported lazily so that ``python -m canaria.demo.service`` does not import its own
module twice (runpy warns when a package pre-imports the module it is asked to run).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canaria.demo.load import LoadStats, generate_load
    from canaria.demo.service import create_app

__all__ = ["LoadStats", "create_app", "generate_load"]

_HOMES = {
    "create_app": "canaria.demo.service",
    "generate_load": "canaria.demo.load",
    "LoadStats": "canaria.demo.load",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'canaria.demo' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
