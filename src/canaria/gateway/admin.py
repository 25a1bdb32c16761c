"""The admin port: weights, upstreams, measurement windows and shutdown, behind a bearer token.

A dozen fixed JSON routes do not justify a web framework in the data-plane process, so this reuses the
proxy's head parser with small Content-Length bodies only. Every route except `GET /admin/health` and
`GET /metrics` checks the token before it reads anything else, so an unauthenticated caller learns
nothing and changes nothing. A change is validated completely before it is applied. The default token
`change-me` is refused unless `gateway.admin_token_insecure_ok` says otherwise: a token anyone can
guess is no token. Malformed bodies (not JSON, nested too deep, too large) are 4xx, never 500.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client.exposition import CONTENT_TYPE_LATEST

from canaria.gateway.channel import Channel
from canaria.gateway.conns import WAIT_BODY, ClientConnection, Connections, next_request_head
from canaria.gateway.http import BODY_CHUNKED, HttpError, RequestHead, json_response
from canaria.gateway.router import RouteMatch

__all__ = ["ADMIN_ROUTES", "AdminControl", "AdminServer"]

log = logging.getLogger("canaria.gateway")

MAX_ADMIN_BODY = 65536

#: path -> {method: handler name}
ADMIN_ROUTES: dict[str, dict[bytes, str]] = {
    "/admin/health": {b"GET": "health"},
    "/metrics": {b"GET": "metrics"},
    "/admin/state": {b"GET": "state"},
    "/admin/weights": {b"PUT": "weights"},
    "/admin/upstreams": {b"PUT": "upstreams"},
    "/admin/window": {b"GET": "window"},
    "/admin/window/cut": {b"POST": "cut"},
    "/admin/totals": {b"GET": "totals"},
    "/admin/shutdown": {b"POST": "shutdown"},
}
_OPEN_ROUTES = {"health", "metrics"}


class AdminControl(Protocol):
    """What the admin API needs from the gateway it controls."""

    def health(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]: ...

    def set_canary_weight(self, weight: float) -> None: ...

    def set_route(self, weight: float, match: RouteMatch | None) -> None: ...

    def set_upstreams(self, stable: str, canary: str | None) -> None: ...

    def window_payload(self, *, cut: bool) -> dict[str, Any]: ...

    def totals_payload(self) -> dict[str, Any]: ...

    def metrics_text(self) -> bytes: ...

    def request_stop(self) -> None: ...


_JSON = b"application/json"


@dataclass(frozen=True)
class _Answer:
    """One admin response; `after` runs once it has been sent (used by shutdown)."""

    status: int
    payload: Any
    headers: bytes = b""
    content_type: bytes = _JSON
    after: Callable[[], None] | None = None


class _Reply(Exception):
    """Ends a handler early with a JSON answer (validation failures)."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.answer = _Answer(status, payload)


