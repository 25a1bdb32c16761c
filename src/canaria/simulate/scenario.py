"""Scenario files for `canaria simulate` (YAML or JSON; JSON is YAML): synthetic incidents with ground truth.

Format (issue 3)::

    defaults: {runs: 200, rps: 1.0, horizon: 6h}     # rps = total requests/s reaching the service
    scenarios:
      - name: errors-2pct
        bad: true                                      # ground truth
        rps: 1.0                                       # optional per-scenario override
        traffic: steady                                # steady | diurnal | bursty
        control: {error_rate: 0.002, latency: {p50_ms: 120, p95_ms: 350}, memory_pct: 55, cpu_pct: 30}
        canary:  {error_rate: 0.02, onset: 0s}         # fields omitted from canary = same as control

`defaults` may also carry `traffic` and `control`, so a suite states its baseline service once. A bad file
raises ConfigError naming the field (`scenarios[1].canary.latency.p95_ms`) and its line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from canaria.config.model import format_loc, yaml_line_of  # one way of naming a field and its line, shared
from canaria.errors import ConfigError
from canaria.foundation.durations import Duration

__all__ = [
    "CanarySpec",
    "Defaults",
    "LatencySpec",
    "ResolvedScenario",
    "Scenario",
    "ScenarioFile",
    "VariantParams",
    "VariantSpec",
    "load_scenarios",
    "parse_scenarios",
]

Traffic = Literal["steady", "diurnal", "bursty"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LatencySpec(_Model):
    p50_ms: float = Field(gt=0)
    p95_ms: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LatencySpec:
        if self.p95_ms <= self.p50_ms:
            raise ValueError(f"p95_ms ({self.p95_ms:g}) must be greater than p50_ms ({self.p50_ms:g})")
        return self


class VariantSpec(_Model):
    """What a version does; every field optional so files only say what differs."""

    error_rate: float | None = Field(default=None, ge=0, le=1, description="fraction of requests failing")
    latency: LatencySpec | None = None
    memory_pct: float | None = Field(default=None, ge=0, le=100)
    memory_slope_pct_per_h: float | None = None
    memory_noise_pct: float | None = Field(default=None, ge=0)
    cpu_pct: float | None = Field(default=None, ge=0, le=100)
    cpu_slope_pct_per_h: float | None = None
    cpu_noise_pct: float | None = Field(default=None, ge=0)


class CanarySpec(VariantSpec):
    onset: Duration = Field(default=0.0, description="delay of the canary's fault from the canary's start")


class Defaults(_Model):
    runs: int = Field(default=200, ge=1)
    rps: float = Field(default=1.0, gt=0)
    horizon: Duration = 6 * 3600.0
    traffic: Traffic = "steady"
    control: VariantSpec = Field(default_factory=VariantSpec)


class Scenario(_Model):
    name: str = Field(min_length=1)
    bad: bool
    rps: float | None = Field(default=None, gt=0)
    traffic: Traffic | None = None
    runs: int | None = Field(default=None, ge=1)
    horizon: Duration | None = None
    control: VariantSpec | None = None
    canary: CanarySpec = Field(default_factory=CanarySpec)


class ScenarioFile(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ScenarioFile:
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.name in seen:
                raise ValueError(f"scenario name '{scenario.name}' is used twice")
            seen.add(scenario.name)
        return self

    def resolved(self) -> list[ResolvedScenario]:
        return [resolve(s, self.defaults) for s in self.scenarios]


@dataclass(frozen=True)
class VariantParams:
    """A version's behaviour with every figure filled in."""

    error_rate: float = 0.002
    p50_ms: float = 120.0
    p95_ms: float = 350.0
    memory_pct: float = 55.0
    memory_slope_pct_per_h: float = 0.0
    memory_noise_pct: float = 0.8
    cpu_pct: float = 30.0
    cpu_slope_pct_per_h: float = 0.0
    cpu_noise_pct: float = 2.0

    def override(self, spec: VariantSpec | None) -> VariantParams:
        if spec is None:
            return self
        changes: dict[str, Any] = {}
        for name in ("error_rate", "memory_pct", "memory_slope_pct_per_h", "memory_noise_pct", "cpu_pct",
                     "cpu_slope_pct_per_h", "cpu_noise_pct"):
            value = getattr(spec, name)
            if value is not None:
                changes[name] = value
        if spec.latency is not None:
            changes["p50_ms"] = spec.latency.p50_ms
            changes["p95_ms"] = spec.latency.p95_ms
        return replace(self, **changes)


@dataclass(frozen=True)
class ResolvedScenario:
    name: str
    bad: bool
    rps: float
    traffic: str
    runs: int
    horizon_s: float
    control: VariantParams
    canary: VariantParams  # after onset; before onset the canary behaves as control
    onset_s: float


def resolve(scenario: Scenario, defaults: Defaults) -> ResolvedScenario:
    control = VariantParams().override(defaults.control).override(scenario.control)
    return ResolvedScenario(
        name=scenario.name,
        bad=scenario.bad,
        rps=scenario.rps if scenario.rps is not None else defaults.rps,
        traffic=scenario.traffic or defaults.traffic,
        runs=scenario.runs if scenario.runs is not None else defaults.runs,
        horizon_s=scenario.horizon if scenario.horizon is not None else defaults.horizon,
        control=control,
        canary=control.override(scenario.canary),
        onset_s=scenario.canary.onset,
    )


def parse_scenarios(text: str, *, source: str = "scenarios") -> ScenarioFile:
    """Validate a scenario file's text, or raise ConfigError naming the field and line."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"invalid YAML/JSON: {getattr(exc, 'problem', None) or exc}",
            field=source,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with `scenarios:`", field=source)
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key '{loc[-1]}' (check the spelling)"
        raise ConfigError(msg, field=format_loc(loc) or source, line=yaml_line_of(root, loc)) from None


def load_scenarios(path: str | Path) -> ScenarioFile:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scenario file {file}: {exc.strerror}", field="scenarios") from None
    return parse_scenarios(text, source=str(file))
