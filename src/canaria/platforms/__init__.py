"""Layer: where the two versions run and how traffic is split between them — one backend per file.

`base.Platform` is the one interface (DESIGN.md §5); `create_platform` picks the backend by `platform.kind` and
imports only that module, so a Kubernetes client is never loaded for an nginx user.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from canaria.errors import ConfigError

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.platforms.base import Platform

__all__ = ["BACKENDS", "create_platform"]

BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("canaria.platforms.local", "LocalPlatform"),
    "nginx": ("canaria.platforms.nginx", "NginxPlatform"),
    "haproxy": ("canaria.platforms.haproxy", "HaproxyPlatform"),
    "kubernetes": ("canaria.platforms.kubernetes", "KubernetesPlatform"),
    "cloudrun": ("canaria.platforms.cloudrun", "CloudRunPlatform"),
}


def create_platform(config: CanariaConfig, *, owned: bool = False) -> Platform:
    """Factory keyed by `platform.kind`. `owned`: every process started dies with this process (demo, tests)."""
    kind = config.platform.kind
    if kind not in BACKENDS:
        raise ConfigError(f"unknown platform kind {kind!r}; use one of {', '.join(BACKENDS)}", field="platform.kind")
    module_name, class_name = BACKENDS[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ConfigError(f"platform kind {kind!r} is not available in this version of canaria",
                              field="platform.kind") from None
        raise ConfigError(f"platform kind {kind!r} needs the Python package {exc.name!r}: "
                          f"pip install 'canaria[{kind}]'", field="platform.kind") from None
    backend: type[Platform] = getattr(module, class_name)
    return backend(config, owned=owned)
