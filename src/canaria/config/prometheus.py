"""`metrics.prometheus` in canaria.yaml: where the server is and which PromQL gives each measurement.

Queries are templates. `{name}` is replaced by a variable; PromQL's own braces are left alone because a
label matcher always contains an operator (`{version="v1"}` is not a variable). The variables are:

    {service}         the config's `service`
    {variant}         stable | canary
    {selector}        the variant's label matchers WITHOUT braces, e.g. version="v2" — write metric{{selector}}
    {window}          the analysis window as a PromQL duration, e.g. 300s
    {request_filter}  matchers that drop probe/scrape traffic (default path!~"/metrics|/health.*")
    {memory_limit}    the variant's memory limit in bytes (platform.<variant>.memory_limit, else memory_limit)
    the variant's own label values (e.g. {version}) and everything under `variables`

An unknown `{name}` is a config error, so a typo never reaches the server as a strange query.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from canaria.foundation.durations import Duration
from canaria.foundation.sizes import parse_size

__all__ = [
    "BUILTIN_VARIABLES",
    "CustomQuery",
    "PrometheusConfig",
    "PrometheusQueries",
    "render",
    "template_names",
]

#: Names canaria fills in itself; `variables` may not redefine them.
BUILTIN_VARIABLES = frozenset({"service", "variant", "selector", "window", "request_filter", "memory_limit"})

_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def template_names(template: str) -> set[str]:
    """The `{variables}` a query template uses."""
    return set(_VARIABLE.findall(template))


def render(template: str, variables: dict[str, str]) -> str:
    """Fill a template; KeyError names the first variable that has no value."""
    return _VARIABLE.sub(lambda m: variables[m.group(1)], template)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PrometheusQueries(_Model):
    """One PromQL template per measurement. An empty string turns that measurement off.

    `requests`, `errors`, `memory`, `cpu` must return one series (or none); `latency_buckets` one series
    per `le`; `status` one series per `code_class` label (1xx..5xx).
    """

    requests: str = 'sum(increase(http_requests_total{{selector},{request_filter}}[{window}]))'
    errors: str = 'sum(increase(http_requests_total{{selector},{request_filter},status=~"5.."}[{window}]))'
    status: str = (
        'sum by (code_class) (label_replace(increase(http_requests_total{{selector},{request_filter}}[{window}]),'
        ' "code_class", "${1}xx", "status", "([1-5]).."))'
    )
    latency_buckets: str = (
        'sum by (le) (increase(http_request_duration_seconds_bucket{{selector},{request_filter}}[{window}]))'
    )
    memory: str = '100 * sum(process_resident_memory_bytes{{selector}}) / {memory_limit}'
    cpu: str = '100 * sum(rate(process_cpu_seconds_total{{selector}}[{window}]))'

    def items(self) -> list[tuple[str, str]]:
        return [(name, getattr(self, name)) for name in
                ("requests", "errors", "status", "latency_buckets", "memory", "cpu")]


class CustomQuery(_Model):
    """A user metric; its value lands in `VariantWindow.custom[name]` for a guardrail `custom:NAME`."""

    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    required: bool = True  # `canaria check` fails when it returns nothing for a variant
    help: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _METRIC_NAME.match(value):
            raise ValueError(f"custom metric name '{value}' must be letters, digits and _ (e.g. engine_ms)")
        return value


def _default_custom() -> list[CustomQuery]:
    return []


class PrometheusConfig(_Model):
    url: str = "http://127.0.0.1:9090"
    timeout: Duration = 10.0
    retries: int = Field(default=2, ge=0, le=10, description="extra attempts on transient failures")
    backoff: Duration = 0.5  # first retry delay; doubles each time
    #: label matchers per variant: a mapping of label values ({version: v2}) or raw matchers ('job="x"')
    variants: dict[str, dict[str, str] | str] = Field(default_factory=dict)
    request_filter: str = 'path!~"/metrics|/health.*"'
    memory_limit: int | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    queries: PrometheusQueries = Field(default_factory=PrometheusQueries)
    custom: list[CustomQuery] = Field(default_factory=_default_custom)
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. Authorization for a hosted Prometheus

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/]+", value):
            raise ValueError("`url` must start with http:// or https:// (e.g. http://127.0.0.1:9090)")
        return value.rstrip("/")

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:

        return None if value is None else parse_size(value)

    @field_validator("variants")
    @classmethod
    def _variants(cls, value: dict[str, dict[str, str] | str]) -> dict[str, dict[str, str] | str]:
        unknown = set(value) - {"stable", "canary"}
        if unknown:
            raise ValueError(f"variants may only be 'stable' and 'canary', not {sorted(unknown)}")
        if len(value) == 1:
            raise ValueError("give label matchers for both 'stable' and 'canary'")
        for variant, labels in value.items():
            if isinstance(labels, dict):
                if not labels:
                    raise ValueError(f"variants.{variant} has no labels")
                bad = [k for k in labels if not _LABEL_NAME.match(k)]
                if bad:
                    raise ValueError(f"variants.{variant}: '{bad[0]}' is not a Prometheus label name")
            elif not labels.strip():
                raise ValueError(f"variants.{variant} is an empty selector")
        if len(value) == 2 and value["stable"] == value["canary"]:
            raise ValueError("stable and canary have the same labels: the two could not be told apart")
        return value

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(value) & BUILTIN_VARIABLES)
        if clash:
            raise ValueError(f"variable '{clash[0]}' is filled in by canaria; choose another name")
        bad = [k for k in value if not _LABEL_NAME.match(k)]
        if bad:
            raise ValueError(f"variable name '{bad[0]}' must be letters, digits and _")
        return {k: str(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _known_variables(self) -> PrometheusConfig:
        names = {c.name for c in self.custom}
        if len(names) != len(self.custom):
            raise ValueError("two custom metrics have the same name")
        label_names: set[str] = set()
        for labels in self.variants.values():
            if isinstance(labels, dict):
                label_names |= set(labels)
        known = BUILTIN_VARIABLES | set(self.variables) | label_names
        templates = [(f"queries.{n}", q) for n, q in self.queries.items()]
        templates += [(f"custom.{c.name}", c.query) for c in self.custom]
        for where, template in templates:
            unknown = sorted(template_names(template) - known)
            if unknown:
                raise ValueError(f"{where}: unknown variable {{{unknown[0]}}}; define it under `variables`")
        return self

    # ------------------------------------------------------------ per-variant values
    def selector(self, variant: str) -> str:
        """Label matchers (no braces) that pick `variant`'s series; default `variant="stable|canary"`."""
        labels = self.variants.get(variant)
        if labels is None:
            return f'variant="{variant}"'
        if isinstance(labels, str):
            return labels.strip().strip("{}").strip()
        return ",".join(f'{name}="{_escape(str(value))}"' for name, value in labels.items())

    def label_values(self, variant: str) -> dict[str, str]:
        labels = self.variants.get(variant)
        if labels is None:
            return {}
        return {k: str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
