"""Fakes for unit tests of controller logic (never for claiming an integration works)."""

from __future__ import annotations

import random
from collections.abc import Callable

from canaria.analysis.window import VariantWindow, Window
from canaria.metrics.base import MetricsProvider, ProviderCheck
from canaria.platforms.base import HealthResult, Platform, RouteStatus, TesterMatch, Variant, VersionInfo


class FakePlatform(Platform):
    def __init__(self) -> None:
        self.weight = 0.0
        self.match: TesterMatch | None = None
        self.calls: list[str] = []
        self.problem: str | None = None
        self.start_error: Exception | None = None
        self.canary_running = False

    async def ensure_stable(self) -> None:
        self.calls.append("ensure_stable")

    async def start_canary(self) -> None:
        self.calls.append("start_canary")
        if self.start_error:
            raise self.start_error
        self.canary_running = True

    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        self.calls.append(f"weight {weight:g}" + (f" match {match.describe()}" if match else ""))
        self.weight = weight
        self.match = match

    async def verify_route(self) -> RouteStatus:
        return RouteStatus("applied", weight=self.weight, match=self.match)

    async def restart(self, variant: Variant) -> str:
        self.calls.append(f"restart {variant}")
        return f"restarted the fake {variant}"

    async def describe(self) -> dict[Variant, VersionInfo]:
        return {"stable": VersionInfo("stable", version="v1"), "canary": VersionInfo("canary", version="v2")}

    async def canary_problem(self) -> str | None:
        return self.problem

    async def rollback(self, *, keep_canary: bool = False) -> None:
        self.calls.append("rollback")
        self.weight = 0.0
        self.canary_running = keep_canary

    async def promote(self) -> None:
        self.calls.append("promote")
        self.weight = 0.0

    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        return HealthResult(variant, "/health", True, 200, "ok")

    def rollback_plan(self) -> list[str]:
        return ["set weight 0"]

    def pid_of(self, variant: Variant) -> int | None:
        return None


WindowFn = Callable[[float, random.Random], tuple[VariantWindow, VariantWindow]]


def variant(requests: int, errors: int = 0, latency_ms: float = 100.0, memory: float | None = 50.0,
            cpu: float | None = 20.0, rng: random.Random | None = None) -> VariantWindow:
    w = VariantWindow(requests=requests, errors=errors, memory_pct=memory, cpu_pct=cpu,
                      status={"2xx": requests - errors, "5xx": errors})
    r = rng or random.Random(1)
    for _ in range(requests):
        w.latency.record(latency_ms * r.lognormvariate(0, 0.3))
    return w


class FakeMetrics(MetricsProvider):
    """Returns windows from a function of the canary weight (and a seeded RNG)."""

    def __init__(self, fn: Callable[[float, int], tuple[VariantWindow, VariantWindow]]) -> None:
        self.fn = fn
        self.reads = 0

    async def read_window(self, *, start: float, end: float, stage_index: int, canary_weight: float,
                          cut: bool = True) -> Window:
        self.reads += 1
        control, canary = self.fn(canary_weight, self.reads)
        return Window(start=start, end=end, control=control, canary=canary, canary_weight=canary_weight,
                      stage_index=stage_index)

    async def check(self) -> list[ProviderCheck]:
        return [ProviderCheck("fake", True, "ok")]


# The head of a canaria.yaml for unit tests whose versions are plain URLs nobody serves (fakes stand in for them);
# a test appends its own sections and formats `{state}` (doubled braces are YAML flow maps after .format()).
URL_SERVICE = """
service: ion-api
platform:
  stable: {{url: "http://127.0.0.1:1"}}
  canary: {{url: "http://127.0.0.1:2"}}
state_dir: {state}
"""
