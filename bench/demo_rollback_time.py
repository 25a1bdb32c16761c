"""Time from the canary's start to its rollback (and to promotion) in `canaria demo`, per scenario.

Prints figures; asserts nothing. Usage: .venv/bin/python bench/demo_rollback_time.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime


def one(scenario: str) -> tuple[int, float, float, str]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "canaria", "demo", "--json", "--scenario", scenario],
                            capture_output=True, text=True, timeout=200)
    wall = time.monotonic() - started
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    first = datetime.fromisoformat(summary["stages"][0]["at"])
    last = datetime.fromisoformat(summary["decisions"][-1]["at"])
    return result.returncode, (last - first).total_seconds(), wall, summary.get("rollback_reason") or "promoted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'scenario':<12} {'exit':>4} {'canary start → end (s)':>24} {'wall (s)':>9}  reason")
    for scenario in ("good", "errors", "latency", "memory-leak"):
        spans, walls = [], []
        for _ in range(args.runs):
            code, span, wall, reason = one(scenario)
            spans.append(span)
            walls.append(wall)
        print(f"{scenario:<12} {code:>4} {statistics.median(spans):>12.1f} (max {max(spans):5.1f}) "
              f"{statistics.median(walls):>9.1f}  {reason}")


if __name__ == "__main__":
    main()
