"""Starting and stopping the OS processes canaria runs (gateway, stable, canary).

Real runs start them in their own session so they outlive `canaria run` (the data plane keeps serving
when the controller dies). Owned runs (demo, tests) also ask the kernel to kill them when canaria dies
(PR_SET_PDEATHSIG), so not even a kill -9 of the demo leaves orphans.
"""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from canaria.errors import PlatformError, PortInUseError

__all__ = ["ManagedProcess", "start_process", "stop_pid", "pid_alive", "ensure_port_free", "free_port"]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def ensure_port_free(host: str, port: int) -> None:
    """Raise PortInUseError when host:port cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortInUseError(host, port) from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class ManagedProcess:
    name: str
    pid: int
    popen: subprocess.Popen[bytes] | None
    log_path: Path

    def exit_code(self) -> int | None:
        """The exit code when the process has ended and it was our child; None while it runs."""
        if self.popen is not None:
            return self.popen.poll()
        return None if pid_alive(self.pid) else -1

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


_SHELL_SYNTAX = set("|&;<>()$`\\\"'*?[#~=%{}\n")


def command_argv(command: str) -> list[str] | str:
    """A plain command runs without a shell, so the process canaria watches (and the kernel's
    die-with-parent signal) is the service itself; anything with shell syntax runs under /bin/sh."""
    if any(ch in _SHELL_SYNTAX for ch in command):
        return command
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    return argv[1:] if argv[:1] == ["exec"] and len(argv) > 1 else argv


def start_process(
    name: str,
    argv: Sequence[str] | str,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    owned: bool = False,
    pass_fds: Sequence[int] = (),
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    try:
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                argv,
                shell=isinstance(argv, str),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=str(cwd) if cwd else None,
                preexec_fn=_die_with_parent if owned else os.setsid,
                close_fds=True,
                pass_fds=tuple(pass_fds),
            )
    except OSError as exc:
        raise PlatformError(f"cannot start {name}: {exc.strerror or exc}") from None
    return ManagedProcess(name=name, pid=popen.pid, popen=popen, log_path=log_path)


def stop_pid(pid: int | None, *, popen: subprocess.Popen[bytes] | None = None, timeout: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL after `timeout`; reap our own child."""
    if not pid:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline:
            if popen is not None and popen.poll() is not None:
                break
            if popen is None and not pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    if popen is not None:
        try:
            popen.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
