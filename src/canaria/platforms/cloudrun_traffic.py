"""Cloud Run traffic as canaria writes and reads it — pure, so every rule is tested without a client.

The model (DESIGN §5): the stable revision and the canary revision are both pinned by name
(`TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION`); the canary carries the tag `canary` (its URL is the testers' route,
Cloud Run has no header routing); percents are whole numbers summing to 100; the user's own tags on other
targets are kept exactly as they were; and no target is `LATEST` while a canary runs, because LATEST would hand
traffic to the canary the moment it becomes ready.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from canaria.errors import ConfigError

__all__ = ["Target", "TrafficPlan", "canary_percent", "find_roles", "plan_traffic", "statuses_match"]


@dataclass(frozen=True)
class Target:
    """One traffic target: `revision` None with `latest` means LATEST."""

    revision: str | None
    percent: int = 0
    tag: str = ""
    latest: bool = False

    def describe(self) -> str:
        name = (f"LATEST ({self.revision})" if self.revision else "LATEST") if self.latest else self.revision or "?"
        return f"{name} {self.percent}%" + (f" (tag {self.tag})" if self.tag else "")


@dataclass(frozen=True)
class TrafficPlan:
    stable: str
    canary: str | None
    targets: tuple[Target, ...]


def canary_percent(weight: float) -> int:
    """Cloud Run takes whole percents: a positive weight never rounds down to no traffic, nor up to all."""
    if weight <= 0:
        return 0
    if weight >= 100:
        return 100
    return min(99, max(1, round(weight)))


def find_roles(spec: list[Target], statuses: list[Target], latest_ready: str, tag: str
               ) -> tuple[str, str | None]:
    """(stable revision, canary revision or None) read from the live service.

    The canary is the revision carrying `tag`; the stable is the one other revision with a share. Before any
    canary, that is the serving revision (LATEST resolved through `traffic_statuses`).
    """
    canary = next((t.revision for t in spec if t.tag == tag and t.revision), None)
    serving: dict[str, int] = {}
    for target in spec:
        revision = latest_ready if target.latest else target.revision
        if revision and revision != canary and target.percent:
            serving[revision] = serving.get(revision, 0) + target.percent
    if not serving:  # a 100 % canary stage: the stable is still pinned, at 0 % and untagged (users' targets have tags)
        serving = {t.revision: 0 for t in spec if t.revision and t.revision != canary and not t.tag and not t.latest}
    if not serving:  # nothing pinned: use what is applied
        for status in statuses:
            if status.revision and status.revision != canary and status.percent:
                serving[status.revision] = serving.get(status.revision, 0) + status.percent
    if len(serving) > 1:
        split = ", ".join(f"{name} {percent}%" for name, percent in sorted(serving.items()))
        raise ConfigError(f"the service already splits traffic over {len(serving)} revisions ({split}); canaria "
                          "pins one stable revision: move all traffic to one revision first", field="platform.cloudrun")
    if not serving:
        if canary is None:
            raise ConfigError("the service serves no revision yet: deploy it once before a canary",
                              field="platform.cloudrun.service")
        return canary, canary
    return next(iter(serving)), canary


def plan_traffic(spec: list[Target], *, stable: str, canary: str | None, canary_share: int, tag: str
                 ) -> TrafficPlan:
    """The targets for `canary_share` % on the canary: stable pinned with the rest, users' tags kept.

    A target the user tagged keeps its tag; a LATEST target the user tagged is pinned to the stable revision
    (never LATEST during a canary); the canary target is written last, with `tag`.
    """
    if canary is None and canary_share:
        raise ConfigError("no canary revision to send traffic to: start the canary first")
    kept: list[Target] = []
    stable_tags: list[str] = []
    for target in spec:
        revision = stable if target.latest else target.revision
        if target.tag == tag or (canary is not None and revision == canary and not target.tag):
            continue  # the canary target is rewritten below
        if revision == stable and target.percent:
            if target.tag:
                stable_tags.append(target.tag)
            continue  # the stable share is rewritten below
        if target.tag:
            kept.append(Target(revision=revision, percent=0, tag=target.tag))
    targets = [Target(revision=stable, percent=100 - canary_share, tag=stable_tags[0] if stable_tags else "")]
    targets += [Target(revision=stable, percent=0, tag=extra) for extra in stable_tags[1:]]
    targets += kept
    if canary is not None:
        targets.append(Target(revision=canary, percent=canary_share, tag=tag))
    return TrafficPlan(stable=stable, canary=canary, targets=tuple(targets))


def without_canary(plan: TrafficPlan, tag: str, *, to: str, keep_tag: bool = False, latest: bool = False
                   ) -> TrafficPlan:
    """All traffic to `to` (the stable on rollback, the canary on promote); the canary tag removed unless kept.

    With `latest`, the serving target becomes LATEST (after a promotion, so the next plain deploy is served
    as Cloud Run users expect); users' tags stay pinned where they were.
    """
    targets: list[Target] = []
    serving_tag = ""
    for target in plan.targets:
        if target.tag == tag:
            if keep_tag:
                targets.append(replace(target, percent=0))
            continue
        if target.percent:
            serving_tag = target.tag
            continue
        if target.tag:  # an untagged 0 % target is canary's own pin of the stable: not kept
            targets.append(target)
    serving = Target(revision=None if latest else to, percent=100, tag=serving_tag, latest=latest)
    return TrafficPlan(stable=to, canary=None, targets=(serving, *targets))


def statuses_match(targets: list[Target], statuses: list[Target], latest_ready: str) -> bool:
    """Cloud Run applies the written split: same (revision, percent, tag) set, LATEST resolved."""

    def key(items: list[Target]) -> set[tuple[str, int, str]]:
        out = set()
        for t in items:
            revision = latest_ready if t.latest and not t.revision else (t.revision or "")
            out.add((revision, t.percent, t.tag))
        return out

    return key(targets) == key(statuses)
