"""canaria.yaml: Pydantic models, ${ENV} substitution and errors that name the field and line.

Loading never has side effects: a bad file raises ConfigError before anything starts or moves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from canaria.config.analysis import AnalysisConfig, CompareConfig, ScoreConfig, TrendConfig
from canaria.config.cloud_monitoring import CloudMonitoringConfig
from canaria.config.custom_metrics import ScrapedMetric
from canaria.config.dashboard import DashboardConfig
from canaria.config.notify import NotifyConfig
from canaria.config.observability import ObservabilityConfig
from canaria.config.platform import (
    PLATFORM_KINDS,
    LocalPlatformConfig,
    PlatformConfig,
    UpstreamConfig,
    default_platform_kind,
)
from canaria.config.prometheus import PrometheusConfig
from canaria.errors import ConfigError
from canaria.foundation.addresses import parse_address
from canaria.foundation.durations import Duration
from canaria.foundation.sizes import parse_size

__all__ = [
    "AnalysisConfig",
    "CanariaConfig",
    "CompareConfig",
    "GatewayConfig",
    "GuardrailConfig",
    "LocalPlatformConfig",
    "MatchConfig",
    "MetricsConfig",
    "PlanConfig",
    "PlatformConfig",
    "ReportConfig",
    "ScoreConfig",
    "StageConfig",
    "TrendConfig",
    "UpstreamConfig",
    "load_config",
    "parse_address",
    "parse_config",
    "parse_size",
    "runbook_guardrails",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_address(value: str) -> str:
    parse_address(value)
    return value


class GatewayConfig(_Model):
    listen: Annotated[str, Field(description="public HOST:PORT")] = "127.0.0.1:8000"
    admin_listen: str = "127.0.0.1:8001"
    admin_token: str = "change-me"
    sticky: str | None = None  # "header:X-User-Id" or "cookie:session"
    upstream_timeout: Duration = 30.0
    connect_timeout: Duration = 3.0
    # Deadlines and limits of both listeners (issue 10): a stalled client never holds a socket for ever.
    header_timeout: Annotated[Duration, Field(gt=0)] = 10.0
    body_timeout: Annotated[Duration, Field(gt=0)] = 30.0  # longest pause between request body bytes
    keepalive_timeout: Annotated[Duration, Field(gt=0)] = 60.0
    stream_idle_timeout: Annotated[Duration, Field(gt=0)] = 300.0  # pause allowed in a streamed response or WebSocket
    send_timeout: Annotated[Duration, Field(gt=0)] = 30.0  # longest a client may leave its response unread
    max_connections: Annotated[int, Field(ge=1)] = 4096
    max_connections_per_ip: Annotated[int, Field(ge=1)] = 512
    retry_on_stable: bool = True  # idempotent requests the canary failed before answering go to stable
    trusted_proxies: list[str] = Field(default_factory=list)  # IPs/CIDRs whose X-Forwarded-For is kept
    admin_token_insecure_ok: bool = False  # accept the default token 'change-me' (local experiments)
    public_status_upstreams: bool = False  # show upstream URLs on the public status endpoint

    _addr = field_validator("listen", "admin_listen")(_check_address)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies entry '{entry}' is not an IP address or CIDR") from None
        return value

    @field_validator("sticky")
    @classmethod
    def _sticky(cls, value: str | None) -> str | None:
        if value is None:
            return None
        kind, _, name = value.partition(":")
        if kind not in ("header", "cookie") or not name:
            raise ValueError("sticky must be 'header:NAME' or 'cookie:NAME'")
        return value


class MatchConfig(_Model):
    """A tester route: requests with this header (or cookie) value reach the canary, whatever the weight."""

    header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    cookie: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    value: str = Field(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")

    @model_validator(mode="after")
    def _one_key(self) -> MatchConfig:
        if bool(self.header) == bool(self.cookie):
            raise ValueError("give exactly one of `header` or `cookie` (with `value`)")
        return self


class StageConfig(_Model):
    traffic: float = Field(default=0.0, ge=0, le=100, description="canary share in percent")
    match: MatchConfig | None = None  # testers first: only matching requests (plus `traffic`%) reach the canary
    hold: Duration = 0.0
    approval: Literal["required", "none"] = "none"

    @model_validator(mode="after")
    def _routes_something(self) -> StageConfig:
        if self.traffic <= 0 and self.match is None:
            raise ValueError("a stage needs `traffic` above 0 or a tester `match`")
        return self

    @property
    def needs_approval(self) -> bool:
        return self.approval == "required"


def _runbook_stages() -> list[StageConfig]:
    return [
        StageConfig(traffic=5, hold=3600),
        StageConfig(traffic=10, hold=3600),
        StageConfig(traffic=50, hold=3600, approval="required"),
        StageConfig(traffic=100, hold=0),
    ]


class PlanConfig(_Model):
    stages: list[StageConfig] = Field(default_factory=_runbook_stages, min_length=1)
    approval_timeout: Duration = 0.0  # 0 = wait for ever; else exit 4 when it runs out

    @model_validator(mode="after")
    def _increasing(self) -> PlanConfig:
        last = -1.0
        weighted = False
        for i, stage in enumerate(self.stages):
            if stage.match is not None:
                if weighted:
                    raise ValueError(f"stage {i + 1}: tester (`match`) stages come before the weighted ones")
                if stage.traffic < last:
                    raise ValueError(f"stage {i + 1} traffic {stage.traffic:g} is below the one before")
            else:
                weighted = True
                if stage.traffic <= last:
                    raise ValueError(f"stage {i + 1} traffic {stage.traffic:g} must be greater than the one before")
            last = stage.traffic
        return self


GuardrailMetric = str  # error_rate_pct | p50_ms | p95_ms | p99_ms | mean_ms | memory_pct | cpu_pct | custom:NAME
_BUILTIN_METRICS = {"error_rate_pct", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "memory_pct", "cpu_pct"}


class GuardrailConfig(_Model):
    metric: GuardrailMetric
    max: float
    consecutive: int = Field(default=1, ge=1)
    action: Literal["rollback", "warn"] = "rollback"
    name: str | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value in _BUILTIN_METRICS or (value.startswith("custom:") and len(value) > 7):
            return value
        raise ValueError(f"unknown metric '{value}'; use one of {sorted(_BUILTIN_METRICS)} or custom:NAME")

    @property
    def label(self) -> str:
        return self.name or self.metric


def runbook_guardrails() -> list[GuardrailConfig]:
    """The runbook's NO-GO rules and targets."""
    return [
        GuardrailConfig(metric="error_rate_pct", max=1.0, consecutive=3),
        GuardrailConfig(metric="p95_ms", max=500.0, consecutive=3),
        GuardrailConfig(metric="memory_pct", max=85.0, consecutive=2),
        GuardrailConfig(metric="cpu_pct", max=80.0, consecutive=3),
        GuardrailConfig(metric="p50_ms", max=300.0, consecutive=1, action="warn"),
        GuardrailConfig(metric="p99_ms", max=800.0, consecutive=1, action="warn"),
    ]


