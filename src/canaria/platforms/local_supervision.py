"""Supervision of what the local platform runs: the gateway, stable and canary processes.

`supervise()` brings back what canaria started and has died — the gateway (which restores its own persisted
weights), stable and canary — at a bounded rate (`restarts.py`), and notices a gateway restarted by someone else
by its new boot id. A component canaria did not start, or stopped on purpose, is `stopped`, never `down`.
Used as a mixin of `LocalPlatform`, whose state file and process handles it shares.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from canaria.config import CanariaConfig, UpstreamConfig
from canaria.errors import CanariaError
from canaria.gateway.client import GatewayClient
from canaria.platforms.base import ComponentHealth, DataPlaneHealth, HealthResult, Variant
from canaria.platforms.held_listener import HeldListener
from canaria.platforms.processes import ManagedProcess, pid_alive
from canaria.platforms.restarts import RestartBudget

__all__ = ["LocalSupervision"]


class LocalSupervision:
    config: CanariaConfig
    gateway: GatewayClient
    _state: dict[str, Any]
    _procs: dict[str, ManagedProcess]
    _lock: asyncio.Lock
    _budget: RestartBudget
    _listener: HeldListener

    if TYPE_CHECKING:  # provided by LocalPlatform
        def _load_state(self) -> dict[str, Any]: ...
        def _save_state(self) -> None: ...
        def _note_gateway(self, health: dict[str, Any]) -> bool: ...
        def _upstream_url(self, variant: Variant) -> str | None: ...
        def _spec(self, variant: Variant) -> UpstreamConfig | None: ...
        def _required(self, variant: Variant) -> UpstreamConfig: ...
        async def _gateway_health(self) -> dict[str, Any] | None: ...
        async def _start_gateway(self) -> None: ...
        async def _ensure_process(self, variant: Variant, spec: UpstreamConfig) -> None: ...
        async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult: ...

    async def data_plane_health(self, *, canary: bool) -> DataPlaneHealth:
        async with self._lock:
            self._state = self._load_state()
            return await self._check(canary=canary, heal=False)

    async def supervise(self, *, canary: bool) -> DataPlaneHealth:
        async with self._lock:
            self._state = self._load_state()  # another canaria process may have stopped or started something
            return await self._check(canary=canary, heal=self.config.platform.supervise.enabled)

    async def _check(self, *, canary: bool, heal: bool) -> DataPlaneHealth:
        components = [await self._check_gateway(heal=heal), await self._check_version("stable", heal=heal)]
        if canary:
            components.append(await self._check_version("canary", heal=heal))
        return DataPlaneHealth(components)

    async def _check_gateway(self, *, heal: bool) -> ComponentHealth:
        health = await self._gateway_health()
        if health is not None:
            restarted = self._note_gateway(health)
            pid = health.get("pid")
            return ComponentHealth("gateway", "up", "a new gateway boot (restarted outside this controller)"
                                   if restarted else "", pid=pid if isinstance(pid, int) else None,
                                   restarts=len(self._budget.recent(self._state["gateway"], time.time())),
                                   restarted=restarted)
        entry = self._state.get("gateway")
        if not entry:
            return ComponentHealth("gateway", "stopped", "not started by canaria")
        pid = entry.get("pid")
        if pid and pid_alive(int(pid)):
            return ComponentHealth("gateway", "down", f"pid {pid} runs but its admin port does not answer",
                                   pid=int(pid))
        return await self._revive("gateway", entry, heal=heal, start=self._start_gateway)

    async def _check_version(self, variant: Variant, *, heal: bool) -> ComponentHealth:
        entry = self._state.get(variant) or {}
        spec = self._spec(variant)
        if not entry and spec is not None and spec.command:
            return ComponentHealth(variant, "stopped", "not started by canaria")
        if not entry.get("command"):  # a URL canaria does not run: only its health can be told
            if not (entry.get("url") or self._upstream_url(variant)):
                return ComponentHealth(variant, "stopped", "not configured")
            result = await self.health(variant)
            return ComponentHealth(variant, "up" if result.ok else "down", result.detail)
        pid = entry.get("pid")
        if not pid:
            return ComponentHealth(variant, "stopped", "stopped by canaria")
        proc = self._procs.get(variant)
        alive = proc.alive() if proc is not None and proc.pid == int(pid) else pid_alive(int(pid))
        now = time.time()
        if alive:
            return ComponentHealth(variant, "up", pid=int(pid), restarts=len(self._budget.recent(entry, now)))
        code = proc.exit_code() if proc is not None and proc.pid == int(pid) else None
        self._procs.pop(variant, None)
        spec_of_entry = self._spec_of_entry(variant, entry)

        async def start() -> None:
            kept = {k: entry[k] for k in ("restarts",) if k in entry}
            self._state[variant] = {**entry, "pid": None}
            try:
                await self._ensure_process(variant, spec_of_entry)
            finally:
                self._state[variant] = {**(self._state.get(variant) or {}), **kept}
                self._save_state()

        exited = f"pid {pid} exited" + (f" with code {code}" if code is not None else "")
        return await self._revive(variant, entry, heal=heal, start=start, exited=exited)

    def _spec_of_entry(self, variant: Variant, entry: dict[str, Any]) -> UpstreamConfig:
        """After a promotion the stable runs the canary's command: restart it with the spec it came from."""
        for candidate in ("stable", "canary"):
            spec = self._spec(candidate)  # type: ignore[arg-type]
            if spec is not None and spec.command == entry.get("command"):
                return spec
        return self._required(variant)

    async def _revive(self, name: Variant | str, entry: dict[str, Any], *, heal: bool,
                      start: Callable[[], Awaitable[None]], exited: str = "not running") -> ComponentHealth:
        """Start a dead component again within its restart budget; past it, say why it stays down."""
        now = time.time()
        if not heal:
            return ComponentHealth(name, "down", exited, restarts=len(self._budget.recent(entry, now)))
        if not self._budget.allows(entry, now):
            reason = self._budget.exhausted_reason(str(name), entry, now, exited)
            if name == "canary":
                self._state["canary"] = {**entry, "gave_up": reason}
                self._save_state()
            if name == "gateway":  # nobody will accept on the held port: clients are better refused than hung
                self._listener.release()
            return ComponentHealth(name, "down", reason, restarts=len(self._budget.recent(entry, now)))
        self._budget.record(entry, now)
        self._state[str(name)] = entry
        self._save_state()
        try:
            await start()
        except CanariaError as exc:
            return ComponentHealth(name, "down", f"{exited}; restarting failed: {exc}",
                                   restarts=len(self._budget.recent(entry, now)))
        fresh = self._state.get(str(name)) or {}
        pid = fresh.get("pid")
        return ComponentHealth(name, "up", f"{exited}; restarted", pid=int(pid) if pid else None,
                               restarts=len(self._budget.recent(entry, now)), restarted=True)
