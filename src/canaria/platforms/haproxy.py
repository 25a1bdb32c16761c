"""`platform.kind: haproxy`: canaria drives the user's HAProxy through its runtime API, with no reload.

Weights are server weights in the user's backend (`set server BE/SRV weight N`), read back with
`show servers state`. Tester routes are entries of a map the user's backend names in one line::

    use-server canary if { req.hdr(X-Canary),map_str(/etc/haproxy/canaria-ion-api.map) -m found }

canaria edits the loaded map over the runtime API and rewrites the file too, so a reload keeps the
route. Runtime weights are lost on a reload without `load-server-state-from-file`; `verify_route`
notices that HAProxy no longer applies what canaria set, re-applies it and says `pending`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaria.config.platform import HaproxyPlatformConfig, HaproxySettings
from canaria.errors import ConfigError, PlatformError
from canaria.foundation.files import write_atomic
from canaria.i18n.text import join, literal, msg, render
from canaria.platforms.access_log import AccessLogSpec, parse_haproxy
from canaria.platforms.base import PlatformCheck, RouteStatus, TesterMatch, Variant
from canaria.platforms.check_lines import check_line, failed_line
from canaria.platforms.haproxy_runtime import HaproxyRuntime
from canaria.platforms.pool_weights import applied_percent, server_weights
from canaria.platforms.syslog_receiver import is_syslog_target
from canaria.platforms.vm_versions import ProxyPlatform, versions_from_config

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["HaproxyPlatform", "MAX_WEIGHT"]

MAX_WEIGHT = 256  # HAProxy's ceiling for a server weight


def _write_map(path: str, entries: dict[str, str]) -> None:
    write_atomic(Path(path), "".join(f"{key} {value}\n" for key, value in entries.items()))


class HaproxyPlatform(ProxyPlatform):
    kind = "haproxy"
    supports_match = True

    def __init__(self, config: CanariaConfig, *, owned: bool = False) -> None:
        super().__init__(config, owned=owned)
        if not isinstance(config.platform, HaproxyPlatformConfig):
            raise ConfigError("the haproxy backend needs platform.kind: haproxy", field="platform.kind")
        self.settings: HaproxySettings = config.platform.haproxy
        names = {"stable": tuple(self.settings.stable_servers or [self.settings.stable_server]),
                 "canary": tuple(self.settings.canary_servers or [self.settings.canary_server])}
        self.versions = versions_from_config(config, owned=owned, names=names)  # type: ignore[arg-type]
        for variant in ("stable", "canary"):
            spec = self.versions.specs[variant]  # type: ignore[index]
            if len(spec.names) != len(spec.servers):
                raise ConfigError(f"name one server of backend {self.settings.backend} per {variant} url",
                                  field=f"platform.haproxy.{variant}_servers")
        self.api = HaproxyRuntime(self.settings.runtime_api)

    def _names(self, variant: Variant) -> tuple[str, ...]:
        return self.versions.specs[variant].names

    def _targets(self, weight: float) -> dict[str, int]:
        stable, canary = self._names("stable"), self._names("canary")
        stable_w, canary_w = server_weights(weight, len(stable), len(canary), maximum=MAX_WEIGHT)
        return {**{name: canary_w for name in canary}, **{name: stable_w for name in stable}}

    def _written(self) -> dict[str, Any]:
        route = self.versions.state.get("route")
        return route if isinstance(route, dict) else {}

    async def _weights(self) -> dict[str, int]:
        states = {s.name: s for s in await self.api.servers(self.settings.backend)}
        missing = [n for n in (*self._names("stable"), *self._names("canary")) if n not in states]
        if missing:
            said = {"backend": self.settings.backend, "servers": ", ".join(missing)}
            raise PlatformError(f"backend {said['backend']} has no server {said['servers']}",
                                key="error.haproxy.no_server", params=said)
        return {name: states[name].weight for name in (*self._names("stable"), *self._names("canary"))}

    async def _apply_weights(self, targets: dict[str, int], current: dict[str, int] | None = None) -> None:
        """Raise weights before lowering others. Measured on HAProxy 2.6: lowering the only serving server
        first (100 % canary → 10 %) can leave round robin sending nothing to it for hundreds of requests."""
        order = sorted(targets, key=lambda n: targets[n] - (current or {}).get(n, 0), reverse=True)
        await self.api.set_weights(self.settings.backend, [(name, targets[name]) for name in order])

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        targets = self._targets(weight)
        if match is not None and not self.settings.map_file:
            raise ConfigError("a tester route on HAProxy needs `map_file` and the use-server line that names it",
                              field="platform.haproxy.map_file")
        previous = await self._weights()
        try:
            await self._apply_weights(targets, previous)
            if self.settings.map_file:
                await self._apply_match(match)
        except PlatformError:
            try:
                await self._apply_weights(previous, targets)
            except PlatformError:
                pass
            raise
        self.versions.state["route"] = {"weight": weight, "weights": targets,
                                        "match": match.__dict__ if match else None}
        self.versions.save()

    async def _apply_match(self, match: TesterMatch | None) -> None:
        assert self.settings.map_file
        entries = {match.value: self._names("canary")[0]} if match else {}
        current = await self.api.show_map(self.settings.map_file)
        if current != entries:
            await self.api.clear_map(self.settings.map_file)
            for key, value in entries.items():
                await self.api.add_map(self.settings.map_file, key, value)
        try:
            _write_map(self.settings.map_file, entries)
        except OSError as exc:
            raise PlatformError(f"cannot write {self.settings.map_file} (kept for HAProxy reloads): "
                                f"{exc.strerror or exc}") from None

    async def verify_route(self) -> RouteStatus:
        weights = await self._weights()
        stable = [weights[n] for n in self._names("stable")]
        canary = [weights[n] for n in self._names("canary")]
        percent = applied_percent(stable, canary)
        match: TesterMatch | None = None
        written = self._written()
        if self.settings.map_file:
            entries = await self.api.show_map(self.settings.map_file)
            if entries:
                raw = written.get("match") or {}
                value = next(iter(entries))
                match = TesterMatch(value=value, header=raw.get("header") or "X-Canary", cookie=raw.get("cookie"))
        detail = (f"HAProxy {self.settings.backend}: " + ", ".join(f"{n} weight {w}" for n, w in weights.items())
                  + (f", testers {match.describe()}" if match else ""))
        asked = written.get("weight")
        approximate = isinstance(asked, (int, float)) and percent is not None and abs(percent - asked) > 0.01
        if approximate:
            detail += f" (≈ {asked:g}%: HAProxy weights are whole numbers up to {MAX_WEIGHT})"
        wanted = written.get("weights")
        if isinstance(wanted, dict) and {k: int(v) for k, v in wanted.items()} != weights:
            await self._apply_weights({k: int(v) for k, v in wanted.items()}, weights)  # lost on a reload
            return RouteStatus("pending", weight=percent, match=match, approximate=approximate,
                               detail=f"{detail}; not what canaria set (HAProxy reloaded?), re-applied")
        return RouteStatus("applied", weight=percent, match=match, detail=detail, approximate=approximate)

    # ------------------------------------------------------------ lifecycle
    async def ensure_stable(self) -> None:
        await self.versions.ensure("stable")
        await self.api.version()
        await self._weights()

    async def start_canary(self) -> None:
        await self.versions.ensure("canary")

    async def canary_problem(self) -> str | None:
        problem = self.versions.problem("canary")
        if problem:
            return problem
        try:
            states = {s.name: s for s in await self.api.servers(self.settings.backend)}
        except PlatformError:
            return None
        down = [n for n in self._names("canary") if n in states and not states[n].serving]
        return f"HAProxy marks canary server(s) {', '.join(down)} down" if down else None

    def rollback_plan(self) -> list[str]:
        return [render(step, "en") for step in self.rollback_plan_text()]

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        steps = [msg("plan.haproxy.weight_zero", runtime_api=self.settings.runtime_api, backend=self.settings.backend,
                     server=name) for name in self._names("canary")]
        if self.settings.map_file:
            steps.append(msg("plan.haproxy.clear_map", map_file=self.settings.map_file))
        steps.append(msg("plan.haproxy.read_back"))
        return steps + self.versions.stop_canary_plan()

    # ------------------------------------------------------------ measurements and checks
    def access_log_source(self) -> AccessLogSpec | None:
        if not self.settings.access_log:
            return None
        return AccessLogSpec(self.settings.access_log, parse_haproxy, self.versions.variant_of)

    async def checks(self) -> list[PlatformCheck]:
        address = self.settings.runtime_api
        if address.startswith("/") and not os.path.exists(address):
            return [check_line("haproxy: runtime API", False, msg("check.haproxy.no_socket", address=address))]
        try:
            version = await self.api.version()
        except PlatformError as exc:
            return [failed_line("haproxy: runtime API", exc)]
        checks = [check_line("haproxy: runtime API", True, msg("check.haproxy.answers", version=version,
                                                                address=address))]
        try:
            weights = await self._weights()
            checks.append(check_line("haproxy: servers", True, join(
                [msg("check.haproxy.server_weight", server=n, weight=w) for n, w in weights.items()], ", ")))
        except PlatformError as exc:
            checks.append(failed_line("haproxy: servers", exc))
        if self.settings.map_file:
            loaded = self.settings.map_file in await self.api.maps()
            checks.append(check_line("haproxy: tester map", loaded, msg(
                "check.haproxy.map_loaded" if loaded else "check.haproxy.map_missing", map_file=self.settings.map_file)))
        checks.append(self._log_check())
        return checks

    def _log_check(self) -> PlatformCheck:
        target = self.settings.access_log
        if not target:
            return check_line("haproxy: access log", True, msg("check.haproxy.no_access_log"), warning=True)
        if is_syslog_target(target):
            return check_line("haproxy: access log", True, msg("check.haproxy.syslog", target=target))
        try:
            with open(target, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 65536))
                tail = fh.read().decode(errors="replace").splitlines()
        except OSError as exc:
            return check_line("haproxy: access log", False, msg("check.haproxy.log_unreadable", target=target,
                                                                reason=literal(str(exc.strerror or exc))))
        marked = any(parse_haproxy(line) for line in tail)
        return check_line("haproxy: access log", True, msg(
            "check.haproxy.log_marked" if marked else "check.haproxy.log_unmarked", target=target),
            warning=not marked)

    async def close(self) -> None:
        await self.versions.close()

    async def shutdown(self) -> None:
        for variant in ("canary", "stable"):
            self.versions.stop(variant)  # type: ignore[arg-type]
