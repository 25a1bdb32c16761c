"""Request measurement for the sample service: Prometheus series plus a short in-process window.

Each app gets its own CollectorRegistry so that several services (stable and canary, or many
tests) can live in one process without "Duplicated timeseries" errors. The middleware is plain
ASGI rather than BaseHTTPMiddleware, which would add a task and a copy per request.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ENGINE_BUCKETS_S", "REQUEST_BUCKETS_S", "VERSION_HEADER", "Telemetry", "TelemetryMiddleware"]

#: Dense around the runbook's thresholds (P50 300 ms, P95 500 ms, P99 800 ms) so histogram_quantile
#: interpolates within a narrow bucket exactly where the guardrails decide.
REQUEST_BUCKETS_S = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    1.0,
    1.5,
    2.0,
    5.0,
)
#: The engine's target is < 100 ms; most healthy calls take well under a millisecond.
ENGINE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)
VERSION_HEADER = "X-Canaria-Version"
_UNMATCHED = "unmatched"
# Probes and scrapes are excluded from the recent-latency window: they would dilute user latency.
_NOT_USER_TRAFFIC = frozenset({"/metrics", "/health", "/health/detailed", _UNMATCHED})


class Telemetry:
    """All measurements of one app instance."""

    def __init__(self, version: str, fault: str, *, recent_size: int = 1000) -> None:
        self.version = version
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests_total = Counter(
            "http_requests_total",
            "HTTP requests by method, route, status and version.",
            ["method", "path", "status", "version"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the end of the response, by route and version.",
            ["path", "version"],
            buckets=REQUEST_BUCKETS_S,
            registry=self.registry,
        )
        self.engine_latency = Histogram(
            "recommendation_engine_latency_seconds",
            "Time the recommendation engine spent on one call, by version.",
            ["version"],
            buckets=ENGINE_BUCKETS_S,
            registry=self.registry,
        )
        self.leaked_bytes = Gauge(
            "canaria_demo_leaked_bytes",
            "Bytes retained by the memory-leak fault (0 unless that fault is active).",
            registry=self.registry,
        )
        info = Gauge(
            "canaria_demo_info",
            "Constant 1, labelled with the demo version and fault.",
            ["version", "fault"],
            registry=self.registry,
        )
        info.labels(version=version, fault=fault).set(1)
        self.recent_ms: deque[float] = deque(maxlen=recent_size)

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        self.requests_total.labels(method=method, path=path, status=str(status), version=self.version).inc()
        self.request_duration.labels(path=path, version=self.version).observe(seconds)
        if path not in _NOT_USER_TRAFFIC:
            self.recent_ms.append(seconds * 1000.0)

    def observe_engine(self, seconds: float) -> None:
        self.engine_latency.labels(version=self.version).observe(seconds)

    def recent_summary(self) -> dict[str, Any]:
        """Count and nearest-rank p50/p95 of the last N user requests, in ms."""
        values = sorted(self.recent_ms)
        if not values:
            return {"window": self.recent_ms.maxlen, "count": 0, "p50_ms": None, "p95_ms": None}

        def rank(q: float) -> float:
            index = max(0, min(len(values) - 1, int(q * len(values) + 0.999999) - 1))
            return round(values[index], 3)

        return {
            "window": self.recent_ms.maxlen,
            "count": len(values),
            "p50_ms": rank(0.5),
            "p95_ms": rank(0.95),
        }


class TelemetryMiddleware:
    """Times every HTTP request, labels it by route template, and stamps the version header."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # stays 500 if the app raises before starting a response

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append(VERSION_HEADER, self.telemetry.version)
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            # The route template, never the raw path, so label cardinality stays bounded.
            path = getattr(route, "path", None) or _UNMATCHED
            self.telemetry.observe_request(scope["method"], path, status, time.perf_counter() - start)
