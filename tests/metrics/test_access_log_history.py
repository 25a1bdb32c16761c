"""The stable version's windows before a rollout from an nginx `canaria_json` log file (and its previous rotation):
counted as the meter counts a rollout's windows; HAProxy's format has no time, so it gives none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from canaria.metrics.access_log import AccessLogSource, stable_windows
from canaria.platforms.access_log import parse_haproxy, parse_nginx_json

KST = timezone(timedelta(hours=9))  # nginx writes local time with its offset
STABLE, CANARY = "127.0.0.1:8001", "127.0.0.1:8002"


def variant_of(server: str) -> str | None:
    return {STABLE: "stable", CANARY: "canary"}.get(server)  # type: ignore[return-value]


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
