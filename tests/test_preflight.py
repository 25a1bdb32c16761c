"""Pre-flight: the program of a command is found the way the shell would run it."""

from __future__ import annotations

from canaria.config import UpstreamConfig
from canaria.runtime.preflight import _command_found


def spec(command: str) -> UpstreamConfig:
    return UpstreamConfig(command=command, port=9001)


def test_exec_and_assignments_are_the_shells() -> None:
    assert _command_found(spec("exec python3 -m http.server"))[0]
    assert _command_found(spec("PORT=9001 DEBUG=1 python3 app.py"))[0]
    ok, detail = _command_found(spec("exec no-such-program-here --port 1"))
    assert not ok and "'no-such-program-here' not found on PATH" in detail
