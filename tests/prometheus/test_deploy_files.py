"""The shipped Prometheus and Grafana files: valid for their tools, and shaped as Grafana expects."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.conftest import require_binary
from tests.prometheus.harness import DEPLOY

PROM = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = require_binary("promtool")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.integration
def test_promtool_check_rules_passes() -> None:
    result = _promtool("check", "rules", str(PROM / "canaria-alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 13 rules found" in result.stdout


@pytest.mark.integration
def test_promtool_check_config_passes() -> None:
    result = _promtool("check", "config", str(PROM / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_alerts_fire_only_after_the_runbooks_consecutive_checks() -> None:
    """promtool's rule unit tests: 3 checks for errors and P95, 2 for memory; healthy canaries never page."""
    result = _promtool("test", "rules", str(PROM / "canaria-alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_mirror_the_runbook_guardrails() -> None:
    rules = {r["alert"]: r for g in yaml.safe_load((PROM / "canaria-alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    expected = {"CanaryHighErrorRate": ("> 1", "15m", "critical"), "CanaryHighP95Latency": ("> 500", "15m", "critical"),
                "CanaryHighMemory": ("> 85", "10m", "critical"), "CanaryHighCPU": ("> 80", "15m", "critical"),
                "CanaryRecommendationEngineSlow": ("> 100", "15m", "warning")}
    for name, (threshold, for_, severity) in expected.items():
        assert rules[name]["expr"].rstrip().endswith(threshold), name
        assert rules[name]["for"] == for_ and rules[name]["labels"]["severity"] == severity


def test_dashboard_is_importable_with_a_templated_datasource() -> None:
    dashboard = json.loads((GRAFANA / "canaria-dashboard.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource" and variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert {"job", "service"} <= set(variables)
    assert dashboard["uid"] == "canaria-canary" and dashboard["id"] is None
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["targets"] and all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    titles = {p["title"] for p in panels}
    for wanted in ("Traffic split (Control vs Treatment)", "Error rate", "Response time P50 / P95 / P99",
                   "Throughput (RPS)", "Recommendation engine latency (P95)", "Health score over time",
                   "Memory trend", "Deployment status"):
        assert wanted in titles
    gauge = next(p for p in panels if p["title"].startswith("Traffic split"))
    assert gauge["type"] == "gauge"
    annotations = {a["name"] for a in dashboard["annotations"]["list"]}
    assert {"Decisions", "Rollbacks"} <= annotations


def test_grafana_provisioning_files() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "canaria-prometheus.yaml").read_text())
    assert datasource["apiVersion"] == 1 and datasource["datasources"][0]["type"] == "prometheus"
    dashboards = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "canaria.yaml").read_text())
    provider = dashboards["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_the_readme_example_is_a_valid_config() -> None:
    from canaria.config import parse_config

    readme = (DEPLOY / "README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    head = 'service: ion-api\nplatform: {stable: {url: "http://127.0.0.1:1"}, canary: {url: "http://127.0.0.1:2"}}\n'
    config = parse_config(head + example)
    prometheus = config.metrics.prometheus
    assert prometheus is not None and prometheus.selector("canary") == 'version="v2"'
    assert prometheus.custom[0].name == "recommendation_latency_ms"
    assert config.observability.metrics_listen == "127.0.0.1:9108"
