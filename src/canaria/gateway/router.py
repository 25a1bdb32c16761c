"""Which variant serves a request: a weighted coin per request, or a consistent hash of a sticky key.

The route (weight plus both upstreams) is one immutable object, and a change replaces it with a single
attribute assignment: a request reads the route once when it starts, so a weight change or a promotion
never tears a request between two configurations and never loses one in flight.

A tester route (`match`: a header or cookie and its value) sends every matching request to the canary
whatever the weight, so with weight 0 only testers reach it (the runbook's "testers first" stage).

Sticky hashing maps a key to a fixed bucket in [0, 100) and sends it to the canary when
bucket < weight. Raising the weight therefore only ever moves users from stable to canary, and a user's
variant does not depend on which gateway process (or restart) served them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from canaria.gateway.http import RequestHead

__all__ = ["CANARY", "STABLE", "Route", "RouteMatch", "Router", "Upstream", "sticky_bucket"]

STABLE = "stable"
CANARY = "canary"


@dataclass(frozen=True, slots=True)
class Upstream:
    """One upstream origin, parsed once so the hot path only reads attributes."""

    url: str
    host: str
    port: int
    tls: bool
    base_path: bytes  # prefix put before every request target ("" for none)
    host_header: bytes

    @classmethod
    def parse(cls, url: str) -> Upstream:
        """Validate `url` (http(s)://host[:port][/prefix]); raises ValueError saying what is wrong."""
        if not isinstance(url, str) or not url.strip():
            raise ValueError("upstream URL must be a non-empty string")
        text = url.strip()
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"upstream URL '{text}' must start with http:// or https://")
        if not parts.hostname:
            raise ValueError(f"upstream URL '{text}' has no host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"upstream URL '{text}' must not have a query, fragment or credentials")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ValueError(f"upstream URL '{text}' has an invalid port") from None
        if port == 0:
            raise ValueError(f"upstream URL '{text}' has port 0")
        netloc = parts.netloc
        path = parts.path.rstrip("/")
        return cls(
            url=f"{parts.scheme}://{netloc}{path}",
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "https",
            base_path=path.encode(),
            host_header=netloc.encode(),
        )


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A tester route: requests whose header (or cookie) `name` equals `value` go to the canary."""

    value: str
    header: str | None = None
    cookie: str | None = None

    def __post_init__(self) -> None:
        name = self.header if self.header is not None else self.cookie
        if (self.header is None) == (self.cookie is None):
            raise ValueError("a match gives exactly one of 'header' or 'cookie'")
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN:
            raise ValueError(f"match name {name!r} is not a valid header or cookie name")
        if not isinstance(self.value, str) or not self.value or not self.value.isprintable():
            raise ValueError("match 'value' must be a non-empty printable string")

    @classmethod
    def from_dict(cls, data: Any) -> RouteMatch:
        """From {"header"|"cookie": NAME, "value": VALUE}; ValueError saying what is wrong."""
        if not isinstance(data, dict) or set(data) - {"header", "cookie", "value"}:
            raise ValueError("match must be an object with 'header' or 'cookie', and 'value'")
        return cls(value=data.get("value"), header=data.get("header"), cookie=data.get("cookie"))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, str]:
        key = "header" if self.header is not None else "cookie"
        return {key: self.header or self.cookie or "", "value": self.value}

    def matches(self, head: RequestHead) -> bool:
        wanted = self.value.encode()
        if self.header is not None:
            return wanted in head.get_all(self.header.lower().encode())
        return _cookie_value(head, (self.cookie or "").encode()) == wanted


@dataclass(frozen=True, slots=True)
class Route:
    """Everything a routing decision reads, swapped as one value."""

    canary_weight: float
    stable: Upstream
    canary: Upstream | None
    match: RouteMatch | None = None

    def upstreams_dict(self) -> dict[str, str | None]:
        return {STABLE: self.stable.url, CANARY: self.canary.url if self.canary else None}


def sticky_bucket(key: bytes) -> float:
    """A stable position in [0, 100) for a sticky key (same on every process and restart)."""
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 * 100.0


def _cookie_value(head: RequestHead, name: bytes) -> bytes | None:
    for header in head.get_all(b"cookie"):
        for pair in header.split(b";"):
            key, sep, value = pair.strip().partition(b"=")
            if sep and key == name:
                return value.strip(b'"')
    return None


class Router:
    """Holds the current Route and picks a variant per request."""

    def __init__(self, route: Route, sticky: str | None = None) -> None:
        self.route = route
        self.sticky = sticky
        self._sticky_header: bytes | None = None
        self._sticky_cookie: bytes | None = None
        if sticky:
            kind, _, name = sticky.partition(":")
            if kind == "header":
                self._sticky_header = name.strip().lower().encode()
            elif kind == "cookie":
                self._sticky_cookie = name.strip().encode()
            else:
                raise ValueError("sticky must be 'header:NAME' or 'cookie:NAME'")
        self._random = random.random

    def sticky_key(self, head: RequestHead) -> bytes | None:
        if self._sticky_header is not None:
            return head.get(self._sticky_header)
        if self._sticky_cookie is not None:
            return _cookie_value(head, self._sticky_cookie)
        return None

    def choose(self, route: Route, head: RequestHead) -> bool:
        """True when this request goes to the canary under `route`."""
        weight = route.canary_weight
        if route.canary is None:
            return False
        if route.match is not None and route.match.matches(head):
            return True
        if weight <= 0.0:
            return False
        if weight >= 100.0:
            return True
        if self._sticky_header is not None or self._sticky_cookie is not None:
            key = self.sticky_key(head)
            if key:
                return sticky_bucket(key) < weight
        return self._random() * 100.0 < weight
