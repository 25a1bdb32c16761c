"""`enable-canary --watch` hands the canary it started over to the controller: judged and rolled back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_helpers import canaria, gateway_urls, write_config


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = write_config(tmp_path, fault="errors", holds="20s", interval="1s")
    try:
        yield path
    finally:
        canaria(path, "stop")


def test_watch_judges_and_rolls_back_a_bad_canary(config: Path) -> None:
    public, _ = gateway_urls(config)
    stop = threading.Event()

    def load() -> None:  # bounded, loopback only; waits for the gateway the command starts
        with httpx.Client(timeout=2) as client:
            for i in range(4000):
                if stop.is_set():
                    return
                try:
                    client.get(f"{public}/api/v2/recommendations", params={"user_id": f"u{i}"})
                except httpx.HTTPError:
                    stop.wait(0.2)
                stop.wait(0.02)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        result = canaria(config, "enable-canary", "--traffic", "5", "--watch", "--json", timeout=90)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert result.returncode == 3, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "rolled_back" and summary["final_traffic"] == 0
    assert "Rolled back at 5 %" in result.stderr  # the live view (plain lines off a terminal) and the card
    assert "only `canaria run`" not in result.stderr