class MetricsConfig(_Model):
    provider: Literal["builtin", "prometheus", "cloud-monitoring"] = "builtin"
    prometheus: PrometheusConfig | None = None
    #: cloud-monitoring provider (Cloud Run's own metrics); every key has a default
    cloud_monitoring: CloudMonitoringConfig | None = None
    #: builtin provider: custom metrics read from each version's own /metrics (see metrics/exposition.py)
    custom: list[ScrapedMetric] = Field(default_factory=list)
    scrape_path: str = "/metrics"

    @model_validator(mode="after")
    def _provider_section(self) -> MetricsConfig:
        if self.provider == "prometheus" and self.prometheus is None:
            raise ValueError("provider is prometheus but `metrics.prometheus` is missing; "
                             "add it with at least `url: http://HOST:9090`")
        return self


class ReportConfig(_Model):
    every: Duration = 300.0
    dir: str | None = None  # default: <state_dir>/reports


class CanariaConfig(_Model):
    service: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    lang: Literal["en", "ko"] | None = None
    state_dir: str = ".canaria"
    platform: PlatformConfig

    @field_validator("platform", mode="before")
    @classmethod
    def _platform_kind(cls, value: Any) -> Any:
        return default_platform_kind(value)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    guardrails: list[GuardrailConfig] = Field(default_factory=runbook_guardrails)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    #: where the file was loaded from; relative paths (state_dir, cwd) are resolved against its folder
    source_path: str | None = Field(default=None, exclude=True)

    @property
    def base_dir(self) -> Path:
        return Path(self.source_path).resolve().parent if self.source_path else Path.cwd()

    @property
    def state_path(self) -> Path:
        path = Path(self.state_dir)
        return path if path.is_absolute() else self.base_dir / path

    @property
    def reports_path(self) -> Path:
        if self.report.dir:
            path = Path(self.report.dir)
            return path if path.is_absolute() else self.base_dir / path
        return self.state_path / "reports"


