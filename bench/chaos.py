"""Chaos figures: kill -9 of the gateway, of the controller and of the canary during a rollout under bounded
loopback load.

    .venv/bin/python bench/chaos.py [--gateway-kills 10] [--controller-kills 20] [--canary-kills 3] [--rps 60]

A rollout at 10% runs on the bundled sample service behind the embedded gateway, with the demo's load generator
at `--rps`. Prints, per series, the failed user requests and the time to recovery (gateway: kill → first good
answer through the public port; controller: kill → first tick of the next `canaria run`, whose imports were done
beforehand), and a JSON line. Then, with the canary on 50 % of the traffic, kill -9 of the canary process
`--canary-kills` times (`canaria run` restarts it): the failed user requests and how long users saw errors (first
to last failed request; retry on stable is on), beside the canary errors the judge counted. Loopback only; every
process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos.canary_crash import crash_canary_under_load
from tests.chaos.harness import ChaosLoad, Zygote, gateway_pid, wait_for
from tests.chaos.test_kill9 import applied_weight, chaos_config, rollout_row, verdict_count
from tests.e2e.cli_helpers import gateway_urls


def summary(name: str, failed: list[int], recovery: list[float], requests: int) -> dict[str, object]:
    figures = {"series": name, "kills": len(recovery), "requests": requests, "failed": sum(failed),
               "failed_per_kill": failed, "recovery_median_s": round(statistics.median(recovery), 3),
               "recovery_max_s": round(max(recovery), 3)}
    print(f"{name}: {len(recovery)} kills, {requests} requests, {sum(failed)} failed; time to recovery "
          f"median {figures['recovery_median_s']} s, max {figures['recovery_max_s']} s", flush=True)
    return figures


def gateway_series(config: Path, zygote: Zygote, kills: int, rps: float) -> dict[str, object]:
    public, _ = gateway_urls(config)
    run = zygote.spawn("run", "-c", str(config))
    try:
        wait_for(lambda: verdict_count(config) > 0, timeout=60)
        times: list[float] = []
        with ChaosLoad(public, rps=rps) as load:
            time.sleep(0.5)
            for _ in range(kills):
                pid = gateway_pid(config)
                assert pid is not None
                times.append(time.monotonic())
                os.kill(pid, signal.SIGKILL)

                def back(old: int = pid) -> bool:
                    try:
                        return gateway_pid(config) not in (None, old) and httpx.get(f"{public}/health",
                                                                                   timeout=1).status_code == 200
                    except httpx.HTTPError:
                        return False

                if not wait_for(back, timeout=30):
                    raise SystemExit("the gateway was not brought back within 30 s")
                time.sleep(0.4)
            time.sleep(0.5)
        outages = [load.outage_after(t, until=end) for t, end in zip(times, [*times[1:], time.monotonic()],
                                                                          strict=True)]
        return summary("gateway kill -9", [o.failed for o in outages],
                       [o.recovered_s or float("nan") for o in outages], len(load.samples))
    finally:
        run.kill()


def controller_series(config: Path, zygote: Zygote, kills: int, rps: float) -> dict[str, object]:
    public, _ = gateway_urls(config)
    current = zygote.spawn("run", "-c", str(config))
    recovery: list[float] = []
    failed: list[int] = []
    try:
        wait_for(lambda: verdict_count(config) > 0, timeout=60)
        with ChaosLoad(public, rps=rps) as load:
            for i in range(kills):
                time.sleep((i % 5) / 10)
                killed = time.monotonic()
                current.kill()
                seen = verdict_count(config)
                current = zygote.spawn("run", "-c", str(config))
                if not wait_for(lambda n=seen: verdict_count(config) > n, timeout=30):
                    raise SystemExit("the restarted controller never ticked")
                recovery.append(time.monotonic() - killed)
                failed.append(load.failed_between(killed, time.monotonic()))
        return summary("controller kill -9", failed, recovery, len(load.samples))
    finally:
        current.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway-kills", type=int, default=10)
    parser.add_argument("--controller-kills", type=int, default=20)
    parser.add_argument("--canary-kills", type=int, default=3)
    parser.add_argument("--rps", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="canaria-chaos-") as tmp:
        workdir = Path(tmp)
        zygote = Zygote(workdir)
        config = chaos_config(workdir)
        try:
            code, output = zygote.run("enable-canary", "--traffic", "10", "-c", str(config))
            if code != 0:
                raise SystemExit(f"enable-canary failed: {output}")
            before = rollout_row(config)
            results = [gateway_series(config, zygote, args.gateway_kills, args.rps),
                       controller_series(config, zygote, args.controller_kills, args.rps)]
            after = rollout_row(config)
            resumed = after == before and applied_weight(config) == 10.0
            print(f"rollout after the kills: stage {after[2] + 1}, {after[3]:g}% "
                  f"({'same stage and weight' if resumed else f'CHANGED from {before}'})", flush=True)
            crashes = []
            for _ in range(args.canary_kills):
                code, output = zygote.run("enable-canary", "--traffic", "50", "-c", str(config))
                if code != 0:
                    raise SystemExit(f"enable-canary --traffic 50 failed: {output}")
                crash = crash_canary_under_load(config, zygote, rps=args.rps)
                print(crash.line(), flush=True)
                crashes.append(crash.to_dict())
            if crashes:
                worst = max(float(c["user_error_span_s"]) for c in crashes)  # type: ignore[arg-type]
                print(f"canary kill -9: user-visible errors lasted at most {worst:.3f} s over {len(crashes)} "
                      "kills (target <= 1 s)", flush=True)
            print(json.dumps({"chaos": results, "resumed_same_stage_and_weight": resumed, "canary_crash": crashes}))
        finally:
            zygote.run("rollback", "--force", "-c", str(config))
            zygote.run("stop", "-c", str(config))
            zygote.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
