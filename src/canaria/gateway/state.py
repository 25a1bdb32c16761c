"""The gateway's durable state: canary weight and upstream URLs, one small JSON file per service.

The data plane must come back from a restart routing exactly as before (the controller may be down at
that moment), so every change is written before it takes effect, atomically (temp file, fsync,
os.replace) so a crash leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from canaria.foundation.files import write_atomic

__all__ = ["PersistedState", "load_state", "save_state", "state_file_for"]

log = logging.getLogger("canaria.gateway")


@dataclass(frozen=True)
class PersistedState:
    canary_weight: float
    stable: str
    canary: str | None
    match: dict[str, str] | None = None  # the tester route, as RouteMatch.to_dict() gives it


def state_file_for(state_dir: Path, service: str) -> Path:
    return Path(state_dir) / f"gateway-{service}.json"


def load_state(path: Path) -> PersistedState | None:
    """The saved state, or None when there is none or it cannot be used (then config defaults apply,
    which route everything to stable: the safe side)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable gateway state %s: %s", path, exc)
        return None
    try:
        weight = float(data["canary_weight"])
        stable = data["upstreams"]["stable"]
        canary = data["upstreams"].get("canary")
        if not (math.isfinite(weight) and 0.0 <= weight <= 100.0) or not isinstance(stable, str):
            raise ValueError("out of range")
        if canary is not None and not isinstance(canary, str):
            raise ValueError("canary upstream is not a string")
        match = data.get("match")
        if match is not None and not (
            isinstance(match, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in match.items())
        ):
            raise ValueError("match is not an object of strings")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("ignoring invalid gateway state %s: %s", path, exc)
        return None
    return PersistedState(weight, stable, canary, match)


def save_state(path: Path, state: PersistedState) -> None:
    """Write atomically; raises OSError when the directory cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "canary_weight": state.canary_weight,
        "upstreams": {"stable": state.stable, "canary": state.canary},
        "match": state.match,
        "saved_at": time.time(),
    }
    write_atomic(path, json.dumps(payload, indent=2) + "\n")
