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


def _is_claim(lname: bytes) -> bool:
    return lname[:12] == b"x-forwarded-" or lname == b"forwarded"


def request_bytes(
    head: RequestHead,
    host_header: bytes,
    base_path: bytes,
    client_ip: bytes,
    *,
    trusted: bool,
    upgrade: bytes | None = None,
) -> bytes:
    """The head to send upstream: our Host, the forwarding headers, the client's end-to-end lines.

    One join of ready-made pieces: the client's lines go on as the block they arrived in."""
    if not head.claims and upgrade is None and head.host is not None:  # the usual request
        return b"".join(
            (
                head.method,
                b" ",
                base_path,
                head.target,
                b" HTTP/1.1\r\nHost: ",
                host_header,
                b"\r\nX-Forwarded-For: ",
                client_ip,
                b"\r\nX-Forwarded-Host: ",
                head.host,
                b"\r\nX-Forwarded-Proto: http\r\n",
                head.forward_block,
                b"\r\n",
            )
        )
    forwarded_for = client_ip
    forwarded_host = head.host
    forwarded_proto: bytes | None = b"http"
    forward = head.forward_block
    if head.claims:
        if trusted:
            prior_for = []
            for lname, value in head.claims:
                if lname == b"x-forwarded-for":
                    prior_for.append(value.strip(b" \t"))
                elif lname == b"x-forwarded-host":
                    forwarded_host = None  # an earlier proxy already recorded the original host
                elif lname == b"x-forwarded-proto":
                    forwarded_proto = None
            if prior_for:
                forwarded_for = b", ".join((*prior_for, client_ip))
        else:
            forward = _without_claims(forward)
    parts = [
        head.method,
        b" ",
        base_path + head.target if base_path else head.target,
        b" HTTP/1.1\r\nHost: ",
        host_header,
        b"\r\nX-Forwarded-For: ",
        forwarded_for,
        b"\r\n",
    ]
    if forwarded_host is not None:
        parts += (b"X-Forwarded-Host: ", forwarded_host, b"\r\n")
    if forwarded_proto is not None:
        parts += (b"X-Forwarded-Proto: ", forwarded_proto, b"\r\n")
    if upgrade is not None:
        parts += (b"Connection: Upgrade\r\nUpgrade: ", upgrade, b"\r\n")
    parts += (forward, b"\r\n")
    return b"".join(parts)


def _without_claims(block: bytes) -> bytes:
    lines = block.split(b"\r\n")[:-1]
    return b"".join(line + b"\r\n" for line in lines if not _is_claim(line.partition(b":")[0].lower()))
