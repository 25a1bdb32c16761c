"""`canaria check`'s lines that only a platform backend can tell (nginx, HAProxy, Kubernetes, Cloud Run), and the
backends' errors those lines show, in English and Korean (both carry every key; a test checks).

English entries are exactly the words the backends and their errors always wrote (`check --json`, the deployment
record and other tools match them); the backends render `detail` from these entries, so the two cannot drift apart."""

from __future__ import annotations

PLATFORM_CHECK_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "check.name.stable_deployment": "stable Deployment available",
        "check.name.traffic_split": "traffic split",
        "check.nginx.included": "{include} is included",
        "check.nginx.add_include": "add `include {include};` inside http {{}}",
        "check.nginx.config_needs_include": "{error} — add `include {include};` inside http {{}}",
        "check.nginx.proxies": "a location proxies to {target}",
        "check.nginx.add_proxy_pass": "add `proxy_pass {target};` to the location that serves the service",
        "check.nginx.log_fields": "{path} has the fields canaria reads",
        "check.nginx.no_access_log": "no access_log {path} in the configuration",
        "check.nginx.log_lacks": "the log_format lacks {fields} (the canaria.yaml of `canaria init --platform nginx` "
        "has it)",
        "check.nginx.generation": "workers serve generation {generation}",
        "check.nginx.not_loaded": "nothing answers {url} yet (loaded by the first stage)",
        "check.haproxy.no_socket": "no socket at {address}: add `stats socket {address} mode 600 level admin` to "
        "global",
        "check.haproxy.answers": "HAProxy {version} answers on {address}",
        "check.haproxy.server_weight": "{server} weight {weight}",
        "check.haproxy.map_loaded": "{map_file} is loaded",
        "check.haproxy.map_missing": "no map {map_file} loaded: add the use-server line",
        "check.haproxy.no_access_log": "no access_log: measurements need Prometheus",
        "check.haproxy.syslog": "canaria listens on {target} during a rollout",
        "check.haproxy.log_unreadable": "cannot read {target}: {reason}",
        "check.haproxy.log_marked": "{target} has canaria1 lines",
        "check.haproxy.log_unmarked": "no canaria1 line in {target} yet (the canaria.yaml of `canaria init "
        "--platform haproxy` has the log-format)",
        "check.kubernetes.objects": "Deployment {deployment}, Service {service}, {router}",
        "check.kubernetes.httproute": "HTTPRoute {name}: {rules} rule(s) send to Service {service}",
        "check.kubernetes.virtualservice": "VirtualService {name}: {routes} http route(s) send to {service}",
        "check.kubernetes.replicas": "replicas: the split follows pod counts behind Service {service} (approximate)",
        "check.kubernetes.ready": "{ready}/{wanted} Ready",
        "check.kubernetes.rbac": "{verbs} verbs granted",
        "check.kubernetes.approximate": "replicas router: weights are approximated by pod counts",
        "error.kubernetes.rbac_missing": "the Kubernetes identity may not {missing} in namespace {namespace} (apply "
        "deploy/kubernetes/rbac.yaml)",
        "check.cloudrun.acting_as": "acting as {identity}",
        "check.cloudrun.credentials_failed": "{identity}: {error}",
        "check.cloudrun.serves": "{name} serves revision {stable}",
        "check.cloudrun.serves_with_canary": "{name} serves revision {stable}, canary {canary} (tag {tag})",
        "check.cloudrun.no_image": "platform.cloudrun.image is not set: pass --image to run / enable-canary",
        "check.cloudrun.no_header_routing": "Cloud Run has no header routing: the match stage gives the canary 0% and "
        "testers use the `{tag}` tag URL",
        "check.cloudrun.missing_permissions": "missing {permissions} on the service: grant roles/run.developer (and "
        "roles/iam.serviceAccountUser on its runtime service account)",
        "check.cloudrun.may_update": "may update the service ({permissions})",
        "error.google.no_token": "Google credentials ({identity}) could not get a token: {reason}",
        "error.nginx.dump_failed": "{command} failed: {detail}",
        "error.haproxy.no_server": "backend {backend} has no server {servers}",
        "error.kubernetes.no_selector": "Service {service} has no selector",
        "error.kubernetes.no_rule": "HTTPRoute {name} has no rule with a backendRef to Service {service}",
        "error.kubernetes.no_route": "VirtualService {name} has no http route to host {service}",
    },
    "ko": {
        "check.name.stable_deployment": "안정 버전 Deployment 가용",
        "check.name.traffic_split": "트래픽 분할",
        "check.nginx.included": "{include}이(가) 포함되어 있습니다",
        "check.nginx.add_include": "http {{}} 안에 `include {include};`을(를) 추가하세요",
        "check.nginx.config_needs_include": "{error} — http {{}} 안에 `include {include};`을(를) 추가하세요",
        "check.nginx.proxies": "location 하나가 {target}(으)로 프록시합니다",
        "check.nginx.add_proxy_pass": "서비스를 제공하는 location에 `proxy_pass {target};`을(를) 추가하세요",
        "check.nginx.log_fields": "{path}에 canaria가 읽는 필드가 있습니다",
        "check.nginx.no_access_log": "설정에 access_log {path}이(가) 없습니다",
        "check.nginx.log_lacks": "log_format에 {fields}이(가) 없습니다 (`canaria init --platform nginx`의 "
        "canaria.yaml에 있습니다)",
        "check.nginx.generation": "워커가 라우팅 세대 {generation}을(를) 적용 중입니다",
        "check.nginx.not_loaded": "아직 {url}에서 응답이 없습니다 (첫 단계에서 불러옵니다)",
        "check.haproxy.no_socket": "{address}에 소켓이 없습니다: global에 `stats socket {address} mode 600 level "
        "admin`을(를) 추가하세요",
        "check.haproxy.answers": "HAProxy {version}이(가) {address}에서 응답합니다",
        "check.haproxy.server_weight": "{server} 가중치 {weight}",
        "check.haproxy.map_loaded": "{map_file}이(가) 로드되어 있습니다",
        "check.haproxy.map_missing": "로드된 맵 {map_file}이(가) 없습니다: use-server 줄을 추가하세요",
        "check.haproxy.no_access_log": "access_log 없음: 측정에는 Prometheus가 필요합니다",
        "check.haproxy.syslog": "배포 중에 canaria가 {target}에서 수신합니다",
        "check.haproxy.log_unreadable": "{target}을(를) 읽을 수 없습니다: {reason}",
        "check.haproxy.log_marked": "{target}에 canaria1 줄이 있습니다",
        "check.haproxy.log_unmarked": "{target}에 아직 canaria1 줄이 없습니다 (`canaria init --platform haproxy`의 "
        "canaria.yaml에 log-format이 있습니다)",
        "check.kubernetes.objects": "Deployment {deployment}, Service {service}, {router}",
        "check.kubernetes.httproute": "HTTPRoute {name}: 규칙 {rules}개가 Service {service}(으)로 보냅니다",
        "check.kubernetes.virtualservice": "VirtualService {name}: http 경로 {routes}개가 {service}(으)로 보냅니다",
        "check.kubernetes.replicas": "replicas: Service {service} 뒤의 파드 수로 분할합니다 (근사치)",
        "check.kubernetes.ready": "{ready}/{wanted} 준비됨",
        "check.kubernetes.rbac": "권한 {verbs}개 허용됨",
        "check.kubernetes.approximate": "replicas 라우터: 가중치는 파드 수로 근사합니다",
        "error.kubernetes.rbac_missing": "Kubernetes 계정에 네임스페이스 {namespace}의 {missing} 권한이 없습니다 "
        "(deploy/kubernetes/rbac.yaml을 적용하세요)",
        "check.cloudrun.acting_as": "{identity}(으)로 인증됨",
        "check.cloudrun.credentials_failed": "{identity}: {error}",
        "check.cloudrun.serves": "{name}이(가) 리비전 {stable}을(를) 제공합니다",
        "check.cloudrun.serves_with_canary": "{name}이(가) 리비전 {stable}, 카나리 {canary}(태그 {tag})을(를) "
        "제공합니다",
        "check.cloudrun.no_image": "platform.cloudrun.image가 설정되지 않았습니다: run / enable-canary에 --image를 "
        "넘기세요",
        "check.cloudrun.no_header_routing": "Cloud Run에는 헤더 라우팅이 없습니다: match 단계는 카나리에 0%를 주고 "
        "테스터는 `{tag}` 태그 URL을 씁니다",
        "check.cloudrun.missing_permissions": "서비스에 {permissions} 권한이 없습니다: roles/run.developer를 "
        "부여하세요 (런타임 서비스 계정에는 roles/iam.serviceAccountUser도)",
        "check.cloudrun.may_update": "서비스를 수정할 수 있습니다 ({permissions})",
        "error.google.no_token": "Google 자격 증명({identity})으로 토큰을 받지 못했습니다: {reason}",
        "error.nginx.dump_failed": "{command} 실패: {detail}",
        "error.haproxy.no_server": "backend {backend}에 서버 {servers}이(가) 없습니다",
        "error.kubernetes.no_selector": "Service {service}에 selector가 없습니다",
        "error.kubernetes.no_rule": "HTTPRoute {name}에 Service {service}(으)로 가는 backendRef 규칙이 없습니다",
        "error.kubernetes.no_route": "VirtualService {name}에 호스트 {service}(으)로 가는 http 경로가 없습니다",
    },
}
