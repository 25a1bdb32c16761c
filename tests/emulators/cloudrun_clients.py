"""Fixtures for the Cloud Run fake: started per test, ADC pointing at it, and Google's real clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.cloudrun import CloudRunEmulator

PROJECT, REGION, SERVICE = "my-project", "asia-northeast3", "ion-api"
SERVICE_NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"


@dataclass
class Clients:
    services: Any
    revisions: Any
    metrics: Any


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudRunEmulator]:
    emulator = CloudRunEmulator(operation_delay=0.3, revision_ready_delay=0.1, generate_traffic=False)
    with emulator:
        emulator.model.add_service(PROJECT, REGION, SERVICE, "registry.example/ion-api:v1")
        for key, value in emulator.write_adc(tmp_path, project=PROJECT).items():
            monkeypatch.setenv(key, value)
        yield emulator
    assert emulator.violations == []


@pytest.fixture
def clients(fake: CloudRunEmulator) -> Clients:
    import google.auth
    import grpc
    from google.api_core.client_options import ClientOptions
    from google.auth.transport import grpc as auth_grpc
    from google.auth.transport import requests as auth_requests
    from google.cloud import monitoring_v3, run_v2
    from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    options = ClientOptions(api_endpoint=fake.run_endpoint)
    channel = auth_grpc.secure_authorized_channel(credentials, auth_requests.Request(),
                                                  fake.monitoring_endpoint.removeprefix("http://"),
                                                  ssl_credentials=grpc.local_channel_credentials())
    return Clients(
        services=run_v2.ServicesClient(credentials=credentials, transport="rest", client_options=options),
        revisions=run_v2.RevisionsClient(credentials=credentials, transport="rest", client_options=options),
        metrics=monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel)))
