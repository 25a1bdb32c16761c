"""What people add to the record: the runbook's post-deploy checklist (`signoff`) and notes (`note`).

Both are ordinary events (actor + time), so they sit in the same timeline as the controller's own
events and nothing else needs a table or a migration.
"""

from __future__ import annotations

from typing import Any

from canaria.errors import UsageError
from canaria.i18n import t
from canaria.state.status import iso
from canaria.state.store import Event, Store

__all__ = ["SIGNOFF_ITEMS", "add_note", "add_signoff", "match_item", "signoff_status"]

#: The runbook's "배포 완료 후" checklist, in its order.
SIGNOFF_ITEMS: list[tuple[str, int]] = [
    ("metrics_collected", 1),
    ("first_error_checked", 2),
    ("response_time_normal", 3),
    ("memory_normal", 4),
    ("handover_done", 5),
    ("success_declared", 6),
    ("documentation_started", 7),
]
_KEYS = [key for key, _ in SIGNOFF_ITEMS]


def match_item(text: str) -> str | None:
    """A checklist key from its key, its number (1-7) or a piece of its English or Korean label."""
    wanted = text.strip().lower()
    if wanted.replace("-", "_") in _KEYS:
        return wanted.replace("-", "_")
    if wanted.isdigit() and 1 <= int(wanted) <= len(_KEYS):
        return _KEYS[int(wanted) - 1]
    for key in _KEYS:
        for lang in ("en", "ko"):
            if wanted and wanted in t(f"signoff.item.{key}", lang).lower():
                return key
    return None


def add_signoff(store: Store, rollout_id: str, items: list[str] | None, *, actor: str, at: float) -> list[Event]:
    """Sign the given items (keys, numbers, label text or free text); none given signs every open item."""
    signed = {s["key"] for s in signoff_status(store.events(rollout_id, kinds=("signoff",))) if s["signed"]}
    if not items:
        targets: list[tuple[str, str]] = [(key, "") for key in _KEYS if key not in signed]
        if not targets:
            raise UsageError("every checklist item is already signed; add one with --item TEXT")
    else:
        targets = []
        for item in items:
            if not item.strip():
                raise UsageError("--item must not be empty")
            key = match_item(item)
            targets.append((key, "") if key else ("custom", item.strip()))
    events = []
    for key, text in targets:
        label = text or t(f"signoff.item.{key}", "en")
        events.append(store.add_event("signoff", at=at, rollout_id=rollout_id, actor=actor,
                                      message=f"signed: {label}", data={"item": key, "text": text}))
    return events


def add_note(store: Store, rollout_id: str, text: str, *, actor: str, at: float) -> Event:
    if not text.strip():
        raise UsageError("the note is empty; write e.g. canaria note \"P95 rose after the cache flush\"")
    return store.add_event("note", at=at, rollout_id=rollout_id, actor=actor, message=text.strip())


def signoff_status(events: list[Event]) -> list[dict[str, Any]]:
    """Each runbook item with who signed it and when (the latest signature), then any extra items."""
    latest: dict[str, Event] = {}
    extra: list[dict[str, Any]] = []
    for event in events:
        if event.kind != "signoff":
            continue
        key = str(event.data.get("item", "custom"))
        if key == "custom":
            extra.append({"key": "custom", "text": event.data.get("text", ""), "signed": True, "actor": event.actor,
                          "at": iso(event.at)})
        else:
            latest[key] = event
    out = [{"key": key, "number": number, "text": "", "signed": key in latest,
            "actor": latest[key].actor if key in latest else None,
            "at": iso(latest[key].at) if key in latest else None} for key, number in SIGNOFF_ITEMS]
    return out + extra
