"""The HTTP face of the fake: Cloud Run Admin API v2 (REST, as `run_v2`'s REST transport calls it) and an STS
token endpoint for `external_account` Application Default Credentials.

Every request body and response body is checked against Google's discovery document (`run.v2.json`); a
mismatch is recorded in `violations` and answered 500, so a test through the real client fails on drift. A
response is validated in its canonical form (enum names) and then, when the client asked for
`$alt=json;enum-encoding=int` (Google's generated REST clients do), written with enum numbers as Google does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulators.cloudrun.errors import ApiError
from tests.emulators.cloudrun.model import CloudRunModel
from tests.emulators.discovery import SchemaViolation, discovery

__all__ = ["RunHttpServer"]

_SERVICE = r"projects/[^/]+/locations/[^/]+/services/[^/:]+"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(rf"^/v2/({_SERVICE})$"), "projects.locations.services.get"),
    ("PATCH", re.compile(rf"^/v2/({_SERVICE})$"), "projects.locations.services.patch"),
    ("POST", re.compile(rf"^/v2/({_SERVICE}):testIamPermissions$"), "projects.locations.services.testIamPermissions"),
    ("GET", re.compile(rf"^/v2/({_SERVICE})/revisions$"), "projects.locations.services.revisions.list"),
    ("GET", re.compile(rf"^/v2/({_SERVICE}/revisions/[^/:]+)$"), "projects.locations.services.revisions.get"),
    ("DELETE", re.compile(rf"^/v2/({_SERVICE}/revisions/[^/:]+)$"), "projects.locations.services.revisions.delete"),
    ("GET", re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/operations/[^/:]+)$"),
     "projects.locations.operations.get"),
    ("POST", re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/operations/[^/:]+):wait$"),
     "projects.locations.operations.wait"),
]


class RunHttpServer:
    """Serves the model on 127.0.0.1:PORT in a thread; `stop()` shuts it down."""

    def __init__(self, model: CloudRunModel, *, tokens: set[str], permissions: set[str],
                 faults: list[tuple[str, ApiError]], issue_token: Callable[[], str]) -> None:
        self.model = model
        self.tokens = tokens
        self.permissions = permissions
        self.faults = faults  # (method id, error) raised once by the next matching call
        self.issue_token = issue_token
        self.violations: list[str] = []
        self.calls: list[tuple[str, str, Any]] = []  # (method id, resource, request body)
        self.document = discovery("run.v2")
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-cloudrun-http", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # ------------------------------------------------------------ dispatch
    def handle(self, verb: str, path: str, query: dict[str, list[str]], body: Any, auth: str | None
               ) -> tuple[int, dict[str, Any]]:
        if path == "/v1/token" and verb == "POST":
            return 200, {"access_token": self.issue_token(), "token_type": "Bearer", "expires_in": 3600,
                         "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}
        for route_verb, pattern, method_id in _ROUTES:
            match = pattern.match(path)
            if match and route_verb == verb:
                return self._call(method_id, match.group(1), query, body, auth)
        return 404, ApiError("NOT_FOUND", f"The requested URL {path} was not found on this server.").http_body()

    def _call(self, method_id: str, resource: str, query: dict[str, list[str]], body: Any, auth: str | None
              ) -> tuple[int, dict[str, Any]]:
        method = self.document.method(method_id)
        try:
            self._check_request(method_id, method, query, body)
        except SchemaViolation as violation:
            self.violations.append(f"request {method_id}: {violation}")
            return 500, ApiError("INTERNAL", f"fake: request does not match run.v2.json: {violation}").http_body()
        self.calls.append((method_id, resource, body))
        try:
            if not auth or not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                raise ApiError("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth "
                               "2 access token, login cookie or other valid authentication credential.")
            for i, (fault_method, error) in enumerate(self.faults):
                if fault_method == method_id:
                    del self.faults[i]
                    raise error
            response = self._dispatch(method_id, resource, query, body)
        except ApiError as error:
            return error.http_status, error.http_body()
        try:
            self.document.validate(response, method["response"]["$ref"])
        except SchemaViolation as violation:
            self.violations.append(f"response {method_id}: {violation}")
            return 500, ApiError("INTERNAL", f"fake: response does not match run.v2.json: {violation}").http_body()
        if "enum-encoding=int" in query.get("$alt", [""])[0]:
            response = numeric_enums(method["response"]["$ref"], response)
        return 200, response

    def _check_request(self, method_id: str, method: dict[str, Any], query: dict[str, list[str]], body: Any
                       ) -> None:
        known = set(method.get("parameters", {})) | {"$alt"}
        unknown = sorted(set(query) - known)
        if unknown:
            raise SchemaViolation(f"unknown query parameter(s) {unknown} (known: {sorted(known)})")
        request = method.get("request")
        if request is not None:
            self.document.validate(body if body is not None else {}, request["$ref"], numeric_enums=True)
        elif body not in (None, {}):
            raise SchemaViolation("this method takes no request body")

    def _dispatch(self, method_id: str, resource: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        verb = method_id.rsplit(".", 1)[1]
        flag = query_flag(query)
        if method_id.endswith("services.get"):
            return self.model.get_service(resource)
        if method_id.endswith("services.patch"):
            self._require("run.services.update", resource)
            return self.model.patch_service(resource, canonical_service(body), validate_only=flag("validateOnly"),
                                            allow_missing=flag("allowMissing"))
        if verb == "testIamPermissions":
            self.model.get_service(resource)
            asked = list(body.get("permissions", []))
            return {"permissions": [p for p in asked if p in self.permissions]} if asked else {}
        if method_id.endswith("revisions.list"):
            revisions = self.model.list_revisions(resource)
            return {"revisions": revisions} if revisions else {}
        if method_id.endswith("revisions.get"):
            return self.model.get_revision(resource)
        if method_id.endswith("revisions.delete"):
            self._require("run.revisions.delete", resource)
            return self.model.delete_revision(resource)
        if method_id.endswith("operations.get"):
            return self.model.get_operation(resource)
        return self._wait(resource, str(body.get("timeout", "0s")))

    def _wait(self, name: str, timeout: str) -> dict[str, Any]:
        deadline = self.model.clock() + min(float(timeout.rstrip("s") or 0), 30.0)
        operation = self.model.get_operation(name)
        while not operation.get("done") and self.model.clock() < deadline:
            threading.Event().wait(0.05)
            operation = self.model.get_operation(name)
        return operation

    def _require(self, permission: str, resource: str) -> None:
        self.model.get_service(resource.split("/revisions/")[0])
        if permission not in self.permissions:
            raise ApiError("PERMISSION_DENIED", f"Permission '{permission}' denied on resource '{resource}' "
                           "(or it may not exist).", reason="IAM_PERMISSION_DENIED",
                           domain="run.googleapis.com", metadata={"permission": permission})


def query_flag(query: dict[str, list[str]]) -> Callable[[str], bool]:
    return lambda name: query.get(name, ["false"])[0].lower() == "true"


_MESSAGES = {"GoogleCloudRunV2Service": ("google.cloud.run_v2", "Service"),
             "GoogleCloudRunV2Revision": ("google.cloud.run_v2", "Revision"),
             "GoogleCloudRunV2ListRevisionsResponse": ("google.cloud.run_v2", "ListRevisionsResponse")}


def numeric_enums(schema: str, body: dict[str, Any]) -> dict[str, Any]:
    """The response as Google writes it for `$alt=json;enum-encoding=int`: enums as their proto numbers."""
    import importlib

    from google.cloud import run_v2  # noqa: F401  (registers the types an operation's Any carries)
    from google.iam.v1 import iam_policy_pb2
    from google.longrunning import operations_pb2
    from google.protobuf import json_format
    from google.protobuf.message import Message

    message: Message
    if schema == "GoogleLongrunningOperation":
        message = operations_pb2.Operation()
    elif schema == "GoogleIamV1TestIamPermissionsResponse":
        message = iam_policy_pb2.TestIamPermissionsResponse()
    else:
        module, name = _MESSAGES[schema]
        message = getattr(importlib.import_module(module), name).pb()()
    json_format.ParseDict(body, message)
    return json_format.MessageToDict(message, use_integers_for_enums=True)


def canonical_service(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the server reads it: numeric enums named, via the API's own protobuf (google.cloud.run.v2)."""
    from google.cloud import run_v2
    from google.protobuf import json_format

    message = run_v2.Service.pb()()
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as exc:
        raise ApiError("INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}", reason="BAD_REQUEST") from exc
    return json_format.MessageToDict(message)


class _Handler(BaseHTTPRequestHandler):
    fake: RunHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        body: Any = None
        if raw and "json" in content_type:
            body = json.loads(raw)
        elif raw:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        status, payload = self.fake.handle(self.command, parts.path, parse_qs(parts.query), body,
                                           self.headers.get("Authorization"))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve
