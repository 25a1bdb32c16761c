"""Pure edits of the user's routing objects: weights and the tester rule, on an HTTPRoute or a VirtualService.

Rules canaria keeps (the lesson of the Argo Rollouts Gateway API plugin's issue #158, where a plugin rewrote
the user's rules):
- only the rules that already send to the stable Service are touched, and in them only the backendRefs
  (HTTPRoute) or route destinations (VirtualService): the stable one gets `100 - w`, a canary one is added with
  `w`; at 0 % the canary entry is removed and the stable weight restored to what the user had;
- the tester route is a rule of canaria's own, found by its name `canaria-testers`, never one of the user's.

Each function returns a new spec; the caller writes it with the object's resourceVersion.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from canaria.platforms.base import TesterMatch

__all__ = [
    "TESTER_RULE",
    "RouteShapeError",
    "httproute_stable_rules",
    "httproute_with_split",
    "httproute_weight",
    "httproute_tester_match",
    "virtualservice_stable_routes",
    "virtualservice_with_split",
    "virtualservice_weight",
    "virtualservice_tester_match",
]

Obj = dict[str, Any]
TESTER_RULE = "canaria-testers"


class RouteShapeError(ValueError):
    """The routing object does not send to the stable Service (a config error for the caller)."""


def _cookie_regex(match: TesterMatch) -> str:
    return rf"(^|.*;\s*){re.escape(str(match.cookie))}={re.escape(match.value)}(;.*|$)"


# ------------------------------------------------------------------ Gateway API HTTPRoute
def _is_ref(ref: Obj, service: str) -> bool:
    return ref.get("name") == service and ref.get("kind", "Service") == "Service" and ref.get("group", "") == ""


def httproute_stable_rules(spec: Obj, service: str) -> list[int]:
    """Indices of the user's rules that send to the stable Service."""
    return [index for index, rule in enumerate(spec.get("rules") or [])
            if rule.get("name") != TESTER_RULE and any(_is_ref(ref, service) for ref in rule.get("backendRefs") or [])]


def httproute_with_split(spec: Obj, *, service: str, canary_service: str, weight: float,
                         match: TesterMatch | None, original_weight: int = 1) -> Obj:
    result = copy.deepcopy(spec)
    rules: list[Obj] = [rule for rule in result.get("rules") or [] if rule.get("name") != TESTER_RULE]
    stable_rules = httproute_stable_rules({"rules": rules}, service)
    if not stable_rules:
        raise RouteShapeError(f"no rule of the HTTPRoute sends to Service {service}")
    canary_share = int(round(weight))
    for index in stable_rules:
        rule = rules[index]
        refs = [ref for ref in rule.get("backendRefs") or [] if not _is_ref(ref, canary_service)]
        stable_ref = next(ref for ref in refs if _is_ref(ref, service))
        if canary_share <= 0:
            stable_ref["weight"] = original_weight
        else:
            stable_ref["weight"] = 100 - canary_share
            canary_ref = {key: value for key, value in stable_ref.items() if key not in {"filters"}}
            canary_ref.update(name=canary_service, weight=canary_share)
            refs.insert(refs.index(stable_ref) + 1, canary_ref)
        rule["backendRefs"] = refs
    if match is not None:
        rules.append(_httproute_tester_rule(rules[stable_rules[0]], service=service, canary_service=canary_service,
                                            match=match))
    result["rules"] = rules
    return result


def _httproute_tester_rule(stable_rule: Obj, *, service: str, canary_service: str, match: TesterMatch) -> Obj:
    if match.header:
        header = {"type": "Exact", "name": match.header, "value": match.value}
    else:  # HTTPRoute has no cookie match: a regular expression on the Cookie header (Extended support)
        header = {"type": "RegularExpression", "name": "Cookie", "value": _cookie_regex(match)}
    matches = copy.deepcopy(stable_rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}])
    for item in matches:
        item["headers"] = [*(item.get("headers") or []), header]
    stable_ref = next(ref for ref in stable_rule["backendRefs"] if _is_ref(ref, service))
    ref = {key: value for key, value in stable_ref.items() if key not in {"filters", "weight"}}
    ref["name"] = canary_service
    rule: Obj = {"name": TESTER_RULE, "matches": matches, "backendRefs": [ref]}
    if stable_rule.get("filters"):
        rule["filters"] = copy.deepcopy(stable_rule["filters"])
    return rule


def httproute_weight(spec: Obj, *, service: str, canary_service: str) -> float:
    """The canary share the live spec asks for (from the first stable rule)."""
    rules = spec.get("rules") or []
    stable_rules = httproute_stable_rules(spec, service)
    if not stable_rules:
        return 0.0
    refs = rules[stable_rules[0]].get("backendRefs") or []
    stable = sum(int(ref.get("weight", 1)) for ref in refs if _is_ref(ref, service))
    canary = sum(int(ref.get("weight", 1)) for ref in refs if _is_ref(ref, canary_service))
    return 100.0 * canary / (stable + canary) if stable + canary else 0.0


