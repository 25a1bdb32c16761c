"""The emulator keeps the API server's semantics that clients rely on (raw HTTP, as any client sends it)."""

from __future__ import annotations

import json
import time

import httpx

from tests.emulators.kubernetes import KubernetesEmulator, deployment, gateway, httproute, service

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
ROUTES = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes"
MERGE = {"content-type": "application/merge-patch+json"}
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}


def test_discovery_lists_what_canaria_uses(api: httpx.Client) -> None:
    assert api.get("/api").json()["versions"] == ["v1"]
    groups = {group["name"]: group for group in api.get("/apis").json()["groups"]}
    assert {"apps", "gateway.networking.k8s.io", "networking.istio.io", "authorization.k8s.io"} <= set(groups)
    assert groups["networking.istio.io"]["preferredVersion"]["version"] == "v1"
    apps = {item["name"]: item for item in api.get("/apis/apps/v1").json()["resources"]}
    assert {"deployments", "deployments/status", "deployments/scale", "replicasets"} <= set(apps)
    assert apps["deployments/scale"]["kind"] == "Scale"
    core = {item["name"] for item in api.get("/api/v1").json()["resources"]}
    assert {"pods", "services", "events", "namespaces"} <= core
    assert api.get("/apis/networking.istio.io/v1beta1").status_code == 200
    assert api.get("/apis/batch/v1/namespaces/default/jobs").status_code == 404


def test_typed_lists_carry_kind_and_resource_version(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment(), service())
    body = api.get(DEPLOYMENTS).json()
    assert body["kind"] == "DeploymentList" and body["apiVersion"] == "apps/v1"
    assert int(body["metadata"]["resourceVersion"]) >= int(body["items"][0]["metadata"]["resourceVersion"])
    assert api.get("/api/v1/services").json()["kind"] == "ServiceList"


