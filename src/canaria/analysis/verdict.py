"""The judge's output: a decision, a 0-100 health score and the reasons behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Decision", "Reason", "Severity", "Verdict"]


class Decision(str, Enum):
    GO = "GO"
    OBSERVE = "OBSERVE"
    NO_GO = "NO-GO"

    @property
    def rank(self) -> int:
        return {"GO": 0, "OBSERVE": 1, "NO-GO": 2}[self.value]

    @staticmethod
    def worst(*decisions: Decision) -> Decision:
        """Argo-style ordering: NO-GO beats OBSERVE beats GO."""
        return max(decisions, key=lambda d: d.rank, default=Decision.GO)


class Severity(str, Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass
class Reason:
    """One finding. `message` is English; `key` + `params` let i18n render it in other languages."""

    check: str  # e.g. "error_rate", "p95_ms", "memory_pct", "compare.error_rate", "trend.memory_pct", "data"
    severity: Severity
    message: str
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    canary_value: float | None = None
    control_value: float | None = None
    threshold: float | None = None
    evidence: str = ""
    decision: Decision = Decision.GO  # what this finding alone asks for

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "decision": self.decision.value,
            "message": self.message,
            "key": self.key,
            "params": self.params,
            "canary_value": self.canary_value,
            "control_value": self.control_value,
            "threshold": self.threshold,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(
            check=data["check"],
            severity=Severity(data.get("severity", "info")),
            message=data.get("message", ""),
            key=data.get("key", ""),
            params=dict(data.get("params", {})),
            canary_value=data.get("canary_value"),
            control_value=data.get("control_value"),
            threshold=data.get("threshold"),
            evidence=data.get("evidence", ""),
            decision=Decision(data.get("decision", "GO")),
        )


@dataclass
class Verdict:
    decision: Decision
    score: int  # 0..100, 100 = indistinguishable from control and inside every guardrail
    reasons: list[Reason] = field(default_factory=list)
    needs_requests: int = 0  # more canary requests the judge needs before it can say GO
    hold_extension_s: float = 0.0  # how much longer the stage should be held (OBSERVE)
    needs_human: bool = False  # OBSERVE that cannot resolve by itself (no data after the longest hold)

    @property
    def headline(self) -> str:
        """The reason that drove the decision (the worst one), for rollback messages."""
        driving = [r for r in self.reasons if r.decision == self.decision]
        ranked = sorted(driving or self.reasons, key=lambda r: list(Severity).index(r.severity), reverse=True)
        return ranked[0].message if ranked else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "score": self.score,
            "reasons": [r.to_dict() for r in self.reasons],
            "needs_requests": self.needs_requests,
            "hold_extension_s": self.hold_extension_s,
            "needs_human": self.needs_human,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            decision=Decision(data["decision"]),
            score=int(data.get("score", 0)),
            reasons=[Reason.from_dict(r) for r in data.get("reasons", [])],
            needs_requests=int(data.get("needs_requests", 0)),
            hold_extension_s=float(data.get("hold_extension_s", 0.0)),
            needs_human=bool(data.get("needs_human", False)),
        )
