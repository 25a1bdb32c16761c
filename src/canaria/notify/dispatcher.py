"""The notification sink: the controller hands it each recorded event; it never makes the controller wait.

`publish` only renders and enqueues (no network), so a rollback finishes on time even when every
channel is down. One worker per channel delivers in order, with a timeout per attempt and retries with
exponential backoff (tenacity). After a channel fails it counts as down for a pause (`backoff_max`):
critical messages still get one attempt, the rest are recorded as not sent at once, so a dead channel
cannot build an ever-growing backlog. Every message given up on is recorded as a `notify_failed`
event (secrets scrubbed) for `status` and the report.

Alert storms are cut three ways: a `decision` goes out only when it differs from the last one sent
for the rollout; any other identical message is not repeated within `dedup_window`; and each channel
takes at most `rate_limit.per_minute` non-critical messages a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from canaria.config import CanariaConfig
from canaria.controller.clock import Clock, SystemClock
from canaria.i18n import resolve_lang, t
from canaria.i18n.messages import MESSAGES
from canaria.i18n.text import literal, msg, render, span
from canaria.notify.base import Channel, Notification, Redactor, Severity
from canaria.notify.channels import create_channels
from canaria.notify.escalation import EscalationStep, contacts_for, due_escalations
from canaria.notify.render import Renderer, waited_text
from canaria.notify.router import Router
from canaria.notify.sentence import display_severity
from canaria.notify.templates import TemplateSet
from canaria.state.store import Event, Rollout, Store

__all__ = ["Delivery", "NotifyDispatcher"]

log = logging.getLogger("canaria.notify")
log.addHandler(logging.NullHandler())  # a library: the application decides where log lines go


@dataclass
class Delivery:
    channel: str
    notification: Notification
    ok: bool
    attempts: int
    error: str = ""


def template_dir_of(config: CanariaConfig) -> Path | None:
    if not config.notify.template_dir:
        return None
    path = Path(config.notify.template_dir)
    return path if path.is_absolute() else config.base_dir / path


class NotifyDispatcher:
    """An `EventSink` that routes events to channels in the background.

    `store` defaults to a connection of its own to the state dir (SQLite WAL allows several);
    `clock` should be the controller's, so recorded times and escalation delays agree with it.
    """

    def __init__(self, config: CanariaConfig, store: Store | None = None, *, clock: Clock | None = None,
                 lang: str | None = None, channels: dict[str, Channel] | None = None) -> None:
        self.config = config
        self.settings = config.notify
        self._own_store = store is None
        self.store = store if store is not None else Store.for_state_dir(config.state_path)
        self.clock = clock or SystemClock()
        self.lang = resolve_lang(lang, self.settings.lang or config.lang)
        self.redact = Redactor(self.settings.secret_values())
        self.channels = channels if channels is not None else create_channels(self.settings, self.redact,
                                                                               state_db=self.store.path)
        self.router = Router(self.settings, {name: ch.type for name, ch in self.channels.items()})
        self.renderer = Renderer(config, lang=self.lang, templates=TemplateSet(template_dir_of(config)),
                                 store=self.store)
        self.deliveries: list[Delivery] = []  # what happened, for `check` and tests; bounded below
        self._queues: dict[str, asyncio.Queue[Notification]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._escalation_task: asyncio.Task[None] | None = None
        self._last_decision: dict[str, str] = {}
        self._recent: dict[tuple[str, str | None, str], float] = {}
        self._rate: dict[str, deque[float]] = {}
        self._down: dict[str, float] = {}  # channel -> monotonic time until which it counts as down
        self._rollouts: set[str] = set()
        self._closed = False
        #: called with (channel name, delivered?) after every send, e.g. canaria's own metrics
        self.on_delivery: Callable[[str, bool], None] | None = None

    # ------------------------------------------------------------ EventSink
    async def publish(self, event: Event, rollout: Rollout | None) -> None:
        """Render and enqueue; returns at once and never raises (telling people must not stop a rollback)."""
        try:
            if event.rollout_id:
                self._rollouts.add(event.rollout_id)
            self._accept(event, rollout)
            if self.settings.escalation.levels:
                self._start_escalation_loop()
                self.check_escalations()
        except Exception as exc:  # noqa: BLE001 - never let a notification problem reach the controller
            log.warning("notification for event %s not sent: %s", event.id, self.redact(str(exc)))

    def _accept(self, event: Event, rollout: Rollout | None) -> None:
        if self._closed or not self.channels:
            return
        # a decision to keep holding with nothing wrong is information: it is routed (and shown) as such
        names = self.router.route(event.kind, display_severity(event.kind, event.severity, event.data))
        if not names or self._duplicate(event):
            return
        notification = self.renderer.build(event, rollout)
        for name in names:
            if notification.severity is not Severity.CRITICAL and not self._allow_rate(name):
                log.info("rate limit: %s message %s dropped for channel %s", event.kind, event.id, name)
                continue
            self._enqueue(name, notification)

    def _duplicate(self, event: Event) -> bool:
        now = self.clock.now()
        if event.kind == "decision":
            decision = str(event.data.get("decision", ""))
            key_id = event.rollout_id or ""
            if self._last_decision.get(key_id) == decision:
                return True
            self._last_decision[key_id] = decision
            return False
        if event.kind == "status_report":  # periodic by design (report.every); the rate limit still applies
            return False
        key = (event.kind, event.rollout_id, event.message)
        last = self._recent.get(key)
        if last is not None and now - last < self.settings.dedup_window:
            return True
        self._recent[key] = now
        if len(self._recent) > 1000:
            horizon = now - self.settings.dedup_window
            self._recent = {k: v for k, v in self._recent.items() if v >= horizon}
        return False

    def _allow_rate(self, channel: str) -> bool:
        now = self.clock.now()
        sent = self._rate.setdefault(channel, deque())
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        if len(sent) >= self.settings.rate_limit.per_minute:
            return False
        sent.append(now)
        return True

    def _enqueue(self, name: str, notification: Notification) -> None:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = asyncio.Queue(maxsize=self.settings.queue_size)
            self._workers[name] = asyncio.get_running_loop().create_task(self._worker(name),
                                                                         name=f"canaria-notify-{name}")
        if queue.full():  # the oldest waiting message gives way; the newest state matters most
            dropped = queue.get_nowait()
            queue.task_done()
            self._record_failure(name, dropped, "queue full: dropped while the channel was not answering", 0)
        queue.put_nowait(notification)

    # ------------------------------------------------------------ delivery
    async def _worker(self, name: str) -> None:
        queue = self._queues[name]
        channel = self.channels[name]
        while True:
            notification = await queue.get()
            try:
                await self._deliver(channel, notification)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker must outlive any one message
                log.warning("channel %s: %s", name, self.redact(str(exc)))
            finally:
                queue.task_done()

    async def _deliver(self, channel: Channel, notification: Notification) -> None:
        down_until = self._down.get(channel.name)
        is_down = down_until is not None and time.monotonic() < down_until
        if is_down and notification.severity is not Severity.CRITICAL:
            self._record_failure(channel.name, notification, f"{channel.type} {channel.name}: not tried, the channel "
                                 "failed moments ago (retried after a pause)", 0)
            return
        attempts = 1 if down_until is not None else self.settings.retries + 1
        tried = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=self.settings.backoff, max=self.settings.backoff_max),
                retry=retry_if_exception_type(Exception), reraise=True,
            ):
                with attempt:
                    tried += 1
                    await asyncio.wait_for(channel.send(notification), timeout=channel.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none is raised
            error = self.redact.error(exc) if not isinstance(exc, TimeoutError) else None
            text = str(error) if error else f"{channel.type} {channel.name}: timed out after {channel.timeout:g} s"
            self._down[channel.name] = time.monotonic() + max(self.settings.backoff_max, channel.timeout)
            self._record_failure(channel.name, notification, text, tried)
            return
        self._down.pop(channel.name, None)
        self._remember(Delivery(channel.name, notification, True, tried))

    def _remember(self, delivery: Delivery) -> None:
        if self.on_delivery is not None:
            try:
                self.on_delivery(delivery.channel, delivery.ok)
            except Exception:
                log.debug("on_delivery hook failed", exc_info=True)
        self.deliveries.append(delivery)
        if len(self.deliveries) > 500:
            del self.deliveries[:100]

    def _record_failure(self, name: str, notification: Notification, error: str, attempts: int) -> None:
        error = self.redact(error)
        self._remember(Delivery(name, notification, False, attempts, error))
        log.warning("notification %s to %s failed after %d attempt(s): %s", notification.kind, name, attempts, error)
        channel = self.channels.get(name)
        try:
            self.store.add_event(
                "notify_failed", at=self.clock.now(), rollout_id=notification.rollout_id, severity="warning",
                message=f"{name}: {error}",
                data={"channel": name, "type": channel.type if channel else "", "event_id": notification.event_id,
                      "event_kind": notification.kind, "attempts": attempts, "error": error,
                      "escalation_level": notification.level})
        except Exception as exc:  # noqa: BLE001 - the store may be closing; the log line above remains
            log.warning("could not record notify_failed: %s", exc)

    # ------------------------------------------------------------ escalation
    def _start_escalation_loop(self) -> None:
        if self._escalation_task is None and not self._closed:
            self._escalation_task = asyncio.get_running_loop().create_task(self._escalation_loop(),
                                                                           name="canaria-escalation")

    async def _escalation_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.escalation.poll)  # real time on purpose: a fake clock jumps
            try:
                self.check_escalations()
            except Exception as exc:  # noqa: BLE001 - keep watching
                log.warning("escalation check failed: %s", self.redact(str(exc)))

    async def start(self) -> None:
        """For long-lived processes (the dashboard): watch the service's latest rollout and start the
        escalation timer now rather than at the first published event."""
        latest = self.store.latest_rollout(self.config.service)
        if latest is not None:
            self.watch(latest.id)
        if self.settings.escalation.levels:
            self._start_escalation_loop()

    def watch(self, rollout_id: str) -> None:
        """Also escalate this rollout's alerts (e.g. the latest one after a restart)."""
        self._rollouts.add(rollout_id)

    def check_escalations(self) -> list[EscalationStep]:
        """Send every escalation that is due now; returns what was sent (and recorded as `escalated`)."""
        if not self.settings.escalation.levels or self._closed:
            return []
        now = self.clock.now()
        steps: list[EscalationStep] = []
        for rollout_id in sorted(self._rollouts):
            for step in due_escalations(self.store, self.settings, rollout_id, now=now):
                self._escalate(step, now)
                steps.append(step)
        return steps

    def _escalate(self, step: EscalationStep, now: float) -> None:
        level = step.config
        contacts = contacts_for(self.settings, level.contacts)
        names = self.router.resolve(level.channels)
        waited = waited_text(step.waited_s, self.lang)
        kind = step.anchor.kind
        what = msg(f"web.event.{kind}") if f"web.event.{kind}" in MESSAGES["en"] else literal(kind)
        text = msg("event.escalated", level=step.level, kind=what, waited=span(step.waited_s))
        recorded = self.store.add_event(
            "escalated", at=now, rollout_id=step.rollout_id, severity="critical", message=render(text, "en"),
            text=text,
            data={"level": step.level, "anchor_event_id": step.anchor.id, "anchor_kind": step.anchor.kind,
                  "contacts": [c.key for c in contacts], "channels": names, "waited": waited})
        rollout = self.store.get_rollout(step.rollout_id)
        ctx = self.renderer.context(step.anchor, rollout)
        original = ctx["title"]
        params = {"service": self.config.service, "level": step.level, "waited": waited}
        ctx["title"] = t("notify.title.escalated", self.lang, **params)
        ctx["body"] = t("notify.escalated.body", self.lang, **params) + "\n" + original
        notification = self.renderer.from_context(recorded, ctx, contacts=contacts, level=step.level)
        for name in names:
            self._enqueue(name, notification)

    # ------------------------------------------------------------ lifecycle
    async def drain(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until every queued message was delivered or given up on."""
        if not self._queues:
            return True
        try:
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues.values())), timeout=timeout)
            return True
        except TimeoutError:
            return False

    async def aclose(self, timeout: float = 5.0) -> None:
        """Give queued messages `timeout` s, then stop workers, close channels (and our own store)."""
        await self.drain(timeout)
        self._closed = True
        tasks = [*self._workers.values(), *([self._escalation_task] if self._escalation_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.close()
        if self._own_store:
            self.store.close()
