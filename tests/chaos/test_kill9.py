"""kill -9 of the gateway ×10 and of the controller ×20 during a rollout under load; a canary that keeps dying.

Real processes on free loopback ports (the bundled sample service, the embedded gateway, `canaria run`), load
from the demo's generator at a bounded rate. The figures (failed requests, time to recovery) are printed; run
with `-s` to see them, or `bench/chaos.py` for the same scenarios as a benchmark.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from canaria.platforms.processes import pid_alive
from tests.chaos.harness import ChaosLoad, Forked, Zygote, gateway_pid, wait_for
from tests.e2e.cli_helpers import gateway_urls, write_config

SUPERVISE = {"interval": "0.2s", "max_restarts": 15, "restart_window": "60s"}


def chaos_config(tmp_path: Path, **platform_extra: object) -> Path:
    path = write_config(tmp_path, holds="10m", interval="0.5s")
    data = yaml.safe_load(path.read_text())
    data["platform"]["supervise"] = SUPERVISE
    data["platform"].update(platform_extra)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    forks = Zygote(tmp_path_factory.mktemp("forks"))
    try:
        yield forks
    finally:
        forks.close()


@pytest.fixture(scope="module")
def rollout(zygote: Zygote, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One rollout at 10% (stage 2 of 4) with the gateway and both versions running, for both kill series."""
    config = chaos_config(tmp_path_factory.mktemp("rollout"))
    try:
        code, output = zygote.run("enable-canary", "--traffic", "10", "-c", str(config))
        assert code == 0, output
        yield config
    finally:
        zygote.run("rollback", "--force", "-c", str(config))
        zygote.run("stop", "-c", str(config))


def controller(zygote: Zygote, config: Path) -> Forked:
    return zygote.spawn("run", "-c", str(config))


def db(config: Path) -> sqlite3.Connection:
    state_dir = Path(yaml.safe_load(config.read_text())["state_dir"])
    return sqlite3.connect(f"file:{state_dir / 'canaria.db'}?mode=ro", uri=True, timeout=5)


def verdict_count(config: Path) -> int:
    with db(config) as conn:
        return int(conn.execute("SELECT count(*) FROM verdicts").fetchone()[0])


def rollout_row(config: Path) -> tuple[str, str, int, float]:
    with db(config) as conn:
        row = conn.execute("SELECT id, phase, stage_index, traffic FROM rollouts WHERE active = 1").fetchone()
    return (str(row[0]), str(row[1]), int(row[2]), float(row[3]))


