"""The live view in a real terminal (tmux) and through a pipe.

In a terminal the panel is redrawn in place: the scrollback holds events and the final card, never a
stacked copy of the panel. Off a terminal every event is one timestamped line, printed once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.conftest import require_binary

CANARIA = [sys.executable, "-m", "canaria"]
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [·✓⚠✖] ")


def _tmux(tmux: str, socket: str, *args: str) -> str:
    return subprocess.run([tmux, "-L", socket, *args], capture_output=True, text=True, timeout=20,
                          check=True).stdout


SIZES = ((80, 24), (160, 45))


def test_panel_is_redrawn_in_place_and_ends_on_the_card(tmp_path: Path) -> None:
    """Both terminal sizes at once (two tmux servers), to keep the test's wall time to one demo."""
    tmux = require_binary("tmux")
    sessions = []
    for width, height in SIZES:
        folder = tmp_path / f"{width}x{height}"
        folder.mkdir()
        socket = f"canaria-test-{uuid.uuid4().hex[:8]}"
        sessions.append((width, socket, folder))
    try:
        for (width, height), (_, socket, folder) in zip(SIZES, sessions, strict=True):
            command = (f"cd {folder} && env TERM=xterm-256color {' '.join(CANARIA)} demo --scenario errors "
                       f"--rps 60; echo exit=$? > {folder / 'done'}; sleep 300")
            _tmux(tmux, socket, "new-session", "-d", "-x", str(width), "-y", str(height), command)
        deadline = time.monotonic() + 150
        while not all((f / "done").exists() for _, _, f in sessions) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(0.5)
        captured = []
        for width, socket, folder in sessions:
            assert (folder / "done").exists(), _tmux(tmux, socket, "capture-pane", "-p")
            assert (folder / "done").read_text().strip() == "exit=3"
            captured.append((width, _tmux(tmux, socket, "capture-pane", "-p"),
                             _tmux(tmux, socket, "capture-pane", "-p", "-S", "-")))
    finally:
        for _, socket, _ in sessions:
            subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, timeout=20)
    for width, screen, history in captured:
        (tmp_path / f"history-{width}.txt").write_text(history)
        # no stacked frames: the live panel (title "… · progressing") never stays behind in the scrollback
        assert "ion-api · progressing" not in history, history
        titles = [line for line in history.splitlines() if "canaria · ion-api ·" in line]
        assert len(titles) == 1 and "rolled back" in titles[0], history
        # the card is on the final screen, whole: its title, the failed requests and the next step
        assert "canaria · ion-api · rolled back" in screen, screen
        assert "Failed user requests" in screen and "Next:" in screen, screen
        # the decision and the rollback scrolled above the panel as events
        assert "Rolled back at 5 %" in history, history
        assert max(len(line) for line in screen.splitlines()) <= width


def test_piped_output_is_one_timestamped_line_per_event(tmp_path: Path) -> None:
    result = subprocess.run([*CANARIA, "demo", "--scenario", "errors", "--rps", "60"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=150)
    assert result.returncode == 3, result.stderr[-3000:]
    output = result.stdout + result.stderr
    event_lines = [line for line in output.splitlines() if _STAMP.match(line)]
    assert event_lines, output
    bodies = [line.split(" ", 2)[2] for line in event_lines]
    assert len(bodies) == len(set(bodies)), "an event was printed twice:\n" + "\n".join(event_lines)
    assert not any("[decision]" in line or "[event]" in line for line in output.splitlines())
    assert sum("Deployment status" in line for line in output.splitlines()) == \
        sum("Deployment status" in body for body in bodies), output  # each report once, on its event line
    assert "…" not in output  # nothing cut off a terminal
    assert any(line.startswith("Rolled back at 5 %") or "Rolled back at 5 %" in line for line in event_lines)
    assert "== canaria · ion-api · rolled back ==" in result.stdout
