"""Scenario files: the issue's format in YAML and JSON, defaults, and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canaria.errors import ConfigError
from canaria.simulate.scenario import load_scenarios, parse_scenarios

ISSUE_EXAMPLE = """\
defaults: {runs: 200, rps: 1.0, horizon: 6h}     # rps = total requests/s reaching the service
scenarios:
  - name: errors-2pct
    bad: true                                      # ground truth
    rps: 1.0                                       # optional per-scenario override
    traffic: steady                                # steady | diurnal | bursty
    control: {error_rate: 0.002, latency: {p50_ms: 120, p95_ms: 350}, memory_pct: 55, cpu_pct: 30}
    canary:  {error_rate: 0.02, onset: 0s}         # fields omitted from canary = same as control
  - name: leak
    bad: true
    canary: {memory_pct: 55, memory_slope_pct_per_h: 20, onset: 20m}
"""


def test_the_issues_example_parses_and_omitted_canary_fields_follow_control() -> None:
    errors, leak = parse_scenarios(ISSUE_EXAMPLE).resolved()
    assert (errors.runs, errors.rps, errors.horizon_s, errors.traffic) == (200, 1.0, 21600.0, "steady")
    assert errors.canary.error_rate == 0.02 and errors.canary.p95_ms == 350 and errors.canary.memory_pct == 55
    assert errors.control.p50_ms == 120 and errors.onset_s == 0.0
    assert leak.onset_s == 1200.0 and leak.canary.memory_slope_pct_per_h == 20
    assert leak.canary.error_rate == leak.control.error_rate  # control defaults when a scenario has none


def test_json_is_accepted_and_defaults_may_carry_the_control_service(tmp_path: Path) -> None:
    data = {"defaults": {"runs": 3, "control": {"error_rate": 0.01}},
            "scenarios": [{"name": "a", "bad": False, "control": {"cpu_pct": 40}}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    (scenario,) = load_scenarios(path).resolved()
    assert scenario.runs == 3 and scenario.control.error_rate == 0.01 and scenario.control.cpu_pct == 40
    assert scenario.canary == scenario.control


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("scenarios:\n  - name: a\n    bad: true\n    canary: {latency: {p50_ms: 200, p95_ms: 150}}\n",
         "scenarios[0].canary.latency", "greater than p50_ms"),
        ("scenarios:\n  - name: a\n    bad: true\n  - name: b\n    bad: true\n    canary: {error_rate: 2}\n",
         "scenarios[1].canary.error_rate", "less than or equal to 1"),
        ("scenarios:\n  - name: a\n    bad: true\n    traffic: spiky\n", "scenarios[0].traffic", "steady"),
        ("scenarios:\n  - name: a\n    bad: true\n    canary: {eror_rate: 0.1}\n",
         "scenarios[0].canary.eror_rate", "unknown key"),
        ("scenarios:\n  - name: a\n", "scenarios[0].bad", "required"),
        ("defaults: {horizon: soon}\nscenarios:\n  - {name: a, bad: false}\n", "defaults.horizon", "duration"),
        ("scenarios:\n  - {name: a, bad: false}\n  - {name: a, bad: true}\n", "scenarios", "used twice"),
        ("scenarios: []\n", "scenarios", "at least 1"),
        ("- just a list\n", "scenarios", "mapping"),
        ("scenarios:\n  - name: [unclosed\n", "scenarios", "invalid YAML"),
    ],
)
def test_bad_files_get_an_error_naming_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenarios(text)
    assert info.value.field == field
    assert words in str(info.value)


def test_the_error_gives_the_line_and_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenarios("scenarios:\n  - name: a\n    bad: true\n    canary:\n      error_rate: -1\n")
    assert info.value.line == 5 and "scenarios[0].canary.error_rate (line 5)" in str(info.value)
    with pytest.raises(ConfigError, match="cannot read scenario file"):
        load_scenarios(tmp_path / "missing.yaml")
