"""Access-log parsing and tailing across rotation and truncation."""

from __future__ import annotations

import os
from pathlib import Path

from canaria.platforms.access_log import parse_haproxy, parse_nginx_json
from canaria.platforms.log_tail import LogTail


def test_nginx_json_line() -> None:
    record = parse_nginx_json('{"time":"t","upstream":"127.0.0.1:1, 127.0.0.1:2","status":502,'
                              '"upstream_status":"502, 502","upstream_response_time":"0.001, 0.004",'
                              '"request_time":0.012}')
    assert record is not None
    assert (record.server, record.status, record.latency_ms, record.upstream_ms) == ("127.0.0.1:2", 502, 12.0, 4.0)
    assert parse_nginx_json('{"upstream":"-","status":200,"request_time":0.0}') is None
    assert parse_nginx_json("not json") is None


def test_haproxy_line_after_syslog_header() -> None:
    record = parse_haproxy("<134>Dec  1 19:30:00 haproxy[42]: canaria1 be_app canary 503 -1 7")
    assert record is not None and (record.server, record.status, record.latency_ms, record.upstream_ms) == (
        "canary", 503, 7.0, None)
    assert parse_haproxy("canaria1 be_app <NOSRV> 503 -1 0") is None
    assert parse_haproxy("Dec  1 something else") is None


def test_tail_starts_at_the_end_and_follows_appends(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("old\n")
    with LogTail(log) as tail:
        assert list(tail.lines()) == []
        with log.open("a") as fh:
            fh.write("one\ntw")
        assert list(tail.lines()) == ["one"]
        with log.open("a") as fh:
            fh.write("o\n")
        assert list(tail.lines()) == ["two"]


def test_tail_follows_rename_rotation_without_losing_the_old_files_end(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    with LogTail(log) as tail:
        list(tail.lines())
        with log.open("a") as fh:
            fh.write("before\n")
        os.rename(log, tmp_path / "a.log.1")
        with (tmp_path / "a.log.1").open("a") as fh:
            fh.write("late write to the old file\n")
        log.write_text("after\n")
        assert list(tail.lines()) == ["before", "late write to the old file", "after"]
        with log.open("a") as fh:
            fh.write("more\n")
        assert list(tail.lines()) == ["more"]


def test_tail_restarts_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    with LogTail(log) as tail:
        list(tail.lines())
        log.write_text("x" * 100 + "\n")
        assert len(list(tail.lines())) == 1
        log.write_text("short\n")  # copytruncate: same inode, smaller size
        assert list(tail.lines()) == ["short"]


def test_tail_drops_over_long_lines_in_constant_memory(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("")
    with LogTail(log, max_line=1000) as tail:
        list(tail.lines())
        with log.open("a") as fh:
            fh.write("y" * 500_000 + "\nok\n")
        assert list(tail.lines()) == ["ok"]
        assert tail.dropped_lines == 1


def test_tail_of_a_missing_file_waits_for_it(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with LogTail(log) as tail:
        assert list(tail.lines()) == []
        log.write_text("first\n")
        assert list(tail.lines()) == ["first"]
