"""Parse the proxy's access log into per-request records: which server answered, status, latency.

The exact formats (also in the canaria.yaml `canaria init --platform nginx|haproxy` writes):

nginx (JSON, `escape=json`)::

    log_format canaria_json escape=json '{"time":"$time_iso8601","upstream":"$upstream_addr",'
        '"status":$status,"upstream_status":"$upstream_status",'
        '"upstream_response_time":"$upstream_response_time","request_time":$request_time}';
    access_log /var/log/nginx/ion-api.json canaria_json;

HAProxy (one marker word, then fields separated by spaces; the syslog header before it is skipped)::

    log-format "canaria1 %b %s %ST %Tr %Ta"

`%s` is the server name (`stable`, `canary`, or the pool's server names), `%ST` the status, `%Tr` the
server's response time and `%Ta` the whole request's active time, both in milliseconds. The request
time (`$request_time`, `%Ta`) is the latency the judge compares, as the gateway measures it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["AccessLogSpec", "ParseLine", "AccessRecord", "parse_nginx_json", "parse_haproxy", "HAPROXY_LOG_FORMAT", "NGINX_LOG_FORMAT",
           "VariantOf"]

HAPROXY_MARKER = "canaria1"
HAPROXY_LOG_FORMAT = f'log-format "{HAPROXY_MARKER} %b %s %ST %Tr %Ta"'
NGINX_LOG_FORMAT = (
    "log_format canaria_json escape=json '{\"time\":\"$time_iso8601\",\"upstream\":\"$upstream_addr\","
    "\"status\":$status,\"upstream_status\":\"$upstream_status\","
    "\"upstream_response_time\":\"$upstream_response_time\",\"request_time\":$request_time}';")

VariantName = Literal["stable", "canary"]
#: Maps the server a log line names (nginx `host:port`, HAProxy server name) to its variant.
VariantOf = Callable[[str], VariantName | None]


@dataclass(frozen=True)
class AccessRecord:
    server: str  # nginx: the last upstream address tried; HAProxy: the server name
    status: int
    latency_ms: float  # the whole request, as the client saw it from the proxy
    upstream_ms: float | None  # the server's response time, when it answered
    at: float | None = None  # when it was logged (epoch s), if the format says: nginx's $time_iso8601, not HAProxy's


ParseLine = Callable[[str], "AccessRecord | None"]


@dataclass(frozen=True)
class AccessLogSpec:
    """What a proxy platform tells the builtin metrics provider: where its log is, how to read a line,
    and which variant a server belongs to."""

    target: str  # a file path, or udp://HOST:PORT / unix:///path for a syslog socket canaria listens on
    parse: ParseLine
    variant_of: VariantOf


def _seconds_ms(value: object) -> float | None:
    if isinstance(value, (int, float)):
        return float(value) * 1000.0
    if isinstance(value, str):
        last = value.replace(" : ", ",").split(",")[-1].strip()
        try:
            return float(last) * 1000.0
        except ValueError:
            return None
    return None


def _epoch(value: object) -> float | None:
    """$time_iso8601 ("2026-12-02T10:30:00+09:00") as epoch seconds; None when absent or not a time."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def parse_nginx_json(line: str) -> AccessRecord | None:
    """One `canaria_json` line; None for lines that are not (or name no upstream, like the status page)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, Mapping):
        return None
    upstream = data.get("upstream")
    if not isinstance(upstream, str) or upstream in ("", "-"):
        return None
    # "a, b" (next upstream tried) and "a : b" (internal redirect): the last one answered
    server = upstream.replace(" : ", ",").split(",")[-1].strip()
    try:
        status = int(data.get("status", 0))
    except (TypeError, ValueError):
        return None
    latency = _seconds_ms(data.get("request_time"))
    if latency is None:
        return None
    return AccessRecord(server, status, latency, _seconds_ms(data.get("upstream_response_time")),
                        _epoch(data.get("time")))


def parse_haproxy(line: str) -> AccessRecord | None:
    """One line carrying `canaria1 %b %s %ST %Tr %Ta` after any syslog header."""
    at = line.find(HAPROXY_MARKER + " ")
    if at < 0:
        return None
    parts = line[at:].split()
    if len(parts) < 6:
        return None
    _marker, _backend, server, status, server_ms, active_ms = parts[:6]
    if server.startswith("<"):  # <NOSRV>: no server was chosen, no variant to blame
        return None
    try:
        code = int(status)
        upstream = float(server_ms)
        total = float(active_ms)
    except ValueError:
        return None
    return AccessRecord(server, code, max(total, 0.0), upstream if upstream >= 0 else None)
