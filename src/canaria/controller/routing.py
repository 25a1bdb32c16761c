"""Moving traffic, verified: write the route, then read back what the data plane applies (DESIGN.md §5).

A stage counts as entered only when the platform says `applied` (or `unsupported`, which the event says). When the
route stays `pending` past `platform.verify_timeout`, or the write fails, the previous route is written back and
the step fails with the platform's own words, so traffic is never left half-moved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from canaria.config import StageConfig
from canaria.controller.clock import Clock
from canaria.errors import CanariaError, PlatformError
from canaria.i18n.text import literal, msg
from canaria.platforms.base import Platform, RouteStatus, TesterMatch

__all__ = ["RouteTarget", "apply_route", "await_settled", "route_data", "target_of"]

_POLL_S = 0.5


@dataclass(frozen=True)
class RouteTarget:
    weight: float
    match: TesterMatch | None = None

    def describe(self) -> str:
        if self.match is None:
            return f"{self.weight:g}%"
        extra = f" + {self.weight:g}%" if self.weight else ""
        return f"testers ({self.match.describe()}){extra}"

    def text(self) -> dict[str, Any]:
        """`describe()`, translatable: "5%" or "testers (header X-Canary = always) + 5%"."""
        weight = f"{self.weight:g}"
        if self.match is None:
            return msg("route.weight", weight=weight)
        if self.weight:
            return msg("route.testers_plus", match=literal(self.match.describe()), weight=weight)
        return msg("route.testers", match=literal(self.match.describe()))


def target_of(stage: StageConfig, *, traffic: float | None = None) -> RouteTarget:
    """The route a stage asks for (`traffic` overrides the weight, e.g. `enable-canary --traffic N`)."""
    match = None
    if stage.match is not None and traffic is None:
        match = TesterMatch(value=stage.match.value, header=stage.match.header, cookie=stage.match.cookie)
    return RouteTarget(stage.traffic if traffic is None else traffic, match)


async def apply_route(platform: Platform, clock: Clock, target: RouteTarget, *, timeout_s: float,
                      previous: RouteTarget | None = None) -> RouteStatus:
    """Write `target` and wait until the data plane applies it; on failure put `previous` back and raise."""
    try:
        await platform.set_route(target.weight, match=target.match)
        status = await _await_applied(platform, clock, target, timeout_s=timeout_s)
    except CanariaError as exc:
        await _restore(platform, previous, exc)
        raise
    return status


async def await_settled(platform: Platform, clock: Clock, *, after: Literal["promote", "rollback"],
                        timeout_s: float) -> RouteStatus:
    """After `platform.rollback()` / `promote()`: until the data plane applies it. A rollback is finished only
    when the canary's share reads 0 (a Cloud Run update or an HTTPRoute can still be pending when the write
    returns); a promotion once nothing is pending (the canary's share afterwards is the backend's own: the new
    version is the stable one now, or still tagged)."""
    if after == "rollback":  # none to the canary, even where a split is approximate (canary pods still Ready)
        return await _await(platform, clock, lambda status: status.sends_canary_nothing, timeout_s=timeout_s,
                            what="the rollback", key="error.rollback.not_applied")
    return await _await(platform, clock, lambda status: status.state != "pending", timeout_s=timeout_s,
                        what="the promotion", key="error.promotion.not_applied")


async def _await_applied(platform: Platform, clock: Clock, target: RouteTarget, *, timeout_s: float) -> RouteStatus:
    return await _await(platform, clock, lambda status: status.state == "applied" and _matches(status, target),
                        timeout_s=timeout_s, what=f"the route to {target.describe()}", key="error.route.not_applied",
                        params={"target": target.text()})


async def _await(platform: Platform, clock: Clock, done: Callable[[RouteStatus], bool], *, timeout_s: float,
                 what: str, key: str, params: dict[str, object] | None = None) -> RouteStatus:
    started = clock.now()
    while True:
        status = await platform.verify_route()
        if status.state == "unsupported" or done(status):
            return status
        if clock.now() - started >= timeout_s:
            seen = "pending" if status.state == "pending" else f"applied {status.weight}"
            seen += f": {status.detail}" if status.detail else ""
            raise PlatformError(f"{what} was written but not applied within {timeout_s:g} s ({seen})", key=key,
                                params={**(params or {}), "timeout": f"{timeout_s:g}", "seen": {"literal": seen}})
        await clock.sleep(_POLL_S)


def _matches(status: RouteStatus, target: RouteTarget) -> bool:
    """Applied means what was asked: the weight (the backend judges an approximate split) and the tester route."""
    if not status.approximate and (status.weight is None or abs(status.weight - target.weight) > 0.01):
        return False
    return status.match == target.match


async def _restore(platform: Platform, previous: RouteTarget | None, cause: CanariaError) -> None:
    if previous is None:
        return
    try:
        await platform.set_route(previous.weight, match=previous.match)
    except CanariaError as exc:
        raise PlatformError(f"{cause}; putting the previous route ({previous.describe()}) back failed too: {exc}"
                            ) from None


def route_data(status: RouteStatus) -> dict[str, Any]:
    """What a stage event records of the route the data plane applies."""
    return {"route": {"state": status.state, "applied_weight": status.weight, "detail": status.detail,
                      "approximate": status.approximate,
                      "match": None if status.match is None else vars(status.match)}}
