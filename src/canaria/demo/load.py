"""Load generator for the demo: realistic ion-api traffic at a steady rate, to loopback only.

Pacing is open-loop — request i is due at ``start + i / rps`` whatever the server does — because a
closed loop slows down with a slow server and hides exactly the latency a canary must detect.
Concurrency is still bounded (a laptop has finite sockets); when every slot is busy the backlog is
dropped rather than burst out later, and the shortfall shows as ``achieved_rps < rps``.

It refuses any target that is not loopback: a demo tool must never become a load test of
somebody else's server by a typo.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import random
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from canaria.foundation.histogram import LatencyHistogram

__all__ = ["REQUEST_MIX", "VARIANT_HEADER", "LoadStats", "ensure_loopback", "generate_load", "main"]

VARIANT_HEADER = "X-Canaria-Variant"
#: (kind, weight): the share of each request type in the generated traffic.
REQUEST_MIX: tuple[tuple[str, int], ...] = (
    ("recommendations", 60),
    ("chat", 25),
    ("health", 10),
    ("health_detailed", 5),
)
_CHAT_MESSAGES = (
    "How do I prepare for a system design interview?",
    "면접 준비는 어떻게 시작해야 할까요?",
    "Can you review how I write my resume bullets?",
    "이력서에 어떤 프로젝트를 넣어야 하나요?",
    "I'm thinking about a career switch into data engineering.",
    "요즘 번아웃이 온 것 같아요.",
    "What should I learn after Python basics?",
    "How do I find a mentor in my company?",
    "I just became a team lead, any advice on feedback?",
    "hello!",
)
_RESOLVE_TIMEOUT_S = 2.0


@dataclass
class LoadStats:
    """What was sent and how it was answered. ``failed`` counts HTTP >= 400 and transport errors."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    by_variant: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: From the first send to the end of draining; `sending_s` stops when sending stops.
    elapsed_s: float = 0.0
    sending_s: float = 0.0

    @property
    def achieved_rps(self) -> float:
        """Send rate over the sending window (draining slow answers must not dilute it)."""
        window = self.sending_s or self.elapsed_s
        return self.sent / window if window > 0 else 0.0

    def _record_response(self, kind: str, status: int, variant: str | None, ms: float) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if variant:
            self.by_variant[variant] = self.by_variant.get(variant, 0) + 1
        if status < 400:
            self.ok += 1
        else:
            self.failed += 1
        self.latency.record(ms)

    def _record_error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        self.failed += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (status codes become string keys)."""

        def ms(q: float) -> float | None:
            value = self.latency.quantile(q)
            return None if value is None else round(value, 2)

        return {
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_variant": dict(sorted(self.by_variant.items())),
            "by_kind": dict(sorted(self.by_kind.items())),
            "errors": dict(sorted(self.errors.items())),
            "elapsed_s": round(self.elapsed_s, 3),
            "sending_s": round(self.sending_s, 3),
            "achieved_rps": round(self.achieved_rps, 2),
            "latency_ms": {
                "p50": ms(0.5),
                "p95": ms(0.95),
                "p99": ms(0.99),
                "max": round(self.latency.max_ms, 2),
            },
        }


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


async def ensure_loopback(base_url: str) -> None:
    """Raise ValueError unless `base_url` is http(s) to localhost, 127.0.0.0/8 or ::1.

    A host name is accepted only if every address it resolves to is loopback.
    """
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid load target {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"load target must be an http(s) URL with a host, got {base_url!r}")
    host = url.host
    if host.lower() == "localhost":
        return
    try:
        literal_is_loopback: bool | None = _is_loopback(host)
    except ValueError:
        literal_is_loopback = None  # a name, not an IP literal
    if literal_is_loopback is True:
        return
    if literal_is_loopback is False:
        raise ValueError(f"refusing non-loopback load target {host!r}: the demo only loads 127.0.0.1/::1")
    # Not an IP literal: resolve it, and require every answer to be loopback.
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, url.port, type=socket.SOCK_STREAM), timeout=_RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"refusing load target {host!r}: cannot resolve it to loopback ({exc})") from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_is_loopback(str(a)) for a in addresses):
        raise ValueError(
            f"refusing non-loopback load target {host!r} (resolves to {sorted(map(str, addresses))})"
        )


async def _until(awaitable: Awaitable[Any], *, deadline: float, stop: asyncio.Event | None) -> bool:
    """Await `awaitable` unless the deadline (loop time) passes or `stop` is set first.

    Returns True if it completed; otherwise it is cancelled and False is returned.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(awaitable)
    waiters: set[asyncio.Future[Any]] = {task}
    stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
    if stopper is not None:
        waiters.add(stopper)
    try:
        await asyncio.wait(
            waiters, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if stopper is not None:
            stopper.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # A task cancelled late may still have completed in the same loop iteration.
    if task.cancelled():
        return False
    task.result()  # re-raise its exception, if any
    return True


async def _sleep_until(when: float, stop: asyncio.Event | None) -> None:
    """Sleep until loop time `when`, returning early if `stop` is set."""
    delay = max(0.0, when - asyncio.get_running_loop().time())
    if stop is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)


