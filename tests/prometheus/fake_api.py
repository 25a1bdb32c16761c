"""A fake Prometheus HTTP API behind httpx.MockTransport, for the provider's unit logic.

It answers /api/v1/query from a function of the PromQL text, so tests assert on what canaria *sends*
(rendered templates) and on how it reads real response shapes; the integration tests use a real server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Answer = list[tuple[dict[str, str], float | str]] | httpx.Response | Exception


def vector(*series: tuple[dict[str, str], float | str]) -> list[tuple[dict[str, str], float | str]]:
    return list(series)


class FakePrometheus:
    def __init__(self, answer: Callable[[str], Answer]) -> None:
        self.answer = answer
        self.queries: list[str] = []
        self.times: list[str | None] = []
        self.calls = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if request.url.path == "/api/v1/status/buildinfo":
            failure = self.answer("")  # a server that fails every query fails this too
            if isinstance(failure, Exception):
                raise failure
            if isinstance(failure, httpx.Response):
                return failure
            return httpx.Response(200, json={"status": "success", "data": {"version": "2.42.0"}})
        assert request.url.path == "/api/v1/query", request.url.path
        query = request.url.params["query"]
        self.queries.append(query)
        self.times.append(request.url.params.get("time"))
        result = self.answer(query)
        if isinstance(result, Exception):
            raise result
        if isinstance(result, httpx.Response):
            return result
        data: dict[str, Any] = {
            "resultType": "vector",
            "result": [{"metric": labels, "value": [1700000000.0, str(value)]} for labels, value in result],
        }
        return httpx.Response(200, content=json.dumps({"status": "success", "data": data}).encode(),
                              headers={"content-type": "application/json"})


def bad_query(message: str) -> httpx.Response:
    return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": message})
