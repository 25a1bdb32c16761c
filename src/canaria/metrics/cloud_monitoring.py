"""Cloud Monitoring provider: control vs canary from Cloud Run's own metrics, per revision.

Per window, four `projects.timeSeries.list` calls cover both revisions (`resource.labels.revision_name =
one_of(stable, canary)`), each aligned over the whole window and summed per revision:
- `run.googleapis.com/request_count` (ALIGN_DELTA, REDUCE_SUM by revision and `response_code_class`):
  requests, status classes, errors = 5xx;
- `run.googleapis.com/request_latencies` (ALIGN_DELTA, REDUCE_SUM by revision): the merged distribution, whose
  buckets become the latency histogram (P50/P95/P99 and the judge's exceedance counts);
- `run.googleapis.com/container/{memory,cpu}/utilizations` (ALIGN_PERCENTILE_99, REDUCE_MAX by revision):
  the memory and CPU guardrails, in percent.
Only complete windows are read (see `cloud_monitoring_series.complete_window`): Cloud Run's samples arrive up to
three minutes late, and a window with no points yet is no data for the judge — never zero traffic, never a GO.
The stable revision's windows before the rollout (`read_baseline`) come from the same two count metrics, aligned
per window: Monitoring keeps six weeks of Cloud Run's metrics, so a few hours of history are always there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from canaria.analysis.window import VariantWindow, Window
from canaria.config.cloud_monitoring import CloudMonitoringConfig
from canaria.errors import CanariaError, ConfigError, MetricsError
from canaria.metrics.base import MetricsProvider, ProviderCheck
from canaria.metrics.cloud_monitoring_series import bucket_bounds, complete_window, distribution_histogram
from canaria.platforms.gcp import GoogleAuth, call_google

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.platforms.base import Platform

__all__ = ["CloudMonitoringProvider"]

RUN = "run.googleapis.com"


class CloudMonitoringProvider(MetricsProvider):
    def __init__(self, config: CanariaConfig, platform: Platform | None = None, *,
                 auth: GoogleAuth | None = None) -> None:
        settings = config.metrics.cloud_monitoring or CloudMonitoringConfig()
        cloudrun = getattr(config.platform, "cloudrun", None)
        self.settings = settings
        self.platform = platform
        self.service = settings.service or getattr(cloudrun, "service", None)
        if not self.service:
            raise ConfigError("set metrics.cloud_monitoring.service (or use platform kind cloudrun)",
                              field="metrics.cloud_monitoring.service")
        if config.analysis.interval < settings.alignment_period:
            raise ConfigError(f"analysis.interval ({config.analysis.interval:g}s) is shorter than "
                              f"metrics.cloud_monitoring.alignment_period ({settings.alignment_period:g}s): most "
                              "checks would find no complete window", field="analysis.interval")
        self.auth = auth or GoogleAuth(settings.project or getattr(cloudrun, "project", None))
        self.client: Any = None
        self.clock = time.time

    def _client(self) -> Any:
        if self.client is None:
            self.client = self.auth.monitoring_client(self.settings.api_endpoint)
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            self.client.transport.close()

    async def _revisions(self) -> dict[str, str | None]:
        if self.platform is None:
            raise MetricsError("cloud-monitoring needs the platform to name the stable and canary revisions")
        info = await self.platform.describe()
        return {"stable": info["stable"].revision, "canary": info["canary"].revision}

    # ------------------------------------------------------------ one window
    async def read_window(self, *, start: float, end: float, stage_index: int, canary_weight: float,
                          cut: bool = True) -> Window:
        s = self.settings
        window = complete_window(start, end, now=self.clock(), period=s.alignment_period, delay=s.ingestion_delay)
        if window is None:  # nothing complete yet: no data (never a pass); it ends at `start`, so the next
            return Window(start=start, end=start, control=VariantWindow(), canary=VariantWindow(),  # check reads it
                          canary_weight=canary_weight, stage_index=stage_index)
        revisions = await self._revisions()
        names = sorted({r for r in revisions.values() if r})
        measured = {name: VariantWindow() for name in names}
        if names:
            await self._fill(measured, names, window.start, window.end)
        control = measured.get(revisions["stable"] or "", VariantWindow())
        canary = measured.get(revisions["canary"] or "", VariantWindow())
        if revisions["canary"] == revisions["stable"]:
            canary = VariantWindow()  # promoted, or not started: no separate canary to measure
        return Window(start=window.start, end=window.end, control=control, canary=canary,
                      canary_weight=canary_weight, stage_index=stage_index)

    async def _fill(self, measured: dict[str, VariantWindow], names: list[str], start: float, end: float) -> None:
        period = int(round(end - start))
        by_class = ["resource.labels.revision_name", "metric.labels.response_code_class"]
        for series in await self._list("request_count", names, start, end, period, "ALIGN_DELTA", "REDUCE_SUM",
                                       by_class):
            target = measured.get(series.resource.labels.get("revision_name", ""))
            code_class = series.metric.labels.get("response_code_class", "")
            count = sum(int(p.value.int64_value) for p in series.points)
            if target is None or not count:
                continue
            target.requests += count
            target.status[code_class] = target.status.get(code_class, 0) + count
            if code_class == "5xx":
                target.errors += count
        for series in await self._list("request_latencies", names, start, end, period, "ALIGN_DELTA", "REDUCE_SUM",
                                       ["resource.labels.revision_name"]):
            target = measured.get(series.resource.labels.get("revision_name", ""))
            for point in series.points:
                value = point.value.distribution_value
                if target is not None and value.count:
                    bounds = bucket_bounds(value.bucket_options)
                    target.latency.merge(distribution_histogram(bounds, [int(c) for c in value.bucket_counts]))
        aligner = f"ALIGN_PERCENTILE_{self.settings.utilization_percentile:02d}"
        for metric, attribute in (("container/memory/utilizations", "memory_pct"),
                                  ("container/cpu/utilizations", "cpu_pct")):
            for series in await self._list(metric, names, start, end, period, aligner, "REDUCE_MAX",
                                           ["resource.labels.revision_name"]):
                target = measured.get(series.resource.labels.get("revision_name", ""))
                if target is not None and target.requests and series.points:
                    setattr(target, attribute, round(100.0 * float(series.points[0].value.double_value), 3))

    async def _list(self, metric: str, revisions: list[str], start: float, end: float, period: int,
                    aligner: str, reducer: str, group_by: list[str]) -> list[Any]:
        from google.cloud import monitoring_v3

        quoted = ", ".join(f'"{r}"' for r in revisions)
        request = {
            "name": f"projects/{self.auth.project}",
            "filter": (f'metric.type = "{RUN}/{metric}" AND resource.type = "cloud_run_revision" AND '
                       f'resource.labels.service_name = "{self.service}" AND '
                       f"resource.labels.revision_name = one_of({quoted})"),
            "interval": {"start_time": {"seconds": int(start)}, "end_time": {"seconds": int(end)}},
            "aggregation": {"alignment_period": {"seconds": max(1, period)},
                            "per_series_aligner": getattr(monitoring_v3.Aggregation.Aligner, aligner),
                            "cross_series_reducer": getattr(monitoring_v3.Aggregation.Reducer, reducer),
                            "group_by_fields": group_by},
        }
        client = self._client()
        return await call_google(f"Cloud Monitoring: reading {metric}",
                                 lambda: list(client.list_time_series(request=request, timeout=self.settings.timeout)),
                                 error=MetricsError)

    # ------------------------------------------------------------ the stable revision's past
    async def read_baseline(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        """The stable revision's windows before the rollout: the same two count series `read_window` reads,
        aligned at `interval` (a multiple of the alignment period) instead of over one window, so one call per
        metric returns every window. Only complete, grid-aligned periods are read, as for a rollout window."""
        s = self.settings
        period = max(1, round(interval / s.alignment_period)) * s.alignment_period
        complete_until = min(end, self.clock() - s.ingestion_delay)  # the delay counts from now, not from `end`
        span = complete_window(start, complete_until, now=complete_until, period=period, delay=0.0)
        stable = (await self._revisions())["stable"] if span is not None else None
        if span is None or not stable:
            return []
        by_end: dict[int, VariantWindow] = {}

        def at(point: Any) -> VariantWindow:
            return by_end.setdefault(round(point.interval.end_time.timestamp()), VariantWindow())

        seconds = int(round(period))
        for series in await self._list("request_count", [stable], span.start, span.end, seconds, "ALIGN_DELTA",
                                       "REDUCE_SUM", ["resource.labels.revision_name",
                                                      "metric.labels.response_code_class"]):
            code_class = series.metric.labels.get("response_code_class", "")
            for point in series.points:
                count = int(point.value.int64_value)
                if count:
                    window = at(point)
                    window.requests += count
                    window.status[code_class] = window.status.get(code_class, 0) + count
                    window.errors += count if code_class == "5xx" else 0
        for series in await self._list("request_latencies", [stable], span.start, span.end, seconds,
                                       "ALIGN_DELTA", "REDUCE_SUM", ["resource.labels.revision_name"]):
            for point in series.points:
                value = point.value.distribution_value
                if value.count:
                    at(point).latency.merge(distribution_histogram(bucket_bounds(value.bucket_options),
                                                                   [int(c) for c in value.bucket_counts]))
        return [by_end[t] for t in sorted(by_end) if by_end[t].requests > 0]

    # ------------------------------------------------------------ pre-flight
    async def check(self) -> list[ProviderCheck]:
        """Monitoring answers for this project, and the stable revision has request data in the last hour."""
        try:
            revisions = await self._revisions()
            stable = revisions["stable"]
            now = self.clock()
            found = await self._list("request_count", [stable] if stable else [], now - 3600, now, 3600,
                                     "ALIGN_DELTA", "REDUCE_SUM", ["resource.labels.revision_name"]) if stable else []
        except CanariaError as exc:
            return [ProviderCheck("metrics: cloud-monitoring", False, str(exc))]
        head = ProviderCheck("metrics: cloud-monitoring", True,
                             f"projects/{self.auth.project} answers (as {self.auth.identity()}); windows end "
                             f"{self.settings.ingestion_delay:.0f}s before now, aligned to "
                             f"{self.settings.alignment_period:.0f}s")
        requests = sum(int(p.value.int64_value) for s in found for p in s.points)
        data = ProviderCheck("metrics: cloud-monitoring data", requests > 0,
                             f"stable revision {stable}: {requests} requests in the last hour" if requests else
                             f"no run.googleapis.com/request_count for revision {stable} in the last hour")
        return [head, data]
