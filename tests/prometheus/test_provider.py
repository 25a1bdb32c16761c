"""The Prometheus provider's logic against a fake API (MockTransport): what it sends, how it reads answers,
and how every failure becomes a MetricsError. The real-server proof is in test_integration.py."""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx
import pytest

from canaria.analysis.context import StageContext
from canaria.analysis.judge import evaluate
from canaria.analysis.verdict import Decision
from canaria.config import CanariaConfig, parse_config
from canaria.errors import ConfigError, MetricsError
from canaria.metrics import create_provider
from canaria.metrics.prometheus import PrometheusMetricsProvider
from tests.fakes import FakePlatform
from tests.prometheus.fake_api import Answer, FakePrometheus, bad_query, vector

BASE = """
service: ion-api
platform:
  stable: {{url: "http://127.0.0.1:1", memory_limit: {limit}}}
  canary: {{url: "http://127.0.0.1:2", memory_limit: {limit}}}
analysis: {{interval: 5m, min_requests: 10, compare: {{enabled: false}}}}  # these tests are about the guardrails
guardrails:
  - {{metric: error_rate_pct, max: 1.0, consecutive: 3}}
  - {{metric: "custom:recommendation_latency_ms", max: 100, consecutive: 3}}
metrics:
  provider: prometheus
  prometheus:
    url: http://prom.test:9090/
    retries: 2
    backoff: 0.001
    variants: {{stable: {{version: v1}}, canary: {{version: v2}}}}
    custom:
      - name: recommendation_latency_ms
        query: >-
          1000 * histogram_quantile(0.95, sum by (le)
          (rate(recommendation_engine_latency_seconds_bucket{{{{selector}}}}[{{window}}])))
{extra}"""


def config(limit: str = "512MiB", extra: str = "") -> CanariaConfig:
    return parse_config(BASE.format(limit=limit, extra=extra))


def provider(fake: FakePrometheus, cfg: CanariaConfig | None = None) -> PrometheusMetricsProvider:
    return PrometheusMetricsProvider(cfg or config(), FakePlatform(), transport=fake.transport())


def kind(query: str) -> str:
    """Which measurement a rendered default query asks for."""
    if "recommendation_engine" in query:
        return "custom"
    if "code_class" in query:
        return "status"
    if "_bucket" in query:
        return "latency"
    if "process_resident_memory_bytes" in query:
        return "memory"
    if "process_cpu_seconds_total" in query:
        return "cpu"
    if 'status=~"5.."' in query:
        return "errors"
    return "requests"


def variant_of(query: str) -> str:
    return "canary" if 'version="v2"' in query else "stable"


GOOD: dict[tuple[str, str], Answer] = {
    ("stable", "requests"): vector(({}, "1000.4")),
    ("stable", "errors"): vector(),  # no 5xx series has ever existed: 0 errors, not "no data"
    ("stable", "status"): vector(({"code_class": "2xx"}, 1000.4)),
    ("stable", "latency"): vector(({"le": "0.1"}, 900), ({"le": "0.5"}, 1000), ({"le": "+Inf"}, 1000)),
    ("stable", "memory"): vector(({}, 40.0)),
    ("stable", "cpu"): vector(({}, 11.0)),
    ("stable", "custom"): vector(({}, 12.0)),
    ("canary", "requests"): vector(({}, 200.2)),
    ("canary", "errors"): vector(({}, 10.2)),
    ("canary", "status"): vector(({"code_class": "2xx"}, 190.0), ({"code_class": "5xx"}, 10.2)),
    ("canary", "latency"): vector(({"le": "0.1"}, 100), ({"le": "0.5"}, 181), ({"le": "+Inf"}, 200)),
    ("canary", "memory"): vector(({}, 42.5)),
    ("canary", "cpu"): vector(({}, 12.0)),
    ("canary", "custom"): vector(({}, 37.0)),
}


def answers(table: Mapping[tuple[str, str], Answer]) -> FakePrometheus:
    return FakePrometheus(lambda q: table.get((variant_of(q), kind(q)), vector()))


async def read(p: PrometheusMetricsProvider, start: float = 1_700_000_000.0, end: float = 1_700_000_300.0):
    return await p.read_window(start=start, end=end, stage_index=0, canary_weight=5.0)


