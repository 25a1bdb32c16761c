"""The sample service answers every endpoint with its documented shape, and exposes its metrics."""

from __future__ import annotations

import re

import pytest

from canaria.demo._telemetry import REQUEST_BUCKETS_S
from canaria.demo.service import ENGINE_LATENCY_HEADER, create_app, parse_bytes

NO_ENV: dict[str, str] = {}


async def test_health_reports_version(client_for) -> None:
    async with client_for(create_app("v2", "none", env=NO_ENV)) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "v2"}
    assert response.headers["x-canaria-version"] == "v2"


async def test_health_detailed_shape(client_for) -> None:
    app = create_app("v1", "none", env=NO_ENV)
    async with client_for(app) as client:
        for _ in range(4):
            assert (await client.get("/api/v2/recommendations", params={"user_id": "u1"})).status_code == 200
        body = (await client.get("/health/detailed")).json()

    assert body["status"] == "ok"
    assert body["version"] == "v1" and body["fault"] == "none"
    assert body["uptime_s"] >= 0
    for name in ("database", "cache", "recommendation_engine"):
        component = body["components"][name]
        assert component["status"] == "ok"
        assert component["latency_ms"] >= 0
    memory = body["memory"]
    assert memory["rss_bytes"] > 10 * 2**20
    assert memory["limit_source"] == "system"
    assert 0 < memory["percent"] < 100
    assert memory["percent"] == pytest.approx(100 * memory["rss_bytes"] / memory["limit_bytes"], abs=0.01)
    disk = body["disk"]
    assert disk["total_bytes"] >= disk["used_bytes"] > 0 and 0 <= disk["percent"] <= 100
    times = body["response_times"]
    # only user traffic counts: the 4 API calls, not the health probe itself
    assert times["count"] == 4
    assert 0 < times["p50_ms"] <= times["p95_ms"]


async def test_memory_percent_uses_configured_limit(client_for) -> None:
    app = create_app("v1", "none", env={"CANARIA_MEMORY_LIMIT": "512Mi"})
    async with client_for(app) as client:
        memory = (await client.get("/health/detailed")).json()["memory"]
    assert memory["limit_bytes"] == 512 * 2**20
    assert memory["limit_source"] == "env"
    assert memory["percent"] == pytest.approx(100 * memory["rss_bytes"] / 2**29, abs=0.01)


def test_parse_bytes_accepts_plain_and_suffixed_sizes() -> None:
    assert parse_bytes("1048576") == 2**20
    assert parse_bytes("256Mi") == 256 * 2**20
    assert parse_bytes("1G") == 10**9
    with pytest.raises(ValueError):
        parse_bytes("lots")
    with pytest.raises(ValueError):
        create_app("v1", "none", env={"CANARIA_MEMORY_LIMIT": "-5"})


async def test_recommendations_are_computed_and_timed(client_for) -> None:
    async with client_for(create_app("v1", "none", env=NO_ENV)) as client:
        first = await client.get("/api/v2/recommendations", params={"user_id": "alice"})
        again = await client.get("/api/v2/recommendations", params={"user_id": "alice"})
        other = await client.get("/api/v2/recommendations", params={"user_id": "bob"})
        by_header = await client.get("/api/v2/recommendations", headers={"X-User-Id": "alice"})

    body = first.json()
    assert first.status_code == 200
    assert body["user_id"] == "alice" and body["version"] == "v1" and body["algorithm"] == "affinity-v1"
    items = body["recommendations"]
    assert len(items) == 5
    assert {"topic_id", "title", "category", "score"} <= set(items[0])
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert len({item["topic_id"] for item in items}) == 5
    # deterministic per user, different across users, and the header form finds the same user
    assert again.json()["recommendations"] == items
    assert other.json()["recommendations"] != items
    assert by_header.json()["recommendations"] == items
    assert 0 <= body["engine_latency_ms"] < 100
    assert float(first.headers[ENGINE_LATENCY_HEADER]) == pytest.approx(body["engine_latency_ms"], abs=0.001)


