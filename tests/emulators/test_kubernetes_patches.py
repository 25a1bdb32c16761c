"""The emulator's patch and selector semantics, checked against what the API server documents."""

from __future__ import annotations

import pytest

from tests.emulators.kubernetes.patches import PatchError, json_patch, merge_patch, strategic_merge_patch
from tests.emulators.kubernetes.selectors import SelectorError, parse_field_selector, parse_label_selector

POD_SPEC = {"spec": {"template": {"spec": {"containers": [
    {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     "ports": [{"containerPort": 8080, "protocol": "TCP"}]},
    {"name": "sidecar", "image": "s:1"}]}}}}


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    result = merge_patch(POD_SPEC, {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}},
                                    "metadata": {"labels": {"x": "y"}}})
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "a:2"}]
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}) == {"a": {"c": 2}}


def test_strategic_merge_merges_containers_by_name_and_env_by_name() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "a:2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}}}}
    containers = strategic_merge_patch(POD_SPEC, patch)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "sidecar"]
    assert containers[0]["image"] == "a:2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert containers[0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def test_strategic_merge_directives() -> None:
    deleted = strategic_merge_patch(POD_SPEC, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c["name"] for c in deleted["spec"]["template"]["spec"]["containers"]] == ["app"]
    replaced = strategic_merge_patch(POD_SPEC, {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "o:1"}, {"$patch": "replace"}]}}}})
    assert replaced["spec"]["template"]["spec"]["containers"] == [{"name": "only", "image": "o:1"}]
    assert strategic_merge_patch({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": ["b", "a"]}}) == \
        {"metadata": {"finalizers": ["a", "b"]}}
    with pytest.raises(PatchError):
        strategic_merge_patch(POD_SPEC, {"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}})


def test_service_ports_merge_by_port() -> None:
    service = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}}
    result = strategic_merge_patch(service, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}})
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443, "targetPort": 8443}]


def test_json_patch_and_its_failures() -> None:
    result = json_patch({"spec": {"replicas": 1}}, [{"op": "replace", "path": "/spec/replicas", "value": 3},
                                                    {"op": "test", "path": "/spec/replicas", "value": 3}])
    assert result == {"spec": {"replicas": 3}}
    with pytest.raises(PatchError):
        json_patch({"spec": {"replicas": 1}}, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    with pytest.raises(PatchError):
        json_patch({"spec": {}}, {"op": "add"})


def test_label_selectors() -> None:
    select = parse_label_selector("app=ion-api,track!=canary,tier in (web, api),!legacy,version")
    assert select({"app": "ion-api", "tier": "web", "version": "1"})
    assert not select({"app": "ion-api", "tier": "web", "version": "1", "legacy": "yes"})
    assert not select({"app": "ion-api", "tier": "db", "version": "1"})
    assert not select({"app": "ion-api", "tier": "web", "track": "canary", "version": "1"})
    assert parse_label_selector("tier notin (db)")({"tier": "web"})
    with pytest.raises(SelectorError):
        parse_label_selector("app===x")


def test_field_selectors() -> None:
    select = parse_field_selector("involvedObject.name=pod-1,type!=Normal")
    assert select({"involvedObject": {"name": "pod-1"}, "type": "Warning"})
    assert not select({"involvedObject": {"name": "pod-1"}, "type": "Normal"})
    assert not select({"involvedObject": {"name": "pod-2"}, "type": "Warning"})
