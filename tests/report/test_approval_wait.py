"""The approval wait is marked on every chart's time axis: hatched from `approval_needed` to `approved`,
labelled with how long the gate waited for a person, at the same x as the events themselves."""

from __future__ import annotations

import asyncio
import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from canaria.report.charts import CHART_IDS, approval_waits, build_charts
from canaria.report.data import collect
from canaria.state.store import Event, Store
from tests.report.test_report import Record, _make_record

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Record:
    return asyncio.run(_make_record(tmp_path_factory.mktemp("wait"), "ko"))


def _with_gate(record: Record, opened_s: float, approved_s: float):  # type: ignore[no-untyped-def]
    store = Store.for_state_dir(record.config.state_path)
    try:
        data = collect(record.config, store, record.rollout_id, now=0.0)
    finally:
        store.close()
    extra = [Event(10_001, record.rollout_id, data.start + opened_s, "approval_needed", "warning", "canaria", "", {}),
             Event(10_002, record.rollout_id, data.start + approved_s, "approved", "info", "lubit", "GO", {})]
    return dataclasses.replace(data, events=sorted([*data.events, *extra], key=lambda e: e.at))


def test_every_chart_shades_the_wait_between_approval_needed_and_approved(record: Record) -> None:
    data = _with_gate(record, 60.0, 600.0)
    assert [(w.x0, w.x1) for w in approval_waits(data, "en")] == [(60.0, 600.0)]
    x_max = max(data.elapsed(data.end), 10.0)
    for chart_id, svg in build_charts(data, "ko").items():
        root = ET.fromstring(svg)
        waits = [g for g in root.iter(f"{NS}g") if g.get("class") == "wait"]
        assert len(waits) == 1, chart_id
        rect = waits[0].find(f"{NS}rect")
        assert rect is not None
        # the timeline's rows hold the event labels: there the wait's label is the band's tooltip
        label = rect.find(f"{NS}title") if chart_id == "timeline" else waits[0].find(f"{NS}text")
        assert label is not None, chart_id
        width = float(root.get("width", "0"))
        scale = (width - 56 - 24) / x_max  # the frame's plot area, left 56 px, right 24 px
        assert abs(float(rect.get("x", "0")) - (56 + 60 * scale)) < 0.2, chart_id
        assert abs(float(rect.get("width", "0")) - 540 * scale) < 0.2, chart_id
        assert label.text == "승인 대기 (9분)", chart_id
        assert rect.get("fill") == f"url(#{chart_id}-wait)" and root.find(f".//{NS}pattern") is not None
    assert set(build_charts(data, "en")) == set(CHART_IDS)
    assert "waiting for approval (9 min)" in build_charts(data, "en")["latency"]


def test_a_gate_never_approved_is_shaded_to_the_rollback_or_to_the_end(record: Record) -> None:
    data = _with_gate(record, 60.0, 600.0)
    data = dataclasses.replace(data, events=[e for e in data.events if e.kind != "approved"])
    rollback = next(e for e in data.events if e.kind == "rollback_started")
    (wait,) = approval_waits(data, "en")
    assert wait.x0 == 60.0 and wait.x1 == data.elapsed(rollback.at)
    data = dataclasses.replace(data, events=[e for e in data.events if e.kind != "rollback_started"])
    (wait,) = approval_waits(data, "en")
    assert wait.x0 == 60.0 and wait.x1 == data.elapsed(data.end)


def test_a_rollout_without_a_gate_has_no_wait(record: Record, tmp_path: Path) -> None:
    store = Store.for_state_dir(record.config.state_path)
    try:
        data = collect(record.config, store, record.rollout_id, now=0.0)
    finally:
        store.close()
    assert approval_waits(data, "en") == []
    assert 'class="wait"' not in "".join(build_charts(data, "en").values())
