"""`canaria simulate` as a user calls it, with the scenario format from the issue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ISSUE_EXAMPLE = """
defaults: {runs: 200, rps: 1.0, horizon: 6h}
scenarios:
  - name: errors-2pct
    bad: true
    rps: 1.0
    traffic: steady
    control: {error_rate: 0.002, latency: {p50_ms: 120, p95_ms: 350}, memory_pct: 55, cpu_pct: 30}
    canary:  {error_rate: 0.02, onset: 0s}
  - name: leak
    bad: true
    canary: {memory_pct: 55, memory_slope_pct_per_h: 20, onset: 20m}
"""


def simulate(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "scenarios.yaml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "canaria", "simulate", "--scenarios", str(path), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
                          check=False)


def test_issue_example_runs_and_prints_the_contract_json(tmp_path: Path) -> None:
    result = simulate(tmp_path, ISSUE_EXAMPLE, "--runs", "8", "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    judges = {j["judge"]: j for j in data["judges"]}
    assert set(judges) == {"canaria", "flagger", "kayenta", "runbook"}
    for figures in judges.values():
        assert {"judge", "scenarios", "runs", "false_rollback_rate", "miss_rate", "median_detect_s", "p90_detect_s",
                "mean_bad_requests", "median_promote_s", "by_scenario"} <= set(figures)
        assert [s["name"] for s in figures["by_scenario"]] == ["errors-2pct", "leak"]
    assert judges["canaria"]["miss_rate"] <= 0.25  # both are clear regressions
    again = simulate(tmp_path, ISSUE_EXAMPLE, "--runs", "8", "--seed", "3", "--json", "--judge", "canaria")
    assert json.loads(again.stdout.strip().splitlines()[-1])["judges"][0] == judges["canaria"]


def test_bad_scenario_file_names_the_field(tmp_path: Path) -> None:
    bad = ISSUE_EXAMPLE.replace("traffic: steady", "traffic: sometimes")
    result = simulate(tmp_path, bad)
    assert result.returncode == 2
    assert "traffic" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_judge_is_refused(tmp_path: Path) -> None:
    result = simulate(tmp_path, ISSUE_EXAMPLE, "--judge", "canaria,argo")
    assert result.returncode == 2 and "argo" in result.stderr
