"""Real components for the integration tests: the demo service, a Prometheus server, background load.

Everything binds to loopback on free ports and is stopped by the caller's `finally` (context managers).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

import canaria
from canaria.demo.load import LoadStats, generate_load
from canaria.demo.service import READY_PREFIX
from canaria.platforms.processes import free_port

SRC = str(Path(canaria.__file__).resolve().parents[1])
REPO = Path(SRC).parent
DEPLOY = REPO / "deploy"


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARIA_")}
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra or {})
    return env


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()


class Service:
    """`python -m canaria.demo.service --port 0 ...`, ready once it prints its URL."""

    def __init__(self, *args: str, memory_limit: str = "512Mi") -> None:
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "canaria.demo.service", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=_child_env({"CANARIA_MEMORY_LIMIT": memory_limit}),
        )
        self.url = ""

    def wait_ready(self, timeout_s: float = 15.0) -> Service:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.process.stdout.readline()
                if not line:
                    raise RuntimeError(f"demo service {self.args} exited with {self.process.wait()}")
                if line.startswith(READY_PREFIX):
                    self.url = line[len(READY_PREFIX):].split()[0]
                    return self
        raise RuntimeError(f"demo service {self.args} did not become ready")

    @property
    def target(self) -> str:
        return self.url.removeprefix("http://")

    def stop(self) -> None:
        _stop(self.process)


class Prometheus:
    """A real Prometheus on a free loopback port with its own temporary storage."""

    def __init__(self, binary: str, workdir: Path, *, port: int | None = None, retention: str = "1h") -> None:
        self.binary = binary
        self.retention = retention  # longer for backfilled history, which would otherwise be deleted at once
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, config: dict[str, Any] | None = None, timeout_s: float = 20.0) -> Prometheus:
        """Start (or restart on the same port and storage) with `config`, else the config written before."""
        if config is not None:
            self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [self.binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={self.workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn",
                 f"--storage.tsdb.retention.time={self.retention}"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"prometheus not ready in {timeout_s} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr}
        if at is not None:
            params["time"] = str(at)
        body = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        result = body["data"]["result"]
        return result if body["data"]["resultType"] == "vector" else [{"metric": {}, "value": result}]

    def query_range(self, expr: str, *, start: float, end: float, step: float = 1.0) -> list[dict[str, Any]]:
        """The series of `expr` over [start, end], as Grafana evaluates a panel or an annotation over its range."""
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
        body = httpx.get(f"{self.url}/api/v1/query_range", params=params, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        return list(body["data"]["result"])

    def wait_for(self, expr: str, *, count: int = 1, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Poll until `expr` returns at least `count` series."""
        deadline = time.monotonic() + timeout_s
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if len(result) >= count:
                return result
            time.sleep(0.25)
        raise AssertionError(f"{expr} returned {len(result)} series, wanted {count}: {self.log_tail()}")


def prometheus_config(jobs: dict[str, list[tuple[str, dict[str, str]]]], *, rule_files: list[str]) -> dict[str, Any]:
    """The shipped deploy/prometheus/prometheus.yml with a 1 s interval and the tests' targets."""
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    shipped_jobs = {job["job_name"]: job for job in shipped["scrape_configs"]}
    scrape_configs = []
    for name, targets in jobs.items():
        base = dict(shipped_jobs.get(name) or shipped_jobs["ion-api"])
        base["job_name"] = name
        base["static_configs"] = [{"targets": [target], "labels": labels} for target, labels in targets]
        scrape_configs.append(base)
    return {
        "global": {**shipped["global"], "scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": rule_files,
        "scrape_configs": scrape_configs,
    }


class BackgroundLoad:
    """The demo load generator against several services at once, in its own thread and event loop."""

    def __init__(self, urls: list[str], *, rps: float, max_duration_s: float = 120.0) -> None:
        self.urls = urls
        self.rps = rps
        self.max_duration_s = max_duration_s
        self.stats: list[LoadStats] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canaria-test-load", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            self.stats = list(await asyncio.gather(*(
                generate_load(url, rps=self.rps, duration_s=self.max_duration_s, max_requests=20_000,
                              concurrency=24, stop=self._stop, seed=i, drain_s=2.0)
                for i, url in enumerate(self.urls))))

        asyncio.run(main())

    def start(self) -> BackgroundLoad:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)


@contextlib.contextmanager
def services(specs: dict[str, tuple[str, ...]]) -> Iterator[dict[str, Service]]:
    started: dict[str, Service] = {}
    try:
        for name, args in specs.items():
            started[name] = Service(*args)
        for service in started.values():
            service.wait_ready()
        yield started
    finally:
        for service in started.values():
            service.stop()
