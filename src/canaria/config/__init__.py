"""Layer: canaria.yaml — the validated configuration model, one module per section.

`model` is the root (`CanariaConfig`, `load_config`, errors that name the field and the YAML line); the section
models live beside it (`platform`, `analysis`, `prometheus`, `notify`, `observability`, `dashboard`, `custom_metrics`).
Imports only `canaria.errors` and `canaria.foundation`, so every layer may read its settings from here.
"""

from canaria.config.model import (
    AnalysisConfig,
    CanariaConfig,
    CompareConfig,
    GatewayConfig,
    GuardrailConfig,
    LocalPlatformConfig,
    MatchConfig,
    MetricsConfig,
    PlanConfig,
    PlatformConfig,
    ReportConfig,
    ScoreConfig,
    StageConfig,
    TrendConfig,
    UpstreamConfig,
    load_config,
    parse_address,
    parse_config,
    parse_size,
    runbook_guardrails,
)

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
