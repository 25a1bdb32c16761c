"""`canaria check`: the runbook's D-1 rehearsal as a checklist (✅/❌ per line, exit 0 only if all pass)."""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import time
from dataclasses import dataclass

from canaria.config import UpstreamConfig, parse_address
from canaria.errors import PortInUseError
from canaria.i18n import t
from canaria.i18n.check_names import check_name
from canaria.i18n.text import render
from canaria.platforms.base import Variant
from canaria.platforms.processes import ensure_port_free
from canaria.runtime.app import App, default_actor
from canaria.runtime.preflight_warnings import (
    admin_token_is_default,
    configuration_warnings,
    stable_moved_note,
    start_test,
)

__all__ = ["CheckLine", "run_checks"]


@dataclass
class CheckLine:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # passes, but something will not work (shown as ⚠)
    label: str = ""  # `name` in the reader's language (the name itself stays English: JSON and the record)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "warning": self.warning}

    @property
    def shown_name(self) -> str:
        return self.label or self.name

    @property
    def mark(self) -> str:
        return "❌" if not self.ok else "⚠️" if self.warning else "✅"


_MODULES = ("uvloop", "httpx", "psutil", "yaml", "rich", "typer", "scipy")


def _command_found(spec: UpstreamConfig, lang: str = "en") -> tuple[bool, str]:
    assert spec.command
    try:
        argv = shlex.split(spec.command)
    except ValueError as exc:
        return False, t("check.detail.command_unparsable", lang, error=exc)
    while argv and (argv[0] == "exec" or ("=" in argv[0] and not argv[0].startswith(("/", ".")))):
        argv = argv[1:]  # `exec` and leading VAR=value assignments are the shell's, not the program
    exe = argv[0] if argv else ""
    found = shutil.which(exe) if exe else None
    if found is None:
        return False, t("check.detail.command_missing", lang, exe=exe)
    return True, t("check.detail.command_found", lang, exe=exe, path=found)


async def _variant_checks(app: App, variant: Variant, lang: str) -> list[CheckLine]:
    spec = app.config.platform.spec(variant)
    lines: list[CheckLine] = []
    if spec is None:
        return lines
    running = spec.command is None or app.platform.pid_of(variant) is not None
    found = False
    if spec.command:
        found, detail = _command_found(spec, lang)
        lines.append(CheckLine(f"{variant}: command", found, detail))
    if not running:
        assert spec.port is not None
        try:
            ensure_port_free("127.0.0.1", spec.port)
            lines.append(CheckLine(f"{variant}: port {spec.port}", True, t("check.detail.port_free", lang)))
            if found:
                ok, detail = await start_test(app.config, variant, spec, lang)
                lines.append(CheckLine(f"{variant}: start test", ok, detail))
        except PortInUseError as exc:
            health = await app.platform.health(variant)
            lines.append(CheckLine(f"{variant}: port {spec.port}", health.ok,
                                   t("check.detail.port_serving", lang) if health.ok else render(exc.text, lang)))
        return lines
    for detailed in (False, True):
        result = await app.platform.health(variant, detailed=detailed)
        if detailed and not result.ok and result.status is not None:  # optional: the runbook only curls it
            lines.append(CheckLine(f"{variant}: GET {result.path}", True, t(
                "check.warn.detailed_missing", lang, name=variant, status=result.status), warning=True))
            continue
        detail = render(result.text, lang) if result.text else result.detail  # no text: the backend's English
        lines.append(CheckLine(f"{variant}: GET {result.path}", result.ok, detail))
    return lines


async def run_checks(app: App, *, notify_test: bool = False, lang: str = "en") -> list[CheckLine]:
    """Every line of the checklist; the result is recorded (event `preflight`) for the deployment record."""
    lines = await _checks(app, notify_test=notify_test, lang=lang)
    for line in lines:
        line.label = check_name(line.name, lang)
    app.store.add_event("preflight", at=time.time(), actor=default_actor(), severity="info",
                        message=f"{sum(1 for x in lines if x.ok)}/{len(lines)} pre-flight checks passed",
                        data={"service": app.config.service, "checks": [x.to_dict() for x in lines]})
    return lines


async def _checks(app: App, *, notify_test: bool, lang: str) -> list[CheckLine]:
    config = app.config
    source = config.source_path or t("check.detail.in_memory", lang)
    lines = [CheckLine("config", True, t("check.detail.config_valid", lang, source=source, service=config.service))]
    missing = [m for m in _MODULES if importlib.util.find_spec(m) is None]
    lines.append(CheckLine("dependencies", not missing,
                           t("check.detail.deps_missing", lang, names=", ".join(missing)) if missing
                           else t("check.detail.deps_ok", lang)))
    for variant in ("stable", "canary"):
        lines.extend(await _variant_checks(app, variant, lang))  # type: ignore[arg-type]
    for platform_check in await app.platform.checks():
        detail = render(platform_check.text, lang) if platform_check.text else platform_check.detail
        lines.append(CheckLine(platform_check.name, platform_check.ok, detail, warning=platform_check.warning))
    embedded = config.platform.kind == "local"
    gateway_up = await app.platform.gateway.alive() if embedded else False  # type: ignore[attr-defined]
    if config.metrics.provider != "builtin":  # an outside metrics engine answers whether the gateway runs or not
        for check in await app.metrics.check():
            lines.append(CheckLine(check.name, check.ok, render(check.text, lang) if check.text else check.detail))
    if gateway_up or (not embedded and config.metrics.provider == "builtin"):
        if gateway_up:
            lines.append(CheckLine("gateway", True, t("check.detail.gateway_up", lang,
                                                      address=config.gateway.admin_listen)))
        if config.metrics.provider == "builtin":
            for check in await app.metrics.check():
                lines.append(CheckLine(check.name, check.ok, render(check.text, lang) if check.text else check.detail))
    elif embedded:
        for label, address in (("gateway public port", config.gateway.listen),
                               ("gateway admin port", config.gateway.admin_listen)):
            host, port = parse_address(address)
            try:
                ensure_port_free(host, port)
                lines.append(CheckLine(label, True, t("check.detail.gateway_port_free", lang, address=address)))
            except PortInUseError as exc:
                lines.append(CheckLine(label, False, render(exc.text, lang)))
    channels = config.notify.channels
    if notify_test:
        from canaria.notify import send_test

        for name, ok, detail in await send_test(config, lang):
            lines.append(CheckLine(f"notify: {name}", ok, detail))
    elif channels:
        lines.append(CheckLine("notify", True, t("check.detail.channels", lang, n=len(channels))))
    if admin_token_is_default(config) and not config.gateway.admin_token_insecure_ok:
        lines.append(CheckLine("gateway admin token", False, t("check.fail.admin_token", lang)))
    for name, detail in configuration_warnings(config, lang):
        lines.append(CheckLine(name, True, detail, warning=True))
    upstream_url = getattr(app.platform, "upstream_url", None)
    moved = stable_moved_note(config, upstream_url("stable") if upstream_url else None, lang)
    if moved:
        lines.append(CheckLine("stable", True, moved, warning=True))
    steps = app.platform.rollback_plan_text()
    lines.append(CheckLine("rollback --dry-run", bool(steps), " → ".join(render(step, lang) for step in steps)))
    return lines
