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


class _PlatformBase(_Model):
    stable: UpstreamConfig | None = None
    canary: UpstreamConfig | None = None
    keep_canary_on_rollback: bool = False
    verify_timeout: Duration = 120.0  # how long a written route may stay `pending` before the step fails

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
    dump_command: str = "nginx -T"  # the configuration nginx loads, for `canaria check` (include, proxy_pass, log)
    access_log: str | None = None  # JSON log_format (see `canaria init --platform nginx`)
    # loopback HOST:PORT of the status server in the include: verify_route asks the running workers
    status_listen: str = Field(default="127.0.0.1:8765", pattern=r"^127\.[0-9.]+:[0-9]{1,5}$")


class NginxPlatformConfig(_TwoVersions):
    kind: Literal["nginx"]
    nginx: NginxSettings


class HaproxySettings(_Model):
    runtime_api: str  # unix socket path or HOST:PORT of `stats socket ... level admin`
    backend: str
    stable_server: str = "stable"
    canary_server: str = "canary"
    stable_servers: list[str] | None = None  # a pool (`urls:`): the backend's server names, in `urls` order
    canary_servers: list[str] | None = None
    map_file: str | None = None  # tester routes: the map the user's `use-server`/`use_backend` line reads
    access_log: str | None = None
    server_state_file: str | None = None


class HaproxyPlatformConfig(_TwoVersions):
    kind: Literal["haproxy"]
    haproxy: HaproxySettings

    @model_validator(mode="after")
    def _names_per_server(self) -> HaproxyPlatformConfig:
        for variant in ("stable", "canary"):
            spec = self.spec(variant)
            names = getattr(self.haproxy, f"{variant}_servers")
            if spec is not None and names is not None and len(names) != len(spec.all_urls):
                raise ValueError(f"haproxy.{variant}_servers names {len(names)} servers but "
                                 f"platform.{variant} has {len(spec.all_urls)}")
        return self


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
    rollout_timeout: Duration = 600.0  # promotion / --to-revision: how long the stable Deployment's rollout may take
    canary_replicas: int | None = Field(default=None, ge=1)  # gateway-api/istio (default: the stable's replicas)
    request_timeout: Duration = 10.0  # one call to the API server


class KubernetesPlatformConfig(_PlatformBase):
    kind: Literal["kubernetes"]
    kubernetes: KubernetesSettings


class CloudRunSettings(_Model):
    project: str
    region: str
    service: str
    image: str | None = None  # the canary image; `--image` on run / enable-canary
    api_endpoint: str | None = None  # e.g. a regional endpoint; tests point it at a local fake
    tag: str = Field(default="canary", pattern=r"^[a-z]([a-z0-9-]{0,44}[a-z0-9])?$")
    keep_tag_on_promote: bool = False
    ready_timeout: Duration = 300.0
    #: after promotion: `latest` gives LATEST 100 % again (a plain `gcloud run deploy` then serves as usual);
    #: `revision` keeps the promoted revision pinned by name
    promote_to: Literal["latest", "revision"] = "latest"
    #: the container whose image is the canary's, for multi-container services (default: the first)
    container: str | None = None
    #: how often a revision's Ready condition and the applied traffic are read back
    poll_interval: Duration = 2.0


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
