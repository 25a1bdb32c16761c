"""The platform contract (DESIGN.md §5), one suite over every backend (kopf's habit).

Each backend's harness (tests/platforms/harness.py) starts a real data plane — or, where none can run here, an
emulator of its API — and observes what it serves independently of the backend under test, so `verify_route`
is checked against the data plane, not against what canaria believes it wrote.
"""

from __future__ import annotations

import asyncio
import math

import pytest
import pytest_asyncio

from canaria.errors import CanariaError
from canaria.platforms.base import RouteStatus, TesterMatch
from tests.platforms.harness import HARNESSES, Harness

# One data plane per backend for the whole module (starting real processes is the slow part); every test sets
# the route it needs first, and the promotion, which changes what runs, comes last.
pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(params=sorted(HARNESSES), scope="module", loop_scope="module")
async def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    async with HARNESSES[request.param](tmp_path_factory.mktemp(request.param)) as h:
        yield h


def _close(observed: float, weight: float, requests: int = 200) -> bool:
    """Within 4.5 binomial standard deviations of the weight (a deterministic split is of course inside)."""
    p = weight / 100.0
    sd = 100.0 * math.sqrt(max(p * (1 - p), 1e-9) / requests)
    return abs(observed - weight) <= max(4.5 * sd, 0.5)


async def _verified(h: Harness, timeout: float = 10.0) -> RouteStatus:
    """verify_route until the data plane is no longer `pending` (a gateway controller applies routes
    asynchronously; the controller polls the same way, see controller/routing.py)."""
    deadline = asyncio.get_running_loop().time() + timeout
    status = await h.platform.verify_route()
    while status.state == "pending" and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        status = await h.platform.verify_route()
    return status


async def _assert_applied(h: Harness, weight: float) -> None:
    status = await _verified(h)
    assert status.state in ("applied", "unsupported"), status
    if status.state == "applied" and not status.approximate:
        assert status.weight == pytest.approx(weight), status
    observed = await h.served_share()
    assert _close(observed, weight), f"data plane serves {observed:.1f}% canary, asked {weight:g}%"


async def test_weights_are_applied_and_read_back_from_the_data_plane(harness: Harness) -> None:
    for weight in (5.0, 50.0, 0.0, 100.0, 10.0):
        await harness.platform.set_route(weight)
        await _assert_applied(harness, weight)


async def test_the_same_write_twice_is_harmless(harness: Harness) -> None:
    await harness.platform.set_route(10.0)
    await harness.platform.set_route(10.0)
    await _assert_applied(harness, 10.0)


async def test_a_failed_write_leaves_the_previous_routing(harness: Harness) -> None:
    await harness.platform.set_route(10.0)
    with harness.break_writes(), pytest.raises(CanariaError):
        await harness.platform.set_route(50.0)
    await _assert_applied(harness, 10.0)


async def test_tester_route_sends_only_matching_requests_to_the_canary(harness: Harness) -> None:
    if not harness.platform.supports_match:
        pytest.skip(f"{harness.platform.kind} has no header/cookie routing (its own test covers what it does)")
    match = TesterMatch(value="always", header="X-Canary")
    await harness.platform.set_route(0.0, match=match)
    status = await _verified(harness)
    assert status.state == "applied" and status.match == match, status
    assert await harness.served_share(match=match) == 100.0
    assert await harness.served_share() == 0.0
    await harness.platform.set_route(5.0)  # the weighted stage after it drops the tester route
    assert (await _verified(harness)).match is None


async def test_rollback_sends_everything_to_stable(harness: Harness) -> None:
    await harness.platform.set_route(50.0)
    await harness.platform.rollback()
    await _assert_applied(harness, 0.0)
    assert harness.version_of("stable") == "v1"


async def test_describe_names_what_runs_as_each_version(harness: Harness) -> None:
    described = await harness.platform.describe()
    assert set(described) == {"stable", "canary"}
    for variant, info in described.items():
        assert info.variant == variant
        assert info.label() != "?", info


async def test_promotion_makes_the_canary_the_new_stable(harness: Harness) -> None:
    await harness.platform.start_canary()  # the rollback before retired it; starting again is part of the contract
    await harness.platform.set_route(50.0)
    await harness.platform.promote()
    assert (await _verified(harness)).state in ("applied", "unsupported")  # what the controller waits for
    assert await harness.served_share() in (0.0, 100.0)  # one version serves everything
    assert harness.version_of("stable") == "v2"
    # a second promote (the controller retries one whose read-back timed out, or restarts after a kill -9
    # between the write and the record) changes nothing: the promoted version keeps serving
    await harness.platform.promote()
    assert (await _verified(harness)).state in ("applied", "unsupported")
    assert await harness.served_share() in (0.0, 100.0)
    assert harness.version_of("stable") == "v2"
