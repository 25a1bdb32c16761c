"""The bundled sample service: a miniature ion-api (mentoring chat + recommendation engine).

`canaria demo` runs two of these side by side — stable v1 and canary v2 — and can make v2 fail in
the ways the runbook rehearses (errors, latency, memory leak), so the whole controller can be shown
end to end on one machine. The service measures itself like a production service would: Prometheus
series for the metrics provider, and `/health/detailed` for the pre-flight check.

Run it with ``python -m canaria.demo.service --port 9001 --version v2 --fault errors``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psutil
from fastapi import FastAPI, Header, HTTPException, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from canaria.demo._engine import ChatReplier, ProfileCache, RecommendationEngine, TopicStore
from canaria.demo._faults import (
    ENV_FAULT,
    ENV_VERSION,
    FAULTS,
    FaultInjector,
    FaultSettings,
    MemoryLeak,
)
from canaria.demo._telemetry import Telemetry, TelemetryMiddleware

__all__ = [
    "ENGINE_LATENCY_HEADER",
    "ENV_MEMORY_LIMIT",
    "READY_PREFIX",
    "DemoState",
    "app_from_env",
    "create_app",
    "main",
]

ENV_MEMORY_LIMIT = "CANARIA_MEMORY_LIMIT"
ENGINE_LATENCY_HEADER = "X-Recommendation-Latency-Ms"
#: First line the CLI prints on stdout once the socket accepts requests; the URL follows it.
READY_PREFIX = "canaria-demo listening on "
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}


def parse_bytes(raw: str) -> int:
    """Parse a memory limit such as ``536870912``, ``512Mi`` or ``1G`` (k8s-style suffixes)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?)?[bB]?\s*", raw)
    if not match:
        raise ValueError(f"{ENV_MEMORY_LIMIT}={raw!r} is not a byte count")
    value = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if value <= 0:
        raise ValueError(f"{ENV_MEMORY_LIMIT} must be positive, got {raw!r}")
    return int(value)


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=4000)


@dataclass
class DemoState:
    """Everything one app instance owns; exposed as ``app.state.demo`` for tests and the demo runner."""

    version: str
    settings: FaultSettings
    faults: FaultInjector
    telemetry: Telemetry
    store: TopicStore
    cache: ProfileCache
    engine: RecommendationEngine
    chat: ChatReplier
    memory_limit_bytes: int | None
    started_at: float
    leak: MemoryLeak | None


