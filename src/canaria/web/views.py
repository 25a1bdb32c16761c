"""The JSON the API and the stream send, built from the store. One place, so REST and SSE agree."""

from __future__ import annotations

from typing import Any

from canaria.analysis.window import Window
from canaria.config import CanariaConfig
from canaria.i18n import LANGS
from canaria.notify.event_text import event_texts, finding_in, rollout_reason
from canaria.notify.sentence import decision_sentence
from canaria.state.status import status_dict
from canaria.state.store import Event, Rollout, Store, StoredVerdict
from canaria.web.reports import ReportIndex

__all__ = ["SNAPSHOT_EVENTS", "event_json", "rollout_json", "snapshot", "status_json", "verdict_json", "window_json"]

SNAPSHOT_EVENTS = 300


def rollout_json(rollout: Rollout, reports: ReportIndex | None = None) -> dict[str, Any]:
    out = rollout.to_dict()
    out["reports"] = reports.for_rollout(rollout.id) if reports else []
    return out


def window_json(index: int, window: Window) -> dict[str, Any]:
    duration = window.duration_s
    return {"index": index, "start": window.start, "end": window.end, "duration_s": round(duration, 3),
            "canary_weight": window.canary_weight, "stage_index": window.stage_index,
            "control": window.control.summary(duration), "canary": window.canary.summary(duration)}


def _reason_text(reason: dict[str, Any]) -> dict[str, str]:
    """A finding in every UI language: the judge's words in English, its catalogue or plain sentence else."""
    return {lang: finding_in(reason, lang) or str(reason.get("message", "")) for lang in LANGS}


def verdict_json(stored: StoredVerdict) -> dict[str, Any]:
    out = {"id": stored.id, **stored.to_dict()}
    out["reasons"] = [{**r, "text": _reason_text(r)} for r in out["reasons"]]
    final = stored.traffic >= 100.0
    out["sentence"] = {lang: decision_sentence(stored.verdict, traffic=stored.traffic, elapsed_s=None, lang=lang,
                                               final_stage=final) for lang in LANGS}  # the same words everywhere
    return out


def event_json(event: Event) -> dict[str, Any]:
    """The event as recorded, plus its words in every UI language (the page shows the reader's)."""
    return {**event.to_dict(), "texts": event_texts(event)}


def status_json(config: CanariaConfig, store: Store, rollout: Rollout | None, *, now: float) -> dict[str, Any]:
    """`canaria status --json`, plus why the rollout ended in every UI language (the banner shows the reader's)."""
    out = status_dict(config, store, rollout, now=now)
    if rollout is not None and rollout.reason:
        ended = store.events(rollout.id, kinds=("rollback_started",))
        out["reason_texts"] = {lang: rollout_reason(ended, rollout.reason, lang) for lang in LANGS}
    return out


def snapshot(config: CanariaConfig, store: Store, rollout: Rollout | None, *, now: float,
             reports: ReportIndex | None = None) -> dict[str, Any]:
    if rollout is None:
        return {"rollout": None, "status": status_json(config, store, None, now=now), "windows": [],
                "verdicts": [], "events": []}
    events = store.events(rollout.id)
    return {
        "rollout": rollout_json(rollout, reports),
        "status": status_json(config, store, rollout, now=now),
        "windows": [window_json(i, w) for i, w in enumerate(store.windows(rollout.id))],
        "verdicts": [verdict_json(v) for v in store.verdicts(rollout.id)],
        "events": [event_json(e) for e in events[-SNAPSHOT_EVENTS:]],
    }
