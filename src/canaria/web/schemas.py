"""Request and response models: they are the published OpenAPI contract (/openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AckIn",
    "ActionIn",
    "ActionOut",
    "ErrorOut",
    "EventOut",
    "InfoOut",
    "ReasonOut",
    "ReportListOut",
    "ReportOut",
    "RollbackIn",
    "RolloutListOut",
    "RolloutOut",
    "SnapshotOut",
    "StatusOut",
    "VariantOut",
    "VerdictOut",
    "WhoAmIOut",
    "WindowOut",
]

REASON_MAX = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """Shapes shared with the CLI's --json may grow fields; clients ignore what they do not know."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    status: int
    code: str = Field(description="stable machine-readable code, e.g. token_required, illegal_in_phase")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class ReportOut(BaseModel):
    name: str = Field(description="path inside the reports folder")
    url: str
    format: str
    size: int
    modified_at: float
    rollout_id: str | None


class ReportListOut(BaseModel):
    reports: list[ReportOut]


class RolloutOut(BaseModel):
    rollout_id: str
    service: str
    phase: str
    stage_index: int
    traffic: float
    active: bool
    created_at: float
    updated_at: float
    stage_started_at: float | None
    ended_at: float | None
    outcome: str | None
    reason: str | None
    reports: list[ReportOut] = Field(default_factory=list)


class RolloutListOut(BaseModel):
    rollouts: list[RolloutOut]


class StatusOut(_Open):
    """Exactly `canaria status --json` (canaria.state.status.status_dict)."""

    service: str
    rollout_id: str | None
    phase: str
    traffic: dict[str, float]
    last_verdicts: list[dict[str, Any]]
    next_checkpoint: str | None


class VariantOut(_Open):
    requests: int
    errors: int
    error_rate_pct: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    rps: float | None
    memory_pct: float | None
    cpu_pct: float | None
    custom: dict[str, float]


class WindowOut(BaseModel):
    index: int
    start: float
    end: float
    duration_s: float
    canary_weight: float
    stage_index: int
    control: VariantOut
    canary: VariantOut


class ReasonOut(_Open):
    check: str
    severity: str
    decision: str
    message: str
    text: dict[str, str] = Field(description="the message in each UI language")


class VerdictOut(_Open):
    id: int
    at: float
    stage_index: int
    traffic: float
    decision: Literal["GO", "OBSERVE", "NO-GO"]
    score: int
    reasons: list[ReasonOut]
    sentence: dict[str, str] = Field(default_factory=dict, description="the decision in one plain sentence, per language")


class EventOut(BaseModel):
    id: int
    rollout_id: str | None
    at: float
    kind: str
    severity: str
    actor: str
    message: str = Field(description="what happened, in English (as it was recorded)")
    data: dict[str, Any]
    text: dict[str, Any] | None = Field(default=None, description="the message as a catalogue key and its "
                                        "parameters (absent in records written before events carried one)")
    texts: dict[str, str] = Field(default_factory=dict, description="the message in each UI language")


class ActionIn(_In):
    reason: str = Field(default="", max_length=REASON_MAX, description="goes into the event log")


class RollbackIn(_In):
    reason: str = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S",
                        description="why the rollout is rolled back (required: it is the record)")


class AckIn(_In):
    event_id: int | None = Field(default=None, ge=1, le=2**53,
                                 description="the alert acknowledged; default: the latest warning/critical")
    note: str = Field(default="", max_length=REASON_MAX)


class ActionOut(BaseModel):
    action: str
    actor: str
    changed: bool
    message: str = Field(description="what the action did, in English")
    texts: dict[str, str] = Field(default_factory=dict, description="the same in each UI language")
    rollout: RolloutOut | None
    status: StatusOut


class StageOut(BaseModel):
    number: int
    traffic: float
    hold_s: float
    approval: bool


class GuardrailOut(BaseModel):
    metric: str
    max: float
    consecutive: int
    action: str


class AuthInfo(BaseModel):
    read_token_required: bool
    actions_enabled: bool


class InfoOut(BaseModel):
    service: str
    version: str
    lang: str
    interval_s: float
    pass_mark: int = Field(description="health score needed for GO")
    stages: list[StageOut]
    guardrails: list[GuardrailOut]
    auth: AuthInfo


class WhoAmIOut(BaseModel):
    name: str
    can_act: bool


class SnapshotOut(BaseModel):
    """Everything the page draws for one rollout, in one call (the stream's first message)."""

    rollout: RolloutOut | None
    status: StatusOut
    windows: list[WindowOut]
    verdicts: list[VerdictOut]
    events: list[EventOut]
