"""The two versions behind a VM proxy (nginx, HAProxy): pools of addresses, or a command canaria starts.

Shared by the nginx and HAProxy backends, which differ only in how they route. A version is either a
pool the user runs (`url:` / `urls:`; canaria only checks health) or a `command:` canaria starts on
this VM (`port:`), reusing `processes.py`, with its pid kept in a state file so a restarted controller
adopts it instead of starting it twice. The memory-leak playbook's `restart` restarts what canaria
owns, or runs the user's `restart_command`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from canaria.errors import ConfigError, PlatformError, UsageError
from canaria.foundation.files import read_json_object, write_atomic
from canaria.i18n.text import join, literal, msg
from canaria.platforms.base import HealthResult, Platform, Variant, VersionInfo
from canaria.platforms.check_lines import health_result
from canaria.platforms.nginx_control import run_command
from canaria.platforms.processes import (
    ManagedProcess,
    command_argv,
    ensure_port_free,
    pid_alive,
    start_process,
    stop_pid,
)

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.config.platform import UpstreamConfig

__all__ = ["ProxyPlatform", "VmVersion", "VmVersions", "server_of_url", "versions_from_config"]


def server_of_url(url: str) -> str:
    """`http://10.0.0.5:9001/` → `10.0.0.5:9001` (the form nginx and the access log use)."""
    rest = url.split("://", 1)[-1]
    host_port = rest.split("/", 1)[0]
    if ":" not in host_port.rsplit("]", 1)[-1]:
        host_port += ":443" if url.startswith("https://") else ":80"
    return host_port


@dataclass(frozen=True)
class VmVersion:
    """One version: the servers it answers on and, when canaria runs it, how to start it."""

    variant: Variant
    servers: tuple[str, ...]
    names: tuple[str, ...] = ()  # HAProxy server names in the backend, one per server
    health: str = "/health"
    health_detailed: str = "/health/detailed"
    command: str | None = None
    port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    startup_timeout: float = 30.0
    version: str | None = None
    restart_command: str | None = None
    memory_limit: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.servers[0]}"


def _version(variant: Variant, spec: UpstreamConfig | None, names: tuple[str, ...], base_dir: Path) -> VmVersion:
    if spec is None:
        raise ConfigError("is required (a command, url or urls)", field=f"platform.{variant}")
    servers = tuple(server_of_url(u) for u in spec.all_urls) if not spec.command else (f"127.0.0.1:{spec.port}",)
    return VmVersion(variant=variant, servers=servers, names=names, health=spec.health,
                     health_detailed=spec.health_detailed, command=spec.command, port=spec.port, env=spec.env,
                     cwd=spec.cwd or str(base_dir), startup_timeout=spec.startup_timeout, version=spec.version,
                     restart_command=spec.restart_command, memory_limit=spec.memory_limit)


def versions_from_config(config: CanariaConfig, *, owned: bool,
                         names: dict[Variant, tuple[str, ...]] | None = None) -> VmVersions:
    """The two versions of `platform.stable` / `platform.canary`, their state kept per service and kind."""
    platform = config.platform
    names = names or {}
    return VmVersions(_version("stable", platform.stable, names.get("stable", ()), config.base_dir),
                      _version("canary", platform.canary, names.get("canary", ()), config.base_dir),
                      state_file=config.state_path / f"{platform.kind}-{config.service}.json",
                      log_dir=config.state_path / "logs", owned=owned)


class VmVersions:
    def __init__(self, stable: VmVersion, canary: VmVersion, *, state_file: Path, log_dir: Path,
                 owned: bool = False) -> None:
        self.specs: dict[Variant, VmVersion] = {"stable": stable, "canary": canary}
        self.state_file = state_file
        self.log_dir = log_dir
        self.owned = owned
        self._procs: dict[Variant, ManagedProcess] = {}
        self._http = httpx.AsyncClient(timeout=3.0, trust_env=False)
        self.state: dict[str, Any] = self._load()

    # ------------------------------------------------------------ state
    def _load(self) -> dict[str, Any]:
        return read_json_object(self.state_file)

    def save(self) -> None:
        write_atomic(self.state_file, json.dumps(self.state, indent=2))

    @property
    def promoted(self) -> bool:
        return bool(self.state.get("promoted"))

    def serving(self, variant: Variant) -> VmVersion:
        """What runs as `variant` now: after a promotion the former canary is the stable version."""
        if self.promoted and variant == "stable":
            return self.specs["canary"]
        return self.specs[variant]

    def variant_of(self, server: str) -> Variant | None:
        """Which variant a server (address or HAProxy name) in an access-log line belongs to."""
        for variant in ("canary", "stable"):
            spec = self.specs[variant]  # type: ignore[index]
            if server in spec.servers or server in spec.names:
                return variant  # type: ignore[return-value]
        return None

    # ------------------------------------------------------------ processes
    def pid_of(self, variant: Variant) -> int | None:
        key = self._key(variant)
        proc = self._procs.get(key)
        if proc is not None:
            return proc.pid if proc.alive() else None
        pid = (self.state.get("pids") or {}).get(key)
        return int(pid) if pid and pid_alive(int(pid)) else None

    def stop_canary_plan(self) -> list[dict[str, Any]]:
        """The rollback-plan step the proxy backends share: stopping the canary canaria runs (none when it
        runs none). The words are the local backend's, so its catalogue keys are shared."""
        if not self.specs["canary"].command:
            return []
        return [msg("plan.local.stop_canary", pid=self.pid_of("canary") or msg("plan.local.not_running"))]

    def _key(self, variant: Variant) -> Variant:
        return "canary" if self.promoted and variant == "stable" else variant

    async def ensure(self, variant: Variant) -> None:
        """Start the version when canaria runs it and it is not running; wait until it is healthy."""
        spec = self.specs[variant]
        if spec.command and self.pid_of(variant) is None:
            assert spec.port is not None
            ensure_port_free("127.0.0.1", spec.port)
            env = {"PORT": str(spec.port), **spec.env}
            proc = start_process(variant, command_argv(spec.command), log_dir=self.log_dir, env=env,
                                 cwd=spec.cwd, owned=self.owned)
            self._procs[variant] = proc
            self.state.setdefault("pids", {})[variant] = proc.pid
            self.save()
        await self.wait_healthy(variant)

    async def wait_healthy(self, variant: Variant) -> None:
        spec = self.specs[variant]
        deadline = time.monotonic() + spec.startup_timeout
        last = ""
        while time.monotonic() < deadline:
            problem = self.problem(variant)
            if problem:
                raise PlatformError(problem)
            result = await self.health(variant)
            if result.ok:
                return
            last = result.detail
            await asyncio.sleep(0.1)
        raise PlatformError(f"{variant} did not pass {spec.health} within {spec.startup_timeout:g} s ({last})")

    def problem(self, variant: Variant) -> str | None:
        spec = self.specs[variant]
        if not spec.command:
            return None
        proc = self._procs.get(variant)
        if proc is not None and not proc.alive():
            tail = proc.log_tail(3)
            return f"{variant} process exited with code {proc.exit_code()}" + (f" ({tail})" if tail else "")
        pid = (self.state.get("pids") or {}).get(variant)
        if proc is None and pid and not pid_alive(int(pid)):
            return f"{variant} process (pid {pid}) is no longer running"
        return None

    def stop(self, variant: Variant) -> None:
        proc = self._procs.pop(variant, None)
        pid = proc.pid if proc else (self.state.get("pids") or {}).get(variant)
        if pid and self.specs[variant].command:
            stop_pid(int(pid), popen=proc.popen if proc else None)
        if variant in (self.state.get("pids") or {}):
            self.state["pids"][variant] = None
            self.save()

    async def restart(self, variant: Variant) -> str:
        spec = self.serving(variant)
        if spec.restart_command:
            result = await run_command(spec.restart_command, timeout=120.0)
            if result.returncode != 0:
                last = result.output.strip().splitlines()[-1:] or ["no output"]
                raise PlatformError(f"restart_command of the {variant} failed ({result.returncode}): {last[0]}")
            await self.wait_healthy(spec.variant)
            return f"ran {spec.restart_command!r}"
        if spec.command:
            self.stop(spec.variant)
            await self.ensure(spec.variant)
            return f"restarted the {variant} process (pid {self.pid_of(variant)})"
        raise UsageError(f"canaria does not run the {variant} here: give it a `command:` or a `restart_command:`")

    # ------------------------------------------------------------ health and description
    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        spec = self.serving(variant)
        path = spec.health_detailed if detailed else spec.health
        failures: list[dict[str, Any]] = []
        body: dict[str, object] | None = None
        status = None
        for server in spec.servers:  # health is per server: one bad pool member is a failure
            url = f"http://{server}{path}"
            try:
                response = await self._http.get(url)
            except httpx.HTTPError as exc:
                failures.append(msg("check.health.unreachable", url=url,
                                    error=literal(f"{type(exc).__name__} {exc}".strip())))
                continue
            status = response.status_code
            if status != 200:
                failures.append(msg("check.health.answered", url=url, status=status))
            elif body is None:
                try:
                    parsed = response.json()
                    body = parsed if isinstance(parsed, dict) else None
                except ValueError:
                    pass
        text = join(failures) if failures else msg("check.health.servers_ok", servers=len(spec.servers), path=path)
        return health_result(variant, path, not failures, status, text, body)

    def describe(self) -> dict[Variant, VersionInfo]:
        out: dict[Variant, VersionInfo] = {}
        for variant in ("stable", "canary"):
            spec = self.serving(variant)  # type: ignore[arg-type]
            out[variant] = VersionInfo(  # type: ignore[index]
                variant=variant,  # type: ignore[arg-type]
                version=spec.version, url=spec.url, pid=self.pid_of(variant),  # type: ignore[arg-type]
                servers=[f"{n}={s}" if n else s for n, s in zip(spec.names or ("",) * len(spec.servers),
                                                                 spec.servers, strict=False)])
        return out

    async def close(self) -> None:
        await self._http.aclose()


class ProxyPlatform(Platform):
    """What the nginx and HAProxy backends share: both versions are VmVersions; rollback and promotion are routes."""

    versions: VmVersions

    async def rollback(self, *, keep_canary: bool = False) -> None:
        await self.set_route(0.0)
        if not keep_canary:
            self.versions.stop("canary")

    async def promote(self) -> None:
        await self.set_route(100.0)
        if self.versions.specs["stable"].command and not self.versions.promoted:
            self.versions.stop("stable")
        self.versions.state["promoted"] = True
        self.versions.save()

    async def restart(self, variant: Variant) -> str:
        return await self.versions.restart(variant)

    async def describe(self) -> dict[Variant, VersionInfo]:
        return self.versions.describe()

    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        return await self.versions.health(variant, detailed=detailed)

    def pid_of(self, variant: Variant) -> int | None:
        return self.versions.pid_of(variant)

    def upstream_url(self, variant: Variant) -> str | None:
        return self.versions.serving(variant).url
