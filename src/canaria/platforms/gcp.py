"""Google Cloud at the edge: Application Default Credentials, the clients, and Google's errors as one line.

Shared by the Cloud Run platform and the Cloud Monitoring provider, so both authenticate the same way and
speak of failures the same way. Everything Google-specific is imported lazily: canaria runs without the
`cloudrun` extra until a config asks for it.

Authentication is Google's own: `google.auth.default()` finds `GOOGLE_APPLICATION_CREDENTIALS` (a service-account
key or an `external_account` workload-identity file), gcloud's `application-default login`, or the metadata
server on Cloud Build / Cloud Run jobs / GCE. The tests use an `external_account` file whose token endpoint is a
local fake, so this code has no test-only path. An `api_endpoint` of `http://HOST:PORT` means a plaintext loopback
emulator: REST clients call it over http, and Monitoring's gRPC uses local channel credentials (which still carry
the bearer token).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from canaria.errors import CanariaError, ConfigError, InfrastructureError, PlatformError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["GoogleAuth", "call_google", "describe_identity", "google_error_line", "import_google"]

_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_REQUEST_PREFIX = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) \S+: ")
_INSTALL_HINT = "the Google Cloud clients are not installed: pip install 'canaria[cloudrun]'"
T = TypeVar("T")

#: what to tell the user per HTTP status of a Google API error
_HINTS = {
    400: "check the request values in canaria.yaml (image, traffic)",
    401: "the credentials were refused: run `gcloud auth application-default login` or check "
         "GOOGLE_APPLICATION_CREDENTIALS",
    403: "check platform.cloudrun.project and that the identity has the roles the README lists "
         "(roles/run.developer, roles/iam.serviceAccountUser, roles/monitoring.viewer)",
    404: "check platform.cloudrun.project, region and service",
    409: "the service changed while canaria wrote it; it will re-read and retry",
    429: "quota exhausted: wait and retry, or ask for a higher quota",
}


def import_google() -> None:
    """Fail with the install hint (exit 2) when the optional clients are missing."""
    try:
        import google.auth
        import google.cloud.run_v2  # noqa: F401
    except ImportError as exc:
        raise ConfigError(_INSTALL_HINT, field="platform.kind") from exc


class GoogleAuth:
    """Application Default Credentials, found once and shared by every client of one process."""

    def __init__(self, project: str | None = None) -> None:
        import_google()
        import google.auth
        from google.auth import exceptions as auth_exceptions

        try:
            credentials, found_project = google.auth.default(scopes=list(_SCOPES))
        except auth_exceptions.DefaultCredentialsError as exc:
            raise ConfigError("no Google Application Default Credentials: run `gcloud auth application-default "
                              "login`, or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file "
                              f"({str(exc).splitlines()[0]})", field="platform.cloudrun") from exc
        self.credentials: Credentials = credentials
        self.project = project or found_project
        if not self.project:
            raise ConfigError("no Google Cloud project: set platform.cloudrun.project or GOOGLE_CLOUD_PROJECT",
                              field="platform.cloudrun.project")

    def identity(self) -> str:
        return describe_identity(self.credentials)

    def refresh(self) -> None:
        """Get a token now (pre-flight), mapping failures to one line."""
        from google.auth import exceptions as auth_exceptions
        from google.auth.transport.requests import Request

        try:
            self.credentials.refresh(Request())
        except auth_exceptions.GoogleAuthError as exc:
            said = {"identity": self.identity(), "reason": str(exc).splitlines()[0]}
            raise InfrastructureError(f"Google credentials ({said['identity']}) could not get a token: "
                                      f"{said['reason']}", key="error.google.no_token", params=said) from exc

    def run_clients(self, api_endpoint: str | None) -> tuple[Any, Any]:
        """(ServicesClient, RevisionsClient) of Cloud Run Admin API v2 over REST."""
        from google.api_core.client_options import ClientOptions
        from google.cloud import run_v2

        options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
        services = run_v2.ServicesClient(credentials=self.credentials, transport="rest", client_options=options)
        revisions = run_v2.RevisionsClient(credentials=self.credentials, transport="rest", client_options=options)
        return services, revisions

    def monitoring_client(self, api_endpoint: str | None) -> Any:
        """MetricServiceClient (gRPC, the only transport google-cloud-monitoring ships)."""
        try:
            from google.cloud import monitoring_v3
        except ImportError as exc:
            raise ConfigError(_INSTALL_HINT, field="metrics.provider") from exc
        if api_endpoint and api_endpoint.startswith("http://"):
            import grpc
            from google.auth.transport import grpc as auth_grpc
            from google.auth.transport import requests as auth_requests
            from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

            target = api_endpoint.removeprefix("http://").rstrip("/")
            channel = auth_grpc.secure_authorized_channel(self.credentials, auth_requests.Request(), target,
                                                          ssl_credentials=grpc.local_channel_credentials())
            return monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
        from google.api_core.client_options import ClientOptions

        options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
        return monitoring_v3.MetricServiceClient(credentials=self.credentials, client_options=options)


def describe_identity(credentials: Any) -> str:
    """Which identity Google will see: the service account, the gcloud user, or the federated workload."""
    kind = type(credentials).__module__ + "." + type(credentials).__name__
    email = getattr(credentials, "service_account_email", None)
    if "compute_engine" in kind:
        return f"metadata server service account {email or 'default'}"
    if "external_account" in kind or "identity_pool" in kind or "aws" in kind or "pluggable" in kind:
        audience = getattr(credentials, "_audience", None) or getattr(credentials, "info", {}).get("audience")
        via = f" impersonating {email}" if email else ""
        return f"workload identity federation ({audience}){via}"
    if "oauth2.credentials" in kind:
        account = getattr(credentials, "account", None)
        return f"gcloud user credentials{f' ({account})' if account else ''} (application-default login)"
    if email:
        return f"service account {email}"
    return kind


def google_error_line(exc: BaseException, action: str) -> str:
    """`ACTION failed: 403 PERMISSION_DENIED (IAM_PERMISSION_DENIED): Google's message — what to do`."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.GoogleAPICallError):
        code = exc.code if isinstance(exc.code, int) else None
        status = exc.grpc_status_code.name if exc.grpc_status_code is not None else _http_status(exc)
        reason = f" ({exc.reason})" if getattr(exc, "reason", None) else ""
        head = " ".join(str(x) for x in (code, status) if x)
        text = (exc.message or "").strip()
        message = _REQUEST_PREFIX.sub("", text.splitlines()[0]) if text else type(exc).__name__
        hint = _HINTS.get(code or 0)
        return f"{action} failed: {head}{reason}: {message}" + (f" — {hint}" if hint else "")
    return f"{action} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _http_status(exc: Any) -> str:
    """The `status` of Google's JSON error body (REST errors carry no gRPC code in api_core)."""
    response = getattr(exc, "response", None)
    try:
        return str(response.json()["error"]["status"]) if response is not None else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


def _map(exc: BaseException, action: str, error: type[CanariaError]) -> Exception:
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions

    line = google_error_line(exc, action)
    params = {"action": {"literal": action}, "detail": {"literal": line.removeprefix(f"{action} failed: ")}}
    if isinstance(exc, (gexc.NotFound, gexc.InvalidArgument)) or (
            isinstance(exc, gexc.Forbidden) and getattr(exc, "reason", None) == "CONSUMER_INVALID"):
        return ConfigError(line, key="error.google.failed", params=params)
    if isinstance(exc, (gexc.GoogleAPIError, auth_exceptions.GoogleAuthError, OSError)):
        return error(line, key="error.google.failed", params=params)
    return exc if isinstance(exc, Exception) else error(line)


async def call_google(action: str, fn: Callable[..., T], *args: Any, error: type[CanariaError] = PlatformError,
                      **kwargs: Any) -> T:
    """Run a blocking Google client call in a thread; its errors become canaria's with Google's reason
    (ConfigError for an unknown project, service or bad argument, else `error`)."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exceptions

    try:
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
    except (gexc.GoogleAPIError, auth_exceptions.GoogleAuthError, OSError) as exc:
        raise _map(exc, action, error) from exc
