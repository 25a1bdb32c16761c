"""Time from a NO-GO decision to the last request the canary serves, per platform.

    .venv/bin/python bench/nogo_to_last_canary_request.py [--rounds 5] [--connections 32]

For each data plane — the embedded gateway (admin API), nginx (include + `nginx -t` + graceful reload)
and HAProxy (runtime API) —
on 127.0.0.1 free ports: two origins, the canary at 50 %, `wrk -cN` keep-alive load; then at t0 the
platform's `rollback()` (what the controller calls on NO-GO). The canary origin records the wall-clock
time of every request it serves; the figure is (its last request) - t0, read after the load has gone
on for another second. Targets: <= 100 ms for the gateway and the runtime API, <= 1 s for an nginx
reload. Every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canaria.config import parse_config
from canaria.platforms import create_platform
from canaria.platforms.base import Platform
from canaria.platforms.processes import free_port
from tests.platforms.proxy_fixtures import (
    Origin,
    Processes,
    haproxy_platform,
    nginx_platform,
    run_wrk,
    start_haproxy,
    start_nginx,
    stop,
)


def _gateway(tmp: Path, stable: Origin, canary: Origin) -> tuple[Platform, str]:
    public, admin = free_port(), free_port()
    config = parse_config(f"""
service: bench
state_dir: {tmp / "state"}
platform: {{stable: {{url: "http://{stable.address}"}}, canary: {{url: "http://{canary.address}"}}}}
gateway: {{listen: "127.0.0.1:{public}", admin_listen: "127.0.0.1:{admin}", admin_token: bench-token}}
""")
    return create_platform(config, owned=True), f"http://127.0.0.1:{public}"


async def one_round(kind: str, connections: int) -> tuple[float, float]:
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix=f"canaria-bench-{kind}-"))
    try:
        stable, canary = procs.origin("stable"), procs.origin("canary")
        platform: Platform
        if kind == "gateway":
            platform, url = _gateway(tmp, stable, canary)
        elif kind == "nginx":
            nginx = start_nginx(tmp, procs, [stable.address], [canary.address])
            platform = nginx_platform(nginx, stable, canary, tmp)
            url = nginx.url
        else:
            proxy = start_haproxy(tmp, procs, stable, canary)
            platform = haproxy_platform(proxy, stable, canary, tmp)
            url = proxy.url
        try:
            await platform.ensure_stable()
            await platform.start_canary()
            await platform.set_route(50.0)
            while (await platform.verify_route()).state != "applied":
                await asyncio.sleep(0.01)
            done = asyncio.Event()
            load = asyncio.create_task(run_wrk(url + "/", 30, connections=connections, stop=done))
            await asyncio.sleep(1.0)
            t0 = time.time()
            await platform.rollback(keep_canary=True)
            returned = time.time() - t0
            await asyncio.sleep(1.0)
            done.set()
            result = await load
            last = canary.last_served()
            if result.requests == 0:
                raise RuntimeError(result.output)
            return max(0.0, last - t0), returned
        finally:
            if kind == "gateway":
                await platform.shutdown()
            await platform.close()
    finally:
        for proc in reversed(procs.started):
            stop(proc)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    targets = {"gateway": 0.1, "nginx": 1.0, "haproxy": 0.1}
    for kind, target in targets.items():
        figures = [await one_round(kind, args.connections) for _ in range(args.rounds)]
        last = [f[0] for f in figures]
        call = [f[1] for f in figures]
        verdict = "ok" if max(last) <= target else "OVER TARGET"
        print(f"{kind:8s} NO-GO -> last canary request: median {statistics.median(last) * 1000:7.1f} ms, "
              f"max {max(last) * 1000:7.1f} ms (target <= {target * 1000:.0f} ms: {verdict}); "
              f"rollback() returned after median {statistics.median(call) * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
