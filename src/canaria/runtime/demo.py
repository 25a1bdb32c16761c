"""`canaria demo`: the whole product on the embedded default, on this machine, in about a minute.

Everything it starts (gateway, both versions, load) lives on free loopback ports and is owned:
it is stopped when the demo ends, on Ctrl-C, and by the kernel if the demo itself is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from canaria.config import CanariaConfig, load_config, runbook_guardrails
from canaria.controller.actions import Operator
from canaria.controller.machine import TickResult
from canaria.i18n import t
from canaria.platforms.processes import free_port
from canaria.runtime.app import open_app
from canaria.runtime.runner import RunOutcome, drive
from canaria.views.live import RolloutView

__all__ = ["SCENARIOS", "demo_config", "run_demo"]

SCENARIOS = {"good": "none", "errors": "errors", "latency": "latency", "memory-leak": "memory-leak"}


def demo_config(state_dir: Path, scenario: str, *, lang: str) -> dict[str, Any]:
    """The runbook plan compressed to seconds, with both versions of the bundled sample service."""
    fault = SCENARIOS[scenario]
    python = shlex.quote(sys.executable)
    ports = [free_port() for _ in range(4)]
    # `exec`: the command runs under /bin/sh -c; without exec the shell stays the parent, only the shell gets
    # the die-with-canaria signal, and a killed demo would leave both versions running (orphans)
    service = f"exec {python} -m canaria.demo.service --host 127.0.0.1"
    return {
        "service": "ion-api",
        "lang": lang,
        "state_dir": str(state_dir),
        "platform": {
            "kind": "local",
            "stable": {"command": f"{service} --port {ports[0]} --version v1", "port": ports[0],
                       "memory_limit": "128MB", "startup_timeout": "30s"},
            "canary": {"command": f"{service} --port {ports[1]} --version v2 --fault {fault}", "port": ports[1],
                       "memory_limit": "128MB", "startup_timeout": "30s"},
        },
        "gateway": {"listen": f"127.0.0.1:{ports[2]}", "admin_listen": f"127.0.0.1:{ports[3]}",
                    "admin_token": secrets.token_urlsafe(16), "sticky": None},
        "plan": {"stages": [
            {"traffic": 5, "hold": "10s"},
            {"traffic": 10, "hold": "10s"},
            {"traffic": 50, "hold": "10s", "approval": "required"},
            {"traffic": 100, "hold": "4s"},
        ]},
        "metrics": {"provider": "builtin", "custom": [
            {"name": "recommendation_latency_ms", "histogram": "recommendation_engine_latency_seconds",
             "quantile": 0.95}]},
        "guardrails": [g.model_dump(exclude_none=True) for g in runbook_guardrails()] + [
            {"metric": "custom:recommendation_latency_ms", "max": 100, "consecutive": 3}],
        # stages of seconds, not hours: a suspect rate must be a point above the tolerated one to hold the
        # demo (at the 0.1-point default, one slow request held the 50 % stage ~100 s on a loaded machine)
        "analysis": {"interval": "2s", "min_requests": 8, "max_hold_extension": "20s",
                     "compare": {"min_rate_delta_pct": 1.0}},
        "report": {"every": "6s", "dir": str(Path.cwd() / ".canaria" / "demo-reports")},
    }


@dataclass
class DashboardOptions:
    listen: str = "127.0.0.1:8080"
    token: str = ""
    linger: bool = False  # keep the page up after the rollout ends, until Ctrl-C


async def _run(config: CanariaConfig, *, lang: str, rps: float, auto_approve: bool, live: bool | None,
               max_seconds: float, dashboard: DashboardOptions | None = None) -> RunOutcome:
    from canaria.demo.load import generate_load

    application = open_app(config, owned=True, lang=lang, actor="demo", notify=True)
    application.observe()
    public = f"http://{config.gateway.listen}"
    stop = asyncio.Event()
    load_task: asyncio.Task[Any] | None = None
    server: Any = None
    dashboard_url: str | None = None
    try:
        if dashboard is not None:
            from canaria.web import DashboardServer, shared_operator_factory

            server = DashboardServer(config, listen=dashboard.listen, lang=lang, store=application.store,
                                     operator_factory=shared_operator_factory(application.controller),
                                     tokens={"final-approver": dashboard.token})
            url = await server.start()
            dashboard_url = str(url)
            print(t("demo.dashboard", lang, url=url, token=dashboard.token), file=sys.stderr, flush=True)
        await application.platform.ensure_stable()
        from canaria.runtime.preflight import run_checks  # the runbook's D-1 rehearsal, recorded for the report

        for line in await run_checks(application, lang=lang):
            print(f"{'✅' if line.ok else '❌'} {line.shown_name}: {line.detail}", file=sys.stderr, flush=True)
        load_task = asyncio.create_task(generate_load(public, rps=rps, duration_s=max_seconds,
                                                      max_requests=int(rps * max_seconds), stop=stop))
        lines = ["Try it while it runs:" if lang == "en" else "실행 중에 직접 확인해 보세요:",
                 f"  curl {public}/health", f"  curl {public}/health/detailed",
                 f"  curl {public}/api/v2/canary/metrics", f"  curl {public}/api/v2/canary/status"]
        operator = Operator(application.controller, actor="final-approver (demo auto-approval)")

        async def on_tick(result: TickResult) -> None:
            if auto_approve and result.rollout.phase == "awaiting_approval":
                await operator.approve(reason="demo: the final approver says GO")

        with RolloutView(config, application.store, lang=lang, live=live, extra_lines=lines,
                         dashboard_url=dashboard_url) as view:
            outcome = await asyncio.wait_for(drive(application, lang=lang, view=view, on_tick=on_tick),
                                             timeout=max_seconds)
        if server is not None and dashboard is not None and dashboard.linger:
            print(f"the rollout has ended; the dashboard stays up at {server.url} — Ctrl-C to exit",
                  file=sys.stderr, flush=True)
            stop.set()
            await server.wait()
        return outcome
    finally:
        stop.set()
        if server is not None:
            await server.stop()
        if load_task is not None:
            load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await load_task
        await application.platform.shutdown()
        await application.close()


def run_demo(scenario: str, *, lang: str, rps: float = 120.0, auto_approve: bool = True, live: bool | None = None,
             keep_state: bool = False, max_seconds: float = 170.0,
             dashboard: DashboardOptions | None = None) -> RunOutcome:
    state_dir = Path(tempfile.mkdtemp(prefix="canaria-demo-"))
    try:
        config_file = state_dir / "canaria.yaml"
        config_file.write_text(yaml.safe_dump(demo_config(state_dir, scenario, lang=lang), sort_keys=False))
        config = load_config(config_file)
        try:
            return asyncio.run(_run(config, lang=lang, rps=rps, auto_approve=auto_approve, live=live,
                                    max_seconds=max_seconds, dashboard=dashboard))
        except KeyboardInterrupt:
            from canaria.runtime.runner import RunOutcome as Outcome

            return Outcome(None, 4, {}, "demo stopped (Ctrl-C); everything it started is stopped")
    finally:
        if keep_state:
            print(f"demo state kept in {state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(state_dir, ignore_errors=True)
