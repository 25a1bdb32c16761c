"""Synthetic Cloud Run metrics: the requests each revision would serve under the split Cloud Run *applies*.

Every `sample_period` seconds it writes, per revision that `traffic_statuses` gives a share, the points Cloud Run
writes to Cloud Monitoring (https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run):
`run.googleapis.com/request_count` (DELTA INT64, by `response_code` and `response_code_class`),
`run.googleapis.com/request_latencies` (DELTA DISTRIBUTION in ms, exponential buckets) and
`run.googleapis.com/container/{memory,cpu}/utilizations` (DELTA DISTRIBUTION of 0..1 fractions), on the
`cloud_run_revision` resource. How each revision serves comes from its image's `ImageBehaviour`.
"""

from __future__ import annotations

import math
import random
import threading

from tests.emulators.cloudrun.model import CloudRunModel, ImageBehaviour
from tests.emulators.cloudrun.timeseries import Distribution, Point, Series, TimeSeriesStore, explicit, exponential

__all__ = ["TrafficGenerator"]

RUN = "run.googleapis.com"


class TrafficGenerator:
    def __init__(self, model: CloudRunModel, store: TimeSeriesStore, *, rps: float = 100.0,
                 sample_period: float = 1.0, seed: int = 7) -> None:
        self.model = model
        self.store = store
        self.rps = rps
        self.sample_period = sample_period
        self.random = random.Random(seed)
        self.last = math.floor(model.clock() / sample_period) * sample_period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fake-cloudrun-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(min(0.1, self.sample_period / 4)):
            self.catch_up()

    def catch_up(self) -> None:
        """Write every sample period that ended since the last call, under the split applied now."""
        now = self.model.clock()
        while self.last + self.sample_period <= now:
            self.last += self.sample_period
            self._sample(self.last)

    def _sample(self, end: float) -> None:
        with self.model.lock:
            self.model.advance()
            shares: list[tuple[str, str, float, ImageBehaviour]] = []
            for service in self.model.services.values():
                for status in service.statuses:
                    percent = float(status.get("percent", 0))
                    revision = self.model.revisions.get(f"{service.name}/revisions/{status.get('revision')}")
                    if percent and revision is not None and revision.behaviour is not None:
                        shares.append((service.name, revision.short, percent, revision.behaviour))
        for service_name, revision, percent, behaviour in shares:
            self._write(service_name, revision, percent, behaviour, end)

    def _write(self, service_name: str, revision: str, percent: float, behaviour: ImageBehaviour,
               end: float) -> None:
        _, project, _, location, _, service = service_name.split("/")
        resource = {"project_id": project, "location": location, "service_name": service,
                    "revision_name": revision, "configuration_name": service}
        start = end - self.sample_period
        requests = round(self.rps * self.sample_period * percent / 100)
        errors = sum(1 for _ in range(requests) if self.random.random() < behaviour.error_rate)
        for code, code_class, count in (("200", "2xx", requests - errors), ("503", "5xx", errors)):
            if not count:
                continue
            labels = {"response_code": code, "response_code_class": code_class, "route_type": "default"}
            self.store.write(Series(f"{RUN}/request_count", labels, "cloud_run_revision", resource, "DELTA",
                                    "INT64", "1"), Point(start, end, count))
            latencies = exponential(num_finite=64, growth=1.2, scale=1.0)
            sigma = 0.35
            for _ in range(count):
                latencies.record(behaviour.latency_ms * math.exp(self.random.gauss(0.0, sigma)))
            self.store.write(Series(f"{RUN}/request_latencies", labels, "cloud_run_revision", resource, "DELTA",
                                    "DISTRIBUTION", "ms"), Point(start, end, latencies))
        for metric, level in (("container/memory/utilizations", behaviour.memory),
                              ("container/cpu/utilizations", behaviour.cpu)):
            utilization = _utilization(level, self.random)
            self.store.write(Series(f"{RUN}/{metric}", {}, "cloud_run_revision", resource, "DELTA",
                                    "DISTRIBUTION", "10^2.%"), Point(start, end, utilization))


def _utilization(level: float, rng: random.Random) -> Distribution:
    """Per-instance utilization samples around `level` in 1% explicit buckets (0..1)."""
    distribution = explicit([i / 100 for i in range(1, 101)])
    for _ in range(3):  # three instances
        distribution.record(min(1.0, max(0.0, level + rng.uniform(-0.02, 0.02))))
    return distribution
