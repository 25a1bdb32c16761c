"""Web dashboard and control API (FastAPI), served by `canaria dashboard` or inside `canaria demo`.

Imports are lazy so that importing this package never pulls in FastAPI until an app is built; its settings
live in `canaria.config.dashboard`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DashboardServer", "create_app", "serve_dashboard", "shared_operator_factory"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "shared_operator_factory"):
        from canaria.web import app

        return getattr(app, name)
    if name in ("serve_dashboard", "DashboardServer"):
        from canaria.web import server

        return getattr(server, name)
    raise AttributeError(name)
