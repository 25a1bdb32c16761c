"""canaria's own metrics and event logs, fed by a real controller run (fake platform, metrics and clock)."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from canaria.config import parse_config
from canaria.config.observability import ObservabilityConfig
from canaria.controller.clock import FakeClock
from canaria.errors import ConfigError, PortInUseError
from canaria.observability.logs import LoggingSink, configure_logging, trace_id_for
from canaria.observability.metrics import ControllerMetrics, MetricsSink, attach
from canaria.observability.server import MetricsServer
from canaria.runtime.app import open_app
from tests.fakes import URL_SERVICE, FakeMetrics, FakePlatform, variant

CONFIG = URL_SERVICE + """analysis: {{interval: 5m, min_requests: 10, compare: {{enabled: false}}}}  # these tests are about the guardrails
plan:
  stages: [{{traffic: 5, hold: 10m}}, {{traffic: 100}}]
guardrails:
  - {{metric: error_rate_pct, max: 1.0, consecutive: 3}}
  - {{metric: p95_ms, max: 500, consecutive: 3}}
  - {{metric: p95_ms, max: 300, action: warn}}
{extra}"""


def samples(metrics: ControllerMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by (name, sorted labels) — what Prometheus would scrape."""
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(metrics: ControllerMetrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, tuple(sorted({"service": "ion-api", **labels}.items())))]


def make(tmp_path: Path, fn, extra: str = ""):
    config = parse_config(CONFIG.format(state=tmp_path / "state", extra=extra))
    app = open_app(config, clock=FakeClock(), platform=FakePlatform(), metrics=FakeMetrics(fn))
    metrics = ControllerMetrics(config)
    attach(app.controller, metrics)
    return app, metrics


async def test_a_rolled_back_rollout_shows_in_every_series(tmp_path: Path) -> None:
    app, metrics = make(tmp_path, lambda w, n: (variant(200), variant(40, errors=4, latency_ms=250)))
    rollout = await app.controller.run()
    await app.close()
    assert rollout.outcome == "rolled_back"
    assert value(metrics, "canaria_rollout_phase", phase="rolled_back") == 1
    assert value(metrics, "canaria_rollout_phase", phase="progressing") == 0
    assert value(metrics, "canaria_rollout_active") == 0
    assert value(metrics, "canaria_traffic_weight_percent", variant="canary") == 0
    assert value(metrics, "canaria_traffic_weight_percent", variant="stable") == 100
    assert value(metrics, "canaria_rollbacks_total", outcome="rolled_back") == 1
    assert value(metrics, "canaria_rollbacks_total", outcome="aborted") == 0
    assert value(metrics, "canaria_promotions_total") == 0
    # each check's measured value, threshold and streak (flagger#1147)
    assert value(metrics, "canaria_check_value", check="error_rate_pct") == pytest.approx(10.0)
    assert value(metrics, "canaria_check_threshold", check="error_rate_pct") == 1.0
    assert value(metrics, "canaria_check_consecutive_breaches", check="error_rate_pct") == 3
    assert value(metrics, "canaria_check_consecutive_limit", check="error_rate_pct") == 3
    assert value(metrics, "canaria_check_control_value", check="error_rate_pct") == 0.0
    # two rules on p95: told apart by their limits
    assert value(metrics, "canaria_check_threshold", check="p95_ms>500") == 500
    assert value(metrics, "canaria_check_threshold", check="p95_ms>300") == 300
    assert value(metrics, "canaria_check_consecutive_breaches", check="p95_ms>500") == 0
    assert value(metrics, "canaria_check_consecutive_breaches", check="p95_ms>300") >= 1
    assert value(metrics, "canaria_decisions_total", decision="NO-GO") == 1
    assert value(metrics, "canaria_decisions_total", decision="OBSERVE") == 2
    assert value(metrics, "canaria_last_decision", decision="NO-GO") == 1
    assert value(metrics, "canaria_health_score") < 80
    assert value(metrics, "canaria_ticks_total", action="rollback") == 1
    assert value(metrics, "canaria_tick_duration_seconds_count") == 3
    assert value(metrics, "canaria_events_total", kind="rollback_started") == 1
    assert value(metrics, "canaria_events_total", kind="decision") >= 2
    assert value(metrics, "canaria_window_requests", variant="canary") == 40


