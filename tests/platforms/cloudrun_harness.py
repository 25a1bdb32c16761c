"""A canaria config for a Cloud Run service served by the local fake, and the fake itself with ADC set up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from canaria.config import CanariaConfig, parse_config
from tests.emulators.cloudrun import CloudRunEmulator

PROJECT, REGION, SERVICE = "my-project", "asia-northeast3", "ion-api"
STABLE_IMAGE, CANARY_IMAGE = "registry.example/ion-api:v1", "registry.example/ion-api:v2"


def cloudrun_data(fake: CloudRunEmulator, state_dir: Path, **cloudrun: Any) -> dict[str, Any]:
    return {
        "service": SERVICE,
        "state_dir": str(state_dir),
        "platform": {"kind": "cloudrun", "cloudrun": {
            "project": PROJECT, "region": REGION, "service": SERVICE, "image": CANARY_IMAGE,
            "api_endpoint": fake.run_endpoint, "poll_interval": "0.05s", "ready_timeout": "1.5s", **cloudrun}},
        "metrics": {"provider": "cloud-monitoring", "cloud_monitoring": {
            "api_endpoint": fake.monitoring_endpoint, "alignment_period": "1s", "ingestion_delay": "1s"}},
    }


def cloudrun_config(fake: CloudRunEmulator, tmp_path: Path, **cloudrun: Any) -> CanariaConfig:
    return parse_config(yaml.safe_dump(cloudrun_data(fake, tmp_path / "state", **cloudrun)))


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudRunEmulator]:
    emulator = CloudRunEmulator(operation_delay=0.2, revision_ready_delay=0.1, sample_period=0.5, rps=200)
    with emulator:
        emulator.model.add_service(PROJECT, REGION, SERVICE, STABLE_IMAGE)
        for key, value in emulator.write_adc(tmp_path, project=PROJECT).items():
            monkeypatch.setenv(key, value)
        yield emulator
    assert emulator.violations == []
