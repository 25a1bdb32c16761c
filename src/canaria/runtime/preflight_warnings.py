"""The pre-flight lines that pass but say what will not work (⚠), and the start test of a command.

"All pre-flight checks passed" must not hide a default admin token, a rollout nobody hears about, a
memory guardrail that can never trigger, or a stable that moved when the canary was promoted. And a
command found on PATH is not yet a command that starts: `python -m mysvc` may find a `python` without
`mysvc` installed, so `check` starts it once for a moment.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from canaria.config import CanariaConfig, UpstreamConfig
from canaria.errors import PlatformError
from canaria.i18n import t
from canaria.i18n.text import render
from canaria.platforms.base import Variant
from canaria.platforms.processes import command_argv, start_process, stop_pid

__all__ = ["START_TEST_S", "admin_token_is_default", "configuration_warnings", "stable_moved_note", "start_test"]

START_TEST_S = 2.0  # a command still running after this long has got past its imports
_DEFAULT_TOKENS = {"change-me", "changeme", ""}


def admin_token_is_default(config: CanariaConfig) -> bool:
    """The embedded gateway's admin token is the template's: the gateway refuses it unless told it is fine."""
    return config.platform.kind == "local" and config.gateway.admin_token.strip() in _DEFAULT_TOKENS


def configuration_warnings(config: CanariaConfig, lang: str) -> list[tuple[str, str]]:
    """(name, what will not work) for each setting that passes validation but defeats its purpose."""
    found: list[tuple[str, str]] = []
    if admin_token_is_default(config) and config.gateway.admin_token_insecure_ok:
        found.append(("gateway admin token", t("check.warn.admin_token", lang)))
    if not config.notify.channels:
        found.append(("notify", t("check.warn.no_notifier", lang)))
    guards_memory = any(rule.metric == "memory_pct" for rule in config.guardrails)
    if guards_memory and config.platform.kind == "local":
        for variant in ("canary", "stable"):
            spec = config.platform.spec(variant)  # type: ignore[arg-type]
            if spec is not None and spec.command is None:
                found.append((f"{variant}: memory guardrail", t("check.warn.memory_unmeasurable", lang)))
                break
    return found


def stable_moved_note(config: CanariaConfig, current_stable_url: str | None, lang: str) -> str | None:
    """After a promotion stable is the former canary (recorded in the platform's state file), while
    canaria.yaml still names the old stable: say so wherever people look (`check`, `status`)."""
    spec = config.platform.spec("stable")
    configured = spec.base_url if spec is not None else None
    if config.platform.kind != "local" or not current_stable_url or not configured:
        return None
    if current_stable_url.rstrip("/") == configured.rstrip("/"):
        return None
    state = config.state_path / f"local-{config.service}.json"
    return t("check.warn.stable_moved", lang, port=current_stable_url, state=state, configured=configured)


async def start_test(config: CanariaConfig, variant: Variant, spec: UpstreamConfig,
                     lang: str = "en") -> tuple[bool, str]:
    """Start the command as canaria would, for START_TEST_S seconds: still running → it starts; exited →
    the last line it printed (e.g. "No module named mysvc")."""
    assert spec.command is not None and spec.port is not None
    log_dir = config.state_path / "logs"
    env = {"PORT": str(spec.port), **spec.env}
    if spec.memory_limit:
        env.setdefault("CANARIA_MEMORY_LIMIT", str(spec.memory_limit))
    offset = _size(log_dir / f"check-{variant}.log")
    try:
        proc = start_process(f"check-{variant}", command_argv(spec.command), log_dir=log_dir, env=env,
                             cwd=spec.cwd or str(config.base_dir), owned=True)
    except PlatformError as exc:
        return False, render(exc.text, lang)
    assert proc.popen is not None
    deadline = time.monotonic() + START_TEST_S
    try:
        while time.monotonic() < deadline and proc.popen.poll() is None:
            await asyncio.sleep(0.05)
        code = proc.popen.poll()
    finally:
        await asyncio.to_thread(stop_pid, proc.pid, popen=proc.popen, timeout=3.0)
    if code is None:
        return True, t("check.detail.start_ok", lang, seconds=f"{START_TEST_S:g}")
    last = _last_line(proc.log_path, offset)
    return False, t("check.detail.start_failed", lang, code=code, seconds=f"{START_TEST_S:g}",
                    last=last or t("check.detail.no_output", lang))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _last_line(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""
