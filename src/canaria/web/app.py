"""The FastAPI application: read API, action API, live stream, the page and its assets.

`create_app` takes everything it acts on as arguments, so the same app serves `canaria dashboard`
(its own store; actions through a fresh app per request, `canaria.runtime.app.app_operator_factory`) and `canaria demo --dashboard`
(the demo's store and controller, in the demo's event loop).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from canaria import __version__
from canaria.config import CanariaConfig
from canaria.controller.actions import Operator
from canaria.controller.clock import Clock, SystemClock
from canaria.controller.machine import Controller
from canaria.errors import StateError
from canaria.state.store import Store
from canaria.web import routes_actions, routes_read
from canaria.web.auth import TokenBook
from canaria.web.context import OperatorFactory, WebContext, authorize_action, get_ctx, reader
from canaria.web.errors import ApiError, error_body, install_error_handlers, log
from canaria.web.routes_read import ROLLOUT_ID_PATTERN
from canaria.web.stream import event_stream

__all__ = ["STATIC_DIR", "create_app", "refusing_operator_factory", "shared_operator_factory"]

_ACTION_PATH = re.compile(r"^/api/v1/rollouts/[^/]+/(" + "|".join(routes_actions.ACTIONS) + r")/?$")
STATIC_DIR = resources.files("canaria.web") / "static"
_PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
             "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def refusing_operator_factory() -> OperatorFactory:
    """A dashboard built without a controller to act through: it reads, and every action says why it cannot."""

    @asynccontextmanager
    async def factory(name: str) -> AsyncIterator[Operator]:
        raise StateError("this dashboard was started without a controller to act through; actions are off")
        yield Operator(None, actor=name)  # type: ignore[arg-type]  # unreachable: makes this a generator

    return factory


def shared_operator_factory(controller: Controller) -> OperatorFactory:
    """Inside `canaria demo`: act through the demo's own controller (same platform, same loop)."""

    @asynccontextmanager
    async def factory(name: str) -> AsyncIterator[Operator]:
        yield Operator(controller, actor=name)

    return factory


class _HostGuard:
    """Answer only to the expected Host names: stops DNS-rebinding pages from reading a loopback dashboard."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.hosts:
                response = JSONResponse(error_body(421, "wrong_host", f"this dashboard does not answer to {host!r}"),
                                        status_code=421)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    config: CanariaConfig,
    *,
    store: Store | None = None,
    operator_factory: OperatorFactory | None = None,
    tokens: dict[str, str] | None = None,
    read_tokens: dict[str, str] | None = None,
    read_token_required: bool | None = None,
    clock: Clock | None = None,
    lang: str = "en",
    poll_interval: float = 0.5,
    allowed_hosts: Iterable[str] | None = None,
) -> FastAPI:
    """Build the dashboard app. Unset arguments come from `config.dashboard`; without `store` the app
    opens (and closes) its own in its lifespan, in the thread that serves requests."""
    dash = config.dashboard
    book = TokenBook(
        tokens if tokens is not None else {k: v.get_secret_value() for k, v in dash.tokens.items()},
        read_tokens if read_tokens is not None else {k: v.get_secret_value() for k, v in dash.read_tokens.items()},
    )
    ctx = WebContext(
        config=config, tokens=book,
        read_token_required=dash.read_token_required if read_token_required is None else read_token_required,
        operator_factory=operator_factory or refusing_operator_factory(),
        clock=clock or SystemClock(), lang=lang, poll_interval=poll_interval, store=store,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.stopping = asyncio.Event()
        owned = ctx.store is None
        if owned:
            ctx.store = Store.for_state_dir(config.state_path)
        try:
            yield
        finally:
            ctx.stopping.set()
            if owned and ctx.store is not None:
                ctx.store.close()
                ctx.store = None

    app = FastAPI(title=f"canaria dashboard · {config.service}", version=__version__, lifespan=lifespan,
                  description="Live state of canary rollouts and the operator actions on them. Actions need "
                  "`Authorization: Bearer <token>` (named tokens in `dashboard.tokens`); errors are "
                  "`{\"error\": {status, code, message}}`.",
                  docs_url=None, redoc_url=None)  # the Swagger page would load its assets from a CDN
    app.state.ctx = ctx
    install_error_handlers(app)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(error_body(500, "internal_error", f"internal error: {type(exc).__name__}"),
                            status_code=500)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        if request.method == "POST" and _ACTION_PATH.match(request.url.path):
            try:
                authorize_action(request)
            except ApiError as exc:
                response = JSONResponse(error_body(exc.status, exc.code, exc.message), status_code=exc.status,
                                        headers=exc.headers)
                response.headers["Cache-Control"] = "no-store"
                return response
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.include_router(routes_read.router)
    app.include_router(routes_actions.router)
    app.include_router(routes_read.files)

    @app.get("/api/v1/stream", summary="Live feed (text/event-stream): `snapshot`, then `update` messages",
             dependencies=[Depends(reader)],
             responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
                        404: {"description": "unknown rollout"}})
    async def stream(request: Request, ctx: Annotated[WebContext, Depends(get_ctx)],
                     rollout_id: Annotated[str | None, Query(pattern=ROLLOUT_ID_PATTERN, max_length=200)] = None
                     ) -> StreamingResponse:
        if rollout_id is not None:
            ctx.rollout_or_404(rollout_id)
        return StreamingResponse(event_stream(ctx, request, rollout_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC_DIR / "index.html"), media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": _PAGE_CSP, "X-Frame-Options": "DENY",
                                     "Cache-Control": "no-cache"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    if allowed_hosts is not None:
        app.add_middleware(_HostGuard, hosts=list(allowed_hosts))
    return app
