"""The embedded gateway as a process of the local platform: started, found, and kept on one public socket.

The gateway runs as its own process (`python -m canaria.gateway`), so a crash of the controller never takes the
data plane with it. This part of the local platform starts it when nobody answers on the admin port, knows a new
boot by its boot id, and keeps the public port bound across its restarts (`held_listener.py`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaria.config import CanariaConfig, parse_address
from canaria.errors import GatewayError, PlatformError
from canaria.gateway.client import GatewayClient
from canaria.gateway.handoff import handoff_path
from canaria.platforms.held_listener import HeldListener
from canaria.platforms.processes import ManagedProcess, ensure_port_free, start_process

__all__ = ["LocalGatewayProcess"]


class LocalGatewayProcess:
    config: CanariaConfig
    gateway: GatewayClient
    owned: bool
    _state: dict[str, Any]
    _procs: dict[str, ManagedProcess]
    _log_dir: Path
    _listener: HeldListener
    _asked_boot: object

    if TYPE_CHECKING:  # provided by LocalPlatform
        def _save_state(self) -> None: ...
        def _config_file(self) -> Path: ...

    async def _gateway_health(self) -> dict[str, Any] | None:
        try:
            return await self.gateway.health()
        except GatewayError:
            return None

    def _note_gateway(self, health: dict[str, Any]) -> bool:
        """Remember the gateway that answers; True when it is a new boot of the one seen before (it restarted)."""
        if not self._listener.held and health.get("boot_id") != self._asked_boot:
            self._asked_boot = health.get("boot_id")  # ask each boot once, not every supervision second
            self._listener.adopt(handoff_path(self.config.state_path, self.config.service))
        entry = self._state.setdefault("gateway", {})
        boot = health.get("boot_id")
        restarted = bool(entry.get("boot_id")) and boot != entry.get("boot_id")
        if entry.get("boot_id") != boot or entry.get("pid") != health.get("pid"):
            entry.update(boot_id=boot, pid=health.get("pid"))
            self._save_state()
        return restarted

    async def _ensure_gateway(self) -> None:
        health = await self._gateway_health()
        if health is not None:
            self._note_gateway(health)
            return
        await self._start_gateway()

    def _ensure_gateway_ports_free(self) -> None:
        """PortInUseError unless both gateway ports can be had; the public one may be ours already (held)."""
        for address in (self.config.gateway.listen, self.config.gateway.admin_listen):
            host, port = parse_address(address)
            if not self._listener.covers(host, port):
                ensure_port_free(host, port)

    async def _start_gateway(self) -> None:
        dead = self._procs.pop("gateway", None)
        if dead is not None:
            dead.alive()  # reaps the one that died (no zombie left behind by a restart)
        self._ensure_gateway_ports_free()
        fd = self._listener.acquire()
        proc = start_process(
            "gateway",
            [sys.executable, "-m", "canaria.gateway", "-c", str(self._config_file())],
            log_dir=self._log_dir,
            owned=self.owned,
            env=self._listener.env(),
            pass_fds=(fd,),
        )
        self._procs["gateway"] = proc
        self._state["gateway"] = {**(self._state.get("gateway") or {}), "pid": proc.pid, "boot_id": None}
        self._save_state()
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            health = await self._gateway_health()
            if health is not None:
                self._note_gateway(health)
                return
            if not proc.alive():
                raise PlatformError(f"the gateway exited with code {proc.exit_code()}: {proc.log_tail()}")
            await asyncio.sleep(0.1)
        raise PlatformError("the gateway did not answer on its admin port within 15 s",
                            key="error.gateway.no_answer", params={"timeout": "15"})