async def generate_load(
    base_url: str,
    *,
    rps: float,
    duration_s: float,
    max_requests: int,
    concurrency: int = 32,
    stop: asyncio.Event | None = None,
    users: int = 200,
    seed: int | None = None,
    timeout_s: float = 10.0,
    drain_s: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> LoadStats:
    """Send the demo request mix to `base_url` at `rps` until `duration_s`, `max_requests` or `stop`.

    Requests still in flight when sending ends get `drain_s` to finish; the rest are cancelled and
    counted as failed (``errors["Cancelled"]``). Raises ValueError for bad bounds or a non-loopback URL.
    `transport` replaces the network (tests pass an ``httpx.MockTransport``); the URL check still applies.
    """
    if rps <= 0 or duration_s < 0 or max_requests < 0 or concurrency < 1 or users < 1:
        raise ValueError("need rps > 0, duration_s >= 0, max_requests >= 0, concurrency >= 1, users >= 1")
    await ensure_loopback(base_url)
    rng = random.Random(seed)
    kinds = [kind for kind, _ in REQUEST_MIX]
    weights = [weight for _, weight in REQUEST_MIX]
    user_ids = [f"user-{i:04d}" for i in range(users)]
    stats = LoadStats()
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    interval = 1.0 / rps

    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout_s,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        trust_env=False,  # never route loopback traffic through an HTTP(S)_PROXY from the environment
        headers={"User-Agent": "canaria-demo-load/1"},
        transport=transport,
    ) as client:
        start = loop.time()
        deadline = start + duration_s
        due = start
        while stats.sent < max_requests and (stop is None or not stop.is_set()):
            now = loop.time()
            if now >= deadline:
                break
            if due > now:
                await _sleep_until(min(due, deadline), stop)
                continue  # re-check the bounds after every wake-up
            if not slots.locked():
                await slots.acquire()  # free slot: returns at once
            elif not await _until(slots.acquire(), deadline=deadline, stop=stop):
                break
            now = loop.time()
            if now - due > max(2 * interval, 0.05):
                due = now  # all slots were busy: drop the backlog instead of bursting it out
            kind = rng.choices(kinds, weights)[0]
            message = rng.choice(_CHAT_MESSAGES) if kind == "chat" else ""
            task = asyncio.create_task(_one(client, kind, rng.choice(user_ids), message, stats, slots))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            stats.sent += 1
            stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
            due += interval
        stats.sending_s = loop.time() - start
        if in_flight:
            _, pending = await asyncio.wait(set(in_flight), timeout=drain_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        stats.elapsed_s = loop.time() - start
    return stats


async def _one(
    client: httpx.AsyncClient, kind: str, user: str, message: str, stats: LoadStats, slots: asyncio.Semaphore
) -> None:
    headers = {"X-User-Id": user}
    started = time.perf_counter()
    try:
        if kind == "recommendations":
            response = await client.get("/api/v2/recommendations", params={"user_id": user}, headers=headers)
        elif kind == "chat":
            response = await client.post("/api/v2/chat", json={"message": message}, headers=headers)
        elif kind == "health":
            response = await client.get("/health", headers=headers)
        else:
            response = await client.get("/health/detailed", headers=headers)
        stats._record_response(
            kind,
            response.status_code,
            response.headers.get(VARIANT_HEADER),
            (time.perf_counter() - started) * 1000,
        )
    except httpx.HTTPError as exc:
        stats._record_error(type(exc).__name__)
    except asyncio.CancelledError:
        stats._record_error("Cancelled")
        raise
    finally:
        slots.release()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m canaria.demo.load", description="Send demo traffic to a loopback URL."
    )
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8000 (loopback only)")
    parser.add_argument("--rps", type=float, default=50.0, help="target requests per second (default 50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to send for (default 10)")
    parser.add_argument(
        "--max-requests", type=int, default=None, help="stop after this many (default no limit)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="max requests in flight (default 32)")
    parser.add_argument("--users", type=int, default=200, help="simulated user pool size (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the request mix")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> LoadStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    max_requests = args.max_requests if args.max_requests is not None else sys.maxsize
    return await generate_load(
        args.url,
        rps=args.rps,
        duration_s=args.duration,
        max_requests=max_requests,
        concurrency=args.concurrency,
        stop=stop,
        users=args.users,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print a one-line summary on stderr and the stats as JSON on the last line of stdout."""
    args = _parse_args(argv)
    try:
        stats = asyncio.run(_run(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = stats.as_dict()
    print(
        f"sent {stats.sent} in {summary['elapsed_s']} s ({summary['achieved_rps']} rps): "
        f"{stats.ok} ok, {stats.failed} failed; p50 {summary['latency_ms']['p50']} ms, "
        f"p95 {summary['latency_ms']['p95']} ms",
        file=sys.stderr,
    )
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
