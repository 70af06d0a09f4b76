"""The review desk behind the console: the queue, decisions with a person and a reason, reveals,
retro matches from the inventory, and the events and audit rows each of them leaves.

`ReviewDesk` wraps a running `Node`'s store; every action here writes its audit row (and its
webhook event) in the same transaction as the action where the store allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from takeitdown.node.audit import AuditLog
from takeitdown.node.events import EventOutbox, emit
from takeitdown.node.inventory import NodeInventory, RetroHit
from takeitdown.node.schema import review_items
from takeitdown.node.store import Change, NodeStore, ReviewError
from takeitdown.protocol import ProblemCode

log = logging.getLogger("takeitdown.node.console")

DECISIONS = ("remove", "not_a_match", "escalate")
OPEN_STATES = ("pending", "escalated")
MAX_REASON = 2000


def _aware(t: datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()


def item_json(r: Any, joined: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A review item for the console and the API, times with their zone. `joined`: the refs of
    the same content joined to it (store.join_review); `refs` and `accounts` name them all."""
    m = r._mapping
    joined = joined or []
    refs = list(dict.fromkeys([r.ref] * bool(r.ref) + [j["ref"] for j in joined]))
    accounts = list(dict.fromkeys(a for a in [m.get("account")] + [j.get("account") for j in joined] if a))
    return {
        "id": int(r.id),
        "source": r.source,
        "ref": r.ref,
        "md5": r.md5,
        "pdq": r.pdq,
        "matches": r.matches or [],
        "status": r.status,
        "priority": int(m.get("priority") or 0),
        "created_at": _aware(r.created_at),
        "decided_at": _aware(r.decided_at),
        "decided_by": m.get("decided_by"),
        "decision_reason": m.get("decision_reason"),
        "reason": m.get("reason"),
        "account": m.get("account"),
        "joined": joined,
        "refs": refs,
        "accounts": accounts,
    }


