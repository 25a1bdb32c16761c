"""`platform:` — where the two versions run and how traffic is split (DESIGN.md §5's config shapes).

One model per backend, a discriminated union on `kind` (a file without `kind` is `local`, as before §5).
The keys here are relied on by users' files and by other checks: extend them, don't rename them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canaria.foundation.durations import Duration
from canaria.foundation.sizes import parse_size

__all__ = [
    "CloudRunPlatformConfig",
    "CloudRunSettings",
    "HaproxyPlatformConfig",
    "HaproxySettings",
    "KubernetesPlatformConfig",
    "KubernetesRouterConfig",
    "KubernetesSettings",
    "LocalPlatformConfig",
    "NginxPlatformConfig",
    "NginxSettings",
    "PLATFORM_KINDS",
    "PlatformConfig",
    "SupervisionConfig",
    "UpstreamConfig",
    "default_platform_kind",
    "with_canary_image",
]

PLATFORM_KINDS = ("local", "nginx", "haproxy", "kubernetes", "cloudrun")
_URL = re.compile(r"^https?://")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UpstreamConfig(_Model):
    """One version: a `command` canaria starts on `port`, the `url` of one that runs already, or a pool (`urls`)."""

    command: str | None = None
    url: str | None = None
    urls: list[str] | None = None  # a pool on VMs: the weight is spread evenly over its servers
    port: int | None = Field(default=None, ge=1, le=65535)
    health: str = "/health"
    health_detailed: str = "/health/detailed"
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    memory_limit: int | None = None
    startup_timeout: Duration = 30.0
    version: str | None = None
    restart_command: str | None = None  # the memory-leak playbook's restart for a version canaria does not own

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:
        return None if value is None else parse_size(value)

    @model_validator(mode="after")
    def _command_or_url(self) -> UpstreamConfig:
        given = [name for name in ("command", "url", "urls") if getattr(self, name)]
        if not given:
            raise ValueError("give either `command` (canaria starts it), `url` (already running) or `urls` (a pool)")
        if len(given) > 1:
            raise ValueError(f"give only one of `command`, `url` or `urls`, not {' and '.join(given)}")
        if self.command and self.port is None:
            raise ValueError("`port` is required with `command`")
        for url in self.all_urls if not self.command else []:
            if not _URL.match(url):
                raise ValueError(f"`{url}` must start with http:// or https://")
        return self

    @property
    def all_urls(self) -> list[str]:
        """Every server of this version (one for `command`/`url`, the pool for `urls`)."""
        if self.urls:
            return [u.rstrip("/") for u in self.urls]
        return [self.base_url]

    @property
    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        if self.urls:
            return self.urls[0].rstrip("/")
        return f"http://127.0.0.1:{self.port}"


class SupervisionConfig(_Model):
    """How `run` and `enable-canary` keep the processes canaria runs (gateway, stable, canary) alive: a dead one
    is restarted, at most `max_restarts` times per `restart_window`; a canary past that is a NO-GO."""

    enabled: bool = True
    interval: Duration = Field(default=1.0, gt=0)  # how often `run` probes the data plane between ticks
    max_restarts: int = Field(default=3, ge=0)
    restart_window: Duration = Field(default=60.0, gt=0)


class _PlatformBase(_Model):
    stable: UpstreamConfig | None = None
    canary: UpstreamConfig | None = None
    keep_canary_on_rollback: bool = False
    verify_timeout: Duration = 120.0  # how long a written route may stay `pending` before the step fails
    supervise: SupervisionConfig = Field(default_factory=SupervisionConfig)

    def spec(self, variant: str) -> UpstreamConfig | None:
        return self.stable if variant == "stable" else self.canary


class _TwoVersions(_PlatformBase):
    """Backends where canaria needs both versions' addresses (or commands)."""

    stable: UpstreamConfig | None = None
    canary: UpstreamConfig | None = None

    @model_validator(mode="after")
    def _both(self) -> _TwoVersions:
        missing = [name for name in ("stable", "canary") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"platform.{' and platform.'.join(missing)} is required (a command, url or urls)")
        return self


class LocalPlatformConfig(_TwoVersions):
    """The embedded gateway in front of two local processes or URLs."""

    kind: Literal["local"] = "local"


class NginxSettings(_Model):
    upstream_file: str  # the include canaria owns, e.g. /etc/nginx/canaria/ion-api.conf
    upstream_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    test_command: str = "nginx -t"
    reload_command: str = "nginx -s reload"
    dump_command: str = "nginx -T"  # what nginx actually loaded (verify_route reads this, not the file)
    access_log: str | None = None  # JSON log_format (see `canaria init --platform nginx`)


class NginxPlatformConfig(_TwoVersions):
    kind: Literal["nginx"]
    nginx: NginxSettings


class HaproxySettings(_Model):
    runtime_api: str  # unix socket path or HOST:PORT of `stats socket ... level admin`
    backend: str
    stable_server: str = "stable"
    canary_server: str = "canary"
    map_file: str | None = None  # tester routes: the map the user's `use-server`/`use_backend` line reads
    access_log: str | None = None
    server_state_file: str | None = None


class HaproxyPlatformConfig(_TwoVersions):
    kind: Literal["haproxy"]
    haproxy: HaproxySettings


class KubernetesRouterConfig(_Model):
    kind: Literal["gateway-api", "istio", "replicas"] = "gateway-api"
    httproute: str | None = None
    virtualservice: str | None = None
    service: str | None = None  # the stable Service (default: the Deployment's name)


class KubernetesSettings(_Model):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "default"
    deployment: str
    container: str | None = None
    image: str | None = None  # the canary image; `--image` on run / enable-canary
    router: KubernetesRouterConfig = Field(default_factory=KubernetesRouterConfig)
    keep_canary_objects: bool = False  # after promotion or rollback: scale to zero but keep the objects
    ready_timeout: Duration = 300.0


class KubernetesPlatformConfig(_PlatformBase):
    kind: Literal["kubernetes"]
    kubernetes: KubernetesSettings


class CloudRunSettings(_Model):
    project: str
    region: str
    service: str
    image: str | None = None  # the canary image; `--image` on run / enable-canary
    api_endpoint: str | None = None  # e.g. a regional endpoint; tests point it at a local fake
    tag: str = "canary"
    keep_tag_on_promote: bool = False
    ready_timeout: Duration = 300.0


class CloudRunPlatformConfig(_PlatformBase):
    kind: Literal["cloudrun"]
    cloudrun: CloudRunSettings


def default_platform_kind(value: Any) -> Any:
    """A `platform:` without `kind` is the embedded default, as before backends existed."""
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "local", **value}
    return value


PlatformConfig = Annotated[
    LocalPlatformConfig | NginxPlatformConfig | HaproxyPlatformConfig | KubernetesPlatformConfig
    | CloudRunPlatformConfig,
    Field(discriminator="kind"),
]


def with_canary_image(platform: Any, image: str) -> Any:
    """The platform config with `--image` as the canary image (Kubernetes and Cloud Run deploy images)."""
    if not image.strip():
        raise ValueError("--image must not be empty")
    if isinstance(platform, KubernetesPlatformConfig):
        return platform.model_copy(update={"kubernetes": platform.kubernetes.model_copy(update={"image": image})})
    if isinstance(platform, CloudRunPlatformConfig):
        return platform.model_copy(update={"cloudrun": platform.cloudrun.model_copy(update={"image": image})})
    raise ValueError(f"--image applies to platform kinds kubernetes and cloudrun; for {platform.kind} set "
                     "platform.canary.command or url in canaria.yaml")
