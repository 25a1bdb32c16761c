"""Per-variant windows from the proxy's own access log (nginx, HAProxy): no Prometheus, no gateway.

Each line the proxy writes is parsed (`canaria.platforms.access_log`), attributed to stable or canary
by the server it names, and counted into the same `Meter` the embedded gateway keeps — so windows,
status classes and latency histograms are identical in shape and constant in memory. A file is tailed
across rotation; a `udp://` or `unix://` target is a syslog socket canaria listens on (HAProxy). The same
file, read from its start, gives the stable version's windows before the rollout (`history`), when its lines
carry a time (nginx's `canaria_json` does; HAProxy's `canaria1` format does not).
"""

from __future__ import annotations

import asyncio
import gzip
import math
from collections.abc import Callable
from pathlib import Path
from typing import IO

from canaria.analysis.window import VariantWindow
from canaria.gateway.measure import Meter, Snapshot
from canaria.platforms.access_log import AccessLogSpec, AccessRecord, VariantOf
from canaria.platforms.base import Platform
from canaria.platforms.log_tail import LogTail
from canaria.platforms.syslog_receiver import SyslogReceiver, is_syslog_target

__all__ = ["AccessLogSource", "access_log_of", "previous_rotations", "stable_windows"]


def access_log_of(platform: Platform) -> AccessLogSource | None:
    """The access-log source of a proxy platform that has one (nginx, HAProxy with `access_log`), or None
    (the embedded gateway counts requests itself). Tailing starts now: earlier lines are not this run's."""
    describe = getattr(platform, "access_log_source", None)
    spec = describe() if callable(describe) else None
    if not isinstance(spec, AccessLogSpec):
        return None
    source = AccessLogSource(spec.target, spec.parse, spec.variant_of)
    source.start_tail()
    return source


class AccessLogSource:
    def __init__(self, target: str, parse: Callable[[str], AccessRecord | None], variant_of: VariantOf) -> None:
        self.target = target
        self._parse = parse
        self._variant_of = variant_of
        self.meter = Meter()
        self.lines_seen = 0
        self.unattributed = 0  # lines naming a server that is neither stable nor canary
        self._tail: LogTail | None = None
        self._receiver: SyslogReceiver | None = None

    def start_tail(self) -> None:
        """A file: position at its end now, not at the first read."""
        if not is_syslog_target(self.target) and self._tail is None:
            self._tail = LogTail(self.target)
            self.poll()

    async def start(self) -> None:
        """Start reading from now on (what the log held before is not this rollout's traffic)."""
        if is_syslog_target(self.target):
            if self._receiver is None:
                self._receiver = SyslogReceiver(self.target, self.feed)
                await self._receiver.start()
        else:
            self.start_tail()

    @property
    def is_file(self) -> bool:
        return not is_syslog_target(self.target)

    def feed(self, line: str) -> None:
        record = self._parse(line)
        if record is None:
            return
        self.lines_seen += 1
        variant = self._variant_of(record.server)
        if variant is None:
            self.unattributed += 1
            return
        self.meter.record(variant, record.status, record.latency_ms)

    def poll(self) -> None:
        """Count what the file gained since the last call."""
        if self._tail is not None:
            for line in self._tail.lines():
                self.feed(line)

    def window(self, *, cut: bool) -> Snapshot:
        self.poll()
        return self.meter.cut() if cut else self.meter.window()

    async def history(self, *, start: float, end: float, interval: float) -> list[VariantWindow]:
        """The stable version's windows over [start, end] from what the log file and its rotations back to
        `start` (`previous_rotations`: `NAME.1` or `NAME.1.gz`, `NAME.2.gz`, …) still hold; none from a syslog
        socket, or from a format without a time (HAProxy's), or for the hours rotation already took away."""
        if not self.is_file:
            return []
        files = [*previous_rotations(Path(self.target), since=start), Path(self.target)]
        return await asyncio.to_thread(stable_windows, files, self._parse, self._variant_of,
                                       start=start, end=end, interval=interval)

    async def close(self) -> None:
        if self._tail is not None:
            self._tail.close()
            self._tail = None
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None


#: rotations looked at, at most (logrotate's `rotate N` keeps N; a baseline spans hours)
MAX_ROTATIONS = 32


def previous_rotations(log: Path, *, since: float) -> list[Path]:
    """The rotations before `log` that may hold lines after `since`, oldest first: `NAME.1` (logrotate's
    `delaycompress`, or no compression) or `NAME.1.gz`, then `NAME.2.gz` (or `NAME.2`), … A rotation last
    written before `since` holds only older lines, and so does every one after it: the walk stops there, or
    at the first number missing."""
    found: list[Path] = []
    for n in range(1, MAX_ROTATIONS + 1):
        for path in (log.with_name(f"{log.name}.{n}"), log.with_name(f"{log.name}.{n}.gz")):
            try:
                written = path.stat().st_mtime
            except OSError:
                continue
            break
        else:
            break  # no rotation with this number
        if written < since:
            break
        found.append(path)
    return found[::-1]


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


#: lines read without finding a time before a log is taken for one whose format has none
_UNTIMED_LIMIT = 1000


def stable_windows(files: list[Path], parse: Callable[[str], AccessRecord | None], variant_of: VariantOf, *,
                   start: float, end: float, interval: float) -> list[VariantWindow]:
    """Windows ending at `end`, end − interval, … over [start, end], counted as the Meter counts a rollout's."""
    interval = max(1.0, interval)
    count = int((end - start + 1e-6) // interval)
    meters: dict[int, Meter] = {}  # only the windows that have lines
    first = end - count * interval  # the oldest window's start
    for path in files:
        try:
            handle = _open_text(path)
        except OSError:
            continue  # no previous rotation, or rotated away: fewer windows, never an error
        untimed = 0
        try:
            with handle:
                for line in handle:
                    record = parse(line)
                    if record is None:
                        continue
                    if record.at is None:
                        untimed += 1
                        if untimed >= _UNTIMED_LIMIT:
                            break
                        continue
                    index = math.ceil((record.at - first) / interval) - 1  # (t − interval, t]
                    if 0 <= index < count and variant_of(record.server) == "stable":
                        meter = meters.get(index) or meters.setdefault(index, Meter())
                        meter.record("stable", record.status, record.latency_ms)
        except (OSError, EOFError):
            continue  # a truncated or corrupt .gz (being written by logrotate): what was read counts
    return [meters[index].window().control for index in sorted(meters)]
