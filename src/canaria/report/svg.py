"""Hand-written SVG line charts: no plotting library, no fonts or scripts to fetch, so the report opens
offline and the same SVG text works inline in HTML and as a file beside the Markdown.

x values are seconds since the rollout started; gaps (None) break a line instead of inventing data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = ["Band", "Line", "Marker", "Threshold", "elapsed_label", "line_chart", "nice_ticks", "timeline_chart"]

FONT = "font-family=\"-apple-system,Segoe UI,Helvetica,Arial,'Noto Sans KR','Noto Sans CJK KR','Malgun Gothic',sans-serif\""


@dataclass
class Line:
    name: str
    points: Sequence[tuple[float, float | None]]
    color: str
    dash: bool = False
    step: bool = False  # hold each value until the next point (traffic weights)
    dots: bool = False


@dataclass
class Band:
    x0: float
    x1: float
    label: str
    color: str = "#eef2f7"
    kind: str = "band"  # "band" (a stage, behind everything) or "wait" (hatched over it, labelled lower down)


@dataclass
class Marker:
    x: float
    label: str
    color: str
    y: float | None = None  # a dot at (x, y) as well as the vertical rule


@dataclass
class Threshold:
    y: float
    label: str
    color: str = "#cf222e"


@dataclass
class _Frame:
    width: int
    height: int
    left: int = 56
    right: int = 24
    top: int = 46
    bottom: int = 36
    x_max: float = 1.0
    y_min: float = 0.0
    y_max: float = 1.0
    parts: list[str] = field(default_factory=list)

    def x(self, value: float) -> float:
        span = self.width - self.left - self.right
        return self.left + span * (value / self.x_max if self.x_max else 0.0)

    def y(self, value: float) -> float:
        span = self.height - self.top - self.bottom
        fraction = (value - self.y_min) / (self.y_max - self.y_min) if self.y_max > self.y_min else 0.0
        return self.top + span * (1.0 - min(1.0, max(0.0, fraction)))


def elapsed_label(seconds: float) -> str:
    """Time since the start, at the scale of the plan: "+40 s", "+12 min", "+1 h 05 min"."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"+{seconds:.0f} s"
    minutes = round(seconds / 60.0)
    if minutes < 120:
        return f"+{minutes} min"
    return f"+{minutes // 60} h {minutes % 60:02d} min"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while not ticks or ticks[-1] < high - step * 1e-9:  # the top tick covers the highest value (and limit)
        ticks.append(round(value, 10))
        value += step
    return ticks


_TIME_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _time_ticks(x_max: float) -> list[float]:
    """Between 4 and 8 ticks whatever the length: a 30 s demo and a 3 h rollout alike."""
    step = next((s for s in _TIME_STEPS if x_max / s <= 7), 86400.0 * max(1, math.ceil(x_max / 86400 / 7)))
    return [i * float(step) for i in range(int(x_max // step) + 1)]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _svg_open(frame: _Frame, title: str, chart_id: str) -> None:
    frame.parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'width="{frame.width}" height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" {FONT} '
        f'font-size="11"><title>{escape(title)}</title>'
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#ffffff"/>'
        f'<text x="{frame.left}" y="18" font-size="13" font-weight="600" fill="#1f2328">{escape(title)}</text>'
    )


def _axes(frame: _Frame, y_ticks: list[float], y_unit: str, x_label: str = "") -> None:
    for tick in y_ticks:
        y = frame.y(tick)
        frame.parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                           f'stroke="#d0d7de" stroke-width="0.6"/>')
        frame.parts.append(f'<text x="{frame.left - 6}" y="{y + 3.5:.1f}" text-anchor="end" fill="#57606a">'
                           f'{_fmt(tick)}{escape(y_unit)}</text>')
    base = frame.height - frame.bottom
    for tick in _time_ticks(frame.x_max):
        x = frame.x(tick)
        frame.parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}" stroke="#57606a"/>')
        frame.parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="#57606a">'
                           f'{elapsed_label(tick)}</text>')
    frame.parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
                       f'stroke="#57606a"/>')
    if x_label:
        frame.parts.append(f'<text x="{frame.width - frame.right}" y="{base + 30}" text-anchor="end" '
                           f'fill="#57606a" font-size="10">{escape(x_label)}</text>')