async def test_a_promoted_rollout_counts_a_promotion(tmp_path: Path) -> None:
    app, metrics = make(tmp_path, lambda w, n: (variant(200), variant(50)))
    rollout = await app.controller.run()
    await app.close()
    assert rollout.outcome == "promoted"
    assert value(metrics, "canaria_promotions_total") == 1
    assert value(metrics, "canaria_rollout_phase", phase="succeeded") == 1
    assert value(metrics, "canaria_rollout_stage") == 2 and value(metrics, "canaria_rollout_stages") == 2
    assert value(metrics, "canaria_decisions_total", decision="GO") >= 2
    assert value(metrics, "canaria_health_score") == 100


async def test_an_infrastructure_error_counts_and_holds(tmp_path: Path) -> None:
    from canaria.errors import MetricsError

    def broken(w: float, n: int):
        raise MetricsError("Prometheus at http://127.0.0.1:9 is unreachable")

    app, metrics = make(tmp_path, broken)
    await app.controller.run(max_ticks=2)  # holds: the fail-safe (pause) comes at the third failed check
    assert value(metrics, "canaria_controller_errors_total") == 2
    assert value(metrics, "canaria_ticks_total", action="error") == 2
    assert value(metrics, "canaria_rollout_phase", phase="progressing") == 1
    assert value(metrics, "canaria_traffic_weight_percent", variant="canary") == 5
    await app.controller.run(max_ticks=1)
    await app.close()
    assert value(metrics, "canaria_controller_errors_total") == 3
    assert value(metrics, "canaria_rollout_phase", phase="paused") == 1
    assert value(metrics, "canaria_traffic_weight_percent", variant="canary") == 5


def test_notifications_and_initial_zeroes(tmp_path: Path) -> None:
    config = parse_config(CONFIG.format(state=tmp_path, extra=""))
    metrics = ControllerMetrics(config)
    # created at zero before anything happens, so increase() sees the first one
    assert value(metrics, "canaria_rollbacks_total", outcome="rolled_back") == 0
    assert value(metrics, "canaria_rollout_phase", phase="progressing") == 0
    metrics.record_notification("slack", ok=True)
    metrics.record_notification("sms", ok=False)
    assert value(metrics, "canaria_notifications_total", channel="slack", result="sent") == 1
    assert value(metrics, "canaria_notifications_total", channel="sms", result="failed") == 1
    ControllerMetrics(config)  # a second instance has its own registry: no duplicate-series error


def test_the_exposition_server_serves_the_registry_and_stops(tmp_path: Path) -> None:
    config = parse_config(CONFIG.format(state=tmp_path, extra=""))
    metrics = ControllerMetrics(config)
    with MetricsServer(metrics.registry, "127.0.0.1:0") as server:
        assert server.port > 0
        body = httpx.get(server.url, timeout=5).text
        assert 'canaria_check_threshold{check="error_rate_pct",service="ion-api"} 1.0' in body
        with pytest.raises(PortInUseError):
            MetricsServer(metrics.registry, f"127.0.0.1:{server.port}").start()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_observability_config_parses_and_rejects_bad_addresses(tmp_path: Path) -> None:
    config = parse_config(CONFIG.format(state=tmp_path, extra="observability: {metrics_listen: '127.0.0.1:9108', "
                                                               "log_format: json, gcp_project: demo}\n"))
    assert config.observability.metrics_listen == "127.0.0.1:9108"
    assert config.observability.log_format == "json"
    assert parse_config(CONFIG.format(state=tmp_path, extra="")).observability.log_format == "text"
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.format(state=tmp_path, extra="observability: {metrics_listen: 'nine'}\n"))
    assert caught.value.field == "observability.metrics_listen"


