"""An async client of HAProxy's runtime API (the stats socket with `level admin`).

Weights change with `set server BACKEND/SERVER weight N`: no reload, no dropped connection, in effect
for the next request. Tester routes live in a map file the user's config names in one line; the runtime
API edits the loaded map (`add map`, `clear map`), and canaria also rewrites the file so a reload keeps
the route. Each command opens one connection (HAProxy answers and closes in non-interactive mode), so
there is no session state to lose when HAProxy reloads.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from canaria.errors import ConfigError, PlatformError

__all__ = ["HaproxyRuntime", "ServerState", "parse_address"]

_TIMEOUT_S = 5.0
#: HAProxy's answers that mean the command failed (it answers errors with text, not codes).
_ERRORS = ("No such", "Unknown", "Permission denied", "Require", "Invalid", "Key not found", "Failed",
           "Backend is using", "'", "Missing", "Unable", "Can't", "Cannot", "expects", "Out of memory")


def parse_address(address: str) -> tuple[str, int] | str:
    """`/run/haproxy/admin.sock` (a unix socket) or `HOST:PORT` (TCP)."""
    if address.startswith("/") or address.startswith("unix:"):
        return address.removeprefix("unix:")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError("runtime_api is a socket path or HOST:PORT", field="platform.haproxy.runtime_api")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class ServerState:
    """One row of `show servers state`."""

    backend: str
    name: str
    address: str
    port: int
    operational: int  # 0 stopped, 1 starting, 2 running, 3 stopping
    admin: int  # bit flags; 0 = ready, 1/2/4 = maintenance, 8 drain
    weight: int  # current user weight
    initial_weight: int

    @property
    def serving(self) -> bool:
        return self.operational == 2 and not self.admin & 0x7


class HaproxyRuntime:
    """Commands to one HAProxy. Every error is a PlatformError with HAProxy's own words."""

    def __init__(self, address: str, *, timeout: float = _TIMEOUT_S) -> None:
        self.address = address
        self._target = parse_address(address)
        self._timeout = timeout

    async def command(self, line: str, *, batch: bool = False) -> str:
        """One command (or, with `batch`, several joined by `; ` — HAProxy runs them in order on one
        connection, which makes a weight change one round trip)."""
        if "\n" in line or (";" in line and not batch):
            raise ConfigError(f"runtime API command may not contain newline or ';': {line!r}")
        try:
            async with asyncio.timeout(self._timeout):
                if isinstance(self._target, str):
                    reader, writer = await asyncio.open_unix_connection(self._target)
                else:
                    reader, writer = await asyncio.open_connection(*self._target)
                try:
                    writer.write(line.encode() + b"\n")
                    await writer.drain()
                    data = await reader.read(-1)
                finally:
                    writer.close()
                    try:
                        await writer.wait_closed()
                    except OSError:
                        pass
        except TimeoutError:
            raise PlatformError(f"HAProxy runtime API at {self.address} did not answer {line.split()[0]!r} "
                                f"within {self._timeout:g}s", key="error.haproxy.no_answer",
                                params={"address": self.address, "command": repr(line.split()[0]),
                                        "timeout": f"{self._timeout:g}"}) from None
        except OSError as exc:
            raise PlatformError(f"cannot reach the HAProxy runtime API at {self.address}: "
                                f"{exc.strerror or exc}", key="error.haproxy.unreachable",
                                params={"address": self.address,
                                        "reason": {"literal": str(exc.strerror or exc)}}) from None
        return data.decode(errors="replace")

    async def _checked(self, line: str) -> str:
        answer = await self.command(line)
        text = answer.strip()
        if text.startswith(_ERRORS):
            raise PlatformError(f"HAProxy refused {line!r}: {text.splitlines()[0]}", key="error.haproxy.refused",
                                params={"command": repr(line), "detail": {"literal": text.splitlines()[0]}})
        return answer

    async def version(self) -> str:
        answer = await self._checked("show info")
        for row in answer.splitlines():
            if row.startswith("Version:"):
                return row.split(":", 1)[1].strip()
        raise PlatformError(f"HAProxy at {self.address} answered 'show info' without a version")

    async def set_weight(self, backend: str, server: str, weight: int) -> None:
        if not 0 <= weight <= 256:
            raise ConfigError(f"HAProxy weights are 0..256, got {weight}")
        await self._checked(f"set server {backend}/{server} weight {weight}")

    async def set_weights(self, backend: str, weights: list[tuple[str, int]]) -> None:
        """Several `set server ... weight` in one round trip, applied in the given order. On an error
        HAProxy still runs the rest; the caller reads back and restores."""
        for server, weight in weights:
            if not 0 <= weight <= 256:
                raise ConfigError(f"HAProxy weights are 0..256, got {weight}")
            if ";" in server or ";" in backend:
                raise ConfigError(f"a server name may not contain ';': {server!r}")
        line = "; ".join(f"set server {backend}/{server} weight {weight}" for server, weight in weights)
        answer = await self.command(line, batch=True)
        for row in answer.splitlines():
            if row.strip().startswith(_ERRORS):
                raise PlatformError(f"HAProxy refused a weight change in {backend}: {row.strip()}")

    async def get_weight(self, backend: str, server: str) -> int:
        answer = (await self._checked(f"get weight {backend}/{server}")).strip()
        match = re.match(r"^(\d+)", answer)
        if not match:
            raise PlatformError(f"HAProxy answered 'get weight {backend}/{server}' with {answer!r}")
        return int(match.group(1))

    async def servers(self, backend: str) -> list[ServerState]:
        answer = await self._checked(f"show servers state {backend}")
        rows: list[ServerState] = []
        columns: list[str] = []
        for raw in answer.splitlines():
            if raw.startswith("# "):
                columns = raw[2:].split()
                continue
            parts = raw.split()
            if not columns or len(parts) < len(columns) // 2:
                continue
            row = dict(zip(columns, parts, strict=False))
            try:
                rows.append(ServerState(
                    backend=row["be_name"], name=row["srv_name"], address=row["srv_addr"],
                    port=int(row.get("srv_port", "0")), operational=int(row["srv_op_state"]),
                    admin=int(row["srv_admin_state"]), weight=int(row["srv_uweight"]),
                    initial_weight=int(row["srv_iweight"])))
            except (KeyError, ValueError):
                raise PlatformError(f"cannot read HAProxy 'show servers state' row: {raw!r}") from None
        return rows

    async def show_map(self, map_file: str) -> dict[str, str]:
        answer = await self._checked(f"show map {map_file}")
        entries: dict[str, str] = {}
        for raw in answer.splitlines():
            parts = raw.split(None, 2)
            if len(parts) == 3 and parts[0].startswith("0x"):
                entries[parts[1]] = parts[2]
        return entries

    async def maps(self) -> list[str]:
        """The map files the running configuration loaded (`show map` without an argument)."""
        answer = await self._checked("show map")
        found: list[str] = []
        for raw in answer.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            match = re.search(r"\(([^)]+)\)", raw)
            if match:
                found.append(match.group(1))
        return found

    async def add_map(self, map_file: str, key: str, value: str) -> None:
        await self._checked(f"add map {map_file} {key} {value}")

    async def set_map(self, map_file: str, key: str, value: str) -> None:
        await self._checked(f"set map {map_file} {key} {value}")

    async def del_map(self, map_file: str, key: str) -> None:
        await self._checked(f"del map {map_file} {key}")

    async def clear_map(self, map_file: str) -> None:
        await self._checked(f"clear map {map_file}")
