"""The rollout commands: init, check, gateway, enable-canary, promote/approve/pause/resume, rollback,
run, stop (DESIGN.md §3 lists the contract; the reading commands are in reading.py)."""

from __future__ import annotations

import re
import shlex
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from canaria.cli.common import (
    ConfigOpt,
    ImageOpt,
    JsonOpt,
    LangOpt,
    cli_lang,
    err,
    handle_errors,
    out,
    print_json,
    with_app,
)
from canaria.config import load_config
from canaria.config.platform import PLATFORM_KINDS
from canaria.controller.actions import Operator
from canaria.errors import UsageError
from canaria.i18n import t
from canaria.i18n.text import render
from canaria.runtime.app import App, default_actor
from canaria.state.status import status_dict

__all__ = ["register"]

commands = typer.Typer()


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


# ---------------------------------------------------------------- setup
@commands.command()
@handle_errors
def init(config: ConfigOpt = Path("canaria.yaml"), force: Annotated[bool, typer.Option("--force")] = False,
         lang: LangOpt = None,
         platform: Annotated[str, typer.Option("--platform", help="local | nginx | haproxy | kubernetes | "
                                               "cloudrun")] = "local") -> None:
    """Write a commented example canaria.yaml (for the platform you deploy on)."""
    if platform not in PLATFORM_KINDS:
        raise UsageError(f"--platform must be one of {', '.join(PLATFORM_KINDS)}, got {platform!r}")
    if config.exists() and not force:
        raise UsageError(f"{config} already exists; pass --force to overwrite it")
    name = "canaria.yaml" if platform == "local" else f"init-{platform}.yaml"
    template = resources.files("canaria").joinpath(f"templates/{name}")
    if not template.is_file():
        raise UsageError(f"this version of canaria has no template for --platform {platform}")
    chosen = cli_lang(lang)  # --lang, else LANG/LC_ALL (C.UTF-8 → en)
    text = _personalise(template.read_text(encoding="utf-8"), lang=chosen)
    config.write_text(text, encoding="utf-8")
    out.print(t("init.wrote", chosen, path=config, language=chosen, platform=platform), highlight=False, markup=False)


def _personalise(text: str, *, lang: str) -> str:
    """The template with this machine's answers: the language from LANG, and the sample command run by the
    interpreter running canaria (a bare `python` may be another one, without canaria installed)."""
    text = re.sub(r"^lang: (en|ko)\b", f"lang: {lang}", text, count=1, flags=re.MULTILINE)
    return text.replace("exec python -m canaria.", f"exec {shlex.quote(sys.executable)} -m canaria.")


@commands.command()
@handle_errors
def check(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
          notify_test: Annotated[bool, typer.Option("--notify-test", help="send a test message to every "
                                                    "notification channel")] = False) -> None:
    """Pre-flight checklist: config, dependencies, health endpoints, metrics, notifiers, rollback dry-run."""
    from canaria.runtime.preflight import run_checks

    async def body(application: App, lg: str) -> None:
        # --json is for tools: English details whatever the reader's language (as status --json's messages)
        lines = await run_checks(application, notify_test=notify_test, lang="en" if as_json else lg)
        failed = [line for line in lines if not line.ok]
        if as_json:
            print_json({"ok": not failed, "checks": [line.to_dict() for line in lines]})
        else:
            for line in lines:
                out.print(f"{line.mark} {line.shown_name}: {line.detail}", markup=False, highlight=False)
            out.print(t("check.ok", lg) if not failed else t("check.failed", lg, n=len(failed)), highlight=False)
            warned = [line for line in lines if line.ok and line.warning]
            if warned:
                out.print(t("check.warn.summary", lg, n=len(warned)), highlight=False)
        if failed:
            raise typer.Exit(1)

    with_app(config, lang, body)


@commands.command()
@handle_errors
def gateway(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None) -> None:
    """Run the embedded gateway in the foreground."""
    from canaria.gateway.server import run_gateway
    from canaria.state.gateway_feed import store_providers

    loaded = load_config(config)
    status_provider, metrics_provider = store_providers(loaded)
    run_gateway(loaded, status_provider=status_provider, metrics_provider=metrics_provider)


