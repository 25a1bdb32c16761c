"""The store's tables, and the columns added since a release (added to an older database when it is opened)."""

from __future__ import annotations

import sqlite3

__all__ = ["ADDED_COLUMNS", "SCHEMA", "migrate"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    phase TEXT NOT NULL,
    stage_index INTEGER NOT NULL DEFAULT 0,
    traffic REAL NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    stage_started_at REAL,
    ended_at REAL,
    outcome TEXT,
    reason TEXT,
    paused_from TEXT,
    approved_stage INTEGER NOT NULL DEFAULT -1,
    last_report_at REAL,
    plan_json TEXT NOT NULL DEFAULT '{}',
    platform_json TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_rollout ON rollouts(service) WHERE active = 1;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL DEFAULT 'info',
    actor TEXT NOT NULL DEFAULT 'canaria',
    message TEXT NOT NULL DEFAULT '',
    data_json TEXT NOT NULL DEFAULT '{}',
    text_json TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_rollout ON events(rollout_id, id);
CREATE TABLE IF NOT EXISTS windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    at REAL NOT NULL,
    data_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS windows_by_rollout ON windows(rollout_id, id);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id TEXT NOT NULL,
    at REAL NOT NULL,
    stage_index INTEGER NOT NULL,
    traffic REAL NOT NULL,
    decision TEXT NOT NULL,
    score INTEGER NOT NULL,
    data_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_rollout ON verdicts(rollout_id, id);
CREATE TABLE IF NOT EXISTS chat_messages (
    rollout_id TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    conversation TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    PRIMARY KEY (rollout_id, channel_name)
);
"""

# Columns added after a release: (table, column, definition). A database written by an older canaria gets them
# on open (SQLite's ADD COLUMN keeps every row; the default fills the old ones).
ADDED_COLUMNS = (("events", "text_json", "TEXT NOT NULL DEFAULT ''"),)


def migrate(conn: sqlite3.Connection) -> None:
    """Add the columns an older canaria did not write; idempotent, and safe when two processes open at once."""
    for table, column, definition in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()}
        if column not in present:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            except sqlite3.OperationalError as exc:  # another process added it a moment ago
                if "duplicate column" not in str(exc):
                    raise
