"""What the controller records (events) and the errors a user meets first, in English and Korean.

The English entries are the exact words canaria always wrote (tools and tests match them): the controller renders
them to fill an event's `message`, and other languages render the same key at display time. Korean follows the
runbook's vocabulary (카나리, 롤백, 승인, 트래픽, 안정 버전).
"""

from __future__ import annotations

EVENT_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "event.rollout_started": "canary rollout of {service} started",
        "event.stage_advanced": "canary at {target} (stage {n}/{total}){note}",
        "event.decision": "{decision} (score {score}/100): {headline}",
        "event.approval_needed": "approval needed to go to {traffic}%: run `canaria approve`",
        "event.approval_timeout": "approval not given within {timeout} s",
        "event.promotion_started": "promoting {service}: the canary becomes stable",
        "event.promotion_finished": "{service}: the canary is now stable (100%)",
        "event.rollback_started": "rolling back: {reason}",
        "event.rollback_finished": "rolled back: all traffic on stable ({reason})",
        "event.rollback_retried": "finishing the rollback that did not complete ({reason})",
        "event.metrics_unavailable": "metrics unavailable: {error}",
        "event.metrics_unavailable_streak": "metrics unavailable on {n} consecutive checks: {error}",
        "event.baseline_read": "baseline: {windows} windows of the stable version over the {span} before the "
        "rollout ({requests} requests, {error_pct}% errors)",
        "event.baseline_empty": "baseline: no requests of the stable version in the {span} before the rollout (the "
        "metrics provider keeps no history, or there was no traffic); the canary is compared with the rollout's "
        "own control only",
        "event.baseline_unavailable": "baseline: the stable version's {span} before the rollout could not be read "
        "({error}); the canary is compared with the rollout's own control only",
        "baseline.no_answer": "no answer within {span}",
        "event.restart_offered": "{leak}: the memory-leak playbook restarts the canary first (`{command}`)",
        "event.hold_overdue": "held at {traffic}% for {held}, past the longest hold ({longest}), because {finding}: "
        "canaria keeps holding until the evidence resolves; `canaria promote` goes on now, `canaria rollback` stops",
        "event.approved": "approved",
        "event.manual_promote": "promoted by hand",
        "event.paused_by_operator": "paused by an operator",
        "event.resumed_by_operator": "resumed by an operator",
        "event.rolled_back_by_operator": "rolled back by an operator",
        "event.traffic_set": "canary traffic set to {traffic}%",
        "event.with_reason": "{text} ({reason})",
        "action.approved": "approved: {phase} at {traffic}%",
        "action.moved": "{phase} at {traffic}%",
        "action.already_paused": "already paused",
        "action.paused": "paused at {traffic}%",
        "action.resumed": "resumed: {phase}",
        "action.rolled_back": "rolled back",
        "action.ack_already": "event {id} was already acknowledged",
        "action.acked": "acknowledged event {id} ({kind})",
        "event.acknowledged": "{who} acknowledged: {what}{note}",
        "event.controller_stopped": "controller stopped by Ctrl-C; traffic stays as it is",
        "event.escalated": "level {level}: {kind} not acknowledged for {waited}",
        "event.data_plane_down": "data plane down: {summary}",
        "event.data_plane_restarted": "data plane restored: {names} restarted ({summary})",
        "event.data_plane_restarted_after": "data plane restored: {names} restarted after {downtime} s down "
        "({summary})",
        "event.data_plane_recovered": "data plane answers again after {downtime} s ({summary})",
        "route.weight": "{weight}%",
        "route.testers": "testers ({match})",
        "route.testers_plus": "testers ({match}) + {weight}%",
        "route.note.unsupported": "; the platform cannot read the split back (unsupported)",
        "route.note.approximate": "; the split is approximate",
        "route.note.approximate_detail": "; the split is approximate ({detail})",
        "health.component": "{name} {state}",
        "health.component_detail": "{name} {state} ({detail})",
        "health.state.up": "up",
        "health.state.down": "down",
        "health.state.stopped": "stopped",
        "health.name.gateway": "gateway",
        "health.name.router": "router",
        "health.name.stable": "stable",
        "health.name.canary": "canary",
        "data_plane.fresh_window.data_plane_down": "data plane down at {at} UTC: waiting for a complete window "
        "measured after recovery",
        "data_plane.fresh_window.data_plane_restarted": "data plane restarted at {at} UTC: waiting for a complete "
        "window measured after recovery",
        "data_plane.fresh_window.data_plane_recovered": "data plane recovered at {at} UTC: waiting for a complete "
        "window measured after recovery",
        "data_plane.fresh_window.controller_error": "a failed check at {at} UTC: waiting for a complete window "
        "measured after recovery",
    },
    "ko": {
        "event.rollout_started": "{service} 카나리 배포를 시작했습니다",
        "event.stage_advanced": "카나리 트래픽 {target} ({n}/{total}단계){note}",
        "event.decision": "{decision} (점수 {score}/100): {headline}",
        "event.approval_needed": "{traffic}%로 가려면 승인이 필요합니다: `canaria approve` 실행",
        "event.approval_timeout": "{timeout}초 안에 승인이 없었습니다",
        "event.promotion_started": "{service} 승격 중: 카나리가 새 안정 버전이 됩니다",
        "event.promotion_finished": "{service}: 카나리가 새 안정 버전이 되었습니다 (100%)",
        "event.rollback_started": "롤백 중: {reason}",
        "event.rollback_finished": "롤백 완료: 모든 트래픽이 안정 버전으로 갑니다 ({reason})",
        "event.rollback_retried": "끝나지 않은 롤백을 마무리합니다 ({reason})",
        "event.metrics_unavailable": "메트릭을 읽을 수 없습니다: {error}",
        "event.metrics_unavailable_streak": "{n}회 연속 메트릭을 읽을 수 없습니다: {error}",
        "event.baseline_read": "기준선: 배포 전 {span} 동안 안정 버전의 구간 {windows}개 (요청 {requests}건, "
        "에러 {error_pct}%)",
        "event.baseline_empty": "기준선: 배포 전 {span} 동안 안정 버전의 요청이 없습니다 (메트릭 제공자에 이력이 없거나 "
        "트래픽이 없었습니다). 카나리는 이번 배포의 대조군과만 비교합니다",
        "event.baseline_unavailable": "기준선: 배포 전 {span} 동안의 안정 버전 메트릭을 읽지 못했습니다 ({error}). "
        "카나리는 이번 배포의 대조군과만 비교합니다",
        "baseline.no_answer": "{span} 안에 응답이 없습니다",
        "event.restart_offered": "{leak}: 메모리 누수 대응 절차에 따라 먼저 카나리를 재시작합니다 (`{command}`)",
        "event.hold_overdue": "트래픽 {traffic}%에서 {held} 동안 보류, 최대 보류 시간({longest})을 넘었습니다 (이유: {finding}). "
        "증거가 정리될 때까지 계속 보류합니다. 지금 진행하려면 `canaria promote`, 중단하려면 `canaria rollback`",
        "event.approved": "승인됨",
        "event.manual_promote": "수동으로 다음 단계 진행",
        "event.paused_by_operator": "운영자가 일시 중지함",
        "event.resumed_by_operator": "운영자가 재개함",
        "event.rolled_back_by_operator": "운영자가 롤백함",
        "event.traffic_set": "카나리 트래픽을 {traffic}%로 설정했습니다",
        "event.with_reason": "{text} ({reason})",
        "action.approved": "승인됨: {phase}, 카나리 {traffic}%",
        "action.moved": "{phase}, 카나리 {traffic}%",
        "action.already_paused": "이미 일시 중지 상태입니다",
        "action.paused": "카나리 {traffic}%에서 일시 중지",
        "action.resumed": "재개: {phase}",
        "action.rolled_back": "롤백 완료",
        "action.ack_already": "이벤트 {id}은(는) 이미 확인했습니다",
        "action.acked": "이벤트 {id} ({kind}) 확인함",
        "event.acknowledged": "{who} 확인: {what}{note}",
        "event.controller_stopped": "Ctrl-C로 컨트롤러를 멈췄습니다. 트래픽은 그대로 유지됩니다",
        "event.escalated": "{level}단계 에스컬레이션: {kind} 알림이 {waited} 동안 확인되지 않았습니다",
        "event.data_plane_down": "데이터 플레인 중단: {summary}",
        "event.data_plane_restarted": "데이터 플레인 복구: {names} 재시작 ({summary})",
        "event.data_plane_restarted_after": "데이터 플레인 복구: {downtime}초 중단 후 {names} 재시작 ({summary})",
        "event.data_plane_recovered": "데이터 플레인이 {downtime}초 만에 다시 응답합니다 ({summary})",
        "route.weight": "{weight}%",
        "route.testers": "테스터 ({match})",
        "route.testers_plus": "테스터 ({match}) + {weight}%",
        "route.note.unsupported": "; 플랫폼이 적용된 분할을 다시 읽을 수 없습니다 (미지원)",
        "route.note.approximate": "; 분할은 근사치입니다",
        "route.note.approximate_detail": "; 분할은 근사치입니다 ({detail})",
        "health.component": "{name} {state}",
        "health.component_detail": "{name} {state} ({detail})",
        "health.state.up": "정상",
        "health.state.down": "중단",
        "health.state.stopped": "정지",
        "health.name.gateway": "게이트웨이",
        "health.name.router": "라우터",
        "health.name.stable": "안정 버전",
        "health.name.canary": "카나리",
        "data_plane.fresh_window.data_plane_down": "{at} UTC 데이터 플레인 중단: 복구 후 측정한 완전한 구간을 기다리는 중",
        "data_plane.fresh_window.data_plane_restarted": "{at} UTC 데이터 플레인 재시작: 복구 후 측정한 완전한 구간을 "
        "기다리는 중",
        "data_plane.fresh_window.data_plane_recovered": "{at} UTC 데이터 플레인 복구: 복구 후 측정한 완전한 구간을 "
        "기다리는 중",
        "data_plane.fresh_window.controller_error": "{at} UTC 점검 실패: 복구 후 측정한 완전한 구간을 기다리는 중",
    },
}

