"""The sample service's business logic: a mentoring-topic recommender and a keyword chat replier.

It is small but real: scores are computed, not canned, so the two versions differ in behaviour
(v2 re-ranks for diversity) and the latency the engine reports is the time it actually spent.
Everything is deterministic for a given user, so tests and the demo are reproducible.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["TOP_K", "ChatReplier", "ProfileCache", "RecommendationEngine", "Topic", "TopicStore"]

TOP_K = 5
_DIMENSIONS = 16
_POPULARITY_WEIGHT = 0.35
_DIVERSITY_PENALTY = 0.18

# (topic_id, title, category, popularity 0..1) — the ion-api mentoring catalogue in miniature.
_CATALOGUE: tuple[tuple[str, str, str, float], ...] = (
    ("career-switch", "Switching careers without starting over", "career", 0.82),
    ("career-ladder", "Reading the engineering career ladder", "career", 0.64),
    ("career-first-job", "Your first job: the first 90 days", "career", 0.71),
    ("career-negotiation", "Negotiating an offer", "career", 0.77),
    ("interview-behavioural", "Behavioural interviews with STAR stories", "interview", 0.88),
    ("interview-system-design", "System design interviews", "interview", 0.91),
    ("interview-coding", "Live coding without freezing", "interview", 0.85),
    ("interview-mock", "Mock interview with a mentor", "interview", 0.69),
    ("resume-impact", "Writing impact-first resume bullets", "resume", 0.8),
    ("resume-portfolio", "A portfolio that gets read", "resume", 0.62),
    ("resume-linkedin", "A LinkedIn profile recruiters answer", "resume", 0.58),
    ("leadership-first-lead", "Becoming a team lead", "leadership", 0.66),
    ("leadership-feedback", "Giving feedback that lands", "leadership", 0.6),
    ("leadership-1on1", "Running useful one-on-ones", "leadership", 0.55),
    ("learning-roadmap", "A 6-month learning roadmap", "learning", 0.79),
    ("learning-python", "Python beyond the basics", "learning", 0.83),
    ("learning-cloud", "Cloud fundamentals for developers", "learning", 0.74),
    ("learning-ml", "Machine learning, the practical parts", "learning", 0.81),
    ("wellbeing-burnout", "Spotting and recovering from burnout", "wellbeing", 0.76),
    ("wellbeing-impostor", "Living with impostor syndrome", "wellbeing", 0.7),
    ("wellbeing-balance", "Work-life balance in on-call teams", "wellbeing", 0.57),
    ("networking-mentors", "Finding a mentor", "networking", 0.68),
    ("networking-community", "Contributing to open source communities", "networking", 0.61),
    ("networking-conference", "Getting value from conferences", "networking", 0.49),
)


def _unit_vector(seed: str) -> tuple[float, ...]:
    """A deterministic pseudo-embedding: hash bytes mapped to [-1, 1] and normalised."""
    digest = hashlib.blake2b(seed.encode("utf-8"), digest_size=_DIMENSIONS).digest()
    raw = [(byte - 127.5) / 127.5 for byte in digest]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return tuple(x / norm for x in raw)


@dataclass(frozen=True, slots=True)
class Topic:
    topic_id: str
    title: str
    category: str
    popularity: float
    embedding: tuple[float, ...]


class TopicStore:
    """The "database" component: an in-memory SQLite catalogue, so the health probe runs a real query."""

    def __init__(self) -> None:
        # check_same_thread=False: FastAPI may run sync work in a threadpool; access is read-only.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE TABLE topics (topic_id TEXT PRIMARY KEY, title TEXT, category TEXT, popularity REAL)"
        )
        self._db.executemany("INSERT INTO topics VALUES (?, ?, ?, ?)", _CATALOGUE)
        self._db.commit()

    def load(self) -> list[Topic]:
        rows = self._db.execute("SELECT topic_id, title, category, popularity FROM topics ORDER BY topic_id")
        return [Topic(t, title, cat, pop, _unit_vector(f"topic:{t}")) for t, title, cat, pop in rows]

    def probe(self) -> int:
        """Count the catalogue rows; raises sqlite3.Error if the database is unusable."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM topics").fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()


