"""The gRPC face of the fake: `google.monitoring.v3.MetricService/ListTimeSeries`, as `google-cloud-monitoring`
calls it (that library ships only gRPC transports).

The server listens on loopback with gRPC *local* credentials, so the client can attach its real OAuth bearer
token (call credentials need a secure channel; `grpc.local_channel_credentials()` is one over loopback). The
request and response are checked in their JSON mapping against `monitoring.v3.json`: a mismatch is recorded
in `violations` and the call fails with INTERNAL.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from google.cloud import monitoring_v3
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from tests.emulators.cloudrun.errors import ApiError
from tests.emulators.cloudrun.timeseries import TimeSeriesStore
from tests.emulators.discovery import SchemaViolation, discovery

__all__ = ["MonitoringGrpcServer"]

_PAGE = 100


class MonitoringGrpcServer:
    def __init__(self, store: TimeSeriesStore, *, tokens: set[str], permissions: set[str],
                 faults: list[tuple[str, ApiError]]) -> None:
        self.store = store
        self.tokens = tokens
        self.permissions = permissions
        self.faults = faults
        self.violations: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.document = discovery("monitoring.v3")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.unary_unary_rpc_method_handler(
            self._list_time_series,
            request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
            response_serializer=monitoring_v3.ListTimeSeriesResponse.serialize)
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("google.monitoring.v3.MetricService",
                                                  {"ListTimeSeries": handler}),))
        credentials = grpc.local_server_credentials(grpc.LocalConnectionType.LOCAL_TCP)
        self.port = self.server.add_secure_port("127.0.0.1:0", credentials)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None).wait(5)

    def _list_time_series(self, request: monitoring_v3.ListTimeSeriesRequest, context: grpc.ServicerContext
                          ) -> monitoring_v3.ListTimeSeriesResponse:
        body = json_format.MessageToDict(monitoring_v3.ListTimeSeriesRequest.pb(request))
        self.requests.append(body)
        try:
            self._check_request(body)
        except SchemaViolation as violation:
            self.violations.append(f"request timeSeries.list: {violation}")
            context.abort(grpc.StatusCode.INTERNAL, f"fake: request does not match monitoring.v3.json: {violation}")
        try:
            metadata = dict(context.invocation_metadata())
            auth = str(metadata.get("authorization", ""))
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                raise ApiError("UNAUTHENTICATED", "Request had invalid authentication credentials.",
                               domain="monitoring.googleapis.com")
            for i, (method, error) in enumerate(self.faults):
                if method == "projects.timeSeries.list":
                    del self.faults[i]
                    raise error
            if "monitoring.timeSeries.list" not in self.permissions:
                raise ApiError("PERMISSION_DENIED", f"Permission monitoring.timeSeries.list denied (or the resource "
                               f"may not exist) on {body.get('name')}.", reason="IAM_PERMISSION_DENIED",
                               domain="monitoring.googleapis.com")
            response = self._answer(body)
        except ApiError as error:
            context.abort_with_status(rpc_status.to_status(_status_pb(error)))
        try:
            self.document.validate(response, "ListTimeSeriesResponse")
        except SchemaViolation as violation:
            self.violations.append(f"response timeSeries.list: {violation}")
            context.abort(grpc.StatusCode.INTERNAL, f"fake: response does not match monitoring.v3.json: {violation}")
        message = monitoring_v3.ListTimeSeriesResponse.pb()()
        json_format.ParseDict(response, message)
        return monitoring_v3.ListTimeSeriesResponse.wrap(message)

    def _check_request(self, body: dict[str, Any]) -> None:
        """The request's fields are the REST method's query parameters (`aggregation.alignmentPeriod`, ...)."""
        method = self.document.method("projects.timeSeries.list")
        known = set(method["parameters"])
        for key, value in body.items():
            if isinstance(value, dict):
                schema = {"interval": "TimeInterval", "aggregation": "Aggregation",
                          "secondaryAggregation": "Aggregation"}.get(key)
                if schema is None:
                    raise SchemaViolation(f"unknown request field {key!r}")
                self.document.validate(value, schema)
            elif key not in known:
                raise SchemaViolation(f"unknown request field {key!r} (known: {sorted(known)})")

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        from datetime import datetime

        name = str(body.get("name", ""))
        if not name.startswith("projects/"):
            raise ApiError("INVALID_ARGUMENT", f"Invalid resource name {name!r}.", domain="monitoring.googleapis.com")
        interval = body.get("interval") or {}
        if "endTime" not in interval:
            raise ApiError("INVALID_ARGUMENT", "Field interval.endTime is required.",
                           domain="monitoring.googleapis.com")

        def epoch(text: str) -> float:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

        end = epoch(interval["endTime"])
        start = epoch(interval["startTime"]) if "startTime" in interval else end
        series = self.store.list_time_series(name.split("/")[1], filter_text=str(body.get("filter", "")),
                                             start=start, end=end, alignment=body.get("aggregation"))
        offset = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or _PAGE)
        page = series[offset:offset + size]
        response: dict[str, Any] = {"timeSeries": page} if page else {}
        if offset + size < len(series):
            response["nextPageToken"] = str(offset + size)
        return response


def _status_pb(error: ApiError) -> status_pb2.Status:
    status = status_pb2.Status(code=error.code, message=error.message)
    if error.reason:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=error.domain, metadata=error.metadata))
        status.details.append(detail)
    return status