class AdminServer:
    def __init__(
        self, control: AdminControl, connections: Connections, token: str, *, refuse_token: bool = False
    ) -> None:
        self._control = control
        self._connections = connections
        self._token = token.encode()
        self._refuse_token = refuse_token  # the token is the guessable default

    async def handle_connection(self, reader: Channel, writer: Channel) -> None:
        conn = self._connections.open(writer)
        if conn is None:  # over a connection limit: already answered 503
            return
        limits = self._connections.limits
        try:
            while True:
                head = await next_request_head(reader, writer, conn, limits)
                if head is None:
                    break
                try:
                    body = await self._read_body(head, reader, conn, limits.body_timeout)
                except HttpError as exc:
                    writer.write(json_response(exc.status, {"error": exc.message}, keep_alive=False))
                    break
                except (asyncio.IncompleteReadError, OSError):
                    break
                answer = self._dispatch(head, body)
                keep_alive = head.keep_alive and not conn.draining and answer.after is None
                writer.write(
                    json_response(
                        answer.status,
                        answer.payload,
                        keep_alive=keep_alive,
                        extra_headers=answer.headers,
                        content_type=answer.content_type,
                    )
                )
                await writer.drain()
                if answer.after is not None:
                    answer.after()
                if not keep_alive:
                    break
        except (ConnectionError, OSError):
            pass
        except Exception:
            log.exception("gateway admin: unexpected error on a connection")
        finally:
            self._connections.close(conn)
            writer.close()

    @staticmethod
    async def _read_body(
        head: RequestHead, reader: Channel, conn: ClientConnection, timeout: float
    ) -> bytes:
        if head.body_kind == BODY_CHUNKED:
            raise HttpError(411, "send the admin request body with Content-Length")
        length = head.content_length or 0
        if length > MAX_ADMIN_BODY:
            raise HttpError(413, f"admin request body larger than {MAX_ADMIN_BODY} bytes")
        if not length:
            return b""
        conn.expect(WAIT_BODY, timeout)
        try:
            return await reader.readexactly(length)
        finally:
            conn.done_waiting()

    def _authorized(self, head: RequestHead) -> bool:
        value = head.get(b"authorization") or b""
        scheme, _, token = value.partition(b" ")
        if scheme.lower() != b"bearer" or not self._token or self._refuse_token:
            return False
        return hmac.compare_digest(token.strip(), self._token)

    def _dispatch(self, head: RequestHead, body: bytes) -> _Answer:
        methods = ADMIN_ROUTES.get(head.path)
        name = methods.get(head.method) if methods else None
        if name not in _OPEN_ROUTES and not self._authorized(head):
            error = (
                "the gateway's admin_token is the default 'change-me', which is refused: set gateway.admin_token "
                "(or gateway.admin_token_insecure_ok: true)"
                if self._refuse_token
                else "missing or invalid bearer token"
            )
            return _Answer(401, {"error": error}, b"WWW-Authenticate: Bearer\r\n")
        if methods is None:
            return _Answer(404, {"error": f"no admin endpoint {head.path}"})
        if name is None:
            allow = b"Allow: " + b", ".join(methods) + b"\r\n"
            return _Answer(405, {"error": f"{head.method.decode()} not allowed on {head.path}"}, allow)
        control = self._control
        try:
            if name == "metrics":
                return _Answer(200, control.metrics_text(), content_type=CONTENT_TYPE_LATEST.encode())
            if name == "shutdown":
                return _Answer(200, {"ok": True, "stopping": True}, after=control.request_stop)
            return _Answer(200, self._handle(name, body))
        except _Reply as reply:
            return reply.answer
        except Exception as exc:
            log.exception("gateway admin: %s failed", name)
            return _Answer(500, {"error": f"{name} failed: {exc}"})

    def _handle(self, name: str, body: bytes) -> dict[str, Any]:
        control = self._control
        if name == "health":
            return control.health()
        if name == "state":
            return control.state()
        if name == "window":
            return control.window_payload(cut=False)
        if name == "cut":
            return control.window_payload(cut=True)
        if name == "totals":
            return control.totals_payload()
        data = _json_object(body)
        if name == "weights":
            weight = data.get("canary")
            match: RouteMatch | None = None
            if data.get("match") is not None:
                try:
                    match = RouteMatch.from_dict(data["match"])
                except ValueError as exc:
                    raise _Reply(422, {"error": f"'match': {exc}"}) from None
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not math.isfinite(weight)
                or not 0.0 <= weight <= 100.0
            ):
                raise _Reply(
                    422, {"error": "'canary' must be a number from 0 to 100 (percent)", "got": _echo(weight)}
                )
            if "match" in data:  # given (even as null): weight and tester route change together
                control.set_route(float(weight), match)
                log.info("gateway: canary weight set to %g%%, tester route %s", weight, match)
            else:
                control.set_canary_weight(float(weight))
                log.info("gateway: canary weight set to %g%%", weight)
            return control.state()
        if name == "upstreams":
            if "stable" not in data or "canary" not in data:
                raise _Reply(422, {"error": "give both 'stable' (URL) and 'canary' (URL or null)"})
            stable, canary = data["stable"], data["canary"]
            if not isinstance(stable, str) or (canary is not None and not isinstance(canary, str)):
                raise _Reply(422, {"error": "'stable' must be a URL and 'canary' a URL or null"})
            try:
                control.set_upstreams(stable, canary)
            except ValueError as exc:
                raise _Reply(422, {"error": str(exc)}) from None
            log.info("gateway: upstreams set to stable=%s canary=%s", stable, canary)
            return control.state()
        raise _Reply(404, {"error": f"no handler {name}"})


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except RecursionError:
        raise _Reply(422, {"error": "body is nested too deeply"}) from None
    except ValueError as exc:
        raise _Reply(422, {"error": f"body is not valid JSON: {exc}"}) from None
    if not isinstance(data, dict):
        raise _Reply(422, {"error": "body must be a JSON object"})
    return data


def _echo(value: Any) -> Any:
    """The rejected value, as JSON can carry it (NaN and infinity cannot)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