class ReviewDesk:
    def __init__(
        self, store: NodeStore, audit: AuditLog, events: EventOutbox, inventory: NodeInventory
    ) -> None:
        self.store = store
        self.db = store.db
        self.audit = audit
        self.events = events
        self.inventory = inventory

    # -- the queue ------------------------------------------------------------------------------
    def queue(
        self,
        status: str = "open",
        source: str | None = None,
        trust: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Highest priority first (held uploads, legal deadlines), then oldest first."""
        q = select(review_items)
        if status == "open":
            q = q.where(review_items.c.status.in_(OPEN_STATES))
        elif status != "all":
            q = q.where(review_items.c.status == status)
        if source:
            q = q.where(review_items.c.source == source)
        prio = review_items.c.get("priority")
        order: list[Any] = [review_items.c.created_at, review_items.c.id]
        if prio is not None:
            order.insert(0, prio.desc())
        # trust is a property of the matches (JSON): filtered here, over a bounded window
        with self.db.read() as conn:
            rows = conn.execute(q.order_by(*order).limit(limit if not trust else limit * 10)).all()
            items = self.store.review_json(conn, rows)
        if trust:
            items = [i for i in items if any(m.get("trust") == trust for m in i["matches"])][:limit]
        return items

    def get(self, review_id: int) -> dict[str, Any]:
        if not 0 < review_id < 2**63:  # beyond the database's integers: cannot exist
            raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
        with self.db.read() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
            if row is None:
                raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
            return self.store.review_json(conn, [row])[0]

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.db.read() as conn:
            rows = conn.execute(
                select(review_items.c.status, func.count()).group_by(review_items.c.status)
            ).all()
        return {str(s): int(n) for s, n in rows}

    # -- decisions ------------------------------------------------------------------------------
    def check_decision(self, decision: str, person: str | None, reason: str | None) -> None:
        if not person:
            raise ReviewError(
                422,
                "A decision needs the person who made it: sign in, send your own token, or (with the "
                'admin token) name the reviewer in "reviewer".',
                ProblemCode.REVIEW_NO_PERSON,
            )
        if decision not in DECISIONS:
            raise ReviewError(400, 'decision must be "remove", "not_a_match" or "escalate"')
        if reason is not None and len(reason) > MAX_REASON:
            raise ReviewError(422, f"A reason is at most {MAX_REASON} characters.", ProblemCode.BODY_SHAPE)
        if decision == "escalate" and not (reason or "").strip():
            raise ReviewError(422, "Say why you escalate it.", ProblemCode.REVIEW_REASON_MISSING)

    def escalate(self, review_id: int, person: str, reason: str) -> dict[str, Any]:
        if not 0 < review_id < 2**63:
            raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
        with self.db.write() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
            if row is None:
                raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
            if row.status != "pending":
                raise ReviewError(
                    409, f"Review item {review_id} is {row.status}, not pending.", ProblemCode.REVIEW_CONFLICT
                )
            conn.execute(
                update(review_items)
                .where(review_items.c.id == review_id)
                .values(status="escalated", decided_by=person, decision_reason=reason)
            )
            self.audit.append(
                person, "decision", f"review:{review_id}", reason, {"decision": "escalate"}, conn
            )
        return self.get(review_id)

    def record_decision(
        self, conn: Connection, item: dict[str, Any], decision: str, person: str, reason: str | None
    ) -> None:
        """In the deciding transaction: who and why on the item, the audit row, the event (with
        every ref and account joined to the item, since the decision settles them all)."""
        rid = item["id"]
        conn.execute(
            update(review_items)
            .where(review_items.c.id == rid)
            .values(decided_by=person, decision_reason=reason)
        )
        refs = item.get("refs") or []
        self.audit.append(
            person,
            "decision",
            f"review:{rid}",
            reason,
            {"decision": decision, "ref": item.get("ref"), "refs": refs[:20], "source": item.get("source")},
            conn,
        )
        emit(
            conn,
            "review.decided",
            {
                "review_id": rid,
                "decision": decision,
                "ref": item.get("ref"),
                "refs": refs,
                "joined": item.get("joined") or [],
                "source": item.get("source"),
                "account": item.get("account"),
                "accounts": item.get("accounts") or [],
                "entry_ids": sorted({m["entry_id"] for m in item.get("matches", []) if m.get("entry_id")}),
                "decided_by": person,
            },
        )

    def reveal(self, review_id: int, person: str) -> dict[str, Any]:
        item = self.get(review_id)
        self.audit.append(person, "reveal", f"review:{review_id}", None, {"ref": item["ref"]})
        return item

    # -- uploads ----------------------------------------------------------------------------------
    def upload_acted(
        self,
        conn: Connection,
        verdict: str,
        ref: str | None,
        account: str | None,
        matches: list[dict[str, Any]],
        review_id: int | None,
    ) -> None:
        """In the upload's transaction: its audit row and, for block and hold, its event."""
        kind = {"block": "block", "hold": "hold"}.get(verdict, "match")
        self.audit.append(
            "node",
            kind,
            f"ref:{ref}" if ref else None,
            f"upload {verdict}",
            {"review_id": review_id, "matches": matches[:20], "account": account},
            conn,
        )
        if verdict in ("block", "hold"):
            emit(
                conn,
                "upload.blocked" if verdict == "block" else "upload.held",
                {
                    "ref": ref,
                    "account": account,
                    "review_id": review_id,
                    "entry_ids": sorted({m["entry_id"] for m in matches if m.get("entry_id")}),
                    "matches": matches[:20],
                },
            )

    def find_same_content(self, md5: str | None, pdq: str | None, source: str | None = None) -> int | None:
        """An open review item for the same content (same MD5 or same PDQ), to join instead of adding."""
        with self.db.read() as conn:
            return self.store.same_content(conn, md5, pdq, source)

    # -- retro matches -------------------------------------------------------------------------------
    def retro(self, changes: Sequence[Change]) -> list[int]:
        """Entries that joined the list, against the inventory; hits join the queue as `retro`."""
        added = [c.entry for c in changes if c.op == "add"]
        if not added:
            return []
        hits = self.inventory.match_entries(added)
        return self.record_hits(hits)

    def record_hits(self, hits: Sequence[RetroHit]) -> list[int]:
        """Each hosted item hit joins an open review item of the same content (of any source),
        its ref kept with it, or makes a new `retro` item; returns the new items' ids."""
        by_item: dict[tuple[str, str], list[RetroHit]] = {}
        for h in hits:
            by_item.setdefault((h.source, h.ref), []).append(h)
        made: list[int] = []
        for (_src, ref), group in by_item.items():
            first = group[0]
            matches = [h.match_json() for h in group]
            with self.db.write() as conn:
                rid = self.store.same_content(conn, first.md5, first.pdq)
                if rid is None or not self.store.join_review(conn, rid, "retro", ref, matches):
                    rid = self.store.add_review("retro", ref, first.md5, first.pdq, matches, conn)
                    conn.execute(
                        update(review_items)
                        .where(review_items.c.id == rid)
                        .values(inventory_id=first.inventory_id)
                    )
                    made.append(rid)
                self.audit.append(
                    "node",
                    "retro",
                    f"ref:{ref}",
                    "a new entry matches hosted content",
                    {"review_id": rid, "matches": matches[:20]},
                    conn,
                )
                emit(conn, "retro.found", {"ref": ref, "review_id": rid, "matches": matches[:20]})
        if hits:
            log.info("retro-matching: %d hits on %d hosted items", len(hits), len(by_item))
        return made
