"""Throughput and added latency of the canaria gateway, against nginx as a peer proxy.

    PYTHONPATH=src python bench/gateway_vs_nginx.py [--duration 5] [--rounds 3] [--connections 32] [--rate 1000]
                                                    [--unique-headers]

Starts, all on 127.0.0.1 free ports:
  * two upstreams: one nginx (1 worker) answering a small static body on a "stable" and a "canary" port;
  * the canaria gateway (`python -m canaria.gateway`, uvloop, one process) at 5 % canary weight;
  * nginx as a peer proxy in front of the same two upstreams: `split_clients` 5 % canary, upstream
    keep-alive, `--nginx-workers` workers (default 1, the same one core the gateway's event loop uses).
Then:
  * `wrk -t2 -cN -dDs` against the upstream directly, then the nginx proxy and the gateway in alternating
    rounds (`--rounds`, default 3: nginx, gateway, nginx, gateway, ...), so that load from other processes
    on a shared machine falls on both proxies alike rather than on whichever ran second -> req/s summed
    over the rounds and the gateway/nginx ratio (target >= 0.45), plus each proxy's own CPU time per
    request (from /proc), which depends less on what else the machine is running;
  * a fixed-rate run (default 1,000 req/s; wrk here is wrk 4, which has no -R) with a small open-loop
    asyncio client, directly and through each proxy, in alternating 1-second slices -> P50/P99; the
    gateway's added P99 over direct (target <= 2 ms). Latency is measured from the moment a request is
    written to the moment its whole response has been read.
Every process it starts is stopped in `finally`, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path

BODY = "hello from the {name} upstream\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout:g}s")


def nginx_conf(tmp: Path, name: str, workers: int, http_block: str) -> str:
    return f"""
worker_processes {workers};
pid {tmp}/nginx-{name}.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
{http_block}
}}
"""


def upstream_block(stable_port: int, canary_port: int) -> str:
    servers = []
    for name, port in (("stable", stable_port), ("canary", canary_port)):
        text = BODY.format(name=name).replace("\n", "\\n")
        servers.append(
            f'    server {{ listen 127.0.0.1:{port}; location / {{ default_type text/plain; return 200 "{text}"; }} }}'
        )
    return "\n".join(servers)


def proxy_block(port: int, stable_port: int, canary_port: int) -> str:
    return f"""
    upstream stable {{ server 127.0.0.1:{stable_port}; keepalive 64; }}
    upstream canary {{ server 127.0.0.1:{canary_port}; keepalive 64; }}
    split_clients "${{request_id}}" $variant {{ 5% canary; * stable; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://$variant;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            add_header X-Canaria-Variant $variant;
        }}
    }}"""


class Processes:
    """Everything this benchmark started, stopped in reverse order."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop on SIGTERM; killing it", file=sys.stderr)
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children (nginx workers), from /proc via psutil."""
    import psutil

    total = 0.0
    process = psutil.Process(pid)
    for proc in (process, *process.children(recursive=True)):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


# `--unique-headers`: every request carries headers no other request has (a request id and a session cookie),
# as real users' requests do, so nothing that remembers a repeated header block can help either proxy.
UNIQUE_HEADERS_LUA = """
local n = 0
request = function()
  n = n + 1
  local id = string.format("%d-%d", n, math.random(1, 1000000000))
  return wrk.format("GET", "/", {["X-Request-Id"] = id, ["Cookie"] = "session=" .. id .. "; theme=dark",
                                 ["User-Agent"] = "bench/" .. (n % 97), ["Accept"] = "application/json"})
