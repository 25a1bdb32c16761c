"""The request head the gateway sends upstream, and which `X-Forwarded-*` claims it believes.

A client can write any `X-Forwarded-For` it likes, so the header is only extended when the connection
comes from one of `gateway.trusted_proxies` (a load balancer in front of the gateway); from anyone else
the client's own `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded` lines are
dropped and replaced by what the gateway itself saw. Without this, a client could pose as any address
to an upstream that rate-limits or allow-lists by it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from canaria.gateway.http import RequestHead

__all__ = ["TrustedProxies", "request_bytes"]



class TrustedProxies:
    """The addresses whose forwarding headers are kept (empty: nobody's)."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self._networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, ip: str) -> bool:
        if not self._networks:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self._networks)


def _is_claim(prefix: bytes) -> bool:
    return prefix == b"x-forwarded-" or prefix[:10] == b"forwarded:"


def request_bytes(
    head: RequestHead,
    host_header: bytes,
    base_path: bytes,
    client_ip: bytes,
    *,
    trusted: bool,
    upgrade: bytes | None = None,
) -> bytes:
    """The head to send upstream: our Host, the forwarding headers, the client's end-to-end lines."""
    prior_for: list[bytes] = []
    forwarded_host = head.host
    forwarded_proto = b"X-Forwarded-Proto: http"
    forward = head.forward
    claims = False
    for lname, value in head.headers:
        if lname[:12] == b"x-forwarded-" or lname == b"forwarded":
            claims = True
            if not trusted:
                continue
            if lname == b"x-forwarded-for":
                prior_for.append(value.strip(b" \t"))
            elif lname == b"x-forwarded-host":
                forwarded_host = None  # an earlier proxy already recorded the original host
            elif lname == b"x-forwarded-proto":
                forwarded_proto = b""
    if claims and not trusted:
        forward = [line for line in forward if not _is_claim(line[:12].lower())]
    forwarded_for = b", ".join((*prior_for, client_ip)) if prior_for else client_ip
    first = b"%s %s HTTP/1.1\r\nHost: %s\r\nX-Forwarded-For: %s" % (
        head.method,
        base_path + head.target if base_path else head.target,
        host_header,
        forwarded_for,
    )
    extra = []
    if forwarded_host is not None:
        extra.append(b"X-Forwarded-Host: " + forwarded_host)
    if forwarded_proto:
        extra.append(forwarded_proto)
    if upgrade is not None:
        extra.append(b"Connection: Upgrade\r\nUpgrade: " + upgrade)
    return b"\r\n".join((first, *extra, *forward, b"", b""))
