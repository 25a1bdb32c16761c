"""SQLite locked/busy and disk full: a clear error, nothing half-written, no event lost that was reported saved.

Disk full is real: a child process writes under RLIMIT_FSIZE (SIGXFSZ ignored, so the kernel answers EFBIG and
SQLite reports SQLITE_FULL) — no tmpfs or loop device needed. The controller's edge is proved with the same
sqlite3 error raised where the store meets SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.controller.clock import FakeClock
from canaria.errors import StoreError
from canaria.runtime.app import open_app
from canaria.state.store import Store
from tests.fakes import FakeMetrics, FakePlatform, variant


def test_a_write_locked_out_past_the_busy_timeout_fails_clearly_and_keeps_what_was_saved(tmp_path: Path) -> None:
    path = tmp_path / "canaria.db"
    store = Store(path, busy_timeout=0.2)
    saved = [store.add_event("note", at=float(i), message=f"n{i}").id for i in range(3)]
    other = sqlite3.connect(str(path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"state store error at .*canaria\.db: database is locked"):
        store.add_event("note", at=9.0, message="blocked")
    assert time.monotonic() - started < 5
    other.execute("ROLLBACK")
    other.close()
    after = store.add_event("note", at=10.0, message="after")
    assert [e.id for e in store.events(None, kinds=("note",))] == [*saved, after.id]
    assert "blocked" not in [e.message for e in store.events(None, kinds=("note",))]
    store.close()


def test_a_write_waits_for_a_short_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "canaria.db"
    store = Store(path, busy_timeout=5.0)
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    releaser = threading.Timer(0.3, lambda: other.execute("ROLLBACK"))
    releaser.start()
    store.add_event("note", at=1.0, message="waited")
    releaser.join()
    other.close()
    assert [e.message for e in store.events(None, kinds=("note",))] == ["waited"]
    store.close()


_FILL = """
import json, resource, signal, sys
from canaria.errors import StoreError
from canaria.state.store import Store
store = Store(sys.argv[1])
store.add_event("note", at=0.0, message="before the limit")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
limit = 256 * 1024
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
saved = []
try:
    for i in range(100_000):
        saved.append(store.add_event("note", at=float(i), message="x" * 2000).id)
except StoreError as exc:
    print(json.dumps({"saved": saved, "error": str(exc)}))
    sys.exit(1)
print(json.dumps({"saved": saved, "error": None}))
"""


def test_disk_full_is_one_clear_error_and_every_saved_event_is_there(tmp_path: Path) -> None:
    path = tmp_path / "canaria.db"
    child = subprocess.run([sys.executable, "-c", _FILL, str(path)], capture_output=True, text=True, timeout=60)
    assert child.returncode == 1, child.stdout + child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert "database or disk is full" in result["error"] or "disk I/O error" in result["error"], result["error"]
    assert len(result["saved"]) >= 5
    store = Store(path)  # no limit now: the file is whole and every event reported saved is in it
    assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [e.id for e in store.events(None, kinds=("note",))]
    assert ids[1:] == result["saved"]
    store.add_event("note", at=1.0, message="room again")
    store.close()


class FullStore(Store):
    """The store edge answering as SQLite does on a full disk, once armed."""

    full = False

    def update_rollout(self, rollout_id, *, now, **fields):  # type: ignore[no-untyped-def,override]
        if self.full:
            with self._tx():
                raise sqlite3.OperationalError("database or disk is full")
        return super().update_rollout(rollout_id, now=now, **fields)


async def test_a_stage_that_cannot_be_recorded_puts_traffic_back_and_says_why(tmp_path: Path) -> None:
    config = parse_config(f"""
service: ion-api
state_dir: {tmp_path / 'state'}
platform: {{stable: {{url: "http://127.0.0.1:1"}}, canary: {{url: "http://127.0.0.1:2"}}}}
analysis: {{interval: 1m, min_requests: 10}}
plan: {{stages: [{{traffic: 5, hold: 2m}}, {{traffic: 50, hold: 2m}}, {{traffic: 100}}]}}
""")
    platform, clock = FakePlatform(), FakeClock()
    app = open_app(config, clock=clock, platform=platform, metrics=FakeMetrics(lambda w, n: (variant(400),
                                                                                             variant(80))))
    store = FullStore(config.state_path / "canaria.db")
    app.controller.store = store
    rollout = await app.controller.start()
    clock.advance(60)
    await app.controller.tick()
    events_before = len(store.events(rollout.id))
    store.full = True
    clock.advance(60)
    result = await app.controller.tick()  # GO: the route moves to 50%, the stage cannot be written
    assert result is not None and result.action == "error"
    assert platform.weight == 5 and platform.calls[-2:] == ["weight 50", "weight 5"]
    error = store.events(rollout.id, kinds=("controller_error",))[-1]
    assert "database or disk is full" in error.message and error.severity == "critical"
    fresh = store.get_rollout(rollout.id)
    assert fresh is not None and fresh.stage_index == 0 and fresh.traffic == 5
    new_kinds = {e.kind for e in store.events(rollout.id)[events_before:]}
    assert new_kinds <= {"decision", "status_report", "controller_error"}  # no stage_advanced for a stage not entered
    store.full = False
    clock.advance(60)
    result = await app.controller.tick()  # room again: the next GO is recorded
    assert result is not None and result.action == "advance" and platform.weight == 50
    store.close()
    await app.close()
