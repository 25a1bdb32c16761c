"""The nginx include and the `nginx -T` reader, without nginx."""

from __future__ import annotations

import pytest

from canaria.errors import ConfigError
from canaria.platforms.nginx_conf import NginxRoute, render_include
from canaria.platforms.nginx_dump import REQUIRED_LOG_FIELDS, parse_dump
from canaria.platforms.pool_weights import applied_percent, server_weights


@pytest.mark.parametrize(("percent", "n_stable", "n_canary"),
                         [(5, 1, 1), (10, 2, 1), (50, 3, 2), (0.5, 1, 3), (33.33, 2, 2), (0, 1, 1), (100, 2, 1)])
def test_weights_give_the_exact_share(percent: float, n_stable: int, n_canary: int) -> None:
    stable_w, canary_w = server_weights(percent, n_stable, n_canary)
    assert applied_percent([stable_w] * n_stable, [canary_w] * n_canary) == pytest.approx(percent, abs=0.01)


def test_capped_weights_stay_close_and_nonzero() -> None:
    stable_w, canary_w = server_weights(0.5, 1, 1, maximum=256)
    assert max(stable_w, canary_w) <= 256 and canary_w >= 1
    assert applied_percent([stable_w], [canary_w]) == pytest.approx(0.5, abs=0.1)


def test_include_has_weighted_upstream_tester_map_and_status() -> None:
    text = render_include(NginxRoute("ion_api", ("10.0.0.5:9001", "10.0.0.6:9001"), ("10.0.0.7:9002",), 10.0, 3,
                                     "127.0.0.1:8765", header="X-Canary", value="always"))
    assert "upstream ion_api {\n    server 10.0.0.5:9001 weight=9;\n    server 10.0.0.6:9001 weight=9;\n" \
           "    server 10.0.0.7:9002 weight=2;\n}" in text
    assert "upstream ion_api_canary {\n    server 10.0.0.7:9002;\n}" in text
    assert 'map $http_x_canary $canaria_ion_api_upstream {\n    default ion_api;\n    "always" ion_api_canary;' in text
    assert '"generation":3' in text and "listen 127.0.0.1:8765;" in text


def test_zero_share_is_marked_down_not_weight_zero() -> None:
    text = render_include(NginxRoute("app", ("127.0.0.1:1",), ("127.0.0.1:2",), 0.0, 1, "127.0.0.1:3"))
    assert "server 127.0.0.1:2 down;" in text and "weight=0" not in text


@pytest.mark.parametrize("route", [
    NginxRoute("bad-name", ("a:1",), ("b:2",), 5, 1, "127.0.0.1:3"),
    NginxRoute("app", ("a:1",), ("b:2",), 5, 1, "127.0.0.1:3", header="X-Canary", value="it's $me"),
    NginxRoute("app", ("not an address",), ("b:2",), 5, 1, "127.0.0.1:3"),
    NginxRoute("app", ("a:1",), ("b:2",), 101, 1, "127.0.0.1:3"),
])
def test_values_nginx_cannot_carry_are_config_errors(route: NginxRoute) -> None:
    with pytest.raises(ConfigError):
        render_include(route)


DUMP = """nginx: the configuration file /etc/nginx/nginx.conf syntax is ok
# configuration file /etc/nginx/nginx.conf:
http {
    log_format canaria_json escape=json '{"upstream":"$upstream_addr","status":$status,'
        '"upstream_response_time":"$upstream_response_time","request_time":$request_time}';
    include /etc/nginx/canaria/ion-api.conf;
    server {
        access_log /var/log/nginx/ion-api.json canaria_json; # our log
        location / { proxy_pass http://$canaria_ion_api_upstream; }
    }
}

# configuration file /etc/nginx/canaria/ion-api.conf:
upstream ion_api { server 10.0.0.5:9001 weight=1; }
"""


def test_dump_tells_include_proxy_pass_and_log_format() -> None:
    dump = parse_dump(DUMP)
    assert dump.includes("/etc/nginx/canaria/ion-api.conf")
    assert dump.uses_upstream("http://$canaria_ion_api_upstream", outside="/etc/nginx/canaria/ion-api.conf")
    assert not dump.uses_upstream("http://$canaria_other_upstream")
    fmt = dump.format_of("/var/log/nginx/ion-api.json")
    assert fmt is not None and all(f in fmt for f in REQUIRED_LOG_FIELDS)
    assert dump.format_of("/var/log/nginx/access.log") is None
