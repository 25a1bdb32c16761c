"""The Cloud Run backend through Google's real run_v2 client against the fake: the model's edge cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from canaria.controller.clock import SystemClock
from canaria.controller.routing import await_settled
from canaria.errors import ConfigError, InfrastructureError, PlatformError, UsageError
from canaria.platforms import base
from canaria.platforms.cloudrun import CloudRunPlatform
from tests.emulators.cloudrun import ApiError, CloudRunEmulator, ImageBehaviour
from tests.platforms.cloudrun_harness import CANARY_IMAGE, PROJECT, REGION, SERVICE, cloudrun_config, fake

__all__ = ["fake"]
NAME = f"projects/{PROJECT}/locations/{REGION}/services/{SERVICE}"
LATEST, REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


@pytest.fixture
async def platform(fake: CloudRunEmulator, tmp_path: Path) -> AsyncIterator[CloudRunPlatform]:
    fake.model.images[CANARY_IMAGE] = ImageBehaviour()
    backend = CloudRunPlatform(cloudrun_config(fake, tmp_path))
    yield backend
    await backend.close()


async def _applied(platform: CloudRunPlatform) -> str:
    for _ in range(100):
        status = await platform.verify_route()
        if status.state == "applied":
            return status.detail
        await asyncio.sleep(0.05)
    raise AssertionError("never applied")


def _spec(fake: CloudRunEmulator) -> list[dict[str, object]]:
    return list(fake.model.services[NAME].spec["traffic"])


async def test_start_pins_stable_keeps_user_tags_and_never_uses_latest(fake: CloudRunEmulator,
                                                                      platform: CloudRunPlatform) -> None:
    service = fake.model.services[NAME]
    stable = service.latest_ready
    service.spec["traffic"] = [{"type": LATEST, "percent": 100}, {"type": REVISION, "revision": stable,
                                                                  "tag": "blue"}]
    service.statuses = fake.model._resolve(service, service.spec["traffic"])
    await platform.start_canary()
    info = await platform.describe()
    canary = info["canary"].revision
    assert info["stable"].revision == stable and canary and canary.startswith("ion-api-canary-")
    assert info["canary"].url and info["canary"].url.startswith("https://canary---ion-api-")
    assert _spec(fake) == [{"type": REVISION, "revision": stable, "percent": 100},
                           {"type": REVISION, "revision": stable, "tag": "blue"},
                           {"type": REVISION, "revision": canary, "tag": "canary"}]
    await platform.set_route(12.5)
    assert "12% (tag canary)" in await _applied(platform)
    assert (await platform.verify_route()).weight == 12.0
    assert all(t["type"] == REVISION for t in _spec(fake))
    await platform.start_canary()  # idempotent: the same image is not deployed twice
    assert len([r for r in fake.model.revisions if r.startswith(NAME)]) == 2


async def test_verify_route_waits_for_cloud_run(fake: CloudRunEmulator, platform: CloudRunPlatform) -> None:
    await platform.start_canary()
    fake.model.operation_delay = 0.4
    await platform.set_route(50)
    pending = await platform.verify_route()
    assert pending.state == "pending" and "reconciling" in pending.detail and pending.weight == 0.0
    await _applied(platform)


async def test_tester_stage_is_the_tag_url(fake: CloudRunEmulator, platform: CloudRunPlatform) -> None:
    assert platform.supports_match is False
    await platform.start_canary()
    await platform.set_route(0, match=base.TesterMatch(value="always", header="X-Canary"))
    status = await platform.verify_route()
    while status.state == "pending":
        await asyncio.sleep(0.05)
        status = await platform.verify_route()
    assert status.state == "unsupported" and status.weight == 0.0  # the header is not routed: said so
    assert "no header routing" in status.detail and "https://canary---ion-api-" in status.detail


async def test_rollback_and_promote(fake: CloudRunEmulator, platform: CloudRunPlatform) -> None:
    stable = fake.model.services[NAME].latest_ready
    await platform.start_canary()
    await platform.set_route(10)
    await _applied(platform)
    await platform.rollback()
    await _applied(platform)
    assert _spec(fake) == [{"type": REVISION, "revision": stable, "percent": 100}]
    await platform.start_canary()
    await platform.set_route(50)
    await platform.promote()
    await _applied(platform)
    canary = fake.model.services[NAME].latest_created
    assert _spec(fake) == [{"type": LATEST, "percent": 100}]
    assert fake.model.services[NAME].statuses[0]["revision"] == canary
    history = await platform.history()
    assert history[0].name == canary and history[0].traffic == 100.0
    assert await platform.rollback_to_revision(stable) == f"traffic 100% to revision {stable}"
    await _applied(platform)
    assert _spec(fake) == [{"type": REVISION, "revision": stable, "percent": 100}]


async def test_a_rollback_or_promotion_counts_once_cloud_run_applies_it(fake: CloudRunEmulator,
                                                                        platform: CloudRunPlatform) -> None:
    """`update_service` returns while its operation runs; the controller reads back before saying it is done."""
    await platform.start_canary()
    await platform.set_route(0, match=base.TesterMatch(value="always", header="X-Canary"))  # the tester stage
    await platform.set_route(10)
    await _applied(platform)
    await platform.set_route(0, match=base.TesterMatch(value="always", header="X-Canary"))
    fake.model.operation_delay = 0.6
    await platform.rollback()
    assert (await platform.verify_route()).state == "pending"  # what the write alone would have reported as done
    status = await await_settled(platform, SystemClock(), after="rollback", timeout_s=10)
    assert status.state == "applied" and status.weight == 0.0  # not "unsupported": no tester route is asked now
    assert "generation" in status.detail
    await platform.start_canary()
    await platform.set_route(50)
    await _applied(platform)
    fake.model.operation_delay = 30.0  # an operation that outlasts the timeout: said, with Cloud Run's own state
    await platform.promote()
    with pytest.raises(PlatformError, match=r"the promotion was written but not applied within 0.5 s \(pending: "
                                            r"generation \d+ observed \d+, reconciling\)"):
        await await_settled(platform, SystemClock(), after="promote", timeout_s=0.5)


async def test_restart_is_a_new_revision_of_the_same_image(fake: CloudRunEmulator, platform: CloudRunPlatform
                                                           ) -> None:
    await platform.start_canary()
    await platform.set_route(5)
    old = (await platform.describe())["canary"].revision
    done = await platform.restart("canary")
    info = await platform.describe()
    assert info["canary"].revision != old and info["canary"].image == CANARY_IMAGE
    assert f"replaced {old}" in done
    assert "5% (tag canary)" in await _applied(platform)


@pytest.mark.parametrize(("behaviour", "message"), [
    (None, "Image 'registry.example/ion-api:v2' not found."),
    (ImageBehaviour(startup="crash"), "failed to start and listen on the port"),
    (ImageBehaviour(startup="health_check"), "STARTUP TCP probe failed"),
    (ImageBehaviour(startup="never_ready"), "not Ready after 2s"),
])
async def test_a_revision_that_cannot_serve_is_refused_with_cloud_runs_reason(
        fake: CloudRunEmulator, platform: CloudRunPlatform, behaviour: ImageBehaviour | None, message: str) -> None:
    stable = fake.model.services[NAME].latest_ready
    if behaviour is None:
        del fake.model.images[CANARY_IMAGE]
    else:
        fake.model.images[CANARY_IMAGE] = behaviour
    with pytest.raises(InfrastructureError, match=message):
        await platform.start_canary()
    if behaviour is None or behaviour.startup != "never_ready":
        assert message in (await platform.canary_problem() or "")
    await platform.rollback()
    assert _spec(fake) == [{"type": REVISION, "revision": stable, "percent": 100}]
    assert [s["revision"] for s in fake.model.services[NAME].statuses] == [stable]


async def test_a_stale_etag_is_re_read_not_overwritten(fake: CloudRunEmulator, platform: CloudRunPlatform) -> None:
    await platform.start_canary()
    fake.fail_next("projects.locations.services.patch", ApiError("ABORTED", "Resource 'ion-api' has been modified."))
    await platform.set_route(5)
    assert "5% (tag canary)" in await _applied(platform)


async def test_google_errors_are_one_line_and_change_nothing(fake: CloudRunEmulator, platform: CloudRunPlatform,
                                                             tmp_path: Path) -> None:
    await platform.start_canary()
    before = _spec(fake)
    fake.fail_next("projects.locations.services.patch", ApiError(
        "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Write requests'.", reason="RATE_LIMIT_EXCEEDED"))
    with pytest.raises(PlatformError, match=r"429 .*\(RATE_LIMIT_EXCEEDED\): Quota exceeded .* quota exhausted"):
        await platform.set_route(5)
    fake.permissions.discard("run.services.update")
    with pytest.raises(PlatformError, match=r"403 PERMISSION_DENIED \(IAM_PERMISSION_DENIED\): Permission .run.services.update. denied.*roles/run.developer"):
        await platform.set_route(5)
    assert _spec(fake) == before
    checks = {c.name: c for c in await platform.checks()}
    assert not checks["cloudrun: permissions"].ok and "run.services.update" in checks["cloudrun: permissions"].detail
    assert checks["cloudrun: credentials"].ok and "workload identity federation" in checks["cloudrun: credentials"].detail
    other = CloudRunPlatform(cloudrun_config(fake, tmp_path, service="nope"))
    with pytest.raises(ConfigError, match="404 NOT_FOUND.*'nope' of kind 'SERVICE'.*check platform.cloudrun"):
        await other.ensure_stable()
    wrong = CloudRunPlatform(cloudrun_config(fake, tmp_path, project="nope"))
    with pytest.raises(ConfigError, match=r"403 .*\(CONSUMER_INVALID\): Permission denied on resource project nope"):
        await wrong.describe()


async def test_set_route_before_a_canary_is_a_usage_error(platform: CloudRunPlatform) -> None:
    with pytest.raises(UsageError, match="start the canary first"):
        await platform.set_route(5)
