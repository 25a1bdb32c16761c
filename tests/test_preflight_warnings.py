"""Pre-flight ⚠ lines: settings that validate but defeat their purpose, and the start test of a command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from canaria.config import CanariaConfig, UpstreamConfig, parse_config
from canaria.i18n import t
from canaria.platforms.processes import free_port
from canaria.runtime.preflight_warnings import (
    admin_token_is_default,
    configuration_warnings,
    stable_moved_note,
    start_test,
)

BASE = """
service: svc
state_dir: {state}
platform:
  kind: local
  stable: {{command: "sleep 30", port: 9101}}
  canary: {canary}
gateway: {{listen: 127.0.0.1:9102, admin_listen: 127.0.0.1:9103, admin_token: {token}}}
plan: {{stages: [{{traffic: 5, hold: 10s}}, {{traffic: 100}}]}}
{extra}
"""


def config(tmp_path: Path, *, canary: str = '{command: "sleep 30", port: 9104}', token: str = "s3cret-token",
           extra: str = "") -> CanariaConfig:
    return parse_config(BASE.format(state=tmp_path, canary=canary, token=token, extra=extra))


def names(cfg: CanariaConfig) -> list[str]:
    return [name for name, _ in configuration_warnings(cfg, "en")]


def test_default_token_missing_notifier_and_unmeasurable_memory_are_warnings(tmp_path: Path) -> None:
    bad = config(tmp_path, token="change-me", canary="{url: 'http://127.0.0.1:9104'}",
                 extra="guardrails: [{metric: memory_pct, max: 85, consecutive: 2}]")
    assert names(bad) == ["notify", "canary: memory guardrail"]  # the default token is a failure, not a warning
    assert admin_token_is_default(bad)
    allowed = bad.model_copy(update={"gateway": bad.gateway.model_copy(update={"admin_token_insecure_ok": True})})
    assert "gateway admin token" in names(allowed)
    good = config(tmp_path, extra="notify: {channels: {hook: {type: webhook, url: 'http://127.0.0.1:9/x'}}}\n"
                                  "guardrails: [{metric: memory_pct, max: 85, consecutive: 2}]")
    assert names(good) == []


def test_a_promotion_that_moved_stable_is_said(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert stable_moved_note(cfg, "http://127.0.0.1:9101", "en") is None
    note = stable_moved_note(cfg, "http://127.0.0.1:9104", "en")
    assert note is not None and "http://127.0.0.1:9104" in note and "http://127.0.0.1:9101" in note
    assert "local-svc.json" in note


def test_start_test_runs_the_command_and_reports_why_it_died(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    port = free_port()
    dies = UpstreamConfig(command=f"{sys.executable} -m no_such_module_for_canaria", port=port)
    ok, detail = asyncio.run(start_test(cfg, "canary", dies))
    assert not ok and "No module named no_such_module_for_canaria" in detail, detail
    stays = UpstreamConfig(command=f"{sys.executable} -c 'import time; time.sleep(30)'", port=port)
    ok, detail = asyncio.run(start_test(cfg, "canary", stays))
    assert ok and "kept running" in detail
    ok, detail = asyncio.run(start_test(cfg, "canary", dies, "ko"))
    assert not ok and detail.startswith("2초 안에 종료 코드 1로 종료: ") and "no_such_module_for_canaria" in detail


def test_warnings_exist_in_both_languages() -> None:
    for key in ("check.fail.admin_token", "check.warn.admin_token", "check.warn.no_notifier", "check.warn.memory_unmeasurable"):
        assert t(key, "ko") != t(key, "en")
