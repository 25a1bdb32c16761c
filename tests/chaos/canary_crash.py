"""kill -9 of the canary process under load, with retry on stable: how long users see canary errors.

Shared by tests/chaos/test_canary_crash.py (which asserts the guarantee) and bench/chaos.py (which prints it).
The canary is the bundled sample service started by canaria's local platform; `canaria run` supervises it, so it
is restarted while the load goes on. What users see is measured from the load generator's own samples (every
request's time and outcome); what the judge sees comes from the gateway's totals (canary errors and the requests
retried on stable), read before and after.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from canaria.platforms.processes import pid_alive
from tests.chaos.harness import ChaosLoad, Zygote, wait_for
from tests.e2e.cli_helpers import gateway_urls

__all__ = ["CanaryCrash", "canary_pid", "crash_canary_under_load"]


@dataclass
class CanaryCrash:
    requests: int  # user requests sent from the kill to the end of the measurement
    user_failed: int  # of those, failed as the user saw them (5xx or no answer)
    user_error_span_s: float  # first to last failed user request (0 when at most one failed)
    canary_down_s: float | None  # kill -> the restarted canary answers its health check
    judge_canary_errors: int  # canary failures the gateway counted for the judge meanwhile
    retried_on_stable: int

    def line(self) -> str:
        down = f"{self.canary_down_s:.2f} s" if self.canary_down_s is not None else "not restarted"
        return (f"canary kill -9: {self.requests} requests after the kill, {self.user_failed} failed for users, "
                f"user-visible errors over {self.user_error_span_s:.3f} s; canary down {down}; the judge counted "
                f"{self.judge_canary_errors} canary errors, {self.retried_on_stable} retried on stable")

    def to_dict(self) -> dict[str, object]:
        return {"series": "canary kill -9", "requests": self.requests, "user_failed": self.user_failed,
                "user_error_span_s": round(self.user_error_span_s, 3), "canary_down_s": self.canary_down_s,
                "judge_canary_errors": self.judge_canary_errors, "retried_on_stable": self.retried_on_stable}


def canary_pid(config: Path) -> int | None:
    data = yaml.safe_load(config.read_text())
    state_file = Path(data["state_dir"]) / f"local-{data['service']}.json"
    try:
        pid = (json.loads(state_file.read_text()).get("canary") or {}).get("pid")
    except (OSError, ValueError):
        return None
    return int(pid) if pid else None


def _totals(config: Path) -> tuple[int, int]:
    _, admin = gateway_urls(config)
    token = yaml.safe_load(config.read_text())["gateway"]["admin_token"]
    totals = httpx.get(f"{admin}/admin/totals", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    return int(totals["canary"]["errors"]), int(totals["streams"]["canary"]["retried_on_stable"])


def _canary_url(config: Path) -> str:
    port = yaml.safe_load(config.read_text())["platform"]["canary"]["port"]
    return f"http://127.0.0.1:{port}/health"


def crash_canary_under_load(config: Path, zygote: Zygote, *, rps: float = 60.0, after_s: float = 2.0) -> CanaryCrash:
    """With the rollout enabled (the canary on part of the traffic): start `canaria run`, put load on the
    gateway, kill -9 the canary, keep the load on for `after_s` after it answers again (or 15 s)."""
    public, _ = gateway_urls(config)
    run = zygote.spawn("run", "-c", str(config))
    try:
        with ChaosLoad(public, rps=rps) as load:
            time.sleep(1.0)
            errors_before, retried_before = _totals(config)
            pid = canary_pid(config)
            assert pid is not None and pid_alive(pid), "the canary is not running"
            killed_at = time.monotonic()
            os.kill(pid, signal.SIGKILL)

            def canary_back() -> bool:
                if canary_pid(config) in (None, pid):
                    return False
                try:
                    return httpx.get(_canary_url(config), timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            back = wait_for(canary_back, timeout=15)
            down_s = time.monotonic() - killed_at if back else None
            time.sleep(after_s)
            errors_after, retried_after = _totals(config)
        window = [(at, ok) for at, ok in list(load.samples) if at >= killed_at]
        failures = [at for at, ok in window if not ok]
        span = failures[-1] - failures[0] if len(failures) > 1 else 0.0
        return CanaryCrash(len(window), len(failures), span, None if down_s is None else round(down_s, 3),
                           errors_after - errors_before, retried_after - retried_before)
    finally:
        run.kill()
