"""schemathesis against the gateway's admin API (a real gateway process): no 5xx on generated input.

The admin API has no web framework to publish a schema, so its routes are described here; schemathesis
then generates valid and invalid calls (bodies of every JSON shape, wrong types, missing fields) and
sends them over loopback to `python -m canaria.gateway`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from .fakes import free_port  # noqa: E402

TOKEN = "schema-token"
_OBJECT = {"type": "object"}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_MATCH = {
    "nullable": True,
    "type": "object",
    "properties": {"header": {"type": "string"}, "cookie": {"type": "string"}, "value": {"type": "string"}},
}
ADMIN_SCHEMA: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "canaria gateway admin", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/admin/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/admin/state": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/admin/window": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/admin/window/cut": {"post": {"responses": {"200": {"description": "ok"}}}},
        "/admin/totals": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/admin/weights": {
            "put": {
                "requestBody": _body({"canary": {"type": "number", "minimum": 0, "maximum": 100}, "match": _MATCH},
                                     ["canary"]),
                "responses": {"200": {"description": "ok"}, "422": {"description": "invalid"}},
            }
        },
        "/admin/upstreams": {
            "put": {
                "requestBody": _body(
                    {"stable": {"type": "string"}, "canary": {"type": "string", "nullable": True}}, ["stable", "canary"]
                ),
                "responses": {"200": {"description": "ok"}, "422": {"description": "invalid"}},
            }
        },
    },
}


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[str]:
    admin_port = free_port()
    config = {
        "service": "schema",
        "state_dir": str(tmp_path / "state"),
        "platform": {
            "kind": "local",
            "stable": {"url": f"http://127.0.0.1:{free_port()}"},
            "canary": {"url": f"http://127.0.0.1:{free_port()}"},
        },
        "gateway": {"listen": f"127.0.0.1:{free_port()}", "admin_listen": f"127.0.0.1:{admin_port}",
                    "admin_token": TOKEN},
    }
    path = tmp_path / "canaria.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "canaria.gateway", "-c", str(path), "--log-level", "ERROR"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{admin_port}"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", admin_port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(f"gateway exited: {proc.stderr.read() if proc.stderr else ''}") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_generated_admin_calls_never_get_a_5xx(gateway_process: str) -> None:
    schema = schemathesis.openapi.from_dict(ADMIN_SCHEMA)
    seen: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=6, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
                response = case.call(base_url=gateway_process, timeout=10)
                case.validate_response(response, checks=[not_a_server_error])
                seen[response.status_code] = seen.get(response.status_code, 0) + 1

            check()
    assert seen.get(200, 0) > 5 and seen.get(422, 0) > 2, seen
    assert httpx.get(f"{gateway_process}/admin/health").status_code == 200  # still serving
