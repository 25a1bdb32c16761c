"""Listen addresses as people write them: 127.0.0.1:8000, :8000, 8000, [::1]:8000."""

from __future__ import annotations

__all__ = ["parse_address"]


def parse_address(value: str) -> tuple[str, int]:
    """'127.0.0.1:8000' or ':8000' or '8000' -> (host, port)."""
    text = str(value).strip()
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"'{value}' is not HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return host, port
