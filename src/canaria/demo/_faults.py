"""Fault injection for the sample service: the three ways a bad canary fails in the runbook.

Faults touch only `/api/v2/*`, never `/health`: in real incidents the health check stays green
while users suffer, and the controller must notice from request metrics, not from liveness.
The memory leak is real (pages are written so RSS grows) but capped, so a demo can never hurt
the machine it runs on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psutil

__all__ = [
    "ENV_ERROR_RATE",
    "ENV_EXTRA_LATENCY_MS",
    "ENV_FAULT",
    "ENV_LEAK_CAP_MB",
    "ENV_LEAK_MB_PER_S",
    "ENV_SEED",
    "ENV_VERSION",
    "FAULTS",
    "FaultInjector",
    "FaultSettings",
    "MemoryLeak",
]

FAULTS = ("none", "errors", "latency", "memory-leak")

ENV_VERSION = "CANARIA_DEMO_VERSION"
ENV_FAULT = "CANARIA_DEMO_FAULT"
ENV_ERROR_RATE = "CANARIA_DEMO_ERROR_RATE"
ENV_EXTRA_LATENCY_MS = "CANARIA_DEMO_EXTRA_LATENCY_MS"
ENV_LEAK_MB_PER_S = "CANARIA_DEMO_LEAK_MB_PER_S"
ENV_LEAK_CAP_MB = "CANARIA_DEMO_LEAK_CAP_MB"
ENV_SEED = "CANARIA_DEMO_SEED"

DEFAULT_ERROR_RATE = 0.20
DEFAULT_EXTRA_LATENCY_MS = 650.0
DEFAULT_LEAK_MB_PER_S = 4.0
#: Hard ceiling of the leak; it is further limited to half the memory available at start.
MAX_LEAK_CAP_MB = 1536.0

_MB = 1024 * 1024
_PAGE = 4096
_CHUNK_MAX = 8 * _MB


def _env_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Which fault is active and how strong it is; explicit arguments beat the environment."""

    fault: str = "none"
    error_rate: float = DEFAULT_ERROR_RATE
    extra_latency_ms: float = DEFAULT_EXTRA_LATENCY_MS
    leak_mb_per_s: float = DEFAULT_LEAK_MB_PER_S
    leak_cap_mb: float = MAX_LEAK_CAP_MB
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {', '.join(FAULTS)}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error rate must be within 0..1, got {self.error_rate}")
        if self.extra_latency_ms < 0 or self.leak_mb_per_s < 0 or self.leak_cap_mb < 0:
            raise ValueError("fault strengths must not be negative")

    @classmethod
    def resolve(
        cls,
        fault: str,
        env: Mapping[str, str],
        *,
        error_rate: float | None = None,
        extra_latency_ms: float | None = None,
        leak_mb_per_s: float | None = None,
        seed: int | None = None,
    ) -> FaultSettings:
        def pick(explicit: float | None, name: str, default: float) -> float:
            if explicit is not None:
                return explicit
            from_env = _env_float(env, name)
            return default if from_env is None else from_env

        env_seed = _env_float(env, ENV_SEED)
        return cls(
            fault=fault,
            error_rate=pick(error_rate, ENV_ERROR_RATE, DEFAULT_ERROR_RATE),
            extra_latency_ms=pick(extra_latency_ms, ENV_EXTRA_LATENCY_MS, DEFAULT_EXTRA_LATENCY_MS),
            leak_mb_per_s=pick(leak_mb_per_s, ENV_LEAK_MB_PER_S, DEFAULT_LEAK_MB_PER_S),
            leak_cap_mb=min(pick(None, ENV_LEAK_CAP_MB, MAX_LEAK_CAP_MB), MAX_LEAK_CAP_MB),
            seed=seed if seed is not None else (int(env_seed) if env_seed is not None else None),
        )


class FaultInjector:
    """Decides, per API request, whether to delay it and whether to fail it."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self.injected_errors = 0

    async def delay(self) -> None:
        """Sleep for the configured extra latency when the latency fault is active."""
        if self.settings.fault == "latency" and self.settings.extra_latency_ms > 0:
            await asyncio.sleep(self.settings.extra_latency_ms / 1000.0)

    def should_fail(self) -> bool:
        """True for about `error_rate` of calls when the errors fault is active."""
        if self.settings.fault != "errors":
            return False
        if self._rng.random() < self.settings.error_rate:
            self.injected_errors += 1
            return True
        return False


class MemoryLeak:
    """Retains `mb_per_s` MB for every second since `started_at`, up to a cap.

    The target is computed from elapsed time rather than counted per tick, so a stalled event loop
    catches up instead of drifting, and the leak is a pure function of uptime (predictable demos).
    """

    def __init__(
        self,
        mb_per_s: float,
        cap_mb: float,
        *,
        started_at: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        available_mb = psutil.virtual_memory().available / _MB
        self.cap_bytes = int(min(cap_mb, MAX_LEAK_CAP_MB, available_mb / 2) * _MB)
        self.bytes_per_s = mb_per_s * _MB
        self.started_at = started_at
        self._clock = clock
        self._retained: list[bytearray] = []
        self.leaked_bytes = 0

    def target_bytes(self) -> int:
        elapsed = max(0.0, self._clock() - self.started_at)
        return min(self.cap_bytes, int(self.bytes_per_s * elapsed))

    def top_up(self) -> int:
        """Allocate up to the current target; returns the bytes added this call."""
        target = self.target_bytes()
        added = 0
        while self.leaked_bytes < target:
            size = min(target - self.leaked_bytes, _CHUNK_MAX)
            chunk = bytearray(size)
            # calloc'd memory is not resident until written: touch one byte per page.
            pages = (size + _PAGE - 1) // _PAGE
            chunk[::_PAGE] = b"\x01" * pages
            self._retained.append(chunk)
            self.leaked_bytes += size
            added += size
        return added

    async def run(self, interval_s: float = 0.1) -> None:
        """Top up forever (until cancelled)."""
        while True:
            self.top_up()
            await asyncio.sleep(interval_s)

    def release(self) -> None:
        self._retained.clear()
        self.leaked_bytes = 0
