"""`canaria metrics` says which window each number comes from."""

from __future__ import annotations

import io

from rich.console import Console

from canaria.views.metrics_table import render_metrics

ROW = {"requests": 1735, "error_rate_pct": 0.0, "p50_ms": 5.0, "p95_ms": 9.0, "p99_ms": 12.0, "mean_ms": 6.0,
       "rps": 80.0, "memory_pct": 40.0, "cpu_pct": 2.0}


def test_after_promotion_the_split_is_labelled_as_now_and_the_rows_as_the_window() -> None:
    data = {"service": "my-api", "rollout_id": "r-1", "phase": "succeeded", "traffic": {"control": 0.0, "canary": 100.0},
            "window": {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:00:20Z", "duration_s": 20.0},
            "control": ROW, "canary": {**ROW, "requests": 90}, "comparison": {}, "decision": "GO", "score": 97,
            "reasons": []}
    console = Console(file=io.StringIO(), width=1000, color_system=None)
    render_metrics(console, data, "en")
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "measured over 20 s (2026-01-01T10:00:00Z → 2026-01-01T10:00:20Z)" in text
    assert "Traffic split now (not during the window): control 0% · canary 100%" in text
    assert "The rollout has ended (succeeded)" in text and "1735" in text and "my-api" in text
