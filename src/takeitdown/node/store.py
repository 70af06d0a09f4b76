"""Everything the node keeps in its database, one method per operation."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from takeitdown.node.db import Database
from takeitdown.node.schema import (
    actions,
    block_list,
    entries,
    entry_links,
    outbox,
    quarantined,
    resync_prior,
    review_items,
    review_refs,
    scan_results,
    sync_state,
)
from takeitdown.node.withdrawal import ActedOn
from takeitdown.protocol import (
    MAX_CONTENT_REF,
    FeedEntry,
    InvalidFeedEntry,
    Outcome,
    ProblemCode,
    Report,
    TrustState,
)

log = logging.getLogger("takeitdown.node")


def now() -> datetime:
    return datetime.now(UTC)


QUARANTINED = TrustState.QUARANTINED.value
CHUNK = 500  # ids per IN (...) list
PRIORITY_HIGH = 1  # a held or provisionally blocked upload waits on this review item
OPEN_REVIEW = ("pending", "escalated")


def content_ref(ref: str | None) -> str:
    """The `content_ref` a report carries for this ref: the platform's own id when it fits the
    protocol (1-200 printable characters), a digest of it when not (a long scan path), and a
    fresh opaque id when there is none."""
    if ref and len(ref) <= MAX_CONTENT_REF and ref.isprintable():
        return ref
    if ref:
        return "sha256:" + hashlib.sha256(ref.encode("utf-8", "surrogatepass")).hexdigest()
    return new_ref()


def new_ref() -> str:
    """An opaque id for an upload whose caller gave none (it is returned to the caller)."""
    return "node-" + uuid.uuid4().hex


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


@dataclass(frozen=True)
class Entry:
    """One live registry entry as the node stores it."""

    entry_id: int
    type: str
    value: str
    quality: int | None = None
    frames: list[dict[str, Any]] | None = None
    trust: str = TrustState.UNCONFIRMED.value  # quarantined only while held in node_quarantined

    @property
    def live(self) -> bool:
        return self.trust != QUARANTINED


@dataclass(frozen=True)
class Change:
    """What a feed page did to the live set; the index applies these after the commit.

    `add` / `remove`: the entry joined or left the live set (quarantine and restore included);
    `trust`: a live entry's trust state changed (nothing moves in the index);
    `unblock`: a local block lifted because its entries were withdrawn (`entry.entry_id` is the
    block row's id, `type` and `value` its hash).
    """

    op: str  # "add" | "remove" | "trust" | "unblock"
    entry: Entry


@dataclass(frozen=True)
class FeedMark:
    """Where the node stands on the feed: cursor, and the registry's epoch and running hash there."""

    cursor: int
    epoch: str | None = None
    head: str | None = None
    resyncs: int = 0
    last_resync_at: datetime | None = None
    last_resync_reason: str | None = None
    sweep_due: bool = False  # a resync is under way: it ends with `sweep_unlisted`


class ReviewError(Exception):
    def __init__(self, status: int, detail: str, code: ProblemCode = ProblemCode.BODY_SHAPE) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code


def _parse(e: dict[str, Any]) -> FeedEntry | None:
    try:
        return FeedEntry.parse(e)
    except InvalidFeedEntry as exc:
        log.warning("feed entry %s skipped: %s", e.get("entry_id"), exc)
        return None


def _valid(e: dict[str, Any]) -> Entry | None:
    """A feed `add` entry checked like every other hash on the way in (protocol.FeedEntry);
    None if unusable."""
    fe = _parse(e)
    if fe is None:
        return None
    frames = None if fe.frames is None else [f.to_json() for f in fe.frames]
    trust = (fe.trust or TrustState.UNCONFIRMED).value
    return Entry(fe.entry_id, fe.type, fe.value, fe.quality, frames, trust)


def _row_entry(r: Any, trust: str | None = None) -> Entry:
    return Entry(r.entry_id, r.type, r.value, r.quality, r.frames, trust or r.trust)


def _entry_row(e: Entry) -> dict[str, Any]:
    return {
        "entry_id": e.entry_id,
        "type": e.type,
        "value": e.value,
        "quality": e.quality,
        "frames": e.frames,
    }


def _match_ids(matches: Any) -> set[int]:
    return {
        int(m["entry_id"]) for m in matches or [] if isinstance(m, dict) and m.get("entry_id") is not None
    }


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
        return self.feed_mark().cursor

    def feed_mark(self) -> FeedMark:
        with self.db.read() as conn:
            r = conn.execute(select(sync_state).where(sync_state.c.id == 1)).first()
        if r is None:
            return FeedMark(0)
        return FeedMark(
            int(r.cursor),
            r.epoch,
            r.head,
            int(r.resyncs or 0),
            r.last_resync_at,
            r.last_resync_reason,
            bool(r.sweep_due),
        )

    def start_resync(self, reason: str) -> None:
        """The registry was reset or restored: forget the list and the feed position, keep every
        review, block, action and queued report (the sweep after the resync sorts those out)."""
        with self.db.write() as conn:
            linked = select(entry_links.c.entry_id).distinct()
            for table in (entries, quarantined):
                conn.execute(
                    insert(resync_prior).from_select(
                        ["entry_id", "type", "value"],
                        select(table.c.entry_id, table.c.type, table.c.value).where(
                            table.c.entry_id.in_(linked),
                            table.c.entry_id.not_in(select(resync_prior.c.entry_id)),
                        ),
                    )
                )
            conn.execute(delete(entries))
            conn.execute(delete(quarantined))
            resyncs = conn.execute(select(sync_state.c.resyncs).where(sync_state.c.id == 1)).scalar()
            self._set_mark(
                conn,
                cursor=0,
                epoch=None,
                head=None,
                resyncs=int(resyncs or 0) + 1,
                last_resync_at=now(),
                last_resync_reason=reason[:1000],
                sweep_due=True,
            )

    def sweep_unlisted(self) -> list[Change]:
        """After a resync caught up: lift or close what stands only on entries the registry no
        longer has (a restore lost them; nobody could withdraw them), as a withdrawal would."""
        with self.db.write() as conn:
            listed = select(entries.c.entry_id)
            q = select(entry_links.c.entry_id).where(entry_links.c.entry_id.not_in(listed)).distinct()
            unlisted = {int(r[0]): "withdrawn" for r in conn.execute(q)}
            q2 = select(outbox.c.entry_id).where(outbox.c.sent_at.is_(None), outbox.c.entry_id.not_in(listed))
            unlisted.update({int(r[0]): "withdrawn" for r in conn.execute(q2) if int(r[0]) not in unlisted})
            # the same id given to another hash by the restored registry is not the entry it was
            reused = (
                select(resync_prior.c.entry_id)
                .join(entries, entries.c.entry_id == resync_prior.c.entry_id)
                .where((entries.c.type != resync_prior.c.type) | (entries.c.value != resync_prior.c.value))
            )
            unlisted.update({int(r[0]): "withdrawn" for r in conn.execute(reused)})
            lifted = self._withdraw(conn, unlisted) if unlisted else []
            conn.execute(delete(resync_prior))
            self._set_mark(conn, sweep_due=False)
        return lifted

    def _set_mark(self, conn: Any, **values: Any) -> None:
        done = conn.execute(update(sync_state).where(sync_state.c.id == 1).values(updated_at=now(), **values))
        if done.rowcount == 0:
            conn.execute(insert(sync_state).values(id=1, updated_at=now(), **{"cursor": 0, **values}))

    def apply_page(
        self, page: list[Any], next_cursor: int, epoch: str | None = None, head: str | None = None
    ) -> list[Change]:
        """Apply one feed page and move the cursor in ONE transaction; return the net changes.

        `add` stores an entry with its trust state, `remove` drops it, `state` changes its trust
        state: quarantined moves it out of the live set (into node_quarantined), a later state
        brings it back. Whatever stood only on entries that left (local blocks, pending reviews,
        standing actions, queued reports) is lifted or closed in the same transaction.
        """
        page = [e for e in page if _has_entry_id(e)]
        ids = sorted({int(e["entry_id"]) for e in page})
        with self.db.write() as conn:
            before: dict[int, Entry] = {}
            for chunk in _chunks(ids):
                for r in conn.execute(select(entries).where(entries.c.entry_id.in_(chunk))):
                    before[r.entry_id] = _row_entry(r)
                for r in conn.execute(select(quarantined).where(quarantined.c.entry_id.in_(chunk))):
                    before[r.entry_id] = _row_entry(r, QUARANTINED)
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
                elif op == "state":
                    fe = _parse(e)
                    held = after.get(eid)
                    if fe is not None and fe.trust is not None and held is not None:
                        after[eid] = replace(held, trust=fe.trust.value)
                    elif fe is not None:
                        log.info("state entry for entry %s, which this node does not hold: ignored", eid)
            changes, gone = self._write_entries(conn, before, after)
            if gone:
                changes += self._withdraw(conn, gone)
            marks: dict[str, Any] = {"cursor": next_cursor}
            if epoch is not None:
                marks.update(epoch=epoch, head=head)
            self._set_mark(conn, **marks)
        return changes

    def _write_entries(
        self, conn: Any, before: dict[int, Entry], after: dict[int, Entry | None]
    ) -> tuple[list[Change], dict[int, str]]:
        """Write the net difference; return the changes and the entries that left the live set
        (entry id -> "withdrawn" | "quarantined")."""
        changes: list[Change] = []
        gone: dict[int, str] = {}
        drop: dict[bool, list[int]] = {True: [], False: []}  # live table? -> ids
        put: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        trust_updates: list[Entry] = []
        for eid, new in after.items():
            old = before.get(eid)
            if old == new:
                continue
            if (
                old is not None
                and new is not None
                and old.live
                and new.live
                and replace(old, trust=new.trust) == new
            ):
                trust_updates.append(new)
                changes.append(Change("trust", new))
                continue
            if old is not None:
                drop[old.live].append(eid)
                if old.live:
                    changes.append(Change("remove", old))
                    if new is None or not new.live:
                        gone[eid] = "withdrawn" if new is None else "quarantined"
            if new is not None:
                if new.live:
                    put[True].append({**_entry_row(new), "trust": new.trust})
                    changes.append(Change("add", new))
                else:
                    put[False].append({**_entry_row(new), "since": now()})
        for live, table in ((True, entries), (False, quarantined)):
            for chunk in _chunks(drop[live]):
                conn.execute(delete(table).where(table.c.entry_id.in_(chunk)))
            if put[live]:
                conn.execute(insert(table), put[live])
        for e in trust_updates:
            conn.execute(update(entries).where(entries.c.entry_id == e.entry_id).values(trust=e.trust))
        return changes, gone

    def _withdraw(self, conn: Any, gone: dict[int, str]) -> list[Change]:
        """Lift or close what stood only on entries that just left the list, in the caller's
        transaction: pending review items are closed (`withdrawn`), local blocks without a
        platform-policy reason are deleted, pending or upheld actions are `lifted`, and reports
        not yet sent for those entries are dropped. For each entry the node had acted on, an
        `entry.withdrawn` / `entry.quarantined` event and an audit row go in the same transaction.
        Returns the lifted blocks (for the index)."""
        gone_ids = sorted(gone)
        linked: dict[str, set[int]] = {"review": set(), "block": set(), "action": set()}
        per_entry: dict[int, dict[str, set[int]]] = {}
        for chunk in _chunks(gone_ids):
            q = select(entry_links.c.entry_id, entry_links.c.kind, entry_links.c.ref_id).where(
                entry_links.c.entry_id.in_(chunk)
            )
            for eid, kind, ref_id in conn.execute(q):
                linked.setdefault(kind, set()).add(int(ref_id))
                per_entry.setdefault(int(eid), {}).setdefault(kind, set()).add(int(ref_id))
        acted = ActedOn.read(conn, linked)  # before anything is lifted: the event names it all
        candidates: list[tuple[str, Any, set[int]]] = []
        for chunk in _chunks(sorted(linked["review"])):
            q = select(review_items.c.id, review_items.c.matches).where(
                review_items.c.id.in_(chunk), review_items.c.status.in_(OPEN_REVIEW)
            )
            candidates += [("review", r, _match_ids(r.matches)) for r in conn.execute(q)]
        for chunk in _chunks(sorted(linked["block"])):
            q = select(block_list).where(block_list.c.id.in_(chunk), block_list.c.policy_reason.is_(None))
            candidates += [("block", r, {int(i) for i in r.entry_ids or []}) for r in conn.execute(q)]
        for chunk in _chunks(sorted(linked["action"])):
            q = select(actions.c.id, actions.c.entry_ids).where(
                actions.c.id.in_(chunk),
                actions.c.status.in_(("pending", "upheld")),
                actions.c.policy_reason.is_(None),
            )
            candidates += [("action", r, {int(i) for i in r.entry_ids or []}) for r in conn.execute(q)]
        named = sorted(set().union(*(ids for _, _, ids in candidates)) if candidates else set())
        live: set[int] = set()
        for chunk in _chunks(named):
            live.update(
                int(r[0])
                for r in conn.execute(select(entries.c.entry_id).where(entries.c.entry_id.in_(chunk)))
            )
        live -= set(gone)  # after a resync, an id the registry reused for another hash is gone
        lifted: list[Change] = []
        closed: dict[str, set[int]] = {"review": set(), "block": set(), "action": set()}
        for kind, row, ids in candidates:
            if not ids or ids & live:
                continue  # stands on something still listed (or on no registry entry at all)
            why = " or ".join(sorted({gone.get(i, "withdrawn") for i in ids}))
            reason = f"every registry entry it matched was {why}"
            closed[kind].add(int(row.id))
            if kind == "review":
                conn.execute(
                    update(review_items)
                    .where(review_items.c.id == row.id)
                    .values(status="withdrawn", reason=reason, decided_at=now())
                )
            elif kind == "block":
                conn.execute(delete(block_list).where(block_list.c.id == row.id))
                lifted.append(Change("unblock", Entry(int(row.id), row.type, row.value)))
            else:
                conn.execute(
                    update(actions)
                    .where(actions.c.id == row.id)
                    .values(status="lifted", reason=reason, closed_at=now())
                )
        dropped = 0
        for chunk in _chunks(gone_ids):
            dropped += (
                conn.execute(
                    delete(outbox).where(outbox.c.entry_id.in_(chunk), outbox.c.sent_at.is_(None))
                ).rowcount
                or 0
            )
        for eid in sorted(per_entry):
            acted.tell(conn, eid, gone[eid], per_entry[eid], closed)
        if any(closed.values()) or dropped:
            log.info(
                "%d entries left the list: closed %d review items, lifted %d local blocks and %d "
                "actions, dropped %d queued reports",
                len(gone),
                len(closed["review"]),
                len(closed["block"]),
                len(closed["action"]),
                dropped,
            )
        return lifted

    def _link(self, conn: Any, kind: str, ref_id: int, entry_ids: Iterable[int]) -> None:
        rows = [{"entry_id": int(e), "kind": kind, "ref_id": ref_id} for e in sorted(set(entry_ids))]
        if rows:
            conn.execute(insert(entry_links), rows)

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
            yield [_row_entry(r) for r in rows]
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

    def trust_counts(self) -> dict[str, int]:
        """Live entries by trust state, and how many are quarantined (held off the lists)."""
        with self.db.read() as conn:
            rows = conn.execute(select(entries.c.trust, func.count()).group_by(entries.c.trust)).all()
            held = conn.execute(select(func.count()).select_from(quarantined)).scalar()
        return {**{str(t): int(n) for t, n in rows}, QUARANTINED: int(held or 0)}

    def confirmed_ids(self) -> set[int]:
        with self.db.read() as conn:
            q = select(entries.c.entry_id).where(entries.c.trust == TrustState.CONFIRMED.value)
            return {int(r[0]) for r in conn.execute(q)}

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

    def add_local_blocks(
        self, values: Sequence[tuple[str, str]], reason: str, conn: Any = None
    ) -> list[tuple[int, str, str]]:
        """Block these hashes on this platform for its own reason (the legal desk's removals): they
        stand on no registry entry, so no withdrawal lifts them. Returns the new rows (for the
        matcher); a value already blocked for the same reason is not added twice. With `conn`, in
        the caller's transaction (the removal that asks for them)."""
        if conn is None:
            with self.db.write() as c:
                return self.add_local_blocks(values, reason, c)
        new: list[tuple[int, str, str]] = []
        for kind, value in values:
            have = conn.execute(
                select(block_list.c.id).where(
                    block_list.c.type == kind,
                    block_list.c.value == value,
                    block_list.c.policy_reason == reason,
                )
            ).first()
            if have is not None:
                continue
            res = conn.execute(
                insert(block_list).values(
                    type=kind, value=value, entry_ids=[], created_at=now(), policy_reason=reason
                )
            )
            new.append((_new_id(res), kind, value))
        return new

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
        priority: int = 0,
        account: str | None = None,
    ) -> int:
        values = {
            "source": source,
            "ref": ref,
            "md5": md5,
            "pdq": pdq,
            "matches": matches,
            "status": "pending",
            "created_at": now(),
            "priority": priority,
            "account": account,
        }
        if conn is None:
            with self.db.write() as c:
                return self.add_review(source, ref, md5, pdq, matches, c, priority, account)
        rid = _new_id(conn.execute(insert(review_items).values(**values)))
        self._link(conn, "review", rid, _match_ids(matches))
        return rid

    def same_content(
        self, conn: Any, md5: str | None, pdq: str | None, source: str | None = None
    ) -> int | None:
        """The oldest open review item of the same content (same MD5 or same PDQ), if any."""
        conds = []
        if md5:
            conds.append(review_items.c.md5 == md5)
        if pdq:
            conds.append(review_items.c.pdq == pdq)
        if not conds:
            return None
        q = select(review_items.c.id).where(review_items.c.status.in_(OPEN_REVIEW), or_(*conds))
        if source:
            q = q.where(review_items.c.source == source)
        row = conn.execute(q.order_by(review_items.c.id).limit(1)).first()
        return None if row is None else int(row.id)

    def join_review(
        self,
        conn: Any,
        review_id: int,
        source: str,
        ref: str | None,
        matches: list[dict[str, Any]],
        account: str | None = None,
        action_id: int | None = None,
    ) -> bool:
        """Join content seen again to its open review item: its matches merge in (and are linked,
        so a withdrawal finds the item through any of them) and its ref is kept, so the decision
        settles it too. False if the item is no longer open (the caller makes a new one)."""
        row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
        if row is None or row.status not in OPEN_REVIEW:
            return False
        have = {(m.get("entry_id"), m.get("type")) for m in row.matches or [] if isinstance(m, dict)}
        new = [m for m in matches if (m.get("entry_id"), m.get("type")) not in have]
        values: dict[str, Any] = {}
        if new:
            values["matches"] = list(row.matches or []) + new
            self._link(conn, "review", review_id, _match_ids(new) - _match_ids(row.matches))
        if account and not row.account:
            values["account"] = account
        if values:
            conn.execute(update(review_items).where(review_items.c.id == review_id).values(**values))
        if ref and not (ref == row.ref and source == row.source):
            known = conn.execute(
                select(review_refs.c.id, review_refs.c.action_id).where(
                    review_refs.c.review_id == review_id,
                    review_refs.c.source == source,
                    review_refs.c.ref == ref,
                )
            ).first()
            if known is None:
                conn.execute(
                    insert(review_refs).values(
                        review_id=review_id,
                        source=source,
                        ref=ref,
                        account=account,
                        action_id=action_id,
                        created_at=now(),
                    )
                )
            elif action_id is not None and known.action_id is None:
                conn.execute(
                    update(review_refs).where(review_refs.c.id == known.id).values(action_id=action_id)
                )
        return True

    def joined_refs(self, conn: Any, review_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The refs joined to each of these review items (not the item's own), oldest first."""
        out: dict[int, list[dict[str, Any]]] = {}
        for chunk in _chunks(sorted(set(review_ids))):
            q = (
                select(review_refs)
                .where(review_refs.c.review_id.in_(chunk))
                .order_by(review_refs.c.review_id, review_refs.c.id)
            )
            for r in conn.execute(q):
                out.setdefault(int(r.review_id), []).append(
                    {"source": r.source, "ref": r.ref, "account": r.account}
                )
        return out

    def review_json(self, conn: Any, rows: Sequence[Any]) -> list[dict[str, Any]]:
        joined = self.joined_refs(conn, [int(r.id) for r in rows])
        return [_review_json(r, joined.get(int(r.id), [])) for r in rows]

    def list_review(
        self, status: str = "pending", limit: int = 100, after: int = 0, by_priority: bool = False
    ) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            q = select(review_items).where(review_items.c.id > after)
            if status != "all":
                q = q.where(review_items.c.status == status)
            order = (
                (review_items.c.priority.desc(), review_items.c.id) if by_priority else (review_items.c.id,)
            )
            rows = conn.execute(q.order_by(*order).limit(limit)).all()
            return self.review_json(conn, rows)

    def decide(
        self, review_id: int, decision: str, policy_reason: str | None = None, conn: Any = None
    ) -> tuple[dict[str, Any], list[tuple[int, str, str]]]:
        """Record a reviewer's decision; on `remove`, block the item's own hashes. All or nothing.

        The decision settles every ref joined to the item (the same content uploaded or found
        again). Each held or provisionally blocked upload waiting on it ends here: `remove`
        upholds it (final) and reports `upload_blocked`, as it was never posted; `not_a_match`
        releases it. A hosted copy found by a scan is reported found and removed; anything else
        removed. `policy_reason` (with `remove`) is the platform's own reason to keep the block
        even if the registry entries are later withdrawn. Reports go only for entries still
        listed. Returns the updated item and the new block-list rows (id, type, value).
        """
        if decision not in ("remove", "not_a_match"):
            raise ReviewError(400, 'decision must be "remove" or "not_a_match"')
        if policy_reason is not None and decision != "remove":
            raise ReviewError(400, "a policy_reason keeps a block: it goes only with remove")
        if conn is None:
            with self.db.write() as c:
                return self.decide(review_id, decision, policy_reason, c)
        row = conn.execute(select(review_items).where(review_items.c.id == review_id)).first()
        if row is None:
            raise ReviewError(404, f"No review item {review_id}.", ProblemCode.REVIEW_NOT_FOUND)
        if row.status not in OPEN_REVIEW:
            raise ReviewError(
                409,
                f"Review item {review_id} was already decided ({row.status}).",
                ProblemCode.REVIEW_CONFLICT,
            )
        status = "removed" if decision == "remove" else "not_a_match"
        conn.execute(
            update(review_items)
            .where(review_items.c.id == review_id)
            .values(status=status, decided_at=now(), reason=policy_reason)
        )
        matched = sorted(_match_ids(row.matches))
        listed = self._listed(conn, matched)
        entry_ids = [e for e in matched if e in listed]  # no reports on withdrawn entries
        waiting = conn.execute(
            select(actions.c.id, actions.c.ref).where(
                actions.c.review_id == review_id, actions.c.status == "pending"
            )
        ).all()
        held_refs = {r.ref for r in waiting}
        refs = [(row.source, row.ref)] + [
            (j["source"], j["ref"]) for j in self.joined_refs(conn, [review_id]).get(review_id, [])
        ]
        reports: list[tuple[int, Outcome, str]] = []
        new_blocks: list[tuple[int, str, str]] = []
        for source, ref in dict.fromkeys(refs):
            cref = content_ref(ref)
            for eid in entry_ids:
                if decision != "remove":
                    reports.append((eid, Outcome.FALSE_POSITIVE, cref))
                elif source == "scan":  # a copy was found and taken down
                    reports += [(eid, Outcome.MATCH_FOUND, cref), (eid, Outcome.REMOVED, cref)]
                elif source == "upload" and cref in held_refs:  # held or blocked: never posted
                    reports.append((eid, Outcome.UPLOAD_BLOCKED, cref))
                else:
                    reports.append((eid, Outcome.REMOVED, cref))
        if decision == "remove":
            for kind, value in (("md5", row.md5), ("pdq", row.pdq)):
                if value:
                    bid = _new_id(
                        conn.execute(
                            insert(block_list).values(
                                type=kind,
                                value=value,
                                entry_ids=matched,
                                review_id=review_id,
                                created_at=now(),
                                policy_reason=policy_reason,
                            )
                        )
                    )
                    self._link(conn, "block", bid, matched)
                    new_blocks.append((int(bid), kind, value))
        if waiting:
            upheld = decision == "remove"
            why = "a reviewer confirmed the match" if upheld else "a reviewer found it is not a match"
            conn.execute(
                update(actions)
                .where(actions.c.id.in_([int(r.id) for r in waiting]))
                .values(
                    status="upheld" if upheld else "released",
                    final=True,
                    reason=why,
                    policy_reason=policy_reason,
                    closed_at=now(),
                )
            )
        self.queue_reports(reports, conn, reviewed=True)  # a reviewer decided: these confirm or dispute
        item = self.review_json(
            conn, [conn.execute(select(review_items).where(review_items.c.id == review_id)).first()]
        )[0]
        return item, new_blocks

    def _listed(self, conn: Any, ids: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for chunk in _chunks(sorted(ids)):
            q = select(entries.c.entry_id).where(entries.c.entry_id.in_(chunk))
            out.update(int(r[0]) for r in conn.execute(q))
        return out

    # -- actions (every block and hold) ------------------------------------------------------------
    def record_action(
        self,
        kind: str,
        final: bool,
        ref: str,
        md5: str | None,
        pdq: str | None,
        matches: list[dict[str, Any]],
        reports: list[int],
        reason: str,
        review_id: int | None = None,
        account: str | None = None,
        conn: Any = None,
    ) -> tuple[int, int | None]:
        """Record a block or hold of an upload, in one transaction with what goes with it: a high
        priority review item unless `final` (or, with `review_id`, joining that open item of the
        same content), and `upload_blocked` reports for `reports` (the entries a final block
        stands on). Returns (action id, review item id or None)."""
        if conn is None:
            with self.db.write() as c:
                return self.record_action(
                    kind, final, ref, md5, pdq, matches, reports, reason, review_id, account, c
                )
        joining = False
        if final:
            review_id = None
        elif review_id is not None and self._is_open(conn, review_id):
            joining = True  # that item is now waited on
            conn.execute(
                update(review_items).where(review_items.c.id == review_id).values(priority=PRIORITY_HIGH)
            )
        else:
            review_id = self.add_review("upload", ref, md5, pdq, matches, conn, PRIORITY_HIGH, account)
        ids = sorted(_match_ids(matches))
        aid = _new_id(
            conn.execute(
                insert(actions).values(
                    created_at=now(),
                    kind=kind,
                    final=final,
                    source="upload",
                    ref=ref,
                    md5=md5,
                    pdq=pdq,
                    matches=matches,
                    entry_ids=ids,
                    review_id=review_id,
                    status="upheld" if final else "pending",
                    reason=reason,
                    account=account,
                )
            )
        )
        self._link(conn, "action", aid, ids)
        if joining:
            assert review_id is not None
            self.join_review(conn, review_id, "upload", ref, matches, account, aid)
        self.queue_reports([(eid, Outcome.UPLOAD_BLOCKED, ref) for eid in reports], conn)
        return aid, review_id

    def _is_open(self, conn: Any, review_id: int) -> bool:
        q = select(review_items.c.status).where(review_items.c.id == review_id)
        status = conn.execute(q).scalar()
        return status in OPEN_REVIEW

    def list_actions(self, status: str = "all", limit: int = 100, after: int = 0) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            q = select(actions).where(actions.c.id > after)
            if status != "all":
                q = q.where(actions.c.status == status)
            rows = conn.execute(q.order_by(actions.c.id).limit(limit)).all()
        return [_action_json(r) for r in rows]

    def get_action(self, action_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            r = conn.execute(select(actions).where(actions.c.id == action_id)).first()
        return None if r is None else _action_json(r)

    # -- outbox ---------------------------------------------------------------------------------------
    def queue_reports(
        self, reports: Sequence[tuple[Any, ...]], conn: Any = None, reviewed: bool = False
    ) -> None:
        """Queue (entry id, outcome[, content_ref]) reports; a report without a ref gets a fresh one.
        `reviewed`: a human reviewer made these decisions (protocol.Report.reviewed)."""
        if not reports:
            return
        rows = [
            {
                "report_id": str(uuid.uuid4()),
                "entry_id": int(r[0]),
                "outcome": Outcome(r[1]).value,  # the plain value (a driver may dump enum names)
                "content_ref": content_ref(r[2] if len(r) > 2 else None),
                "reviewed": reviewed,
                "created_at": now(),
                "sent_at": None,
                "attempts": 0,
            }
            for r in reports
        ]
        if conn is not None:
            conn.execute(insert(outbox), rows)
            return
        with self.db.write() as c:
            c.execute(insert(outbox), rows)

    def unsent(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The next reports to send, in the protocol's wire form (`Report.to_wire`)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    outbox.c.report_id,
                    outbox.c.entry_id,
                    outbox.c.outcome,
                    outbox.c.content_ref,
                    outbox.c.reviewed,
                )
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.created_at)
                .limit(limit)
            ).all()
        return [
            Report(
                r.report_id,
                int(r.entry_id),
                Outcome(r.outcome),
                r.content_ref or f"node-report-{r.report_id}",
                bool(r.reviewed),
            ).to_wire()
            for r in rows
        ]

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
    def scan_done_among(self, source: str, item_ids: Sequence[str]) -> set[str]:
        """Which of these item ids a scan of `source` has recorded (a scan's resume, a chunk at a time)."""
        out: set[str] = set()
        with self.db.read() as conn:
            for chunk in _chunks(sorted(set(item_ids))):
                q = select(scan_results.c.item_id).where(
                    scan_results.c.source == source, scan_results.c.item_id.in_(chunk)
                )
                out.update(r[0] for r in conn.execute(q))
        return out

    def record_scan(
        self,
        source: str,
        results: list[dict[str, Any]],
        findings: list[tuple[str, str | None, str | None, list[dict[str, Any]]]],
    ) -> None:
        """Record a batch of scanned items and their findings in one transaction (resume point).
        A finding joins an open review item of the same content (another copy, or the same item
        scanned again) instead of making a second one."""
        with self.db.write() as conn:
            if results:
                conn.execute(insert(scan_results), [{"source": source, **r} for r in results])
            for ref, md5, pdq, matches in findings:
                rid = self.same_content(conn, md5, pdq)
                if rid is None or not self.join_review(conn, rid, "scan", ref, matches):
                    self.add_review("scan", ref, md5, pdq, matches, conn)


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _review_json(r: Any, joined: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from takeitdown.node.console import item_json  # one shape for the API and the console

    return item_json(r, joined)


def _action_json(r: Any) -> dict[str, Any]:
    return {
        "id": int(r.id),
        "created_at": r.created_at.isoformat() if r.created_at else None,
        "kind": r.kind,
        "final": bool(r.final),
        "source": r.source,
        "ref": r.ref,
        "md5": r.md5,
        "pdq": r.pdq,
        "matches": r.matches or [],
        "entry_ids": r.entry_ids or [],
        "review_id": r.review_id,
        "status": r.status,
        "reason": r.reason,
        "policy_reason": r.policy_reason,
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "account": r._mapping.get("account"),
    }
