"""bench/judges.py --threshold-factor: canaria alone rejects at 1/G of its threshold, every other judge is
unchanged, and the runs are the same draws (docs/judge.md, "What the unknowns cost, measured")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "judges.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_judges", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_lower_threshold_serves_fewer_bad_requests_and_leaves_the_oracle_alone() -> None:
    bench = _bench()
    path = bench.SUITES["runbook traffic (1 req/s)"]
    as_is = {j["judge"]: j for j in bench.run_suite(path, 6, 0, 1, ["canaria", "oracle"], 1.0)["judges"]}
    lowered = {j["judge"]: j for j in bench.run_suite(path, 6, 0, 1, ["canaria", "oracle"], 16.0)["judges"]}
    assert lowered["oracle"]["mean_bad_requests"] == as_is["oracle"]["mean_bad_requests"]
    assert lowered["canaria"]["mean_bad_requests"] < as_is["canaria"]["mean_bad_requests"]
    with pytest.raises(SystemExit, match="between 1 and 100"):
        bench.run_suite(path, 1, 0, 1, ["canaria"], 200.0)
