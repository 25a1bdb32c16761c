"""`canaria init --platform nginx|haproxy` templates are valid configs and carry the exact proxy lines."""

from __future__ import annotations

from pathlib import Path

import pytest

import canaria
from canaria.config import parse_config
from canaria.config.platform import HaproxyPlatformConfig, NginxPlatformConfig
from canaria.platforms.access_log import HAPROXY_LOG_FORMAT, NGINX_LOG_FORMAT

TEMPLATES = Path(canaria.__file__).parent / "templates"


@pytest.mark.parametrize(("kind", "model", "line"), [
    ("nginx", NginxPlatformConfig, NGINX_LOG_FORMAT),
    ("haproxy", HaproxyPlatformConfig, HAPROXY_LOG_FORMAT),
])
def test_template_parses_and_prints_the_log_format(kind: str, model: type, line: str) -> None:
    text = (TEMPLATES / f"init-{kind}.yaml").read_text()
    config = parse_config(text, env={"CANARIA_ADMIN_TOKEN": "x"})
    assert isinstance(config.platform, model)
    assert config.plan.stages[0].match is not None  # testers first
    assert line in text  # the exact line the access-log reader parses


def test_nginx_template_names_the_proxy_pass_variable() -> None:
    text = (TEMPLATES / "init-nginx.yaml").read_text()
    assert "proxy_pass http://$canaria_ion_api_upstream;" in text
    assert "include /etc/nginx/canaria/ion-api.conf;" in text
