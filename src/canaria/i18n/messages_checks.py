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
        "plan.nginx.rewrite": "rewrite {include}: upstream {upstream} with the canary servers down (0%), no tester route",
        "plan.nginx.test_reload": "run `{test_command}`; only if it passes `{reload_command}`",
        "plan.nginx.read_back": "read back the weights nginx serves at {url}",
        "plan.haproxy.weight_zero": "runtime API {runtime_api}: set server {backend}/{server} weight 0",
        "plan.haproxy.clear_map": "clear map {map_file} (no tester route)",
        "plan.haproxy.read_back": "read back the weights with `show servers state`",
        "plan.kubernetes.route_stable": "{router}: route 100% to Service {service}, remove canaria's tester rule",
        "plan.kubernetes.scale_canary": "scale Deployment {deployment}",
        "plan.kubernetes.delete_canary": "delete Deployment {deployment} and Service {service}",
        "plan.kubernetes.leave_stable": "leave Deployment {deployment} untouched",
        "plan.cloudrun.read_service": "read service {name}",
        "plan.cloudrun.write_traffic": "write traffic: 100% to the stable revision (pinned by name), remove the tag "
        "{tag}, keep other tags",
        "plan.cloudrun.wait_applied": "wait for traffic_statuses to show it (observed_generation caught up, "
        "not reconciling)",
        "plan.cloudrun.revision_stays": "the canary revision stays (Cloud Run keeps revisions); the service template "
        "keeps its image",
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
        "plan.nginx.rewrite": "{include} 다시 쓰기: upstream {upstream}의 카나리 서버를 down으로 (0%), 테스터 경로 없음",
        "plan.nginx.test_reload": "`{test_command}` 실행, 통과할 때만 `{reload_command}`",
        "plan.nginx.read_back": "nginx가 {url}에서 제공하는 가중치를 다시 읽어 확인",
        "plan.haproxy.weight_zero": "런타임 API {runtime_api}: 서버 {backend}/{server}의 가중치를 0으로",
        "plan.haproxy.clear_map": "맵 {map_file} 비우기 (테스터 경로 없음)",
        "plan.haproxy.read_back": "`show servers state`로 가중치를 다시 읽어 확인",
        "plan.kubernetes.route_stable": "{router}: 트래픽 100%를 Service {service}(으)로, canaria의 테스터 규칙 제거",
        "plan.kubernetes.scale_canary": "Deployment {deployment}의 레플리카를 0으로 (객체는 남김)",
        "plan.kubernetes.delete_canary": "Deployment {deployment}, Service {service} 삭제",
        "plan.kubernetes.leave_stable": "Deployment {deployment}은(는) 그대로 둠",
        "plan.cloudrun.read_service": "서비스 {name} 읽기",
        "plan.cloudrun.write_traffic": "트래픽 쓰기: 100%를 기존 버전 리비전으로 (이름으로 고정), 태그 {tag} 제거, "
        "다른 태그는 유지",
        "plan.cloudrun.wait_applied": "traffic_statuses에 반영될 때까지 대기 (observed_generation 따라잡음, "
        "조정 중 아님)",
        "plan.cloudrun.revision_stays": "카나리 리비전은 남음 (Cloud Run은 리비전을 보관). 서비스 템플릿의 이미지는 "
        "그대로",
        "rollback.confirm": "{service}을(를) 롤백할까요? (카나리 {traffic}%)",
        "demo.dashboard": "대시보드: {url}  (조작용 토큰: {token})",
    },
}