def test_create_defaults_and_conflicts(quiet_api: httpx.Client) -> None:
    api = quiet_api
    created = api.post(DEPLOYMENTS, json=deployment("web")).json()
    assert created["metadata"]["generation"] == 1 and created["metadata"]["uid"]
    assert created["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    assert created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert api.post(DEPLOYMENTS, json=deployment("web")).status_code == 409
    stale = dict(created)
    fresh = api.patch(f"{DEPLOYMENTS}/web", headers=MERGE, json={"metadata": {"labels": {"team": "a"}}}).json()
    assert fresh["metadata"]["generation"] == 1  # metadata only: no new generation
    conflict = api.put(f"{DEPLOYMENTS}/web", json=stale)
    assert conflict.status_code == 409 and conflict.json()["reason"] == "Conflict"
    fresh["spec"]["replicas"] = 5
    updated = api.put(f"{DEPLOYMENTS}/web", json=fresh).json()
    assert updated["metadata"]["generation"] == 2 and updated["spec"]["replicas"] == 5
    assert api.put(f"{DEPLOYMENTS}/web", json=updated).json()["metadata"]["resourceVersion"] == \
        updated["metadata"]["resourceVersion"]  # a no-op update is not a write
    precondition = {"metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]}, "spec": {"replicas": 1}}
    assert api.patch(f"{DEPLOYMENTS}/web", headers=MERGE, json=precondition).status_code == 409


def test_status_subresource_is_separate(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(gateway(), httproute(), service())
    emulator.wait_for(lambda: emulator.get("HTTPRoute", "ion-api").get("status"), what="route status")
    for _ in range(5):  # read, modify, write: the route controller may write status in between (409), as on a cluster
        route = api.get(f"{ROUTES}/ion-api").json()
        route["status"] = {"parents": []}
        route["spec"]["hostnames"] = ["other.example.com"]
        response = api.put(f"{ROUTES}/ion-api", json=route)
        if response.status_code != 409:
            break
    assert response.status_code == 200, response.text
    written = response.json()
    assert written["status"]["parents"], "a main-resource update must not change status"
    assert written["metadata"]["generation"] == 2
    status_only = api.patch(f"{ROUTES}/ion-api/status", headers=MERGE,
                            json={"spec": {"hostnames": ["x.example.com"]}, "status": {"parents": []}}).json()
    assert status_only["spec"]["hostnames"] == ["other.example.com"]
    assert status_only["metadata"]["generation"] == 2


def test_patch_types(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment(), gateway(), httproute())
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/ion-api:2"}]}}}}
    merged = api.patch(f"{DEPLOYMENTS}/ion-api", headers=STRATEGIC, json=patch).json()
    container = merged["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(":2") and container["ports"][0]["containerPort"] == 8080
    operations = [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    assert api.patch(f"{DEPLOYMENTS}/ion-api", headers={"content-type": "application/json-patch+json"},
                     json=operations).json()["spec"]["replicas"] == 4
    refused = api.patch(f"{ROUTES}/ion-api", headers=STRATEGIC, json={"metadata": {"labels": {"a": "b"}}})
    assert refused.status_code == 415
    assert api.patch(f"{ROUTES}/ion-api", headers=MERGE, json={"metadata": {"labels": {"a": "b"}}}).status_code == 200


def test_schema_validation_rejects_what_a_server_would(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    bad = deployment("bad")
    bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    answer = api.post(DEPLOYMENTS, json=bad)
    assert answer.status_code == 422 and "imagee" in answer.json()["message"]
    route = httproute("bad-route")
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = "ten"
    assert api.post(ROUTES, json=route).status_code == 422
    route = httproute("defaults")
    stored = api.post(ROUTES, json=route).json()
    assert stored["spec"]["rules"][0]["backendRefs"][0] == {"name": "ion-api", "port": 80, "group": "", "kind": "Service",
                                                            "weight": 1}


def test_forbidden_and_access_review(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment())
    emulator.faults.forbid("patch", "deployments")
    denied = api.patch(f"{DEPLOYMENTS}/ion-api", headers=MERGE, json={"spec": {"replicas": 3}})
    assert denied.status_code == 403 and "cannot patch resource" in denied.json()["message"]
    assert api.get(f"{DEPLOYMENTS}/ion-api").status_code == 200
    attributes = {"verb": "patch", "group": "apps", "resource": "deployments", "namespace": "default"}
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": attributes}}
    answer = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review).json()
    assert answer["status"]["allowed"] is False
    attributes["verb"] = "get"
    answer = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review).json()
    assert answer["status"]["allowed"] is True


def test_every_third_write_meets_a_concurrent_writer() -> None:
    with KubernetesEmulator(simulate=False) as emulator, httpx.Client(base_url=emulator.url) as api:
        _third_write_conflicts(emulator, api)


def _third_write_conflicts(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment())
    emulator.faults.conflict_every = 3
    results = []
    for replicas in (2, 3, 4, 5, 6, 7):
        current = api.get(f"{DEPLOYMENTS}/ion-api").json()
        current["spec"]["replicas"] = replicas
        results.append(api.put(f"{DEPLOYMENTS}/ion-api", json=current).status_code)
    assert results == [200, 200, 409, 200, 200, 409]
    assert api.patch(f"{DEPLOYMENTS}/ion-api", headers=MERGE, json={"spec": {"replicas": 1}}).status_code == 200
    assert emulator.faults.conflicts_injected == 2


def test_scale_subresource(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment())
    scale = api.get(f"{DEPLOYMENTS}/ion-api/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=ion-api"
    api.patch(f"{DEPLOYMENTS}/ion-api/scale", headers=MERGE, json={"spec": {"replicas": 0}})
    assert emulator.get("Deployment", "ion-api")["spec"]["replicas"] == 0
    emulator.wait_for(lambda: not emulator.list("Pod"), what="pods gone after scaling to zero")


def test_watch_replays_after_a_resource_version(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment())
    since = api.get(DEPLOYMENTS).json()["metadata"]["resourceVersion"]
    api.patch(f"{DEPLOYMENTS}/ion-api", headers=MERGE, json={"metadata": {"labels": {"seen": "yes"}}})
    events = []
    with api.stream("GET", DEPLOYMENTS, params={"watch": "1", "resourceVersion": since, "timeoutSeconds": "1"}) as stream:
        for line in stream.iter_lines():
            events.append(json.loads(line))
            if events[-1]["object"]["metadata"].get("labels", {}).get("seen") == "yes":
                break
    assert events and all(event["type"] == "MODIFIED" for event in events)
    assert all(int(event["object"]["metadata"]["resourceVersion"]) > int(since) for event in events)


def test_delete_collects_dependents(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(deployment())
    emulator.wait_for(lambda: len(emulator.list("Pod")) == 2, what="two pods")
    assert api.delete(f"{DEPLOYMENTS}/ion-api").status_code == 200
    assert not emulator.list("ReplicaSet") and not emulator.list("Pod")
    assert api.get(f"{DEPLOYMENTS}/ion-api").status_code == 404


def test_simulated_cluster_reports_pod_failures(emulator: KubernetesEmulator) -> None:
    emulator.seed(deployment("crash", "registry.example/app:2-crashloop", replicas=1),
                  deployment("pull", "registry.example/app:2-imagepull", replicas=1),
                  deployment("pending", "registry.example/app:2-unschedulable", replicas=1))
    reasons = {"crash": "BackOff", "pull": "Failed", "pending": "FailedScheduling"}

    def events_recorded() -> bool:
        events = emulator.list("Event")
        return all(any(event["involvedObject"]["name"].startswith(name) and event["reason"] == reason
                       for event in events) for name, reason in reasons.items())

    emulator.wait_for(events_recorded, what="warning events")
    pods = {pod["metadata"]["name"].split("-")[0]: pod for pod in emulator.list("Pod")}
    assert pods["crash"]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert pods["pending"]["status"]["conditions"][0]["reason"] == "Unschedulable"
    emulator.wait_for(lambda: emulator.list("Pod", label_selector="app=pull")[0]["status"]["containerStatuses"][0]
                      ["state"]["waiting"]["reason"] == "ImagePullBackOff", what="ImagePullBackOff")
    emulator.wait_for(lambda: "unavailableReplicas" in (emulator.get("Deployment", "crash").get("status") or {}),
                      what="the crash-looping Deployment's status")
    assert emulator.get("Deployment", "crash")["status"].get("readyReplicas", 0) == 0


def test_routes_are_accepted_for_their_generation(emulator: KubernetesEmulator, api: httpx.Client) -> None:
    emulator.seed(gateway(), service(), httproute())
    assert emulator.cluster is not None
    emulator.cluster.route_accept_delay = 0.3

    def accepted_generation() -> int:
        route = emulator.get("HTTPRoute", "ion-api")
        conditions = ((route.get("status") or {}).get("parents") or [{}])[0].get("conditions") or []
        return next((c["observedGeneration"] for c in conditions if c["type"] == "Accepted"), 0)

    emulator.wait_for(lambda: accepted_generation() == 1, what="generation 1 accepted")
    rules = httproute(service_name="missing")["spec"]["rules"]
    api.patch(f"{ROUTES}/ion-api", headers=MERGE, json={"spec": {"rules": rules}})
    time.sleep(0.1)
    assert accepted_generation() == 1, "the slow gateway controller has not caught up yet"
    emulator.wait_for(lambda: accepted_generation() == 2, what="generation 2 accepted")
    conditions = emulator.get("HTTPRoute", "ion-api")["status"]["parents"][0]["conditions"]
    assert next(c for c in conditions if c["type"] == "ResolvedRefs")["reason"] == "BackendNotFound"