end
"""
WRK_SCRIPT: list[str] = []  # ["-s", path] when --unique-headers


def run_wrk(port: int, threads: int, connections: int, duration: float) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            *WRK_SCRIPT,
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "requests": requests,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


async def _fixed_rate(port: int, rate: float, duration: float, connections: int) -> list[float]:
    """Open-loop client: request i is sent at start + i/rate on a free keep-alive connection."""
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
    for _ in range(connections):
        idle.append(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    pending: set[asyncio.Task[None]] = set()

    async def one() -> None:
        conn = idle.popleft() if idle else await asyncio.open_connection("127.0.0.1", port)
        reader, writer = conn
        sent = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - sent) * 1000.0)
        idle.append(conn)

    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * duration)
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    for _reader, writer in idle:
        writer.close()
    return latencies


def fixed_rate(ports: dict[str, int], rate: float, duration: float) -> dict[str, dict[str, float]]:
    """P50/P99 per target at a fixed rate, run in 1-second slices that alternate between the targets,
    so background load on a shared machine falls on all of them alike rather than on whichever ran last."""
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    samples: dict[str, list[float]] = {name: [] for name in ports}
    with runner:
        for port in ports.values():
            runner.run(_fixed_rate(port, rate, 0.5, 8))  # warm-up, not measured
        for _ in range(max(1, round(duration))):
            for name, port in ports.items():
                samples[name] += runner.run(_fixed_rate(port, rate, 1.0, 8))
    out = {}
    for name, latencies in samples.items():
        latencies.sort()
        n = len(latencies)
        out[name] = {
            "n": n,
            "p50_ms": latencies[n // 2],
            "p99_ms": latencies[min(n - 1, int(n * 0.99))],
            "max_ms": latencies[-1],
        }
    return out


def set_weight(admin_port: int, token: str, weight: float) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{admin_port}/admin/weights",
        method="PUT",
        data=json.dumps({"canary": weight}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["canary_weight"] == weight


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk / fixed-rate run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s of the fixed-rate run")
    parser.add_argument("--nginx-workers", type=int, default=1, help="workers of the nginx peer proxy")
    parser.add_argument("--rounds", type=int, default=3, help="alternating nginx/gateway wrk rounds")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    parser.add_argument("--unique-headers", action="store_true",
                        help="every wrk request carries its own request id and cookie (no repeated header block)")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="canaria-bench-"))
    os.chmod(tmp, 0o755)  # nginx workers run as an unprivileged user when started by root
    if args.unique_headers:
        (tmp / "unique.lua").write_text(UNIQUE_HEADERS_LUA)
        WRK_SCRIPT[:] = ["-s", str(tmp / "unique.lua")]
    try:
        stable_port, canary_port, proxy_port = free_port(), free_port(), free_port()
        gw_port, admin_port = free_port(), free_port()
        (tmp / "upstreams.conf").write_text(
            nginx_conf(tmp, "up", 1, upstream_block(stable_port, canary_port))
        )
        (tmp / "proxy.conf").write_text(
            nginx_conf(tmp, "proxy", args.nginx_workers, proxy_block(proxy_port, stable_port, canary_port))
        )
        pids: dict[str, int] = {}
        for name in ("upstreams", "proxy"):
            pids[name] = procs.start(
                f"nginx-{name}",
                [
                    nginx,
                    "-p",
                    str(tmp),
                    "-e",
                    str(tmp / "nginx-error.log"),
                    "-c",
                    str(tmp / f"{name}.conf"),
                    "-g",
                    "daemon off;",
                ],
            ).pid
        token = "bench-token"
        (tmp / "canaria.yaml").write_text(
            f"""service: bench
state_dir: {tmp}/state
platform:
  kind: local
  stable: {{url: "http://127.0.0.1:{stable_port}"}}
  canary: {{url: "http://127.0.0.1:{canary_port}"}}
gateway:
  listen: "127.0.0.1:{gw_port}"
  admin_listen: "127.0.0.1:{admin_port}"
  admin_token: {token}
