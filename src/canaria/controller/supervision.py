"""Keeping the data plane up during a rollout, and remembering when it was not.

`canaria run` probes the data plane every `platform.supervise.interval` (and at the start of every tick);
the platform restarts what canaria runs and has died (bounded). Every outage and every restart is an event, so
the controller can refuse to judge a window that an outage cut through: after a recovery the judge needs at least
one complete window measured after it before it may say GO (`disturbed_since`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.controller.clock import Clock
from canaria.controller.messages import health_summary
from canaria.controller.phases import Phase
from canaria.errors import CanariaError
from canaria.i18n.text import join, literal, msg
from canaria.platforms.base import DataPlaneHealth, Platform
from canaria.state.store import Event, Rollout, Store

__all__ = ["DataPlaneWatch", "DISTURBANCE_KINDS", "canary_expected", "hold_for_fresh_window"]

log = logging.getLogger("canaria.controller")

DISTURBANCE_KINDS = ("data_plane_down", "data_plane_restarted", "data_plane_recovered")
_DISTURBING_ERRORS = ("data_plane", "metrics")  # controller_error sources that leave a window without data

_CANARY_RUNS = frozenset({Phase.PROGRESSING.value, Phase.AWAITING_APPROVAL.value, Phase.PAUSED.value})


def canary_expected(rollout: Rollout | None) -> bool:
    """A canary should be running (and be restarted when it dies) only while a rollout routes to it."""
    return rollout is not None and rollout.phase in _CANARY_RUNS


class _Recorder(Protocol):
    """What the watch needs of the controller (machine.Controller), without importing it."""

    store: Store
    platform: Platform
    clock: Clock

    def active(self) -> Rollout | None: ...

    async def record(self, kind: str, rollout: Rollout | None, *, message: str = "", severity: str = "info",
                     actor: str | None = None, data: dict[str, Any] | None = None,
                     text: dict[str, Any] | None = None) -> Event: ...


class DataPlaneWatch:
    def __init__(self, controller: _Recorder) -> None:
        self.ctrl = controller
        self._down_since: float | None = None  # when this process first saw the data plane down

    async def check(self) -> DataPlaneHealth | None:
        """Probe (and heal) the data plane once; record outages and restarts. None if the probe itself failed."""
        ctrl = self.ctrl
        rollout = ctrl.active()
        try:
            health = await ctrl.platform.supervise(canary=canary_expected(rollout))
        except CanariaError as exc:
            log.warning("data plane probe failed: %s", exc)
            return None
        now = ctrl.clock.now()
        restarted = health.restarted
        if restarted:
            downtime = None if self._down_since is None else round(now - self._down_since, 3)
            names = join([literal(c.name) for c in restarted], ", ")
            text = (msg("event.data_plane_restarted", names=names, summary=health_summary(health))
                    if downtime is None else msg("event.data_plane_restarted_after", names=names,
                                                 downtime=f"{downtime:g}", summary=health_summary(health)))
            await ctrl.record("data_plane_restarted", rollout, severity="warning", text=text,
                              data={"components": [c.to_dict() for c in health.components], "downtime_s": downtime,
                                    "restarted": [c.name for c in restarted]})
        if not health.up:
            if self._down_since is None:
                self._down_since = now
                await ctrl.record("data_plane_down", rollout, severity="critical",
                                  text=msg("event.data_plane_down", summary=health_summary(health)),
                                  data={"components": [c.to_dict() for c in health.components]})
        elif self._down_since is not None:
            if not restarted:
                await ctrl.record("data_plane_recovered", rollout, severity="warning",
                                  text=msg("event.data_plane_recovered", downtime=f"{now - self._down_since:g}",
                                           summary=health_summary(health)),
                                  data={"components": [c.to_dict() for c in health.components],
                                        "downtime_s": round(now - self._down_since, 3)})
            self._down_since = None
        return health

    async def loop(self, interval_s: float) -> None:
        """Probe until cancelled (a task beside the tick loop of `run`)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.check()
            except CanariaError as exc:  # e.g. the store is locked: try again at the next probe
                log.warning("data plane supervision: %s", exc)

    def disturbed_since(self, rollout: Rollout, start: float) -> Event | None:
        """The last outage, restart or failed measurement after `start`: a window that began before it was cut
        through by it and is no ground for a GO."""
        events = self.ctrl.store.events(rollout.id, kinds=(*DISTURBANCE_KINDS, "controller_error"))
        disturbing = [e for e in events if e.at > start and (e.kind != "controller_error"
                                                             or e.data.get("source") in _DISTURBING_ERRORS)]
        return disturbing[-1] if disturbing else None


def hold_for_fresh_window(verdict: Verdict, disturbance: Event) -> Verdict:
    """A GO on a window an outage cut through becomes OBSERVE: wait for one complete window after recovery."""
    at = datetime.fromtimestamp(disturbance.at, tz=UTC).strftime("%H:%M:%S")
    what = disturbance.kind.replace("_", " ") if disturbance.kind != "controller_error" else "a failed check"
    reason = Reason(check="data_plane", severity=Severity.WARNING, decision=Decision.OBSERVE,
                    message=f"{what} at {at} UTC: waiting for a complete window measured after recovery",
                    key=f"data_plane.fresh_window.{disturbance.kind}", params={"at": at})
    return replace(verdict, decision=Decision.OBSERVE, reasons=[reason, *verdict.reasons])