def create_app(
    version: str = "v1",
    fault: str = "none",
    *,
    error_rate: float | None = None,
    extra_latency_ms: float | None = None,
    leak_mb_per_s: float | None = None,
    seed: int | None = None,
    env: Mapping[str, str] | None = None,
) -> FastAPI:
    """Build one service instance.

    `fault` is applied as given whatever the version (the demo runner gives it only to v2); fault
    strengths come from the keyword arguments, else from `env` (default ``os.environ``), else defaults.
    """
    env = os.environ if env is None else env
    settings = FaultSettings.resolve(
        fault,
        env,
        error_rate=error_rate,
        extra_latency_ms=extra_latency_ms,
        leak_mb_per_s=leak_mb_per_s,
        seed=seed,
    )
    raw_limit = env.get(ENV_MEMORY_LIMIT, "").strip()
    started_at = time.monotonic()
    store = TopicStore()
    cache = ProfileCache()
    engine = RecommendationEngine(version, store, cache)
    state = DemoState(
        version=version,
        settings=settings,
        faults=FaultInjector(settings),
        telemetry=Telemetry(version, fault),
        store=store,
        cache=cache,
        engine=engine,
        chat=ChatReplier(engine),
        memory_limit_bytes=parse_bytes(raw_limit) if raw_limit else None,
        started_at=started_at,
        leak=(
            MemoryLeak(settings.leak_mb_per_s, settings.leak_cap_mb, started_at=started_at)
            if fault == "memory-leak"
            else None
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        leak_task = asyncio.create_task(state.leak.run()) if state.leak else None
        try:
            yield
        finally:
            if leak_task:
                leak_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await leak_task
            if state.leak:
                state.leak.release()
            store.close()

    app = FastAPI(title="ion-api (canaria demo)", version=version, lifespan=lifespan)
    app.state.demo = state
    app.add_middleware(TelemetryMiddleware, telemetry=state.telemetry)
    _add_routes(app, state)
    return app


def _add_routes(app: FastAPI, state: DemoState) -> None:
    process = psutil.Process()

    async def disturb() -> None:
        """Apply the active fault to an /api/v2 call: delay it, or fail it with a 500."""
        await state.faults.delay()
        if state.faults.should_fail():
            raise HTTPException(status_code=500, detail="internal server error")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": state.version}

    @app.get("/health/detailed")
    async def health_detailed() -> dict[str, Any]:
        components = _probe_components(state)
        rss = process.memory_info().rss
        limit = state.memory_limit_bytes or psutil.virtual_memory().total
        disk = psutil.disk_usage(os.getcwd())
        leaked = state.leak.leaked_bytes if state.leak else 0
        state.telemetry.leaked_bytes.set(leaked)
        return {
            "status": "ok" if all(c["status"] == "ok" for c in components.values()) else "degraded",
            "version": state.version,
            "fault": state.settings.fault,
            "uptime_s": round(time.monotonic() - state.started_at, 3),
            "components": components,
            "memory": {
                "rss_bytes": rss,
                "limit_bytes": limit,
                "limit_source": "env" if state.memory_limit_bytes else "system",
                "percent": round(100.0 * rss / limit, 2),
                "leaked_bytes": leaked,
            },
            "disk": {
                "path": os.getcwd(),
                "total_bytes": disk.total,
                "used_bytes": disk.used,
                "free_bytes": disk.free,
                "percent": disk.percent,  # of the space usable by non-root, as df reports it
            },
            "response_times": state.telemetry.recent_summary(),
        }

    @app.get("/api/v2/recommendations")
    async def recommendations(
        response: Response,
        user_id: str | None = Query(default=None, max_length=128),
        x_user_id: str | None = Header(default=None, max_length=128),
    ) -> dict[str, Any]:
        user = user_id or x_user_id or "anonymous"
        start = time.perf_counter()
        await disturb()
        items = state.engine.recommend(user)
        elapsed = time.perf_counter() - start
        state.telemetry.observe_engine(elapsed)
        latency_ms = round(elapsed * 1000.0, 3)
        response.headers[ENGINE_LATENCY_HEADER] = f"{latency_ms:.3f}"
        return {
            "user_id": user,
            "version": state.version,
            "algorithm": state.engine.algorithm,
            "recommendations": items,
            "engine_latency_ms": latency_ms,
        }

    @app.post("/api/v2/chat")
    async def chat(
        body: ChatRequest, x_user_id: str | None = Header(default=None, max_length=128)
    ) -> dict[str, Any]:
        await disturb()
        answer = state.chat.reply(body.message, x_user_id or "anonymous")
        return {"version": state.version, **answer}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if state.leak:
            state.telemetry.leaked_bytes.set(state.leak.leaked_bytes)
        return Response(generate_latest(state.telemetry.registry), media_type=CONTENT_TYPE_LATEST)


def _probe_components(state: DemoState) -> dict[str, dict[str, Any]]:
    """Run a real probe of each dependency; a failing probe marks it down instead of raising."""

    def timed(probe: Any) -> tuple[bool, float]:
        start = time.perf_counter()
        try:
            ok = bool(probe())
        except Exception:  # noqa: BLE001 — a health probe reports failure, it must not raise
            ok = False
        return ok, round((time.perf_counter() - start) * 1000.0, 3)

    db_ok, db_ms = timed(state.store.probe)
    cache_ok, cache_ms = timed(state.cache.probe)
    engine_ok, engine_ms = timed(state.engine.probe)
    return {
        "database": {"status": "ok" if db_ok else "down", "latency_ms": db_ms},
        "cache": {
            "status": "ok" if cache_ok else "down",
            "latency_ms": cache_ms,
            "entries": len(state.cache),
        },
        "recommendation_engine": {
            "status": "ok" if engine_ok else "down",
            "latency_ms": engine_ms,
            "algorithm": state.engine.algorithm,
        },
    }


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory canaria.demo.service:app_from_env``: version and fault from env."""
    return create_app(os.environ.get(ENV_VERSION, "v1"), os.environ.get(ENV_FAULT, "none"))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m canaria.demo.service",
        description="Run the canaria sample service (a miniature ion-api) with uvicorn.",
    )
    parser.add_argument("--port", type=int, default=0, help="listen port; 0 picks a free one (default)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument(
        "--version",
        default=os.environ.get(ENV_VERSION, "v1"),
        help=f"version label, v1 or v2 (env {ENV_VERSION}, default v1)",
    )
    parser.add_argument(
        "--fault",
        choices=FAULTS,
        default=os.environ.get(ENV_FAULT, "none"),
        help=f"fault to inject into /api/v2/* (env {ENV_FAULT}, default none)",
    )
    parser.add_argument("--error-rate", type=float, help="fraction of failed calls for --fault errors")
    parser.add_argument("--extra-latency-ms", type=float, help="added delay for --fault latency")
    parser.add_argument("--leak-mb-per-s", type=float, help="leak rate for --fault memory-leak")
    parser.add_argument("--seed", type=int, help="seed for the error fault's random choices")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM. Exit 2 on bad arguments, 3 if the port cannot be bound."""
    import uvicorn

    args = _parse_args(argv)
    try:
        app = create_app(
            args.version,
            args.fault,
            error_rate=args.error_rate,
            extra_latency_ms=args.extra_latency_ms,
            leak_mb_per_s=args.leak_mb_per_s,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    class AnnouncingServer(uvicorn.Server):
        """Prints the bound URL once the socket accepts requests, so callers can use port 0."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            bound = self.servers[0].sockets[0].getsockname() if self.servers else (args.host, args.port)
            host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            detail = {"version": args.version, "fault": args.fault, "pid": os.getpid()}
            print(f"{READY_PREFIX}http://{host}:{bound[1]} {json.dumps(detail)}", flush=True)

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level=args.log_level,
        workers=1,
        loop="auto",  # uvloop when installed, else asyncio
        lifespan="on",
        server_header=False,
    )
    server = AnnouncingServer(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