async def test_v2_reranks_for_category_diversity(client_for) -> None:
    distinct = {}
    for version in ("v1", "v2"):
        async with client_for(create_app(version, "none", env=NO_ENV)) as client:
            counts = []
            for user in range(30):
                items = (await client.get("/api/v2/recommendations", params={"user_id": f"u{user}"})).json()
                counts.append(len({item["category"] for item in items["recommendations"]}))
            distinct[version] = sum(counts) / len(counts)
    assert distinct["v2"] > distinct["v1"]


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Any tips for my system design interview?", "interview"),
        ("면접이 다음 주예요", "interview"),
        ("이력서를 어떻게 고칠까요", "resume"),
        ("I feel burnout coming", "wellbeing"),
        ("hello", "greeting"),
        ("qwertyuiop", "fallback"),
    ],
)
async def test_chat_replies_by_intent(client_for, message: str, intent: str) -> None:
    async with client_for(create_app("v2", "none", env=NO_ENV)) as client:
        response = await client.post("/api/v2/chat", json={"message": message}, headers={"X-User-Id": "u7"})
    body = response.json()
    assert response.status_code == 200
    assert body["intent"] == intent
    assert body["version"] == "v2"
    assert isinstance(body["reply"], str) and body["reply"]
    assert 0.0 <= body["confidence"] <= 1.0
    if intent not in ("greeting", "fallback"):
        assert len(body["suggested_topics"]) == 3


async def test_chat_rejects_an_empty_message(client_for) -> None:
    async with client_for(create_app("v1", "none", env=NO_ENV)) as client:
        assert (await client.post("/api/v2/chat", json={"message": ""})).status_code == 422
        assert (await client.post("/api/v2/chat", json={})).status_code == 422


def _sample(text: str, name: str, **labels: str) -> float:
    """Value of one sample in Prometheus text format (labels must match exactly, in any order)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:{{(.*)}})? (\S+)", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if found == labels:
            return float(match.group(2))
    raise AssertionError(f"no sample {name}{labels}")


async def test_metrics_expose_the_series(client_for) -> None:
    async with client_for(create_app("v2", "none", env=NO_ENV)) as client:
        for _ in range(3):
            await client.get("/api/v2/recommendations", params={"user_id": "m"})
        await client.post("/api/v2/chat", json={"message": "hi"})
        await client.get("/nope")
        response = await client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    route = "/api/v2/recommendations"
    assert _sample(text, "http_requests_total", method="GET", path=route, status="200", version="v2") == 3
    assert (
        _sample(text, "http_requests_total", method="POST", path="/api/v2/chat", status="200", version="v2")
        == 1
    )
    # unknown paths are grouped, so a scanner cannot blow up label cardinality
    assert (
        _sample(text, "http_requests_total", method="GET", path="unmatched", status="404", version="v2") == 1
    )
    assert _sample(text, "http_request_duration_seconds_count", path=route, version="v2") == 3
    for bound in REQUEST_BUCKETS_S:
        _sample(text, "http_request_duration_seconds_bucket", path=route, version="v2", le=str(float(bound)))
    assert min(REQUEST_BUCKETS_S) <= 0.005 and max(REQUEST_BUCKETS_S) >= 2.0
    assert _sample(text, "recommendation_engine_latency_seconds_count", version="v2") == 3
    assert _sample(text, "process_resident_memory_bytes") > 10 * 2**20
    assert _sample(text, "canaria_demo_info", version="v2", fault="none") == 1


async def test_two_apps_in_one_process_keep_separate_registries(client_for) -> None:
    stable, canary = create_app("v1", "none", env=NO_ENV), create_app("v2", "none", env=NO_ENV)
    async with client_for(stable) as stable_client, client_for(canary) as canary_client:
        await stable_client.get("/api/v2/recommendations")
        stable_text = (await stable_client.get("/metrics")).text
        canary_text = (await canary_client.get("/metrics")).text
    route = "/api/v2/recommendations"
    assert (
        _sample(stable_text, "http_requests_total", method="GET", path=route, status="200", version="v1") == 1
    )
    assert 'version="v1"' not in canary_text
    with pytest.raises(AssertionError):
        _sample(canary_text, "http_requests_total", method="GET", path=route, status="200", version="v2")


def test_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        create_app("v2", "explode", env=NO_ENV)
