"""Google's real clients (run_v2 REST, monitoring_v3 gRPC, ADC via external_account) against the fake.

Every body the fake reads or writes is validated against run.v2.json / monitoring.v3.json (the `fake`
fixture fails a test that caused a violation), so these tests also keep the fake honest.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3, run_v2

from tests.emulators.cloudrun import ApiError, CloudRunEmulator, ImageBehaviour
from tests.emulators.cloudrun.timeseries import Point, Series, exponential
from tests.emulators.cloudrun_clients import PROJECT, SERVICE_NAME, Clients, clients, fake

__all__ = ["clients", "fake"]  # fixtures

REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION


def _canary_update(clients: Clients, image: str, name: str = "ion-api-canary") -> tuple[Any, str]:
    service = clients.services.get_service(name=SERVICE_NAME)
    stable = service.latest_ready_revision.rsplit("/", 1)[1]
    service.template.containers[0].image = image
    service.template.revision = name
    service.traffic = [run_v2.TrafficTarget(type_=REVISION, revision=stable, percent=100),
                       run_v2.TrafficTarget(type_=REVISION, revision=name, percent=0, tag="canary")]
    return clients.services.update_service(service=service), stable


def test_get_patch_operation_and_lagging_status(fake: CloudRunEmulator, clients: Clients) -> None:
    fake.model.images["registry.example/ion-api:v2"] = ImageBehaviour()
    operation, stable = _canary_update(clients, "registry.example/ion-api:v2")
    during = clients.services.get_service(name=SERVICE_NAME)
    assert not operation.done()
    assert during.reconciling and during.observed_generation < during.generation
    assert [(s.revision, s.percent) for s in during.traffic_statuses] == [(stable, 100)]  # still the old split
    assert during.traffic[1].tag == "canary"  # the spec already says what was written
    result = operation.result(timeout=10)
    assert not result.reconciling and result.observed_generation == result.generation
    statuses = {s.revision: s for s in result.traffic_statuses}
    assert statuses["ion-api-canary"].tag == "canary" and statuses["ion-api-canary"].percent == 0
    assert statuses["ion-api-canary"].uri.startswith("https://canary---ion-api-")
    assert result.latest_ready_revision.endswith("/revisions/ion-api-canary")
    revision = clients.revisions.get_revision(name=f"{SERVICE_NAME}/revisions/ion-api-canary")
    assert revision.containers[0].image == "registry.example/ion-api:v2"
    assert [(c.type_, c.state.name) for c in revision.conditions] == [("Ready", "CONDITION_SUCCEEDED")]


def test_stale_etag_is_aborted(fake: CloudRunEmulator, clients: Clients) -> None:
    first = clients.services.get_service(name=SERVICE_NAME)
    second = clients.services.get_service(name=SERVICE_NAME)
    first.labels["team"] = "search"
    clients.services.update_service(service=first).result(timeout=10)
    second.labels["team"] = "ads"
    with pytest.raises(gexc.Conflict, match="has been modified"):
        clients.services.update_service(service=second)
    assert clients.services.get_service(name=SERVICE_NAME).labels["team"] == "search"


@pytest.mark.parametrize(("behaviour", "message"), [
    (None, "Image 'registry.example/ion-api:missing' not found."),
    (ImageBehaviour(startup="crash"), "failed to start and listen on the port"),
    (ImageBehaviour(startup="health_check"), "STARTUP TCP probe failed"),
])
def test_failed_revisions_fail_the_operation_and_keep_traffic(fake: CloudRunEmulator, clients: Clients,
                                                              behaviour: ImageBehaviour | None, message: str) -> None:
    if behaviour is not None:
        fake.model.images["registry.example/ion-api:missing"] = behaviour
    operation, stable = _canary_update(clients, "registry.example/ion-api:missing")
    with pytest.raises(gexc.FailedPrecondition, match=message):
        operation.result(timeout=10)
    service = clients.services.get_service(name=SERVICE_NAME)
    assert [(s.revision, s.percent) for s in service.traffic_statuses] == [(stable, 100)]
    assert service.terminal_condition.state.name == "CONDITION_FAILED"
    assert message in service.terminal_condition.message
    ready = clients.revisions.get_revision(name=f"{SERVICE_NAME}/revisions/ion-api-canary").conditions[0]
    assert ready.type_ == "Ready" and ready.state.name == "CONDITION_FAILED" and message in ready.message


def test_a_revision_that_never_becomes_ready(fake: CloudRunEmulator, clients: Clients) -> None:
    fake.model.images["registry.example/ion-api:slow"] = ImageBehaviour(startup="never_ready")
    operation, _ = _canary_update(clients, "registry.example/ion-api:slow")
    time.sleep(0.5)
    assert not operation.done()
    service = clients.services.get_service(name=SERVICE_NAME)
    assert service.reconciling
    ready = clients.revisions.get_revision(name=f"{SERVICE_NAME}/revisions/ion-api-canary").conditions[0]
    assert ready.state.name == "CONDITION_RECONCILING"


def test_google_error_shapes(fake: CloudRunEmulator, clients: Clients) -> None:
    with pytest.raises(gexc.Forbidden, match="project nope") as denied:
        clients.services.get_service(name="projects/nope/locations/asia-northeast3/services/ion-api")
    assert denied.value.reason == "CONSUMER_INVALID"
    with pytest.raises(gexc.NotFound, match="'other' of kind 'SERVICE'"):
        clients.services.get_service(name=f"projects/{PROJECT}/locations/asia-northeast3/services/other")
    fake.fail_next("projects.locations.services.get", ApiError(
        "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'.", reason="RATE_LIMIT_EXCEEDED"))
    with pytest.raises(gexc.TooManyRequests, match="Quota exceeded") as quota:
        clients.services.get_service(name=SERVICE_NAME)
    assert quota.value.reason == "RATE_LIMIT_EXCEEDED"
    service = clients.services.get_service(name=SERVICE_NAME)
    service.traffic[0].percent = 90
    with pytest.raises(gexc.BadRequest, match="must sum to 100"):
        clients.services.update_service(service=service)
    fake.permissions.discard("run.services.update")
    with pytest.raises(gexc.Forbidden, match="run.services.update"):
        clients.services.update_service(service=clients.services.get_service(name=SERVICE_NAME))


def test_iam_permissions_and_revisions(fake: CloudRunEmulator, clients: Clients) -> None:
    from google.iam.v1 import iam_policy_pb2

    fake.permissions.discard("run.services.update")
    answer = clients.services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(
        resource=SERVICE_NAME, permissions=["run.services.get", "run.services.update"]))
    assert list(answer.permissions) == ["run.services.get"]
    fake.permissions.add("run.services.update")
    fake.model.images["registry.example/ion-api:v2"] = ImageBehaviour()
    operation, stable = _canary_update(clients, "registry.example/ion-api:v2")
    operation.result(timeout=10)
    names = [r.name.rsplit("/", 1)[1] for r in clients.revisions.list_revisions(parent=SERVICE_NAME)]
    assert names == ["ion-api-canary", stable]
    with pytest.raises(gexc.BadRequest, match="serving traffic"):
        clients.revisions.delete_revision(name=f"{SERVICE_NAME}/revisions/{stable}")


def test_drift_in_the_fake_is_caught(fake: CloudRunEmulator, clients: Clients, monkeypatch: pytest.MonkeyPatch
                                     ) -> None:
    original = fake.model.render_service
    monkeypatch.setattr(fake.model, "render_service", lambda s: {**original(s), "trafficSplit": []})
    with pytest.raises(gexc.InternalServerError, match="unknown field 'trafficSplit'"):
        clients.services.get_service(name=SERVICE_NAME)
    assert fake.violations and "trafficSplit" in fake.violations[0]
    fake.http.violations.clear()


# ------------------------------------------------------------ Monitoring
def _seed(fake: CloudRunEmulator, now: float) -> None:
    resource = {"project_id": PROJECT, "service_name": "ion-api", "location": "asia-northeast3"}
    for revision, errors in (("ion-api-00001", 0), ("ion-api-canary", 6)):
        labels = {**resource, "revision_name": revision}
        for k in range(6):
            end = now - 50 + k * 10
            for code_class, count in (("2xx", 100 - errors), ("5xx", errors)):
                if count:
                    fake.store.write(Series("run.googleapis.com/request_count",
                                            {"response_code_class": code_class}, "cloud_run_revision", labels,
                                            "DELTA", "INT64"), Point(end - 10, end, count))
            latencies = exponential(num_finite=64, growth=1.2, scale=1.0)
            for ms in range(1, 101):
                latencies.record(ms * (3.0 if revision == "ion-api-canary" else 1.0))
            fake.store.write(Series("run.googleapis.com/request_latencies", {"response_code_class": "2xx"},
                                    "cloud_run_revision", labels, "DELTA", "DISTRIBUTION", "ms"),
                             Point(end - 10, end, latencies))


def _list(clients: Clients, metric: str, start: float, end: float, aligner: str, reducer: str = "REDUCE_SUM",
          period: int = 60, extra: str = "") -> list[Any]:
    return list(clients.metrics.list_time_series(request={
        "name": f"projects/{PROJECT}",
        "filter": f'metric.type = "{metric}" AND resource.labels.service_name = "ion-api"{extra}',
        "interval": {"start_time": {"seconds": int(start)}, "end_time": {"seconds": int(end)}},
        "aggregation": {"alignment_period": {"seconds": period},
                        "per_series_aligner": monitoring_v3.Aggregation.Aligner[aligner],
                        "cross_series_reducer": monitoring_v3.Aggregation.Reducer[reducer],
                        "group_by_fields": ["resource.labels.revision_name", "metric.labels.response_code_class"]}}))


def test_counts_rates_and_percentiles(fake: CloudRunEmulator, clients: Clients) -> None:
    now = float(int(time.time()))
    _seed(fake, now)
    deltas = _list(clients, "run.googleapis.com/request_count", now - 60, now, "ALIGN_DELTA")
    counts = {(s.resource.labels["revision_name"], s.metric.labels["response_code_class"]):
              [p.value.int64_value for p in s.points] for s in deltas}
    assert counts == {("ion-api-00001", "2xx"): [600], ("ion-api-canary", "2xx"): [564],
                      ("ion-api-canary", "5xx"): [36]}
    rates = _list(clients, "run.googleapis.com/request_count", now - 60, now, "ALIGN_RATE",
                  extra=' AND metric.labels.response_code_class = "5xx"')
    assert [round(p.value.double_value, 3) for s in rates for p in s.points] == [0.6]
    p99 = _list(clients, "run.googleapis.com/request_latencies", now - 60, now, "ALIGN_PERCENTILE_99",
                reducer="REDUCE_MAX", extra=' AND resource.labels.revision_name = one_of("ion-api-canary")')
    assert len(p99) == 1 and 284 < p99[0].points[0].value.double_value < 342  # the 1.2-growth bucket of 297 ms
    merged = _list(clients, "run.googleapis.com/request_latencies", now - 60, now, "ALIGN_DELTA", period=30)
    stable = next(s for s in merged if s.resource.labels["revision_name"] == "ion-api-00001")
    assert [p.value.distribution_value.count for p in stable.points] == [300, 300]
    assert stable.points[0].value.distribution_value.bucket_options.exponential_buckets.growth_factor == 1.2


def test_ingestion_delay_hides_recent_points(fake: CloudRunEmulator, clients: Clients) -> None:
    now = float(int(time.time()))
    _seed(fake, now)
    fake.store.ingestion_delay = 25  # points ending in the last 25 s are not ingested yet
    deltas = _list(clients, "run.googleapis.com/request_count", now - 60, now, "ALIGN_DELTA",
                   extra=' AND resource.labels.revision_name = "ion-api-00001"')
    assert [p.value.int64_value for s in deltas for p in s.points] == [300]


def test_monitoring_errors(fake: CloudRunEmulator, clients: Clients) -> None:
    with pytest.raises(gexc.InvalidArgument, match="must specify a metric type"):
        list(clients.metrics.list_time_series(request={
            "name": f"projects/{PROJECT}", "filter": 'resource.labels.service_name = "ion-api"',
            "interval": {"end_time": {"seconds": int(time.time())}}}))
    fake.permissions.discard("monitoring.timeSeries.list")
    with pytest.raises(gexc.PermissionDenied, match="monitoring.timeSeries.list") as denied:
        _list(clients, "run.googleapis.com/request_count", time.time() - 60, time.time(), "ALIGN_DELTA")
    assert denied.value.reason == "IAM_PERMISSION_DENIED"


def test_synthetic_traffic_follows_the_applied_split(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with CloudRunEmulator(sample_period=0.2, rps=500, operation_delay=0.1) as fake:
        fake.model.add_service(PROJECT, "asia-northeast3", "ion-api", "registry.example/ion-api:v1")
        fake.model.images["registry.example/ion-api:v1"].error_rate = 0.5
        start = time.time()
        time.sleep(1.1)
        series = fake.store.list_time_series(PROJECT, filter_text='metric.type = "run.googleapis.com/request_count"',
                                             start=start - 1, end=time.time(), alignment=None)
        by_class = {s["metric"]["labels"]["response_code_class"]: sum(int(p["value"]["int64Value"])
                                                                     for p in s["points"]) for s in series}
        assert 150 < by_class["5xx"] < 350 and 150 < by_class["2xx"] < 350
