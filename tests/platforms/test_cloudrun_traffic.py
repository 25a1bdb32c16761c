"""Cloud Run traffic rules, pure: pinned revisions, whole percents, users' tags kept, never LATEST in a canary."""

from __future__ import annotations

import pytest

from canaria.errors import ConfigError
from canaria.platforms.cloudrun_traffic import (
    Target,
    canary_percent,
    find_roles,
    plan_traffic,
    statuses_match,
    without_canary,
)

LATEST_100 = [Target(revision=None, percent=100, latest=True)]


@pytest.mark.parametrize(("weight", "percent"), [(0, 0), (0.2, 1), (5, 5), (12.5, 12), (99.6, 99), (100, 100)])
def test_whole_percents(weight: float, percent: int) -> None:
    assert canary_percent(weight) == percent


def test_roles_before_and_during_a_canary() -> None:
    assert find_roles(LATEST_100, [Target("r1", 100, latest=True)], "r1", "canary") == ("r1", None)
    during = [Target("r1", 95), Target("r2", 5, tag="canary")]
    assert find_roles(during, during, "r2", "canary") == ("r1", "r2")


def test_a_full_canary_stage_keeps_the_stable_pinned() -> None:
    full = [Target("r1", 0), Target("r0", 0, tag="blue"), Target("r2", 100, tag="canary")]
    assert find_roles(full, full, "r2", "canary") == ("r1", "r2")


def test_a_service_already_split_over_two_revisions_is_refused() -> None:
    with pytest.raises(ConfigError, match="splits traffic over 2 revisions"):
        find_roles([Target("a", 90), Target("b", 10)], [], "b", "canary")


def test_start_pins_stable_and_keeps_users_tags() -> None:
    spec = [Target(None, 100, latest=True), Target("r0", 0, tag="blue"), Target(None, 0, tag="head", latest=True)]
    plan = plan_traffic(spec, stable="r1", canary="r2", canary_share=0, tag="canary")
    assert list(plan.targets) == [Target("r1", 100), Target("r0", 0, tag="blue"), Target("r1", 0, tag="head"),
                                  Target("r2", 0, tag="canary")]
    assert not any(t.latest for t in plan.targets)


def test_a_stage_moves_only_the_two_shares() -> None:
    spec = [Target("r1", 100, tag="prod"), Target("r0", 0, tag="blue"), Target("r2", 0, tag="canary")]
    plan = plan_traffic(spec, stable="r1", canary="r2", canary_share=10, tag="canary")
    assert list(plan.targets) == [Target("r1", 90, tag="prod"), Target("r0", 0, tag="blue"),
                                  Target("r2", 10, tag="canary")]


def test_rollback_and_promote() -> None:
    plan = plan_traffic([Target("r1", 100), Target("r0", 0, tag="blue")], stable="r1", canary="r2",
                        canary_share=50, tag="canary")
    back = without_canary(plan, "canary", to="r1")
    assert list(back.targets) == [Target("r1", 100), Target("r0", 0, tag="blue")]
    promoted = without_canary(plan, "canary", to="r2", latest=True)
    assert list(promoted.targets) == [Target(None, 100, latest=True), Target("r0", 0, tag="blue")]
    kept = without_canary(plan, "canary", to="r2", keep_tag=True)
    assert list(kept.targets) == [Target("r2", 100), Target("r0", 0, tag="blue"), Target("r2", 0, tag="canary")]


def test_after_a_full_canary_stage_the_old_pin_goes() -> None:
    full = plan_traffic([Target("r1", 100), Target("r0", 0, tag="blue")], stable="r1", canary="r2",
                        canary_share=100, tag="canary")
    assert list(full.targets) == [Target("r1", 0), Target("r0", 0, tag="blue"), Target("r2", 100, tag="canary")]
    assert list(without_canary(full, "canary", to="r2", latest=True).targets) == [
        Target(None, 100, latest=True), Target("r0", 0, tag="blue")]
    assert list(without_canary(full, "canary", to="r1").targets) == [Target("r1", 100), Target("r0", 0, tag="blue")]


def test_statuses_match_resolves_latest() -> None:
    assert statuses_match([Target(None, 100, latest=True)], [Target("r2", 100, latest=True)], "r2")
    assert not statuses_match([Target("r1", 90), Target("r2", 10, tag="canary")],
                              [Target("r1", 100)], "r2")
