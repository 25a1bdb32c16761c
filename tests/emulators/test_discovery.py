"""The discovery-document validator fails on drift: unknown fields, wrong types, bad formats and enums."""

from __future__ import annotations

import pytest

from tests.emulators.discovery import SchemaViolation, discovery


def test_a_real_shaped_service_passes() -> None:
    discovery("run.v2").validate({
        "name": "projects/p/locations/r/services/s", "generation": "3", "reconciling": True,
        "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "s-1", "percent": 95}],
        "template": {"containers": [{"image": "x", "resources": {"limits": {"memory": "512Mi"}}}],
                     "timeout": "300s"},
        "createTime": "2026-12-01T10:00:00.123456Z"}, "GoogleCloudRunV2Service")


@pytest.mark.parametrize(("body", "complaint"), [
    ({"bogus": 1}, "unknown field 'bogus'"),
    ({"traffic": [{"percent": "95"}]}, "expected an integer"),
    ({"generation": 3}, "expected a string"),
    ({"generation": "three"}, "not a valid int64"),
    ({"traffic": [{"type": "LATEST"}]}, "is not one of"),
    ({"template": {"timeout": "5 minutes"}}, "not a valid google-duration"),
    ({"createTime": "yesterday"}, "not a valid google-datetime"),
    ({"template": {"containers": [{"imag": "x"}]}}, "template.containers[0]: unknown field 'imag'"),
    ({"reconciling": "false"}, "expected a boolean"),
])
def test_drift_fails(body: dict[str, object], complaint: str) -> None:
    with pytest.raises(SchemaViolation, match=r".*" + complaint.replace("[", r"\[").replace("]", r"\]")):
        discovery("run.v2").validate(body, "GoogleCloudRunV2Service")


def test_numeric_enums_only_where_the_client_asked_for_them() -> None:
    body = {"traffic": [{"type": 2, "percent": 100}]}
    discovery("run.v2").validate(body, "GoogleCloudRunV2Service", numeric_enums=True)
    with pytest.raises(SchemaViolation):
        discovery("run.v2").validate(body, "GoogleCloudRunV2Service")


def test_an_operation_response_is_checked_as_the_service_it_carries() -> None:
    operation = {"name": "projects/p/locations/r/operations/1", "done": True,
                 "response": {"@type": "type.googleapis.com/google.cloud.run.v2.Service", "etag": "x", "nope": 1}}
    with pytest.raises(SchemaViolation, match="unknown field 'nope'"):
        discovery("run.v2").validate(operation, "GoogleLongrunningOperation")


def test_monitoring_distributions() -> None:
    point = {"interval": {"endTime": "2026-12-01T10:00:00Z"},
             "value": {"distributionValue": {"count": "3", "bucketCounts": ["1", "2"],
                                             "bucketOptions": {"exponentialBuckets": {
                                                 "numFiniteBuckets": 64, "growthFactor": 1.2, "scale": 1}}}}}
    discovery("monitoring.v3").validate({"timeSeries": [{"points": [point]}]}, "ListTimeSeriesResponse")
    point["value"]["distributionValue"]["bucketCounts"] = [1, 2]  # int64 must be strings in JSON
    with pytest.raises(SchemaViolation, match="expected a string"):
        discovery("monitoring.v3").validate({"timeSeries": [{"points": [point]}]}, "ListTimeSeriesResponse")
