"""`platform.kind: nginx`: canaria drives the user's nginx through one include file it owns.

Every route change renders the include (`nginx_conf.py`), installs it with `nginx -t` and a graceful
reload, and restores the previous file when nginx refuses (`nginx_control.py`). `verify_route` asks the
running workers — the include's own status location — which generation and weights they serve, so a
reload that has not taken effect yet is `pending`, never `applied`.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaria.config.platform import NginxPlatformConfig, NginxSettings
from canaria.errors import ConfigError, PlatformError
from canaria.i18n.text import literal, msg, render
from canaria.platforms.access_log import AccessLogSpec, parse_nginx_json
from canaria.platforms.base import PlatformCheck, RouteStatus, TesterMatch
from canaria.platforms.check_lines import check_line, failed_line
from canaria.platforms.nginx_conf import NginxRoute, render_include, status_path, upstream_variable
from canaria.platforms.nginx_control import NginxControl
from canaria.platforms.nginx_dump import REQUIRED_LOG_FIELDS, parse_dump
from canaria.platforms.pool_weights import applied_percent
from canaria.platforms.vm_versions import ProxyPlatform, versions_from_config

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["NginxPlatform"]

_LOAD_WAIT_S = 10.0


class NginxPlatform(ProxyPlatform):
    kind = "nginx"
    supports_match = True

    def __init__(self, config: CanariaConfig, *, owned: bool = False) -> None:
        super().__init__(config, owned=owned)
        if not isinstance(config.platform, NginxPlatformConfig):
            raise ConfigError("the nginx backend needs platform.kind: nginx", field="platform.kind")
        self.settings: NginxSettings = config.platform.nginx
        self.versions = versions_from_config(config, owned=owned)
        include = Path(self.settings.upstream_file)
        self.include = include if include.is_absolute() else config.base_dir / include
        self.control = NginxControl(
            self.include, test_command=self.settings.test_command, reload_command=self.settings.reload_command,
            dump_command=self.settings.dump_command,
            status_url=f"http://{self.settings.status_listen}{status_path(self.settings.upstream_name)}")

    # ------------------------------------------------------------ routing
    def _route(self, weight: float, match: TesterMatch | None, generation: int) -> NginxRoute:
        stable, canary = self.versions.specs["stable"], self.versions.specs["canary"]
        return NginxRoute(self.settings.upstream_name, stable.servers, canary.servers, weight, generation,
                          self.settings.status_listen, header=match.header if match else None,
                          cookie=match.cookie if match else None, value=match.value if match else None)

    def _written(self) -> dict[str, Any]:
        route = self.versions.state.get("route")
        return route if isinstance(route, dict) else {}

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        """Install, test, reload — and return once the workers serve it (a reload nginx's master could
        not carry out, e.g. a port it cannot bind, shows up here: the previous file is put back)."""
        generation = max(int(self._written().get("generation", 0) or 0), await self._loaded_generation()) + 1
        text = render_include(self._route(weight, match, generation))  # ConfigError before anything changes
        previous = await self.control.apply(text)
        if not await self._serves(generation):
            await self.control.restore(previous)
            raise PlatformError(f"nginx did not load the new route within {_LOAD_WAIT_S:g} s after "
                                f"`{self.settings.reload_command}` (nginx's error log says why); previous "
                                f"routing kept")
        self.versions.state["route"] = {"generation": generation, "weight": weight,
                                        "match": match.__dict__ if match else None}
        self.versions.save()

    async def _serves(self, generation: int) -> bool:
        deadline = time.monotonic() + _LOAD_WAIT_S
        while time.monotonic() < deadline:
            if await self._loaded_generation() >= generation:
                return True
            await asyncio.sleep(0.02)
        return False

    async def _loaded_generation(self) -> int:
        loaded = await self.control.loaded()
        return int(loaded.get("generation", 0)) if loaded else 0

    async def verify_route(self) -> RouteStatus:
        loaded = await self.control.loaded()
        if loaded is None:
            return RouteStatus("pending", detail=f"nginx does not serve canaria's status at "
                                                 f"{self.control.status_url} (include not loaded yet?)")
        generation = int(loaded.get("generation", 0))
        wanted = int(self._written().get("generation", 0) or 0)
        servers = loaded.get("servers") or {}
        stable = [int(servers.get(s, 0)) for s in loaded.get("stable") or []]
        canary = [int(servers.get(s, 0)) for s in loaded.get("canary") or []]
        weight = applied_percent(stable, canary)
        raw = loaded.get("match")
        match = TesterMatch(value=str(raw["value"]), header=raw.get("header"), cookie=raw.get("cookie")) \
            if isinstance(raw, dict) and raw.get("value") else None
        detail = (f"nginx serves generation {generation}: upstream {self.settings.upstream_name} weights "
                  f"{sum(stable)}/{sum(canary)}" + (f", testers {match.describe()}" if match else ""))
        if generation < wanted:
            return RouteStatus("pending", weight=weight, match=match,
                               detail=f"{detail}; generation {wanted} not loaded yet")
        return RouteStatus("applied", weight=weight, match=match, detail=detail)

    async def _wait_applied(self) -> RouteStatus:
        deadline = time.monotonic() + _LOAD_WAIT_S
        status = await self.verify_route()
        while status.state != "applied" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            status = await self.verify_route()
        return status

    # ------------------------------------------------------------ lifecycle
    async def ensure_stable(self) -> None:
        await self.versions.ensure("stable")
        written = self._written()
        if not written or await self.control.loaded() is None:
            raw = written.get("match")
            match = TesterMatch(**raw) if isinstance(raw, dict) else None
            await self.set_route(float(written.get("weight", 0.0) or 0.0), match=match)
        status = await self._wait_applied()
        if status.state != "applied":
            raise PlatformError(f"{status.detail}: add `include {self.include};` inside http {{}} "
                                f"and `proxy_pass http://{upstream_variable(self.settings.upstream_name)};`")

    async def start_canary(self) -> None:
        await self.versions.ensure("canary")

    async def canary_problem(self) -> str | None:
        return self.versions.problem("canary")

    def rollback_plan(self) -> list[str]:
        return [render(step, "en") for step in self.rollback_plan_text()]

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        steps = [msg("plan.nginx.rewrite", include=str(self.include), upstream=self.settings.upstream_name),
                 msg("plan.nginx.test_reload", test_command=self.settings.test_command,
                     reload_command=self.settings.reload_command),
                 msg("plan.nginx.read_back", url=self.control.status_url)]
        return steps + self.versions.stop_canary_plan()

    # ------------------------------------------------------------ measurements and checks
    def access_log_source(self) -> AccessLogSpec | None:
        """Where the builtin metrics provider reads requests from (the JSON access log)."""
        if not self.settings.access_log:
            return None
        return AccessLogSpec(self.settings.access_log, parse_nginx_json, self.versions.variant_of)

    async def checks(self) -> list[PlatformCheck]:
        binary = shlex.split(self.settings.test_command)[0]
        found = shutil.which(binary)
        checks = [check_line("nginx: binary", bool(found), literal(found) if found
                             else msg("check.platform.binary_missing", binary=binary))]
        if not found:
            return checks
        include = str(self.include)
        try:
            dump = parse_dump(await self.control.dump())
        except PlatformError as exc:
            if upstream_variable(self.settings.upstream_name)[1:] in str(exc):  # the variable the include defines
                return [*checks, check_line("nginx: configuration", False, msg(
                    "check.nginx.config_needs_include", error=exc.text, include=include))]
            return [*checks, failed_line("nginx: configuration", exc)]
        target = f"http://{upstream_variable(self.settings.upstream_name)}"
        included = dump.includes(include)
        checks.append(check_line("nginx: include", included, msg(
            "check.nginx.included" if included else "check.nginx.add_include", include=include)))
        used = dump.uses_upstream(target, outside=include)
        checks.append(check_line("nginx: proxy_pass", used, msg(
            "check.nginx.proxies" if used else "check.nginx.add_proxy_pass", target=target)))
        if self.settings.access_log:
            checks.append(self._log_check(dump.format_of(self.settings.access_log)))
        loaded = await self.control.loaded()
        checks.append(check_line("nginx: loaded route", True, msg(
            "check.nginx.generation", generation=loaded["generation"]) if loaded else
            msg("check.nginx.not_loaded", url=self.control.status_url), warning=loaded is None))
        return checks

    def _log_check(self, fmt: str | None) -> PlatformCheck:
        path = self.settings.access_log
        missing = [f for f in REQUIRED_LOG_FIELDS if fmt is None or f not in fmt]
        if not missing:
            return check_line("nginx: access log", True, msg("check.nginx.log_fields", path=path))
        return check_line("nginx: access log", False, msg("check.nginx.no_access_log", path=path) if fmt is None
                          else msg("check.nginx.log_lacks", fields=", ".join(missing)))

    async def close(self) -> None:
        await self.control.close()
        await self.versions.close()

    async def shutdown(self) -> None:
        for variant in ("canary", "stable"):
            self.versions.stop(variant)

