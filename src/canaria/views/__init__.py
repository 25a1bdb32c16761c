"""Layer: terminal rendering (Rich) — the live rollout view and the metrics table. No I/O but the console."""
