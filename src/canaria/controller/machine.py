"""The reconcile loop: one tick reads the window, asks the judge, acts at most once, records it all.

The controller holds no state of its own between ticks: everything lives in the store, so a
`kill -9` and a restart continue at the same stage, and operator actions from another process
(`canaria approve`, `rollback`) are seen at the next tick.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from canaria.analysis.context import StageContext
from canaria.analysis.judge import JudgeState, evaluate
from canaria.analysis.verdict import Decision, Verdict
from canaria.analysis.window import Window
from canaria.config import CanariaConfig
from canaria.controller.clock import Clock, SystemClock
from canaria.controller.events import EventSink, NullSink
from canaria.controller.phases import Outcome, Phase, check_transition, is_terminal
from canaria.controller.playbook import RESTART_COMMAND, leak_predicted
from canaria.controller.reporting import status_report_text
from canaria.controller.routing import RouteTarget, apply_route, target_of
from canaria.errors import CanariaError, InfrastructureError, MetricsError, StateError
from canaria.metrics.base import MetricsProvider
from canaria.platforms.base import Platform, RouteStatus
from canaria.state.store import Event, Rollout, Store

__all__ = ["Controller", "TickResult"]


@dataclass
class TickResult:
    rollout: Rollout
    window: Window | None = None
    verdict: Verdict | None = None
    action: str = "none"
    events: list[Event] = field(default_factory=list)


class Controller:
    def __init__(
        self,
        config: CanariaConfig,
        store: Store,
        platform: Platform,
        metrics: MetricsProvider,
        *,
        clock: Clock | None = None,
        sink: EventSink | None = None,
        actor: str = "canaria",
        lang: str = "en",
    ) -> None:
        self.config = config
        self.store = store
        self.platform = platform
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self.sink = sink or NullSink()
        self.actor = actor
        self.lang = lang
        self.stages = config.plan.stages
        self._pending_events: list[Event] = []
        self._judge_states: dict[str, JudgeState] = {}  # evidence kept between ticks, per rollout

    # ------------------------------------------------------------ recording
    async def record(self, kind: str, rollout: Rollout | None, *, message: str = "", severity: str = "info",
                     actor: str | None = None, data: dict[str, Any] | None = None) -> Event:
        event = self.store.add_event(kind, at=self.clock.now(), rollout_id=rollout.id if rollout else None,
                                     severity=severity, actor=actor or self.actor, message=message, data=data)
        self._pending_events.append(event)
        await self.sink.publish(event, rollout)
        return event

    def transition(self, rollout: Rollout, target: Phase, *, action: str = "", **fields: Any) -> Rollout:
        fresh = self.store.get_rollout(rollout.id) or rollout
        check_transition(fresh.phase, target, action=action)
        return self.store.update_rollout(rollout.id, now=self.clock.now(), phase=target.value, **fields)

    def active(self) -> Rollout | None:
        return self.store.active_rollout(self.config.service)

    # ------------------------------------------------------------ starting
    async def start(self, *, traffic: float | None = None, actor: str | None = None) -> Rollout:
        """Create the rollout, start the canary and apply the first stage (or `traffic`)."""
        await self.platform.ensure_stable()
        plan = {"stages": [s.model_dump(by_alias=True) for s in self.stages]}
        rollout = self.store.create_rollout(service=self.config.service, now=self.clock.now(), plan=plan)
        stage_index = 0 if traffic is None else self._stage_for(traffic)
        target = target_of(self.stages[0]) if traffic is None else RouteTarget(traffic)
        first = target.weight
        await self.record("rollout_started", rollout, actor=actor,
                          message=f"canary rollout of {self.config.service} started",
                          data={"stages": [s.traffic for s in self.stages], "traffic": first,
                                "versions": await self._versions()})
        try:
            await self.platform.start_canary()
            status = await self.route(target, previous=RouteTarget(0.0))
        except InfrastructureError as exc:
            await self.record("canary_failed", rollout, severity="critical", message=str(exc))
            return await self._rollback(rollout, reason=str(exc), outcome=Outcome.ROLLED_BACK, actor=actor)
        now = self.clock.now()
        rollout = self.transition(rollout, Phase.PROGRESSING, stage_index=stage_index, traffic=first,
                                  stage_started_at=now, last_report_at=now)
        await self.record("stage_advanced", rollout, actor=actor,
                          message=f"canary at {target.describe()} (stage {stage_index + 1}/{len(self.stages)})"
                          + _route_note(status),
                          data={"stage_index": stage_index, "traffic": first, **_route_data(status)})
        return rollout

    async def route(self, target: RouteTarget, *, previous: RouteTarget | None) -> RouteStatus:
        """Write the route and wait until the data plane applies it (the previous one is restored on failure)."""
        return await apply_route(self.platform, self.clock, target, timeout_s=self.config.platform.verify_timeout,
                                 previous=previous)

    def current_target(self, rollout: Rollout) -> RouteTarget:
        """The route the rollout's current stage asked for (what a failed step falls back to)."""
        index = min(rollout.stage_index, len(self.stages) - 1)
        stage = self.stages[index]
        if stage.match is not None and stage.traffic == rollout.traffic:
            return target_of(stage)
        return RouteTarget(rollout.traffic)

    async def _versions(self) -> dict[str, Any]:
        try:
            described = await self.platform.describe()
        except CanariaError as exc:
            return {"error": str(exc)}
        return {variant: {k: v for k, v in vars(info).items() if v not in (None, [])}
                for variant, info in described.items()}

    def _stage_for(self, traffic: float) -> int:
        index = 0
        for i, stage in enumerate(self.stages):
            if stage.traffic <= traffic:
                index = i
        return index

    # ------------------------------------------------------------ the tick
    def stage_context(self, rollout: Rollout) -> StageContext:
        index = min(rollout.stage_index, len(self.stages) - 1)
        stage = self.stages[index]
        last = index == len(self.stages) - 1
        return StageContext(
            stage_index=index,
            traffic=rollout.traffic,
            hold_s=stage.hold,
            elapsed_in_stage_s=max(0.0, self.clock.now() - (rollout.stage_started_at or rollout.created_at)),
            interval_s=self.config.analysis.interval,
            next_stage_hold_s=0.0 if last else self.stages[index + 1].hold,
            next_stage_traffic=None if last else self.stages[index + 1].traffic,
            is_last_stage=last,
        )

    async def tick(self) -> TickResult | None:
        """One reconcile step of the active rollout; None when there is none."""
        self._pending_events = []
        rollout = self.active()
        if rollout is None:
            return None
        result = TickResult(rollout=rollout)
        phase = Phase(rollout.phase)
        try:
            if phase is Phase.PENDING:
                raise StateError("the rollout has not started its canary yet")
            if phase is Phase.ROLLING_BACK:
                result.rollout = await self._finish_rollback(rollout)
                result.action = "rollback"
            elif phase is Phase.PROMOTING:
                result.rollout = await self._promote(rollout)
                result.action = "promote"
            else:
                result = await self._observe_and_act(rollout)
        except MetricsError as exc:
            result.rollout = await self._metrics_fail_safe(rollout, exc)
            result.action = "error"
        except CanariaError as exc:
            await self.record("controller_error", rollout, severity="critical", message=str(exc))
            if isinstance(exc, InfrastructureError) and not isinstance(exc, StateError):
                result.rollout = self.store.get_rollout(rollout.id) or rollout
                result.action = "error"
            else:
                raise
        result.events = list(self._pending_events)
        return result

    async def _observe_and_act(self, rollout: Rollout) -> TickResult:
        result = TickResult(rollout=rollout)
        problem = await self.platform.canary_problem()
        if problem:
            result.rollout = await self._rollback(rollout, reason=problem, outcome=Outcome.ROLLED_BACK)
            result.action = "rollback"
            return result
        now = self.clock.now()
        previous = self.store.windows(rollout.id, last=1)
        start = previous[-1].end if previous else (rollout.stage_started_at or rollout.created_at)
        window = await self.metrics.read_window(start=start, end=now, stage_index=rollout.stage_index,
                                                canary_weight=rollout.traffic)
        self.store.add_window(rollout.id, window)
        result.window = window
        history = self.store.windows(rollout.id)
        ctx = self.stage_context(rollout)
        state = self._judge_states.setdefault(rollout.id, JudgeState())
        verdict = evaluate(history, ctx, self.config.guardrails, self.config.analysis, state=state)
        result.verdict = verdict
        earlier = self.store.verdicts(rollout.id, last=1)
        self.store.add_verdict(rollout.id, verdict, at=now, stage_index=rollout.stage_index, traffic=rollout.traffic)
        if not earlier or earlier[-1].verdict.decision is not verdict.decision:
            await self.record("decision", rollout, severity=_severity(verdict),
                              message=f"{verdict.decision.value} (score {verdict.score}/100): {verdict.headline}",
                              data=verdict.to_dict())
        await self._maybe_report(rollout, history, verdict)
        await self._maybe_offer_restart(rollout, verdict)

        phase = Phase(rollout.phase)
        if verdict.decision is Decision.NO_GO:
            result.rollout = await self._rollback(rollout, reason=verdict.headline, outcome=Outcome.ROLLED_BACK,
                                                  verdict=verdict)
            result.action = "rollback"
        elif phase is Phase.AWAITING_APPROVAL:
            timeout = self.config.plan.approval_timeout
            asked = self.store.events(rollout.id, kinds=("approval_needed",))
            waited = now - asked[-1].at if asked else 0.0
            if timeout and waited >= timeout:
                result.rollout = await self._rollback(
                    rollout, reason=f"approval not given within {timeout:g} s", outcome=Outcome.ABORTED)
                result.action = "rollback"
        elif phase is Phase.PAUSED:
            pass
        elif verdict.decision is Decision.OBSERVE and verdict.needs_human:
            result.rollout = self.transition(rollout, Phase.PAUSED, paused_from=rollout.phase,
                                             reason=verdict.headline)
            await self.record("paused", result.rollout, severity="warning", message=verdict.headline)
            result.action = "pause"
        elif verdict.decision is Decision.GO:
            result.rollout = await self.advance(rollout)
            result.action = "advance"
        return result

    async def _metrics_fail_safe(self, rollout: Rollout, exc: MetricsError) -> Rollout:
        """No metrics is never a pass: hold, and after `max_metrics_errors` failed checks in a row
        apply `analysis.on_metrics_error` (pause for a person, or roll back)."""
        await self.record("controller_error", rollout, severity="critical", message=f"metrics unavailable: {exc}",
                          data={"source": "metrics"})
        previous = self.store.windows(rollout.id, last=1)
        since = previous[-1].end if previous else (rollout.stage_started_at or rollout.created_at)
        failures = [e for e in self.store.events(rollout.id, kinds=("controller_error",))
                    if e.at >= since and e.data.get("source") == "metrics"]
        limit = self.config.analysis.max_metrics_errors
        if len(failures) < limit or rollout.phase == Phase.PAUSED.value:
            return rollout
        reason = f"metrics unavailable on {len(failures)} consecutive checks: {exc}"
        if self.config.analysis.on_metrics_error == "rollback":
            return await self._rollback(rollout, reason=reason, outcome=Outcome.ABORTED)
        rollout = self.transition(rollout, Phase.PAUSED, paused_from=rollout.phase, reason=reason)
        await self.record("paused", rollout, severity="critical", message=reason)
        return rollout

    async def _maybe_offer_restart(self, rollout: Rollout, verdict: Verdict) -> None:
        leak = leak_predicted(verdict)
        if leak and not self.store.events(rollout.id, kinds=("restart_offered",)):
            await self.record("restart_offered", rollout, severity="warning",
                              message=f"{leak}: the memory-leak playbook restarts the canary first "
                                      f"(`{RESTART_COMMAND}`)", data={"command": RESTART_COMMAND})

    async def _maybe_report(self, rollout: Rollout, history: list[Window], verdict: Verdict) -> None:
        now = self.clock.now()
        every = self.config.report.every
        final = verdict.decision is Decision.NO_GO  # the state at a rollback is always reported
        if not final and rollout.last_report_at is not None and now - rollout.last_report_at < every:
            return
        window = history[-1]
        text = status_report_text(window, verdict, next_check_at=now + self.config.analysis.interval,
                                  lang=self.lang, history=history, period_s=every, stages=len(self.stages),
                                  pass_mark=self.config.analysis.score.pass_)
        self.store.update_rollout(rollout.id, now=now, last_report_at=now)
        await self.record("status_report", rollout, message=text, data={"score": verdict.score,
                          "decision": verdict.decision.value, "window": window.to_dict()})

    # ------------------------------------------------------------ actions (shared with operators)
    async def advance(self, rollout: Rollout, *, actor: str | None = None, approved: bool = False) -> Rollout:
        """Move to the next stage (or to promotion after the last one); stop at an approval gate."""
        next_index = rollout.stage_index + 1
        if next_index >= len(self.stages) or rollout.traffic >= 100.0:
            rollout = self.transition(rollout, Phase.PROMOTING, action="promote")
            await self.record("promotion_started", rollout, actor=actor,
                              message=f"promoting {self.config.service}: the canary becomes stable")
            return await self._promote(rollout)
        stage = self.stages[next_index]
        if stage.needs_approval and not approved and rollout.approved_stage < next_index:
            if rollout.phase != Phase.AWAITING_APPROVAL.value:
                rollout = self.transition(rollout, Phase.AWAITING_APPROVAL)
                await self.record("approval_needed", rollout, severity="warning", actor=actor,
                                  message=f"approval needed to go to {stage.traffic:g}%: run `canaria approve`",
                                  data={"next_stage": next_index, "traffic": stage.traffic})
            return rollout
        target = target_of(stage)
        status = await self.route(target, previous=self.current_target(rollout))
        rollout = self.transition(rollout, Phase.PROGRESSING, action="promote", stage_index=next_index,
                                  traffic=stage.traffic, stage_started_at=self.clock.now(), paused_from=None,
                                  approved_stage=max(rollout.approved_stage, next_index if approved else -1))
        await self.record("stage_advanced", rollout, actor=actor,
                          message=f"canary at {target.describe()} (stage {next_index + 1}/{len(self.stages)})"
                          + _route_note(status),
                          data={"stage_index": next_index, "traffic": stage.traffic, **_route_data(status)})
        return rollout

    async def _promote(self, rollout: Rollout) -> Rollout:
        await self.platform.promote()
        rollout = self.transition(rollout, Phase.SUCCEEDED, outcome=Outcome.PROMOTED.value, traffic=100.0)
        await self.record("promotion_finished", rollout,
                          message=f"{self.config.service}: the canary is now stable (100%)")
        return rollout

    async def _rollback(self, rollout: Rollout, *, reason: str, outcome: Outcome, actor: str | None = None,
                        verdict: Verdict | None = None) -> Rollout:
        rollout = self.transition(rollout, Phase.ROLLING_BACK, action="rollback", outcome=outcome.value,
                                  reason=reason)
        await self.record("rollback_started", rollout, severity="critical", actor=actor,
                          message=f"rolling back: {reason}",
                          data={"reason": reason, "outcome": outcome.value,
                                "verdict": verdict.to_dict() if verdict else None})
        return await self._finish_rollback(rollout, actor=actor)

    async def _finish_rollback(self, rollout: Rollout, *, actor: str | None = None) -> Rollout:
        await self.platform.rollback(keep_canary=self.config.platform.keep_canary_on_rollback)
        rollout = self.transition(rollout, Phase.ROLLED_BACK, traffic=0.0)
        await self.record("rollback_finished", rollout, severity="critical", actor=actor,
                          message=f"rolled back: all traffic on stable ({rollout.reason})",
                          data={"reason": rollout.reason, "outcome": rollout.outcome})
        return rollout

    async def rollback(self, rollout: Rollout, *, reason: str, actor: str, outcome: Outcome = Outcome.ABORTED
                       ) -> Rollout:
        return await self._rollback(rollout, reason=reason, outcome=outcome, actor=actor)

    # ------------------------------------------------------------ the loop
    async def run(self, *, on_tick: Callable[[TickResult], Awaitable[None] | None] | None = None,
                  max_ticks: int | None = None) -> Rollout:
        """Tick every `analysis.interval` until the rollout ends."""
        rollout = self.active()
        if rollout is None:
            rollout = await self.start()
            if on_tick is not None:
                maybe = on_tick(TickResult(rollout=rollout, action="start", events=list(self._pending_events)))
                if maybe is not None:
                    await maybe
        ticks = 0
        while not is_terminal(rollout.phase):
            await self.clock.sleep(self.config.analysis.interval)
            result = await self.tick()
            if result is None:  # ended by someone else (operator rollback from another process)
                latest = self.store.get_rollout(rollout.id)
                return latest or rollout
            rollout = result.rollout
            if on_tick is not None:
                maybe = on_tick(result)
                if maybe is not None:
                    await maybe
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
        return self.store.get_rollout(rollout.id) or rollout


def _severity(verdict: Verdict) -> str:
    return {"GO": "info", "OBSERVE": "warning", "NO-GO": "critical"}[verdict.decision.value]


def _route_note(status: RouteStatus) -> str:
    if status.state == "unsupported":
        return "; the platform cannot read the split back (unsupported)"
    if status.approximate:  # Kubernetes `replicas`: the weight is a share of pods, not of requests
        return f"; the split is approximate ({status.detail})" if status.detail else "; the split is approximate"
    return ""


def _route_data(status: RouteStatus) -> dict[str, Any]:
    return {"route": {"state": status.state, "applied_weight": status.weight, "detail": status.detail,
                      "approximate": status.approximate,
                      "match": None if status.match is None else vars(status.match)}}
