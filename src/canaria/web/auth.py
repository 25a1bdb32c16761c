"""Bearer-token identities for the control API.

Why bearer headers and nothing else: a browser attaches cookies to cross-site requests by itself, but
never an Authorization header, so an action cannot be forged from another page (CSRF). Tokens are
compared in constant time against every configured secret, so timing reveals neither names nor secrets.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from canaria.web.errors import ApiError

__all__ = ["Principal", "TokenBook", "bearer_secret", "check_origin"]


@dataclass(frozen=True)
class Principal:
    name: str
    can_act: bool


class TokenBook:
    """Named secrets: `act` may read and act, `read` may only read."""

    def __init__(self, act: dict[str, str], read: dict[str, str] | None = None) -> None:
        self._entries = [(name, secret.encode(), True) for name, secret in act.items()]
        self._entries += [(name, secret.encode(), False) for name, secret in (read or {}).items()]
        self.can_anyone_act = bool(act)

    def identify(self, secret: str) -> Principal | None:
        given = secret.encode()
        found: Principal | None = None
        for name, expected, can_act in self._entries:  # no early exit: constant work whoever matches
            if hmac.compare_digest(given, expected) and found is None:
                found = Principal(name, can_act)
        return found


def bearer_secret(request: Request) -> str | None:
    """The token from `Authorization: Bearer <token>`; None when absent; 401 when malformed."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "token_malformed", "the Authorization header must be `Bearer <token>`",
                       headers={"WWW-Authenticate": 'Bearer realm="canaria"'})
    return secret


def check_origin(request: Request) -> None:
    """Refuse a browser request sent from another site (defence in depth next to bearer-only auth)."""
    origin = request.headers.get("origin")
    if not origin:
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc.lower() != host.lower():
        raise ApiError(403, "cross_origin", f"requests from {origin} are not accepted; use the dashboard page itself")
