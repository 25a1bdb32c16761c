"""Everything the deployment record shows, read once from the store into plain data.

The HTML, Markdown and JSON writers all render this one structure, so the three formats never
disagree; `to_json()` is the JSON format itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaria.analysis.window import VariantWindow, Window
from canaria.config import CanariaConfig
from canaria.errors import UsageError
from canaria.report.record import SIGNOFF_ITEMS, signoff_status
from canaria.state.status import iso, run_summary
from canaria.state.store import Event, Rollout, Store, StoredVerdict

__all__ = ["RecordData", "collect", "resolve_rollout"]


@dataclass
class RecordData:
    config: CanariaConfig
    rollout: Rollout
    windows: list[Window]
    verdicts: list[StoredVerdict]
    events: list[Event]
    summary: dict[str, Any]
    preflight: list[dict[str, Any]] | None
    preflight_at: float | None
    stages: list[dict[str, Any]]
    notes: list[Event]
    signoff: list[dict[str, Any]]
    notify_failures: list[Event]
    generated_at: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        return self.rollout.created_at

    @property
    def end(self) -> float:
        candidates = [self.rollout.ended_at or 0.0, self.rollout.updated_at]
        candidates += [e.at for e in self.events] + [w.end for w in self.windows]
        return max(candidates)

    def elapsed(self, ts: float) -> float:
        return max(0.0, ts - self.start)

    def decisions(self) -> list[dict[str, Any]]:
        return [{"at": iso(e.at), "elapsed_s": round(self.elapsed(e.at), 1), "decision": e.data.get("decision"),
                 "score": e.data.get("score"), "reasons": [r.get("message") for r in e.data.get("reasons", [])
                                                           if r.get("severity") != "ok"]}
                for e in self.events if e.kind == "decision"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "canaria.deployment-record/1",
            "generated_at": iso(self.generated_at),
            "service": self.config.service,
            "rollout": {**self.rollout.to_dict(), "created_at": iso(self.rollout.created_at),
                        "updated_at": iso(self.rollout.updated_at), "ended_at": iso(self.rollout.ended_at),
                        "stage_started_at": iso(self.rollout.stage_started_at)},
            "summary": self.summary,
            "preflight": {"at": iso(self.preflight_at), "checks": self.preflight} if self.preflight is not None
            else None,
            "stages": self.stages,
            "decisions": self.decisions(),
            "windows": [_window_json(w, self.start) for w in self.windows],
            "verdicts": [{**v.to_dict(), "at": iso(v.at)} for v in self.verdicts],
            "events": [{**e.to_dict(), "at": iso(e.at), "elapsed_s": round(self.elapsed(e.at), 1)}
                       for e in self.events],
            "notes": [{"at": iso(e.at), "actor": e.actor, "text": e.message} for e in self.notes],
            "signoff": self.signoff,
            "notify_failures": [{"at": iso(e.at), "channel": e.data.get("channel"), "event_kind":
                                 e.data.get("event_kind"), "error": e.data.get("error")} for e in self.notify_failures],
        }


def _window_json(window: Window, start: float) -> dict[str, Any]:
    return {"start": iso(window.start), "end": iso(window.end), "elapsed_s": round(window.end - start, 1),
            "stage_index": window.stage_index, "canary_weight": window.canary_weight,
            "control": window.control.summary(window.duration_s), "canary": window.canary.summary(window.duration_s)}


@dataclass
class RecordSession:
    config: CanariaConfig
    lang: str
    store: Store
    rollout: Rollout


@contextmanager
def open_record(config_path: Path, lang_flag: str | None, rollout_id: str | None) -> Iterator[RecordSession]:
    """Config, language, store and the rollout a record command is about; the store is closed after.

    Record commands (report, signoff, note, ack) need nothing else, so they work after the services are gone.
    """
    from canaria.config import load_config
    from canaria.i18n import resolve_lang

    config = load_config(config_path)
    if lang_flag is not None and lang_flag not in ("en", "ko"):
        raise UsageError(f"--lang must be en or ko, got {lang_flag!r}")
    store = Store.for_state_dir(config.state_path)
    try:
        yield RecordSession(config, resolve_lang(lang_flag, config.lang), store,
                            resolve_rollout(config, store, rollout_id))
    finally:
        store.close()


def resolve_rollout(config: CanariaConfig, store: Store, rollout_id: str | None) -> Rollout:
    """The named rollout, else the active one, else the latest of the service."""
    if rollout_id:
        rollout = store.get_rollout(rollout_id)
        if rollout is None:
            raise UsageError(f"unknown rollout {rollout_id}; see `canaria history`")
        return rollout
    rollout = store.active_rollout(config.service) or store.latest_rollout(config.service)
    if rollout is None:
        raise UsageError(f"no rollout recorded for {config.service} yet")
    return rollout


def _stage_snapshots(config: CanariaConfig, rollout: Rollout, windows: list[Window],
                     verdicts: list[StoredVerdict]) -> list[dict[str, Any]]:
    """Cumulative figures over each stage's windows, as they stood when the stage ended."""
    out: list[dict[str, Any]] = []
    indexes = sorted({w.stage_index for w in windows})
    for index in indexes:
        own = [w for w in windows if w.stage_index == index]
        control, canary = VariantWindow(), VariantWindow()
        for w in own:
            control, canary = control.merge(w.control), canary.merge(w.canary)
        duration = sum(w.duration_s for w in own)
        last = [v for v in verdicts if v.stage_index == index]
        stages = config.plan.stages
        out.append({
            "stage": index + 1,
            "traffic": own[-1].canary_weight,
            "planned_traffic": stages[index].traffic if index < len(stages) else None,
            "started_at": iso(own[0].start),
            "ended_at": iso(own[-1].end),
            "windows": len(own),
            "control": control.summary(duration),
            "canary": canary.summary(duration),
            "score": last[-1].verdict.score if last else None,
            "decision": last[-1].verdict.decision.value if last else None,
        })
    return out


def _preflight(store: Store, rollout: Rollout, events: list[Event],
               service: str) -> tuple[list[dict[str, Any]] | None, float | None]:
    own = [e for e in events if e.kind == "preflight"]
    if not own:  # `canaria check` usually runs before the rollout exists: take the last one before it
        loose = [e for e in store.events(None, kinds=("preflight",))
                 if e.rollout_id is None and e.at <= rollout.created_at + 1.0
                 and e.data.get("service", service) == service]
        own = loose[-1:]
    if not own:
        return None, None
    checks = own[-1].data.get("checks")
    return (list(checks) if isinstance(checks, list) else []), own[-1].at


def collect(config: CanariaConfig, store: Store, rollout_id: str, *, now: float) -> RecordData:
    rollout = store.get_rollout(rollout_id)
    if rollout is None:
        raise UsageError(f"unknown rollout {rollout_id}; see `canaria history`")
    events = store.events(rollout_id)
    windows = store.windows(rollout_id)
    verdicts = store.verdicts(rollout_id)
    preflight, preflight_at = _preflight(store, rollout, events, config.service)
    return RecordData(
        config=config, rollout=rollout, windows=windows, verdicts=verdicts, events=events,
        summary=run_summary(store, rollout, config), preflight=preflight, preflight_at=preflight_at,
        stages=_stage_snapshots(config, rollout, windows, verdicts),
        notes=[e for e in events if e.kind == "note"],
        signoff=signoff_status(events),
        notify_failures=[e for e in events if e.kind == "notify_failed"],
        generated_at=now,
        extra={"signoff_items": [key for key, _ in SIGNOFF_ITEMS]},
    )
