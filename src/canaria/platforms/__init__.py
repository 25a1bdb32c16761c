"""Where the two versions run and how traffic is split between them: one backend per file."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.platforms.base import Platform


def create_platform(config: CanariaConfig, *, owned: bool = False) -> Platform:
    """Factory keyed by `platform.kind`. `owned`: every process started dies with this process (demo, tests)."""
    kind = config.platform.kind
    if kind == "local":
        from canaria.platforms.local import LocalPlatform

        return LocalPlatform(config, owned=owned)
    raise ValueError(f"unknown platform kind {kind}")
