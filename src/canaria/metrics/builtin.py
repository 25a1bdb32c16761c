"""Builtin provider: request counts and latency histograms from the embedded gateway — or, on nginx and
HAProxy, from the proxy's access log — memory and CPU of each version's process (psutil), else the memory
figure its /health/detailed reports."""

from __future__ import annotations

import os
from typing import Any

import httpx
import psutil

from canaria.analysis.window import VariantWindow, Window
from canaria.config import CanariaConfig
from canaria.errors import GatewayError
from canaria.gateway.client import GatewayClient
from canaria.i18n.text import msg
from canaria.metrics.access_log import access_log_of
from canaria.metrics.base import MetricsProvider, ProviderCheck
from canaria.metrics.exposition import ScrapeState, parse_exposition
from canaria.platforms.base import Platform, Variant

__all__ = ["BuiltinMetricsProvider"]


class BuiltinMetricsProvider(MetricsProvider):
    def __init__(self, config: CanariaConfig, platform: Platform) -> None:
        self.config = config
        self.platform = platform
        self.gateway = GatewayClient(config)
        self._procs: dict[int, psutil.Process] = {}
        self._scrapes = ScrapeState()
        self._http = httpx.AsyncClient(timeout=2.0)
        self._access_log = access_log_of(platform)  # nginx/HAProxy: the proxy's log, not the gateway

    async def close(self) -> None:
        await self.gateway.close()
        await self._http.aclose()
        if self._access_log is not None:
            await self._access_log.close()

    async def _counts(self, *, cut: bool) -> dict[str, Any]:
        if self._access_log is None:
            return await self.gateway.window(cut=cut)
        await self._access_log.start()
        snapshot = self._access_log.window(cut=cut)
        return {"control": snapshot.control.to_dict(), "canary": snapshot.canary.to_dict()}

    async def _custom(self, variant: Variant, *, commit: bool) -> dict[str, float]:
        """Custom metrics from the version's own /metrics; a version that does not answer has none."""
        metrics = self.config.metrics.custom
        if not metrics:
            return {}
        spec = self.config.platform.spec(variant)
        url = self.platform.upstream_url(variant) or (spec.base_url if spec else None)
        if not url:
            return {}
        try:
            response = await self._http.get(url + self.config.metrics.scrape_path)
            response.raise_for_status()
            text = response.text
        except httpx.HTTPError:
            return {}
        values: dict[str, float] = {}
        for metric in metrics:
            try:
                current = parse_exposition(text, metric)
            except ValueError:
                continue
            value = self._scrapes.window_value(variant, metric, current, commit=commit)
            if value is not None:
                values[metric.name] = value
        return values

    def _limit(self, variant: Variant) -> int | None:
        spec = self.config.platform.spec(variant)
        return spec.memory_limit if spec else None

    def _process(self, pid: int) -> psutil.Process | None:
        proc = self._procs.get(pid)
        if proc is None:
            try:
                proc = psutil.Process(pid)
                proc.cpu_percent(None)  # prime: the next call measures since now
            except psutil.Error:
                return None
            self._procs[pid] = proc
        return proc

    def _tree_usage(self, pid: int) -> tuple[int, float] | None:
        """RSS bytes and CPU % (of one core) of a process and its children (shell-started commands)."""
        root = self._process(pid)
        if root is None:
            return None
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            members = [root]
        rss = 0
        cpu = 0.0
        for member in members:
            proc = self._process(member.pid) or member
            try:
                rss += proc.memory_info().rss
                cpu += proc.cpu_percent(None)
            except psutil.Error:
                continue
        return rss, cpu

    async def _saturation(self, variant: Variant) -> tuple[float | None, float | None]:
        pid = self.platform.pid_of(variant)
        if pid:
            usage = self._tree_usage(pid)
            if usage is not None:
                rss, cpu = usage
                limit = self._limit(variant) or psutil.virtual_memory().total
                return 100.0 * rss / limit, cpu
        result = await self.platform.health(variant, detailed=True)
        memory = (result.body or {}).get("memory") if result.ok else None
        if isinstance(memory, dict) and isinstance(memory.get("percent"), (int, float)):
            return float(memory["percent"]), None
        return None, None

    async def _variant(self, data: dict[str, Any], variant: Variant, *, cut: bool) -> VariantWindow:
        window = VariantWindow.from_dict(data)
        window.memory_pct, window.cpu_pct = await self._saturation(variant)
        window.custom.update(await self._custom(variant, commit=cut))
        return window

    async def read_window(self, *, start: float, end: float, stage_index: int, canary_weight: float,
                          cut: bool = True) -> Window:
        data = await self._counts(cut=cut)
        control = await self._variant(data.get("control", {}), "stable", cut=cut)
        canary = await self._variant(data.get("canary", {}), "canary", cut=cut)
        return Window(start=start, end=end, control=control, canary=canary,
                      canary_weight=canary_weight, stage_index=stage_index)

    async def read_baseline(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        """From the proxy's access log file, when it still holds that span; the gateway's meter has no past."""
        if self._access_log is None:
            return []
        return await self._access_log.history(start=start, end=end, interval=interval)

    async def _counts_check(self) -> ProviderCheck:
        source = self._access_log
        if source is not None:
            if source.is_file and not os.access(source.target, os.R_OK):
                return ProviderCheck("metrics: access log", False, f"cannot read {source.target}",
                                     msg("check.metrics.access_log_unreadable", target=str(source.target)))
            return ProviderCheck("metrics: access log", True, f"requests counted from {source.target}",
                                 msg("check.metrics.access_log", target=str(source.target)))
        try:
            state = await self.gateway.state()
        except GatewayError as exc:
            return ProviderCheck("metrics: gateway measurements", False, str(exc), exc.text)
        weight = f"{state.get('canary_weight', 0):g}"
        return ProviderCheck("metrics: gateway measurements", True, f"gateway answers (canary weight {weight}%)",
                             msg("check.metrics.gateway_answers", weight=weight))

    async def check(self) -> list[ProviderCheck]:
        counts = await self._counts_check()
        if not counts.ok:
            return [counts]
        checks = [counts]
        for variant in ("stable", "canary"):
            spec = self.config.platform.spec(variant)
            if spec is not None and spec.command and self.platform.pid_of(variant) is None:  # type: ignore[arg-type]
                checks.append(ProviderCheck(f"metrics: {variant} memory", True,
                                            "measured once canaria starts the process",
                                            msg("check.metrics.memory_later")))
                continue
            memory, _cpu = await self._saturation(variant)  # type: ignore[arg-type]
            checks.append(ProviderCheck(
                f"metrics: {variant} memory", memory is not None,
                f"{memory:.1f}%" if memory is not None else "no process and no memory in /health/detailed",
                None if memory is not None else msg("check.metrics.memory_none")))
        return checks
