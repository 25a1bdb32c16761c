"""The runbook's memory-leak playbook, step one: restart the canary's instances.

When the judge predicts that canary memory will cross its guardrail, the controller offers the restart once per
rollout (an event every view, notification and record shows, naming the command); `canaria restart` does it through
`Platform.restart` and records what the platform did.
"""

from __future__ import annotations

from canaria.analysis.verdict import Verdict

__all__ = ["RESTART_COMMAND", "leak_predicted"]

RESTART_COMMAND = "canaria restart canary"


def leak_predicted(verdict: Verdict) -> str | None:
    """The judge's own words when it predicts canary memory crossing its guardrail, else None."""
    for reason in verdict.reasons:
        if reason.check == "trend.memory_pct" and reason.key == "trend.breach_predicted":
            return reason.message
    return None
