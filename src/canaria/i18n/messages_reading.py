"""Labels of the reading commands (`status`, `history`). Both languages carry every key (a test checks)."""

from __future__ import annotations

READING_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "status.reason": "reason: {reason}",
        "status.next_checkpoint": "next checkpoint: {at}",
        "history.revisions_title": "{kind} revisions of stable",
        "history.col.revision": "revision",
        "history.col.created": "created",
        "history.col.image": "image",
        "history.col.traffic": "traffic",
        "history.col.detail": "detail",
        "history.col.rollout": "rollout",
        "history.col.started": "started",
        "history.col.ended": "ended",
        "history.col.phase": "phase",
        "history.col.outcome": "outcome",
        "history.col.reason": "reason",
    },
    "ko": {
        "status.reason": "사유: {reason}",
        "status.next_checkpoint": "다음 체크포인트: {at}",
        "history.revisions_title": "stable의 {kind} 리비전",
        "history.col.revision": "리비전",
        "history.col.created": "생성",
        "history.col.image": "이미지",
        "history.col.traffic": "트래픽",
        "history.col.detail": "상세",
        "history.col.rollout": "배포",
        "history.col.started": "시작",
        "history.col.ended": "종료",
        "history.col.phase": "단계",
        "history.col.outcome": "결과",
        "history.col.reason": "사유",
    },
}
