"""The terminal view of a running rollout: a Rich live panel on a TTY, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from canaria.config import CanariaConfig
from canaria.controller.machine import TickResult
from canaria.foundation.durations import format_duration
from canaria.i18n import t
from canaria.state.status import status_dict
from canaria.state.store import Store

__all__ = ["RolloutView"]

_DECISION_STYLE = {"GO": "bold green", "OBSERVE": "bold yellow", "NO-GO": "bold red"}


def _fmt(value: Any, suffix: str = "") -> str:
    return "–" if value is None else f"{value:g}{suffix}" if isinstance(value, (int, float)) else str(value)


class RolloutView:
    """Receives every tick; draws the stage progress, split, control-vs-canary table and decision."""

    def __init__(self, config: CanariaConfig, store: Store, *, lang: str, stream: TextIO | None = None,
                 live: bool | None = None, extra_lines: list[str] | None = None) -> None:
        self.config = config
        self.store = store
        self.lang = lang
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream)
        self.live_enabled = self.console.is_terminal if live is None else live
        self._live: Live | None = None
        self.extra_lines = extra_lines or []
        self.last: TickResult | None = None
        self._last_event_id = 0
        self._renderer: Any = None

    def __enter__(self) -> RolloutView:
        if self.live_enabled:
            self._live = Live(Text(""), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        else:
            for line in self.extra_lines:
                print(line, file=self.stream, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def on_tick(self, result: TickResult) -> None:
        """Show the tick; events come from the store so actions by other processes appear too."""
        self.last = result
        events = self.store.events(result.rollout.id, after_id=self._last_event_id)
        if events:
            self._last_event_id = events[-1].id
        result = TickResult(rollout=result.rollout, window=result.window, verdict=result.verdict,
                            action=result.action, events=events)
        if self._live is not None:
            self._live.update(self.render(result))
        else:
            self._print_plain(result)

    def _event_line(self, event: Any, rollout: Any) -> str:
        """English events carry their own message; other languages use the notification titles."""
        if self.lang == "en":
            return event.message
        if self._renderer is None:
            from canaria.notify.render import Renderer
            from canaria.notify.templates import TemplateSet

            self._renderer = Renderer(self.config, lang=self.lang, templates=TemplateSet(None), store=self.store)
        try:
            return str(self._renderer.context(event, rollout)["title"]).split("] ", 1)[-1]
        except Exception:  # noqa: BLE001 - a missing translation must not hide the event
            return event.message

    def _print_plain(self, result: TickResult) -> None:
        for event in result.events:
            if event.kind in ("decision", "status_report"):
                continue
            print(f"[{event.kind}] {self._event_line(event, result.rollout)}", file=self.stream, flush=True)
        if result.window is not None and result.verdict is not None:
            c = result.window.control.summary(result.window.duration_s)
            k = result.window.canary.summary(result.window.duration_s)
            print(
                f"  {result.rollout.traffic:g}% canary | control {c['requests']} req {_fmt(c['error_rate_pct'], '%')} "
                f"p95 {_fmt(c['p95_ms'], 'ms')} | canary {k['requests']} req {_fmt(k['error_rate_pct'], '%')} "
                f"p95 {_fmt(k['p95_ms'], 'ms')} mem {_fmt(k['memory_pct'], '%')} | "
                f"{result.verdict.decision.value} {result.verdict.score}/100 {result.verdict.headline}",
                file=self.stream, flush=True,
            )
        for event in result.events:
            if event.kind == "status_report":
                print(f"  {event.message}", file=self.stream, flush=True)

    def render(self, result: TickResult) -> Panel:
        rollout = result.rollout
        lang = self.lang
        now = result.window.end if result.window is not None else rollout.updated_at
        status = status_dict(self.config, self.store, rollout, now=now)
        stage = status["stage"]
        title = t("view.title", lang, service=self.config.service, phase=t(f"phase.{rollout.phase}", lang))
        hold = stage["hold_s"] or 1.0
        done = int(40 * min(1.0, stage["elapsed_s"] / hold))
        progress = Text("━" * done, style="green")
        progress.append("━" * (40 - done), style="grey37")
        progress.append(f" {min(100, int(100 * stage['elapsed_s'] / hold))}%")
        stage_line = Text(t("view.stage", lang, n=stage["number"], total=stage["total"],
                            traffic=f"{stage['traffic']:g}", left=format_duration(stage["hold_left_s"])))
        split = Text(t("view.split", lang, control=f"{status['traffic']['control']:g}",
                       canary=f"{status['traffic']['canary']:g}"))
        table = Table(expand=False, box=None, pad_edge=False)
        for col in ("view.variant", "view.requests", "view.errors", "P50 ms", "P95 ms", "P99 ms", "view.rps",
                    "view.memory", "view.cpu"):
            table.add_column(t(col, lang) if col.startswith("view.") else col, justify="right")
        if result.window is not None:
            for name, data in (("view.control", result.window.control), ("view.canary", result.window.canary)):
                s = data.summary(result.window.duration_s)
                table.add_row(t(name, lang), _fmt(s["requests"]), _fmt(s["error_rate_pct"]), _fmt(s["p50_ms"]),
                              _fmt(s["p95_ms"]), _fmt(s["p99_ms"]), _fmt(s["rps"]), _fmt(s["memory_pct"]),
                              _fmt(s["cpu_pct"]))
        parts: list[Any] = [stage_line, progress, split, table]
        if result.verdict is not None:
            v = result.verdict
            head = Text(f"{t('view.decision', lang)}: ")
            head.append(f"{v.decision.value}", style=_DECISION_STYLE[v.decision.value])
            head.append(f"  {t('view.score', lang)} {v.score}/100")
            parts.append(head)
            for reason in v.reasons[:5]:
                parts.append(Text(f"  • {reason.message}"))
        reports = [e for e in result.events if e.kind == "status_report"]
        if reports:
            parts.append(Text(reports[-1].message, style="cyan"))
        for line in self.extra_lines:
            parts.append(Text(line, style="dim"))
        return Panel(Group(*parts), title=title)
