"""canaria's own Prometheus series: what the controller is doing and what the judge measured.

Two feeds keep them current: `MetricsSink` (an EventSink) counts every recorded event — rollbacks,
promotions, errors — and follows the rollout's phase, stage and weight; `ControllerMetrics.update_from_tick`
copies the judge's figures (score, each guardrail's value, threshold and breach streak) after a tick.
Events are counted only by the sink, so wiring both never double-counts.

Each instance has its own CollectorRegistry: several controllers (or tests) can live in one process.
Known label values are created at zero up front, so `increase()` sees the first rollback as a change.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from canaria.analysis.guardrails import metric_value
from canaria.controller.phases import Phase

if TYPE_CHECKING:
    from canaria.config import CanariaConfig, GuardrailConfig
    from canaria.controller.machine import Controller, TickResult
    from canaria.state.store import Event, Rollout

__all__ = ["DECISIONS", "EVENT_KINDS", "ControllerMetrics", "MetricsSink", "attach"]

DECISIONS = ("GO", "OBSERVE", "NO-GO")
EVENT_KINDS = (
    "rollout_started", "stage_advanced", "decision", "status_report", "approval_needed", "approved",
    "manual_promote", "paused", "resumed", "hold_overdue", "traffic_set", "canary_failed", "rollback_started",
    "rollback_finished", "promotion_started", "promotion_finished", "controller_error", "controller_stopped",
)
OUTCOMES = ("rolled_back", "aborted", "failed")
TICK_ACTIONS = ("none", "advance", "pause", "rollback", "promote", "error")
_TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _check_labels(rules: Iterable[GuardrailConfig]) -> list[tuple[str, GuardrailConfig]]:
    """A stable `check` label per guardrail: its name, else its metric (+ '>max' when a metric repeats)."""
    rules = list(rules)
    counts: dict[str, int] = {}
    for rule in rules:
        counts[rule.label] = counts.get(rule.label, 0) + 1
    return [(rule.label if counts[rule.label] == 1 else f"{rule.label}>{rule.max:g}", rule) for rule in rules]


class ControllerMetrics:
    def __init__(self, config: CanariaConfig, *, registry: CollectorRegistry | None = None,
                 channels: Iterable[str] = ()) -> None:
        """`channels`: the configured notification channels, whose counters start at zero."""
        self.service = config.service
        self.channels = tuple(channels)
        self.stage_count = len(config.plan.stages)
        self.min_requests = config.analysis.min_requests
        self.checks = _check_labels(config.guardrails)
        self.registry = registry or CollectorRegistry()
        r, s = self.registry, ["service"]
        self.phase = Gauge("canaria_rollout_phase", "1 for the rollout's current phase, 0 for the others",
                           [*s, "phase"], registry=r)
        self.active = Gauge("canaria_rollout_active", "1 while a rollout is in progress", s, registry=r)
        self.stage = Gauge("canaria_rollout_stage", "Current stage of the plan, 1-based (0: none)", s, registry=r)
        self.stages = Gauge("canaria_rollout_stages", "Number of stages in the plan", s, registry=r)
        self.weight = Gauge("canaria_traffic_weight_percent", "Share of traffic per variant (stable, canary)",
                            [*s, "variant"], registry=r)
        self.score = Gauge("canaria_health_score", "The judge's latest health score (0-100)", s, registry=r)
        self.last_decision = Gauge("canaria_last_decision", "1 for the judge's latest decision, 0 for the others",
                                   [*s, "decision"], registry=r)
        self.check_value = Gauge("canaria_check_value", "The canary's latest reading of each check",
                                 [*s, "check"], registry=r)
        self.check_control = Gauge("canaria_check_control_value", "The control's reading of each check",
                                   [*s, "check"], registry=r)
        self.check_threshold = Gauge("canaria_check_threshold", "The limit of each check (breach above it)",
                                     [*s, "check"], registry=r)
        self.breaches = Gauge("canaria_check_consecutive_breaches", "Consecutive windows above the threshold",
                              [*s, "check"], registry=r)
        self.breach_limit = Gauge("canaria_check_consecutive_limit", "Consecutive breaches that roll back",
                                  [*s, "check"], registry=r)
        self.window_requests = Gauge("canaria_window_requests", "Requests in the latest analysis window",
                                     [*s, "variant"], registry=r)
        self.decisions = Counter("canaria_decisions", "Verdicts of the judge by decision", [*s, "decision"],
                                 registry=r)
        self.events = Counter("canaria_events", "Recorded events by kind", [*s, "kind"], registry=r)
        self.rollbacks = Counter("canaria_rollbacks", "Rollbacks by outcome (rolled_back = judged bad)",
                                 [*s, "outcome"], registry=r)
        self.promotions = Counter("canaria_promotions", "Canaries promoted to stable", s, registry=r)
        self.errors = Counter("canaria_controller_errors", "Ticks that failed (metrics, platform)", s, registry=r)
        self.notifications = Counter("canaria_notifications", "Notifications by channel and result (sent, failed)",
                                     [*s, "channel", "result"], registry=r)
        self.ticks = Counter("canaria_ticks", "Controller ticks by action taken", [*s, "action"], registry=r)
        self.tick_duration = Histogram("canaria_tick_duration_seconds", "Time one reconcile tick took", s,
                                       buckets=_TICK_BUCKETS, registry=r)
        self.last_tick = Gauge("canaria_last_tick_timestamp_seconds", "Unix time of the latest tick", s,
                               registry=r)
        self._initialise()

    def _initialise(self) -> None:
        svc = self.service
        self.stages.labels(svc).set(self.stage_count)
        self.set_rollout(None)
        for decision in DECISIONS:
            self.decisions.labels(svc, decision)
            self.last_decision.labels(svc, decision).set(0)
        for kind in EVENT_KINDS:
            self.events.labels(svc, kind)
        for outcome in OUTCOMES:
            self.rollbacks.labels(svc, outcome)
        for action in TICK_ACTIONS:
            self.ticks.labels(svc, action)
        self.promotions.labels(svc)
        self.errors.labels(svc)
        self.tick_duration.labels(svc)
        for channel in self.channels:
            for result in ("sent", "failed"):
                self.notifications.labels(svc, channel, result)
        for label, rule in self.checks:
            self.check_threshold.labels(svc, label).set(rule.max)
            self.breach_limit.labels(svc, label).set(rule.consecutive)
            self.breaches.labels(svc, label).set(0)

    # ------------------------------------------------------------ feeds
    def set_rollout(self, rollout: Rollout | None) -> None:
        svc = self.service
        current = rollout.phase if rollout is not None else None
        for phase in Phase:
            self.phase.labels(svc, phase.value).set(1 if phase.value == current else 0)
        self.active.labels(svc).set(1 if rollout is not None and rollout.active else 0)
        traffic = rollout.traffic if rollout is not None else 0.0
        self.weight.labels(svc, "canary").set(traffic)
        self.weight.labels(svc, "stable").set(100.0 - traffic)
        self.stage.labels(svc).set(rollout.stage_index + 1 if rollout is not None else 0)

    def count_event(self, event: Event) -> None:
        svc = self.service
        self.events.labels(svc, event.kind).inc()
        if event.kind == "rollback_started":
            self.rollbacks.labels(svc, str(event.data.get("outcome") or "rolled_back")).inc()
        elif event.kind == "promotion_finished":
            self.promotions.labels(svc).inc()
        elif event.kind == "controller_error":
            self.errors.labels(svc).inc()

    def record_notification(self, channel: str, *, ok: bool) -> None:
        """For notifiers: one send attempt on `channel` (slack, email, sms, webhook)."""
        self.notifications.labels(self.service, channel, "sent" if ok else "failed").inc()

    def update_from_tick(self, result: TickResult, *, duration_s: float | None = None) -> None:
        """The judge's figures from one tick; events are left to MetricsSink."""
        svc = self.service
        self.set_rollout(result.rollout)
        self.ticks.labels(svc, result.action if result.action in TICK_ACTIONS else "none").inc()
        self.last_tick.labels(svc).set(time.time())
        if duration_s is not None:
            self.tick_duration.labels(svc).observe(duration_s)
        if result.window is not None:
            self.window_requests.labels(svc, "stable").set(result.window.control.requests)
            self.window_requests.labels(svc, "canary").set(result.window.canary.requests)
            for label, rule in self.checks:
                canary = metric_value(result.window.canary, rule.metric, self.min_requests)
                control = metric_value(result.window.control, rule.metric, self.min_requests)
                self.check_value.labels(svc, label).set(math.nan if canary is None else canary)
                self.check_control.labels(svc, label).set(math.nan if control is None else control)
        verdict = result.verdict
        if verdict is not None:
            self.score.labels(svc).set(verdict.score)
            self.decisions.labels(svc, verdict.decision.value).inc()
            for decision in DECISIONS:
                self.last_decision.labels(svc, decision).set(1 if decision == verdict.decision.value else 0)
            for label, rule in self.checks:
                streak = 0
                for reason in verdict.reasons:
                    params = reason.params
                    if (reason.key.startswith("guardrail.") and params.get("metric") == rule.metric
                            and params.get("max") == rule.max):
                        streak = int(params.get("streak", 0))
                self.breaches.labels(svc, label).set(streak)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsSink:
    """EventSink: counts every event and follows the rollout it belongs to."""

    def __init__(self, metrics: ControllerMetrics) -> None:
        self.metrics = metrics

    async def publish(self, event: Event, rollout: Rollout | None) -> None:
        self.metrics.count_event(event)
        if rollout is not None:
            self.metrics.set_rollout(rollout)


def attach(controller: Controller, metrics: ControllerMetrics) -> None:
    """Feed `metrics` from a controller: its events (through its sink) and every tick, timed.

    Wraps the instance's `tick`, so `Controller.run` and operators calling `tick()` are both measured.
    """
    from canaria.controller.events import FanoutSink

    controller.sink = FanoutSink(controller.sink, MetricsSink(metrics))
    inner = controller.tick

    async def timed_tick() -> TickResult | None:
        started = time.perf_counter()
        result = await inner()
        if result is not None:
            metrics.update_from_tick(result, duration_s=time.perf_counter() - started)
        return result

    setattr(controller, "tick", timed_tick)  # noqa: B010 - instance-level wrap, the class stays untouched
