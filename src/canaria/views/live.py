"""The terminal view of a running rollout.

On a TTY: a fixed-height panel (15 lines, fits 80×24) redrawn in place, with events scrolling above it
through the same Rich console, and canaria's log lines routed there too, so nothing else writes to the
terminal while the panel is live. Off a TTY (CI, pipes): one line per event with a timestamp, nothing
drawn, nothing wrapped or cut. Both end on the summary card (`show_card`).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from canaria.analysis.verdict import Verdict
from canaria.config import CanariaConfig
from canaria.controller.machine import TickResult
from canaria.i18n import t
from canaria.i18n.spans import format_span
from canaria.notify.event_text import event_text
from canaria.notify.sentence import decision_sentence, display_severity, why_lines
from canaria.state.store import Rollout, Store
from canaria.views.console_log import ConsoleLogTakeover
from canaria.views.summary import SummaryCard

__all__ = ["PANEL_LINES", "RolloutView"]

PANEL_LINES = 13  # body lines; with the border the panel is 15 rows high whatever happens
_DECISION_STYLE = {"GO": "bold green", "OBSERVE": "bold yellow", "NO-GO": "bold red"}
_MARK = {"ok": "✓", "info": "·", "warning": "⚠", "critical": "✖"}


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _version_label(info: Any) -> str:
    if not isinstance(info, dict):
        return "?"
    name = info.get("version") or info.get("revision") or ""
    where = info.get("image") or info.get("url") or (f"pid {info['pid']}" if info.get("pid") else "")
    return " ".join(str(part) for part in (name, f"({where})" if name and where else where) if part) or "?"


class RolloutView:
    """Receives every tick; keeps one panel on screen and prints each new event exactly once."""

    def __init__(self, config: CanariaConfig, store: Store, *, lang: str, stream: TextIO | None = None,
                 live: bool | None = None, extra_lines: list[str] | None = None,
                 dashboard_url: str | None = None) -> None:
        self.config = config
        self.store = store
        self.lang = lang
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream)
        self.live_enabled = self.console.is_terminal if live is None else live
        self._live: Live | None = None
        self._logs: ConsoleLogTakeover | None = None
        self.extra_lines = extra_lines or []
        self.dashboard_url = dashboard_url
        self.last: TickResult | None = None
        self._last_event_id = 0
        self._last_verdict: Verdict | None = None
        self._versions: dict[str, Any] = {}
        self._stage_traffic: float | None = None  # traffic and start of the stage the events are about
        self._stage_at: float | None = None
        self._renderer: Any = None

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> RolloutView:
        self._logs = ConsoleLogTakeover(self.write_line, self.stream).__enter__()
        for line in self.extra_lines:
            self.write_line(line)
        if self.live_enabled:
            self._live = Live(Text(""), console=self.console, refresh_per_second=4, transient=True,
                              redirect_stdout=True, redirect_stderr=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        if self._logs is not None:
            self._logs.__exit__(None, None, None)
            self._logs = None

    def write_line(self, line: str) -> None:
        """A line above the panel (TTY) or one plain line (off a TTY): the only way text reaches the terminal."""
        if self.live_enabled:
            self.console.print(Text(line), soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)

    # ------------------------------------------------------------ ticks
    def on_tick(self, result: TickResult) -> None:
        """Show the tick; events come from the store so actions by other processes appear too."""
        self.last = result
        events = self.store.events(result.rollout.id, after_id=self._last_event_id)
        if events:
            self._last_event_id = events[-1].id
        if result.verdict is not None:
            self._last_verdict = result.verdict
        for event in events:
            if event.kind == "rollout_started" and isinstance(event.data.get("versions"), dict):
                self._versions = event.data["versions"]
            if event.kind == "stage_advanced":
                self._stage_traffic = float(event.data.get("traffic") or 0.0)
                self._stage_at = event.at
            for number, line in enumerate(self._event_line(event, result.rollout).splitlines()):
                self.write_line(line if number == 0 else f"    {line}")
        if self._live is not None:
            self._live.update(self.render(result))

    def _stamp(self, at: float) -> str:
        when = datetime.fromtimestamp(at, tz=UTC)
        return when.strftime("%H:%M:%S") if self.live_enabled else when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _event_line(self, event: Any, rollout: Rollout) -> str:
        severity = display_severity(event.kind, event.severity, event.data)
        text = self._event_text(event, rollout)
        return f"{self._stamp(event.at)} {_MARK.get(severity, '·')} {text}"

    def _event_text(self, event: Any, rollout: Rollout) -> str:
        if event.kind == "decision" and event.data.get("decision"):
            try:
                verdict = Verdict.from_dict(event.data)
            except (KeyError, ValueError, TypeError):
                verdict = None
            if verdict is not None:
                # the rollout may have moved on in the same tick: speak of the stage the decision was made in
                started = self._stage_at or rollout.stage_started_at or rollout.created_at
                traffic = self._stage_traffic if self._stage_traffic is not None else rollout.traffic
                return decision_sentence(verdict, traffic=traffic, elapsed_s=max(0.0, event.at - started),
                                         lang=self.lang, final_stage=self._final_stage(rollout))
        if event.kind == "approval_needed":
            return self._approval_hint()
        if event.kind == "rollback_started" and event.data.get("verdict"):
            return t("live.rollback_started", self.lang)  # the decision's sentence said why, just above
        if event.kind == "rollback_finished":
            self._stage_traffic = 0.0
            return t("live.rollback_finished", self.lang)
        if self.lang == "en" or event.text:
            return event_text(event, self.lang)
        if self._renderer is None:  # a record written before events carried a text: its title says the kind
            from canaria.notify.render import Renderer
            from canaria.notify.templates import TemplateSet

            self._renderer = Renderer(self.config, lang=self.lang, templates=TemplateSet(None), store=self.store)
        try:
            context = self._renderer.context(event, rollout)
            if event.kind == "status_report" and context.get("body"):
                return str(context["body"])  # the report itself, in this language
            return str(context["title"]).split("] ", 1)[-1]
        except Exception:  # noqa: BLE001 - a missing translation must not hide the event
            return str(event.message)

    def _final_stage(self, rollout: Rollout) -> bool:
        return rollout.stage_index >= len(self.config.plan.stages) - 1

    def _approval_hint(self) -> str:
        hint = t("live.approve", self.lang)
        return f"{hint} · {self.dashboard_url}" if self.dashboard_url else hint

    # ------------------------------------------------------------ the panel
    def render(self, result: TickResult) -> Panel:
        rollout = result.rollout
        lang = self.lang
        now = result.window.end if result.window is not None else rollout.updated_at
        stages = self.config.plan.stages
        index = min(rollout.stage_index, len(stages) - 1)
        hold = stages[index].hold
        elapsed = max(0.0, now - (rollout.stage_started_at or rollout.created_at))
        lines: list[Text] = []
        stable = _version_label(self._versions.get("stable"))
        canary = _version_label(self._versions.get("canary"))
        lines.append(Text(t("live.versions", lang, stable=stable, canary=canary)))
        if rollout.active:
            stage_text = t("live.stage", lang, n=index + 1, total=len(stages), traffic=f"{rollout.traffic:g}",
                           elapsed=format_span(min(elapsed, hold), lang), hold=format_span(hold, lang))
        else:
            stage_text = t("live.stage_ended", lang, n=index + 1, total=len(stages), traffic=f"{rollout.traffic:g}")
        lines.append(Text(stage_text))
        share = min(1.0, elapsed / hold) if hold and rollout.active else (1.0 if not rollout.active else 0.0)
        bar = Text("━" * int(40 * share), style="green")
        bar.append("━" * (40 - int(40 * share)), style="grey37")
        bar.append(f" {int(100 * share)}%")
        lines.append(bar)
        lines.append(Text(t("view.split", lang, control=f"{100 - rollout.traffic:g}", canary=f"{rollout.traffic:g}")))
        parts: list[Any] = list(lines)
        window = result.window
        if window is not None:
            parts.append(Text(t("live.window", lang, window=format_span(window.duration_s, lang)), style="dim"))
        else:
            parts.append(Text(""))
        parts.append(self._table(result))
        verdict = result.verdict or self._last_verdict
        if verdict is not None:
            sentence = decision_sentence(verdict, traffic=rollout.traffic, elapsed_s=elapsed, lang=lang,
                                         final_stage=self._final_stage(rollout))
            parts.append(Text(sentence, style=_DECISION_STYLE[verdict.decision.value], no_wrap=True,
                              overflow="ellipsis"))
            why = why_lines(verdict, limit=3, lang=lang)
            for line in why:
                parts.append(Text(f"  {t('live.why', lang)}: {line}", style="dim", no_wrap=True, overflow="ellipsis"))
            parts.extend(Text("") for _ in range(3 - len(why)))
        else:
            parts.extend(Text("") for _ in range(4))
        if rollout.phase == "awaiting_approval":
            parts.append(Text(self._approval_hint(), style="bold cyan", no_wrap=True, overflow="ellipsis"))
        elif rollout.phase == "paused":
            parts.append(Text(t("live.paused", lang), style="bold yellow", no_wrap=True, overflow="ellipsis"))
        else:
            parts.append(Text(""))
        for part in parts:
            if isinstance(part, Text):
                part.no_wrap = True
                part.overflow = "ellipsis"
        title = t("view.title", lang, service=self.config.service, phase=t(f"phase.{rollout.phase}", lang))
        return Panel(Group(*parts), title=title, height=PANEL_LINES + 2)

    def _table(self, result: TickResult) -> Table:
        lang = self.lang
        table = Table(expand=False, box=None, pad_edge=False, show_edge=False)
        for col in ("view.variant", "view.requests", "view.errors", "P50 ms", "P95 ms", "P99 ms", "view.rps",
                    "view.memory", "view.cpu"):
            table.add_column(t(col, lang) if col.startswith("view.") else col, justify="right", no_wrap=True,
                             overflow="ellipsis")
        window = result.window
        for name, data in (("view.control", window.control if window else None),
                           ("view.canary", window.canary if window else None)):
            if data is None or window is None:
                table.add_row(t(name, lang), *("–" for _ in range(8)))
                continue
            s = data.summary(window.duration_s)
            table.add_row(t(name, lang), _fmt(s["requests"]), _fmt(s["error_rate_pct"]), _fmt(s["p50_ms"]),
                          _fmt(s["p95_ms"]), _fmt(s["p99_ms"]), _fmt(s["rps"]), _fmt(s["memory_pct"]),
                          _fmt(s["cpu_pct"]))
        return table

    # ------------------------------------------------------------ the end
    @staticmethod
    def print_card(card: SummaryCard, *, stream: TextIO) -> None:
        """The summary card once the panel is gone: bordered on a TTY, plain unwrapped lines otherwise."""
        console = Console(file=stream)
        if console.is_terminal:
            body = Group(*(Text(line) for line in card.lines))
            console.print(Panel(body, title=card.title, border_style=card.style))
        else:
            print(f"== {card.title} ==", file=stream, flush=True)
            for line in card.lines:
                print(line, file=stream, flush=True)
