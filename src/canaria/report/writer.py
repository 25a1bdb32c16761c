"""Write the deployment record: self-contained HTML (inline SVG, no network), Markdown with SVG files
beside it, and JSON. Every output passes through the secret scrubber before it touches the disk.

Layout under `config.reports_path`::

    <rollout_id>/report.html   report.md   report.json   charts/<chart>.svg
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from canaria.config import CanariaConfig
from canaria.errors import UsageError
from canaria.i18n import resolve_lang
from canaria.notify.base import Redactor
from canaria.report.charts import CHART_IDS, build_charts
from canaria.report.data import RecordData, collect
from canaria.report.view import RecordView, build_view
from canaria.state.store import Store

__all__ = ["FORMATS", "render_html", "render_json", "render_markdown", "write_report"]

FORMATS = ("html", "md", "json")
_ENV = Environment(loader=PackageLoader("canaria.report", "templates"), autoescape=select_autoescape(["j2"]),
                   trim_blocks=True, lstrip_blocks=True)


def _tight(cell: object) -> bool:
    """A short cell with a figure in it (a time, a count, "12 ms"): kept on one line, never broken mid-number;
    longer text wraps at spaces (and anywhere only if one word is wider than the cell)."""
    text = str(cell)
    return len(text) <= 32 and any(ch.isdigit() for ch in text)


_ENV.tests["tight"] = _tight


def render_html(view: RecordView, charts: dict[str, str]) -> str:
    return _ENV.get_template("report.html.j2").render(v=view, charts=charts)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(view: RecordView, chart_files: dict[str, str]) -> str:
    """Markdown; `chart_files` maps chart id to the image path relative to the .md file."""
    lb = view.label
    out = [f"# {view.title}", "", f"**{view.outcome}**", ""]
    out += _md_table(["", ""], [[f"**{k}**", v] for k, v in view.facts])
    out += [f"## {lb('record.preflight')}", ""]
    if view.preflight is None:
        out += [lb("record.preflight.none"), ""]
    else:
        out += [f"_{view.preflight_at}_", ""]
        out += _md_table([lb("record.col.check"), lb("record.col.result"), ""],
                         [[name, "✅" if ok else "❌", detail] for name, ok, detail in view.preflight])
    out += [f"## {lb('record.charts')}", ""]
    out += [f"![{chart_id}]({path})" + "\n" for chart_id, path in chart_files.items()]
    out += [f"## {lb('record.stages')}", ""] + _md_table(view.stage_header, view.stages)
    out += [f"## {lb('record.decisions')}", ""]
    out += _md_table([lb("record.col.at"), "+h:mm", lb("record.col.decision"), lb("record.col.score"),
                      lb("notify.reasons")], view.decisions)
    out += [f"## {lb('record.notes')}", ""]
    out += [f"- {at} · {actor}: {_md_cell(text)}" for at, actor, text in view.notes] or [lb("record.notes.none")]
    out += ["", f"## {lb('record.signoff')}", ""]
    out += [f"- [{'x' if signed else ' '}] {label} — {who}" for label, signed, who in view.signoff] + [""]
    if view.failures:
        out += [f"## {lb('record.notify_failed')}", ""] + _md_table(["", "", "", ""], view.failures)
    out += [f"## {lb('record.timeline')}", ""] + _md_table(view.events_header, view.events)
    out += [f"_{view.generated}_", ""]
    return "\n".join(out)


def render_json(data: RecordData) -> str:
    return json.dumps(data.to_json(), ensure_ascii=False, indent=2, default=str) + "\n"


def write_report(config: CanariaConfig, store: Store, rollout_id: str, formats: Iterable[str] = FORMATS, *,
                 lang: str | None = None, now: float | None = None) -> list[Path]:
    """Write the record of one rollout; returns the files written (HTML, Markdown, JSON in that order,
    as asked). Called by the runner when a rollout ends, and by `canaria report`."""
    wanted = [f.lower() for f in formats]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r}; use html, md or json")
    lang = resolve_lang(lang, config.lang)
    redact = Redactor(config.notify.secret_values())
    data = collect(config, store, rollout_id, now=time.time() if now is None else now)
    folder = config.reports_path / rollout_id
    folder.mkdir(parents=True, exist_ok=True)
    view = build_view(data, lang)
    charts = build_charts(data, lang) if {"html", "md"} & set(wanted) else {}
    written: list[Path] = []
    for fmt in FORMATS:
        if fmt not in wanted:
            continue
        if fmt == "html":
            text = render_html(view, charts)
        elif fmt == "md":
            chart_dir = folder / "charts"
            chart_dir.mkdir(exist_ok=True)
            files = {}
            for chart_id in CHART_IDS:
                (chart_dir / f"{chart_id}.svg").write_text(redact(charts[chart_id]), encoding="utf-8")
                files[chart_id] = f"charts/{chart_id}.svg"
            text = render_markdown(view, files)
        else:
            text = render_json(data)
        path = folder / f"report.{fmt}"
        path.write_text(redact(text), encoding="utf-8")
        written.append(path)
    return written
