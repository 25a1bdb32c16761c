"""A running Kubernetes emulator per test, stopped at the end (also on failure)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.emulators.kubernetes import KubernetesEmulator


@pytest.fixture
def emulator() -> Iterator[KubernetesEmulator]:
    with KubernetesEmulator() as running:
        yield running


@pytest.fixture
def api(emulator: KubernetesEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=5.0) as client:
        yield client


@pytest.fixture
def quiet_api() -> Iterator[httpx.Client]:
    """An emulator without the simulated cluster: nothing writes but the test."""
    with KubernetesEmulator(simulate=False) as running, httpx.Client(base_url=running.url, timeout=5.0) as client:
        yield client
