"""The audit log: one append-only row per action, each row's hash covering the one before.

Actions: `match` (a match verdict), `hold`, `block`, `decision`, `reveal`, `withdrawal`,
`quarantine`, `retro`, `user` (an account change), `signin`, `audit.pruned`, and whatever the
legal desk adds. Each row: the actor (a person's account name, or `node` / `admin-token` for
machines), the UTC time with its zone, the action, its subject (a review item, a ref), a reason.

`row_hash = sha256(prev_hash + canonical JSON of the row)`; `verify()` recomputes the chain and
names the first row that does not fit, so an edited, inserted or deleted row shows. The head
(last seq and hash) lives in its own row, updated in the appending transaction: appends
serialise on it, and a deleted last row shows too. Pruning (retention) keeps the chain checkable:
the `audit.pruned` row it appends records the last pruned seq and that row's hash (the anchor);
the first remaining row must follow it (or follow the genesis value if nothing was ever pruned),
so rows deleted at the start show as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from takeitdown.node.db import Database
from takeitdown.node.schema import audit, audit_head

GENESIS = "0" * 64


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _canonical(
    seq: int, at: datetime, actor: str, action: str, subject: Any, reason: Any, details: Any
) -> bytes:
    row = {
        "seq": seq,
        "at": _aware(at).astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "details": details,
    }
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _hash(prev: str, canonical: bytes) -> str:
    return hashlib.sha256(prev.encode() + canonical).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    first_bad: int | None = None  # seq of the first row that does not fit
    problem: str | None = None


def append(
    conn: Connection,
    actor: str,
    action: str,
    subject: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """One row in the caller's transaction: the action and its record commit together."""
    head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
    if head is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, row_hash=GENESIS))
        prev_seq, prev = 0, GENESIS
    else:
        prev_seq, prev = int(head.seq), str(head.row_hash)
    seq = prev_seq + 1
    # microsecond precision is what every database keeps, so the hash is of what is stored
    at = datetime.now(UTC)
    subject = None if subject is None else str(subject)[:256]
    actor = str(actor)[:160]
    row_hash = _hash(prev, _canonical(seq, at, actor, action, subject, reason, details))
    conn.execute(
        insert(audit).values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            reason=reason,
            details=details,
            prev_hash=prev,
            row_hash=row_hash,
        )
    )
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, row_hash=row_hash))
    return seq


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(
        self,
        actor: str,
        action: str,
        subject: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> int:
        """One row, in the caller's transaction if given (the action and its record commit together)."""
        if conn is None:
            with self.db.write() as c:
                return self._append(c, actor, action, subject, reason, details)
        return self._append(conn, actor, action, subject, reason, details)

    def _append(
        self,
        conn: Connection,
        actor: str,
        action: str,
        subject: str | None,
        reason: str | None,
        details: dict[str, Any] | None,
    ) -> int:
        return append(conn, actor, action, subject, reason, details)

    # -- reading ---------------------------------------------------------------------------------
    def rows(
        self, after: int = 0, limit: int = 100, action: str | None = None, actor: str | None = None
    ) -> list[dict[str, Any]]:
        q = select(audit).where(audit.c.seq > after)
        if action:
            q = q.where(audit.c.action == action)
        if actor:
            q = q.where(audit.c.actor == actor)
        with self.db.read() as conn:
            return [_json(r) for r in conn.execute(q.order_by(audit.c.seq).limit(limit))]

    def latest(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(audit).order_by(audit.c.seq.desc()).limit(limit)).all()
        return [_json(r) for r in rows]

    def export_jsonl(self, batch: int = 5000) -> Iterator[str]:
        """Every row as one JSON line, oldest first (with the hashes, so the copy can be verified)."""
        after = 0
        while True:
            rows = self.rows(after, batch)
            if not rows:
                return
            for r in rows:
                yield json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n"
            after = rows[-1]["seq"]

    def verify(self, batch: int = 5000) -> Verification:
        """Recompute the chain. The first remaining row must follow the anchor: the genesis value
        when nothing was pruned, else the last pruned row's hash, which the latest `audit.pruned`
        row (itself in the chain) records; so rows deleted at the start show too."""
        with self.db.read() as conn:
            head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).first()
            pruned = conn.execute(
                select(audit.c.details)
                .where(audit.c.action == "audit.pruned")
                .order_by(audit.c.seq.desc())
                .limit(1)
            ).first()
        start_seq = 1
        anchor: str | None = GENESIS
        if pruned is not None and isinstance(pruned.details, dict) and "through" in pruned.details:
            start_seq = int(pruned.details["through"]) + 1
            anchor = pruned.details.get("anchor")  # None: pruned before anchors were recorded
        prev: str | None = None
        last_seq = None
        n = 0
        after = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(audit).where(audit.c.seq > after).order_by(audit.c.seq).limit(batch)
                ).all()
            if not rows:
                break
            for r in rows:
                n += 1
                if prev is None and (r.seq != start_seq or (anchor is not None and r.prev_hash != anchor)):
                    return Verification(
                        False,
                        n,
                        int(r.seq),
                        "the log does not start where it should (rows deleted at its start)",
                    )
                if prev is not None and (r.prev_hash != prev or r.seq != last_seq + 1):  # type: ignore[operator]
                    return Verification(False, n, int(r.seq), "does not follow the row before it")
                canonical = _canonical(int(r.seq), r.at, r.actor, r.action, r.subject, r.reason, r.details)
                if _hash(r.prev_hash, canonical) != r.row_hash:
                    return Verification(False, n, int(r.seq), "its content does not match its hash")
                prev, last_seq = r.row_hash, int(r.seq)
            after = int(rows[-1].seq)
        if head is not None and (prev or GENESIS) != head.row_hash:
            return Verification(False, n, last_seq, "the log ends before its recorded head (rows deleted)")
        return Verification(True, n)

    def prune(self, retention_days: int) -> int:
        """Delete rows older than `retention_days` (0: keep for ever); the chain stays checkable."""
        if retention_days <= 0:
            return 0
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        with self.db.write() as conn:
            old = conn.execute(select(func.max(audit.c.seq)).where(audit.c.at < cutoff)).scalar()
            if not old:
                return 0
            # the anchor: the last pruned row's hash, which the first remaining row must follow
            anchor = conn.execute(select(audit.c.row_hash).where(audit.c.seq == old)).scalar()
            gone = conn.execute(delete(audit).where(audit.c.seq <= old)).rowcount
            self._append(
                conn,
                "node",
                "audit.pruned",
                None,
                f"retention {retention_days} days",
                {"through": old, "anchor": anchor},
            )
        return int(gone or 0)

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(audit)).scalar() or 0)


def _json(r: Any) -> dict[str, Any]:
    return {
        "seq": int(r.seq),
        "at": _aware(r.at).isoformat(),
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "reason": r.reason,
        "details": r.details,
        "prev_hash": r.prev_hash,
        "row_hash": r.row_hash,
    }
