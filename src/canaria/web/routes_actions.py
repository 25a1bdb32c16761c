"""Action endpoints: the same Operator code as the CLI, acting as the named token's owner.

Order of checks, all before anything changes: token (401/403) → input (422) → the rollout exists (404)
→ it is the active one (409) → the Operator's own phase check (StateError → 409).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from canaria.controller.actions import ActionResult, Operator
from canaria.i18n import LANGS
from canaria.i18n.messages import MESSAGES
from canaria.i18n.text import literal, msg, render
from canaria.state.store import Event
from canaria.web.auth import Principal
from canaria.web.context import WebContext, actor, get_ctx
from canaria.web.errors import ApiError
from canaria.web.routes_read import ROLLOUT_ID
from canaria.web.schemas import AckIn, ActionIn, ActionOut, ErrorOut, RollbackIn
from canaria.web.views import rollout_json, status_json

__all__ = ["ACTIONS", "router"]

Ctx = Annotated[WebContext, Depends(get_ctx)]
Who = Annotated[Principal, Depends(actor)]
RolloutId = Annotated[str, ROLLOUT_ID]
ACTIONS = ("approve", "promote", "pause", "resume", "rollback", "ack")
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "a body that cannot be read at all"},
    401: {"model": ErrorOut, "description": "no token, or a token this dashboard does not know"},
    403: {"model": ErrorOut, "description": "the token may only read, or the request came from another site"},
    404: {"model": ErrorOut, "description": "unknown rollout (or event, for ack)"},
    409: {"model": ErrorOut, "description": "not possible in the rollout's current phase; nothing changed"},
    422: {"model": ErrorOut, "description": "invalid body or parameter"},
    502: {"model": ErrorOut, "description": "the platform or gateway failed while acting"},
    503: {"model": ErrorOut, "description": "the state store is not available"},
}

router = APIRouter(prefix="/api/v1/rollouts/{rollout_id}", responses=_ERRORS)


async def _act(ctx: WebContext, rollout_id: str, who: Principal, action: str,
               do: Callable[[Operator], Awaitable[ActionResult]]) -> dict[str, Any]:
    ctx.rollout_or_404(rollout_id)
    async with ctx.operator_factory(who.name) as operator:
        active = operator.ctrl.active()
        if active is None or active.id != rollout_id:
            ended = ctx.db.get_rollout(rollout_id)
            what = f"has ended ({ended.phase})" if ended and not ended.active else "is not the active rollout"
            raise ApiError(409, "not_active", f"`{action}`: rollout {rollout_id} {what}; nothing changed")
        result = await do(operator)
    return _answer(ctx, rollout_id, who, action, result.changed, result.message, text=result.text)


def _answer(ctx: WebContext, rollout_id: str, who: Principal, action: str, changed: bool, message: str,
            *, text: dict[str, Any] | None = None) -> dict[str, Any]:
    rollout = ctx.db.get_rollout(rollout_id)
    texts = {lang: message if lang == "en" or text is None else render(text, lang) for lang in LANGS}
    return {"action": action, "actor": who.name, "changed": changed, "message": message, "texts": texts,
            "rollout": rollout_json(rollout, ctx.reports) if rollout else None,
            "status": status_json(ctx.config, ctx.db, rollout, now=ctx.now())}


_Reason = Annotated[ActionIn | None, Body()]


@router.post("/approve", response_model=ActionOut, summary="The final approver's GO at an approval gate")
async def approve(rollout_id: RolloutId, who: Who, ctx: Ctx, body: _Reason = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await _act(ctx, rollout_id, who, "approve", lambda op: op.approve(reason=reason))


@router.post("/promote", response_model=ActionOut, summary="Go to the next stage now, whatever the hold says")
async def promote(rollout_id: RolloutId, who: Who, ctx: Ctx, body: _Reason = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await _act(ctx, rollout_id, who, "promote", lambda op: op.promote(reason=reason))


@router.post("/pause", response_model=ActionOut, summary="Hold the rollout at its current traffic")
async def pause(rollout_id: RolloutId, who: Who, ctx: Ctx, body: _Reason = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await _act(ctx, rollout_id, who, "pause", lambda op: op.pause(reason=reason))


@router.post("/resume", response_model=ActionOut, summary="Continue a paused rollout")
async def resume(rollout_id: RolloutId, who: Who, ctx: Ctx, body: _Reason = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await _act(ctx, rollout_id, who, "resume", lambda op: op.resume(reason=reason))


@router.post("/rollback", response_model=ActionOut, summary="All traffic back to stable, with the reason why")
async def rollback(rollout_id: RolloutId, who: Who, ctx: Ctx, body: RollbackIn) -> dict[str, Any]:
    return await _act(ctx, rollout_id, who, "rollback", lambda op: op.rollback(reason=body.reason))


def _alert_to_ack(events: list[Event], event_id: int | None, rollout_id: str) -> Event:
    if event_id is not None:
        for event in events:
            if event.id == event_id:
                return event
        raise ApiError(404, "event_not_found", f"rollout {rollout_id} has no event {event_id}")
    alerts = [e for e in events if e.severity in ("warning", "critical") and e.kind != "acknowledged"]
    if not alerts:
        raise ApiError(409, "nothing_to_ack", f"rollout {rollout_id} has no warning or critical event")
    return alerts[-1]


@router.post("/ack", response_model=ActionOut, summary="Acknowledge an alert (recorded; stops nobody's pager)")
async def ack(rollout_id: RolloutId, who: Who, ctx: Ctx, body: Annotated[AckIn | None, Body()] = None
              ) -> dict[str, Any]:
    """Works on ended rollouts too: people acknowledge a rollback after it happened."""
    rollout = ctx.rollout_or_404(rollout_id)
    body = body or AckIn()
    events = ctx.db.events(rollout_id)
    target = _alert_to_ack(events, body.event_id, rollout_id)
    done = any(e.kind == "acknowledged" and e.actor == who.name and e.data.get("event_id") == target.id
               for e in events)
    if done:
        return _answer(ctx, rollout_id, who, "ack", False, f"event {target.id} was already acknowledged",
                       text=msg("action.ack_already", id=target.id))
    async with ctx.operator_factory(who.name) as operator:
        note = f" — {body.note}" if body.note else ""
        await operator.ctrl.record("acknowledged", rollout, actor=who.name,
                                   message=f"{who.name} acknowledged: {target.message}{note}"[:1000],
                                   text=msg("event.acknowledged", who=literal(who.name),
                                            what=target.text or literal(target.message), note=literal(note)),
                                   data={"event_id": target.id, "kind": target.kind, "note": body.note})
    return _answer(ctx, rollout_id, who, "ack", True, f"acknowledged event {target.id} ({target.kind})",
                   text=msg("action.acked", id=target.id, kind=_kind_text(target.kind)))


def _kind_text(kind: str) -> dict[str, Any]:
    return msg(f"web.event.{kind}") if f"web.event.{kind}" in MESSAGES["en"] else literal(kind)
