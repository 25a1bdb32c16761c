"""Real nginx, HAProxy and origin processes for the proxy tests: temp dirs, free loopback ports,
every process stopped at the end (also when the test fails). Never the system's nginx config."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from canaria.config import CanariaConfig, parse_config
from canaria.platforms.access_log import HAPROXY_LOG_FORMAT, NGINX_LOG_FORMAT
from canaria.platforms.haproxy import HaproxyPlatform
from canaria.platforms.nginx import NginxPlatform
from canaria.platforms.nginx_conf import NginxRoute, render_include
from canaria.platforms.processes import free_port
from tests.conftest import require_binary

UPSTREAM_SCRIPT = Path(__file__).with_name("upstream_server.py")


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on {port}")


def stop(proc: subprocess.Popen[bytes], sig_quit: bool = False) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Origin:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def count(self) -> int:
        return int(httpx.get(f"http://{self.address}/__count", timeout=2).json()["count"])

    def last_served(self) -> float:
        """Wall-clock time of the last request this origin served (0 when none)."""
        return float(httpx.get(f"http://{self.address}/__count", timeout=2).json()["last"])


@dataclass
class Processes:
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def origin(self, name: str, error_rate: float = 0.0) -> Origin:
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(UPSTREAM_SCRIPT), str(port), name, str(error_rate)],
                                stdin=subprocess.DEVNULL)
        self.started.append(proc)
        wait_port(port, proc, f"origin {name}")
        return Origin(name, port, proc)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    try:
        yield procs
    finally:
        for proc in reversed(procs.started):
            stop(proc)


@dataclass
class Nginx:
    root: Path
    port: int
    status_port: int
    include: Path
    access_log: Path
    conf: Path
    binary: str
    proc: subprocess.Popen[bytes] | None = None

    def flags(self) -> str:
        return f"-p {self.root} -c {self.conf} -e {self.root}/error.log"

    @property
    def test_command(self) -> str:
        return f"{self.binary} -t -q {self.flags()}"

    @property
    def reload_command(self) -> str:
        return f"{self.binary} -s reload {self.flags()}"

    @property
    def dump_command(self) -> str:
        return f"{self.binary} -T -q {self.flags()}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def status_listen(self) -> str:
        return f"127.0.0.1:{self.status_port}"


NGINX_CONF = """worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    {log_format}
    include {include};
    server {{
        listen 127.0.0.1:{port};
        access_log {access_log} canaria_json;
        location / {{
            proxy_pass http://$canaria_app_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(tmp_path: Path, procs: Processes, stable: list[str], canary: list[str]) -> Nginx:
    binary = require_binary("nginx", "/usr/sbin/nginx")
    root = tmp_path / "nginx"
    (root / "tmp").mkdir(parents=True)
    nginx = Nginx(root=root, port=free_port(), status_port=free_port(), include=root / "canaria" / "app.conf",
                  access_log=root / "access.json", conf=root / "nginx.conf", binary=binary)
    nginx.include.parent.mkdir()
    nginx.include.write_text(render_include(NginxRoute("app", tuple(stable), tuple(canary), 0.0, 0,
                                                       nginx.status_listen)))
    nginx.conf.write_text(NGINX_CONF.format(root=root, include=nginx.include, port=nginx.port,
                                            access_log=nginx.access_log, log_format=NGINX_LOG_FORMAT))
    nginx.proc = subprocess.Popen([binary, *nginx.flags().split()], stdin=subprocess.DEVNULL)
    procs.started.append(nginx.proc)
    wait_port(nginx.port, nginx.proc, "nginx")
    return nginx


@dataclass
class Haproxy:
    root: Path
    port: int
    socket: Path
    map_file: Path
    log_port: int
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


HAPROXY_CONF = """global
    stats socket {socket} mode 600 level admin
    log 127.0.0.1:{log_port} local0
defaults
    mode http
    log global
    option http-keep-alive
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    {log_format}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be_app
backend be_app
    balance roundrobin
    use-server canary if {{ req.hdr(X-Canary),map_str({map_file}) -m found }}
    server stable 127.0.0.1:{stable}  weight 100
    server canary 127.0.0.1:{canary} weight 0
"""


def start_haproxy(tmp_path: Path, procs: Processes, stable: Origin | int, canary: Origin | int) -> Haproxy:
    """HAProxy in front of two origins (or ports where canaria will start the versions)."""
    stable_port = stable.port if isinstance(stable, Origin) else stable
    canary_port = canary.port if isinstance(canary, Origin) else canary
    binary = require_binary("haproxy", "/usr/sbin/haproxy")
    root = tmp_path / "haproxy"
    root.mkdir()
    proxy = Haproxy(root=root, port=free_port(), socket=root / "admin.sock", map_file=root / "testers.map",
                    log_port=free_port(), conf=root / "haproxy.cfg")
    proxy.map_file.write_text("")
    proxy.conf.write_text(HAPROXY_CONF.format(socket=proxy.socket, log_port=proxy.log_port, port=proxy.port,
                                              map_file=proxy.map_file, stable=stable_port, canary=canary_port,
                                              log_format=HAPROXY_LOG_FORMAT))
    proxy.proc = subprocess.Popen([binary, "-db", "-f", str(proxy.conf)], stdin=subprocess.DEVNULL)
    procs.started.append(proxy.proc)
    wait_port(proxy.port, proxy.proc, "haproxy")
    deadline = time.monotonic() + 5
    while not proxy.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return proxy


def counts(*origins: Origin) -> dict[str, int]:
    return {o.name: o.count() for o in origins}


def dumps(data: object) -> str:
    return json.dumps(data, sort_keys=True)


def nginx_config(nginx: Nginx, stable: Origin | None, canary: Origin | None, tmp_path: Path,
                 **extra: Any) -> dict[str, Any]:
    """A canaria.yaml (as data) for this nginx: `platform.kind: nginx` with the test's own commands."""
    return {
        "service": "app", "state_dir": str(tmp_path / "state"),
        "platform": {
            "kind": "nginx",
            **_versions(stable, canary),
            "nginx": {"upstream_file": str(nginx.include), "upstream_name": "app",
                      "test_command": nginx.test_command, "reload_command": nginx.reload_command,
                      "dump_command": nginx.dump_command, "status_listen": nginx.status_listen,
                      "access_log": str(nginx.access_log)},
        },
        **extra,
    }


def haproxy_config(proxy: Haproxy, stable: Origin | None, canary: Origin | None, tmp_path: Path,
                   **extra: Any) -> dict[str, Any]:
    return {
        "service": "app", "state_dir": str(tmp_path / "state"),
        "platform": {
            "kind": "haproxy",
            **_versions(stable, canary),
            "haproxy": {"runtime_api": str(proxy.socket), "backend": "be_app", "map_file": str(proxy.map_file),
                        "access_log": f"udp://127.0.0.1:{proxy.log_port}"},
        },
        **extra,
    }


def _versions(stable: Origin | None, canary: Origin | None) -> dict[str, Any]:
    """url: versions for origins the test runs; none when the caller sets commands instead."""
    if stable is None or canary is None:
        return {}
    return {"stable": {"url": f"http://{stable.address}", "version": "v1"},
            "canary": {"url": f"http://{canary.address}", "version": "v2"}}


def as_config(data: dict[str, Any]) -> CanariaConfig:
    return parse_config(yaml.safe_dump(data))


def nginx_platform(nginx: Nginx, stable: Origin, canary: Origin, tmp_path: Path) -> NginxPlatform:
    return NginxPlatform(as_config(nginx_config(nginx, stable, canary, tmp_path)), owned=True)


def haproxy_platform(proxy: Haproxy, stable: Origin, canary: Origin, tmp_path: Path) -> HaproxyPlatform:
    return HaproxyPlatform(as_config(haproxy_config(proxy, stable, canary, tmp_path)), owned=True)


@dataclass
class WrkResult:
    requests: int
    failed: int  # socket errors + non-2xx/3xx
    output: str


async def run_wrk(url: str, seconds: float, *, connections: int = 32, threads: int = 1,
                  stop: asyncio.Event | None = None, close_connections: bool = False) -> WrkResult:
    """wrk against a loopback URL for at most `seconds`; `stop` ends it early (SIGINT: wrk still reports).
    Every socket error and non-2xx answer is a failure. `close_connections`: one request per connection."""
    assert url.startswith("http://127.0.0.1:")
    binary = require_binary("wrk")
    proc = await asyncio.create_subprocess_exec(
        binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
        *(["-H", "Connection: close"] if close_connections else []), url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    communicate = asyncio.ensure_future(proc.communicate())
    if stop is not None:
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({communicate, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not communicate.done():
            proc.send_signal(signal.SIGINT)
        stopper.cancel()
    out, _ = await communicate
    text = out.decode()
    total = re.search(r"(\d+) requests in", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    failed = (sum(int(g) for g in errors.groups()) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return WrkResult(int(total.group(1)) if total else 0, failed, text)


def within_binomial(observed: int, total: int, percent: float, sigmas: float = 4.0) -> bool:
    p = percent / 100.0
    expected = total * p
    return abs(observed - expected) <= sigmas * (total * p * (1 - p)) ** 0.5 + 1
