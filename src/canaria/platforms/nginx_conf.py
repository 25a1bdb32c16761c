"""The one nginx include canaria owns: weighted upstreams, the tester-route map and a status location.

The user adds two lines to their own config and never edits the include::

    http {
        include /etc/nginx/canaria/ion-api.conf;          # canaria's file (nginx.upstream_file)
        server {
            location / { proxy_pass http://$canaria_ion_api_upstream; }
        }
    }

The include defines, for `upstream_name: ion_api`:

- `upstream ion_api` — every stable and canary server with `weight=N`, so the canary's share of the
  weighted round robin is the stage's percent (nginx weights are integers; the ratio is exact to 0.01 %);
- `upstream ion_api_canary` — only the canary servers, for testers;
- `map $http_x_canary $canaria_ion_api_upstream` — `default ion_api;` and one line per tester value that
  picks `ion_api_canary`. Without a tester route the map has only its default, so the user's
  `proxy_pass` line never changes. A `proxy_pass` with a variable naming a defined upstream uses it
  directly (no resolver is involved);
- a `server` listening on `status_listen` (loopback) whose one location returns the route this very file
  describes as JSON. It is served by the running workers, so reading it tells what nginx *loaded* — not
  what canaria wrote — and the generation number tells whether a reload has taken effect yet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from canaria.errors import ConfigError
from canaria.platforms.pool_weights import server_weights

__all__ = ["NginxRoute", "render_include", "status_path", "upstream_variable", "validate_upstream_name"]

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_HEADER = re.compile(r"^[A-Za-z0-9-]+$")
_COOKIE = re.compile(r"^[A-Za-z0-9_]+$")
_VALUE = re.compile(r"^[A-Za-z0-9._~-]+$")
_SERVER = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


def validate_upstream_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError("use letters, digits and _ only (it becomes an nginx upstream and variable name)",
                          field="platform.nginx.upstream_name")
    return name


def upstream_variable(name: str) -> str:
    """The variable the user's `proxy_pass http://$…;` line names."""
    return f"$canaria_{name}_upstream"


def status_path(name: str) -> str:
    return f"/canaria/{name}"


@dataclass(frozen=True)
class NginxRoute:
    """Everything one include describes. `weight` is the canary's percent; `header`/`cookie` + `value`
    is the tester route (or none)."""

    name: str
    stable: tuple[str, ...]
    canary: tuple[str, ...]
    weight: float
    generation: int
    status_listen: str
    header: str | None = None
    cookie: str | None = None
    value: str | None = None

    def status_document(self) -> dict[str, object]:
        stable_w, canary_w = server_weights(self.weight, len(self.stable), len(self.canary))
        match = None
        if self.value is not None:
            match = {"header": self.header, "cookie": self.cookie, "value": self.value}
        return {"canaria": 1, "upstream": self.name, "generation": self.generation, "weight": self.weight,
                "servers": {**{s: stable_w for s in self.stable}, **{s: canary_w for s in self.canary}},
                "stable": list(self.stable), "canary": list(self.canary), "match": match}


def _check_servers(servers: tuple[str, ...], variant: str) -> None:
    for server in servers:
        if not _SERVER.match(server):
            raise ConfigError(f"{server!r} is not host:port", field=f"platform.{variant}.url")


def _map_source(route: NginxRoute) -> str:
    if route.cookie:
        if not _COOKIE.match(route.cookie):
            raise ConfigError("nginx tester cookies may use letters, digits and _ only", field="plan.stages.match")
        return f"$cookie_{route.cookie}"
    header = route.header or "X-Canary"
    if not _HEADER.match(header):
        raise ConfigError("a tester header name uses letters, digits and - only", field="plan.stages.match")
    return "$http_" + header.lower().replace("-", "_")


def render_include(route: NginxRoute) -> str:
    """The whole include file for one route. Raises ConfigError for a name or value nginx cannot carry."""
    validate_upstream_name(route.name)
    _check_servers(route.stable, "stable")
    _check_servers(route.canary, "canary")
    if route.value is not None and not _VALUE.match(route.value):
        raise ConfigError("a tester value uses letters, digits and . _ ~ - only", field="plan.stages.match.value")
    if not re.match(r"^[0-9.]+:[0-9]{1,5}$", route.status_listen):
        raise ConfigError("status_listen must be a loopback IPv4 address:port", field="platform.nginx.status_listen")
    stable_w, canary_w = server_weights(route.weight, len(route.stable), len(route.canary))
    name = route.name
    lines = [f"# Managed by canaria (generation {route.generation}). Do not edit: every stage rewrites it.",
             f"upstream {name} {{"]
    # nginx has no weight=0: a version with no share is marked down, which keeps it declared
    lines += [f"    server {s} weight={stable_w};" if stable_w else f"    server {s} down;" for s in route.stable]
    lines += [f"    server {s} weight={canary_w};" if canary_w else f"    server {s} down;" for s in route.canary]
    lines += ["}", f"upstream {name}_canary {{"]
    lines += [f"    server {s};" for s in route.canary]
    lines += ["}", f"map {_map_source(route)} {upstream_variable(name)} {{", f"    default {name};"]
    if route.value is not None:
        lines.append(f'    "{route.value}" {name}_canary;')
    document = json.dumps(route.status_document(), separators=(",", ":"), sort_keys=True)
    lines += ["}", "server {", f"    listen {route.status_listen};", "    access_log off;",
              f"    location = {status_path(name)} {{", "        default_type application/json;",
              f"        return 200 '{document}';", "    }", "}", ""]
    return "\n".join(lines)
