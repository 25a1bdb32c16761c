"""Read endpoints: rollouts, current state, windows, verdicts, events, reports. Never change anything."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse

from canaria import __version__
from canaria.i18n.messages import MESSAGES
from canaria.state.status import status_dict
from canaria.web.context import WebContext, get_ctx, identify, reader
from canaria.web.errors import ApiError
from canaria.web.reports import MEDIA_TYPES
from canaria.web.schemas import (
    ErrorOut,
    EventOut,
    InfoOut,
    ReportListOut,
    RolloutListOut,
    SnapshotOut,
    StatusOut,
    VerdictOut,
    WhoAmIOut,
    WindowOut,
)
from canaria.web.views import event_json, rollout_json, snapshot, verdict_json, window_json

__all__ = ["ROLLOUT_ID", "ROLLOUT_ID_PATTERN", "files", "router"]

Ctx = Annotated[WebContext, Depends(get_ctx)]
ROLLOUT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ROLLOUT_ID = Path(pattern=ROLLOUT_ID_PATTERN, max_length=200, description="e.g. ion-api-1a2b3c4d")
RolloutId = Annotated[str, ROLLOUT_ID]
_Responses = dict[int | str, dict[str, Any]]
_R401: _Responses = {401: {"model": ErrorOut, "description": "a read token is required (dashboard.read_token_required)"}}
_R404: _Responses = {404: {"model": ErrorOut, "description": "unknown rollout"}}
_R422: _Responses = {422: {"model": ErrorOut, "description": "invalid parameter"}}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reader)], responses={**_R401, **_R422})


@router.get("/info", response_model=InfoOut, summary="Service, plan, guardrails and what the caller needs")
async def info(ctx: Ctx) -> dict[str, Any]:
    config = ctx.config
    return {
        "service": config.service, "version": __version__, "lang": ctx.lang,
        "interval_s": config.analysis.interval, "pass_mark": config.analysis.score.pass_,
        "stages": [{"number": i + 1, "traffic": s.traffic, "hold_s": s.hold, "approval": s.needs_approval}
                   for i, s in enumerate(config.plan.stages)],
        "guardrails": [{"metric": g.metric, "max": g.max, "consecutive": g.consecutive, "action": g.action}
                       for g in config.guardrails],
        "auth": {"read_token_required": ctx.read_token_required, "actions_enabled": ctx.tokens.can_anyone_act},
    }


@router.get("/i18n/{lang}", response_model=dict[str, str], summary="The page's text in one language")
async def catalogue(lang: Literal["en", "ko"]) -> dict[str, str]:
    table = MESSAGES[lang]
    return {k: v for k, v in {**MESSAGES["en"], **table}.items() if k.startswith(("web.", "phase."))}


@router.get("/whoami", response_model=WhoAmIOut, summary="Which named token this is (checks a token)")
async def whoami(request: Request, ctx: Ctx) -> dict[str, Any]:
    principal = identify(ctx, request)
    if principal is None:
        raise ApiError(401, "token_required", "send `Authorization: Bearer <token>` to check it",
                       headers={"WWW-Authenticate": 'Bearer realm="canaria"'})
    return {"name": principal.name, "can_act": principal.can_act}


@router.get("/rollouts", response_model=RolloutListOut, summary="Past and present rollouts, newest first")
async def rollouts(ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    found = ctx.db.list_rollouts(ctx.config.service, limit=limit)
    reports = ctx.reports.entries([r.id for r in found])
    out = []
    for rollout in found:
        item = rollout_json(rollout)
        item["reports"] = [_linked(ctx, e) for e in reports if e["rollout_id"] == rollout.id]
        out.append(item)
    return {"rollouts": out}


@router.get("/rollouts/current", response_model=SnapshotOut,
            summary="The active rollout (else the latest) with everything the page draws")
async def current(ctx: Ctx) -> dict[str, Any]:
    return _snapshot(ctx, ctx.current_rollout())


@router.get("/status", response_model=StatusOut, summary="Same as `canaria status --json`")
async def status(ctx: Ctx) -> dict[str, Any]:
    return status_dict(ctx.config, ctx.db, ctx.current_rollout(), now=ctx.now())


@router.get("/rollouts/{rollout_id}", response_model=SnapshotOut, responses=_R404,
            summary="One rollout with its status, windows, verdicts and events")
async def rollout(rollout_id: RolloutId, ctx: Ctx) -> dict[str, Any]:
    return _snapshot(ctx, ctx.rollout_or_404(rollout_id))


@router.get("/rollouts/{rollout_id}/windows", response_model=list[WindowOut], responses=_R404,
            summary="Analysis windows, control vs canary (oldest first)")
async def windows(rollout_id: RolloutId, ctx: Ctx, last: Annotated[int | None, Query(ge=1, le=100_000)] = None
            ) -> list[dict[str, Any]]:
    ctx.rollout_or_404(rollout_id)
    every = ctx.db.windows(rollout_id)
    first = max(0, len(every) - last) if last else 0
    return [window_json(i, w) for i, w in enumerate(every) if i >= first]


@router.get("/rollouts/{rollout_id}/verdicts", response_model=list[VerdictOut], responses=_R404,
            summary="The judge's verdicts with reasons (oldest first)")
async def verdicts(rollout_id: RolloutId, ctx: Ctx, last: Annotated[int | None, Query(ge=1, le=100_000)] = None
             ) -> list[dict[str, Any]]:
    ctx.rollout_or_404(rollout_id)
    return [verdict_json(v) for v in ctx.db.verdicts(rollout_id, last=last)]


@router.get("/rollouts/{rollout_id}/events", response_model=list[EventOut], responses=_R404,
            summary="The event log (who did what, when)")
async def events(rollout_id: RolloutId, ctx: Ctx,
           after_id: Annotated[int, Query(ge=0, le=2**53)] = 0,
           kind: Annotated[list[Annotated[str, Query(max_length=64)]] | None, Query(max_length=30)] = None,
           limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    ctx.rollout_or_404(rollout_id)
    found = ctx.db.events(rollout_id, after_id=after_id, kinds=tuple(kind or ()), limit=limit)
    return [event_json(e) for e in found]


@router.get("/reports", response_model=ReportListOut, summary="Deployment records in the reports folder")
async def reports(ctx: Ctx) -> dict[str, Any]:
    return {"reports": [_linked(ctx, e) for e in ctx.reports.entries(ctx.rollout_ids())]}


def _linked(ctx: WebContext, entry: dict[str, Any]) -> dict[str, Any]:
    if ctx.read_token_required:  # links must work from a plain <a href>, which sends no header
        entry = {**entry, "url": f"{entry['url']}?ticket={ctx.ticket(entry['name'])}"}
    return entry


def _snapshot(ctx: WebContext, rollout: Any) -> dict[str, Any]:
    data = snapshot(ctx.config, ctx.db, rollout, now=ctx.now(), reports=ctx.reports)
    if data["rollout"] is not None:
        data["rollout"]["reports"] = [_linked(ctx, e) for e in data["rollout"]["reports"]]
    return data


# served outside /api/v1 and without the reader dependency: a signed ticket also opens a report
files = APIRouter()


@files.get("/reports/{name:path}", summary="One report file, read-only",
           responses={200: {"content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()}},
                      **_R401, 404: {"model": ErrorOut, "description": "no such report"}, **_R422})
async def report_file(name: Annotated[str, Path(max_length=401)], request: Request, ctx: Ctx,
                ticket: Annotated[str | None, Query(max_length=100)] = None) -> FileResponse:
    if ctx.read_token_required and not ctx.ticket_ok(name, ticket):
        await reader(request)
    file = ctx.reports.resolve(name)
    if file is None:
        raise ApiError(404, "report_not_found", f"no report named {name!r}")
    media = MEDIA_TYPES[file.suffix.lstrip(".").lower()]
    # sandbox: a report page runs in an opaque origin and can never read the dashboard's token
    return FileResponse(file, media_type=media, headers={"Content-Security-Policy": "sandbox allow-scripts",
                                                         "X-Content-Type-Options": "nosniff"})