async def test_window_has_counts_statuses_histogram_saturation_and_custom_for_both_variants() -> None:
    fake = answers(GOOD)
    p = provider(fake)
    window = await read(p)
    await p.close()
    assert (window.control.requests, window.control.errors) == (1000, 0)
    assert (window.canary.requests, window.canary.errors) == (200, 10)
    assert window.canary.status == {"2xx": 190, "5xx": 10}
    assert window.canary.latency.count == 200 and window.control.latency.count == 1000
    p50, p95 = window.canary.p50_ms, window.canary.p95_ms
    # 19 of 200 are over 500 ms; the 100th is at the 100 ms bound (within the histogram's 5% resolution)
    assert p50 is not None and p50 <= 103 and p95 is not None and p95 > 500
    assert window.control.p95_ms is not None and window.control.p95_ms <= 500
    assert (window.canary.memory_pct, window.canary.cpu_pct) == (42.5, 12.0)
    assert window.canary.custom == {"recommendation_latency_ms": 37.0}
    assert window.canary_weight == 5.0 and window.duration_s == 300
    # what went over the wire: rendered templates, evaluated at the window's end
    assert ('sum(increase(http_requests_total{version="v2",path!~"/metrics|/health.*"}[300s]))'
            in fake.queries)
    assert '100 * sum(process_resident_memory_bytes{version="v1"}) / 536870912' in fake.queries
    assert any('"${1}xx"' in q for q in fake.queries)
    assert set(fake.times) == {"1700000300.000"}
    assert not any(re.search(r"\{[a-z_]+\}", q) for q in fake.queries), "a template variable was left unfilled"


async def test_no_series_means_no_data_and_the_judge_never_passes_it() -> None:
    p = provider(FakePrometheus(lambda q: vector()))
    window = await read(p)
    await p.close()
    assert window.canary.requests == 0 and window.control.requests == 0
    assert window.canary.memory_pct is None and window.canary.custom == {}
    cfg = config()
    ctx = StageContext(stage_index=0, traffic=5, hold_s=0, elapsed_in_stage_s=600, interval_s=300,
                       next_stage_hold_s=0, is_last_stage=True)
    verdict = evaluate([window], ctx, cfg.guardrails, cfg.analysis)
    assert verdict.decision is not Decision.GO
    assert any(r.check == "data" for r in verdict.reasons)


async def test_several_series_where_one_is_expected_is_an_error_naming_them() -> None:
    table = dict(GOOD)
    table[("canary", "requests")] = vector(({"instance": "a:1"}, 10), ({"instance": "b:1"}, 20))
    p = provider(answers(table))
    with pytest.raises(MetricsError) as caught:
        await read(p)
    await p.close()
    text = str(caught.value)
    assert "requests for canary returned 2 series where one is expected" in text
    assert 'instance="a:1"' in text and "sum(" in text


async def test_bad_promql_shows_the_servers_message_and_is_not_retried() -> None:
    fake = FakePrometheus(lambda q: bad_query('1:5: parse error: unexpected "}"'))
    p = provider(fake)
    with pytest.raises(MetricsError) as caught:
        await read(p)
    await p.close()
    assert 'Prometheus rejected the query: 1:5: parse error: unexpected "}"' in str(caught.value)
    assert "query: " in str(caught.value)
    assert fake.calls == len(fake.queries) and fake.calls <= 14  # one attempt per query, no retries


async def test_unreachable_server_is_retried_with_backoff_then_reported() -> None:
    fake = FakePrometheus(lambda q: httpx.ConnectError("Connection refused"))
    p = provider(fake, config(extra="    queries: {errors: '', status: '', latency_buckets: '', memory: '', cpu: ''}\n"
                                   "    custom: []\n"))
    with pytest.raises(MetricsError) as caught:
        await read(p)
    await p.close()
    assert "Prometheus at http://prom.test:9090 is unreachable: Connection refused (after 3 attempts)" in str(
        caught.value)
    assert fake.calls == 2 * 3  # two variants x (1 + 2 retries)


async def test_a_transient_503_is_retried_and_the_window_still_arrives() -> None:
    seen: set[str] = set()

    def flaky(query: str) -> Answer:
        if query not in seen:
            seen.add(query)
            return httpx.Response(503, json={"status": "error", "errorType": "unavailable", "error": "overloaded"})
        return GOOD.get((variant_of(query), kind(query)), vector())

    fake = FakePrometheus(flaky)
    p = provider(fake)
    window = await read(p)
    await p.close()
    assert window.canary.requests == 200
    assert fake.calls == 2 * len(seen)  # every query failed once, then succeeded


