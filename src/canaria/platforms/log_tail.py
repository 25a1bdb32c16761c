"""Follow a growing log file across rotation, in constant memory.

Each `lines()` call yields what was appended since the last call. Rotation by rename (logrotate's
default: a new file appears under the same name) is seen as a new inode: the old file is read to its
end first, then the new one from its start. Truncation (`copytruncate`) is seen as a size smaller than
the read position: reading restarts at 0. Memory is one read chunk plus at most one partial line
(lines longer than `max_line` are dropped, not buffered).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["LogTail"]

_CHUNK = 64 * 1024


class LogTail:
    def __init__(self, path: str | Path, *, from_start: bool = False, max_line: int = 64 * 1024) -> None:
        self.path = Path(path)
        self._from_start = from_start
        self._max_line = max_line
        self._fh: BinaryIO | None = None
        self._inode: tuple[int, int] | None = None
        self._partial = b""
        self._skipping = False  # inside an over-long line
        self.dropped_lines = 0
        self._started = False

    def __enter__(self) -> LogTail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open(self, *, at_end: bool) -> bool:
        try:
            fh = open(self.path, "rb")  # kept open between calls on purpose
        except OSError:
            return False
        st = os.fstat(fh.fileno())
        self._fh, self._inode = fh, (st.st_dev, st.st_ino)
        self._partial, self._skipping = b"", False
        if at_end:
            fh.seek(0, os.SEEK_END)
        return True

    def _drain(self) -> Iterator[str]:
        assert self._fh is not None
        while True:
            chunk = self._fh.read(_CHUNK)
            if not chunk:
                return
            start = 0
            while True:
                newline = chunk.find(b"\n", start)
                if newline < 0:
                    self._keep(chunk[start:])
                    break
                piece = chunk[start:newline]
                start = newline + 1
                if self._skipping:
                    self._skipping = False
                    self.dropped_lines += 1
                    continue
                line = self._partial + piece
                self._partial = b""
                if len(line) > self._max_line:
                    self.dropped_lines += 1
                    continue
                if line:
                    yield line.decode("utf-8", errors="replace")

    def _keep(self, rest: bytes) -> None:
        if self._skipping:
            return
        if len(self._partial) + len(rest) > self._max_line:
            self._partial, self._skipping = b"", True
        else:
            self._partial += rest

    def lines(self) -> Iterator[str]:
        """Yield every complete line appended since the last call."""
        if self._fh is None:
            first, self._started = not self._started, True  # a file that appears later is read whole
            if not self._open(at_end=first and not self._from_start):
                return
        yield from self._drain()
        try:
            st = os.stat(self.path)
        except OSError:
            return  # rotated away and not yet recreated: keep the old file until a new one appears
        assert self._fh is not None
        if (st.st_dev, st.st_ino) != self._inode:
            self.close()
            if self._open(at_end=False):
                yield from self._drain()
        elif st.st_size < self._fh.tell():
            self._fh.seek(0)
            self._partial, self._skipping = b"", False
            yield from self._drain()
