"""What a gateway would serve for an HTTPRoute: the rule a request matches and the share of each backend.

Independent of canaria's own route code on purpose (the contract suite observes the data plane with it): Gateway
API precedence among matching rules is the one with the most header matches (then the longest path prefix), and a
rule's backends share its requests in proportion to their `weight` (default 1).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["backend_shares"]

Obj = dict[str, Any]


def _matches(match: Obj, path: str, headers: dict[str, str]) -> bool:
    rule_path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    value = str(rule_path.get("value", "/"))
    if rule_path.get("type", "PathPrefix") == "Exact" and path != value:
        return False
    if rule_path.get("type", "PathPrefix") == "PathPrefix" and not (
            path == value or path.startswith(value.rstrip("/") + "/") or value == "/"):
        return False
    lowered = {name.lower(): text for name, text in headers.items()}
    for header in match.get("headers") or []:
        got = lowered.get(str(header["name"]).lower())
        if got is None:
            return False
        if header.get("type", "Exact") == "Exact" and got != header["value"]:
            return False
        if header.get("type") == "RegularExpression" and not re.search(str(header["value"]), got):
            return False
    return True


def backend_shares(spec: Obj, *, path: str = "/", headers: dict[str, str] | None = None) -> dict[str, float]:
    """Backend Service name → fraction of such requests it gets (empty when no rule matches)."""
    headers = headers or {}
    best: tuple[tuple[int, int], Obj] | None = None
    for rule in spec.get("rules") or []:
        for match in rule.get("matches") or [{}]:
            if _matches(match, path, headers):
                rank = (len(match.get("headers") or []), len(str((match.get("path") or {}).get("value", "/"))))
                if best is None or rank > best[0]:
                    best = (rank, rule)
    if best is None:
        return {}
    refs = best[1].get("backendRefs") or []
    total = sum(int(ref.get("weight", 1)) for ref in refs)
    return {ref["name"]: int(ref.get("weight", 1)) / total for ref in refs} if total else {}
