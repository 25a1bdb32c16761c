"""The reconcile loop: one tick reads the window, asks the judge, acts at most once, records it all.

The controller holds no state of its own between ticks: everything lives in the store, so a
`kill -9` and a restart continue at the same stage, and operator actions from another process
(`canaria approve`, `rollback`) are seen at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from canaria.analysis.context import StageContext
from canaria.analysis.judge import evaluate
from canaria.analysis.verdict import Decision, Verdict
from canaria.analysis.window import Window
from canaria.config import CanariaConfig
from canaria.controller.baseline import JudgeStates
from canaria.controller.clock import Clock, SystemClock
from canaria.controller.events import EventSink, NullSink
from canaria.controller.messages import Text, english, error_text, rollback_reason_of, stage_text, verdict_headline
from canaria.controller.phases import Outcome, Phase, check_transition, is_terminal
from canaria.controller.reporting import tell_verdict
from canaria.controller.routing import RouteTarget, apply_route, await_settled, route_data, target_of
from canaria.controller.supervision import DataPlaneWatch, hold_for_fresh_window
from canaria.errors import (
    CanariaError,
    GatewayError,
    InfrastructureError,
    MetricsError,
    PlatformError,
    StateError,
    StoreError,
)
from canaria.i18n.text import literal, msg
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
        self._judge_states = JudgeStates(self)  # evidence kept between ticks, per rollout
        self.watch = DataPlaneWatch(self)  # supervision of the data plane, and the memory of its outages

    # ------------------------------------------------------------ recording
    async def record(self, kind: str, rollout: Rollout | None, *, message: str = "", severity: str = "info",
                     actor: str | None = None, data: dict[str, Any] | None = None,
                     text: dict[str, Any] | None = None) -> Event:
        """Store and publish an event; `message` defaults to `text` (canaria.i18n.text) rendered in English."""
        if text is not None and not message:
            message = english(text)
        event = self.store.add_event(kind, at=self.clock.now(), rollout_id=rollout.id if rollout else None,
                                     severity=severity, actor=actor or self.actor, message=message, data=data,
                                     text=text)
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
                          text=msg("event.rollout_started", service=self.config.service),
                          data={"stages": [s.traffic for s in self.stages], "traffic": first,
                                "versions": await self._versions()})
        try:
            await self.platform.start_canary()
            status = await self.route(target, previous=RouteTarget(0.0))
        except InfrastructureError as exc:
            await self.record("canary_failed", rollout, severity="critical", text=error_text(exc))
            return await self._rollback(rollout, reason=str(exc), outcome=Outcome.ROLLED_BACK, actor=actor,
                                        reason_text=error_text(exc))
        now = self.clock.now()
        rollout = self.transition(rollout, Phase.PROGRESSING, stage_index=stage_index, traffic=first,
                                  stage_started_at=now, last_report_at=now)
        await self.record("stage_advanced", rollout, actor=actor,
                          text=stage_text(target, index=stage_index, total=len(self.stages), status=status),
                          data={"stage_index": stage_index, "traffic": first, **route_data(status)})
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
        await self.watch.check()  # bring back a dead gateway or process before acting
        rollout = self.store.get_rollout(rollout.id) or rollout
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
            source = "data_plane" if isinstance(exc, (GatewayError, PlatformError)) else "controller"
            await self.record("controller_error", rollout, severity="critical", text=error_text(exc),
                              data={"source": source})
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
            result.rollout = await self._rollback(rollout, reason=problem, outcome=Outcome.ROLLED_BACK,
                                                  reason_text=literal(problem))
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
        state = await self._judge_states.of(rollout)  # the first: with the stable version's past
        verdict = evaluate(history, ctx, self.config.guardrails, self.config.analysis, state=state)
        disturbance = self.watch.disturbed_since(rollout, window.start) if verdict.decision is Decision.GO else None
        if disturbance is not None:  # never advance on a window an outage cut through
            verdict = hold_for_fresh_window(verdict, disturbance)
        result.verdict = verdict
        await tell_verdict(self, rollout, history, verdict, ctx, at=now)

        phase = Phase(rollout.phase)
        if verdict.decision is Decision.NO_GO:
            result.rollout = await self._rollback(rollout, reason=verdict.headline, outcome=Outcome.ROLLED_BACK,
                                                  verdict=verdict, reason_text=verdict_headline(verdict))
            result.action = "rollback"
        elif phase is Phase.AWAITING_APPROVAL:
            timeout = self.config.plan.approval_timeout
            asked = self.store.events(rollout.id, kinds=("approval_needed",))
            waited = now - asked[-1].at if asked else 0.0
            if timeout and waited >= timeout:
                why = msg("event.approval_timeout", timeout=f"{timeout:g}")
                result.rollout = await self._rollback(rollout, reason=english(why), outcome=Outcome.ABORTED,
                                                      reason_text=why)
                result.action = "rollback"
        elif phase is Phase.PAUSED:
            pass
        elif verdict.decision is Decision.OBSERVE and verdict.needs_human:
            result.rollout = self.transition(rollout, Phase.PAUSED, paused_from=rollout.phase,
                                             reason=verdict.headline)
            await self.record("paused", result.rollout, severity="warning", text=verdict_headline(verdict))
            result.action = "pause"
        elif verdict.decision is Decision.GO:
            result.rollout = await self.advance(rollout)
            result.action = "advance"
        return result

    async def _metrics_fail_safe(self, rollout: Rollout, exc: MetricsError) -> Rollout:
        """No metrics is never a pass: hold, and after `max_metrics_errors` failed checks in a row
        apply `analysis.on_metrics_error` (pause for a person, or roll back)."""
        await self.record("controller_error", rollout, severity="critical", data={"source": "metrics"},
                          text=msg("event.metrics_unavailable", error=error_text(exc)))
        previous = self.store.windows(rollout.id, last=1)
        since = previous[-1].end if previous else (rollout.stage_started_at or rollout.created_at)
        failures = [e for e in self.store.events(rollout.id, kinds=("controller_error",))
                    if e.at >= since and e.data.get("source") == "metrics"]
        limit = self.config.analysis.max_metrics_errors
        if len(failures) < limit or rollout.phase == Phase.PAUSED.value:
            return rollout
        why = msg("event.metrics_unavailable_streak", n=len(failures), error=error_text(exc))
        reason = english(why)
        if self.config.analysis.on_metrics_error == "rollback":
            return await self._rollback(rollout, reason=reason, outcome=Outcome.ABORTED, reason_text=why)
        rollout = self.transition(rollout, Phase.PAUSED, paused_from=rollout.phase, reason=reason)
        await self.record("paused", rollout, severity="critical", text=why)
        return rollout

    # ------------------------------------------------------------ actions (shared with operators)
    async def advance(self, rollout: Rollout, *, actor: str | None = None, approved: bool = False) -> Rollout:
        """Move to the next stage (or to promotion after the last one); stop at an approval gate."""
        next_index = rollout.stage_index + 1
        if next_index >= len(self.stages) or rollout.traffic >= 100.0:
            rollout = self.transition(rollout, Phase.PROMOTING, action="promote")
            await self.record("promotion_started", rollout, actor=actor,
                              text=msg("event.promotion_started", service=self.config.service))
            return await self._promote(rollout)
        stage = self.stages[next_index]
        if stage.needs_approval and not approved and rollout.approved_stage < next_index:
            if rollout.phase != Phase.AWAITING_APPROVAL.value:
                rollout = self.transition(rollout, Phase.AWAITING_APPROVAL)
                await self.record("approval_needed", rollout, severity="warning", actor=actor,
                                  text=msg("event.approval_needed", traffic=f"{stage.traffic:g}"),
                                  data={"next_stage": next_index, "traffic": stage.traffic})
            return rollout
        target, previous = target_of(stage), self.current_target(rollout)
        status = await self.route(target, previous=previous)
        try:
            rollout = self.transition(rollout, Phase.PROGRESSING, action="promote", stage_index=next_index,
                                      traffic=stage.traffic, stage_started_at=self.clock.now(), paused_from=None,
                                      approved_stage=max(rollout.approved_stage, next_index if approved else -1))
        except StoreError:  # the stage could not be recorded (disk full): traffic goes back to the recorded one
            await self.platform.set_route(previous.weight, match=previous.match)
            raise
        await self.record("stage_advanced", rollout, actor=actor,
                          text=stage_text(target, index=next_index, total=len(self.stages), status=status),
                          data={"stage_index": next_index, "traffic": stage.traffic, **route_data(status)})
        return rollout

    async def _promote(self, rollout: Rollout) -> Rollout:
        await self.platform.promote()
        status = await await_settled(self.platform, self.clock, after="promote",
                                     timeout_s=self.config.platform.verify_timeout)
        rollout = self.transition(rollout, Phase.SUCCEEDED, outcome=Outcome.PROMOTED.value, traffic=100.0)
        await self.record("promotion_finished", rollout, data=route_data(status),
                          text=msg("event.promotion_finished", service=self.config.service))
        return rollout

    async def _rollback(self, rollout: Rollout, *, reason: str, outcome: Outcome, actor: str | None = None,
                        verdict: Verdict | None = None, reason_text: Text | None = None) -> Rollout:
        rollout = self.transition(rollout, Phase.ROLLING_BACK, action="rollback", outcome=outcome.value,
                                  reason=reason)
        await self.record("rollback_started", rollout, severity="critical", actor=actor,
                          text=msg("event.rollback_started", reason=reason_text or literal(reason)),
                          data={"reason": reason, "outcome": outcome.value,
                                "verdict": verdict.to_dict() if verdict else None})
        return await self._finish_rollback(rollout, actor=actor)

    async def _finish_rollback(self, rollout: Rollout, *, actor: str | None = None) -> Rollout:
        await self.platform.rollback(keep_canary=self.config.platform.keep_canary_on_rollback)
        status = await await_settled(self.platform, self.clock, after="rollback",
                                     timeout_s=self.config.platform.verify_timeout)
        rollout = self.transition(rollout, Phase.ROLLED_BACK, traffic=0.0)
        why = rollback_reason_of(self.store.events(rollout.id, kinds=("rollback_started",)), rollout.reason or "")
        await self.record("rollback_finished", rollout, severity="critical", actor=actor,
                          text=msg("event.rollback_finished", reason=why),
                          data={"reason": rollout.reason, "outcome": rollout.outcome, **route_data(status)})
        return rollout

    async def rollback(self, rollout: Rollout, *, reason: str, actor: str, outcome: Outcome = Outcome.ABORTED,
                       reason_text: Text | None = None) -> Rollout:
        """Roll back; a rollback whose platform write failed earlier (gateway down) is finished, not refused."""
        fresh = self.store.get_rollout(rollout.id) or rollout
        if fresh.phase == Phase.ROLLING_BACK.value:
            why = rollback_reason_of(self.store.events(fresh.id, kinds=("rollback_started",)), fresh.reason or "")
            await self.record("rollback_retried", fresh, severity="warning", actor=actor,
                              text=msg("event.rollback_retried", reason=why),
                              data={"reason": fresh.reason, "requested_reason": reason})
            return await self._finish_rollback(fresh, actor=actor)
        return await self._rollback(rollout, reason=reason, outcome=outcome, actor=actor, reason_text=reason_text)

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
        else:
            await self.watch.check()  # a resumed rollout: the data plane may have died with the last controller
        supervision = self.config.platform.supervise
        watcher = asyncio.create_task(self.watch.loop(supervision.interval)) if supervision.enabled else None
        try:
            return await self._tick_until_done(rollout, on_tick=on_tick, max_ticks=max_ticks)
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def _tick_until_done(self, rollout: Rollout, *,
                               on_tick: Callable[[TickResult], Awaitable[None] | None] | None,
                               max_ticks: int | None) -> Rollout:
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
