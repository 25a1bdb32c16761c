"""Label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and field selectors (`involvedObject.name=x`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SelectorError", "parse_label_selector", "parse_field_selector", "selector_string"]

Predicate = Callable[[Mapping[str, str]], bool]


class SelectorError(ValueError):
    """An unparsable selector (answered as 400 Bad Request)."""


_SET_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current)
    return terms


def _term(text: str) -> Predicate:
    if match := _SET_RE.match(text):
        key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(text):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {text.strip()!r}")


def parse_label_selector(text: str | None) -> Predicate:
    if not text:
        return lambda labels: True
    predicates = [_term(term) for term in _split_terms(text)]
    return lambda labels: all(predicate(labels) for predicate in predicates)


def parse_field_selector(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """Equality on dotted paths (`metadata.name`, `involvedObject.uid`, `status.phase`)."""
    if not text:
        return lambda obj: True
    terms: list[tuple[list[str], str, str]] = []
    for term in _split_terms(text):
        match = re.match(r"^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise SelectorError(f"invalid field selector: {term.strip()!r}")
        terms.append((match.group(1).split("."), match.group(2), match.group(3)))

    def lookup(obj: Any, path: list[str]) -> str:
        for part in path:
            obj = obj.get(part) if isinstance(obj, dict) else None
        return "" if obj is None else str(obj)

    def predicate(obj: dict[str, Any]) -> bool:
        for path, op, value in terms:
            equal = lookup(obj, path) == value
            if equal != (op != "!="):
                return False
        return True

    return predicate


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """`matchLabels` as the `a=b,c=d` string a Scale's `status.selector` carries."""
    labels = (selector or {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