def _path(frame: _Frame, line: Line) -> None:
    segments: list[list[tuple[float, float]]] = [[]]
    previous_y: float | None = None
    for x, y in line.points:
        if y is None:
            if segments[-1]:
                segments.append([])
            previous_y = None
            continue
        if line.step and previous_y is not None:
            segments[-1].append((frame.x(x), frame.y(previous_y)))
        segments[-1].append((frame.x(x), frame.y(y)))
        previous_y = y
    dash = ' stroke-dasharray="5 4"' if line.dash else ""
    for segment in segments:
        if len(segment) == 1:
            px, py = segment[0]
            frame.parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{line.color}"/>')
        elif segment:
            d = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(segment))
            frame.parts.append(f'<path d="{d}" fill="none" stroke="{line.color}" stroke-width="2"{dash}>'
                               f'<title>{escape(line.name)}</title></path>')
        if line.dots:
            for px, py in segment:
                frame.parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{line.color}"/>')


def _text_width(text: str) -> float:
    return sum(11.0 if ord(ch) > 0x2E80 else 6.2 for ch in text)  # CJK glyphs are about twice as wide


def _legend(frame: _Frame, lines: Sequence[Line]) -> None:
    """One row under the title, left to right."""
    x = float(frame.left)
    for line in lines:
        dash = ' stroke-dasharray="5 4"' if line.dash else ""
        frame.parts.append(f'<g class="legend"><line x1="{x:.1f}" x2="{x + 18:.1f}" y1="32" y2="32" '
                           f'stroke="{line.color}" stroke-width="2"{dash}/><text x="{x + 22:.1f}" y="35.5" '
                           f'fill="#1f2328">{escape(line.name)}</text></g>')
        x += 34 + _text_width(line.name)


_HATCH = ('<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" '
          'patternTransform="rotate(45)"><rect width="6" height="6" fill="{color}" fill-opacity="0.18"/>'
          '<line x1="0" y1="0" x2="0" y2="6" stroke="{color}" stroke-opacity="0.45" stroke-width="2"/></pattern></defs>')


def _bands(frame: _Frame, bands: Sequence[Band], chart_id: str, *, labels: bool = True) -> None:
    """Stages first, then waits hatched over them: a wait's label sits a row below the stage labels.
    Without `labels` (the timeline, whose rows hold the event labels) the label is the band's tooltip."""
    height = frame.height - frame.top - frame.bottom
    pattern = f"{escape(chart_id)}-wait"
    hatched = False
    for band in sorted(bands, key=lambda b: b.kind == "wait"):
        x0, x1 = frame.x(band.x0), frame.x(band.x1)
        fill, label_y, ink = band.color, frame.top + 12, "#57606a"
        if band.kind == "wait":
            if not hatched:
                frame.parts.append(_HATCH.format(id=pattern, color=band.color))
                hatched = True
            fill, label_y, ink = f"url(#{pattern})", frame.top + 26, "#7d4e00"
        rect = (f'<rect x="{x0:.1f}" y="{frame.top}" width="{max(0.0, x1 - x0):.1f}" height="{height}" '
                f'fill="{fill}"')
        if labels:
            frame.parts.append(f'<g class="{escape(band.kind)}">{rect}/><text x="{x0 + 4:.1f}" y="{label_y}" '
                               f'fill="{ink}">{escape(band.label)}</text></g>')
        else:
            frame.parts.append(f'<g class="{escape(band.kind)}">{rect}><title>{escape(band.label)}</title></rect></g>')


