"""The one interface every platform backend implements (DESIGN.md §5).

A backend owns where the two versions run and how traffic is split between them: the embedded gateway with
local processes (`local`), the user's nginx or HAProxy (`nginx`, `haproxy`), Kubernetes (`kubernetes`) or
Cloud Run (`cloudrun`). It learns from Argo Rollouts (`SetWeight`, `SetHeaderRoute`, `VerifyWeight`) and Flagger
(`SetRoutes`, `GetRoutes` read back from the live object):

- `set_route(weight, match=...)` writes the split; `verify_route()` reads back what the data plane *applies*
  (never the file or object canaria wrote) and says `applied`, `pending` or `unsupported`. The controller
  records a stage as entered only when it is `applied` (or `unsupported`, said so in the event).
- A failed write leaves the previous routing in place and raises an error of the one tree (`canaria.errors`):
  `ConfigError` for the user's input (exit 2), `PlatformError`/`InfrastructureError` for the platform (exit 1).
- Every method is idempotent: the controller may call it again after a crash.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from canaria.errors import CanariaError, UsageError
from canaria.i18n.text import literal

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["Platform", "HealthResult", "Variant", "TesterMatch", "RouteState", "RouteStatus", "VersionInfo",
           "Revision", "PlatformCheck", "ComponentHealth", "DataPlaneHealth"]

Variant = Literal["stable", "canary"]
RouteState = Literal["applied", "pending", "unsupported"]


@dataclass(frozen=True)
class TesterMatch:
    """A tester route: only requests carrying this header (or cookie) with this value reach the canary."""

    __test__ = False  # not a pytest test class, despite its name

    value: str
    header: str | None = None
    cookie: str | None = None

    def describe(self) -> str:
        where = f"header {self.header}" if self.header else f"cookie {self.cookie}"
        return f"{where} = {self.value}"


@dataclass
class HealthResult:
    variant: Variant
    path: str
    ok: bool
    status: int | None
    detail: str  # English: what `check --json`, the record and other tools read
    body: dict[str, object] | None = None
    text: dict[str, object] | None = None  # `detail` as a catalogue key + params (canaria.i18n.text), if it has one


@dataclass
class RouteStatus:
    """What the data plane applies right now, read back from it."""

    state: RouteState
    weight: float | None = None  # canary share in percent as applied; None when it cannot be read
    match: TesterMatch | None = None  # the tester route applied, if any
    detail: str = ""  # e.g. "nginx -T: upstream ion_api weights 95/5", "HTTPRoute generation 4 not yet accepted"
    approximate: bool = False  # the split is approximated (Kubernetes replica counts)

    @property
    def sends_canary_nothing(self) -> bool:
        """Applied with no tester route and 0 % (an approximate split too: a rollback is not approximately done)."""
        return self.state == "applied" and self.match is None and (self.weight or 0.0) <= 0.01


@dataclass
class VersionInfo:
    """What runs as one variant: shown in every view and record."""

    variant: Variant
    version: str | None = None  # the user's name for it (config `version:`), image tag, revision name
    image: str | None = None
    revision: str | None = None  # Kubernetes ReplicaSet/Deployment revision, Cloud Run revision name
    url: str | None = None  # where it answers (or the tag URL on Cloud Run)
    pid: int | None = None
    servers: list[str] = field(default_factory=list)  # pool members on VMs (nginx/haproxy `urls:`)

    def label(self) -> str:
        return self.version or self.revision or self.image or self.url or (f"pid {self.pid}" if self.pid else "?")


@dataclass
class Revision:
    """One entry of the platform's own history (`kubectl rollout history`, Cloud Run revisions)."""

    name: str
    created_at: float | None = None
    image: str | None = None
    traffic: float | None = None
    detail: str = ""


@dataclass
class PlatformCheck:
    """One ✅/⚠/❌ line of `canaria check` that only the backend can tell (socket there, include loaded...)."""

    name: str
    ok: bool
    detail: str
    warning: bool = False  # True: works, but something will not (⚠)
    text: dict[str, object] | None = None  # `detail` as a catalogue key + params (canaria.i18n.text), if it has one


@dataclass
class ComponentHealth:
    """One part of the data plane (router, stable, canary) as canaria sees it right now."""

    name: str  # "gateway", "router", "stable", "canary"
    state: Literal["up", "down", "stopped"]  # stopped: not running and not expected to run
    detail: str = ""
    pid: int | None = None
    restarts: int = 0  # restarts by canaria within the restart window
    restarted: bool = False  # brought back (or found restarted: a new gateway boot) by this very check

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "state": self.state, "up": self.state != "down", "detail": self.detail,
                "pid": self.pid, "restarts": self.restarts}


