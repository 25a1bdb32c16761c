"""The reading commands: status, metrics, history (DESIGN.md §3). They change nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from canaria.cli.common import ConfigOpt, JsonOpt, LangOpt, handle_errors, out, print_json, with_app
from canaria.controller.supervision import canary_expected
from canaria.errors import CanariaError
from canaria.i18n import t
from canaria.i18n.check_names import check_name
from canaria.i18n.spans import format_span
from canaria.notify.event_text import rollout_reason
from canaria.runtime.app import App
from canaria.runtime.preflight_warnings import stable_moved_note
from canaria.state.status import iso, metrics_dict, status_dict

__all__ = ["register"]

commands = typer.Typer()


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


async def _print_tester_url(application: App, lang: str) -> None:
    """On a platform without header routing (Cloud Run) testers reach the canary by its own URL: say which."""
    if application.platform.supports_match or application.config.platform.kind != "cloudrun":
        return
    try:
        url = (await application.platform.describe())["canary"].url
    except CanariaError:
        return
    if url:
        out.print(t("status.tester_url", lang, url=url, kind="Cloud Run"), highlight=False, markup=False)


@commands.command()
@handle_errors
def status(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False) -> None:
    """Phase, stage, traffic, last verdicts, next checkpoint."""

    async def body(application: App, lg: str) -> int:
        rollout = application.controller.active() or application.store.latest_rollout(application.config.service)
        data = status_dict(application.config, application.store, rollout, now=time.time())
        health = await application.platform.data_plane_health(canary=canary_expected(rollout))
        data["data_plane"] = {**health.to_dict(), "checked_at": iso(time.time())}
        code = 0 if health.up else 1  # a script polling `status` learns that users are not being served
        if as_json:
            print_json(data)
            return code
        plane = ", ".join(t("status.component", lg, name=check_name(c.name, lg),
                            state=t(f"status.component.{c.state}", lg)) + (f" pid {c.pid}" if c.pid else "")
                          + (f": {c.detail}" if c.detail and c.state == "down" else "") for c in health.components)
        plane_line = t("status.data_plane.up" if health.up else "status.data_plane.down", lg, components=plane)
        if rollout is None:
            out.print(t("status.none", lg, service=application.config.service), highlight=False)
            out.print(plane_line, highlight=False, markup=False)
            return code
        stage = data["stage"]
        out.print(f"{application.config.service} · {rollout.id} · {t('phase.' + rollout.phase, lg)}",
                  highlight=False)
        if rollout.active:  # a finished rollout has no "hold left"
            out.print(t("view.stage", lg, n=stage["number"], total=stage["total"], traffic=f"{stage['traffic']:g}",
                        left=format_span(stage["hold_left_s"], lg)), highlight=False)
        else:
            out.print(t("live.stage_ended", lg, n=stage["number"], total=stage["total"],
                        traffic=f"{stage['traffic']:g}"), highlight=False)
        out.print(t("view.split", lg, control=f"{data['traffic']['control']:g}",
                    canary=f"{data['traffic']['canary']:g}"), highlight=False)
        if rollout.reason:
            reason = rollout_reason(application.store.events(rollout.id, kinds=("rollback_started",)),
                                    rollout.reason, lg)
            out.print(t("status.reason", lg, reason=reason), highlight=False, markup=False)
        upstream_url = getattr(application.platform, "upstream_url", None)
        moved = stable_moved_note(application.config, upstream_url("stable") if upstream_url else None, lg)
        if moved:
            out.print(f"⚠️ {moved}", highlight=False, markup=False)
        await _print_tester_url(application, lg)
        for v in data["last_verdicts"]:
            out.print(f"  {v['at']} {v['decision']} {v['score']}/100 {'; '.join(v['reasons'])}",
                      highlight=False, markup=False)
        if data["next_checkpoint"]:
            out.print(t("status.next_checkpoint", lg, at=data["next_checkpoint"]), highlight=False)
        out.print(plane_line, highlight=False, markup=False)
        return code

    raise typer.Exit(with_app(config, lang, body))


@commands.command()
@handle_errors
def metrics(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
            watch: Annotated[bool, typer.Option("--watch", help="refresh every 2 s until Ctrl-C")] = False) -> None:
    """Current window, control vs canary: requests, error rate, P50/P95/P99, RPS, saturation, score."""
    from canaria.views.metrics_table import render_metrics

    async def body(application: App, lg: str) -> None:
        while True:
            rollout = application.controller.active() or application.store.latest_rollout(application.config.service)
            windows = application.store.windows(rollout.id, last=1) if rollout else []
            start = windows[-1].end if windows else (rollout.stage_started_at if rollout else time.time() - 1)
            window = await application.metrics.read_window(
                start=start or time.time(), end=time.time(), stage_index=rollout.stage_index if rollout else 0,
                canary_weight=rollout.traffic if rollout else 0.0, cut=False)
            data = metrics_dict(application.config, application.store, rollout, window, now=time.time())
            if as_json:
                print_json(data)
            else:
                render_metrics(out, data, lg)
            if not watch:
                return
            await asyncio.sleep(2.0)

    try:
        with_app(config, lang, body)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@commands.command()
@handle_errors
def history(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
            limit: Annotated[int, typer.Option("--limit")] = 20) -> None:
    """Past rollouts and their outcomes."""

    async def body(application: App, lg: str) -> None:
        rollouts = application.store.list_rollouts(application.config.service, limit=limit)
        rows = [{"rollout_id": r.id, "started_at": iso(r.created_at), "ended_at": iso(r.ended_at),
                 "phase": r.phase, "outcome": r.outcome, "traffic": r.traffic, "reason": r.reason} for r in rollouts]
        revisions = [{"name": r.name, "created_at": iso(r.created_at), "image": r.image, "traffic": r.traffic,
                      "detail": r.detail} for r in await application.platform.history()]
        if as_json:
            print_json({"service": application.config.service, "rollouts": rows, "revisions": revisions})
            return
        if revisions:
            table = Table(*(t(f"history.col.{c}", lg) for c in ("revision", "created", "image", "traffic", "detail")),
                          title=t("history.revisions_title", lg, kind=application.config.platform.kind))
            for rev in revisions:
                table.add_row(str(rev["name"]), str(rev["created_at"] or ""), str(rev["image"] or ""),
                              "" if rev["traffic"] is None else f"{rev['traffic']:g}%", str(rev["detail"]))
            out.print(table)
        if not rows:
            out.print(t("history.none", lg), highlight=False)
            return
        table = Table(*(t(f"history.col.{c}", lg)
                        for c in ("rollout", "started", "ended", "phase", "outcome", "traffic", "reason")))
        for row, rollout in zip(rows, rollouts, strict=True):
            ended = application.store.events(rollout.id, kinds=("rollback_started",)) if rollout.reason else []
            table.add_row(*(str(row[key] or "") for key in ("rollout_id", "started_at", "ended_at", "phase",
                                                           "outcome")), f"{row['traffic']:g}%",
                          rollout_reason(ended, rollout.reason, lg))
        out.print(table)

    with_app(config, lang, body)
