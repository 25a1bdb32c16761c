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

from canaria.analysis.settings import AnalysisConfig, CompareConfig, ScoreConfig, TrendConfig
from canaria.durations import Duration
from canaria.errors import ConfigError
from canaria.metrics.exposition import ScrapedMetric
from canaria.metrics.prometheus_config import PrometheusConfig
from canaria.notify.config import NotifyConfig
from canaria.observability.config import ObservabilityConfig
from canaria.web.config import DashboardConfig

__all__ = [
    "AnalysisConfig",
    "CanariaConfig",
    "CompareConfig",
    "GatewayConfig",
    "GuardrailConfig",
    "LocalPlatformConfig",
    "MetricsConfig",
    "PlanConfig",
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


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "b": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def parse_size(value: Any) -> int:
    """Bytes from 512MB, 1GiB, 300M or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError("size must be positive")
        return int(value)
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a size; write e.g. 512MB or 1GiB")
    unit = (match.group(2) or "").lower().rstrip("b")
    mult = _SIZE_MULT.get(unit)
    if mult is None:
        raise ValueError(f"unknown size unit in '{value}'")
    return int(float(match.group(1)) * mult)


def parse_address(value: str) -> tuple[str, int]:
    """'127.0.0.1:8000' or ':8000' or '8000' -> (host, port)."""
    text = str(value).strip()
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"'{value}' is not HOST:PORT") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return host, port


def _check_address(value: str) -> str:
    parse_address(value)
    return value


class UpstreamConfig(_Model):
    """One version: a `command` canaria starts on `port`, or the `url` of an upstream already running."""

    command: str | None = None
    url: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    health: str = "/health"
    health_detailed: str = "/health/detailed"
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    memory_limit: int | None = None
    startup_timeout: Duration = 30.0
    version: str | None = None

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:
        return None if value is None else parse_size(value)

    @model_validator(mode="after")
    def _command_or_url(self) -> UpstreamConfig:
        if not self.command and not self.url:
            raise ValueError("give either `command` (canaria starts it) or `url` (already running)")
        if self.command and self.url:
            raise ValueError("give `command` or `url`, not both")
        if self.command and self.port is None:
            raise ValueError("`port` is required with `command`")
        if self.url and not re.match(r"^https?://", self.url):
            raise ValueError("`url` must start with http:// or https://")
        return self

    @property
    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        return f"http://127.0.0.1:{self.port}"


class LocalPlatformConfig(_Model):
    kind: Literal["local"] = "local"
    stable: UpstreamConfig
    canary: UpstreamConfig
    keep_canary_on_rollback: bool = False


PlatformConfig = LocalPlatformConfig  # becomes a union on `kind` as platforms are added


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


class StageConfig(_Model):
    traffic: float = Field(ge=0, le=100, description="canary share in percent")
    hold: Duration = 0.0
    approval: Literal["required", "none"] = "none"

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
        for i, stage in enumerate(self.stages):
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
    provider: Literal["builtin", "prometheus"] = "builtin"
    prometheus: PrometheusConfig | None = None
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
            raise ConfigError(f"environment variable {name} is not set", field=field)

        return _ENV.sub(repl, node)
    return node


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
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


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


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
        raise ConfigError(f"invalid YAML: {problem}", field=source or "config", line=line) from None
    if data is None:
        raise ConfigError("the file is empty; run `canaria init` for an example", field=source or "config")
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping of keys", field=source or "config")
    data = _substitute(data, (), dict(os.environ if env is None else env))
    try:
        config = CanariaConfig.model_validate({**data, "source_path": source})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("local",)))
        # drop pydantic's internal union/function tags from the location
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}' (check the spelling; see `canaria init` for every key)"
        raise ConfigError(msg, field=_format_loc(loc) or "config", line=_line_of(root, loc)) from None
    return config


def load_config(path: str | Path = "canaria.yaml") -> CanariaConfig:
    file = Path(path)
    if not file.exists():
        raise ConfigError(
            f"{file} not found; run `canaria init` to write an example, or pass -c FILE", field="config"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}", field="config") from None
    return parse_config(text, source=str(file))
