"""Running canaria as a user does, on a config with real commands and free loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from canaria.platforms.processes import free_port


def write_config(tmp_path: Path, *, fault: str = "none", holds: str = "60s", interval: str = "1s",
                 extra: dict[str, Any] | None = None) -> Path:
    ports = [free_port() for _ in range(4)]
    service = f"{sys.executable} -m canaria.demo.service --host 127.0.0.1"
    data: dict[str, Any] = {
        "service": "ion-api",
        "state_dir": str(tmp_path / "state"),
        "platform": {
            "stable": {"command": f"{service} --port {ports[0]} --version v1", "port": ports[0],
                       "memory_limit": "512MB"},
            "canary": {"command": f"{service} --port {ports[1]} --version v2 --fault {fault}", "port": ports[1],
                       "memory_limit": "512MB"},
        },
        "gateway": {"listen": f"127.0.0.1:{ports[2]}", "admin_listen": f"127.0.0.1:{ports[3]}",
                    "admin_token": "test-token"},
        "plan": {"stages": [{"traffic": 5, "hold": holds}, {"traffic": 10, "hold": holds},
                            {"traffic": 50, "hold": holds, "approval": "required"}, {"traffic": 100}]},
        "analysis": {"interval": interval, "min_requests": 5},
        "report": {"every": "5s"},
    }
    data.update(extra or {})
    path = tmp_path / "canaria.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def canaria(config: Path, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "canaria.cli", *args, "-c", str(config)], capture_output=True,
                            text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"canaria {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def canaria_json(config: Path, *args: str) -> dict[str, Any]:
    result = canaria(config, *args, "--json", check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def gateway_urls(config: Path) -> tuple[str, str]:
    data = yaml.safe_load(config.read_text())
    return f"http://{data['gateway']['listen']}", f"http://{data['gateway']['admin_listen']}"
