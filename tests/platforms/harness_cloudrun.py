"""The contract suite's Cloud Run set-up: the real backend and Google's real client against the local fake.

Cloud Run cannot run here, so the data plane is the fake's service object: `served_share` reads the split the fake
*applies* (`traffic_statuses`, by the image each revision runs — not the names canaria chose), `break_writes`
withdraws `run.services.update` from the identity, as a missing IAM role does for users. The fake finishes
operations at once here (the suite reads back right after each write); the lag of `traffic_statuses` behind the
spec is covered by tests/platforms/test_cloudrun_platform.py.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from canaria.config import parse_config
from canaria.platforms import create_platform
from canaria.platforms.base import Platform, TesterMatch
from tests.emulators.cloudrun import CloudRunEmulator, ImageBehaviour
from tests.platforms.cloudrun_harness import PROJECT, REGION, SERVICE, cloudrun_data
from tests.platforms.harness import Harness, harness

IMAGES = {"v1": "registry.example/ion-api:v1", "v2": "registry.example/ion-api:v2"}


@dataclass
class CloudRunHarness:
    platform: Platform
    fake: CloudRunEmulator

    def _applied(self) -> list[tuple[str, float, str]]:
        """(image version, percent, tag) of every target Cloud Run applies now."""
        with self.fake.model.lock:
            self.fake.model.advance()
            service = self.fake.model.services[f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"]
            out = []
            for status in service.statuses:
                revision = self.fake.model.revisions[f"{service.name}/revisions/{status['revision']}"]
                version = next(v for v, image in IMAGES.items() if image == revision.image)
                out.append((version, float(status.get("percent", 0)), str(status.get("tag", ""))))
            return out

    async def served_share(self, *, requests: int = 200, match: TesterMatch | None = None) -> float:
        return sum(percent for version, percent, _ in self._applied() if version == "v2")  # no header routing

    @contextlib.contextmanager
    def break_writes(self) -> Iterator[None]:
        self.fake.permissions.discard("run.services.update")
        try:
            yield
        finally:
            self.fake.permissions.add("run.services.update")

    def version_of(self, variant: str) -> str:
        applied = self._applied()
        if variant == "canary":
            return next(version for version, _, tag in applied if tag == "canary")
        return max(applied, key=lambda item: item[1])[0]


@harness("cloudrun")
@contextlib.asynccontextmanager
async def cloudrun_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    saved = {key: os.environ.get(key) for key in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")}
    with CloudRunEmulator(operation_delay=0.0, revision_ready_delay=0.0, generate_traffic=False) as fake:
        fake.model.add_service(PROJECT, REGION, SERVICE, IMAGES["v1"])
        fake.model.images[IMAGES["v2"]] = ImageBehaviour()
        os.environ.update(fake.write_adc(Path(tempfile.mkdtemp(dir=tmp_path)), project=PROJECT))
        data = cloudrun_data(fake, tmp_path / "state", image=IMAGES["v2"])
        data["platform"]["verify_timeout"] = "5s"
        platform = create_platform(parse_config(yaml.safe_dump(data)), owned=True)
        try:
            await platform.ensure_stable()
            await platform.start_canary()
            yield CloudRunHarness(platform, fake)
        finally:
            await platform.close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    assert fake.violations == []