# ---------------------------------------------------------------- loading

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(node: Any, path: tuple[str | int, ...], env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, (*path, str(k)), env) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, (*path, i), env) for i, v in enumerate(node)]
    if isinstance(node, str):

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            field = ".".join(str(p) for p in path)
            raise ConfigError(f"environment variable {name} is not set", field=field, key="error.config.env_unset",
                              params={"name": name})

        return _ENV.sub(repl, node)
    return node


def yaml_line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Line (1-based) of the YAML node at `loc`, or of the deepest parent found."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    found = value_node
                    line = key_node.start_mark.line + 1
                    break
            if found is None:
                return line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# pydantic error types whose message canaria can say in every language (catalogue keys; English is pydantic's)
_CONFIG_KEYS = {"extra_forbidden": "error.config.unknown_key", "missing": "error.config.required"}


def parse_config(
    text: str, *, source: str | None = None, env: dict[str, str] | None = None
) -> CanariaConfig:
    """Parse YAML text into a validated config, or raise ConfigError naming field and line."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", field=source or "config", line=line,
                          key="error.config.yaml", params={"problem": {"literal": problem}}) from None
    if data is None:
        raise ConfigError("the file is empty; run `canaria init` for an example", field=source or "config",
                          key="error.config.empty")
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", field=source or "config",
                          key="error.config.not_mapping")
    data = _substitute(data, (), dict(os.environ if env is None else env))
    try:
        config = CanariaConfig.model_validate({**data, "source_path": source})
    except ValidationError as exc:
        err = exc.errors()[0]
        raw = tuple(err["loc"])
        if len(raw) > 1 and raw[0] == "platform" and raw[1] in PLATFORM_KINDS:  # the union's tag, not a key
            raw = raw[:1] + raw[2:]
        loc = raw
        # drop pydantic's internal union/function tags from the location
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = err["msg"].removeprefix("Value error, ")
        key, params = _CONFIG_KEYS.get(err["type"]), {}
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}' (check the spelling; see `canaria init` for every key)"
            params = {"name": str(loc[-1])}
        raise ConfigError(msg, field=format_loc(loc) or "config", line=yaml_line_of(root, loc), key=key,
                          params=params) from None
    return config


def load_config(path: str | Path = "canaria.yaml") -> CanariaConfig:
    file = Path(path)
    if not file.exists():
        raise ConfigError(
            f"{file} not found; run `canaria init` to write an example, or pass -c FILE", field="config",
            key="error.config.not_found", params={"file": str(file)},
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}", field="config", key="error.config.unreadable",
                          params={"file": str(file), "reason": {"literal": str(exc.strerror)}}) from None
    return parse_config(text, source=str(file))
