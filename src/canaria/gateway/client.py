"""Client of the embedded gateway's admin API (bearer token), with httpx errors mapped to GatewayError."""

from __future__ import annotations

from typing import Any

import httpx

from canaria.config import CanariaConfig, parse_address
from canaria.errors import GatewayError

__all__ = ["GatewayClient"]


class GatewayClient:
    def __init__(self, config: CanariaConfig, *, timeout: float = 5.0) -> None:
        host, port = parse_address(config.gateway.admin_listen)
        self.base_url = f"http://{host}:{port}"
        self._headers = {"Authorization": f"Bearer {config.gateway.admin_token}"}
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=self._headers)

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise GatewayError(f"gateway admin API at {self.base_url} did not answer: {exc}",
                               key="error.gateway.admin_unreachable", params={"url": self.base_url, "detail": str(exc)}) from None
        if response.status_code == 401:
            detail = _error_text(response)
            if "change-me" in detail:
                raise GatewayError(f"gateway refused the admin token: {detail}", key="error.gateway.default_token",
                                   params={"detail": detail})
            raise GatewayError("gateway refused the admin token (gateway.admin_token differs from the gateway's)",
                               key="error.gateway.token_mismatch")
        if response.status_code >= 400:
            raise GatewayError(f"gateway answered {response.status_code} to {method} {path}: {response.text[:200]}",
                               key="error.gateway.answered", params={"status": response.status_code, "method": method,
                                                                       "path": path, "detail": response.text[:200]})
        data = response.json()
        return data if isinstance(data, dict) else {"data": data}

    async def alive(self) -> bool:
        try:
            response = await self._client.get("/admin/health", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/admin/health")

    async def state(self) -> dict[str, Any]:
        return await self._call("GET", "/admin/state")

    async def set_weight(self, canary_percent: float) -> dict[str, Any]:
        return await self._call("PUT", "/admin/weights", {"canary": canary_percent})

    async def set_route(self, canary_percent: float, *, match: dict[str, str | None] | None = None
                        ) -> dict[str, Any]:
        """The weight and the tester route {header|cookie, value} as one change: matching requests reach the
        canary whatever the weight. `match=None` removes the tester route (a plain `set_weight` keeps it)."""
        return await self._call("PUT", "/admin/weights", {"canary": canary_percent, "match": match})

    async def set_upstreams(self, stable: str, canary: str | None) -> dict[str, Any]:
        return await self._call("PUT", "/admin/upstreams", {"stable": stable, "canary": canary})

    async def window(self, *, cut: bool) -> dict[str, Any]:
        return await self._call("POST" if cut else "GET", "/admin/window/cut" if cut else "/admin/window")

    async def totals(self) -> dict[str, Any]:
        return await self._call("GET", "/admin/totals")

    async def shutdown(self) -> None:
        try:
            await self._client.post("/admin/shutdown", timeout=2.0)
        except httpx.HTTPError:
            pass


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("error", "")) if isinstance(data, dict) else ""
