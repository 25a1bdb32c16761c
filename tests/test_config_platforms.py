"""`platform.kind` and `plan.stages[].match` (DESIGN.md §5): shapes, defaults and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canaria.config import parse_config
from canaria.config.platform import with_canary_image
from canaria.errors import ConfigError
from canaria.platforms import create_platform

HEAD = "service: ion-api\nstate_dir: /tmp/canaria-config-test\n"
LOCAL = HEAD + "platform:\n  stable: {url: 'http://127.0.0.1:9001'}\n  canary: {url: 'http://127.0.0.1:9002'}\n"
KUBERNETES = HEAD + "platform:\n  kind: kubernetes\n  kubernetes: {deployment: ion-api, image: 'ion-api:2.1'}\n"
CLOUDRUN = HEAD + ("platform:\n  kind: cloudrun\n  cloudrun: {project: my-project, region: asia-northeast3, "
                   "service: ion-api}\n")


def test_a_platform_without_kind_is_the_embedded_default() -> None:
    config = parse_config(LOCAL)
    assert config.platform.kind == "local"
    assert config.platform.spec("canary").base_url == "http://127.0.0.1:9002"


def test_each_kind_takes_its_own_section() -> None:
    nginx = parse_config(HEAD + "platform:\n  kind: nginx\n  stable: {urls: ['http://10.0.0.5:9001', "
                         "'http://10.0.0.6:9001']}\n  canary: {url: 'http://10.0.0.7:9001'}\n"
                         "  nginx: {upstream_file: /etc/nginx/canaria/ion-api.conf, upstream_name: ion_api}\n")
    assert nginx.platform.kind == "nginx" and nginx.platform.nginx.test_command == "nginx -t"
    assert nginx.platform.stable.all_urls == ["http://10.0.0.5:9001", "http://10.0.0.6:9001"]
    haproxy = parse_config(HEAD + "platform:\n  kind: haproxy\n  stable: {url: 'http://127.0.0.1:1'}\n"
                           "  canary: {url: 'http://127.0.0.1:2'}\n"
                           "  haproxy: {runtime_api: /run/haproxy/admin.sock, backend: be_ion_api}\n")
    assert (haproxy.platform.haproxy.stable_server, haproxy.platform.haproxy.canary_server) == ("stable", "canary")
    k8s = parse_config(KUBERNETES)
    assert k8s.platform.kubernetes.router.kind == "gateway-api" and k8s.platform.spec("stable") is None
    assert parse_config(CLOUDRUN).platform.cloudrun.tag == "canary"


@pytest.mark.parametrize(("text", "field", "words"), [
    (HEAD + "platform:\n  kind: swarm\n", "platform", "swarm"),
    (HEAD + "platform:\n  kind: nginx\n  stable: {url: 'http://127.0.0.1:1'}\n  canary: {url: 'http://127.0.0.1:2'}\n",
     "platform.nginx", "Field required"),
    (HEAD + "platform:\n  kind: haproxy\n  stable: {url: 'http://127.0.0.1:1'}\n"
     "  haproxy: {runtime_api: /run/haproxy.sock, backend: be}\n", "platform (line 3)", "platform.canary is required"),
    (HEAD + "platform:\n  stable: {url: 'http://127.0.0.1:1', urls: ['http://127.0.0.1:2']}\n"
     "  canary: {url: 'http://127.0.0.1:2'}\n", "platform.stable", "not url and urls"),
    (LOCAL + "plan:\n  stages:\n    - {match: {header: X-Canary}, hold: 15m}\n", "plan.stages[0].match.value",
     "Field required"),
    (LOCAL + "plan:\n  stages:\n    - {match: {header: X-Canary, cookie: c, value: v}}\n", "plan.stages[0].match",
     "exactly one of `header` or `cookie`"),
    (LOCAL + "plan:\n  stages:\n    - {traffic: 5}\n    - {match: {header: X-Canary, value: v}}\n", "plan",
     "tester (`match`) stages come before the weighted ones"),
    (LOCAL + "plan:\n  stages:\n    - {hold: 5m}\n", "plan.stages[0]", "`traffic` above 0 or a tester `match`"),
])
def test_bad_platform_and_match_shapes_are_one_clear_line(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    message = str(info.value)
    assert field in message and words in message and "\n" not in message, message


def test_a_tester_stage_comes_first_with_the_weighted_ones_after_it() -> None:
    config = parse_config(LOCAL + "plan:\n  stages:\n    - {match: {cookie: canary, value: 'yes'}, hold: 15m}\n"
                          "    - {traffic: 5, hold: 60m}\n    - {traffic: 100}\n")
    first = config.plan.stages[0]
    assert first.traffic == 0 and first.match is not None and first.match.cookie == "canary"


def test_image_override_applies_to_the_platforms_that_deploy_images() -> None:
    k8s = with_canary_image(parse_config(KUBERNETES).platform, "ion-api:2.2")
    assert k8s.kubernetes.image == "ion-api:2.2"
    assert with_canary_image(parse_config(CLOUDRUN).platform, "gcr.io/p/ion:2").cloudrun.image == "gcr.io/p/ion:2"
    with pytest.raises(ValueError, match="--image applies to platform kinds kubernetes and cloudrun"):
        with_canary_image(parse_config(LOCAL).platform, "x")


def test_the_factory_names_a_backend_it_cannot_load() -> None:
    config = parse_config(LOCAL)
    assert type(create_platform(config)).__name__ == "LocalPlatform"
    broken = config.model_copy(update={"platform": config.platform.model_copy(update={"kind": "nowhere"})})
    with pytest.raises(ConfigError, match="unknown platform kind 'nowhere'"):
        create_platform(broken)


def _canaria(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "canaria", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)


def test_cli_platform_options_refuse_what_does_not_apply(tmp_path: Path) -> None:
    result = _canaria(tmp_path, "init", "--platform", "swarm")
    assert result.returncode == 2 and "--platform must be one of local, nginx" in result.stderr
    assert not (tmp_path / "canaria.yaml").exists()
    (tmp_path / "canaria.yaml").write_text(LOCAL.replace("/tmp/canaria-config-test", str(tmp_path / "state")))
    result = _canaria(tmp_path, "enable-canary", "--traffic", "5", "--image", "ion-api:2")
    assert result.returncode == 2 and "--image applies to platform kinds kubernetes and cloudrun" in result.stderr
    result = _canaria(tmp_path, "rollback", "--to-revision", "3")
    assert result.returncode == 2 and "platform local keeps no revisions" in result.stderr
