"""One driving controller per service: an advisory file lock that the kernel frees even on kill -9."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from canaria.errors import RolloutActiveError

__all__ = ["ControllerLock"]


class ControllerLock:
    def __init__(self, state_dir: Path, service: str) -> None:
        self.path = state_dir / f"controller-{service}.lock"
        self._fd: int | None = None

    def holder_pid(self) -> int | None:
        try:
            text = self.path.read_text().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    def is_held(self) -> bool:
        """True when another process holds the lock right now."""
        if self._fd is not None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def acquire(self, service: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = self.holder_pid()
            raise RolloutActiveError(
                f"another `canaria run` (pid {pid}) is already driving the rollout of {service}; "
                "use `canaria status` to watch it"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> ControllerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
