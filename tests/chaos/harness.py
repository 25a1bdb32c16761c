"""Chaos harness: bounded loopback load that remembers when each request failed, controllers that can be killed.

The load is the demo's own generator (`canaria.demo.load.generate_load`) over a transport that records the time
and outcome of every request, so a test can say how many users saw an error and for how long.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from canaria.demo.load import LoadStats, generate_load

__all__ = ["ChaosLoad", "Forked", "Outage", "Zygote", "gateway_pid", "wait_for"]


class _RecordingTransport(httpx.AsyncBaseTransport):
    """The real network, with (monotonic time, ok) per request; ok = an answer below 500."""

    def __init__(self, samples: list[tuple[float, bool]]) -> None:
        self.inner = httpx.AsyncHTTPTransport(retries=0)
        self.samples = samples

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
        except Exception:
            self.samples.append((time.monotonic(), False))
            raise
        self.samples.append((time.monotonic(), response.status_code < 500))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Outage:
    failed: int
    recovered_s: float | None  # from the fault to the first good answer after it


@dataclass
class ChaosLoad:
    """`rps` requests/s to `base_url` in a thread until stopped (at most `duration_s`)."""

    base_url: str
    rps: float = 60.0
    duration_s: float = 300.0
    samples: list[tuple[float, bool]] = field(default_factory=list)
    stats: LoadStats | None = None

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="chaos-load", daemon=True)

    def _main(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            self.stats = await generate_load(self.base_url, rps=self.rps, duration_s=self.duration_s,
                                             max_requests=int(self.rps * self.duration_s), concurrency=16,
                                             stop=self._stop, timeout_s=3.0, drain_s=2.0, seed=10,
                                             transport=_RecordingTransport(self.samples))

        asyncio.run(body())

    def __enter__(self) -> ChaosLoad:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the load ended by itself (duration_s) meanwhile
                pass
        self._thread.join(15)

    def failed_between(self, start: float, end: float) -> int:
        return sum(1 for at, ok in list(self.samples) if start <= at <= end and not ok)

    def outage_after(self, fault_at: float, *, until: float) -> Outage:
        """Failures from `fault_at` to `until`, and when the first good answer after the last failure came."""
        window = [(at, ok) for at, ok in list(self.samples) if fault_at <= at <= until]
        failures = [at for at, ok in window if not ok]
        if not failures:
            return Outage(0, 0.0)
        good_after = [at for at, ok in window if ok and at > failures[-1]]
        return Outage(len(failures), (good_after[0] - fault_at) if good_after else None)


def gateway_pid(config: Path) -> int | None:
    state_dir = Path(yaml.safe_load(config.read_text())["state_dir"])
    try:
        data = json.loads((state_dir / "local-ion-api.json").read_text())
    except (OSError, ValueError):
        return None
    pid = (data.get("gateway") or {}).get("pid")
    return int(pid) if pid else None


def wait_for(predicate: Any, *, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


_ZYGOTE = r"""
import json, os, signal, sys
import canaria.cli.main as cli, canaria.runtime.runner, canaria.views.live, canaria.metrics.builtin
import canaria.platforms.local, canaria.notify.dispatcher, canaria.report
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "wait":
        _, status = os.waitpid(request["pid"], 0)
        print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
        continue
    pid = os.fork()
    if pid:
        print(json.dumps(pid), flush=True)
        continue
    code = 1
    try:  # the child: a real `canaria ...` process, forked from an interpreter whose imports are done
        os.setsid()
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.argv = ["canaria", *request["args"]]
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
"""


class Zygote:
    """Forks `canaria` commands from one interpreter whose imports are done: a controller can be killed and
    started again twenty times without paying Python's start-up each time (what is measured is canaria's own
    recovery), and the test's own CLI calls cost milliseconds."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
        self.process = subprocess.Popen([sys.executable, "-c", _ZYGOTE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, text=True)
        assert self._read() == "ready"
        self._count = 0

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _ask(self, request: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self._read())

    def spawn(self, *args: str) -> Forked:
        self._count += 1
        out = self.workdir / f"forked-{self._count}.out"
        pid = int(self._ask({"op": "fork", "args": list(args), "out": str(out)}))
        return Forked(self, pid, out, time.monotonic())

    def wait(self, pid: int) -> int:
        return int(self._ask({"op": "wait", "pid": pid}))

    def run(self, *args: str) -> tuple[int, str]:
        """A whole command: its exit code and output."""
        forked = self.spawn(*args)
        code = forked.wait()
        return code, forked.output()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Forked:
    zygote: Zygote
    pid: int
    out: Path
    started_at: float
    code: int | None = None

    def wait(self) -> int:
        if self.code is None:
            self.code = self.zygote.wait(self.pid)
        return self.code

    def kill(self) -> None:
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait()

    def output(self) -> str:
        try:
            return self.out.read_text(errors="replace")
        except OSError:
            return ""
