"""The record's charts, from the stored windows, verdicts and events (x = time since the start)."""

from __future__ import annotations

from canaria.i18n import t
from canaria.i18n.spans import format_span
from canaria.report.data import RecordData
from canaria.report.svg import Band, Line, Marker, Threshold, line_chart, timeline_chart

__all__ = ["CANARY", "CHART_IDS", "CONTROL", "approval_waits", "build_charts"]

CONTROL = "#4c78a8"
CANARY = "#e45756"
_DECISION_COLORS = {"GO": "#2da44e", "OBSERVE": "#bf8700", "NO-GO": "#cf222e"}
_SEVERITY_COLORS = {"info": "#57606a", "warning": "#bf8700", "critical": "#cf222e"}
CHART_IDS = ("traffic", "errors", "latency", "rps", "saturation", "score", "timeline")
_TIMELINE_KINDS = {"rollout_started", "stage_advanced", "decision", "approval_needed", "approved", "paused", "hold_overdue",
                   "resumed", "traffic_set", "canary_failed", "rollback_started", "rollback_finished",
                   "promotion_started", "promotion_finished", "controller_error", "escalated", "acknowledged",
                   "note", "signoff", "manual_promote", "notify_failed"}


def _traffic_steps(data: RecordData) -> list[tuple[float, float | None]]:
    points: list[tuple[float, float | None]] = [(0.0, 0.0)]
    for event in data.events:
        x = data.elapsed(event.at)
        if event.kind in ("stage_advanced", "traffic_set") and "traffic" in event.data:
            points.append((x, float(event.data["traffic"])))
        elif event.kind == "rollback_finished":
            points.append((x, 0.0))
        elif event.kind == "promotion_finished":
            points.append((x, 100.0))
    points.append((data.elapsed(data.end), points[-1][1]))
    return points


def _stage_bands(data: RecordData, lang: str) -> list[Band]:
    starts = [(data.elapsed(e.at), e.data.get("traffic")) for e in data.events
              if e.kind in ("stage_advanced", "traffic_set")]
    bands = []
    colors = ("#eef4fb", "#f6f8fa")
    for i, (x0, traffic) in enumerate(starts):
        x1 = starts[i + 1][0] if i + 1 < len(starts) else data.elapsed(data.end)
        bands.append(Band(x0, x1, f"{float(traffic or 0):g}%", colors[i % 2]))
    return bands


_WAIT_COLOR = "#bf8700"


def approval_waits(data: RecordData, lang: str) -> list[Band]:
    """Each wait at an approval gate, from `approval_needed` to the `approved` after it (or to the rollout's
    end, or whatever ended the wait: a rollback or a manual promote): where the clock was a person's."""
    waits: list[Band] = []
    opened: float | None = None
    for event in data.events:
        x = data.elapsed(event.at)
        if event.kind == "approval_needed" and opened is None:
            opened = x
        elif opened is not None and event.kind in ("approved", "manual_promote", "rollback_started"):
            waits.append(Band(opened, x, t("record.chart.approval_wait", lang, span=format_span(x - opened, lang)),
                              _WAIT_COLOR, kind="wait"))
            opened = None
    if opened is not None:
        x = data.elapsed(data.end)
        waits.append(Band(opened, x, t("record.chart.approval_wait", lang, span=format_span(x - opened, lang)),
                          _WAIT_COLOR, kind="wait"))
    return waits


def _decision_markers(data: RecordData) -> list[Marker]:
    return [Marker(data.elapsed(e.at), str(e.data.get("decision")), _DECISION_COLORS.get(
        str(e.data.get("decision")), "#57606a"), y=float(e.data.get("score", 0))) for e in data.events
        if e.kind == "decision"]


def _ends(data: RecordData) -> list[float]:
    return [data.elapsed(w.end) for w in data.windows]