def httproute_tester_match(spec: Obj) -> TesterMatch | None:
    rule = next((rule for rule in spec.get("rules") or [] if rule.get("name") == TESTER_RULE), None)
    if rule is None:
        return None
    headers = ((rule.get("matches") or [{}])[0].get("headers") or [])
    if not headers:
        return None
    header = headers[-1]
    if header.get("name") == "Cookie" and header.get("type") == "RegularExpression":
        found = re.search(r"\{?\(\^\|\.\*;\\s\*\)(.+?)=(.+?)\(;\.\*\|\$\)", str(header.get("value")))
        if found:
            return TesterMatch(cookie=_unescape(found.group(1)), value=_unescape(found.group(2)))
    return TesterMatch(header=header.get("name"), value=str(header.get("value")))


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# ------------------------------------------------------------------ Istio VirtualService
def _same_host(host: str, service: str) -> bool:
    return host == service or host.startswith(f"{service}.")


def virtualservice_stable_routes(spec: Obj, service: str) -> list[int]:
    return [index for index, http in enumerate(spec.get("http") or [])
            if http.get("name") != TESTER_RULE
            and any(_same_host(str((dest.get("destination") or {}).get("host", "")), service)
                    for dest in http.get("route") or [])]


def _canary_host(host: str, service: str, canary_service: str) -> str:
    return canary_service + host[len(service):]


def virtualservice_with_split(spec: Obj, *, service: str, canary_service: str, weight: float,
                              match: TesterMatch | None) -> Obj:
    result = copy.deepcopy(spec)
    routes: list[Obj] = [http for http in result.get("http") or [] if http.get("name") != TESTER_RULE]
    stable_routes = virtualservice_stable_routes({"http": routes}, service)
    if not stable_routes:
        raise RouteShapeError(f"no http route of the VirtualService sends to host {service}")
    share = int(round(weight))
    for index in stable_routes:
        http = routes[index]
        dests = [dest for dest in http.get("route") or []
                 if not _same_host(str(dest["destination"].get("host", "")), canary_service)]
        stable = next(dest for dest in dests if _same_host(str(dest["destination"].get("host", "")), service))
        if share <= 0:
            stable.pop("weight", None)
        else:
            stable["weight"] = 100 - share
            canary = copy.deepcopy(stable)
            canary["destination"]["host"] = _canary_host(stable["destination"]["host"], service, canary_service)
            canary["destination"].pop("subset", None)
            canary["weight"] = share
            dests.insert(dests.index(stable) + 1, canary)
        http["route"] = dests
    if match is not None:
        first = routes[stable_routes[0]]
        condition: Obj = ({match.header.lower(): {"exact": match.value}} if match.header
                          else {"cookie": {"regex": _cookie_regex(match)}})
        matches = copy.deepcopy(first.get("match") or [{}])
        for item in matches:
            item["headers"] = {**(item.get("headers") or {}), **condition}
        stable = next(dest for dest in first["route"] if _same_host(str(dest["destination"].get("host", "")), service))
        destination = copy.deepcopy(stable["destination"])
        destination["host"] = _canary_host(destination["host"], service, canary_service)
        destination.pop("subset", None)
        routes.insert(0, {"name": TESTER_RULE, "match": matches, "route": [{"destination": destination}]})
    result["http"] = routes
    return result


def virtualservice_weight(spec: Obj, *, service: str, canary_service: str) -> float:
    routes = spec.get("http") or []
    stable_routes = virtualservice_stable_routes(spec, service)
    if not stable_routes:
        return 0.0
    dests = routes[stable_routes[0]].get("route") or []
    canary = [d for d in dests if _same_host(str(d["destination"].get("host", "")), canary_service)]
    if not canary:
        return 0.0
    total = sum(int(d.get("weight", 0)) for d in dests) or 100
    return 100.0 * sum(int(d.get("weight", 0)) for d in canary) / total


def virtualservice_tester_match(spec: Obj) -> TesterMatch | None:
    http = next((item for item in spec.get("http") or [] if item.get("name") == TESTER_RULE), None)
    if http is None:
        return None
    headers = ((http.get("match") or [{}])[0].get("headers") or {})
    for name, condition in headers.items():
        if name == "cookie" and "regex" in condition:
            found = re.search(r"\(\^\|\.\*;\\s\*\)(.+?)=(.+?)\(;\.\*\|\$\)", str(condition["regex"]))
            if found:
                return TesterMatch(cookie=_unescape(found.group(1)), value=_unescape(found.group(2)))
        if "exact" in condition:
            return TesterMatch(header=name, value=str(condition["exact"]))
    return None