"""
        )
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        pids["gateway"] = procs.start(
            "canaria-gateway",
            [
                sys.executable,
                "-m",
                "canaria.gateway",
                "-c",
                str(tmp / "canaria.yaml"),
                "--log-level",
                "WARNING",
            ],
            env=env,
        ).pid
        for port in (stable_port, canary_port, proxy_port, gw_port, admin_port):
            wait_port(port)
        set_weight(admin_port, token, 5.0)

        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s (loopback, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.2f} before the runs)"
        )
        results: dict[str, dict[str, float]] = {}
        results["direct"] = run_wrk(stable_port, args.threads, args.connections, args.duration)
        r = results["direct"]
        print(f"  direct   {r['rps']:>10,.0f} req/s   non-2xx {r['non_2xx']:.0f}   socket errors {r['socket_errors']:.0f}")
        proxies = (("nginx", proxy_port, "proxy"), ("gateway", gw_port, "gateway"))
        totals = {name: {"requests": 0.0, "seconds": 0.0, "cpu": 0.0, "non_2xx": 0.0, "socket_errors": 0.0}
                  for name, _, _ in proxies}
        for round_no in range(1, max(1, args.rounds) + 1):
            line = f"  round {round_no}:"
            for name, port, owner in proxies:
                cpu_before = cpu_seconds(pids[owner])
                r = run_wrk(port, args.threads, args.connections, args.duration)
                cpu = cpu_seconds(pids[owner]) - cpu_before
                total = totals[name]
                total["requests"] += r["requests"]
                total["seconds"] += r["requests"] / r["rps"] if r["rps"] else args.duration
                total["cpu"] += cpu
                total["non_2xx"] += r["non_2xx"]
                total["socket_errors"] += r["socket_errors"]
                line += f"  {name} {r['rps']:>8,.0f} req/s ({cpu / r['requests'] * 1e6:.1f} us CPU/request)"
            print(line, flush=True)
        for name, _, _ in proxies:
            total = totals[name]
            results[name] = {
                "rps": total["requests"] / total["seconds"],
                "requests": total["requests"],
                "non_2xx": total["non_2xx"],
                "socket_errors": total["socket_errors"],
                "cpu_us_per_request": total["cpu"] / total["requests"] * 1e6,
            }
            r = results[name]
            print(
                f"  {name:8s} {r['rps']:>10,.0f} req/s   non-2xx {r['non_2xx']:.0f}   socket errors "
                f"{r['socket_errors']:.0f}   proxy CPU {r['cpu_us_per_request']:.1f} us/request"
            )
        ratio = results["gateway"]["rps"] / results["nginx"]["rps"]
        cpu_ratio = results["nginx"]["cpu_us_per_request"] / results["gateway"]["cpu_us_per_request"]
        print(
            f"  gateway / nginx = {ratio:.2f}x req/s (target >= 0.45x); {cpu_ratio:.2f}x by CPU per request"
        )

        print(
            f"fixed rate {args.rate:,.0f} req/s, {max(1, round(args.duration))} x 1 s per target in alternating "
            "slices, 8 keep-alive connections"
        )
        latency = fixed_rate(
            {"direct": stable_port, "nginx": proxy_port, "gateway": gw_port}, args.rate, args.duration
        )
        for name, r in latency.items():
            print(
                f"  {name:8s} P50 {r['p50_ms']:.3f} ms   P99 {r['p99_ms']:.3f} ms   max {r['max_ms']:.3f} ms"
                f"   ({r['n']:.0f} requests)"
            )
        added = latency["gateway"]["p99_ms"] - latency["direct"]["p99_ms"]
        added_nginx = latency["nginx"]["p99_ms"] - latency["direct"]["p99_ms"]
        print(f"  added P99: gateway {added:+.3f} ms (target <= 2 ms), nginx {added_nginx:+.3f} ms")
        if args.json:
            print(
                json.dumps(
                    {
                        "wrk": results,
                        "ratio": round(ratio, 3),
                        "cpu_ratio": round(cpu_ratio, 3),
                        "fixed_rate": latency,
                        "added_p99_ms": round(added, 3),
                    }
                )
            )
        return 0 if ratio >= 0.45 and added <= 2.0 else 1
    except KeyboardInterrupt:
        print("interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