class ProfileCache:
    """The "cache" component: a bounded LRU of user embeddings (constant memory under any user count)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def profile(self, user_id: str) -> tuple[float, ...]:
        vector = self._items.get(user_id)
        if vector is not None:
            self._items.move_to_end(user_id)
            self.hits += 1
            return vector
        self.misses += 1
        vector = _unit_vector(f"user:{user_id}")
        self._items[user_id] = vector
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return vector

    def probe(self) -> bool:
        """Write and read back a sentinel entry, as a real cache health check would."""
        key = "__health__"
        self._items[key] = (1.0,)
        ok = self._items.pop(key, None) == (1.0,)
        return ok

    def __len__(self) -> int:
        return len(self._items)


class RecommendationEngine:
    """Scores every topic for a user and returns the top K.

    v1 ranks by affinity + popularity; v2 additionally penalises repeated categories (a greedy
    diversity re-rank), which is the kind of algorithm change a canary exists to try out.
    """

    def __init__(self, version: str, store: TopicStore, cache: ProfileCache) -> None:
        self.version = version
        self.algorithm = "affinity-v1" if version == "v1" else "affinity-diverse-v2"
        self._topics = store.load()
        self._cache = cache

    def recommend(self, user_id: str, k: int = TOP_K) -> list[dict[str, Any]]:
        user = self._cache.profile(user_id)
        scored = [
            (sum(u * t for u, t in zip(user, topic.embedding)) + _POPULARITY_WEIGHT * topic.popularity, topic)
            for topic in self._topics
        ]
        if self.version == "v1":
            best = heapq.nlargest(k, scored, key=lambda pair: pair[0])
        else:
            best = self._diverse(scored, k)
        return [
            {"topic_id": t.topic_id, "title": t.title, "category": t.category, "score": round(score, 4)}
            for score, t in best
        ]

    @staticmethod
    def _diverse(scored: list[tuple[float, Topic]], k: int) -> list[tuple[float, Topic]]:
        remaining = list(scored)
        chosen: list[tuple[float, Topic]] = []
        used: dict[str, int] = {}
        while remaining and len(chosen) < k:
            index, (score, topic) = max(
                enumerate(remaining),
                key=lambda item: item[1][0] - _DIVERSITY_PENALTY * used.get(item[1][1].category, 0),
            )
            adjusted = score - _DIVERSITY_PENALTY * used.get(topic.category, 0)
            chosen.append((adjusted, topic))
            used[topic.category] = used.get(topic.category, 0) + 1
            remaining.pop(index)
        return chosen

    def probe(self) -> float:
        """Run one recommendation for a synthetic user and return its latency in ms."""
        start = time.perf_counter()
        self.recommend("__health__")
        return (time.perf_counter() - start) * 1000.0

    def topics_in(self, category: str, user_id: str, k: int = 3) -> list[str]:
        """Titles of the user's best topics in one category (used to ground chat replies)."""
        user = self._cache.profile(user_id)
        in_category = [t for t in self._topics if t.category == category]
        best = heapq.nlargest(
            k, in_category, key=lambda t: sum(u * e for u, e in zip(user, t.embedding)) + t.popularity
        )
        return [t.title for t in best]


# intent -> (keywords, reply template). Korean keywords are matched as prefixes, because particles
# attach to the noun ("면접이", "이력서를").
_INTENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "interview": (
        ("interview", "interviews", "면접", "coding test", "코딩테스트"),
        "Interviews reward rehearsal. Pick one story per competency and practise it aloud.",
    ),
    "resume": (
        ("resume", "cv", "portfolio", "linkedin", "이력서", "포트폴리오"),
        "Lead every resume bullet with the outcome, then the action, then the tool.",
    ),
    "career": (
        ("career", "job", "promotion", "salary", "offer", "커리어", "진로", "이직", "연봉"),
        "Career moves go better with a written goal for the next 12 months; let's start there.",
    ),
    "wellbeing": (
        ("stress", "stressed", "burnout", "tired", "anxious", "스트레스", "번아웃", "피곤"),
        "That sounds heavy. Protect your sleep first; we can plan the rest in small steps.",
    ),
    "learning": (
        ("learn", "learning", "study", "course", "python", "cloud", "공부", "학습", "강의"),
        "A steady 30 minutes a day beats a weekend sprint. Here is where I would begin.",
    ),
    "leadership": (
        ("lead", "leader", "manager", "feedback", "team", "리더", "팀장", "피드백"),
        "Good leads make expectations explicit. Try writing down what 'done' means for your team.",
    ),
    "networking": (
        ("mentor", "network", "networking", "community", "conference", "멘토", "네트워킹", "커뮤니티"),
        "Most mentoring starts with one specific question. Who has solved the problem you have?",
    ),
}
_GREETINGS = ("hello", "hi", "hey", "안녕", "안녕하세요")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def _matches(token: str, keyword: str) -> bool:
    if keyword.isascii():
        return token == keyword
    return token.startswith(keyword)


class ChatReplier:
    """Answers a chat message by keyword intent, with topic suggestions from the engine."""

    def __init__(self, engine: RecommendationEngine) -> None:
        self._engine = engine

    def reply(self, message: str, user_id: str) -> dict[str, Any]:
        text = message.lower()
        tokens = _TOKEN.findall(text)
        hits: dict[str, int] = {}
        for intent, (keywords, _) in _INTENTS.items():
            count = sum(
                (kw in text) if " " in kw else any(_matches(tok, kw) for tok in tokens) for kw in keywords
            )
            if count:
                hits[intent] = count
        if hits:
            intent = max(hits, key=lambda name: (hits[name], name))
            confidence = hits[intent] / sum(hits.values())
            reply = _INTENTS[intent][1]
            suggestions = self._engine.topics_in(intent, user_id)
        elif any(_matches(tok, g) for tok in tokens for g in _GREETINGS):
            intent, confidence = "greeting", 1.0
            reply = "Hello! Tell me what you are working towards and I will suggest where to start."
            suggestions = []
        else:
            intent, confidence = "fallback", 0.0
            reply = "I'm not sure I follow. Are you asking about interviews, your resume or learning?"
            suggestions = []
        return {
            "reply": reply,
            "intent": intent,
            "confidence": round(confidence, 3),
            "suggested_topics": suggestions,
        }
