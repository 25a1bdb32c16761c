"""Fuzzing the config loader: whatever a user writes, the answer is a valid config or one ConfigError naming the
field — never a traceback."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canaria.config import CanariaConfig, parse_config
from canaria.errors import ConfigError

VALID: dict[str, Any] = {
    "service": "ion-api",
    "platform": {
        "kind": "local",
        "stable": {"command": "python -m canaria.demo.service --port 9001", "port": 9001, "memory_limit": "512MB"},
        "canary": {"url": "http://127.0.0.1:9002", "health": "/health"},
        "supervise": {"interval": "1s", "max_restarts": 3, "restart_window": "60s"},
    },
    "gateway": {"listen": "127.0.0.1:8000", "admin_listen": "127.0.0.1:8001", "admin_token": "s3cret-token"},
    "plan": {"stages": [{"traffic": 5, "hold": "60m"}, {"traffic": 50, "hold": "1h", "approval": "required"},
                        {"traffic": 100}]},
    "analysis": {"interval": "5m", "min_requests": 100},
    "guardrails": [{"metric": "error_rate_pct", "max": 1.0, "consecutive": 3}],
    "report": {"every": "5m"},
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["5m", "-1s", "1e309", "0", "nan", "100%", "127.0.0.1:0", "http://x", "[]"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths(child, (*prefix, index))
    return found


ALL_PATHS = paths(VALID)


def mutate(data: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete":
        del parent[last]
    elif isinstance(parent, dict):  # an unknown key beside a known one
        parent[f"{last}_typo"] = value
    return out


def assert_clean(text: str) -> None:
    try:
        config = parse_config(text)
    except ConfigError as exc:
        assert str(exc).strip(), "an empty ConfigError"
        assert exc.field, f"ConfigError without a field: {exc}"
        return
    assert isinstance(config, CanariaConfig)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "delete", "add"]),
                                    values), min_size=1, max_size=3))
def test_a_mutated_config_is_valid_or_one_error_naming_the_field(mutations: list[tuple[Any, str, Any]]) -> None:
    data = VALID
    for path, action, value in mutations:
        try:
            data = mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed or replaced the parent
            continue
    assert_clean(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_valid_or_one_error_naming_the_field(text: str) -> None:
    assert_clean(text)


def test_the_seed_config_is_valid() -> None:
    assert parse_config(yaml.safe_dump(VALID)).service == "ion-api"
