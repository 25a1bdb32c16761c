"""Rendering of `canaria metrics` for people (the JSON form is status_view.metrics_dict)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from canaria.i18n import t

__all__ = ["render_metrics"]


def _cell(value: Any, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def render_metrics(console: Console, data: dict[str, Any], lang: str) -> None:
    title = f"{data['service']} · {data.get('rollout_id') or '-'} · {t('phase.' + data['phase'], lang)}"
    window = data.get("window") or {}
    table = Table(title=f"{title} · {window.get('duration_s', 0):g}s window", title_justify="left")
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
    console.print(t("view.split", lang, control=f"{data['traffic']['control']:g}",
                    canary=f"{data['traffic']['canary']:g}"), highlight=False)
    comp = data.get("comparison") or {}
    if comp:
        console.print("canary vs control: " + ", ".join(f"{k} {v:g}" for k, v in comp.items()), highlight=False)
    if data.get("decision"):
        console.print(f"{t('view.decision', lang)}: {data['decision']} · {t('view.score', lang)} {data['score']}/100",
                      highlight=False)
        for reason in data.get("reasons", [])[:5]:
            console.print(f"  • {reason}", highlight=False, markup=False)
