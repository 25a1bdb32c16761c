"""The interface every platform backend implements (local processes + gateway, later nginx, k8s...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

__all__ = ["Platform", "HealthResult", "Variant"]

Variant = Literal["stable", "canary"]


@dataclass
class HealthResult:
    variant: Variant
    path: str
    ok: bool
    status: int | None
    detail: str
    body: dict[str, object] | None = None


class Platform(ABC):
    """Start, route, check and retire the two versions. Every method is idempotent."""

    @abstractmethod
    async def ensure_stable(self) -> None:
        """The stable version and the router are up and serving (started if needed)."""

    @abstractmethod
    async def start_canary(self) -> None:
        """Start the canary version (if canaria runs it) and wait until its health path answers."""

    @abstractmethod
    async def set_canary_weight(self, percent: float) -> None:
        """Route `percent` of requests to the canary, atomically."""

    @abstractmethod
    async def canary_weight(self) -> float:
        """The weight the router applies right now."""

    @abstractmethod
    async def canary_problem(self) -> str | None:
        """Why the canary cannot serve (e.g. its process exited), or None when it looks alive."""

    @abstractmethod
    async def rollback(self, *, keep_canary: bool = False) -> None:
        """All traffic to stable; stop the canary unless asked to keep it for debugging."""

    @abstractmethod
    async def promote(self) -> None:
        """The canary becomes the new stable and gets all traffic; the old stable is retired."""

    @abstractmethod
    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        """GET the variant's /health (or /health/detailed)."""

    @abstractmethod
    def rollback_plan(self) -> list[str]:
        """What `rollback` would do, step by step, for `--dry-run`."""

    @abstractmethod
    def pid_of(self, variant: Variant) -> int | None:
        """The OS process of a variant when canaria runs it locally (for memory/CPU readings)."""

    async def shutdown(self) -> None:
        """Stop everything this platform started (demo and tests). Real runs leave the service up."""

    async def close(self) -> None:
        """Release clients; the service keeps running."""
