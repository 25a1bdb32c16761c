"""Where window measurements come from: builtin (the gateway), Prometheus or Cloud Monitoring. One file per provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from canaria.config import CanariaConfig
    from canaria.metrics.base import MetricsProvider
    from canaria.platforms.base import Platform


def create_provider(config: CanariaConfig, platform: Platform) -> MetricsProvider:
    """Factory keyed by `metrics.provider`."""
    if config.metrics.provider == "builtin":
        from canaria.metrics.builtin import BuiltinMetricsProvider

        return BuiltinMetricsProvider(config, platform)
    if config.metrics.provider == "prometheus":
        from canaria.metrics.prometheus import PrometheusMetricsProvider

        return PrometheusMetricsProvider(config, platform)
    if config.metrics.provider == "cloud-monitoring":
        from canaria.metrics.cloud_monitoring import CloudMonitoringProvider

        return CloudMonitoringProvider(config, platform)
    raise ValueError(f"unknown metrics provider {config.metrics.provider}")
