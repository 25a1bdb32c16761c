"""A local fake of the Cloud Run Admin API v2 and Cloud Monitoring API v3 for Google's real client libraries.

`google-cloud-run` (`run_v2`, REST transport) talks to `run_endpoint`; `google-cloud-monitoring` (gRPC, the only
transport it ships) to `monitoring_endpoint`; Application Default Credentials come from an `external_account`
file whose `token_url` is this fake's STS endpoint (`write_adc`), so the clients authenticate the Google way
without any network. Every body is validated against Google's discovery documents (`violations`).

    with CloudRunEmulator(operation_delay=0.3) as fake:
        fake.model.add_service("my-project", "asia-northeast3", "ion-api", "registry/ion-api:v1")
        fake.model.images["registry/ion-api:v2"] = ImageBehaviour(error_rate=0.2)
        env = fake.write_adc(tmp_path, project="my-project")
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import TracebackType

from tests.emulators.cloudrun.errors import ApiError
from tests.emulators.cloudrun.model import CloudRunModel, ImageBehaviour
from tests.emulators.cloudrun.monitoring_grpc import MonitoringGrpcServer
from tests.emulators.cloudrun.run_http import RunHttpServer
from tests.emulators.cloudrun.timeseries import TimeSeriesStore
from tests.emulators.cloudrun.traffic import TrafficGenerator

__all__ = ["ApiError", "CloudRunEmulator", "ImageBehaviour", "DEFAULT_PERMISSIONS"]

#: what roles/run.developer + roles/monitoring.viewer grant that canaria uses
DEFAULT_PERMISSIONS = frozenset({
    "run.services.get", "run.services.update", "run.revisions.get", "run.revisions.list", "run.revisions.delete",
    "run.operations.get", "iam.serviceAccounts.actAs", "monitoring.timeSeries.list"})


class CloudRunEmulator:
    def __init__(self, *, operation_delay: float = 0.5, revision_ready_delay: float = 0.3,
                 ingestion_delay: float = 0.0, sample_period: float = 1.0, rps: float = 100.0,
                 generate_traffic: bool = True) -> None:
        self.model = CloudRunModel(operation_delay=operation_delay, revision_ready_delay=revision_ready_delay)
        self.store = TimeSeriesStore(clock=self.model.clock, ingestion_delay=ingestion_delay)
        self.tokens: set[str] = set()
        self.permissions: set[str] = set(DEFAULT_PERMISSIONS)
        self.faults: list[tuple[str, ApiError]] = []
        self._token_ids = itertools.count(1)
        self.http = RunHttpServer(self.model, tokens=self.tokens, permissions=self.permissions, faults=self.faults,
                                  issue_token=self._issue_token)
        self.grpc = MonitoringGrpcServer(self.store, tokens=self.tokens, permissions=self.permissions,
                                         faults=self.faults)
        self.generator = TrafficGenerator(self.model, self.store, rps=rps, sample_period=sample_period)
        self.generate_traffic = generate_traffic

    # ------------------------------------------------------------ lifecycle
    def start(self) -> CloudRunEmulator:
        self.http.start()
        self.grpc.start()
        if self.generate_traffic:
            self.generator.start()
        return self

    def stop(self) -> None:
        self.generator.stop()
        self.grpc.stop()
        self.http.stop()

    def __enter__(self) -> CloudRunEmulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ what clients point at
    @property
    def run_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    @property
    def monitoring_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc.port}"

    @property
    def token_url(self) -> str:
        return f"{self.run_endpoint}/v1/token"

    @property
    def violations(self) -> list[str]:
        return self.http.violations + self.grpc.violations

    def fail_next(self, method_id: str, error: ApiError) -> None:
        """The next call of `method_id` (discovery id, e.g. `projects.locations.services.patch`) fails."""
        self.faults.append((method_id, error))

    def write_adc(self, directory: Path, *, project: str) -> dict[str, str]:
        """An `external_account` credentials file (workload identity federation) pointing at this fake's STS
        endpoint; returns the environment that makes it the Application Default Credentials."""
        subject = directory / "subject-token.jwt"
        subject.write_text("header.payload.signature")
        credentials = directory / "adc.json"
        credentials.write_text(json.dumps({
            "type": "external_account",
            "audience": f"//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/ci/"
                        f"providers/{project}",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": self.token_url,
            "credential_source": {"file": str(subject)},
        }))
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(credentials), "GOOGLE_CLOUD_PROJECT": project}

    def _issue_token(self) -> str:
        token = f"ya29.fake-{next(self._token_ids)}"
        self.tokens.add(token)
        return token
