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
    """`answer` serves instant queries; range queries (a baseline's history) fail as `answer` fails, and
    otherwise return `history`'s series at every step — none by default: a server with no past."""

    def __init__(self, answer: Callable[[str], Answer],
                 history: Callable[[str], list[tuple[dict[str, str], float | str]]] | None = None) -> None:
        self.answer = answer
        self.history = history
        self.queries: list[str] = []
        self.times: list[str | None] = []
        self.ranges: list[dict[str, str]] = []  # the query_range parameters asked
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
        if request.url.path == "/api/v1/query_range":
            return self.handle_range(request)
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


    def handle_range(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.ranges.append(params)
        result = self.answer(params["query"])
        if isinstance(result, Exception):
            raise result
        if isinstance(result, httpx.Response):
            return result
        start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        times = [start + k * step for k in range(int((end - start) / step + 1e-9) + 1)]
        series = self.history(params["query"]) if self.history is not None else []
        data = {"resultType": "matrix",
                "result": [{"metric": labels, "values": [[t, str(value)] for t in times]} for labels, value in series]}
        return httpx.Response(200, content=json.dumps({"status": "success", "data": data}).encode(),
                              headers={"content-type": "application/json"})


def bad_query(message: str) -> httpx.Response:
    return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": message})