def build_charts(data: RecordData, lang: str) -> dict[str, str]:
    x_max = data.elapsed(data.end)
    axis = t("record.axis.time", lang)
    unmeasured = t("sentence.not_measured", lang)
    ends = _ends(data)
    control = [w.control.summary(w.duration_s) for w in data.windows]
    canary = [w.canary.summary(w.duration_s) for w in data.windows]

    def series(rows: list[dict], key: str) -> list[tuple[float, float | None]]:
        return [(x, row.get(key)) for x, row in zip(ends, rows, strict=True)]

    bands = _stage_bands(data, lang) + approval_waits(data, lang)
    control_name, canary_name = t("view.control", lang), t("view.canary", lang)
    thresholds = {g.metric: g.max for g in data.config.guardrails if g.action == "rollback"}
    charts: dict[str, str] = {}
    charts["traffic"] = line_chart(
        "traffic", t("record.chart.traffic", lang),
        [Line(canary_name, _traffic_steps(data), CANARY, step=True)], x_max=x_max, x_label=axis, empty_label=unmeasured, y_unit="%", y_max=100,
        bands=bands, markers=[m for m in _decision_markers(data) if m.label == "NO-GO"])
    error_limit = thresholds.get("error_rate_pct")
    charts["errors"] = line_chart(
        "errors", t("record.chart.errors", lang),
        [Line(control_name, series(control, "error_rate_pct"), CONTROL, dots=True),
         Line(canary_name, series(canary, "error_rate_pct"), CANARY, dots=True)], x_max=x_max, x_label=axis, empty_label=unmeasured, y_unit="%",
        bands=bands, thresholds=[Threshold(error_limit, f"{error_limit:g}%")] if error_limit else [])
    shades = {"p50_ms": ("#f2a3a3", "#9ecae9"), "p95_ms": ("#e45756", "#4c78a8"), "p99_ms": ("#8f1d1d", "#1d3f73")}
    latency_lines = []
    for key, (canary_color, control_color) in shades.items():
        label = key.removesuffix("_ms").upper()
        latency_lines.append(Line(f"{label}", series(canary, key), canary_color))
        latency_lines.append(Line(f"{label} ({control_name})", series(control, key), control_color, dash=True))
    p95_limit = thresholds.get("p95_ms")
    charts["latency"] = line_chart(
        "latency", t("record.chart.latency", lang), latency_lines, x_max=x_max, x_label=axis, empty_label=unmeasured, y_unit="", bands=bands,
        thresholds=[Threshold(p95_limit, f"P95 {p95_limit:g} ms")] if p95_limit else [], height=250)
    charts["rps"] = line_chart(
        "rps", t("record.chart.rps", lang),
        [Line(control_name, series(control, "rps"), CONTROL), Line(canary_name, series(canary, "rps"), CANARY)],
        x_max=x_max, x_label=axis, empty_label=unmeasured, bands=bands)
    memory, cpu = t("metric.memory_pct", lang), t("metric.cpu_pct", lang)
    charts["saturation"] = line_chart(
        "saturation", t("record.chart.saturation", lang),
        [Line(f"{memory} ({control_name})", series(control, "memory_pct"), CONTROL, dash=True),
         Line(f"{memory}", series(canary, "memory_pct"), CANARY),
         Line(f"CPU ({control_name})", series(control, "cpu_pct"), "#72b7b2", dash=True),
         Line(f"{cpu}", series(canary, "cpu_pct"), "#b279a2")],
        x_max=x_max, x_label=axis, empty_label=unmeasured, y_unit="%", y_max=100, bands=bands,
        thresholds=[Threshold(thresholds["memory_pct"], f"{thresholds['memory_pct']:g}%")]
        if "memory_pct" in thresholds else [])
    score_points = [(data.elapsed(v.at), float(v.verdict.score)) for v in data.verdicts]
    charts["score"] = line_chart(
        "score", t("record.chart.score", lang),
        [Line(t("view.score", lang), score_points, "#6e40c9", dots=True)], x_max=x_max, x_label=axis, empty_label=unmeasured, y_max=100, bands=bands,
        markers=_decision_markers(data),
        thresholds=[Threshold(float(data.config.analysis.score.pass_), f"pass {data.config.analysis.score.pass_}")])
    events = [Marker(data.elapsed(e.at), _event_label(e.kind, e.data, lang), _SEVERITY_COLORS.get(e.severity,
                     "#57606a")) for e in data.events if e.kind in _TIMELINE_KINDS]
    charts["timeline"] = timeline_chart("timeline", t("record.chart.timeline", lang), events, x_max=x_max, x_label=axis, empty_label=unmeasured, bands=approval_waits(data, lang))
    return charts


def _event_label(kind: str, data: dict, lang: str) -> str:
    if kind == "decision":
        return str(data.get("decision", kind))
    if kind in ("stage_advanced", "traffic_set") and "traffic" in data:
        return f"{float(data['traffic']):g}%"
    return kind.replace("_", " ")
