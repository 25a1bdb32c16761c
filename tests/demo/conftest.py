"""Fixtures for the demo package: in-process ASGI clients and real service subprocesses."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import canaria
from canaria.demo.service import READY_PREFIX

_SRC = str(Path(canaria.__file__).resolve().parents[1])


@contextlib.asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that calls the app in-process (no lifespan: unit tests need no background tasks)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://demo.test"
    ) as client:
        yield client


class RunningService:
    def __init__(self, process: subprocess.Popen[str], url: str, startup_s: float) -> None:
        self.process = process
        self.url = url
        self.startup_s = startup_s


@contextlib.contextmanager
def run_service(
    *args: str, env: dict[str, str] | None = None, ready_timeout_s: float = 10.0
) -> Iterator[RunningService]:
    """Start ``python -m canaria.demo.service --port 0 ARGS`` and yield once it announces its URL.

    The process is always terminated (then killed) on exit, whatever the test did.
    """
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CANARIA_")}
    child_env["PYTHONPATH"] = os.pathsep.join([_SRC, child_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    child_env.update(env or {})
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "canaria.demo.service", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
    )
    try:
        url = _await_ready(process, ready_timeout_s)
        yield RunningService(process, url, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def _await_ready(process: subprocess.Popen[str], timeout_s: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stdout.readline()
            if not line:
                err = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"service exited with {process.wait()} before it was ready: {err}")
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].split()[0]
    raise RuntimeError("service did not announce readiness in time")


@pytest.fixture
def service_factory() -> Callable[..., contextlib.AbstractContextManager[RunningService]]:
    return run_service


@pytest.fixture(scope="module")
def stable_service() -> Iterator[RunningService]:
    """One healthy v1 service shared by a module's tests (starting one costs ~0.5 s)."""
    with run_service("--version", "v1") as service:
        yield service


@pytest.fixture
def client_for() -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with client_for(app) as client:` — an in-process client for one app."""
    return asgi_client
