"""Events for the platform: a durable outbox that webhooks.py delivers, signed, at least once.

Call `emit(conn, type, data)` inside the transaction that does what the event tells of, so an
event exists exactly when its action committed (a crash loses neither or both). `EventOutbox`
adds the calls the sender and the console need: what is due, what was delivered, dead letters.

Event types are protocol.WEBHOOK_EVENT_TYPES; `data` is JSON. Uploader account ids the platform
sent with a match request travel in `data["account"]`; nothing the person submitted ever does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from takeitdown.node.db import Database
from takeitdown.node.schema import events
from takeitdown.protocol import WEBHOOK_EVENT_TYPES


def _now() -> datetime:
    return datetime.now(UTC)


def emit(conn: Connection, event_type: str, data: dict[str, Any]) -> str:
    """Queue one event in the caller's transaction; returns its id (receivers deduplicate by it)."""
    if event_type not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event_id = str(uuid.uuid4())
    now = _now()
    conn.execute(
        insert(events).values(
            event_id=event_id,
            type=event_type,
            payload=data,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    return event_id


def body_of(row: Any) -> dict[str, Any]:
    """The JSON a receiver gets for one outbox row."""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return {"id": row.event_id, "type": row.type, "created_at": created.isoformat(), "data": row.payload}


class EventOutbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def emit(self, event_type: str, data: dict[str, Any], conn: Connection | None = None) -> str:
        if conn is not None:
            return emit(conn, event_type, data)
        with self.db.write() as c:
            return emit(c, event_type, data)

    def due(self, limit: int = 50) -> list[Any]:
        """Undelivered, not dead, whose next attempt time has come; oldest first."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(events)
                    .where(
                        events.c.delivered_at.is_(None),
                        events.c.dead_at.is_(None),
                        events.c.next_attempt_at <= _now(),
                    )
                    .order_by(events.c.id)
                    .limit(limit)
                ).all()
            )

    def delivered(self, row_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(events)
                .where(events.c.id == row_id)
                .values(delivered_at=_now(), attempts=events.c.attempts + 1, last_error=None)
            )

    def failed(self, row_id: int, error: str, retry_in: float | None) -> None:
        """One failed attempt: retry after `retry_in` seconds, or dead-letter it (None)."""
        now = _now()
        values: dict[str, Any] = {"attempts": events.c.attempts + 1, "last_error": error[:500]}
        if retry_in is None:
            values["dead_at"] = now
        else:
            values["next_attempt_at"] = now + timedelta(seconds=retry_in)
        with self.db.write() as conn:
            conn.execute(update(events).where(events.c.id == row_id).values(**values))

    def requeue(self, row_id: int) -> bool:
        """A dead letter back in the queue (the console's "retry"); False if there is none."""
        with self.db.write() as conn:
            done = conn.execute(
                update(events)
                .where(events.c.id == row_id, events.c.dead_at.is_not(None), events.c.delivered_at.is_(None))
                .values(dead_at=None, attempts=0, next_attempt_at=_now())
            )
            return bool(done.rowcount)

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(events).where(events.c.dead_at.is_not(None)).order_by(events.c.id.desc()).limit(limit)
            ).all()
        return [
            {
                **body_of(r),
                "row": int(r.id),
                "attempts": int(r.attempts),
                "last_error": r.last_error,
                "dead_at": _aware(r.dead_at).isoformat(),
            }
            for r in rows
        ]

    def all_events(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(events).order_by(events.c.id).limit(limit)).all()
        return [{**body_of(r), "delivered": r.delivered_at is not None} for r in rows]

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    func.count().filter(events.c.delivered_at.is_not(None)),
                    func.count().filter(events.c.dead_at.is_not(None)),
                    func.count().filter(events.c.delivered_at.is_(None), events.c.dead_at.is_(None)),
                ).select_from(events)
            ).one()
        return {"delivered": int(rows[0]), "dead": int(rows[1]), "pending": int(rows[2])}


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
