"""Per-variant windows from the proxy's own access log (nginx, HAProxy): no Prometheus, no gateway.

Each line the proxy writes is parsed (`canaria.platforms.access_log`), attributed to stable or canary
by the server it names, and counted into the same `Meter` the embedded gateway keeps — so windows,
status classes and latency histograms are identical in shape and constant in memory. A file is tailed
across rotation; a `udp://` or `unix://` target is a syslog socket canaria listens on (HAProxy).
"""

from __future__ import annotations

from collections.abc import Callable

from canaria.gateway.measure import Meter, Snapshot
from canaria.platforms.access_log import AccessLogSpec, AccessRecord, VariantOf
from canaria.platforms.base import Platform
from canaria.platforms.log_tail import LogTail
from canaria.platforms.syslog_receiver import SyslogReceiver, is_syslog_target

__all__ = ["AccessLogSource", "access_log_of"]


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

    async def close(self) -> None:
        if self._tail is not None:
            self._tail.close()
            self._tail = None
        if self._receiver is not None:
            await self._receiver.stop()
            self._receiver = None
