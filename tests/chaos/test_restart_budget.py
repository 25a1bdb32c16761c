"""The local platform restarts a dead canary at a bounded rate; past the budget the canary is a NO-GO naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from canaria.config import parse_config
from canaria.platforms.local import LocalPlatform
from canaria.platforms.processes import free_port
from canaria.platforms.restarts import RestartBudget

CONFIG = """
service: ion-api
state_dir: {state}
platform:
  stable: {{url: "http://127.0.0.1:9"}}
  canary: {{command: "{python} -c 'import sys; sys.exit(3)'", port: {port}, startup_timeout: 5s}}
  supervise: {{max_restarts: 2, restart_window: 60s}}
"""


def test_restart_budget_counts_only_the_window() -> None:
    budget = RestartBudget(max_restarts=2, window_s=10.0)
    entry: dict[str, object] = {}
    assert budget.allows(entry, 100.0)
    budget.record(entry, 100.0)
    budget.record(entry, 105.0)
    assert not budget.allows(entry, 109.0)
    assert budget.allows(entry, 111.0)  # the first restart left the window
    assert "restarted 2 times within 10 s" in budget.exhausted_reason("canary", entry, 109.0, "code 3")


async def test_a_canary_that_keeps_dying_is_restarted_then_named_as_the_problem(tmp_path: Path) -> None:
    config = parse_config(CONFIG.format(state=tmp_path / "state", python=sys.executable, port=free_port()))
    platform = LocalPlatform(config, owned=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    spec = config.platform.canary
    assert spec is not None
    platform._state["canary"] = {"pid": dead.pid, "command": spec.command, "url": spec.base_url, "port": spec.port}
    platform._save_state()
    try:
        details = []
        for _ in range(3):
            health = await platform.supervise(canary=True)
            canary = next(c for c in health.components if c.name == "canary")
            details.append(canary.detail)
            assert canary.state == "down" and not health.up
        assert "restarting failed: canary process exited with code 3" in details[0]
        assert "keeps dying: restarted 2 times within 60 s" in details[2]
        problem = await platform.canary_problem()
        assert problem is not None and "canary keeps dying" in problem
        assert [c.state for c in health.components if c.name != "canary"] == ["stopped", "down"]  # no gateway
    finally:
        await platform.shutdown()
        await platform.close()
