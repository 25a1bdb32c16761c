"""The runbook's memory-leak playbook, step one: restart the canary's instances.

When the judge predicts that canary memory will cross its guardrail, the controller offers the restart once per
rollout (an event every view, notification and record shows, naming the command); `canaria restart` does it through
`Platform.restart` and records what the platform did.
"""

from __future__ import annotations

from canaria.analysis.verdict import Reason, Verdict
from canaria.controller.events import Recorder
from canaria.i18n.text import msg
from canaria.i18n.text import reason as finding
from canaria.state.store import Rollout

__all__ = ["RESTART_COMMAND", "leak_predicted", "leak_reason", "offer_restart_once"]

RESTART_COMMAND = "canaria restart canary"


def leak_predicted(verdict: Verdict) -> str | None:
    """The judge's own words when it predicts canary memory crossing its guardrail, else None."""
    found = leak_reason(verdict)
    return found.message if found is not None else None


def leak_reason(verdict: Verdict) -> Reason | None:
    """The judge's finding that canary memory will cross its guardrail, if it made one."""
    for reason in verdict.reasons:
        if reason.check == "trend.memory_pct" and reason.key == "trend.breach_predicted":
            return reason
    return None


async def offer_restart_once(ctrl: Recorder, rollout: Rollout, verdict: Verdict) -> None:
    """Offer the restart (an event naming the command) the first time the judge predicts the leak."""
    leak = leak_reason(verdict)
    if leak is not None and not ctrl.store.events(rollout.id, kinds=("restart_offered",)):
        await ctrl.record("restart_offered", rollout, severity="warning", data={"command": RESTART_COMMAND},
                          text=msg("event.restart_offered", leak=finding(leak.to_dict()), command=RESTART_COMMAND))
