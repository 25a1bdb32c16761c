"""A whole `canaria run` on nginx and on HAProxy, judged from the proxy's access log alone.

The runbook plan compressed to seconds — testers first (header X-Canary: always), then 5 %, 10 %, 50 %,
100 % — with the demo service as stable v1 and canary v2, both started by canaria on free loopback ports
behind a real nginx (include + reload) or a real HAProxy (runtime API). No gateway, no Prometheus: the
builtin provider counts the proxy's access log (nginx's JSON file; HAProxy's syslog datagrams, received
by canaria). A good canary is promoted; one answering errors is rolled back (exit 3).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from canaria.platforms.processes import free_port
from tests.e2e.cli_helpers import canaria
from tests.platforms.proxy_fixtures import (
    Processes,
    haproxy_config,
    nginx_config,
    processes,
    start_haproxy,
    start_nginx,
)

__all__ = ["processes"]
pytestmark = pytest.mark.integration

SERVICE = f"{sys.executable} -m canaria.demo.service --host 127.0.0.1"


class UsersAndTestersLoad:
    """~60 requests/s through the proxy, every 4th from a tester (X-Canary: always); bounded in time."""

    def __init__(self, url: str, max_s: float) -> None:
        self.url, self.max_s = url, max_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.sent = 0

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_s
        with httpx.Client(base_url=self.url, timeout=5, trust_env=False) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                headers = {"X-Canary": "always"} if self.sent % 4 == 0 else {}
                try:
                    client.get("/api/v2/recommendations", params={"user_id": str(self.sent % 50)},
                               headers=headers)
                except httpx.HTTPError:
                    pass
                self.sent += 1
                time.sleep(0.015)

    def __enter__(self) -> UsersAndTestersLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _versions(fault: str) -> tuple[int, int, dict[str, Any]]:
    stable_port, canary_port = free_port(), free_port()
    return stable_port, canary_port, {
        "stable": {"command": f"{SERVICE} --port {stable_port} --version v1", "port": stable_port,
                   "memory_limit": "512MB", "version": "v1"},
        "canary": {"command": f"{SERVICE} --port {canary_port} --version v2 --fault {fault}", "port": canary_port,
                   "memory_limit": "512MB", "version": "v2"},
    }


PLAN = {"stages": [{"match": {"header": "X-Canary", "value": "always"}, "hold": "2s"},
                   {"traffic": 5, "hold": "1s"}, {"traffic": 10, "hold": "1s"}, {"traffic": 50, "hold": "1s"},
                   {"traffic": 100}]}
EXTRA = {"plan": PLAN, "analysis": {"interval": "1s", "min_requests": 3, "max_hold_extension": "20s"},
         "report": {"every": "1h"}, "metrics": {"provider": "builtin"},
         "guardrails": [{"metric": "error_rate_pct", "max": 1.0, "consecutive": 2}]}


def _write(tmp_path: Path, kind: str, fault: str, procs: Processes) -> tuple[Path, str]:
    stable_port, canary_port, versions = _versions(fault)
    if kind == "nginx":
        nginx = start_nginx(tmp_path, procs, [f"127.0.0.1:{stable_port}"], [f"127.0.0.1:{canary_port}"])
        data = nginx_config(nginx, None, None, tmp_path, **EXTRA)
        url = nginx.url
    else:
        proxy = start_haproxy(tmp_path, procs, stable_port, canary_port)
        data = haproxy_config(proxy, None, None, tmp_path, **EXTRA)
        url = proxy.url
    data["platform"].update(versions)
    path = tmp_path / "canaria.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, url


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _run(config: Path, url: str, timeout_s: float = 90) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    run = subprocess.Popen([sys.executable, "-m", "canaria", "run", "-c", str(config), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                           env=env)
    try:
        with UsersAndTestersLoad(url, timeout_s):
            stdout, stderr = run.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        run.kill()
        _out, err = run.communicate(timeout=10)
        raise AssertionError(f"canaria run did not end within {timeout_s:g} s: {err[-4000:]}") from None
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate(timeout=10)
        if run.returncode not in (0, 3):  # a run that ended otherwise may have left traffic on the canary
            canaria(config, "rollback", "--force", "--reason", "test cleanup")
        stopped = canaria(config, "stop")
    assert stopped.returncode == 0, stopped.stderr
    ports = [v["port"] for k, v in yaml.safe_load(config.read_text())["platform"].items() if k in ("stable", "canary")]
    assert not [p for p in ports if _listening(p)], f"a version canaria started still listens after `stop`: {ports}"
    lines = stdout.strip().splitlines()
    assert lines, f"canaria run printed nothing (exit {run.returncode}): {stderr[-3000:]}"
    return run.returncode, json.loads(lines[-1]), stderr


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
def test_good_canary_is_promoted_from_the_access_log(kind: str, tmp_path: Path, processes: Processes) -> None:
    config, url = _write(tmp_path, kind, "none", processes)
    code, summary, stderr = _run(config, url)
    assert code == 0, (summary, stderr[-3000:])
    assert summary["outcome"] == "promoted", summary
    assert summary["requests"]["canary"] >= 10 and summary["requests"]["control"] >= 10, summary
    assert summary["errors"] == {"control": 0, "canary": 0}, summary
    assert [s["traffic"] for s in summary["stages"]] == [0, 5, 10, 50, 100], summary["stages"]


@pytest.mark.parametrize("kind", ["nginx", "haproxy"])
def test_erroring_canary_is_rolled_back_from_the_access_log(kind: str, tmp_path: Path,
                                                           processes: Processes) -> None:
    config, url = _write(tmp_path, kind, "errors", processes)
    code, summary, stderr = _run(config, url)
    assert code == 3, (summary, stderr[-3000:])
    assert summary["outcome"] == "rolled_back" and summary["final_traffic"] == 0, summary
    assert summary["errors"]["canary"] > 0 and summary["errors"]["control"] == 0, summary