async def test_timeouts_are_named_with_the_configured_timeout() -> None:
    fake = FakePrometheus(lambda q: httpx.ReadTimeout("slow"))
    p = provider(fake, config(extra="    timeout: 2s\n    retries: 0\n"))
    with pytest.raises(MetricsError, match=r"did not answer within 2 s \(after 1 attempt\)"):
        await read(p)
    await p.close()


async def test_not_a_prometheus_answer_is_explained() -> None:
    p = provider(FakePrometheus(lambda q: httpx.Response(200, text="<html>Grafana</html>")))
    with pytest.raises(MetricsError, match="not with the Prometheus API JSON; is metrics.prometheus.url"):
        await read(p)
    await p.close()


async def test_nan_and_infinite_readings_are_no_reading() -> None:
    table = dict(GOOD)
    table[("canary", "custom")] = vector(({}, "NaN"))
    table[("canary", "memory")] = vector(({}, "+Inf"))
    p = provider(answers(table))
    window = await read(p)
    await p.close()
    assert window.canary.custom == {} and window.canary.memory_pct is None


async def test_malformed_status_and_bucket_series_are_errors() -> None:
    table = dict(GOOD)
    table[("canary", "status")] = vector(({"status": "200"}, 190.0))
    p = provider(answers(table))
    with pytest.raises(MetricsError, match="one series per `code_class` label"):
        await read(p)
    table = dict(GOOD)
    table[("canary", "latency")] = vector(({"le": "0.1", "path": "/a"}, 1), ({"le": "0.1", "path": "/b"}, 2))
    p = provider(answers(table))
    with pytest.raises(MetricsError, match=r"several series for le=0.1; aggregate with sum by \(le\)"):
        await read(p)
    await p.close()


async def test_extrapolated_buckets_are_kept_monotonic() -> None:
    table = dict(GOOD)
    table[("canary", "latency")] = vector(({"le": "0.1"}, 101.3), ({"le": "0.5"}, 100.9), ({"le": "+Inf"}, 200.1))
    p = provider(answers(table))
    window = await read(p)
    await p.close()
    assert window.canary.latency.count == 200


async def test_custom_guardrail_reads_the_custom_metric_and_rolls_back_after_three_checks() -> None:
    table = dict(GOOD)
    table[("canary", "errors")] = vector()
    table[("canary", "custom")] = vector(({}, 150.0))
    p = provider(answers(table))
    windows = [await read(p, start=1_700_000_000.0 + i * 300, end=1_700_000_300.0 + i * 300) for i in range(3)]
    await p.close()
    cfg = config()
    ctx = StageContext(stage_index=0, traffic=5, hold_s=0, elapsed_in_stage_s=900, interval_s=300,
                       next_stage_hold_s=0, is_last_stage=False)
    assert evaluate(windows[:2], ctx, cfg.guardrails, cfg.analysis).decision is Decision.OBSERVE
    verdict = evaluate(windows, ctx, cfg.guardrails, cfg.analysis)
    assert verdict.decision is Decision.NO_GO
    assert "recommendation_latency_ms 150.0 > 100 on 3 consecutive checks" in verdict.headline


async def test_memory_needs_a_limit_and_check_says_how_to_give_one() -> None:
    cfg = parse_config(BASE.format(limit="null", extra=""))
    fake = answers(GOOD)
    p = provider(fake, cfg)
    window = await read(p)
    assert window.canary.memory_pct is None
    assert not any("process_resident_memory_bytes" in q for q in fake.queries)
    checks = {c.name: c for c in await p.check()}
    await p.close()
    memory = checks["metrics: query memory"]
    assert not memory.ok
    assert "{memory_limit}" in memory.detail and "platform.stable.memory_limit" in memory.detail


async def test_check_passes_with_data_and_names_what_is_missing() -> None:
    p = provider(answers(GOOD))
    checks = await p.check()
    await p.close()
    assert checks[0].name == "metrics: prometheus" and "Prometheus 2.42.0" in checks[0].detail
    by_name = {c.name: c for c in checks}
    assert set(by_name) == {"metrics: prometheus", "metrics: query requests", "metrics: query errors",
                            "metrics: query status", "metrics: query latency_buckets", "metrics: query memory",
                            "metrics: query cpu", "metrics: query custom:recommendation_latency_ms"}
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert by_name["metrics: query requests"].detail == "stable 1000, canary 200.2"
    assert "no series yet for stable" in by_name["metrics: query errors"].detail

    table = dict(GOOD)
    table[("canary", "requests")] = vector()
    p = provider(answers(table))
    by_name = {c.name: c for c in await p.check()}
    await p.close()
    requests = by_name["metrics: query requests"]
    assert not requests.ok and requests.detail.startswith("no data for canary (sum(increase(")


