"""The stable version's windows before a rollout from an nginx `canaria_json` log file (and its previous rotation):
counted as the meter counts a rollout's windows; HAProxy's format has no time, so it gives none."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from canaria.metrics.access_log import AccessLogSource, previous_rotations, stable_windows
from canaria.platforms.access_log import parse_haproxy, parse_nginx_json

KST = timezone(timedelta(hours=9))  # nginx writes local time with its offset
STABLE, CANARY = "127.0.0.1:8001", "127.0.0.1:8002"


def variant_of(server: str) -> Literal["stable", "canary"] | None:
    return "stable" if server == STABLE else "canary" if server == CANARY else None


def line(at: float, server: str, status: int = 200, seconds: float = 0.05) -> str:
    stamp = datetime.fromtimestamp(at, KST).isoformat(timespec="seconds")
    return json.dumps({"time": stamp, "upstream": server, "status": status, "upstream_status": str(status),
                       "upstream_response_time": f"{seconds:.3f}", "request_time": seconds}) + "\n"


def test_windows_hold_the_stable_lines_of_their_span_from_both_files(tmp_path: Path) -> None:
    end = 1_796_000_000.0
    log = tmp_path / "ion-api.json"
    older = [line(end - 3 * 300 + 10 + i, STABLE) for i in range(30)]  # window 0 (end-900, end-600]
    older += [line(end - 600, STABLE, 503)]  # on the edge: still window 0
    older += [line(end - 4 * 300 + 5, STABLE)]  # before the span: not read
    current = [line(end - 300 + 1 + i, STABLE, 500 if i % 10 == 0 else 200, 0.8) for i in range(20)]  # window 2
    current += [line(end - 200, CANARY, 500)] * 7  # the canary's lines are never the baseline
    current += ["not json\n", line(end + 1, STABLE)]  # the rollout's own traffic, after `end`: not read
    (tmp_path / "ion-api.json.1").write_text("".join(older))
    log.write_text("".join(current))
    windows = stable_windows([tmp_path / "ion-api.json.1", log], parse_nginx_json, variant_of,
                             start=end - 900, end=end, interval=300)
    assert [(w.requests, w.errors) for w in windows] == [(31, 1), (20, 2)]  # window 1 had none: left out
    assert windows[0].status == {"2xx": 30, "5xx": 1} and windows[1].latency.count == 20
    assert windows[1].p50_ms is not None and 700 < windows[1].p50_ms <= 800


async def test_a_log_without_times_or_a_socket_has_no_history(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    log.write_text("<134>Dec  1 19:30:00 haproxy[42]: canaria1 be_app stable 200 3 7\n" * 1500)
    source = AccessLogSource(str(log), parse_haproxy, lambda server: "stable")
    assert await source.history(start=0, end=2_000_000_000, interval=300) == []
    socket = AccessLogSource("udp://127.0.0.1:5140", parse_haproxy, lambda server: "stable")
    assert await socket.history(start=0, end=2_000_000_000, interval=300) == []


async def test_a_missing_previous_rotation_is_fewer_windows_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "ion-api.json"
    log.write_text(line(1_000_000_100.0, STABLE))
    source = AccessLogSource(str(log), parse_nginx_json, variant_of)
    windows = await source.history(start=1_000_000_000.0, end=1_000_000_300.0, interval=300)
    assert [w.requests for w in windows] == [1]


async def test_a_compressed_previous_rotation_is_read_too(tmp_path: Path) -> None:
    """logrotate's `compress` without `delaycompress` leaves NAME.1.gz: its lines join the baseline."""
    end = 1_796_000_000.0
    log = tmp_path / "ion-api.json"
    log.write_text("".join(line(end - 100 + i, STABLE) for i in range(5)))
    with gzip.open(tmp_path / "ion-api.json.1.gz", "wt", encoding="utf-8") as rotated:
        rotated.write("".join(line(end - 500 + i, STABLE, 500 if i < 2 else 200) for i in range(8)))
    os.utime(tmp_path / "ion-api.json.1.gz", (end - 400, end - 400))
    source = AccessLogSource(str(log), parse_nginx_json, variant_of)
    windows = await source.history(start=end - 600, end=end, interval=300)
    assert [(w.requests, w.errors) for w in windows] == [(8, 2), (5, 0)]


def test_the_uncompressed_rotation_wins_and_one_written_before_the_span_is_not_read(tmp_path: Path) -> None:
    log = tmp_path / "ion-api.json"
    log.write_text("")
    plain, packed = tmp_path / "ion-api.json.1", tmp_path / "ion-api.json.1.gz"
    plain.write_text("")
    packed.write_bytes(gzip.compress(b""))
    assert previous_rotations(log, since=0) == [plain]  # delaycompress: .1 is the newer one
    plain.unlink()
    assert previous_rotations(log, since=0) == [packed]
    os.utime(packed, (1_000, 1_000))
    assert previous_rotations(log, since=2_000) == []  # all its lines are older than the span
    packed.unlink()
    assert previous_rotations(log, since=0) == []


async def test_older_rotations_are_read_back_to_the_spans_start(tmp_path: Path) -> None:
    """Size-based rotation every few minutes: .1, .2.gz, .3.gz hold the span; .4.gz was written before it."""
    end = 1_796_000_000.0
    log = tmp_path / "ion-api.json"
    log.write_text("".join(line(end - 100 + i, STABLE) for i in range(5)))  # window (end-300, end]
    (tmp_path / "ion-api.json.1").write_text("".join(line(end - 280 + i, STABLE) for i in range(3)))
    os.utime(tmp_path / "ion-api.json.1", (end - 250, end - 250))
    for n, (first, count, last_write) in {2: (end - 450, 4, end - 400), 3: (end - 590, 6, end - 550),
                                          4: (end - 900, 9, end - 700)}.items():
        with gzip.open(tmp_path / f"ion-api.json.{n}.gz", "wt", encoding="utf-8") as rotated:
            rotated.write("".join(line(first + i, STABLE, 500 if n == 3 else 200) for i in range(count)))
        os.utime(tmp_path / f"ion-api.json.{n}.gz", (last_write, last_write))
    assert [p.name for p in previous_rotations(log, since=end - 600)] == [
        "ion-api.json.3.gz", "ion-api.json.2.gz", "ion-api.json.1"]
    source = AccessLogSource(str(log), parse_nginx_json, variant_of)
    windows = await source.history(start=end - 600, end=end, interval=300)
    assert [(w.requests, w.errors) for w in windows] == [(10, 6), (8, 0)]


def test_a_truncated_compressed_rotation_gives_what_it_holds(tmp_path: Path) -> None:
    end = 1_796_000_000.0
    whole = gzip.compress("".join(line(end - 250 + i / 10, STABLE) for i in range(2000)).encode())  # all in span
    cut = tmp_path / "ion-api.json.1.gz"
    cut.write_bytes(whole[: len(whole) // 2])  # logrotate still writing it
    log = tmp_path / "ion-api.json"
    log.write_text(line(end - 10, STABLE))
    windows = stable_windows([cut, log], parse_nginx_json, variant_of, start=end - 300, end=end, interval=300)
    # the lines before the cut and the current file's one; not all 2,000, and no error
    assert len(windows) == 1 and 1 < windows[0].requests < 2001
