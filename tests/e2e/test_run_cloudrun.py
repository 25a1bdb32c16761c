"""A whole `canaria run --json` on Cloud Run, through Google's real clients and the local fake of the documented API.

One fake serves three services at once, one per scenario, and each `python -m canaria run` subprocess drives its
own: the canary image is deployed as a revision with 0 % and the tag `canary`, the compressed plan (10 % → 50 % →
100 %, 2 s holds, a check every second) is walked by writing `traffic` and reading `traffic_statuses` back, and the
judge reads Cloud Monitoring series the fake generates from the split Cloud Run applies (an erroring revision
answers 20 % 5xx). Application Default Credentials come from an `external_account` file whose token endpoint is
the fake. Every request and response body is validated against Google's discovery documents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.emulators.cloudrun import CloudRunEmulator, ImageBehaviour
from tests.platforms.cloudrun_harness import PROJECT, REGION, STABLE_IMAGE, cloudrun_data

OPERATION_DELAY_S = 0.2

SCENARIOS = {
    "good": ImageBehaviour(),
    "errors": ImageBehaviour(error_rate=0.2),
    "never": ImageBehaviour(startup="never_ready"),
}
EXPECTED = {"good": (0, "promoted"), "errors": (3, "rolled_back"), "never": (3, "rolled_back")}
LATEST, REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


def _config(fake: CloudRunEmulator, tmp_path: Path, scenario: str) -> Path:
    image = f"registry.example/ion-api:{scenario}"
    fake.model.images[image] = SCENARIOS[scenario]
    data: dict[str, Any] = cloudrun_data(fake, tmp_path / scenario, service=f"ion-api-{scenario}", image=image)
    data["service"] = f"ion-api-{scenario}"
    data["plan"] = {"stages": [{"traffic": 10, "hold": "2s"}, {"traffic": 50, "hold": "2s"}, {"traffic": 100}]}
    data["analysis"] = {"interval": "1s", "min_requests": 20, "max_hold_extension": "20s"}
    data["report"] = {"every": "1h"}
    data["platform"]["verify_timeout"] = "10s"
    data["observability"] = {"log_format": "json", "log_file": f"{scenario}.jsonl"}
    path = tmp_path / f"{scenario}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_good_promoted_erroring_rolled_back_never_ready_rejected(tmp_path: Path) -> None:
    with CloudRunEmulator(operation_delay=OPERATION_DELAY_S, revision_ready_delay=0.2, sample_period=0.5,
                          rps=200) as fake:
        stables = {s: fake.model.add_service(PROJECT, REGION, f"ion-api-{s}", STABLE_IMAGE).latest_ready
                   for s in SCENARIOS}
        env = {**os.environ, **fake.write_adc(tmp_path, project=PROJECT), "LANG": "C.UTF-8", "COLUMNS": "200"}
        running: dict[str, subprocess.Popen[str]] = {}
        try:
            for scenario in SCENARIOS:
                running[scenario] = subprocess.Popen(
                    [sys.executable, "-m", "canaria", "run", "--json", "-c", str(_config(fake, tmp_path, scenario))],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)
            outputs = {s: p.communicate(timeout=120) for s, p in running.items()}
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
        # canaria's last write (the promotion, a rollback) is an operation Cloud Run finishes on its own, after
        # canaria may have exited; the fake moves only when asked, so let its operations come due and finish them
        time.sleep(OPERATION_DELAY_S + 0.2)
        with fake.model.lock:
            fake.model.advance()
        for scenario, (stdout, stderr) in outputs.items():
            code, outcome = EXPECTED[scenario]
            assert running[scenario].returncode == code, f"{scenario}: {stderr[-2000:]}"
            final = json.loads(stdout.strip().splitlines()[-1])
            assert final["outcome"] == outcome, scenario
            service = fake.model.services[f"projects/{PROJECT}/locations/{REGION}/services/ion-api-{scenario}"]
            canary = service.latest_created
            if scenario == "good":
                assert service.spec["traffic"] == [{"type": LATEST, "percent": 100}]
                assert service.statuses[0]["revision"] == canary and final["requests"]["canary"] > 0
            else:
                assert service.spec["traffic"] == [{"type": REVISION, "revision": stables[scenario], "percent": 100}]
                assert [s["revision"] for s in service.statuses] == [stables[scenario]]
        errors = json.loads(outputs["errors"][0].strip().splitlines()[-1])
        assert "error rate" in errors["rollback_reason"] and errors["errors"]["canary"] > 0
        never = json.loads(outputs["never"][0].strip().splitlines()[-1])
        assert "not Ready" in never["rollback_reason"]
        _assert_cloud_logging_lines(tmp_path / "errors.jsonl")
        assert fake.violations == []


def _assert_cloud_logging_lines(path: Path) -> None:
    """Cloud Logging's structured fields, the project taken from platform.cloudrun.project."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    events = [line for line in lines if "event" in line]
    assert events and {"rollout_started", "rollback_finished"} <= {line["event"]["kind"] for line in events}
    rollout_id = events[0]["rollout_id"]
    for line in events:
        assert line["severity"] in {"INFO", "WARNING", "ERROR", "CRITICAL"}
        assert line["logging.googleapis.com/labels"]["rollout_id"] == rollout_id
        assert line["logging.googleapis.com/trace"] == f"projects/{PROJECT}/traces/{line['trace_id']}"
        assert line["logging.googleapis.com/operation"] == {"id": rollout_id, "producer": "canaria/ion-api-errors"}
