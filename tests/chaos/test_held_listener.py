"""A gateway restart refuses no connection: the supervisor holds the public port while the gateway is dead.

Without the held socket a client that connects between the kill and the restart gets ECONNREFUSED (85–121
failed requests per kill under load before this); with it the connection waits in the kernel's accept queue
and the new gateway answers it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.errors import GatewayError
from canaria.gateway.listen import LISTEN_FDS_ENV, bind_listener
from canaria.platforms.local import LocalPlatform
from canaria.platforms.processes import free_port, pid_alive

UPSTREAM = Path(__file__).parents[1] / "platforms" / "upstream_server.py"

CONFIG = """
service: ion-api
state_dir: {state}
gateway: {{listen: "127.0.0.1:{public}", admin_listen: "127.0.0.1:{admin}", admin_token: "held-listener-token"}}
platform:
  stable: {{command: "{python} {upstream} {port} stable", port: {port}, health: /health}}
  canary: {{url: "http://127.0.0.1:9"}}
"""


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /held HTTP/1.1\r\nHost: ion-api\r\nConnection: close\r\n\r\n")
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("how", ["started by this supervisor", "found running (asked for its socket)"])
async def test_a_client_that_connects_while_the_gateway_is_dead_is_served_by_the_restarted_one(
        tmp_path: Path, how: str) -> None:
    public = free_port()
    config = parse_config(CONFIG.format(state=tmp_path / "s", public=public, admin=free_port(),
                                        python=sys.executable, upstream=UPSTREAM, port=free_port()))
    platform = first = LocalPlatform(config, owned=True)
    try:
        await platform.ensure_stable()
        if how.startswith("found"):  # an earlier `enable-canary` started it and exited: a new supervisor adopts it
            await first.close()
            platform = LocalPlatform(config, owned=True)
            await platform.ensure_stable()
        pid = platform._state["gateway"]["pid"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not pid_alive(pid)
        # the gateway is dead and nothing restarted it yet: the connection is accepted by the kernel all the same
        waiting = socket.create_connection(("127.0.0.1", public), timeout=10)
        health = await platform.supervise(canary=False)
        assert health.up, health.summary()
        assert platform._state["gateway"]["pid"] != pid
        answer = _get(waiting)
        waiting.close()
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"stable"), answer[:200]
    finally:
        await platform.shutdown()
        await platform.close()
        for proc in first._procs.values():
            proc.alive()  # reap what the first supervisor started and the second one stopped
    # released at shutdown: the port is refused again, not held by a dead supervisor
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", public), timeout=2).close()


def test_a_handed_down_socket_on_another_port_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    held = bind_listener(f"127.0.0.1:{free_port()}", "public")
    try:
        monkeypatch.setenv(LISTEN_FDS_ENV, f"public={held.fileno()}")
        with pytest.raises(GatewayError, match="bound to 127.0.0.1:.*not listening on 127.0.0.1:1"):
            bind_listener("127.0.0.1:1", "public")
        monkeypatch.setenv(LISTEN_FDS_ENV, "public=99999")
        with pytest.raises(GatewayError, match="is not an open socket"):
            bind_listener("127.0.0.1:1", "public")
    finally:
        held.close()


async def test_the_handoff_socket_is_private_and_refused_in_a_directory_others_can_enter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from canaria.gateway.handoff import SocketHandoff, handoff_path

    run = Path(tempfile.mkdtemp(prefix="cr-"))  # short: a unix socket path holds 108 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    path = handoff_path(tmp_path / "state", "ion-api")
    listener = bind_listener(f"127.0.0.1:{free_port()}", "public")
    try:
        handoff = SocketHandoff(path, listener)
        assert handoff.start()
        assert path.parent.stat().st_mode & 0o777 == 0o700 and path.stat().st_mode & 0o777 == 0o600
        handoff.close()
        assert not path.exists()
        path.parent.chmod(0o755)  # another user could reach the socket: no handoff rather than a leak
        assert not SocketHandoff(path, listener).start()
    finally:
        listener.close()
        shutil.rmtree(run)
