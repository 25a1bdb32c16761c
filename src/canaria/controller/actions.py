"""Operator actions: the same code for the CLI, the web API and scripts. Each checks the transition
table first, acts through the controller, and records who did it and why."""

from __future__ import annotations

from dataclasses import dataclass

from canaria.controller.lock import ControllerLock
from canaria.controller.machine import Controller
from canaria.controller.messages import Text, english, operator_text
from canaria.controller.phases import Outcome, Phase, check_transition
from canaria.controller.routing import RouteTarget, await_settled
from canaria.errors import RolloutActiveError, StateError, UsageError
from canaria.i18n.text import literal, msg, render
from canaria.platforms.base import Variant
from canaria.state.store import Rollout

__all__ = ["Operator", "ActionResult"]


@dataclass
class ActionResult:
    rollout: Rollout | None
    changed: bool
    message: str
    steps: list[str] | None = None
    steps_text: list[Text] | None = None  # `steps` as translatable texts
    text: Text | None = None  # `message` as a catalogue key + params, for readers of other languages


class Operator:
    def __init__(self, controller: Controller, *, actor: str) -> None:
        self.ctrl = controller
        self.actor = actor

    def _require_active(self, action: str) -> Rollout:
        rollout = self.ctrl.active()
        if rollout is None:
            raise StateError(f"`{action}`: {self.ctrl.config.service} has no active rollout")
        return rollout

    async def approve(self, *, reason: str = "") -> ActionResult:
        rollout = self._require_active("approve")
        if rollout.phase != Phase.AWAITING_APPROVAL.value:
            raise StateError(f"`approve` is only possible at an approval gate; the rollout is {rollout.phase}")
        await self.ctrl.record("approved", rollout, actor=self.actor, text=operator_text(reason, "event.approved"),
                               data={"stage_index": rollout.stage_index + 1})
        rollout = await self.ctrl.advance(rollout, actor=self.actor, approved=True)
        return ActionResult(rollout, True, f"approved: {rollout.phase} at {rollout.traffic:g}%",
                            text=msg("action.approved", phase=msg(f"phase.{rollout.phase}"),
                                     traffic=f"{rollout.traffic:g}"))

    async def promote(self, *, reason: str = "") -> ActionResult:
        """Go to the next stage now, whatever the hold says (a person's GO)."""
        rollout = self._require_active("promote")
        check_transition(rollout.phase, Phase.PROGRESSING if rollout.stage_index + 1 < len(self.ctrl.stages)
                         else Phase.PROMOTING, action="promote")
        await self.ctrl.record("manual_promote", rollout, actor=self.actor,
                               text=operator_text(reason, "event.manual_promote"))
        rollout = await self.ctrl.advance(rollout, actor=self.actor, approved=True)
        return ActionResult(rollout, True, f"{rollout.phase} at {rollout.traffic:g}%",
                            text=msg("action.moved", phase=msg(f"phase.{rollout.phase}"),
                                     traffic=f"{rollout.traffic:g}"))

    async def pause(self, *, reason: str = "") -> ActionResult:
        rollout = self._require_active("pause")
        if rollout.phase == Phase.PAUSED.value:
            return ActionResult(rollout, False, "already paused", text=msg("action.already_paused"))
        rollout = self.ctrl.transition(rollout, Phase.PAUSED, action="pause", paused_from=rollout.phase)
        await self.ctrl.record("paused", rollout, actor=self.actor, severity="warning",
                               text=operator_text(reason, "event.paused_by_operator"))
        return ActionResult(rollout, True, f"paused at {rollout.traffic:g}%",
                            text=msg("action.paused", traffic=f"{rollout.traffic:g}"))

    async def resume(self, *, reason: str = "") -> ActionResult:
        rollout = self._require_active("resume")
        if rollout.phase != Phase.PAUSED.value:
            raise StateError(f"`resume` is only possible when paused; the rollout is {rollout.phase}")
        target = Phase(rollout.paused_from or Phase.PROGRESSING.value)
        ctx = self.ctrl.stage_context(rollout)
        fields: dict[str, object] = {}
        if ctx.elapsed_in_stage_s > ctx.hold_s:  # the hold is served: give the stage a fresh extension window
            fields["stage_started_at"] = self.ctrl.clock.now() - ctx.hold_s
        rollout = self.ctrl.transition(rollout, target, action="resume", paused_from=None, **fields)
        await self.ctrl.record("resumed", rollout, actor=self.actor,
                               text=operator_text(reason, "event.resumed_by_operator"))
        return ActionResult(rollout, True, f"resumed: {rollout.phase}",
                            text=msg("action.resumed", phase=msg(f"phase.{rollout.phase}")))

    async def rollback(self, *, reason: str = "", dry_run: bool = False, force: bool = False) -> ActionResult:
        rollout = self.ctrl.active()
        platform = self.ctrl.platform
        if dry_run:
            texts = platform.rollback_plan_text()
            return ActionResult(rollout, False, "dry run", steps=[render(step, "en") for step in texts],
                                steps_text=texts)
        await self.ctrl.watch.check()  # a dead gateway is started again (with its saved weights) before the write
        rollout = self.ctrl.active()
        if rollout is None:
            if force:  # the deploy script failed half-way: make sure no traffic reaches a canary
                try:
                    await platform.rollback(keep_canary=self.ctrl.config.platform.keep_canary_on_rollback)
                    await await_settled(platform, self.ctrl.clock, after="rollback",
                                        timeout_s=self.ctrl.config.platform.verify_timeout)
                except Exception as exc:  # noqa: BLE001 - force reports what it could not do
                    return ActionResult(None, False, f"nothing active; forced reset failed: {exc}")
                return ActionResult(None, True, "nothing active; forced all traffic to stable")
            return ActionResult(None, False, "nothing to roll back")
        why = operator_text(reason, "event.rolled_back_by_operator")
        rollout = await self.ctrl.rollback(rollout, reason=english(why), actor=self.actor, outcome=Outcome.ABORTED,
                                           reason_text=why)
        return ActionResult(rollout, True, "rolled back", text=msg("action.rolled_back"))

    async def restart(self, variant: Variant, *, reason: str = "") -> str:
        """The memory-leak playbook's restart of a variant's instances, recorded in the active rollout."""
        message = await self.ctrl.platform.restart(variant)
        rollout = self.ctrl.active()
        await self.ctrl.record("restarted", rollout, actor=self.actor, severity="warning",
                               text=_with_reason(literal(message), reason),
                               data={"variant": variant, "reason": reason})
        return message

    async def rollback_to_revision(self, revision: str, *, reason: str = "") -> str:
        """After a finished rollout: put the platform's stable back to an earlier revision of its own history."""
        active = self.ctrl.active()
        if active is not None:
            raise StateError(f"rollout {active.id} is active ({active.phase}); `canaria rollback` it first, "
                             "then --to-revision")
        message = await self.ctrl.platform.rollback_to_revision(revision)
        await self.ctrl.record("revision_restored", None, actor=self.actor, severity="warning",
                               text=_with_reason(literal(message), reason),
                               data={"revision": revision, "reason": reason})
        return message

    async def enable_canary(self, traffic: float, *, lock: ControllerLock) -> ActionResult:
        if not 0 < traffic <= 100:
            raise UsageError(f"--traffic must be between 0 (exclusive) and 100, got {traffic:g}; routing unchanged")
        rollout = self.ctrl.active()
        if rollout is not None and lock.is_held():
            raise RolloutActiveError(
                f"`canaria run` (pid {lock.holder_pid()}) is driving the rollout of {self.ctrl.config.service}; "
                "use pause/approve/promote/rollback instead of moving traffic by hand"
            )
        await self.ctrl.watch.check()  # start the gateway (and what else canaria runs) when it is not running
        if rollout is not None and rollout.phase == Phase.ROLLING_BACK.value:  # finish the stranded rollback first
            await self.ctrl.rollback(rollout, reason=rollout.reason or "rollback", actor=self.actor)
            rollout = None
        if rollout is None:
            rollout = await self.ctrl.start(traffic=traffic, actor=self.actor)
            return ActionResult(rollout, True, f"canary started at {traffic:g}%")
        check_transition(rollout.phase, Phase.PROGRESSING, action="enable-canary")
        status = await self.ctrl.route(RouteTarget(traffic), previous=self.ctrl.current_target(rollout))
        stage_index = self.ctrl._stage_for(traffic)
        rollout = self.ctrl.transition(rollout, Phase.PROGRESSING, stage_index=stage_index, traffic=traffic,
                                       stage_started_at=self.ctrl.clock.now())
        await self.ctrl.record("traffic_set", rollout, actor=self.actor,
                               text=msg("event.traffic_set", traffic=f"{traffic:g}"),
                               data={"traffic": traffic, "stage_index": stage_index,
                                     "route": {"state": status.state, "applied_weight": status.weight,
                                               "detail": status.detail}})
        return ActionResult(rollout, True, f"canary traffic set to {traffic:g}%")


def _with_reason(text: Text, reason: str) -> Text:
    """A platform's answer, followed by the operator's reason in brackets when they gave one."""
    return msg("event.with_reason", text=text, reason=literal(reason)) if reason else text
