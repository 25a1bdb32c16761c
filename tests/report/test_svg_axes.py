"""The record's charts: a threshold drawn at its value, a time axis with units at any length, labels apart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from canaria.report.svg import Line, Marker, Threshold, elapsed_label, line_chart

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_p95_limit_is_drawn_at_500_between_the_gridlines() -> None:
    lines = [Line("P95", [(0, 120.0), (10, 180.0), (20, 240.0)], "#000")]
    root = _parse(line_chart("lat", "latency", lines, x_max=30, thresholds=[Threshold(500, "P95 500 ms")]))
    ticks = {float(t.text or "0"): float(t.get("y", "0")) - 3.5 for t in root.iter(f"{NS}text")
             if t.get("text-anchor") == "end" and re.fullmatch(r"\d+", t.text or "")}
    limit = next(float(e.get("y1", "0")) for e in root.iter(f"{NS}line") if e.get("stroke-dasharray") == "2 3")
    (low, y_low), (high, y_high) = sorted(ticks.items())[0], sorted(ticks.items())[-1]
    expected = y_low + (y_high - y_low) * (500 - low) / (high - low)
    assert abs(limit - expected) < 0.2, (limit, expected, ticks)
    assert all(abs(limit - y) > 1 for value, y in ticks.items() if value != 500)


def _time_labels(svg: str) -> list[str]:
    return [t.text or "" for t in _parse(svg).iter(f"{NS}text") if (t.text or "").startswith("+")]


def test_the_time_axis_has_units_and_enough_ticks_for_30_s_and_3_h() -> None:
    for seconds, unit in ((30, " s"), (3 * 3600, " h")):
        labels = _time_labels(line_chart("c", "t", [Line("x", [(0, 1.0), (seconds, 2.0)], "#000")], x_max=seconds,
                                         x_label="time since the rollout started"))
        assert 4 <= len(labels) <= 8, labels
        assert any(unit in label for label in labels), labels
        assert len(set(labels)) == len(labels), labels  # no repeated tick labels
    assert elapsed_label(34) == "+34 s" and elapsed_label(12 * 60) == "+12 min"


def test_marker_labels_close_together_do_not_overlap() -> None:
    markers = [Marker(10.0, "OBSERVE", "#d4a72c"), Marker(10.5, "GO", "#2da44e"), Marker(11.0, "NO-GO", "#cf222e")]
    root = _parse(line_chart("s", "score", [Line("score", [(0, 90.0), (30, 95.0)], "#000")], x_max=30,
                             markers=markers))
    ys = [t.get("y") for t in root.iter(f"{NS}text") if t.text in ("OBSERVE", "GO", "NO-GO")]
    assert len(ys) == 3 and len(set(ys)) == 3, ys


def test_a_series_without_data_says_not_measured() -> None:
    svg = line_chart("m", "memory", [Line("canary", [(0, None), (10, None)], "#000")], x_max=30,
                     thresholds=[Threshold(85, "85%")], empty_label="not measured")
    assert "not measured" in svg