# ---------------------------------------------------------------- traffic
@commands.command("enable-canary")
@handle_errors
def enable_canary(traffic: Annotated[float, typer.Option("--traffic", help="canary percent (0 < N ≤ 100)")],
                  config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
                  image: ImageOpt = None,
                  watch: Annotated[bool, typer.Option("--watch", help="then hand over to the controller: judge, "
                                                      "advance and roll back like `canaria run`")] = False) -> None:
    """Start the canary at N% (or move it to N%). Only `canaria run` (or --watch) judges it and rolls back."""
    if not 0 < traffic <= 100:
        raise UsageError(f"--traffic must be between 0 (exclusive) and 100, got {traffic:g}; routing unchanged")

    async def body(application: App, lg: str) -> int:
        result = await Operator(application.controller, actor=default_actor()).enable_canary(
            traffic, lock=application.lock)
        rollout = result.rollout
        if rollout is not None and rollout.phase == "rolled_back":
            if as_json:
                print_json(status_dict(application.config, application.store, rollout, now=time.time()))
            else:
                out.print(f"rolled back: {rollout.reason}", highlight=False, markup=False)
            return 3
        if watch and rollout is not None and rollout.active:
            return await _watch(application, lg, as_json=as_json)
        if as_json:
            print_json(status_dict(application.config, application.store, rollout, now=time.time()))
            return 0
        out.print(t("traffic.moved", lg, traffic=f"{rollout.traffic:g}") if rollout and rollout.active
                  else result.message, highlight=False)
        if rollout is not None and rollout.active:
            err.print(t("enable.unwatched", lg), highlight=False, markup=False)
        return 0

    code = with_app(config, lang, body, image=image)
    if code:
        raise typer.Exit(code)


async def _watch(application: App, lang: str, *, as_json: bool) -> int:
    """What `canaria run` does after the first step: the controller takes over, with the live view."""
    from canaria.runtime.runner import drive, print_final
    from canaria.views.live import RolloutView

    application.observe()
    with RolloutView(application.config, application.store, lang=lang) as view:
        outcome = await drive(application, lang=lang, view=view)
    print_final(outcome, as_json=as_json)
    return outcome.exit_code


def _operator_command(name: str, method: str, done_key: str) -> None:
    def command(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
                reason: Annotated[str, typer.Option("--reason", help="why (goes into the record)")] = "") -> None:
        async def body(application: App, lg: str) -> None:
            operator = Operator(application.controller, actor=default_actor())
            result = await getattr(operator, method)(reason=reason)
            rollout = result.rollout
            if as_json:
                print_json(status_dict(application.config, application.store, rollout, now=time.time()))
            elif rollout is not None:
                out.print(t(done_key, lg, traffic=f"{rollout.traffic:g}", phase=t(f"phase.{rollout.phase}", lg)),
                          highlight=False)

        with_app(config, lang, body)

    command.__doc__ = {
        "promote": "Go to the next stage now (a person's GO).",
        "approve": "Give the final approver's GO at an approval gate.",
        "pause": "Hold the rollout at its current traffic.",
        "resume": "Continue a paused rollout.",
    }[name]
    commands.command(name)(handle_errors(command))


_operator_command("promote", "promote", "promote.done")
_operator_command("approve", "approve", "approve.done")
_operator_command("pause", "pause", "paused.done")
_operator_command("resume", "resume", "resumed.done")


