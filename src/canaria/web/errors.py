"""One JSON error shape for every failure, and the mapping from canaria's error tree to HTTP.

    {"error": {"status": 409, "code": "illegal_in_phase", "message": "...", "details": [...]}}

401 no or bad token · 403 token may not act / cross-site request · 404 unknown rollout, event or report ·
409 the action is not legal in the rollout's current phase (StateError) · 422 bad input ·
502 the platform or gateway failed while acting · 503 the state store failed.
Every check happens before anything is changed, so an error response means nothing changed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from canaria.errors import CanariaError, InfrastructureError, StateError, StoreError, UsageError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("canaria.web")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 422: "invalid_input", 500: "internal_error", 502: "platform_error",
          503: "store_unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _json(status: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, details), status_code=status, headers=headers)


def _status_for(exc: CanariaError) -> tuple[int, str]:
    if isinstance(exc, StateError):
        return 409, "illegal_in_phase"
    if isinstance(exc, UsageError):
        return 422, "invalid_input"
    if isinstance(exc, StoreError):
        return 503, "store_unavailable"
    if isinstance(exc, InfrastructureError):
        return 502, "platform_error"
    return 500, "internal_error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(CanariaError)
    async def _canaria(request: Request, exc: CanariaError) -> JSONResponse:
        status, code = _status_for(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return _json(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", ""))} for err in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid input"}
        where = ".".join(first["loc"][1:] or first["loc"]) or "request"
        return _json(422, "invalid_input", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.url.path}"
        return _json(exc.status_code, code, message, headers=getattr(exc, "headers", None))
