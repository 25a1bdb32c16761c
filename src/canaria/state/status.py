"""The JSON shapes of `status --json` and `metrics --json`, shared by the CLI, the gateway's public
`/api/v2/canary/*` endpoints and the dashboard, so all of them say the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canaria.analysis.window import Window
from canaria.config import CanariaConfig
from canaria.state.store import Rollout, Store

__all__ = ["status_dict", "metrics_dict", "comparison", "iso", "run_summary"]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def status_dict(config: CanariaConfig, store: Store, rollout: Rollout | None, *, now: float) -> dict[str, Any]:
    if rollout is None:
        return {"service": config.service, "rollout_id": None, "phase": "none", "traffic": {"control": 100.0,
                "canary": 0.0}, "last_verdicts": [], "next_checkpoint": None}
    stages = config.plan.stages
    index = min(rollout.stage_index, len(stages) - 1)
    stage = stages[index]
    elapsed = max(0.0, now - (rollout.stage_started_at or rollout.created_at))
    verdicts = store.verdicts(rollout.id, last=5)
    windows = store.windows(rollout.id, last=1)
    last_end = windows[-1].end if windows else (rollout.stage_started_at or rollout.created_at)
    active = rollout.active
    return {
        "service": config.service,
        "rollout_id": rollout.id,
        "phase": rollout.phase,
        "outcome": rollout.outcome,
        "reason": rollout.reason,
        "stage": {
            "index": index,
            "number": index + 1,
            "total": len(stages),
            "traffic": rollout.traffic,
            "hold_s": stage.hold,
            "elapsed_s": round(elapsed, 1),
            "hold_left_s": round(max(0.0, stage.hold - elapsed), 1),
            "approval": stage.needs_approval,
        },
        "traffic": {"control": round(100.0 - rollout.traffic, 3), "canary": rollout.traffic},
        "last_verdicts": [
            {"at": iso(v.at), "decision": v.verdict.decision.value, "score": v.verdict.score,
             "reasons": [r.message for r in v.verdict.reasons]}
            for v in reversed(verdicts)
        ],
        "next_checkpoint": iso(last_end + config.analysis.interval) if active else None,
        "started_at": iso(rollout.created_at),
        "ended_at": iso(rollout.ended_at),
    }


def comparison(window: Window) -> dict[str, Any]:
    """Canary relative to control, in the units people read (percentage points, ratios)."""
    c, k = window.control, window.canary
    out: dict[str, Any] = {}
    if c.error_rate is not None and k.error_rate is not None:
        out["error_rate_diff_pct"] = round((k.error_rate - c.error_rate) * 100, 3)
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        cv, kv = c.latency.quantile(q), k.latency.quantile(q)
        if cv and kv:
            out[f"{name}_ratio"] = round(kv / cv, 3)
    if c.memory_pct is not None and k.memory_pct is not None:
        out["memory_diff_pct"] = round(k.memory_pct - c.memory_pct, 2)
    return out


def metrics_dict(config: CanariaConfig, store: Store, rollout: Rollout | None, window: Window | None,
                 *, now: float) -> dict[str, Any]:
    verdicts = store.verdicts(rollout.id, last=1) if rollout else []
    latest = verdicts[-1].verdict if verdicts else None
    out: dict[str, Any] = {
        "service": config.service,
        "rollout_id": rollout.id if rollout else None,
        "phase": rollout.phase if rollout else "none",
        "traffic": {"control": 100.0 - (rollout.traffic if rollout else 0.0),
                    "canary": rollout.traffic if rollout else 0.0},
        "at": iso(now),
        "score": latest.score if latest else None,
        "decision": latest.decision.value if latest else None,
        "reasons": [r.message for r in latest.reasons] if latest else [],
    }
    if window is not None:
        out["window"] = {"start": iso(window.start), "end": iso(window.end),
                         "duration_s": round(window.duration_s, 1)}
        out["control"] = window.control.summary(window.duration_s)
        out["canary"] = window.canary.summary(window.duration_s)
        out["comparison"] = comparison(window)
    return out


def run_summary(store: Store, rollout: Rollout, config: CanariaConfig) -> dict[str, Any]:
    """The final JSON object of `run --json` / `demo --json` (DESIGN.md §3)."""
    windows = store.windows(rollout.id)
    verdicts = store.verdicts(rollout.id)
    events = store.events(rollout.id, kinds=("stage_advanced",))
    requests = {"control": sum(w.control.requests for w in windows), "canary": sum(w.canary.requests for w in windows)}
    errors = {"control": sum(w.control.errors for w in windows), "canary": sum(w.canary.errors for w in windows)}
    decisions = []
    previous = None
    for v in verdicts:
        if v.verdict.decision != previous or v is verdicts[-1]:
            decisions.append({"at": iso(v.at), "decision": v.verdict.decision.value, "score": v.verdict.score,
                              "reasons": [r.message for r in v.verdict.reasons]})
        previous = v.verdict.decision
    outcome = rollout.outcome or ("promoted" if rollout.phase == "succeeded" else "aborted")
    return {
        "rollout_id": rollout.id,
        "service": config.service,
        "outcome": outcome,
        "phase": rollout.phase,
        "final_traffic": rollout.traffic if rollout.phase != "succeeded" else 100.0,
        "duration_s": round((rollout.ended_at or rollout.updated_at) - rollout.created_at, 2),
        "stages": [{"at": iso(e.at), "stage_index": e.data.get("stage_index"), "traffic": e.data.get("traffic")}
                   for e in events],
        "decisions": decisions,
        "requests": requests,
        "errors": errors,
        "rollback_reason": rollout.reason if outcome != "promoted" else None,
    }
