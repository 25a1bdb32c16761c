"""Bad input gets one clear line, exit 2, and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.errors import ConfigError

BASE = """service: ion-api
state_dir: {state}
platform:
  stable: {{url: "http://127.0.0.1:9"}}
  canary: {{url: "http://127.0.0.1:9"}}
gateway: {{listen: "127.0.0.1:{gw}", admin_listen: "127.0.0.1:{admin}"}}
"""


def canaria(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "canaria", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize(
    ("extra", "field", "line"),
    [
        ("unknown_key: 1\n", "unknown_key", 7),
        ("plan:\n  stages:\n    - {traffic: 150}\n", "plan.stages[0].traffic", 9),
        ("plan:\n  stages:\n    - {traffic: 5, hold: -5m}\n", "plan.stages[0].hold", 9),
    ],
)
def test_config_errors_name_the_field_and_line(extra: str, field: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.format(state="/tmp/x", gw=1, admin=2) + extra)
    assert info.value.field == field
    assert info.value.line == line


def test_missing_command_and_url_is_named() -> None:
    text = "service: a\nplatform:\n  stable: {url: 'http://x'}\n  canary: {port: 9002}\n"
    with pytest.raises(ConfigError, match=r"platform.canary \(line 4\): give either `command`"):
        parse_config(text)


def test_cli_config_error_is_one_line_exit_2_and_nothing_started(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "canaria.yaml").write_text(BASE.format(state=state, gw=1, admin=2) + "plan:\n  stages:\n"
                                           "    - {traffic: 150}\n")
    result = canaria("enable-canary", "--traffic", "5", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "plan.stages[0].traffic (line 9)" in lines[0]
    assert not state.exists()  # nothing started, nothing written


def test_enable_canary_traffic_150_is_refused_before_anything_moves(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (tmp_path / "canaria.yaml").write_text(BASE.format(state=state, gw=1, admin=2))
    result = canaria("enable-canary", "--traffic", "150", cwd=tmp_path)
    assert result.returncode == 2
    assert "--traffic must be between 0 (exclusive) and 100" in result.stderr
    assert not state.exists()


def test_rollback_with_nothing_active_says_so_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "canaria.yaml").write_text(BASE.format(state=tmp_path / "s", gw=1, admin=2))
    result = canaria("rollback", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Nothing to roll back" in result.stdout
    ko = canaria("rollback", "--lang", "ko", cwd=tmp_path)
    assert "롤백할 것이 없습니다" in ko.stdout


def test_missing_config_file_points_to_init(tmp_path: Path) -> None:
    result = canaria("status", cwd=tmp_path)
    assert result.returncode == 2
    assert "canaria init" in result.stderr


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    result = canaria("init", cwd=tmp_path)
    assert result.returncode == 0
    from canaria.config import load_config

    config = load_config(tmp_path / "canaria.yaml")
    assert [s.traffic for s in config.plan.stages] == [5, 10, 50, 100]
    assert config.plan.stages[2].needs_approval
    again = canaria("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
