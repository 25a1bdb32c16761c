"""Local platform: stable and canary as processes (or URLs) on this machine, behind the embedded gateway.

What runs where is kept in `<state_dir>/local-<service>.json` so a restarted controller adopts the
processes it started before instead of starting them twice. `supervise()` brings back what canaria runs and has
died — the gateway (it restores its own persisted weights), stable and canary — at a bounded rate (`restarts.py`),
and notices a gateway restarted by someone else by its new boot id.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from canaria.config import CanariaConfig, UpstreamConfig
from canaria.errors import GatewayError, PlatformError
from canaria.foundation.files import read_json_object, write_atomic
from canaria.gateway.client import GatewayClient
from canaria.i18n.text import literal, msg, render
from canaria.platforms.base import HealthResult, Platform, RouteStatus, TesterMatch, Variant, VersionInfo
from canaria.platforms.check_lines import health_result
from canaria.platforms.held_listener import HeldListener
from canaria.platforms.local_gateway import LocalGatewayProcess
from canaria.platforms.local_supervision import LocalSupervision
from canaria.platforms.processes import (
    ManagedProcess,
    command_argv,
    ensure_port_free,
    pid_alive,
    start_process,
    stop_pid,
)
from canaria.platforms.restarts import RestartBudget

__all__ = ["LocalPlatform"]


class LocalPlatform(LocalGatewayProcess, LocalSupervision, Platform):
    kind = "local"
    supports_match = True  # the embedded gateway routes tester requests (admin API `match`)

    def __init__(self, config: CanariaConfig, *, owned: bool = False) -> None:
        self.config = config
        self.owned = owned
        self.gateway = GatewayClient(config)
        self._http = httpx.AsyncClient(timeout=3.0)
        self._procs: dict[str, ManagedProcess] = {}
        self._state_file = config.state_path / f"local-{config.service}.json"
        self._log_dir = config.state_path / "logs"
        self._state: dict[str, Any] = self._load_state()
        self._lock = asyncio.Lock()  # supervision and the controller's actions never start a process twice
        self._budget = RestartBudget(config.platform.supervise.max_restarts, config.platform.supervise.restart_window)
        self._listener = HeldListener(config.gateway.listen)  # the public port, kept bound across gateway restarts
        self._asked_boot: object = None  # the gateway boot last asked for its socket

    # ------------------------------------------------------------ state
    def _load_state(self) -> dict[str, Any]:
        return read_json_object(self._state_file)

    def _save_state(self) -> None:
        write_atomic(self._state_file, json.dumps(self._state, indent=2))

    def upstream_url(self, variant: Variant) -> str | None:
        """Where the variant answers now (after a promotion, stable is the former canary)."""
        return self._upstream_url(variant)

    def _upstream_url(self, variant: Variant) -> str | None:
        entry = self._state.get(variant) or {}
        if entry.get("url"):
            return str(entry["url"])
        spec = self._spec(variant)
        return spec.base_url if spec else None

    def _spec(self, variant: Variant) -> UpstreamConfig | None:
        return self.config.platform.spec(variant)

    def _required(self, variant: Variant) -> UpstreamConfig:
        spec = self._spec(variant)
        if spec is None:
            raise PlatformError(f"platform.{variant} is not configured")
        return spec

    def pid_of(self, variant: Variant) -> int | None:
        proc = self._procs.get(variant)
        if proc is not None:
            return proc.pid if proc.alive() else None
        pid = (self._state.get(variant) or {}).get("pid")
        return int(pid) if pid and pid_alive(int(pid)) else None

    # ------------------------------------------------------------ processes
    def _config_file(self) -> Path:
        if self.config.source_path:
            return Path(self.config.source_path).resolve()
        path = self.config.state_path / f"config-{self.config.service}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.config.model_dump_json(by_alias=True, exclude={"source_path"}))
        return path

    async def _ensure_process(self, variant: Variant, spec: UpstreamConfig) -> None:
        entry = self._state.get(variant) or {}
        if entry.get("pid") and pid_alive(int(entry["pid"])) and entry.get("command") == spec.command:
            return  # adopted from an earlier run
        if spec.command is None:
            self._state[variant] = {"url": spec.base_url}
            self._save_state()
            return
        assert spec.port is not None
        ensure_port_free("127.0.0.1", spec.port)
        env = {"PORT": str(spec.port), **spec.env}
        if spec.memory_limit:
            env.setdefault("CANARIA_MEMORY_LIMIT", str(spec.memory_limit))
        cwd = spec.cwd or str(self.config.base_dir)
        proc = start_process(f"{variant}", command_argv(spec.command), log_dir=self._log_dir, env=env, cwd=cwd,
                             owned=self.owned)
        self._procs[variant] = proc
        self._state[variant] = {"pid": proc.pid, "command": spec.command, "url": spec.base_url,
                                "port": spec.port, "memory_limit": spec.memory_limit}
        self._save_state()
        await self._wait_healthy(variant, spec, proc)

    async def _wait_healthy(self, variant: Variant, spec: UpstreamConfig, proc: ManagedProcess | None) -> None:
        deadline = time.monotonic() + spec.startup_timeout
        last = ""
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                code = proc.exit_code()
                tail = proc.log_tail(3)
                raise PlatformError(f"{variant} process exited with code {code}" + (f" ({tail})" if tail else ""))
            result = await self.health(variant)
            if result.ok:
                return
            last = result.detail
            await asyncio.sleep(0.1)
        raise PlatformError(f"{variant} did not pass {spec.health} within {spec.startup_timeout:g} s ({last})")

    # ------------------------------------------------------------ Platform
    async def ensure_stable(self) -> None:
        async with self._lock:
            await self._ensure_stable()

    async def _ensure_stable(self) -> None:
        if not await self.gateway.alive():  # check every port before starting anything: all or nothing
            self._ensure_gateway_ports_free()
        await self._ensure_process("stable", self._required("stable"))
        await self._ensure_gateway()
        stable_url = self._upstream_url("stable")
        assert stable_url
        state = await self.gateway.state()
        upstreams = state.get("upstreams", {})
        if upstreams.get("stable") != stable_url:
            await self.gateway.set_upstreams(stable_url, upstreams.get("canary"))

    async def start_canary(self) -> None:
        async with self._lock:
            await self._start_canary()

    async def _start_canary(self) -> None:
        canary = self._required("canary")
        await self._ensure_process("canary", canary)
        if canary.url:
            await self._wait_healthy("canary", canary, None)
        stable_url = self._upstream_url("stable")
        canary_url = self._upstream_url("canary")
        assert stable_url
        state = await self.gateway.state()
        if state.get("upstreams", {}).get("canary") != canary_url:
            await self.gateway.set_upstreams(stable_url, canary_url)

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        raw = None if match is None else {"header": match.header, "cookie": match.cookie, "value": match.value}
        await self.gateway.set_route(weight, match=raw)

    async def verify_route(self) -> RouteStatus:
        """The gateway's own state: the weight and tester route its router applies to the next request."""
        state = await self.gateway.state()
        raw = state.get("match")
        match = (TesterMatch(value=str(raw["value"]), header=raw.get("header"), cookie=raw.get("cookie"))
                 if isinstance(raw, dict) else None)
        weight = float(state.get("canary_weight", 0.0))
        return RouteStatus("applied", weight=weight, match=match,
                           detail=f"gateway {self.config.gateway.admin_listen}: canary {weight:g}%")

    async def describe(self) -> dict[Variant, VersionInfo]:
        info: dict[Variant, VersionInfo] = {}
        for variant in ("stable", "canary"):
            spec = self._spec(variant)  # type: ignore[arg-type]
            entry = self._state.get(variant) or {}
            info[variant] = VersionInfo(variant, version=spec.version if spec else None,  # type: ignore[index]
                                        url=self._upstream_url(variant), pid=self.pid_of(variant))  # type: ignore[arg-type]
            if entry.get("command"):
                info[variant].image = str(entry["command"])  # type: ignore[index]
        return info

    async def restart(self, variant: Variant) -> str:
        async with self._lock:
            return await self._restart(variant)

    async def _restart(self, variant: Variant) -> str:
        spec = self._required(variant)
        if spec.restart_command:
            proc = await asyncio.create_subprocess_shell(spec.restart_command, stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.STDOUT)
            output, _ = await proc.communicate()
            if proc.returncode:
                raise PlatformError(f"restart_command for {variant} exited {proc.returncode}: "
                                    f"{output.decode(errors='replace').strip()[-300:]}")
            return f"ran {variant} restart_command"
        if not spec.command:
            raise PlatformError(f"canaria does not run the {variant} (url); set platform.{variant}.restart_command")
        self._stop(variant)
        self._state.pop(variant, None)
        await self._ensure_process(variant, spec)
        return f"restarted the {variant} process (pid {self.pid_of(variant)})"

    async def canary_problem(self) -> str | None:
        spec = self._spec("canary")
        if spec is None or spec.command is None:
            return None
        gave_up = (self._state.get("canary") or {}).get("gave_up")
        if gave_up:
            return str(gave_up)
        if self.config.platform.supervise.enabled:
            return None  # a dead canary is restarted by supervise() until its restart budget is spent
        proc = self._procs.get("canary")
        if proc is not None:
            if not proc.alive():
                return f"canary process exited with code {proc.exit_code()}"
            return None
        pid = (self._state.get("canary") or {}).get("pid")
        if pid and not pid_alive(int(pid)):
            return "canary process is no longer running"
        return None

    async def rollback(self, *, keep_canary: bool = False) -> None:
        async with self._lock:
            await self._rollback(keep_canary=keep_canary)

    async def _rollback(self, *, keep_canary: bool) -> None:
        await self.gateway.set_route(0.0, match=None)
        if not keep_canary:
            self._stop("canary")

    def _stop(self, variant: str) -> None:
        proc = self._procs.pop(variant, None)
        entry = self._state.get(variant) or {}
        pid = proc.pid if proc else entry.get("pid")
        if pid and (entry.get("command") or proc):
            stop_pid(int(pid), popen=proc.popen if proc else None)
        if variant in self._state and entry.get("command"):
            self._state[variant] = {**entry, "pid": None}
            self._save_state()

    async def promote(self) -> None:
        async with self._lock:
            await self._promote()

    async def _promote(self) -> None:
        if self._state.get("canary") == {} and self._state.get("stable"):
            return  # promoted already (a retry after the read-back, or a restarted controller): stable is the new one
        canary_url = self._upstream_url("canary")
        if canary_url is None:
            raise PlatformError("there is no canary to promote")
        # every step routes to the new version, so no request lands on a missing upstream
        await self.gateway.set_weight(100.0)
        await self.gateway.set_upstreams(canary_url, canary_url)
        await self.gateway.set_weight(0.0)
        await self.gateway.set_upstreams(canary_url, None)
        old_stable = self._procs.pop("stable", None)
        old_entry = self._state.get("stable") or {}
        if old_entry.get("command") and (old_entry.get("pid") or old_stable):
            stop_pid(int(old_entry.get("pid") or old_stable.pid),  # type: ignore[union-attr]
                     popen=old_stable.popen if old_stable else None)
        self._state["stable"] = dict(self._state.get("canary") or {"url": canary_url})
        self._state["canary"] = {}
        if "canary" in self._procs:
            self._procs["stable"] = self._procs.pop("canary")
        self._save_state()

    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        spec = self._spec(variant)
        url = self._upstream_url(variant)
        path = (spec.health_detailed if detailed else spec.health) if spec else "/health"
        if url is None:
            return health_result(variant, path, False, None, msg("check.health.no_upstream"))
        try:
            response = await self._http.get(url + path)
        except httpx.HTTPError as exc:
            return health_result(variant, path, False, None, msg(
                "check.health.unreachable", url=url + path, error=literal(f"{type(exc).__name__} {exc}".strip())))
        body: dict[str, object] | None = None
        try:
            parsed = response.json()
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            pass
        ok = response.status_code == 200
        return health_result(variant, path, ok, response.status_code,
                             msg("check.health.answered", url=url + path, status=response.status_code), body)

    def rollback_plan(self) -> list[str]:
        return [render(step, "en") for step in self.rollback_plan_text()]

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        steps = [msg("plan.local.weight_zero", admin=self.config.gateway.admin_listen)]
        canary = self._state.get("canary") or {}
        canary_spec, stable_spec = self._required("canary"), self._required("stable")
        if canary_spec.command and not self.config.platform.keep_canary_on_rollback:
            steps.append(msg("plan.local.stop_canary", pid=canary.get("pid") or msg("plan.local.not_running")))
        else:
            steps.append(msg("plan.local.keep_canary"))
        steps.append(msg("plan.check_stable", url=f"{self._upstream_url('stable')}{stable_spec.health}"))
        return steps

    async def shutdown(self) -> None:
        async with self._lock:
            await self._shutdown()

    async def _shutdown(self) -> None:
        for variant in ("canary", "stable"):
            self._stop(variant)
        proc = self._procs.pop("gateway", None)
        pid = proc.pid if proc else (self._state.get("gateway") or {}).get("pid")
        try:
            await self.gateway.shutdown()
        except GatewayError:
            pass
        if pid:
            stop_pid(int(pid), popen=proc.popen if proc else None, timeout=3.0)
        self._listener.release()
        self._state = {}
        self._save_state()

    async def close(self) -> None:
        self._listener.release()  # a running gateway keeps its own copy; a dead one's clients are refused now
        await self.gateway.close()
        await self._http.aclose()
