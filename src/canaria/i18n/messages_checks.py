"""`canaria check`'s metrics lines and the rollback plan, in English and Korean (both carry every key; a test checks).

English entries are exactly the words the checks write in `detail` (tests and the record keep them)."""

from __future__ import annotations

CHECK_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "check.name.metrics": "metrics",
        "check.name.gateway_measurements": "gateway measurements",
        "check.name.memory": "{variant} memory",
        "check.name.access_log": "access log",
        "check.metrics.gateway_answers": "gateway answers (canary weight {weight}%)",
        "check.metrics.access_log": "requests counted from {target}",
        "check.metrics.access_log_unreadable": "cannot read {target}",
        "check.metrics.memory_later": "measured once canaria starts the process",
        "check.metrics.memory_none": "no process and no memory in /health/detailed",
        "check.metrics.prometheus_answers": "{url} answers (Prometheus {version})",
        "check.metrics.no_data_for": "no data for {what}",
        "plan.local.weight_zero": "set the gateway ({admin}) canary weight to 0% (all traffic to stable)",
        "plan.local.stop_canary": "stop the canary process (pid {pid})",
        "plan.local.not_running": "not running",
        "plan.local.keep_canary": "leave the canary running for debugging (it gets no traffic)",
        "plan.check_stable": "check stable {url}",
        "rollback.confirm": "Roll back {service} ({traffic}% canary)?",
        "demo.dashboard": "dashboard: {url}  (token for actions: {token})",
    },
    "ko": {
        "check.name.metrics": "지표",
        "check.name.gateway_measurements": "게이트웨이 측정",
        "check.name.memory": "{variant} 메모리",
        "check.name.access_log": "액세스 로그",
        "check.metrics.gateway_answers": "게이트웨이 응답 (카나리 가중치 {weight}%)",
        "check.metrics.access_log": "{target}에서 요청을 셉니다",
        "check.metrics.access_log_unreadable": "{target}을(를) 읽을 수 없습니다",
        "check.metrics.memory_later": "canaria가 프로세스를 시작하면 측정합니다",
        "check.metrics.memory_none": "프로세스가 없고 /health/detailed에도 메모리 값이 없습니다",
        "check.metrics.prometheus_answers": "{url} 응답 (Prometheus {version})",
        "check.metrics.no_data_for": "데이터 없음: {what}",
        "plan.local.weight_zero": "게이트웨이({admin})의 카나리 가중치를 0%로 (모든 트래픽을 기존 버전으로)",
        "plan.local.stop_canary": "카나리 프로세스 중지 (pid {pid})",
        "plan.local.not_running": "실행 중 아님",
        "plan.local.keep_canary": "디버깅을 위해 카나리는 계속 실행 (트래픽은 받지 않음)",
        "plan.check_stable": "기존 버전 확인 {url}",
        "rollback.confirm": "{service}을(를) 롤백할까요? (카나리 {traffic}%)",
        "demo.dashboard": "대시보드: {url}  (조작용 토큰: {token})",
    },
}
