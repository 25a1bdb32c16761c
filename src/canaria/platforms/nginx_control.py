"""Apply an include to a running nginx safely, and read back what its workers serve.

Every change is: write the new file beside the old one and rename it into place (never a half-written
file), run `test_command` (`nginx -t`); only when it passes run `reload_command` (a graceful reload: old
workers finish their requests). When either fails the previous file is put back, so the next test or
reload loads the routing that was serving, and the error carries nginx's own line (`[emerg] … in
/etc/nginx/…:12`).
"""

from __future__ import annotations

import asyncio
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from canaria.errors import ConfigError, PlatformError
from canaria.foundation.files import write_atomic

__all__ = ["NginxControl", "CommandResult", "run_command", "nginx_error_line"]

_COMMAND_TIMEOUT_S = 30.0


@dataclass
class CommandResult:
    returncode: int
    output: str


async def run_command(command: str, *, timeout: float = _COMMAND_TIMEOUT_S) -> CommandResult:
    """Run a configured command without a shell; its stdout and stderr together."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"cannot parse command {command!r}: {exc}") from None
    if not argv:
        raise ConfigError("empty command")
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
    except OSError as exc:
        raise PlatformError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise PlatformError(f"{command!r} did not finish within {timeout:g}s") from None
    return CommandResult(proc.returncode or 0, out.decode(errors="replace"))


def nginx_error_line(output: str) -> str:
    """nginx's own reason: the first `[emerg]`/`[alert]`/`[error]` line, else the last non-empty line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for level in ("[emerg]", "[alert]", "[crit]", "[error]"):
        for line in lines:
            if level in line:
                return line
    return lines[-1] if lines else "no output"


class NginxControl:
    """One include file plus the commands that test and reload the nginx that includes it."""

    def __init__(self, include: Path, *, test_command: str, reload_command: str, dump_command: str,
                 status_url: str) -> None:
        self.include = include
        self.test_command = test_command
        self.reload_command = reload_command
        self.dump_command = dump_command
        self.status_url = status_url
        self._http = httpx.AsyncClient(timeout=2.0, trust_env=False)

    async def close(self) -> None:
        await self._http.aclose()

    async def apply(self, text: str) -> str | None:
        """Install `text` as the include and reload nginx; on any failure the previous file is back.
        Returns the previous content (None: there was no file), for `restore` after a later failure."""
        try:
            previous = self.include.read_text(encoding="utf-8") if self.include.exists() else None
        except OSError as exc:
            raise PlatformError(f"cannot read {self.include}: {exc.strerror or exc}") from None
        try:
            write_atomic(self.include, text)
        except OSError as exc:
            raise PlatformError(f"cannot write {self.include}: {exc.strerror or exc}") from None
        tested = await run_command(self.test_command)
        if tested.returncode != 0:
            self._restore(previous)
            line = nginx_error_line(tested.output)
            raise PlatformError(f"nginx rejected the configuration, previous routing kept: {line}",
                                key="error.nginx.rejected", params={"detail": {"literal": line}})
        reloaded = await run_command(self.reload_command)
        if reloaded.returncode != 0:
            self._restore(previous)
            line = nginx_error_line(reloaded.output)
            raise PlatformError(f"nginx reload failed, previous routing kept: {line}",
                                key="error.nginx.reload_failed", params={"detail": {"literal": line}})
        return previous

    async def restore(self, previous: str | None) -> None:
        """Put the previous include back and ask nginx to load it again (best effort: a reload is what
        failed; the file on disk is the previous one either way)."""
        self._restore(previous)
        await run_command(self.reload_command)

    def _restore(self, previous: str | None) -> None:
        try:
            if previous is None:
                self.include.unlink(missing_ok=True)
            else:
                write_atomic(self.include, previous)
        except OSError as exc:
            raise PlatformError(f"cannot restore {self.include}: {exc.strerror or exc}") from None

    async def loaded(self) -> dict[str, Any] | None:
        """The route document the running workers serve (None: nginx does not serve canaria's status,
        e.g. the include is not loaded yet)."""
        try:
            response = await self._http.get(self.status_url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            document = response.json()
        except json.JSONDecodeError:
            return None
        return document if isinstance(document, dict) and document.get("canaria") == 1 else None

    async def dump(self) -> str:
        """`nginx -T`: the configuration nginx would load, every included file in full."""
        result = await run_command(self.dump_command)
        if result.returncode != 0:
            said = {"command": repr(self.dump_command), "detail": nginx_error_line(result.output)}
            raise PlatformError(f"{said['command']} failed: {said['detail']}", key="error.nginx.dump_failed",
                                params=said)
        return result.output