@dataclass
class DataPlaneHealth:
    """What serves users: `up` unless a component canaria expects to run is down."""

    components: list[ComponentHealth] = field(default_factory=list)

    @property
    def up(self) -> bool:
        return all(c.state != "down" for c in self.components)

    @property
    def down(self) -> list[ComponentHealth]:
        return [c for c in self.components if c.state == "down"]

    @property
    def restarted(self) -> list[ComponentHealth]:
        return [c for c in self.components if c.restarted]

    def summary(self) -> str:
        return "; ".join(f"{c.name} {c.state}" + (f" ({c.detail})" if c.detail else "") for c in self.components)

    def to_dict(self) -> dict[str, object]:
        return {"up": self.up, "components": [c.to_dict() for c in self.components]}


class Platform(ABC):
    """Start, route, check and retire the two versions. Every method is idempotent."""

    kind: str = "?"
    supports_match: bool = False  # tester routes by header/cookie (Cloud Run: no, it offers a tag URL instead)

    def __init__(self, config: CanariaConfig, *, owned: bool = False) -> None:
        """`owned`: every process this backend starts dies with this process (demo, tests)."""
        self.config = config
        self.owned = owned

    @abstractmethod
    async def ensure_stable(self) -> None:
        """The stable version and the router are up and serving (started if canaria runs them)."""

    @abstractmethod
    async def start_canary(self) -> None:
        """Start (or deploy) the canary with no traffic and wait until it is ready; raise InfrastructureError
        with the platform's own reason (crash loop, failed revision, health check) when it never is."""

    @abstractmethod
    async def set_route(self, weight: float, *, match: TesterMatch | None = None) -> None:
        """Route `weight` percent of requests to the canary, atomically; with `match`, also (or only, when
        weight is 0) requests matching the tester route. A failure leaves the previous routing in place."""

    @abstractmethod
    async def verify_route(self) -> RouteStatus:
        """Read back what the data plane applies now (not what was written)."""

    async def canary_weight(self) -> float:
        """The canary share the data plane applies right now (0 when it cannot be read)."""
        status = await self.verify_route()
        return float(status.weight or 0.0)

    @abstractmethod
    async def canary_problem(self) -> str | None:
        """Why the canary cannot serve (process exited, pods crash-looping, revision failed), or None."""

    @abstractmethod
    async def rollback(self, *, keep_canary: bool = False) -> None:
        """All traffic to stable; retire the canary unless asked to keep it for debugging. The stable version
        is never changed."""

    @abstractmethod
    async def promote(self) -> None:
        """The canary becomes the new stable and gets all traffic; the old stable (or the canary copy) is retired."""

    async def restart(self, variant: Variant) -> str:
        """The memory-leak playbook's first step: restart the variant's instances. Returns what was done."""
        raise UsageError(f"platform {self.kind} cannot restart the {variant}")

    @abstractmethod
    async def describe(self) -> dict[Variant, VersionInfo]:
        """What runs as stable and as canary right now."""

    @abstractmethod
    async def health(self, variant: Variant, *, detailed: bool = False) -> HealthResult:
        """GET the variant's /health (or /health/detailed)."""

    @abstractmethod
    def rollback_plan(self) -> list[str]:
        """What `rollback` would do, step by step, for `--dry-run`."""

    def rollback_plan_text(self) -> list[dict[str, Any]]:
        """The same steps as translatable texts (canaria.i18n.text); a backend without keys gives its English."""
        return [literal(step) for step in self.rollback_plan()]

    def pid_of(self, variant: Variant) -> int | None:
        """The OS process of a variant when canaria runs it on this machine (memory/CPU readings)."""
        return None

    def upstream_url(self, variant: Variant) -> str | None:
        """Where the variant answers over HTTP from this machine, when it can be reached (health, /metrics)."""
        return None

    async def checks(self) -> list[PlatformCheck]:
        """The backend's own pre-flight lines for `canaria check` (binary, socket, permissions, objects exist)."""
        return []

    async def history(self) -> list[Revision]:
        """The platform's own revisions of the stable version, newest first (empty when it keeps none)."""
        return []

    async def rollback_to_revision(self, revision: str) -> str:
        """After a finished rollout: what `kubectl rollout undo --to-revision` does. Returns what was done."""
        raise UsageError(f"platform {self.kind} keeps no revisions to roll back to")

    async def data_plane_health(self, *, canary: bool) -> DataPlaneHealth:
        """Is the data plane serving? Read only. `canary`: a canary is expected to run (an active rollout).
        The default asks the router to read its split back; backends that run processes say more."""
        try:
            status = await self.verify_route()
        except CanariaError as exc:
            return DataPlaneHealth([ComponentHealth("router", "down", str(exc))])
        return DataPlaneHealth([ComponentHealth("router", "up", status.detail)])

    async def supervise(self, *, canary: bool) -> DataPlaneHealth:
        """Bring back what canaria runs and has died (bounded restart rate), then report. Platforms whose
        processes are kept alive by someone else (Kubernetes, Cloud Run, the user's nginx) only report."""
        return await self.data_plane_health(canary=canary)

    async def shutdown(self) -> None:
        """Stop everything this platform started (demo and tests). Real runs leave the service up."""

    async def close(self) -> None:
        """Release clients; the service keeps running."""
