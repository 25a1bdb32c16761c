"""`metrics.cloud_monitoring` in canaria.yaml: Cloud Run's own metrics from Google Cloud Monitoring.

Cloud Run writes `run.googleapis.com/*` metrics sampled every 60 s, and a sample is not visible for up to 180 s
after it was taken (Google's metric list says so for request_count and request_latencies). So a window is read
only once it is complete: it ends `ingestion_delay` before now, aligned to `alignment_period`. A window with
no points is no data — never zero traffic — and the judge's no-data policy decides.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from canaria.foundation.durations import Duration

__all__ = ["CloudMonitoringConfig"]


class CloudMonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: the project whose metrics scope holds the service; default platform.cloudrun.project / GOOGLE_CLOUD_PROJECT
    project: str | None = None
    #: Cloud Run service name; default platform.cloudrun.service
    service: str | None = None
    #: Monitoring's API endpoint (host:port); `http://127.0.0.1:PORT` = a plaintext loopback emulator
    api_endpoint: str | None = None
    #: the sampling period of the metrics: windows start and end on multiples of it
    alignment_period: Duration = 60.0
    #: how long after its end a sample becomes visible; Cloud Run documents up to 180 s
    ingestion_delay: Duration = 180.0
    #: memory/CPU utilization: this percentile of the instances' distribution (the runbook's "memory > 85 %")
    utilization_percentile: int = 99
    timeout: Duration = 10.0

    @model_validator(mode="after")
    def _sane(self) -> CloudMonitoringConfig:
        if self.alignment_period <= 0:
            raise ValueError("alignment_period must be positive, e.g. 60s")
        if self.ingestion_delay < 0:
            raise ValueError("ingestion_delay cannot be negative")
        if self.utilization_percentile not in (5, 50, 95, 99):
            raise ValueError("utilization_percentile must be 5, 50, 95 or 99 (Monitoring's ALIGN_PERCENTILE_NN)")
        return self
