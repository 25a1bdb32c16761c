"""What the gateway's public `/api/v2/canary/status` and `/metrics` add from the controller's store,
so `curl` during a rollout shows the same phase, verdicts and score as `canaria status --json`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from canaria.config import CanariaConfig
from canaria.state.status import metrics_dict, status_dict
from canaria.state.store import Store

__all__ = ["store_providers"]


def store_providers(config: CanariaConfig) -> tuple[Callable[[], dict[str, Any]], Callable[[], dict[str, Any]]]:
    holder: dict[str, Store] = {}

    def store() -> Store:
        if "store" not in holder:
            holder["store"] = Store.for_state_dir(config.state_path)
        return holder["store"]

    def rollout() -> Any:
        s = store()
        return s.active_rollout(config.service) or s.latest_rollout(config.service)

    def status() -> dict[str, Any]:
        try:
            return {"rollout": status_dict(config, store(), rollout(), now=time.time())}
        except Exception as exc:  # noqa: BLE001 - the data plane must answer even when the store cannot
            return {"rollout": None, "store_error": str(exc)}

    def metrics() -> dict[str, Any]:
        try:
            s = store()
            current = rollout()
            windows = s.windows(current.id, last=1) if current else []
            data = metrics_dict(config, s, current, windows[-1] if windows else None, now=time.time())
            return {"rollout": {k: data[k] for k in ("rollout_id", "phase", "traffic", "score", "decision",
                                                     "reasons")},
                    "last_check": {k: data[k] for k in ("window", "control", "canary", "comparison") if k in data}}
        except Exception as exc:  # noqa: BLE001
            return {"rollout": None, "store_error": str(exc)}

    return status, metrics
