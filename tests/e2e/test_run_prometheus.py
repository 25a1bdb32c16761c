"""Issue 4's proof: `canaria run --json` as a user runs it, judged by a REAL Prometheus.

Per scenario one real `python -m canaria run` subprocess starts stable v1 and canary v2 (fault none, errors
or latency) as processes on fixed free ports behind the embedded gateway, and reads every window through
`metrics.provider: prometheus`. One real Prometheus (1 s scrapes) scrapes both services — target labels
`variant="stable"|"canary"`, one job per scenario, which is what the provider's `variants:` selectors pick —
and the gateway's admin `/metrics`. Load is bounded loopback traffic through the gateway's public port.

Windows are `analysis.interval` (3 s) long, so `{window}` renders as 3s: three 1 s scrapes, always at least
two samples per counter, which `increase()` needs. Such short windows measure ~2 s of counter movement and
extrapolate the rest, so one window of a 20%-error canary at 20% traffic can read 0 errors and reset the
consecutive count; the bad canary may then reach 50% before it is rolled back. The asserts allow for that
(the outcome and the reason are fixed, the stage of the rollback is not).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import require_binary
from tests.e2e.cli_helpers import canaria, gateway_urls, write_config
from tests.prometheus.harness import DEPLOY, BackgroundLoad, Prometheus, prometheus_config

pytestmark = pytest.mark.integration

SCENARIOS = ("none", "errors", "latency")
INTERVAL_S = 3.0
GUARDRAILS = [
    {"metric": "error_rate_pct", "max": 1.0, "consecutive": 3},
    {"metric": "p95_ms", "max": 500, "consecutive": 3},
    {"metric": "memory_pct", "max": 85, "consecutive": 2},
    {"metric": "cpu_pct", "max": 80, "consecutive": 3},
]


def _job(fault: str) -> str:
    return f"ion-api-{fault}"


@dataclass
class Scenario:
    fault: str
    config: Path
    ports: dict[str, int]  # stable, canary, public, admin


@dataclass
class Stack:
    prom: Prometheus
    scenarios: dict[str, Scenario]


def _scenario(tmp: Path, fault: str, prom_url: str) -> Scenario:
    job = _job(fault)
    extra: dict[str, Any] = {
        "service": f"ion-api-{fault}",
        "plan": {"stages": [{"traffic": 20, "hold": "5s"}, {"traffic": 50, "hold": "5s"}, {"traffic": 100}]},
        # seconds-long stages: a suspect rate must be a point above the tolerated one to hold (see the judge docs)
        "analysis": {"interval": f"{INTERVAL_S:g}s", "min_requests": 10, "max_hold_extension": "30s",
                     "compare": {"min_rate_delta_pct": 1.0}},
        "guardrails": GUARDRAILS,
        "report": {"every": "1h"},
        "metrics": {"provider": "prometheus", "prometheus": {
            "url": prom_url, "timeout": "3s", "retries": 1, "backoff": "0.2s",
            "variants": {"stable": f'job="{job}",variant="stable"', "canary": f'job="{job}",variant="canary"'},
        }},
    }
    path = write_config(tmp, fault=fault, extra=extra)
    data = yaml.safe_load(path.read_text())
    public, admin = gateway_urls(path)
    ports = {"stable": data["platform"]["stable"]["port"], "canary": data["platform"]["canary"]["port"],
             "public": int(public.rsplit(":", 1)[1]), "admin": int(admin.rsplit(":", 1)[1])}
    return Scenario(fault, path, ports)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = require_binary("prometheus")
    prom = Prometheus(binary, tmp_path_factory.mktemp("prometheus"))
    scenarios = {fault: _scenario(tmp_path_factory.mktemp(f"run-{fault}"), fault, prom.url) for fault in SCENARIOS}
    jobs: dict[str, list[tuple[str, dict[str, str]]]] = {
        _job(s.fault): [(f"127.0.0.1:{s.ports['stable']}", {"variant": "stable"}),
                        (f"127.0.0.1:{s.ports['canary']}", {"variant": "canary"})]
        for s in scenarios.values()
    }
    # the gateway's own series carry a `variant` label: its target gets only `scenario`
    jobs["canaria-gateway"] = [(f"127.0.0.1:{s.ports['admin']}", {"scenario": s.fault}) for s in scenarios.values()]
    try:
        prom.start(prometheus_config(jobs, rule_files=[]))
        yield Stack(prom, scenarios)
    finally:
        prom.stop()


# ------------------------------------------------------------------ driving one `canaria run`
def _wait_gateway(public: str, run: subprocess.Popen[str], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise AssertionError(f"canaria run exited with {run.returncode} before the gateway came up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{public}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"the gateway at {public} did not come up in {timeout_s:g} s")


def _port_closed(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def run_rollout(scenario: Scenario, *, timeout_s: float = 120.0) -> tuple[int, dict[str, Any], str]:
    """`canaria run -c FILE --json` with load through the gateway; returns (exit code, JSON, stderr).

    Always ends with `rollback --force` and `stop` (as an operator cleaning up would), then checks that
    nothing it started still listens: `run` leaves the services and the gateway up for the next command."""
    public, _ = gateway_urls(scenario.config)
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    run = subprocess.Popen([sys.executable, "-m", "canaria", "run", "-c", str(scenario.config), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                           env=env)
    load: BackgroundLoad | None = None
    try:
        _wait_gateway(public, run)
        load = BackgroundLoad([public], rps=30, max_duration_s=timeout_s).start()
        stdout, stderr = run.communicate(timeout=timeout_s)
    finally:
        if load is not None:
            load.stop()
        if run.poll() is None:
            run.kill()
            run.communicate(timeout=10)
        canaria(scenario.config, "rollback", "--force", "--reason", "test cleanup")
        stopped = canaria(scenario.config, "stop")
    assert stopped.returncode == 0, stopped.stderr
    leftovers = [name for name, port in scenario.ports.items() if not _port_closed(port)]
    assert not leftovers, f"still listening after `canaria stop`: {leftovers}"
    lines = stdout.strip().splitlines()
    assert lines, f"canaria run printed nothing (exit {run.returncode}): {stderr[-3000:]}"
    return run.returncode, json.loads(lines[-1]), stderr


def _gateway_requests(stack: Stack, fault: str) -> dict[tuple[str, str], float]:
    """Requests the gateway relayed over the scenario, by (variant, code_class), from Prometheus."""
    series = stack.prom.query(f'max_over_time(canaria_gateway_requests_total{{scenario="{fault}"}}[5m])')
    return {(s["metric"]["variant"], s["metric"]["code_class"]): float(s["value"][1]) for s in series}


def _max_weight(stack: Stack, fault: str) -> float:
    series = stack.prom.query(f'max_over_time(canaria_gateway_canary_weight{{scenario="{fault}"}}[5m])')
    assert len(series) == 1, series
    return float(series[0]["value"][1])


# ------------------------------------------------------------------ the three outcomes
def test_good_canary_is_promoted(stack: Stack) -> None:
    scenario = stack.scenarios["none"]
    code, summary, stderr = run_rollout(scenario)
    assert code == 0, (summary, stderr[-3000:])
    assert summary["outcome"] == "promoted" and summary["phase"] == "succeeded", summary
    assert summary["rollback_reason"] is None
    assert [s["traffic"] for s in summary["stages"]] == [20, 50, 100]
    # the judge saw real traffic of both versions, read from Prometheus
    assert summary["requests"]["canary"] >= 30 and summary["requests"]["control"] >= 30, summary
    assert summary["errors"] == {"control": 0, "canary": 0}

    gateway = _gateway_requests(stack, "none")
    assert gateway.get(("canary", "2xx"), 0) > 0 and gateway.get(("stable", "2xx"), 0) > 0, gateway
    assert not any(code_class == "5xx" and count for (_, code_class), count in gateway.items()), gateway
    assert _max_weight(stack, "none") >= 50
    _assert_dashboard_gateway_panels_have_data(stack)


def test_failing_canary_is_rolled_back_on_its_error_rate(stack: Stack) -> None:
    scenario = stack.scenarios["errors"]
    code, summary, stderr = run_rollout(scenario)
    assert code == 3, (summary, stderr[-3000:])
    assert summary["outcome"] == "rolled_back" and summary["final_traffic"] == 0, summary
    assert re.search(r"error rate \d+(\.\d+)?%( > 1% on 3 consecutive checks| vs control .*regression beyond tolerance)", summary["rollback_reason"] or ""), \
        summary["rollback_reason"]
    assert summary["errors"]["canary"] > 0 and summary["errors"]["control"] == 0, summary

    gateway = _gateway_requests(stack, "errors")
    canary_5xx, canary_2xx = gateway.get(("canary", "5xx"), 0), gateway.get(("canary", "2xx"), 0)
    assert canary_5xx > 0 and 0.05 < canary_5xx / (canary_5xx + canary_2xx) < 0.5, gateway
    assert gateway.get(("stable", "5xx"), 0) == 0, gateway
    assert _max_weight(stack, "errors") < 100  # never promoted


def test_slow_canary_is_rolled_back_on_its_p95(stack: Stack) -> None:
    scenario = stack.scenarios["latency"]
    code, summary, stderr = run_rollout(scenario)
    assert code == 3, (summary, stderr[-3000:])
    assert summary["outcome"] == "rolled_back" and summary["final_traffic"] == 0, summary
    # the P95 guardrail, the slow-request comparison, or (with the pre-canary baseline giving control's
    # quantiles from the first window) a quantile comparison
    assert re.search(r"P95 \d+ ms > 500 ms on 3 consecutive checks"
                     r"|slower than objective \d+(\.\d+)?% vs control .*regression"
                     r"|P(50|95|99) \d+ ms vs control \d+ ms .*regression beyond tolerance",
                     summary["rollback_reason"] or ""), summary["rollback_reason"]
    assert summary["errors"] == {"control": 0, "canary": 0}

    # the gateway measured the same slowness the services reported
    p95 = stack.prom.query('histogram_quantile(0.95, sum by (variant, le) (increase('
                           'canaria_gateway_request_duration_seconds_bucket{scenario="latency"}[5m])))')
    by_variant = {s["metric"]["variant"]: float(s["value"][1]) for s in p95}
    assert by_variant["canary"] > 0.5 and by_variant["stable"] < 0.3, by_variant
    assert _max_weight(stack, "latency") < 100


# ------------------------------------------------------------------ dashboard
def _fill(expr: str) -> str:
    values = {"service": "ion-api-none", "job": _job("none"), "__rate_interval": "10s", "__range": "5m",
              "__interval": "2s"}
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], expr)


def _assert_dashboard_gateway_panels_have_data(stack: Stack) -> None:
    """Every dashboard expression over the gateway's series returns data from this Prometheus.

    The shipped dashboard has no gateway panel yet (its panels read the services and the controller), so
    today only the series themselves are checked; a gateway panel added later is checked here as well."""
    # `last_over_time`: the gateway is stopped by now, so its series are stale at this instant
    series = stack.prom.query('last_over_time(canaria_gateway_requests_total{scenario="none",code_class="2xx"}[5m])')
    assert {s["metric"]["variant"] for s in series} == {"stable", "canary"}, series
    dashboard = json.loads((DEPLOY / "grafana" / "canaria-dashboard.json").read_text())
    exprs = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [(f"annotation {a['name']}", a["expr"]) for a in dashboard["annotations"]["list"] if "expr" in a]
    gateway_exprs = [(title, expr) for title, expr in exprs if "canaria_gateway_" in expr]
    # over the whole run, not the last 10 s: the rollout is over when this runs
    empty = [(title, expr) for title, expr in gateway_exprs
             if not stack.prom.query(_fill(expr).replace("[10s]", "[5m]"))]
    assert not empty, empty
