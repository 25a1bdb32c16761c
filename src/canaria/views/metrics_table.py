"""Rendering of `canaria metrics` for people (the JSON form is status_view.metrics_dict)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from canaria.i18n import t
from canaria.i18n.spans import format_span

__all__ = ["render_metrics"]


def _cell(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def render_metrics(console: Console, data: dict[str, Any], lang: str) -> None:
    title = f"{data['service']} · {data.get('rollout_id') or '-'} · {t('phase.' + data['phase'], lang)}"
    window = data.get("window") or {}
    measured = t("metrics.measured", lang, duration=format_span(float(window.get("duration_s") or 0), lang),
                 start=str(window.get("start") or "-"), end=str(window.get("end") or "-"))
    table = Table(title=f"{title}\n{measured}", title_justify="left")
    table.add_column(t("view.variant", lang))
    for col in ("view.requests", "view.errors", "P50 ms", "P95 ms", "P99 ms", "mean ms", "view.rps",
                "view.memory", "view.cpu"):
        table.add_column(t(col, lang) if col.startswith("view.") else col, justify="right")
    for key, label in (("control", "view.control"), ("canary", "view.canary")):
        s = data.get(key)
        if not s:
            continue
        table.add_row(t(label, lang), _cell(s["requests"]), _cell(s["error_rate_pct"]), _cell(s["p50_ms"]),
                      _cell(s["p95_ms"]), _cell(s["p99_ms"]), _cell(s["mean_ms"]), _cell(s["rps"]),
                      _cell(s["memory_pct"]), _cell(s["cpu_pct"]))
    console.print(table)
    console.print(t("metrics.split_now", lang, control=f"{data['traffic']['control']:g}",
                    canary=f"{data['traffic']['canary']:g}"), highlight=False)
    if data.get("phase") in ("succeeded", "rolled_back", "failed"):
        console.print(t("metrics.ended", lang, phase=t("phase." + data["phase"], lang)), highlight=False)
    comp = data.get("comparison") or {}
    if comp:
        console.print(t("metrics.comparison", lang) + ", ".join(f"{k} {v:g}" for k, v in comp.items()), highlight=False)
    if data.get("decision"):
        console.print(f"{t('metrics.last_decision', lang)}: {data['decision']} · {t('view.score', lang)} "
                      f"{data['score']}/100", highlight=False)
        for reason in data.get("reasons", [])[:5]:
            console.print(f"  • {reason}", highlight=False, markup=False)
