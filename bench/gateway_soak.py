"""Soak: a million requests through the canaria gateway, and its memory at the start and the end.

    PYTHONPATH=src python bench/gateway_soak.py [--requests 1000000] [--connections 64] [--max-seconds 900]

Starts, all on 127.0.0.1 free ports: one nginx answering a small body as "stable" and "canary", and the
gateway (`python -m canaria.gateway`, uvloop) in front of them. Then `wrk` runs in slices of `--slice`
seconds until `--requests` have been answered (bounded by `--max-seconds`); between slices the canary
weight moves (5, 20, 50, 0 %, ...) and a window is cut, as a rollout does, and some slices open and
close connections (`Connection: close`) so that the accept/close path is soaked too. After each slice
the gateway's resident memory (RSS) is read from /proc. Printed: RSS at start (after a warm-up), the
largest, and at the end, with the requests, errors and req/s. Target: end RSS <= 150 MB and flat
(end - start small against start). Every process it starts is stopped in `finally`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import urllib.request
from pathlib import Path

from gateway_vs_nginx import Processes, free_port, nginx_conf, run_wrk, set_weight, upstream_block, wait_port

WEIGHTS = (5.0, 20.0, 50.0, 0.0, 10.0, 100.0, 5.0)
CLOSE_SCRIPT = 'wrk.headers["Connection"] = "close"\n'


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 1e6


def cut_window(admin_port: int, token: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{admin_port}/admin/window/cut", method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        json.load(response)


def wrk_slice(port: int, connections: int, seconds: float, script: Path | None) -> dict[str, float]:
    if script is None:
        return run_wrk(port, 2, connections, seconds)
    import re
    import subprocess

    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--slice", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop after this long whatever the count")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="canaria-soak-"))
    os.chmod(tmp, 0o755)
    try:
        stable_port, canary_port, gw_port, admin_port = free_port(), free_port(), free_port(), free_port()
        (tmp / "up.conf").write_text(nginx_conf(tmp, "up", 1, upstream_block(stable_port, canary_port)))
        procs.start("nginx", [nginx, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(tmp / "up.conf"),
                              "-g", "daemon off;"])
        token = "soak-token"
        (tmp / "canaria.yaml").write_text(
            f"service: soak\nstate_dir: {tmp}/state\nplatform:\n  kind: local\n"
            f'  stable: {{url: "http://127.0.0.1:{stable_port}"}}\n  canary: {{url: "http://127.0.0.1:{canary_port}"}}\n'
            f'gateway:\n  listen: "127.0.0.1:{gw_port}"\n  admin_listen: "127.0.0.1:{admin_port}"\n'
            f"  admin_token: {token}\n"
        )
        (tmp / "close.lua").write_text(CLOSE_SCRIPT)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
        gateway = procs.start(
            "canaria-gateway",
            [sys.executable, "-m", "canaria.gateway", "-c", str(tmp / "canaria.yaml"), "--log-level", "WARNING"],
            env=env,
        )
        for port in (stable_port, canary_port, gw_port, admin_port):
            wait_port(port)
        boot_rss = rss_mb(gateway.pid)
        set_weight(admin_port, token, 5.0)
        run_wrk(gw_port, 2, args.connections, 2.0)  # warm-up: pools, allocator arenas
        start_rss = rss_mb(gateway.pid)
        print(f"gateway pid {gateway.pid}: RSS {boot_rss:.1f} MB at boot, {start_rss:.1f} MB after warm-up")
        total = errors = 0.0
        seconds = 0.0
        peak = start_rss
        i = 0
        while total < args.requests and seconds < args.max_seconds:
            script = tmp / "close.lua" if i % 5 == 4 else None  # every fifth slice: a connection per request
            result = wrk_slice(gw_port, args.connections, args.slice, script)
            total += result["requests"]
            errors += result["non_2xx"] + result["socket_errors"]
            seconds += args.slice
            rss = rss_mb(gateway.pid)
            peak = max(peak, rss)
            print(
                f"  slice {i + 1:3d}: {result['requests']:>9,.0f} requests{' (Connection: close)' if script else ''}"
                f", total {total:>11,.0f}, errors {errors:,.0f}, RSS {rss:.1f} MB"
            )
            set_weight(admin_port, token, WEIGHTS[i % len(WEIGHTS)])
            cut_window(admin_port, token)
            i += 1
        end_rss = rss_mb(gateway.pid)
        print(
            f"soak: {total:,.0f} requests in {seconds:g} s ({total / seconds:,.0f} req/s), errors {errors:,.0f}; "
            f"gateway RSS start {start_rss:.1f} MB, peak {peak:.1f} MB, end {end_rss:.1f} MB "
            f"(growth {end_rss - start_rss:+.1f} MB; target end <= 150 MB)"
        )
        if args.json:
            print(json.dumps({"requests": total, "errors": errors, "seconds": seconds, "rss_start_mb": start_rss,
                              "rss_peak_mb": peak, "rss_end_mb": end_rss}))
        return 0 if end_rss <= 150.0 and total >= args.requests else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
