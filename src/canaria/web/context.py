"""What every request handler needs: config, store, tokens, how to get an Operator, the clock."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from canaria.config import CanariaConfig
from canaria.controller.actions import Operator
from canaria.controller.clock import Clock, SystemClock
from canaria.state.store import Rollout, Store
from canaria.web.auth import Principal, TokenBook, bearer_secret, check_origin
from canaria.web.errors import ApiError
from canaria.web.reports import ReportIndex

__all__ = ["OperatorFactory", "WebContext", "actor", "authorize_action", "get_ctx", "identify", "reader"]

#: given the caller's name, an Operator acting as that person (and cleanup when done)
OperatorFactory = Callable[[str], AbstractAsyncContextManager[Operator]]

#: declared so /openapi.json shows the bearer scheme; the header itself is read by `bearer_secret`
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="token",
                           description="a named token from `dashboard.tokens` (or `read_tokens` for reading)")
_Declared = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="canaria"'}
TICKET_TTL_S = 600.0


@dataclass
class WebContext:
    config: CanariaConfig
    tokens: TokenBook
    read_token_required: bool
    operator_factory: OperatorFactory
    clock: Clock = field(default_factory=SystemClock)
    lang: str = "en"
    poll_interval: float = 0.5
    store: Store | None = None
    stopping: asyncio.Event | None = None
    ticket_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        self.reports = ReportIndex(self.config.reports_path)

    @property
    def db(self) -> Store:
        if self.store is None:
            raise ApiError(503, "store_unavailable", "the dashboard has not opened the state store yet")
        return self.store

    def now(self) -> float:
        return self.clock.now()

    def current_rollout(self) -> Rollout | None:
        """The active rollout of the service, else its latest one."""
        return self.db.active_rollout(self.config.service) or self.db.latest_rollout(self.config.service)

    def rollout_or_404(self, rollout_id: str) -> Rollout:
        rollout = self.db.get_rollout(rollout_id)
        if rollout is None or rollout.service != self.config.service:
            raise ApiError(404, "rollout_not_found", f"no rollout {rollout_id} of {self.config.service}")
        return rollout

    def rollout_ids(self) -> list[str]:
        return [r.id for r in self.db.list_rollouts(self.config.service, limit=500)]

    # report links that work without a header when reads need a token (signed, short-lived)
    def ticket(self, name: str, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + TICKET_TTL_S)
        sig = hmac.new(self.ticket_key, f"{name}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{expires}.{sig}"

    def ticket_ok(self, name: str, ticket: str | None) -> bool:
        if not ticket or "." not in ticket:
            return False
        expires_text, _, sig = ticket.partition(".")
        if not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        good = hmac.new(self.ticket_key, f"{name}|{expires_text}".encode(), hashlib.sha256).hexdigest()[:32]
        return hmac.compare_digest(sig, good)


async def get_ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def identify(ctx: WebContext, request: Request) -> Principal | None:
    secret = bearer_secret(request)
    if secret is None:
        return None
    principal = ctx.tokens.identify(secret)
    if principal is None:
        raise ApiError(401, "token_invalid", "this token is not valid for this dashboard", headers=_UNAUTHORIZED)
    return principal


async def reader(request: Request, _declared: _Declared = None) -> Principal | None:
    """Dependency of every read endpoint: a token only when `read_token_required`."""
    ctx: WebContext = request.app.state.ctx
    if not ctx.read_token_required:
        return None
    principal = identify(ctx, request)
    if principal is None:
        raise ApiError(401, "token_required", "reading this dashboard requires `Authorization: Bearer <token>`",
                       headers=_UNAUTHORIZED)
    return principal


async def actor(request: Request, _declared: _Declared = None) -> Principal:
    """Dependency of every action endpoint: a named token that may act."""
    return authorize_action(request)


def authorize_action(request: Request) -> Principal:
    """Also run by a middleware before the body is even read: a request without a good token learns
    nothing about the body or the rollout, it gets its 401/403 first."""
    ctx: WebContext = request.app.state.ctx
    if request.headers.get("authorization") is None:
        raise ApiError(401, "token_required", "actions require `Authorization: Bearer <token>`; nothing changed",
                       headers=_UNAUTHORIZED)
    check_origin(request)
    if not ctx.tokens.can_anyone_act:
        raise ApiError(403, "actions_disabled",
                       "no action tokens are configured (dashboard.tokens); this dashboard is read-only")
    principal = identify(ctx, request)
    assert principal is not None
    if not principal.can_act:
        raise ApiError(403, "read_only_token", f"token '{principal.name}' may read but not act; nothing changed")
    return principal
