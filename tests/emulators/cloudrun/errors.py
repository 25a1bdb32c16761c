"""Google's error model (google.rpc.Status) as the fake raises it and writes it over HTTP and gRPC.

Google's REST APIs answer errors as `{"error": {"code", "message", "status", "details": [ErrorInfo...]}}`
(https://cloud.google.com/apis/design/errors); the client libraries map that to `google.api_core.exceptions`
and read `reason` from the `google.rpc.ErrorInfo` detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "GRPC_CODES"]

#: google.rpc.Code names → (number, HTTP status), from google/rpc/code.proto
GRPC_CODES: dict[str, tuple[int, int]] = {
    "INVALID_ARGUMENT": (3, 400), "FAILED_PRECONDITION": (9, 400), "OUT_OF_RANGE": (11, 400),
    "UNAUTHENTICATED": (16, 401), "PERMISSION_DENIED": (7, 403), "NOT_FOUND": (5, 404),
    "ABORTED": (10, 409), "ALREADY_EXISTS": (6, 409), "RESOURCE_EXHAUSTED": (8, 429),
    "INTERNAL": (13, 500), "UNAVAILABLE": (14, 503), "DEADLINE_EXCEEDED": (4, 504),
}


@dataclass
class ApiError(Exception):
    status: str  # a google.rpc.Code name
    message: str
    reason: str | None = None  # google.rpc.ErrorInfo.reason
    domain: str = "run.googleapis.com"
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status}: {self.message}")

    @property
    def code(self) -> int:
        return GRPC_CODES[self.status][0]

    @property
    def http_status(self) -> int:
        return GRPC_CODES[self.status][1]

    def rpc_status(self) -> dict[str, Any]:
        """google.rpc.Status in JSON (also an operation's `error`)."""
        status: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.reason:
            status["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason,
                                  "domain": self.domain, "metadata": dict(self.metadata)}]
        return status

    def http_body(self) -> dict[str, Any]:
        body = self.rpc_status()
        body["status"] = self.status
        body["code"] = self.http_status
        return {"error": body}
