"""A small client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`) with httpx errors mapped
at the edge.

Every failure leaves this module as a `MetricsError` whose text says what to do about it::

    MetricsError
    ├── unreachable      connection refused / DNS / timeout, after the retries (transient: retried)
    ├── overloaded       502/503/504 from the server or a proxy in front of it (transient: retried)
    ├── bad query        400/422 with the server's own error message and the query (not retried)
    └── not Prometheus   an answer that is not the API's JSON envelope (not retried)

Retries use exponential backoff (tenacity) so a Prometheus restart or a slow rule evaluation does not
stop a rollout, while a wrong query fails at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from canaria.errors import MetricsError

__all__ = ["PrometheusAPI", "RangeSeries", "Sample"]

_TRANSIENT_STATUS = {502, 503, 504}


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query result."""

    labels: dict[str, str]
    value: float

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range-query result: (evaluation time, value) pairs, oldest first."""

    labels: dict[str, str]
    values: list[tuple[float, float]]


#: Prometheus refuses a range query of more than 11,000 points per series; ask in chunks below that
MAX_POINTS = 10_000


class _Transient(MetricsError):
    """Worth another attempt; turned into a plain MetricsError when the attempts run out."""


class PrometheusAPI:
    def __init__(self, url: str, *, timeout: float = 10.0, retries: int = 2, backoff: float = 0.5,
                 headers: dict[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, headers=headers or {},
                                         transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def _get_once(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise _Transient(f"Prometheus at {self.url} did not answer within {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            raise _Transient(f"Prometheus at {self.url} is unreachable: {detail}") from None
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        server_error = body.get("error") if isinstance(body, dict) else None
        if response.status_code in _TRANSIENT_STATUS:
            raise _Transient(f"Prometheus at {self.url} answered {response.status_code}: "
                             f"{server_error or response.text[:200]}")
        if response.status_code in (400, 422) and server_error:
            query = params.get("query", "")
            raise MetricsError(f"Prometheus rejected the query: {server_error}\n  query: {query}")
        if response.status_code in (401, 403):
            raise MetricsError(f"Prometheus at {self.url} refused access ({response.status_code}); "
                               "set metrics.prometheus.headers (e.g. Authorization)")
        if not isinstance(body, dict) or "status" not in body:
            raise MetricsError(f"{self.url}{path} answered {response.status_code} but not with the Prometheus API "
                               f"JSON; is metrics.prometheus.url the server's base URL? ({response.text[:120]!r})")
        if body["status"] != "success":
            raise MetricsError(f"Prometheus error ({body.get('errorType', 'unknown')}): {server_error}")
        return body.get("data")

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET an API path and return its `data`, retrying transient failures."""
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Transient),
                stop=stop_after_attempt(self.retries + 1),
                wait=wait_exponential(multiplier=self.backoff, max=max(self.backoff, 1.0) * 8),
                reraise=True,
            ):
                with attempt:
                    return await self._get_once(path, params or {})
        except _Transient as exc:
            tries = self.retries + 1
            raise MetricsError(f"{exc} (after {tries} attempt{'s' if tries > 1 else ''})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        """An instant query; a scalar answer comes back as one sample without labels."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = await self.get("/api/v1/query", params)
        if not isinstance(data, dict):
            raise MetricsError(f"Prometheus answered without data for: {promql}")
        kind = data.get("resultType")
        result = data.get("result")
        if kind == "scalar" and isinstance(result, list) and len(result) == 2:
            return [Sample({}, _number(result[1]))]
        if kind != "vector" or not isinstance(result, list):
            raise MetricsError(f"expected an instant vector, Prometheus returned a {kind}: {promql}")
        samples = []
        for item in result:
            labels = {str(k): str(v) for k, v in dict(item.get("metric", {})).items()}
            samples.append(Sample(labels, _number(item.get("value", [0, "NaN"])[1])))
        return samples

    async def query_range(self, promql: str, *, start: float, end: float, step: float) -> list[RangeSeries]:
        """A range query evaluated at start, start+step, ... ≤ end (in chunks under Prometheus' point limit);
        each series' points from every chunk, oldest first."""
        merged: dict[tuple[tuple[str, str], ...], RangeSeries] = {}
        chunk_start = start
        while chunk_start <= end + 1e-6:
            chunk_end = min(end, chunk_start + (MAX_POINTS - 1) * step)
            params = {"query": promql, "start": f"{chunk_start:.3f}", "end": f"{chunk_end:.3f}", "step": f"{step:g}"}
            data = await self.get("/api/v1/query_range", params)
            if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(
                    data.get("result"), list):
                kind = data.get("resultType") if isinstance(data, dict) else None
                raise MetricsError(f"expected a range vector, Prometheus returned a {kind}: {promql}")
            for item in data["result"]:
                labels = {str(k): str(v) for k, v in dict(item.get("metric", {})).items()}
                key = tuple(sorted(labels.items()))
                series = merged.setdefault(key, RangeSeries(labels, []))
                series.values.extend((float(t), _number(v)) for t, v in item.get("values", []))
            chunk_start = chunk_end + step
        return list(merged.values())

    async def buildinfo(self) -> dict[str, Any]:
        data = await self.get("/api/v1/status/buildinfo")
        return data if isinstance(data, dict) else {}


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise MetricsError(f"Prometheus returned a value that is not a number: {text!r}") from None
