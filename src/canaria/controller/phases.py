"""Rollout phases and the one table of legal transitions.

Every phase change in canaria goes through `check_transition`, so no code elsewhere repeats
"is this allowed now" logic (the trap of Flagger's scheduler).
"""

from __future__ import annotations

from enum import Enum

from canaria.errors import StateError

__all__ = ["Phase", "TRANSITIONS", "check_transition", "is_terminal", "Outcome"]


class Phase(str, Enum):
    PENDING = "pending"
    PROGRESSING = "progressing"
    AWAITING_APPROVAL = "awaiting_approval"
    PAUSED = "paused"
    PROMOTING = "promoting"
    SUCCEEDED = "succeeded"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


class Outcome(str, Enum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"  # the judge (or a dead canary) said NO-GO
    ABORTED = "aborted"  # an operator rolled back, or an approval timed out
    FAILED = "failed"  # infrastructure error


P = Phase
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    P.PENDING: frozenset({P.PROGRESSING, P.ROLLING_BACK, P.FAILED}),
    P.PROGRESSING: frozenset(
        {P.PROGRESSING, P.AWAITING_APPROVAL, P.PAUSED, P.PROMOTING, P.ROLLING_BACK, P.FAILED}
    ),
    P.AWAITING_APPROVAL: frozenset({P.PROGRESSING, P.PAUSED, P.PROMOTING, P.ROLLING_BACK, P.FAILED}),
    P.PAUSED: frozenset({P.PROGRESSING, P.AWAITING_APPROVAL, P.PROMOTING, P.ROLLING_BACK, P.FAILED}),
    P.PROMOTING: frozenset({P.SUCCEEDED, P.ROLLING_BACK, P.FAILED}),
    P.ROLLING_BACK: frozenset({P.ROLLED_BACK, P.FAILED}),
    P.SUCCEEDED: frozenset(),
    P.ROLLED_BACK: frozenset(),
    P.FAILED: frozenset(),
}

TERMINAL = frozenset(p for p, targets in TRANSITIONS.items() if not targets)


def is_terminal(phase: Phase | str) -> bool:
    return Phase(phase) in TERMINAL


def check_transition(current: Phase | str, target: Phase | str, *, action: str = "") -> None:
    """Raise StateError when `target` is not reachable from `current`."""
    cur, tgt = Phase(current), Phase(target)
    if tgt not in TRANSITIONS[cur]:
        what = f"`{action}` is" if action else f"moving to {tgt.value} is"
        raise StateError(f"{what} not possible while the rollout is {cur.value}")
