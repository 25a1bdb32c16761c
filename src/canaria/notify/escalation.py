"""Escalation: a critical alert nobody acknowledged within `after` goes to the next level of contacts.

Everything is read from the event log, not kept in memory: the first critical event after the last
`acknowledged` one anchors the ladder, and `escalated` events say which levels already went out. So a
restarted controller (or the dashboard) continues the same ladder, and `canaria ack` in another
process stops it.
"""

from __future__ import annotations

from dataclasses import dataclass

from canaria.config.notify import EscalationLevelConfig, NotifyConfig
from canaria.notify.base import Contact
from canaria.state.store import Event, Store

__all__ = ["EscalationStep", "acknowledge", "contacts_for", "due_escalations", "unacknowledged"]


@dataclass
class EscalationStep:
    rollout_id: str
    level: int  # 1-based
    anchor: Event  # the first unacknowledged critical event
    waited_s: float
    config: EscalationLevelConfig


def acknowledge(store: Store, *, rollout_id: str, actor: str, at: float, note: str = "") -> Event:
    """Record that a person has seen every alert of the rollout so far (stops its escalation)."""
    events = store.events(rollout_id)
    up_to = events[-1].id if events else 0
    return store.add_event("acknowledged", at=at, rollout_id=rollout_id, actor=actor,
                           message=note or f"acknowledged by {actor}", data={"up_to_event_id": up_to})


def unacknowledged(store: Store, config: NotifyConfig, rollout_id: str) -> tuple[list[Event], list[Event]]:
    """(critical events after the last acknowledgement, escalations already sent for them)."""
    kinds = tuple(config.events) + ("acknowledged", "escalated")
    events = store.events(rollout_id, kinds=kinds)
    acked = max((int(e.data.get("up_to_event_id", e.id)) for e in events if e.kind == "acknowledged"), default=0)
    critical = [e for e in events if e.severity == "critical" and e.kind in config.events and e.id > acked]
    escalated = [e for e in events if e.kind == "escalated" and e.id > acked]
    return critical, escalated


def due_escalations(store: Store, config: NotifyConfig, rollout_id: str, *, now: float) -> list[EscalationStep]:
    levels = config.escalation.levels
    if not levels:
        return []
    critical, escalated = unacknowledged(store, config, rollout_id)
    if not critical:
        return []
    anchor = critical[0]
    done = {int(e.data.get("level", 0)) for e in escalated if e.data.get("anchor_event_id") == anchor.id}
    waited = now - anchor.at
    return [EscalationStep(rollout_id, number, anchor, waited, level)
            for number, level in enumerate(levels, 1) if number not in done and waited >= level.after]


def contacts_for(config: NotifyConfig, names: list[str]) -> list[Contact]:
    out = []
    for key in names:
        c = config.contacts[key]
        out.append(Contact(key=key, name=c.name or key, email=c.email, phone=c.phone, slack=c.slack))
    return out
