"""The errors a user meets first (config, `check`, platform calls), in English and Korean.

An error keeps its English words (tests and other tools match them); the CLI and the views render its key in the
reader's language. English entries are exactly the words the raise sites write.
"""

from __future__ import annotations

ERROR_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "cli.error": "error: {message}",
        "error.at_field": "{where}: {message}",
        "error.at_field_line": "{where} (line {line}): {message}",
        "error.port_in_use": "port {port} on {host} is already in use; choose another port or stop what uses it",
        "error.config.env_unset": "environment variable {name} is not set",
        "error.config.yaml": "invalid YAML: {problem}",
        "error.config.empty": "the file is empty; run `canaria init` for an example",
        "error.config.not_mapping": "the top level must be a mapping of keys",
        "error.config.unknown_key": "unknown key '{name}' (check the spelling; see `canaria init` for every key)",
        "error.config.required": "Field required",
        "error.config.not_found": "{file} not found; run `canaria init` to write an example, or pass -c FILE",
        "error.config.unreadable": "cannot read {file}: {reason}",
        "error.nginx.rejected": "nginx rejected the configuration, previous routing kept: {detail}",
        "error.nginx.reload_failed": "nginx reload failed, previous routing kept: {detail}",
        "error.haproxy.no_answer": "HAProxy runtime API at {address} did not answer {command} within {timeout}s",
        "error.haproxy.unreachable": "cannot reach the HAProxy runtime API at {address}: {reason}",
        "error.haproxy.refused": "HAProxy refused {command}: {detail}",
        "error.kubernetes.forbidden": "Kubernetes RBAC forbids {what}: {detail} (grant it with "
        "deploy/kubernetes/rbac.yaml)",
        "error.kubernetes.unauthorized": "the Kubernetes API server refused the credentials while trying to "
        "{what}: {detail}",
        "error.kubernetes.unreachable": "the Kubernetes API server is unreachable while trying to {what}: {detail}",
        "error.platform.object_missing": "{kind} {name} not found",
        "error.gateway.no_answer": "the gateway did not answer on its admin port within {timeout} s",
        "error.google.failed": "{action} failed: {detail}",
        "check.platform.binary_missing": "{binary} not found on PATH",
        "check.name.config": "config",
        "check.name.dependencies": "dependencies",
        "check.name.command": "command",
        "check.name.start_test": "start test",
        "check.name.port": "port {port}",
        "check.name.gateway": "gateway",
        "check.name.gateway_public_port": "gateway public port",
        "check.name.gateway_admin_port": "gateway admin port",
        "check.name.gateway_admin_token": "gateway admin token",
        "check.name.notify": "notify",
    },
    "ko": {
        "cli.error": "오류: {message}",
        "error.at_field": "{where}: {message}",
        "error.at_field_line": "{where} ({line}행): {message}",
        "error.port_in_use": "{host}의 {port}번 포트를 이미 쓰고 있습니다. 다른 포트를 고르거나 그 포트를 쓰는 "
        "프로세스를 멈추세요",
        "error.config.env_unset": "환경 변수 {name}이(가) 설정되지 않았습니다",
        "error.config.yaml": "YAML 형식이 잘못되었습니다: {problem}",
        "error.config.empty": "파일이 비어 있습니다. `canaria init`으로 예시를 만드세요",
        "error.config.not_mapping": "최상위는 키와 값의 매핑이어야 합니다",
        "error.config.unknown_key": "알 수 없는 키 '{name}' (철자를 확인하세요. 모든 키는 `canaria init` 예시에 "
        "있습니다)",
        "error.config.required": "필수 항목입니다",
        "error.config.not_found": "{file}이(가) 없습니다. `canaria init`으로 예시를 만들거나 -c FILE로 지정하세요",
        "error.config.unreadable": "{file}을(를) 읽을 수 없습니다: {reason}",
        "error.nginx.rejected": "nginx가 설정을 거부했습니다. 이전 라우팅을 유지합니다: {detail}",
        "error.nginx.reload_failed": "nginx 재적용(reload)에 실패했습니다. 이전 라우팅을 유지합니다: {detail}",
        "error.haproxy.no_answer": "{address}의 HAProxy 런타임 API가 {timeout}초 안에 {command}에 응답하지 "
        "않았습니다",
        "error.haproxy.unreachable": "{address}의 HAProxy 런타임 API에 연결할 수 없습니다: {reason}",
        "error.haproxy.refused": "HAProxy가 {command}을(를) 거부했습니다: {detail}",
        "error.kubernetes.forbidden": "Kubernetes RBAC 권한이 없어 {what}을(를) 할 수 없습니다: {detail} "
        "(deploy/kubernetes/rbac.yaml로 권한을 주세요)",
        "error.kubernetes.unauthorized": "Kubernetes API 서버가 인증 정보를 거부했습니다 ({what}): {detail}",
        "error.kubernetes.unreachable": "Kubernetes API 서버에 연결할 수 없습니다 ({what}): {detail}",
        "error.platform.object_missing": "{kind} {name}을(를) 찾을 수 없습니다",
        "error.gateway.no_answer": "게이트웨이가 {timeout}초 안에 관리 포트에서 응답하지 않았습니다",
        "error.google.failed": "{action} 실패: {detail}",
        "check.platform.binary_missing": "PATH에서 {binary}을(를) 찾을 수 없습니다",
        "check.name.config": "설정",
        "check.name.dependencies": "의존성",
        "check.name.command": "실행 명령",
        "check.name.start_test": "시작 시험",
        "check.name.port": "포트 {port}",
        "check.name.gateway": "게이트웨이",
        "check.name.gateway_public_port": "게이트웨이 공개 포트",
        "check.name.gateway_admin_port": "게이트웨이 관리 포트",
        "check.name.gateway_admin_token": "게이트웨이 관리 토큰",
        "check.name.notify": "알림",
    },
}