@commands.command()
@handle_errors
def rollback(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
             dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan, change nothing")] = False,
             force: Annotated[bool, typer.Option("--force", help="no confirmation; reset routing even "
                                                 "without an active rollout")] = False,
             reason: Annotated[str, typer.Option("--reason")] = "", as_json: JsonOpt = False,
             to_revision: Annotated[str | None, typer.Option("--to-revision", help="after a finished rollout: "
                                                           "restore this platform revision of stable")] = None,
             ) -> None:
    """All traffic back to stable."""

    async def body(application: App, lg: str) -> int:
        operator = Operator(application.controller, actor=default_actor())
        if to_revision is not None:
            message = await operator.rollback_to_revision(to_revision, reason=reason)
            if as_json:
                print_json({"changed": True, "message": message, "revision": to_revision})
            else:
                out.print(message, highlight=False, markup=False)
            return 0
        active = application.controller.active()
        if not dry_run and active is not None and not force and sys.stdin.isatty():
            if not typer.confirm(t("rollback.confirm", lg, service=application.config.service,
                                   traffic=f"{active.traffic:g}")):
                raise typer.Exit(4)
        result = await operator.rollback(reason=reason, dry_run=dry_run, force=force)
        if as_json:
            print_json({"changed": result.changed, "message": result.message, "steps": result.steps,
                         "status": status_dict(application.config, application.store, result.rollout,
                                               now=time.time())})
        elif dry_run:
            out.print(t("rollback.dry_run", lg), highlight=False)
            for i, step in enumerate(result.steps_text or result.steps or [], 1):
                out.print(f"  {i}. {render(step, lg)}", highlight=False, markup=False)
        elif not result.changed and result.rollout is None:
            out.print(t("rollback.nothing", lg, service=application.config.service), highlight=False)
        else:
            out.print(t("rollback.done", lg) if result.changed else result.message, highlight=False)
        return 0

    with_app(config, lang, body)


@commands.command()
@handle_errors
def restart(variant: Annotated[str, typer.Argument(help="canary | stable")] = "canary",
            config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
            reason: Annotated[str, typer.Option("--reason", help="why (goes into the record)")] = "") -> None:
    """Restart a version's instances (the memory-leak playbook's first step); recorded."""
    if variant not in ("canary", "stable"):
        raise UsageError(f"restart takes canary or stable, got {variant!r}")

    async def body(application: App, lg: str) -> None:
        message = await Operator(application.controller, actor=default_actor()).restart(
            variant, reason=reason)  # type: ignore[arg-type]
        out.print(message, highlight=False, markup=False)

    with_app(config, lang, body)


# ---------------------------------------------------------------- running
@commands.command()
@handle_errors
def run(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None, as_json: JsonOpt = False,
        dashboard: Annotated[bool, typer.Option("--dashboard", help="also serve the web dashboard (tokens from "
                                                "`dashboard.tokens`) while the rollout runs")] = False,
        listen: Annotated[str | None, typer.Option("--listen", help="dashboard HOST:PORT")] = None,
        image: ImageOpt = None) -> None:
    """Run the whole plan autonomously with a live view (resumes an active rollout)."""
    from canaria.runtime.runner import drive, print_final
    from canaria.views.live import RolloutView

    async def body(application: App, lg: str) -> int:
        application.observe()
        server = None
        if dashboard:  # served by the controller itself: actions go through this very controller
            from canaria.web import DashboardServer, shared_operator_factory

            server = DashboardServer(application.config, listen=listen, lang=lg, store=application.store,
                                     operator_factory=shared_operator_factory(application.controller))
            err.print(f"dashboard: {await server.start()}", highlight=False)
        try:
            with RolloutView(application.config, application.store, lang=lg) as view:
                outcome = await drive(application, lang=lg, view=view)
        finally:
            if server is not None:
                await server.stop()
        print_final(outcome, as_json=as_json)
        return outcome.exit_code

    code = with_app(config, lang, body, image=image)
    raise typer.Exit(code)


@commands.command()
@handle_errors
def stop(config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None) -> None:
    """Stop the gateway and the processes canaria started for this service (the service goes down)."""

    async def body(application: App, lg: str) -> None:
        if application.lock.is_held():
            raise UsageError(f"`canaria run` (pid {application.lock.holder_pid()}) is still driving a rollout; "
                             "stop it first")
        await application.platform.shutdown()
        out.print("stopped the gateway and the processes canaria started", highlight=False)

    with_app(config, lang, body)
