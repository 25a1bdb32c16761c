"""Server-sent events: the page's live feed, fed by polling the store.

Why poll instead of listening to the controller: the controller may be another process (`canaria run`)
and the store is the one thing both share. A poll every ~0.5 s costs a few indexed SQLite reads.

Messages: `snapshot` (everything, on connect and when a new rollout becomes current) and `update`
(only what is new: status, windows, verdicts, events); a `: ping` comment keeps proxies from timing out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from canaria.state.store import Rollout
from canaria.web.context import WebContext
from canaria.web.views import event_json, snapshot, status_json, verdict_json, window_json

__all__ = ["event_stream", "sse"]

PING_EVERY_S = 15.0


def sse(event: str, data: Any) -> bytes:
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"event: {event}\ndata: {body}\n\n".encode()


class _Cursor:
    """What this client has already been sent for one rollout."""

    def __init__(self, ctx: WebContext, rollout: Rollout | None) -> None:
        self.rollout_id = rollout.id if rollout else None
        self.updated_at = rollout.updated_at if rollout else None
        store = ctx.db
        if rollout is None:
            self.event_id = self.windows = self.verdict_id = 0
            self.window_end: float | None = None
            return
        events = store.events(rollout.id)
        self.event_id = events[-1].id if events else 0
        windows = store.windows(rollout.id)
        self.windows = len(windows)
        self.window_end = windows[-1].end if windows else None
        verdicts = store.verdicts(rollout.id, last=1)
        self.verdict_id = verdicts[-1].id if verdicts else 0

    def changes(self, ctx: WebContext, rollout: Rollout) -> dict[str, Any] | None:
        store = ctx.db
        update: dict[str, Any] = {"rollout_id": rollout.id, "windows": [], "verdicts": [], "events": []}
        events = store.events(rollout.id, after_id=self.event_id)
        if events:
            self.event_id = events[-1].id
            update["events"] = [event_json(e) for e in events]
        last = store.windows(rollout.id, last=1)
        if last and last[-1].end != self.window_end:
            every = store.windows(rollout.id)
            update["windows"] = [window_json(i, w) for i, w in enumerate(every) if i >= self.windows]
            self.windows, self.window_end = len(every), every[-1].end
            fresh = [v for v in store.verdicts(rollout.id) if v.id > self.verdict_id]
            if fresh:
                self.verdict_id = fresh[-1].id
                update["verdicts"] = [verdict_json(v) for v in fresh]
        if not (events or update["windows"] or rollout.updated_at != self.updated_at):
            return None
        self.updated_at = rollout.updated_at
        update["status"] = status_json(ctx.config, store, rollout, now=ctx.now())
        update["rollout"] = rollout.to_dict()
        return update


async def event_stream(ctx: WebContext, request: Request, rollout_id: str | None) -> AsyncIterator[bytes]:
    """Follow `rollout_id`, or (None) whichever rollout is current, switching when a new one starts."""

    def pick() -> Rollout | None:
        return ctx.db.get_rollout(rollout_id) if rollout_id else ctx.current_rollout()

    rollout = pick()
    cursor = _Cursor(ctx, rollout)
    yield sse("snapshot", snapshot(ctx.config, ctx.db, rollout, now=ctx.now(), reports=ctx.reports))
    quiet = 0.0
    while True:
        stopping = False
        if ctx.stopping is not None:
            try:
                await asyncio.wait_for(ctx.stopping.wait(), timeout=ctx.poll_interval)
                stopping = True
            except TimeoutError:
                pass
        else:
            await asyncio.sleep(ctx.poll_interval)
        if await request.is_disconnected():
            return
        rollout = pick()
        if stopping:
            # the server is shutting down — in `canaria demo --dashboard` right after the rollout ended:
            # send what is new one last time, so open pages show how it ended, then end the response
            if rollout is not None and rollout.id == cursor.rollout_id:
                final = cursor.changes(ctx, rollout)
                if final is not None:
                    yield sse("update", final)
            return
        if rollout is not None and rollout.id != cursor.rollout_id:
            cursor = _Cursor(ctx, rollout)
            yield sse("snapshot", snapshot(ctx.config, ctx.db, rollout, now=ctx.now(), reports=ctx.reports))
            quiet = 0.0
            continue
        update = cursor.changes(ctx, rollout) if rollout is not None else None
        if update is not None:
            yield sse("update", update)
            quiet = 0.0
        else:
            quiet += ctx.poll_interval
            if quiet >= PING_EVERY_S:
                yield b": ping\n\n"
                quiet = 0.0
