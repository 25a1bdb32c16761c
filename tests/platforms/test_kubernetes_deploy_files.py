"""deploy/kubernetes/ is valid Kubernetes and grants exactly what canaria asks for before it writes."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import yaml

from canaria.platforms.kubernetes import ROUTER_RESOURCES, needed_permissions

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def _documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]


def test_every_manifest_validates_against_the_official_schema() -> None:
    kinds = []
    for name in ("rbac.yaml", "job.yaml"):
        for document in _documents(name):
            kubernetes_validate.validate(document, "1.32.0", strict=True)
            kinds.append(document["kind"])
    assert {"ServiceAccount", "Role", "RoleBinding", "Job", "CronJob", "PersistentVolumeClaim"} <= set(kinds)


def _allows(rules: list[dict], verb: str, resource: str, group: str, name: str | None) -> bool:
    """RBAC's own matching: a rule with resourceNames only matches requests for those names."""
    return any(verb in rule["verbs"] and resource in rule["resources"] and group in rule["apiGroups"]
               and (not rule.get("resourceNames") or name in rule["resourceNames"]) for rule in rules)


def test_the_role_grants_every_permission_canaria_checks() -> None:
    role = next(doc for doc in _documents("rbac.yaml") if doc["kind"] == "Role")
    for router in ("gateway-api", "istio", "replicas"):
        needed = needed_permissions(stable="ion-api", canary="ion-api-canary", service="ion-api",
                                    canary_service="ion-api-canary", router=router, route_object="ion-api")
        missing = [item for item in needed if not _allows(role["rules"], *item)]
        assert not missing, f"rbac.yaml does not grant {missing}"
    assert set(ROUTER_RESOURCES) == {"gateway-api", "istio"}
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role["rules"])


def test_the_init_template_is_a_valid_config_and_names_its_exporters() -> None:
    from canaria.config import parse_config

    text = (Path(__file__).resolve().parents[2] / "src" / "canaria" / "templates" / "init-kubernetes.yaml").read_text()
    config = parse_config(text)
    assert config.platform.kind == "kubernetes"
    assert config.metrics.prometheus is not None
    queries = config.metrics.prometheus.queries
    assert "container_memory_working_set_bytes" in queries.memory and "kube_pod_container_resource_limits" in queries.memory
    assert "container_cpu_usage_seconds_total" in queries.cpu
    for exporter in ("cAdvisor", "kube-state-metrics", "istio_requests_total", "Envoy Gateway", "NGINX Gateway Fabric"):
        assert exporter in text, f"the template should say which queries assume {exporter}"