def line_chart(chart_id: str, title: str, lines: Sequence[Line], *, x_max: float, y_unit: str = "",
               y_min: float = 0.0, y_max: float | None = None, bands: Sequence[Band] = (),
               markers: Sequence[Marker] = (), thresholds: Sequence[Threshold] = (), width: int = 760,
               height: int = 230, x_label: str = "", empty_label: str = "not measured") -> str:
    values = [y for line in lines for _, y in line.points if y is not None] + [t.y for t in thresholds]
    top = y_max if y_max is not None else max([*values, y_min + 1e-9]) * 1.1
    ticks = nice_ticks(y_min, top)
    frame = _Frame(width, height, x_max=max(x_max, 10.0), y_min=y_min, y_max=ticks[-1])
    _svg_open(frame, title, chart_id)
    _bands(frame, bands, chart_id)
    _axes(frame, ticks, y_unit, x_label)
    for threshold in thresholds:
        y = frame.y(threshold.y)
        frame.parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                           f'stroke="{threshold.color}" stroke-dasharray="2 3"/><text x="{frame.width - frame.right}"'
                           f' y="{y - 3:.1f}" text-anchor="end" fill="{threshold.color}">{escape(threshold.label)}'
                           f'</text>')
    for line in lines:
        _path(frame, line)
    label_lanes: list[float] = []  # the right end of the last label in each row: labels never overlap
    for marker in markers:
        x = frame.x(marker.x)
        frame.parts.append(f'<g class="marker"><line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" '
                           f'y2="{frame.height - frame.bottom}" stroke="{marker.color}" stroke-width="1" '
                           f'stroke-dasharray="3 2"/>')
        if marker.y is not None:
            frame.parts.append(f'<circle cx="{x:.1f}" cy="{frame.y(marker.y):.1f}" r="4.5" fill="{marker.color}" '
                               f'stroke="#fff"/>')
        anchor, dx = ("end", -4) if x > frame.width * 0.8 else ("start", 3)
        label_width = _text_width(marker.label) * 1.05
        x0 = x + dx - label_width if anchor == "end" else x + dx
        row = next((i for i, end in enumerate(label_lanes) if x0 > end + 4), None)
        if row is None:
            row = len(label_lanes)
            label_lanes.append(-1.0)
        label_lanes[row] = x0 + label_width
        label_y = frame.height - frame.bottom - 6 - 13 * row
        frame.parts.append(f'<text x="{x + dx:.1f}" y="{label_y:.1f}" fill="{marker.color}" '
                           f'text-anchor="{anchor}" font-weight="600">{escape(marker.label)}</text></g>')
    _legend(frame, lines)
    if not any(y is not None for line in lines for _, y in line.points):  # a threshold alone is no data
        frame.parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#8c959f">'
                           f'{escape(empty_label)}</text>')
    frame.parts.append("</svg>")
    return "".join(frame.parts)


def timeline_chart(chart_id: str, title: str, events: Sequence[Marker], *, x_max: float, width: int = 760,
                   lanes: int = 6, x_label: str = "", empty_label: str = "", bands: Sequence[Band] = ()) -> str:
    """Events as dots on one time axis. Each label takes the first lane where it does not overlap the
    label before it; events that find no free lane keep their dot (the table below lists them all)."""
    height = 64 + lanes * 16
    frame = _Frame(width, height, top=28, bottom=30, x_max=max(x_max, 10.0))
    _svg_open(frame, title, chart_id)
    _bands(frame, bands, chart_id, labels=False)
    _axes(frame, [], "", x_label)
    base = frame.height - frame.bottom
    lane_ends = [[(-1.0, -1.0)] for _ in range(lanes)]  # occupied [x0, x1] spans per lane
    for event in events:
        x = frame.x(event.x)
        label_width = _text_width(event.label)
        x0, x1 = (x - 4 - label_width, x) if x > frame.width * 0.7 else (x, x + 4 + label_width)
        lane = next((i for i, spans in enumerate(lane_ends) if all(x1 < a or x0 > b for a, b in spans)), None)
        frame.parts.append(f'<g class="event"><circle cx="{x:.1f}" cy="{base}" r="4" fill="{event.color}">'
                           f'<title>{escape(event.label)}</title></circle>')
        if lane is not None:
            lane_ends[lane].append((x0, x1))
            lane_y = frame.top + 10 + lane * 16
            anchor, dx = ("end", -3) if x > frame.width * 0.7 else ("start", 3)
            frame.parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{lane_y + 3}" y2="{base}" '
                               f'stroke="{event.color}" stroke-width="0.8"/><text x="{x + dx:.1f}" y="{lane_y:.1f}" '
                               f'text-anchor="{anchor}" fill="{event.color}">{escape(event.label)}</text>')
        frame.parts.append("</g>")
    frame.parts.append("</svg>")
    return "".join(frame.parts)