def applied_weight(config: Path) -> float:
    _, admin = gateway_urls(config)
    token = yaml.safe_load(config.read_text())["gateway"]["admin_token"]
    state = httpx.get(f"{admin}/admin/state", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    return float(state["canary_weight"])


def report(title: str, failed: list[int], recovery: list[float], total: int) -> None:
    print(f"\n{title}: {len(recovery)} kills, {total} requests, {sum(failed)} failed "
          f"(per kill: {failed}); time to recovery median {statistics.median(recovery):.2f} s, "
          f"max {max(recovery):.2f} s", file=sys.stderr)


def test_kill_9_of_the_gateway_10_times_during_a_rollout_under_load(zygote: Zygote, rollout: Path) -> None:
    public, _ = gateway_urls(rollout)
    before = rollout_row(rollout)
    run = controller(zygote, rollout)
    try:
        assert wait_for(lambda: verdict_count(rollout) > 0, timeout=30), "the controller never ticked"
        kills: list[float] = []
        with ChaosLoad(public, rps=60) as load:
            time.sleep(0.5)
            for _ in range(10):
                pid = gateway_pid(rollout)
                assert pid is not None
                kills.append(time.monotonic())
                os.kill(pid, signal.SIGKILL)

                def answers_again(old: int = pid) -> bool:
                    try:
                        return (gateway_pid(rollout) not in (None, old)
                                and httpx.get(f"{public}/health", timeout=1).status_code == 200)
                    except httpx.HTTPError:
                        return False

                assert wait_for(answers_again, timeout=20), "the gateway was not brought back"
                time.sleep(0.4)
            time.sleep(0.5)
        ends = [*kills[1:], time.monotonic()]
        outages = [load.outage_after(kill, until=end) for kill, end in zip(kills, ends, strict=True)]
        recovery = [o.recovered_s for o in outages]
        assert all(r is not None for r in recovery), outages
        report("gateway kill -9", [o.failed for o in outages], [r for r in recovery if r is not None],
               len(load.samples))
        assert max(r for r in recovery if r is not None) < 15.0
        # the rollout resumes where it was, with the gateway's persisted weight
        assert rollout_row(rollout) == before
        assert applied_weight(rollout) == 10.0
        code, output = zygote.run("status", "--json", "-c", str(rollout))
        assert code == 0 and json.loads(output.strip().splitlines()[-1])["data_plane"]["up"] is True, output
        with db(rollout) as conn:
            restarts = conn.execute("SELECT count(*) FROM events WHERE kind = 'data_plane_restarted'").fetchone()[0]
        assert restarts >= 10
    finally:
        run.kill()


def test_kill_9_of_the_controller_20_times_during_a_rollout_under_load(zygote: Zygote, rollout: Path) -> None:
    public, _ = gateway_urls(rollout)
    before = rollout_row(rollout)
    rng = random.Random(20)
    current = controller(zygote, rollout)
    recovery: list[float] = []
    failed: list[int] = []
    try:
        assert wait_for(lambda: verdict_count(rollout) > 0, timeout=30), "the controller never ticked"
        with ChaosLoad(public, rps=60) as load:
            for _ in range(20):
                time.sleep(rng.uniform(0.0, 0.5))  # somewhere in a tick, or between two
                killed_at = time.monotonic()
                current.kill()
                seen = verdict_count(rollout)
                current = controller(zygote, rollout)
                assert wait_for(lambda n=seen: verdict_count(rollout) > n, timeout=20), "no tick after restart"
                recovery.append(time.monotonic() - killed_at)
                failed.append(load.failed_between(killed_at, time.monotonic()))
        report("controller kill -9", failed, recovery, len(load.samples))
        assert sum(failed) == 0  # the data plane does not need its controller
        assert rollout_row(rollout) == before
        assert applied_weight(rollout) == 10.0
    finally:
        current.kill()


def test_status_says_when_the_gateway_is_down_and_enable_canary_brings_it_back(zygote: Zygote, rollout: Path) -> None:
    """Finding 3 without a controller running: `status` exits 1 naming the gateway; `enable-canary` restarts it."""
    pid = gateway_pid(rollout)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(pid), timeout=5)
    code, output = zygote.run("status", "--json", "-c", str(rollout))
    data = json.loads(output.strip().splitlines()[-1])
    gateway = next(c for c in data["data_plane"]["components"] if c["name"] == "gateway")
    assert code == 1 and data["data_plane"]["up"] is False and gateway["state"] == "down", output
    assert data["phase"] == "progressing" and data["traffic"]["canary"] == 10  # the existing keys stay
    code, output = zygote.run("status", "-c", str(rollout))
    assert code == 1 and "data plane: DOWN (gateway down" in output, output
    code, output = zygote.run("enable-canary", "--traffic", "10", "-c", str(rollout))
    assert code == 0, output
    assert gateway_pid(rollout) != pid and applied_weight(rollout) == 10.0
    code, output = zygote.run("status", "--json", "-c", str(rollout))
    assert code == 0 and json.loads(output.strip().splitlines()[-1])["data_plane"]["up"] is True


def test_a_canary_that_keeps_crashing_under_load_is_rolled_back(zygote: Zygote, tmp_path: Path) -> None:
    """The canary dies 6 s after each start (SIGKILL): restarted twice, then a NO-GO naming it."""
    config = chaos_config(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["platform"]["canary"]["command"] = "timeout -s KILL 6 " + data["platform"]["canary"]["command"]
    data["platform"]["supervise"] = {"interval": "0.2s", "max_restarts": 2, "restart_window": "60s"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    public, _ = gateway_urls(config)
    try:
        code, output = zygote.run("enable-canary", "--traffic", "50", "-c", str(config))
        assert code == 0, output
        with ChaosLoad(public, rps=30):
            code, output = zygote.run("run", "--json", "-c", str(config))
        assert code == 3, output
        summary = json.loads(output.strip().splitlines()[-1])
        assert summary["outcome"] == "rolled_back"
        reason = summary["rollback_reason"]
        print(f"\ncanary crash loop: rolled back: {reason}", file=sys.stderr)
        with db(config) as conn:
            restarted = conn.execute("SELECT message FROM events WHERE kind = 'data_plane_restarted'").fetchall()
        assert "keeps dying" in reason or "error rate" in reason, reason
        assert restarted or "error rate" in reason
        assert applied_weight(config) == 0.0
    finally:
        zygote.run("rollback", "--force", "-c", str(config))
        zygote.run("stop", "-c", str(config))
