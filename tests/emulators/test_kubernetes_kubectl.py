"""kubectl, an outside client, keeps the emulator honest: what it prints and does is what it does on a cluster."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import require_binary
from tests.emulators.kubernetes import KubernetesEmulator, deployment, gateway, httproute, service


def kubectl(emulator: KubernetesEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("kubectl")
    return subprocess.run([binary, "--kubeconfig", str(emulator.kubeconfig), "--request-timeout=10s", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def ok(emulator: KubernetesEmulator, *args: str) -> str:
    result = kubectl(emulator, *args)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture
def cluster(emulator: KubernetesEmulator) -> KubernetesEmulator:
    emulator.seed(deployment(), service(), gateway(), httproute())
    emulator.wait_for(lambda: (emulator.get("Deployment", "ion-api").get("status") or {}).get("readyReplicas") == 2,
                      what="stable Deployment ready")
    return emulator


def _revisions(emulator: KubernetesEmulator) -> list[str]:
    lines = ok(emulator, "rollout", "history", "deployment/ion-api").splitlines()
    return [line.split()[0] for line in lines[2:] if line.strip()]


def test_get_json_table_and_custom_resources(cluster: KubernetesEmulator) -> None:
    listed = json.loads(ok(cluster, "get", "deploy", "-o", "json"))
    assert listed["items"][0]["metadata"]["name"] == "ion-api"
    assert listed["items"][0]["status"]["readyReplicas"] == 2
    table = ok(cluster, "get", "deployments")
    assert "ion-api" in table and "2/2" in table
    route = json.loads(ok(cluster, "get", "httproute", "ion-api", "-o", "json"))
    assert route["status"]["parents"][0]["conditions"][0]["type"] == "Accepted"
    assert "ion-api" in ok(cluster, "get", "vs,dr,httproutes,gateways", "-A")
    pods = ok(cluster, "get", "pods", "-l", "app=ion-api")
    assert pods.count("Running") == 2
    missing = kubectl(cluster, "get", "deploy", "nope")
    assert missing.returncode == 1 and 'deployments.apps "nope" not found' in missing.stderr


def test_patch_rollout_history_and_undo(cluster: KubernetesEmulator) -> None:
    image = '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/ion-api:1.1"}]}}}}'
    ok(cluster, "patch", "deployment", "ion-api", "-p", image)
    ok(cluster, "patch", "deployment", "ion-api", "--type=merge", "-p", '{"metadata":{"labels":{"team":"ion"}}}')
    ok(cluster, "patch", "deployment", "ion-api", "--type=json",
       "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]')
    live = cluster.get("Deployment", "ion-api")
    assert live["spec"]["replicas"] == 3 and live["metadata"]["labels"]["team"] == "ion"
    assert live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080
    cluster.wait_for(lambda: _revisions(cluster) == ["1", "2"], what="two revisions")
    assert "registry.example/ion-api:1.0" in ok(cluster, "rollout", "history", "deployment/ion-api", "--revision=1")
    ok(cluster, "rollout", "status", "deployment/ion-api", "--timeout=10s")
    assert "rolled back" in ok(cluster, "rollout", "undo", "deployment/ion-api", "--to-revision=1")
    image_now = cluster.get("Deployment", "ion-api")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image_now == "registry.example/ion-api:1.0"
    cluster.wait_for(lambda: _revisions(cluster) == ["2", "3"], what="revision 1 reused as 3")
    ok(cluster, "rollout", "status", "deployment/ion-api", "--timeout=10s")


def test_restart_and_scale(cluster: KubernetesEmulator) -> None:
    ok(cluster, "rollout", "restart", "deployment/ion-api")
    template = cluster.get("Deployment", "ion-api")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    cluster.wait_for(lambda: _revisions(cluster) == ["1", "2"], what="a restart is a new revision")
    ok(cluster, "scale", "deployment/ion-api", "--replicas=0")
    cluster.wait_for(lambda: not cluster.list("Pod"), what="no pods after scale to zero")


def test_forbidden_is_an_error_kubectl_understands(cluster: KubernetesEmulator) -> None:
    cluster.faults.forbid("patch", "deployments")
    result = kubectl(cluster, "scale", "deployment/ion-api", "--replicas=1")
    assert result.returncode == 1 and "forbidden" in result.stderr
    assert cluster.get("Deployment", "ion-api")["spec"]["replicas"] == 2