async def test_json_logs_one_line_per_event_with_rollout_trace_and_severity(tmp_path: Path) -> None:
    stream = io.StringIO()
    logger = configure_logging(ObservabilityConfig(log_format="json", gcp_project="demo-project"),
                               service="ion-api", stream=stream)
    config = parse_config(CONFIG.format(state=tmp_path / "state", extra=""))
    app = open_app(config, clock=FakeClock(), platform=FakePlatform(),
                   metrics=FakeMetrics(lambda w, n: (variant(200), variant(40, errors=4))),
                   sink=LoggingSink())
    try:
        rollout = await app.controller.run()
        events = app.store.events(rollout.id)
    finally:
        await app.close()
        logger.handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == len(events) and len(lines) >= 5
    assert [line["event"]["kind"] for line in lines] == [e.kind for e in events]
    trace = trace_id_for(rollout.id)
    assert len(trace) == 32 and int(trace, 16) >= 0
    for line in lines:
        assert line["rollout_id"] == rollout.id and line["trace_id"] == trace
        assert line["logging.googleapis.com/trace"] == f"projects/demo-project/traces/{trace}"
        assert line["logging.googleapis.com/labels"]["rollout_id"] == rollout.id
        assert line["severity"] in {"INFO", "WARNING", "CRITICAL"}
        assert line["time"].endswith("Z") and line["service"] == "ion-api"
    rollback = next(line for line in lines if line["event"]["kind"] == "rollback_started")
    assert rollback["severity"] == "CRITICAL" and rollback["message"].startswith("rolling back: error rate")
    assert rollback["event"]["data"]["outcome"] == "rolled_back"
    assert rollback["rollout"]["phase"] == "rolling_back"


async def test_text_logs_are_the_default_and_human_readable(tmp_path: Path) -> None:
    stream = io.StringIO()
    logger = configure_logging(service="ion-api", stream=stream)
    configure_logging(service="ion-api", stream=stream)  # configuring twice keeps one handler
    config = parse_config(CONFIG.format(state=tmp_path / "state", extra=""))
    app = open_app(config, clock=FakeClock(), platform=FakePlatform(),
                   metrics=FakeMetrics(lambda w, n: (variant(200), variant(40, errors=4))), sink=LoggingSink())
    try:
        rollout = await app.controller.run()
    finally:
        await app.close()
    handlers = [h for h in logger.handlers if getattr(h, "_canaria_handler", False)]
    logger.handlers.clear()
    assert len(handlers) == 1
    text = stream.getvalue()
    assert f"[{rollout.id}] rollout_started: canary rollout of ion-api started" in text
    assert "CRITICAL " in text and "rollback_started: rolling back: error rate 10.0% > 1%" in text
    assert not text.lstrip().startswith("{")


async def test_metrics_sink_alone_follows_the_rollout(tmp_path: Path) -> None:
    config = parse_config(CONFIG.format(state=tmp_path / "state", extra=""))
    metrics = ControllerMetrics(config)
    app = open_app(config, clock=FakeClock(), platform=FakePlatform(),
                   metrics=FakeMetrics(lambda w, n: (variant(200), variant(50))), sink=MetricsSink(metrics))
    await app.controller.start()
    await app.close()
    assert value(metrics, "canaria_traffic_weight_percent", variant="canary") == 5
    assert value(metrics, "canaria_rollout_phase", phase="progressing") == 1
    assert value(metrics, "canaria_events_total", kind="stage_advanced") == 1


def test_port_in_use_is_reported_not_raised_as_oserror() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port}"):
            MetricsServer(CollectorRegistry(), f"127.0.0.1:{port}").start()


async def test_observe_wires_logs_to_a_file_metrics_and_the_endpoint(tmp_path: Path) -> None:
    from canaria.observability.setup import observe

    extra = "observability: {metrics_listen: '127.0.0.1:0', log_format: json, log_file: logs/canaria.jsonl}\n"
    config = parse_config(CONFIG.format(state=tmp_path / "state", extra=extra), source=str(tmp_path / "c.yaml"))
    app = open_app(config, clock=FakeClock(), platform=FakePlatform(),
                   metrics=FakeMetrics(lambda w, n: (variant(200), variant(40, errors=4))))
    seen = observe(app.controller, config, channels=("slack",))
    try:
        rollout = await app.controller.run()
        assert seen.metrics_url is not None
        async with httpx.AsyncClient(timeout=5) as client:
            body = (await client.get(seen.metrics_url)).text
        kinds = [e.kind for e in app.store.events(rollout.id)]
    finally:
        seen.close()
        await app.close()
    assert 'canaria_rollbacks_total{outcome="rolled_back",service="ion-api"} 1.0' in body
    assert 'canaria_notifications_total{channel="slack",result="failed",service="ion-api"} 0.0' in body
    assert 'canaria_tick_duration_seconds_count{service="ion-api"} 3.0' in body
    lines = [json.loads(line) for line in (tmp_path / "logs" / "canaria.jsonl").read_text().splitlines()]
    assert [line["event"]["kind"] for line in lines] == kinds
    assert seen.server is None and not [h for h in seen.logger.handlers if getattr(h, "_canaria_handler", 0)]
