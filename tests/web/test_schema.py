"""schemathesis against the published OpenAPI schema, in-process (ASGI): no 5xx on generated input, responses
match the schema, and without a token every action endpoint answers 401 and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from canaria.config import CanariaConfig
from canaria.controller.actions import Operator
from canaria.controller.clock import FakeClock
from canaria.state.store import Store
from canaria.web import create_app
from tests.web.helpers import TOKEN, make_config, open_fake_app, rolled_back_rollout, rollout_at_gate

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 12


def _factory(config: CanariaConfig):
    @asynccontextmanager
    async def factory(name: str) -> AsyncIterator[Operator]:
        app = open_fake_app(config, clock=FakeClock(start=1_700_200_000.0), actor=name)
        try:
            yield Operator(app.controller, actor=name)
        finally:
            await app.close()

    return factory


def _seeded(tmp_path: Path) -> tuple[CanariaConfig, str]:
    config = make_config(tmp_path)
    asyncio.run(rolled_back_rollout(config))
    rid = asyncio.run(rollout_at_gate(config))
    config.reports_path.mkdir(parents=True)
    (config.reports_path / f"{rid}.md").write_text("# record\n", encoding="utf-8")
    return config, rid


def _snapshot(config: CanariaConfig) -> tuple[Any, ...]:
    store = Store.for_state_dir(config.state_path)
    try:
        rollouts = [(r.id, r.phase, r.traffic, r.updated_at) for r in store.list_rollouts()]
        return (rollouts, [(e.id, e.kind) for e in store.events()])
    finally:
        store.close()


def _run(schema: Any, body: Any, *, modes: tuple[GenerationMode, ...]) -> int:
    """Run `body(case, mode, timeout)` over generated cases of every operation; returns how many calls ran."""
    calls = 0

    def checker(operation: Any, mode: GenerationMode) -> Any:
        streaming = operation.path.endswith("/stream")  # an endless feed: read it for 0.4 s

        @settings(max_examples=3 if streaming else EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            body(case, mode, 0.4 if streaming else 10)

        return check

    for result in schema.get_all_operations():
        for mode in modes:
            checker(result.ok(), mode)()
    return calls


def _is_action(case: Any) -> bool:
    return case.method.upper() == "POST"


def test_without_a_token_actions_are_401_nothing_changes_and_nothing_is_5xx(tmp_path: Path) -> None:
    config, _ = _seeded(tmp_path)
    app = create_app(config, operator_factory=_factory(config))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    before = _snapshot(config)
    seen: dict[int, int] = {}

    def body(case: Any, mode: GenerationMode, timeout: float) -> None:
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = case.call(timeout=timeout)
        case.validate_response(response, checks=CHECKS)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if _is_action(case):
            code = response.json()["error"]["code"] if response.status_code >= 400 else None
            route_missing = response.status_code in (404, 405) and code in ("not_found", "method_not_allowed")
            assert response.status_code == 401 or route_missing, (case.path, case.body, response.text)

    try:
        calls = _run(schema, body, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
    finally:
        shutdown_lifespans()
    assert calls > 150 and seen.get(401, 0) > 50 and seen.get(200, 0) > 10, seen
    assert _snapshot(config) == before


def test_with_a_token_generated_input_never_gets_a_5xx(tmp_path: Path) -> None:
    config, rid = _seeded(tmp_path)
    app = create_app(config, operator_factory=_factory(config))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen: dict[int, int] = {}

    def body(case: Any, mode: GenerationMode, timeout: float) -> None:
        if case.path_parameters and "rollout_id" in case.path_parameters and hash(repr(case.body)) % 2:
            case.path_parameters["rollout_id"] = rid  # reach the real rollout half of the time
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=timeout)
        case.validate_response(response, checks=CHECKS)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    try:
        _run(schema, body, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE))
    finally:
        shutdown_lifespans()
    assert seen.get(200, 0) > 10 and seen.get(422, 0) > 10 and (seen.get(409, 0) or seen.get(404, 0)), seen
    assert not [s for s in seen if s >= 500], seen
