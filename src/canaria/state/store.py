"""SQLite store (WAL): rollouts, the append-only event log, analysis windows and verdicts.

One file per state dir; every write is its own short transaction so a `kill -9` loses at most the
tick in flight. A partial unique index makes "one active rollout per service" a database fact.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaria.analysis.verdict import Verdict
from canaria.analysis.window import Window
from canaria.errors import RolloutActiveError, StoreError
from canaria.state.schema import SCHEMA, migrate

__all__ = ["Store", "Rollout", "Event", "StoredVerdict", "TERMINAL_PHASES"]

TERMINAL_PHASES = ("succeeded", "rolled_back", "failed", "aborted")


@dataclass
class Rollout:
    id: str
    service: str
    phase: str
    stage_index: int
    traffic: float
    active: bool
    created_at: float
    updated_at: float
    stage_started_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    reason: str | None = None
    paused_from: str | None = None
    approved_stage: int = -1
    last_report_at: float | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    platform: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout_id": self.id,
            "service": self.service,
            "phase": self.phase,
            "stage_index": self.stage_index,
            "traffic": self.traffic,
            "active": self.active,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "stage_started_at": self.stage_started_at,
            "ended_at": self.ended_at,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass
class Event:
    id: int
    rollout_id: str | None
    at: float
    kind: str
    severity: str
    actor: str
    message: str
    data: dict[str, Any]
    text: dict[str, Any] | None = None  # the message as a catalogue key + params (canaria.i18n.text); None: old

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "rollout_id": self.rollout_id,
            "at": self.at,
            "kind": self.kind,
            "severity": self.severity,
            "actor": self.actor,
            "message": self.message,
            "data": self.data,
        }
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass
class StoredVerdict:
    id: int
    rollout_id: str
    at: float
    stage_index: int
    traffic: float
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        data = self.verdict.to_dict()
        return {"at": self.at, "stage_index": self.stage_index, "traffic": self.traffic, **data}


_ROLLOUT_COLUMNS = (
    "id service phase stage_index traffic active created_at updated_at stage_started_at ended_at outcome "
    "reason paused_from approved_stage last_report_at plan_json platform_json"
).split()


class Store:
    """Repository over one SQLite file. Safe to open from several processes (WAL, busy timeout)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        """`busy_timeout`: how long a write waits for another process's transaction before it fails."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=busy_timeout, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._conn.executescript(SCHEMA)
            migrate(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the state store at {self.path}: {exc}") from None

    @classmethod
    def for_state_dir(cls, state_dir: Path) -> Store:
        return cls(state_dir / "canaria.db")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; any SQLite failure (locked past the busy timeout, disk full) is a
        StoreError naming the cause, and nothing of the transaction is kept."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_quietly()
                raise
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise StoreError(f"state store error at {self.path}: {exc}") from None

    def _rollback_quietly(self) -> None:
        """SQLite may have rolled back already (disk full); the original error is the one to report."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    # ------------------------------------------------------------ rollouts
    def create_rollout(
        self, *, service: str, now: float, plan: dict[str, Any], platform: dict[str, Any] | None = None
    ) -> Rollout:
        rollout_id = f"{service}-{uuid.uuid4().hex[:8]}"
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO rollouts (id, service, phase, created_at, updated_at, plan_json, platform_json)"
                    " VALUES (?, ?, 'pending', ?, ?, ?, ?)",
                    (rollout_id, service, now, now, json.dumps(plan), json.dumps(platform or {})),
                )
        except sqlite3.IntegrityError:
            active = self.active_rollout(service)
            raise RolloutActiveError(
                f"service {service} already has an active rollout"
                + (f" ({active.id}, phase {active.phase})" if active else "")
                + "; finish it, or `canaria rollback` it first"
            ) from None
        rollout = self.get_rollout(rollout_id)
        assert rollout is not None
        return rollout

    def _row_to_rollout(self, row: sqlite3.Row) -> Rollout:
        return Rollout(
            id=row["id"],
            service=row["service"],
            phase=row["phase"],
            stage_index=row["stage_index"],
            traffic=row["traffic"],
            active=bool(row["active"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            stage_started_at=row["stage_started_at"],
            ended_at=row["ended_at"],
            outcome=row["outcome"],
            reason=row["reason"],
            paused_from=row["paused_from"],
            approved_stage=row["approved_stage"],
            last_report_at=row["last_report_at"],
            plan=json.loads(row["plan_json"]),
            platform=json.loads(row["platform_json"]),
        )

    def get_rollout(self, rollout_id: str) -> Rollout | None:
        row = self._conn.execute("SELECT * FROM rollouts WHERE id = ?", (rollout_id,)).fetchone()
        return self._row_to_rollout(row) if row else None

    def active_rollout(self, service: str) -> Rollout | None:
        row = self._conn.execute(
            "SELECT * FROM rollouts WHERE service = ? AND active = 1", (service,)
        ).fetchone()
        return self._row_to_rollout(row) if row else None

    def latest_rollout(self, service: str | None = None) -> Rollout | None:
        if service:
            row = self._conn.execute(
                "SELECT * FROM rollouts WHERE service = ? ORDER BY created_at DESC LIMIT 1", (service,)
            ).fetchone()
        else:
            row = self._conn.execute("SELECT * FROM rollouts ORDER BY created_at DESC LIMIT 1").fetchone()
        return self._row_to_rollout(row) if row else None

    def list_rollouts(self, service: str | None = None, limit: int = 50) -> list[Rollout]:
        if service:
            rows = self._conn.execute(
                "SELECT * FROM rollouts WHERE service = ? ORDER BY created_at DESC LIMIT ?", (service, limit)
            ).fetchall()
        else:
            rows = self._conn.execute(
                "SELECT * FROM rollouts ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [self._row_to_rollout(r) for r in rows]

    def update_rollout(self, rollout_id: str, *, now: float, **fields: Any) -> Rollout:
        """Update columns; `plan`/`platform` dicts are stored as JSON. Ending phases clear `active`."""
        values: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("plan", "platform"):
                values[f"{key}_json"] = json.dumps(value)
            elif key in _ROLLOUT_COLUMNS:
                values[key] = value
            else:
                raise ValueError(f"unknown rollout field {key}")
        if values.get("phase") in TERMINAL_PHASES:
            values["active"] = 0
            values.setdefault("ended_at", now)
        values["updated_at"] = now
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as conn:
            conn.execute(f"UPDATE rollouts SET {assignments} WHERE id = ?", (*values.values(), rollout_id))
        rollout = self.get_rollout(rollout_id)
        if rollout is None:
            raise StoreError(f"rollout {rollout_id} vanished from the store")
        return rollout

    # ------------------------------------------------------------ events
    def add_event(
        self,
        kind: str,
        *,
        at: float,
        rollout_id: str | None = None,
        severity: str = "info",
        actor: str = "canaria",
        message: str = "",
        data: dict[str, Any] | None = None,
        text: dict[str, Any] | None = None,
    ) -> Event:
        """`message` is the English text; `text` the same as a catalogue key + params, for other languages."""
        text_json = json.dumps(text, ensure_ascii=False, default=str) if text is not None else ""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO events (rollout_id, at, kind, severity, actor, message, data_json, text_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rollout_id, at, kind, severity, actor, message, json.dumps(data or {}, default=str), text_json),
            )
            event_id = int(cur.lastrowid or 0)
        stored = json.loads(text_json) if text_json else None
        return Event(event_id, rollout_id, at, kind, severity, actor, message, data or {}, stored)

    def events(
        self, rollout_id: str | None = None, *, after_id: int = 0, kinds: tuple[str, ...] = (), limit: int = 10_000
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE id > ?"
        args: list[Any] = [after_id]
        if rollout_id is not None:
            sql += " AND rollout_id = ?"
            args.append(rollout_id)
        if kinds:
            sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            args.extend(kinds)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        return [
            Event(r["id"], r["rollout_id"], r["at"], r["kind"], r["severity"], r["actor"], r["message"],
                  json.loads(r["data_json"]), json.loads(r["text_json"]) if r["text_json"] else None)
            for r in self._conn.execute(sql, args).fetchall()
        ]

    # ------------------------------------------------------------ chat messages edited in place
    def chat_message(self, rollout_id: str, channel_name: str) -> tuple[str, str] | None:
        """The (conversation, message ts) a chat channel posted for this rollout, to edit after a restart."""
        row = self._conn.execute(
            "SELECT conversation, message_ts FROM chat_messages WHERE rollout_id = ? AND channel_name = ?",
            (rollout_id, channel_name),
        ).fetchone()
        return (row["conversation"], row["message_ts"]) if row else None

    def save_chat_message(self, rollout_id: str, channel_name: str, *, conversation: str, message_ts: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO chat_messages (rollout_id, channel_name, conversation, message_ts) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(rollout_id, channel_name) DO UPDATE SET conversation = excluded.conversation,"
                " message_ts = excluded.message_ts",
                (rollout_id, channel_name, conversation, message_ts),
            )

    # ------------------------------------------------------------ windows and verdicts
    def add_window(self, rollout_id: str, window: Window) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO windows (rollout_id, at, data_json) VALUES (?, ?, ?)",
                (rollout_id, window.end, json.dumps(window.to_dict())),
            )

    def windows(self, rollout_id: str, *, last: int | None = None) -> list[Window]:
        if last is None:
            rows = self._conn.execute(
                "SELECT data_json FROM windows WHERE rollout_id = ? ORDER BY id", (rollout_id,)
            ).fetchall()
        else:
            rows = self._conn.execute(
                "SELECT data_json FROM (SELECT id, data_json FROM windows WHERE rollout_id = ?"
                " ORDER BY id DESC LIMIT ?) ORDER BY id",
                (rollout_id, last),
            ).fetchall()
        return [Window.from_dict(json.loads(r["data_json"])) for r in rows]

    def add_verdict(
        self, rollout_id: str, verdict: Verdict, *, at: float, stage_index: int, traffic: float
    ) -> StoredVerdict:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO verdicts (rollout_id, at, stage_index, traffic, decision, score, data_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rollout_id, at, stage_index, traffic, verdict.decision.value, verdict.score,
                 json.dumps(verdict.to_dict())),
            )
            verdict_id = int(cur.lastrowid or 0)
        return StoredVerdict(verdict_id, rollout_id, at, stage_index, traffic, verdict)

    def verdicts(self, rollout_id: str, *, last: int | None = None) -> list[StoredVerdict]:
        sql = "SELECT * FROM verdicts WHERE rollout_id = ? ORDER BY id"
        rows = self._conn.execute(sql, (rollout_id,)).fetchall()
        if last is not None:
            rows = rows[-last:]
        return [
            StoredVerdict(r["id"], r["rollout_id"], r["at"], r["stage_index"], r["traffic"],
                          Verdict.from_dict(json.loads(r["data_json"])))
            for r in rows
        ]
