"""Everything the node keeps in its database, one method per operation."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from takeitdown.node.db import Database
from takeitdown.node.schema import block_list, entries, outbox, review_items, scan_results, sync_state
from takeitdown.protocol import FeedEntry, InvalidFeedEntry, Outcome, ProblemCode

log = logging.getLogger("takeitdown.node")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Entry:
    """One live registry entry as the node stores it."""

    entry_id: int
    type: str
    value: str
    quality: int | None = None
    frames: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Change:
    """What a feed page did to the live set; the index applies these after the commit."""

    op: str  # "add" | "remove"
    entry: Entry


class ReviewError(Exception):
    def __init__(self, status: int, detail: str, code: ProblemCode = ProblemCode.BODY_SHAPE) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code


def _valid(e: dict[str, Any]) -> Entry | None:
    """A feed `add` entry checked like every other hash on the way in (protocol.FeedEntry);
    None if unusable."""
    try:
        fe = FeedEntry.parse(e)
    except InvalidFeedEntry as exc:
        log.warning("feed entry %s skipped: %s", e.get("entry_id"), exc)
        return None
    frames = None if fe.frames is None else [f.to_json() for f in fe.frames]
    return Entry(fe.entry_id, fe.type, fe.value, fe.quality, frames)


def _has_entry_id(e: Any) -> bool:
    """Whether a feed item names an entry. One that does not cannot be applied; it is skipped
    (and logged, without its content) so that it cannot stall the node's sync for good."""
    eid = e.get("entry_id") if isinstance(e, dict) else None
    if isinstance(eid, int) and not isinstance(eid, bool) and 0 < eid < 2**63:
        return True
    seq = e.get("seq") if isinstance(e, dict) else None
    log.error("feed item skipped: no usable entry_id (seq %r)", seq if isinstance(seq, int) else None)
    return False


class NodeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- sync ----------------------------------------------------------------------------------
    def cursor(self) -> int:
        with self.db.read() as conn:
            row = conn.execute(select(sync_state.c.cursor).where(sync_state.c.id == 1)).first()
        return int(row[0]) if row else 0

    def apply_page(self, page: list[Any], next_cursor: int) -> list[Change]:
        """Apply one feed page and move the cursor in ONE transaction; return the net changes."""
        page = [e for e in page if _has_entry_id(e)]
        ids = {int(e["entry_id"]) for e in page}
        with self.db.write() as conn:
            before: dict[int, Entry] = {}
            id_list = sorted(ids)
            for i in range(0, len(id_list), 500):
                rows = conn.execute(select(entries).where(entries.c.entry_id.in_(id_list[i : i + 500])))
                for r in rows:
                    before[r.entry_id] = Entry(r.entry_id, r.type, r.value, r.quality, r.frames)
            after: dict[int, Entry | None] = dict(before)
            for e in page:
                op = e.get("op")
                eid = int(e["entry_id"])
                if op == "remove":
                    after[eid] = None
                elif op == "add":
                    ent = _valid(e)
                    if ent is not None:
                        after[eid] = ent
            changes: list[Change] = []
            gone: list[int] = []
            new_rows: list[dict[str, Any]] = []
            for eid, now_e in after.items():
                old = before.get(eid)
                if old == now_e:
                    continue
                if old is not None:
                    changes.append(Change("remove", old))
                    gone.append(eid)
                if now_e is not None:
                    changes.append(Change("add", now_e))
                    new_rows.append(
                        {
                            "entry_id": eid,
                            "type": now_e.type,
                            "value": now_e.value,
                            "quality": now_e.quality,
                            "frames": now_e.frames,
                        }
                    )
            for i in range(0, len(gone), 500):
                conn.execute(delete(entries).where(entries.c.entry_id.in_(gone[i : i + 500])))
            if new_rows:
                conn.execute(insert(entries), new_rows)
            done = conn.execute(
                update(sync_state).where(sync_state.c.id == 1).values(cursor=next_cursor, updated_at=now())
            )
            if done.rowcount == 0:
                conn.execute(insert(sync_state).values(id=1, cursor=next_cursor, updated_at=now()))
        return changes

    def iter_entries(self, kind: str, batch: int = 50_000) -> Iterator[list[Entry]]:
        last = -(2**62)
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(entries)
                    .where(entries.c.type == kind, entries.c.entry_id > last)
                    .order_by(entries.c.entry_id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            yield [Entry(r.entry_id, r.type, r.value, r.quality, r.frames) for r in rows]
            last = rows[-1].entry_id

    def entry_ids(self) -> set[tuple[int, str, str]]:
        with self.db.read() as conn:
            return {
                (r.entry_id, r.type, r.value)
                for r in conn.execute(select(entries.c.entry_id, entries.c.type, entries.c.value))
            }

    def counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(select(entries.c.type, func.count()).group_by(entries.c.type)).all()
        return {str(t): int(n) for t, n in rows}

    def md5_entries(self, value: str) -> list[int]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(entries.c.entry_id).where(entries.c.type == "md5", entries.c.value == value)
            )
            return [int(r[0]) for r in rows]

    def pdq_entries(self, values: Iterable[str]) -> dict[str, list[int]]:
        vals = sorted(set(values))
        out: dict[str, list[int]] = {}
        with self.db.read() as conn:
            for i in range(0, len(vals), 500):
                q = select(entries.c.entry_id, entries.c.value).where(
                    entries.c.type == "pdq", entries.c.value.in_(vals[i : i + 500])
                )
                for r in conn.execute(q):
                    out.setdefault(r.value, []).append(int(r.entry_id))
        return out

    def vpdq_frames(self, entry_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        ids = sorted(set(entry_ids))
        out: dict[int, list[dict[str, Any]]] = {}
        with self.db.read() as conn:
            for i in range(0, len(ids), 500):
                q = select(entries.c.entry_id, entries.c.frames).where(
                    entries.c.type == "vpdq", entries.c.entry_id.in_(ids[i : i + 500])
                )
                for r in conn.execute(q):
                    out[int(r.entry_id)] = r.frames or []
        return out

    # -- local block list ------------------------------------------------------------------------
    def blocks(self) -> list[tuple[int, str, str]]:
        with self.db.read() as conn:
            return [
                (r.id, r.type, r.value)
                for r in conn.execute(select(block_list.c.id, block_list.c.type, block_list.c.value))
            ]

    def block_md5(self, value: str) -> list[list[int]]:
        """For each local block of this MD5, the registry entry ids the removed item matched."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(block_list.c.entry_ids).where(block_list.c.type == "md5", block_list.c.value == value)
            )
            return [[int(i) for i in (r[0] or [])] for r in rows]

    def block_entry_ids(self, block_ids: Iterable[int]) -> dict[int, list[int]]:
        ids = sorted(set(block_ids))
        if not ids:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                select(block_list.c.id, block_list.c.entry_ids).where(block_list.c.id.in_(ids))
            )
            return {int(r.id): [int(i) for i in (r.entry_ids or [])] for r in rows}

    # -- review -------------------------------------------------------------------------------------
    def add_review(
        self,
        source: str,
        ref: str | None,
        md5: str | None,
        pdq: str | None,
        matches: list[dict[str, Any]],
        conn: Any = None,
    ) -> int:
        values = {
            "source": source,
            "ref": ref,
            "md5": md5,
            "pdq": pdq,
            "matches": matches,
            "status": "pending",
            "created_at": now(),
        }
        if conn is not None:
            return _new_id(conn.execute(insert(review_items).values(**values)))
        with self.db.write() as c:
            return _new_id(c.execute(insert(review_items).values(**values)))

    def list_review(self, status: str = "pending", limit: int = 100, after: int = 0) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            q = select(review_items).where(review_items.c.id > after)
            if status != "all":
                q = q.where(review_items.c.status == status)
            rows = conn.execute(q.order_by(review_items.c.id).limit(limit)).all()
        return [_review_json(r) for r in rows]

    def decide(self, review_id: int, decision: str) -> tuple[dict[str, Any], list[tuple[int, str, str]]]:
        """Record a reviewer's decision; on `remove`, block the item's own hashes. All or nothing.

        Returns the updated item and the new block-list rows (id, type, value) for the matcher.
        """
        if decision not in ("remove", "not_a_match"):
            raise ReviewError(400, 'decision must be "remove" or "not_a_match"')
        with self.db.write() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
            if row is None:
                raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
            if row.status not in ("pending", "escalated"):
                raise ReviewError(
                    409,
                    f"Review item {review_id} was already decided ({row.status}).",
                    ProblemCode.REVIEW_CONFLICT,
                )
            status = "removed" if decision == "remove" else "not_a_match"
            conn.execute(
                update(review_items)
                .where(review_items.c.id == review_id)
                .values(status=status, decided_at=now())
            )
            entry_ids = sorted(
                {int(m["entry_id"]) for m in row.matches or [] if m.get("entry_id") is not None}
            )
            reports: list[tuple[int, Outcome]] = []
            new_blocks: list[tuple[int, str, str]] = []
            if decision == "remove":
                # match_found only from scan findings: for an upload, upload_blocked/removed tell it.
                for eid in entry_ids:
                    if row.source == "scan":
                        reports.append((eid, Outcome.MATCH_FOUND))
                    reports.append((eid, Outcome.REMOVED))
                for kind, value in (("md5", row.md5), ("pdq", row.pdq)):
                    if value:
                        bid = _new_id(
                            conn.execute(
                                insert(block_list).values(
                                    type=kind,
                                    value=value,
                                    entry_ids=entry_ids,
                                    review_id=review_id,
                                    created_at=now(),
                                )
                            )
                        )
                        new_blocks.append((int(bid), kind, value))
            else:
                reports = [(eid, Outcome.FALSE_POSITIVE) for eid in entry_ids]
            self.queue_reports(reports, conn)
            item = _review_json(
                conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
            )
        return item, new_blocks

    # -- outbox ---------------------------------------------------------------------------------------
    def queue_reports(self, reports: list[tuple[int, Outcome]], conn: Any = None) -> None:
        if not reports:
            return
        rows = [
            {
                "report_id": str(uuid.uuid4()),
                "entry_id": eid,
                "outcome": Outcome(outcome).value,  # the plain value (a driver may dump enum names)
                "created_at": now(),
                "sent_at": None,
                "attempts": 0,
            }
            for eid, outcome in reports
        ]
        if conn is not None:
            conn.execute(insert(outbox), rows)
            return
        with self.db.write() as c:
            c.execute(insert(outbox), rows)

    def unsent(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.report_id, outbox.c.entry_id, outbox.c.outcome)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.created_at)
                .limit(limit)
            ).all()
        return [{"report_id": r.report_id, "entry_id": int(r.entry_id), "outcome": r.outcome} for r in rows]

    def mark_sent(self, report_ids: list[str]) -> None:
        with self.db.write() as conn:
            for i in range(0, len(report_ids), 500):
                conn.execute(
                    update(outbox)
                    .where(outbox.c.report_id.in_(report_ids[i : i + 500]))
                    .values(sent_at=now())
                )

    def bump_attempts(self, report_ids: list[str]) -> None:
        with self.db.write() as conn:
            for i in range(0, len(report_ids), 500):
                conn.execute(
                    update(outbox)
                    .where(outbox.c.report_id.in_(report_ids[i : i + 500]))
                    .values(attempts=outbox.c.attempts + 1)
                )

    def outbox_counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            pending = conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            ).scalar()
            sent = conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_not(None))
            ).scalar()
        return {"pending": int(pending or 0), "sent": int(sent or 0)}

    # -- scan ----------------------------------------------------------------------------------------
    def scan_done(self, source: str) -> set[str]:
        with self.db.read() as conn:
            return {
                r[0]
                for r in conn.execute(select(scan_results.c.item_id).where(scan_results.c.source == source))
            }

    def record_scan(
        self,
        source: str,
        results: list[dict[str, Any]],
        findings: list[tuple[str, str | None, str | None, list[dict[str, Any]]]],
    ) -> None:
        """Record a batch of scanned items and their findings in one transaction (resume point)."""
        with self.db.write() as conn:
            if results:
                conn.execute(insert(scan_results), [{"source": source, **r} for r in results])
            for ref, md5, pdq, matches in findings:
                self.add_review("scan", ref, md5, pdq, matches, conn)


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _review_json(r: Any) -> dict[str, Any]:
    from takeitdown.node.console import item_json  # one shape for the API and the console

    return item_json(r)
