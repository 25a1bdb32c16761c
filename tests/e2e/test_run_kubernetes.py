"""`canaria run --json` on Kubernetes, as a user runs it: the CLI in its own process, the real lightkube client,
the API emulator with its simulated cluster, and the PromQL of `canaria init --platform kubernetes` answered by a
small fake Prometheus over HTTP (good or bad numbers for the canary's pods). A compressed plan: seconds, not hours.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.emulators.kubernetes import KubernetesEmulator
from tests.platforms.kubernetes_setup import kubernetes_platform_config, seed_user_cluster
from tests.prometheus.fake_api import Answer, FakePrometheus, vector

TEMPLATE = Path(__file__).resolve().parents[2] / "src" / "canaria" / "templates" / "init-kubernetes.yaml"


def answers(canary_error_rate: float) -> Any:
    """Numbers for the init template's queries, by measurement and by variant (the pod regex tells them apart)."""

    def answer(query: str) -> Answer:
        canary = "ion-api-canary" in query
        requests = 600.0
        if "code_class" in query:
            errors = requests * (canary_error_rate if canary else 0.0)
            return vector(({"code_class": "2xx"}, requests - errors), ({"code_class": "5xx"}, errors))
        if "_bucket" in query:
            return vector(({"le": "0.1"}, requests * 0.9), ({"le": "0.25"}, requests), ({"le": "+Inf"}, requests))
        if "container_memory_working_set_bytes" in query:
            return vector(({}, 40.0))
        if "container_cpu_usage_seconds_total" in query:
            return vector(({}, 20.0))
        if 'status=~"5.."' in query:
            return vector(({}, requests * (canary_error_rate if canary else 0.0)))
        return vector(({}, requests))

    return answer


class HttpPrometheus:
    """FakePrometheus's handler served over HTTP on a free loopback port (the CLI runs in another process)."""

    def __init__(self, fake: FakePrometheus) -> None:
        self.fake = fake
        self.socket = socket.socket()
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

        async def handle(request: Request) -> Response:
            answer = fake.handle(httpx.Request(request.method, str(request.url)))
            return Response(answer.content, status_code=answer.status_code, media_type="application/json")

        app = Starlette(routes=[Route("/{path:path}", handle)])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> HttpPrometheus:
        self.socket.listen(16)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def write_config(path: Path, emulator: KubernetesEmulator, prometheus_url: str, *, image: str) -> Path:
    config = yaml.safe_load(TEMPLATE.read_text())
    config["state_dir"] = str(path.parent / "state")
    config["lang"] = "en"
    config["platform"] = kubernetes_platform_config(emulator, image=image) | {"verify_timeout": "10s"}
    config["plan"] = {"stages": [{"match": {"header": "X-Canary", "value": "always"}, "hold": "1s"},
                                 {"traffic": 10, "hold": "1s"}, {"traffic": 50, "hold": "1s"}, {"traffic": 100}]}
    config["analysis"] = {"interval": "1s", "min_requests": 10}
    config["report"] = {"every": "1h"}
    config["metrics"]["prometheus"]["url"] = prometheus_url
    config["metrics"]["prometheus"]["retries"] = 0
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run(config: Path, *command: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    result = subprocess.run([sys.executable, "-m", "canaria", *(command or ("run",)), "-c", str(config), "--json"],
                            capture_output=True, text=True, timeout=120, env=env, check=False)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "{}"
    try:
        summary = json.loads(last)
    except json.JSONDecodeError:
        summary = {}
    return result.returncode, summary, result.stderr[-3000:] + result.stdout[-2000:]


@pytest.fixture
def cluster() -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator() as emulator:
        seed_user_cluster(emulator)
        yield emulator


def _stable_image(emulator: KubernetesEmulator) -> str:
    return str(emulator.get("Deployment", "ion-api")["spec"]["template"]["spec"]["containers"][0]["image"])


def test_a_good_canary_is_promoted_into_the_stable_history_despite_conflicts(cluster: KubernetesEmulator,
                                                                             tmp_path: Path) -> None:
    cluster.faults.conflict_every = 3
    with HttpPrometheus(FakePrometheus(answers(0.0))) as prometheus:
        config = write_config(tmp_path / "canaria.yaml", cluster, prometheus.url, image="registry.example/ion-api:2.0")
        code, summary, output = run(config)
    assert code == 0, output
    assert summary["outcome"] == "promoted"
    assert _stable_image(cluster) == "registry.example/ion-api:2.0"
    assert cluster.find("Deployment", "ion-api-canary") is None
    history = cluster.get("Deployment", "ion-api")["metadata"]["annotations"]
    assert history["deployment.kubernetes.io/revision"] == "2"
    assert cluster.faults.conflicts_injected >= 2 and any(r.status == 409 for r in cluster.api.requests)
    assert all(rule.get("name") != "canaria-testers" for rule in cluster.get("HTTPRoute", "ion-api")["spec"]["rules"])

    code, listed, output = run(config, "history")
    assert code == 0, output
    assert [(r["name"], r["image"]) for r in listed["revisions"]] == [("2", "registry.example/ion-api:2.0"),
                                                                    ("1", "registry.example/ion-api:1.0")]
    assert listed["rollouts"][0]["outcome"] == "promoted"


def test_a_bad_canary_is_rolled_back_and_the_stable_deployment_untouched(cluster: KubernetesEmulator,
                                                                         tmp_path: Path) -> None:
    before = cluster.get("Deployment", "ion-api")
    with HttpPrometheus(FakePrometheus(answers(0.10))) as prometheus:
        config = write_config(tmp_path / "canaria.yaml", cluster, prometheus.url, image="registry.example/ion-api:2.0")
        code, summary, output = run(config)
    assert code == 3, output
    assert summary["outcome"] == "rolled_back"
    after = cluster.get("Deployment", "ion-api")
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]
    assert cluster.find("Deployment", "ion-api-canary") is None
    refs = [ref["name"] for rule in cluster.get("HTTPRoute", "ion-api")["spec"]["rules"]
            for ref in rule["backendRefs"]]
    assert "ion-api-canary" not in refs


def test_a_crash_looping_canary_is_rejected_with_its_reason(cluster: KubernetesEmulator, tmp_path: Path) -> None:
    with HttpPrometheus(FakePrometheus(answers(0.0))) as prometheus:
        config = write_config(tmp_path / "canaria.yaml", cluster, prometheus.url,
                              image="registry.example/ion-api:2.0-crashloop")
        code, summary, output = run(config)
    assert code == 3, output
    assert summary["outcome"] == "rolled_back"
    assert "CrashLoopBackOff" in (summary.get("rollback_reason") or ""), summary
    assert _stable_image(cluster) == "registry.example/ion-api:1.0"
    assert cluster.find("Deployment", "ion-api-canary") is None


def test_missing_permissions_are_one_line_exit_2_and_nothing_changed(cluster: KubernetesEmulator,
                                                                       tmp_path: Path) -> None:
    cluster.faults.forbid("update", "httproutes")
    writes = cluster.writes()
    config = write_config(tmp_path / "canaria.yaml", cluster, "http://127.0.0.1:9", image="registry.example/ion-api:2.0")
    code, _, output = run(config)
    assert code == 2, output
    assert "may not update httproutes ion-api" in output and "rbac.yaml" in output
    assert cluster.writes() == writes and cluster.find("Deployment", "ion-api-canary") is None
