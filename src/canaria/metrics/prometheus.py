"""Prometheus provider: each window's control-vs-canary measurements from PromQL instant queries, and the
stable version's windows before the rollout from the same queries as range queries (`read_baseline`).

The judge needs evidence, not ratios: request and error *counts* (`increase` over the window) and the
latency *histogram* (`increase` of every `le` bucket), so its statistics can weigh sample sizes exactly
as with the embedded gateway. Everything is asked at the window's end time, so re-reading a window gives
the same answer and `cut` changes nothing here.

No series means no data (0 requests): the judge's no-data policy decides, it is never a pass. A query
that returns several series where one is meant is an error, because summing them silently could mix
versions.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, TypeVar

import httpx

from canaria.analysis.window import VariantWindow, Window
from canaria.config.prometheus import PrometheusConfig, render, template_names
from canaria.errors import ConfigError, MetricsError
from canaria.foundation.histogram import LatencyHistogram
from canaria.i18n.text import msg
from canaria.metrics.base import MetricsProvider, ProviderCheck
from canaria.metrics.prometheus_api import PrometheusAPI, RangeSeries, Sample

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.platforms.base import Platform

T = TypeVar("T")

__all__ = ["PrometheusMetricsProvider", "prometheus_checks"]

VARIANTS = ("stable", "canary")
#: queries whose emptiness in `canaria check` means the provider cannot judge (errors/status may be empty)
_REQUIRED = {"requests", "latency_buckets", "memory", "cpu"}
#: the queries that count requests: what a pre-canary baseline is made of
_COUNTS = ("requests", "errors", "status", "latency_buckets")


class _Missing(Exception):
    """A template needs a variable that has no value for this variant (e.g. no memory limit)."""


class PrometheusMetricsProvider(MetricsProvider):
    def __init__(self, config: CanariaConfig, platform: Platform | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if config.metrics.prometheus is None:
            raise ConfigError("provider is prometheus but the section is missing", field="metrics.prometheus")
        self.config = config
        self.platform = platform
        self.settings: PrometheusConfig = config.metrics.prometheus
        s = self.settings
        self.api = PrometheusAPI(s.url, timeout=s.timeout, retries=s.retries, backoff=s.backoff,
                                 headers=s.headers, transport=transport)

    async def close(self) -> None:
        await self.api.close()

    # ------------------------------------------------------------ templates
    def variables(self, variant: str, window_s: float) -> dict[str, str]:
        s = self.settings
        values = {**s.variables, **s.label_values(variant)}
        values.update(service=self.config.service, variant=variant, selector=s.selector(variant),
                      window=f"{max(1, round(window_s))}s", request_filter=s.request_filter)
        spec = self.config.platform.spec(variant)
        limit = (spec.memory_limit if spec else None) or s.memory_limit
        if limit:
            values["memory_limit"] = str(int(limit))
        return values

    def render(self, template: str, variant: str, window_s: float) -> str:
        values = self.variables(variant, window_s)
        missing = sorted(template_names(template) - set(values))
        if missing:
            raise _Missing(missing[0])
        return render(template, values)

    def templates(self) -> list[tuple[str, str, bool]]:
        """(name, template, required) of every active query; custom ones are named custom:NAME."""
        out = [(name, q, name in _REQUIRED) for name, q in self.settings.queries.items() if q.strip()]
        out += [(f"custom:{c.name}", c.query, c.required) for c in self.settings.custom]
        return out

    async def _run(self, name: str, template: str, variant: str, window_s: float, at: float | None
                   ) -> tuple[str, list[Sample] | None]:
        """(the PromQL sent, its series) — or (the missing variable's name, None) when it cannot be sent."""
        try:
            promql = self.render(template, variant, window_s)
        except _Missing as missing:
            return str(missing), None
        return promql, await self.api.query(promql, at=at)

    # ------------------------------------------------------------ one window
    async def read_window(self, *, start: float, end: float, stage_index: int, canary_weight: float,
                          cut: bool = True) -> Window:
        window_s = max(1.0, end - start)
        control, canary = await _all(self._variant("stable", window_s, end), self._variant("canary", window_s, end))
        return Window(start=start, end=end, control=control, canary=canary, canary_weight=canary_weight,
                      stage_index=stage_index)

    async def _variant(self, variant: str, window_s: float, at: float) -> VariantWindow:
        jobs = self.templates()
        answers = await _all(*(self._run(name, q, variant, window_s, at) for name, q, _ in jobs))
        results = {name: answer for (name, _, _), answer in zip(jobs, answers)}
        window = _counted(results, variant)
        if window.requests == 0:
            return window  # no data: nothing else of this variant is evidence

        def single(name: str) -> float | None:
            if name not in results:
                return None
            promql, samples = results[name]
            return _single(samples, name, variant, promql)

        window.memory_pct = _finite(single("memory"))
        window.cpu_pct = _finite(single("cpu"))
        for custom in self.settings.custom:
            value = _finite(single(f"custom:{custom.name}"))
            if value is not None:
                window.custom[custom.name] = value
        return window

    # ------------------------------------------------------------ the stable version's past
    async def read_baseline(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        """The stable side of `read_window` at past times: the same count queries (requests, errors, status,
        latency buckets) with `{window}` = `interval`, each asked ONCE as a range query stepping `interval`,
        so the windows end at `end`, end − interval, … and tile [start, end] as back-to-back windows would.
        Saturation and custom queries are gauges of the moment and the judge pools only counts: not read."""
        interval = max(1.0, interval)
        count = int((end - start + 1e-6) // interval)
        if count < 1:
            return []
        first = end - (count - 1) * interval  # the oldest window's end
        jobs = [(name, q) for name, q, _ in self.templates() if name in _COUNTS]
        answers = await _all(*(self._run_range(q, interval, first, end) for _, q in jobs))
        per_step: list[dict[str, tuple[str, list[Sample] | None]]] = [{} for _ in range(count)]
        for (name, _), (promql, series) in zip(jobs, answers):
            if series is None:
                continue  # a variable without a value: the query is not asked, as in read_window
            steps: list[list[Sample]] = [[] for _ in range(count)]
            for one in series:
                for at, value in one.values:
                    index = round((at - first) / interval)
                    if 0 <= index < count:
                        steps[index].append(Sample(one.labels, value))
            for results, samples in zip(per_step, steps):
                results[name] = (promql, samples)
        windows = [_counted(results, "stable") for results in per_step]
        return [window for window in windows if window.requests > 0]

    async def _run_range(self, template: str, interval: float, first: float, end: float
                         ) -> tuple[str, list[RangeSeries] | None]:
        try:
            promql = self.render(template, "stable", interval)
        except _Missing as missing:
            return str(missing), None
        return promql, await self.api.query_range(promql, start=first, end=end, step=interval)

    # ------------------------------------------------------------ pre-flight
    async def check(self) -> list[ProviderCheck]:
        """The server answers, and every query evaluates and has data for both variants."""
        try:
            info = await self.api.buildinfo()
        except MetricsError as exc:
            return [ProviderCheck("metrics: prometheus", False, str(exc), exc.text)]
        version = str(info.get("version", "?"))
        checks = [ProviderCheck("metrics: prometheus", True, f"{self.settings.url} answers (Prometheus {version})",
                                msg("check.metrics.prometheus_answers", url=self.settings.url, version=version))]
        window_s = self.config.analysis.interval
        for name, template, required in self.templates():
            checks.append(await self._check_query(name, template, required, window_s))
        return checks

    async def _check_query(self, name: str, template: str, required: bool, window_s: float) -> ProviderCheck:
        label = f"metrics: query {name}"
        found: list[str] = []
        empty: list[str] = []
        for variant in VARIANTS:
            try:
                promql, samples = await self._run(name, template, variant, window_s, None)
            except MetricsError as exc:
                return ProviderCheck(label, False, f"{variant}: {exc}")
            if samples is None:  # only {memory_limit} can lack a value: the others are checked on load
                hint = (f"no value for {{{promql}}}: set platform.{variant}.memory_limit or "
                        f"metrics.prometheus.memory_limit, or turn the query off with {name}: ''")
                return ProviderCheck(label, False, f"{variant}: {hint}")
            if not samples:
                empty.append(f"{variant} ({promql})")
            elif len(samples) == 1 and not samples[0].labels:
                found.append(f"{variant} {samples[0].value:.4g}")
            elif name not in ("status", "latency_buckets") and len(samples) > 1:
                return ProviderCheck(label, False, f"{variant}: {len(samples)} series where one is expected "
                                     f"({_describe(samples)}); aggregate it, e.g. sum(...)")
            else:
                found.append(f"{variant} {len(samples)} series")
        if empty and required:
            what = "; ".join(empty)
            return ProviderCheck(label, False, "no data for " + what, msg("check.metrics.no_data_for", what=what))
        detail = ", ".join(found) if found else "evaluates"
        if empty:
            detail += f" (no series yet for {', '.join(e.split(' ')[0] for e in empty)}: counted as 0)"
        return ProviderCheck(label, True, detail)


async def prometheus_checks(config: CanariaConfig) -> list[tuple[str, bool, str]]:
    """`canaria check` lines for the Prometheus provider: (name, ok, detail)."""
    provider = PrometheusMetricsProvider(config)
    try:
        return [(c.name, c.ok, c.detail) for c in await provider.check()]
    finally:
        await provider.close()


# ------------------------------------------------------------ result shapes
def _describe(samples: Sequence[Sample], limit: int = 2) -> str:
    shown = ["{" + ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}" for s in samples[:limit]]
    return ", ".join(shown) + (" ..." if len(samples) > limit else "")


def _single(samples: list[Sample] | None, name: str, variant: str, promql: str) -> float | None:
    if not samples:
        return None
    if len(samples) > 1:
        raise MetricsError(f"query {name} for {variant} returned {len(samples)} series where one is expected "
                           f"({_describe(samples)}); aggregate it, e.g. sum(...)\n  query: {promql}")
    return samples[0].value


def _counted(results: dict[str, tuple[str, list[Sample] | None]], variant: str) -> VariantWindow:
    """Requests, errors, status classes and the latency histogram of one variant from its queries' answers."""
    window = VariantWindow()
    if "requests" in results:
        window.requests = _count(_single(results["requests"][1], "requests", variant, results["requests"][0]))
    if window.requests == 0:
        return window  # no data: nothing else of this variant is evidence
    if "errors" in results:
        promql, samples = results["errors"]
        window.errors = min(window.requests, _count(_single(samples, "errors", variant, promql)))
    if "status" in results:
        window.status = _status(*results["status"], variant)
    if "latency_buckets" in results:
        window.latency = _histogram(*results["latency_buckets"], variant)
    return window


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _count(value: float | None) -> int:
    """Counts from `increase` are extrapolated floats; NaN or negative means nothing counted."""
    if value is None or not math.isfinite(value) or value <= 0:
        return 0
    return round(value)


def _status(promql: str, samples: list[Sample] | None, variant: str) -> dict[str, int]:
    status: dict[str, int] = {}
    for sample in samples or []:
        code_class = sample.labels.get("code_class")
        if not code_class:
            raise MetricsError(f"query status for {variant} must return one series per `code_class` label "
                               f"(2xx, 5xx, ...), got {_describe([sample])}\n  query: {promql}")
        if code_class in status:
            raise MetricsError(f"query status for {variant} returned several series for {code_class}\n"
                               f"  query: {promql}")
        count = _count(sample.value)
        if count:
            status[code_class] = count
    return status


def _histogram(promql: str, samples: list[Sample] | None, variant: str) -> LatencyHistogram:
    buckets: dict[float, float] = {}
    for sample in samples or []:
        le = sample.labels.get("le")
        try:
            bound = float(le) if le is not None else math.nan
        except ValueError:
            bound = math.nan
        if math.isnan(bound):
            raise MetricsError(f"query latency_buckets for {variant} must return one series per `le` bucket, "
                               f"got {_describe([sample])}\n  query: {promql}")
        if bound in buckets:
            raise MetricsError(f"query latency_buckets for {variant} returned several series for le={le}; "
                               f"aggregate with sum by (le) (...)\n  query: {promql}")
        buckets[bound] = sample.value if sample.finite else 0.0
    bounds = sorted(buckets)
    cumulative: list[float] = []
    running = 0.0
    for bound in bounds:  # increases are extrapolated per bucket: keep them monotonic
        running = max(running, buckets[bound])
        cumulative.append(running)
    return LatencyHistogram.from_cumulative_buckets(bounds, cumulative)


async def _all(*awaitables: Awaitable[T]) -> list[T]:
    """Every query runs to its end (retries included) before the first error is raised: no query is left
    running in the background after a failed window."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)  # type: ignore[arg-type]
