"""Router edge cases on the routing objects themselves: the user's rules are never rewritten."""

from __future__ import annotations

import copy

import pytest

from canaria.platforms import base
from canaria.platforms.kubernetes_routes import (
    TESTER_RULE,
    RouteShapeError,
    httproute_tester_match,
    httproute_weight,
    httproute_with_split,
    virtualservice_tester_match,
    virtualservice_weight,
    virtualservice_with_split,
)
from tests.emulators.kubernetes import httproute, virtualservice

ADMIN_RULE = {"name": "admin", "matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}],
              "backendRefs": [{"name": "admin-svc", "port": 80}]}


def _split(spec: dict, weight: float, match: base.TesterMatch | None = None) -> dict:
    return httproute_with_split(spec, service="ion-api", canary_service="ion-api-canary", weight=weight, match=match)


def test_httproute_weights_touch_only_the_rule_to_the_stable_service() -> None:
    spec = httproute(extra_rules=[copy.deepcopy(ADMIN_RULE)])["spec"]
    split = _split(spec, 5)
    assert split["rules"][0] == ADMIN_RULE
    refs = split["rules"][1]["backendRefs"]
    assert [(ref["name"], ref["weight"]) for ref in refs] == [("ion-api", 95), ("ion-api-canary", 5)]
    assert refs[1]["port"] == 80
    assert httproute_weight(split, service="ion-api", canary_service="ion-api-canary") == 5.0
    moved = _split(split, 50)
    assert [(ref["name"], ref["weight"]) for ref in moved["rules"][1]["backendRefs"]] == \
        [("ion-api", 50), ("ion-api-canary", 50)]
    back = _split(moved, 0)
    assert back["rules"][1]["backendRefs"] == [{"name": "ion-api", "port": 80, "weight": 1}]
    assert back["rules"][0] == ADMIN_RULE


def test_httproute_tester_rule_is_canarias_own_and_replaced_not_duplicated() -> None:
    spec = httproute(extra_rules=[copy.deepcopy(ADMIN_RULE)])["spec"]
    match = base.TesterMatch(header="X-Canary", value="always")
    with_testers = _split(_split(spec, 0, match), 0, match)
    testers = [rule for rule in with_testers["rules"] if rule.get("name") == TESTER_RULE]
    assert len(testers) == 1
    assert testers[0]["matches"][0]["headers"] == [{"type": "Exact", "name": "X-Canary", "value": "always"}]
    assert testers[0]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/"}
    assert testers[0]["backendRefs"] == [{"name": "ion-api-canary", "port": 80}]
    assert httproute_tester_match(with_testers) == match
    assert httproute_weight(with_testers, service="ion-api", canary_service="ion-api-canary") == 0.0
    cleared = _split(with_testers, 0)
    assert not [rule for rule in cleared["rules"] if rule.get("name") == TESTER_RULE]
    assert cleared["rules"][0] == ADMIN_RULE


def test_httproute_cookie_match_is_a_cookie_header_regex() -> None:
    match = base.TesterMatch(cookie="canary", value="yes")
    split = _split(httproute()["spec"], 0, match)
    header = split["rules"][-1]["matches"][0]["headers"][0]
    assert header["name"] == "Cookie" and header["type"] == "RegularExpression"
    assert httproute_tester_match(split) == match


def test_httproute_without_the_stable_service_is_refused() -> None:
    with pytest.raises(RouteShapeError, match="Service ion-api"):
        _split(httproute(service_name="other")["spec"], 5)


def test_virtualservice_split_and_tester_route_first() -> None:
    other = {"name": "legacy", "match": [{"uri": {"prefix": "/v1"}}], "route": [{"destination": {"host": "legacy"}}]}
    spec = virtualservice(extra_http=[copy.deepcopy(other)])["spec"]
    match = base.TesterMatch(header="X-Canary", value="always")
    split = virtualservice_with_split(spec, service="ion-api", canary_service="ion-api-canary", weight=10,
                                      match=match)
    assert split["http"][0]["name"] == TESTER_RULE
    assert split["http"][0]["match"] == [{"headers": {"x-canary": {"exact": "always"}}}]
    assert split["http"][1] == other
    route = split["http"][2]["route"]
    assert [(d["destination"]["host"], d["weight"]) for d in route] == [("ion-api", 90), ("ion-api-canary", 10)]
    assert virtualservice_weight(split, service="ion-api", canary_service="ion-api-canary") == 10.0
    assert virtualservice_tester_match(split) == base.TesterMatch(header="x-canary", value="always")
    back = virtualservice_with_split(split, service="ion-api", canary_service="ion-api-canary", weight=0, match=None)
    assert back == spec


def test_virtualservice_fqdn_hosts_keep_their_suffix() -> None:
    spec = virtualservice(host="ion-api.default.svc.cluster.local")["spec"]
    split = virtualservice_with_split(spec, service="ion-api", canary_service="ion-api-canary", weight=20, match=None)
    hosts = [d["destination"]["host"] for d in split["http"][0]["route"]]
    assert hosts == ["ion-api.default.svc.cluster.local", "ion-api-canary.default.svc.cluster.local"]
    with pytest.raises(RouteShapeError):
        virtualservice_with_split(virtualservice(host="other")["spec"], service="ion-api",
                                  canary_service="ion-api-canary", weight=5, match=None)
