"""The one error tree of canaria.

Every failure a user can see is one of these, so the CLI maps them to exit codes in one place
and third-party errors (httpx, sqlite3, pydantic, OSError) are translated where they happen::

    CanariaError                      exit 1 unless a subclass says otherwise
    ├── ConfigError                   exit 2: bad canaria.yaml or bad flags; nothing was changed
    ├── UsageError                    exit 2: a command that cannot apply (bad value, unknown rollout)
    ├── StateError                    exit 2: an action that is not legal in the current phase
    │   └── RolloutActiveError        a second rollout for a service that already has one
    ├── InfrastructureError           exit 1: something canaria depends on failed
    │   ├── PortInUseError            a listen address is taken
    │   ├── GatewayError              the gateway's admin API did not answer as expected
    │   ├── PlatformError             a stable/canary process or platform call failed
    │   ├── MetricsError              the metrics provider failed (unreachable, bad query)
    │   └── StoreError                the SQLite store failed
    └── NotifyError                   a notification channel failed (recorded, never fatal)
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CanariaError",
    "ConfigError",
    "UsageError",
    "StateError",
    "RolloutActiveError",
    "InfrastructureError",
    "PortInUseError",
    "GatewayError",
    "PlatformError",
    "MetricsError",
    "StoreError",
    "NotifyError",
]


class CanariaError(Exception):
    """Base of every error canaria raises on purpose.

    The message is English (tests, logs and other tools match it). An error may also carry a catalogue `key` and
    its `params`, so the CLI (and every view of a recorded error) can say it in the reader's language; `text` is
    that translatable form (see `canaria.i18n.text`), or the English words as they are when there is no key.
    """

    exit_code: int = 1

    def __init__(self, *args: object, key: str | None = None, params: Mapping[str, object] | None = None) -> None:
        super().__init__(*args)
        self.key = key
        self.params = dict(params or {})

    @property
    def text(self) -> dict[str, object]:
        if self.key:
            return {"key": self.key, "params": self.params, "fallback": str(self)}
        return {"literal": str(self)}


class ConfigError(CanariaError):
    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None, key: str | None = None,
                 params: Mapping[str, object] | None = None) -> None:
        self.field = field
        self.line = line
        where = ""
        if field:
            where = f"{field}"
            if line:
                where += f" (line {line})"
            where += ": "
        self._message = message
        super().__init__(f"{where}{message}", key=key, params=params)

    @property
    def text(self) -> dict[str, object]:
        if not self.key or not self.field:
            return super().text
        inner = {"key": self.key, "params": self.params, "fallback": self._message}
        if self.line:
            return {"key": "error.at_field_line", "params": {"where": self.field, "line": self.line,
                                                             "message": inner}, "fallback": str(self)}
        return {"key": "error.at_field", "params": {"where": self.field, "message": inner}, "fallback": str(self)}


class UsageError(CanariaError):
    exit_code = 2


class StateError(CanariaError):
    exit_code = 2


class RolloutActiveError(StateError):
    pass


class InfrastructureError(CanariaError):
    exit_code = 1


class PortInUseError(InfrastructureError):
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(f"port {port} on {host} is already in use; choose another port or stop what uses it",
                         key="error.port_in_use", params={"host": host, "port": port})


class GatewayError(InfrastructureError):
    pass


class PlatformError(InfrastructureError):
    pass


class MetricsError(InfrastructureError):
    pass


class StoreError(InfrastructureError):
    pass


class NotifyError(CanariaError):
    pass