async def test_check_reports_an_unreachable_server_in_one_line() -> None:
    p = provider(FakePrometheus(lambda q: httpx.ConnectError("refused")))
    p.api.retries = 0
    checks = await p.check()
    await p.close()
    assert len(checks) == 1 and not checks[0].ok and "unreachable" in checks[0].detail


async def test_selectors_raw_and_default() -> None:
    raw = config(extra="")
    raw.metrics.prometheus.variants = {"stable": 'job="api", track="main"', "canary": '{job="api",track="canary"}'}
    p = PrometheusMetricsProvider(raw)
    assert p.variables("stable", 61.4)["selector"] == 'job="api", track="main"'
    assert p.variables("canary", 61.4)["selector"] == 'job="api",track="canary"'
    assert p.variables("canary", 61.4)["window"] == "61s"
    raw.metrics.prometheus.variants = {}
    assert p.variables("canary", 0.2)["selector"] == 'variant="canary"'
    assert p.variables("canary", 0.2)["window"] == "1s"
    await p.close()


def test_factory_builds_the_prometheus_provider() -> None:
    p = create_provider(config(), FakePlatform())
    assert isinstance(p, PrometheusMetricsProvider)


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("    queries: {requests: 'sum(x{{selector}}[{windw}])'}\n", "metrics.prometheus",
         "queries.requests: unknown variable {windw}"),
        ("    variables: {window: 5m}\n", "metrics.prometheus.variables", "filled in by canaria"),
        ("    url: prom:9090\n", "metrics.prometheus.url", "must start with http://"),
    ],
)
def test_config_errors_name_the_field(extra: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(extra=extra)
    assert caught.value.field == field and message in str(caught.value)


def test_provider_prometheus_without_its_section_names_the_field() -> None:
    text = """
service: ion-api
platform: {stable: {url: "http://127.0.0.1:1"}, canary: {url: "http://127.0.0.1:2"}}
metrics: {provider: prometheus}
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.field == "metrics" and "`metrics.prometheus` is missing" in str(caught.value)


def test_variants_must_name_both_and_differ() -> None:
    with pytest.raises(ConfigError, match="both 'stable' and 'canary'"):
        config(extra="    variants: {stable: {version: v1}}\n")
    with pytest.raises(ConfigError, match="the same labels"):
        config(extra="    variants: {stable: {version: v1}, canary: {version: v1}}\n")


async def test_the_baseline_asks_each_count_query_once_over_the_span_for_the_stable_version() -> None:
    table: dict[tuple[str, str], Answer] = dict(GOOD)
    fake = FakePrometheus(lambda q: vector(),
                          history=lambda q: table.get((variant_of(q), kind(q)), vector()))
    p = provider(fake)
    windows = await p.read_baseline(start=1_700_000_000.0, end=1_700_003_600.0, interval=300)
    assert len(windows) == 12 and all((w.requests, w.errors) == (1000, 0) for w in windows)
    assert windows[0].status == {"2xx": 1000} and windows[0].latency.count == 1000
    assert windows[0].memory_pct is None  # gauges of the moment are not a baseline
    # four range queries (requests, errors, status, buckets) of the stable version, ending at the rollout's start
    assert sorted(kind(r["query"]) for r in fake.ranges) == ["errors", "latency", "requests", "status"]
    assert all(variant_of(r["query"]) == "stable" and "[300s]" in r["query"] for r in fake.ranges)
    assert {(r["start"], r["end"], r["step"]) for r in fake.ranges} == {("1700000300.000", "1700003600.000", "300")}
    assert fake.queries == []  # no instant query per window
    await p.close()


async def test_a_baseline_read_fails_as_a_metrics_error_and_an_empty_server_has_none() -> None:
    p = provider(FakePrometheus(lambda q: httpx.ConnectError("refused")))
    with pytest.raises(MetricsError, match="unreachable"):
        await p.read_baseline(start=1_700_000_000.0, end=1_700_003_600.0, interval=300)
    await p.close()
    p = provider(FakePrometheus(lambda q: vector()))
    assert await p.read_baseline(start=1_700_000_000.0, end=1_700_003_600.0, interval=300) == []
    assert await p.read_baseline(start=1_700_000_000.0, end=1_700_000_100.0, interval=300) == []  # under a window
    await p.close()
