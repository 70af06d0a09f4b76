"""The inventory: the hashes of what the platform hosts, so a later entry finds hosted copies.

Scans add what they hash (`add_items`, keyed by (source, ref); a rescan replaces an item's
hashes). Every entry that joins the list is matched here as its feed page syncs
(`match_entries`), so a case made after the scan finds the hosted copy with no file read again.

- MD5: equal values, looked up in the database (indexed), so they cost no memory here;
- PDQ: each item's as-stored PDQ in an exact `PdqIndex` (the same code as the hash list, label =
  inventory row id). The scan's rotations and flips are kept in the row but not indexed: a
  submitted hash of a rotated copy matches hosted content only as far as PDQ itself survives it;
- video: every good frame of an item's vPDQ in a second `PdqIndex`; a vPDQ entry is matched as
  vPDQ (share of frames both ways), and a PDQ entry also matches a frame of a hosted video.

What the serving node needs of an inventory is `NodeInventory`; `Inventory` is the one in this
process's memory (the default), `ray_inventory.RayInventory` the one on Ray shards
(TAKEITDOWN_NODE_INVENTORY_SHARDS > 0). Either way the `node_inventory` rows are the record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from takeitdown.hashing import PDQ_MIN_QUALITY, VpdqFrame, VpdqHash, vpdq_match
from takeitdown.node.db import Database
from takeitdown.node.index import PdqIndex
from takeitdown.node.schema import inventory

MAX_REF = 1024


@dataclass(frozen=True)
class InventoryItem:
    """One hosted item's hashes, as a scan computed them."""

    source: str  # the scan source (folder, manifest or URL) it came from
    ref: str  # the platform's id of the item (the scan's item id)
    md5: str | None = None
    pdq: list[str] = field(default_factory=list)  # first: as stored; then rotations and flips
    frames: list[dict[str, Any]] | None = None  # vPDQ frames, for a video

    @classmethod
    def from_hashes(cls, source: str, ref: str, hashes: dict[str, Any]) -> InventoryItem:
        """From `ItemHashes.to_json()` (what scan workers return)."""
        pdq = [p["value"] for p in hashes.get("pdq") or [] if (p.get("quality") or 100) >= PDQ_MIN_QUALITY]
        vpdq = hashes.get("vpdq")
        return cls(source, ref, hashes.get("md5"), pdq, (vpdq or {}).get("frames") if vpdq else None)


@dataclass(frozen=True, order=True)
class RetroHit:
    """A hosted item that a new entry matches (the same first fields as sharded_inventory's)."""

    ref: str
    entry_id: int
    type: str  # md5 | pdq | vpdq
    distance: int  # PDQ bits; for vPDQ 100 minus the smaller frame share in percent
    md5: str | None = None  # the item's own hashes, for the review item
    pdq: str | None = None
    source: str = ""  # the scan source it came from
    inventory_id: int | None = None

    def match_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "type": self.type, "distance": self.distance, "source": "registry"}


class NodeInventory(Protocol):
    """What the serving node uses of its inventory (the review desk's retro-matching, the legal
    desk's copy search and named items, health)."""

    def refresh(self) -> int:
        """Take in rows the database gained (a `node scan` beside the node); returns how many."""
        ...

    def match_entries(self, entries: Iterable[Any]) -> list[RetroHit]:
        """Hosted items these entries (new feed entries, or a legal request's hashes) match."""
        ...

    def by_refs(self, refs: Sequence[str]) -> list[Any]: ...

    def count(self) -> int: ...

    def size(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class Inventory:
    def __init__(self, db: Database, threshold: int = 31, vpdq_share: float = 0.8) -> None:
        self.db = db
        self.threshold = threshold
        self.vpdq_share = vpdq_share
        self.pdq = PdqIndex(threshold=threshold)  # label: inventory row id
        self.frames = PdqIndex(threshold=threshold)  # label: inventory row id of the video
        self._lock = threading.Lock()  # one writer at a time keeps index and rows in step
        self._through = 0  # rows up to this id are in the index

    # -- loading and adding -----------------------------------------------------------------------
    def refresh(self) -> int:
        """Index rows another process added (a `node scan` beside the serving node); returns how many.

        A rescanned item gets a new row; its old row's codes stay in the index but find no row,
        so they give no hit."""
        with self._lock:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(inventory.c.id, inventory.c.pdq, inventory.c.frames)
                    .where(inventory.c.id > self._through)
                    .order_by(inventory.c.id)
                ).all()
            for r in rows:
                if r.pdq:
                    self.pdq.add(int(r.id), r.pdq)
                for f in _good_frames(r.frames):
                    self.frames.add(int(r.id), f)
                self._through = max(self._through, int(r.id))
            return len(rows)

    def load(self, batch: int = 50_000) -> None:
        codes: list[str] = []
        labels: list[int] = []
        fcodes: list[str] = []
        flabels: list[int] = []
        last = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(inventory.c.id, inventory.c.pdq, inventory.c.frames)
                    .where(inventory.c.id > last)
                    .order_by(inventory.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                break
            for r in rows:
                if r.pdq:
                    codes.append(r.pdq)
                    labels.append(int(r.id))
                for f in _good_frames(r.frames):
                    fcodes.append(f)
                    flabels.append(int(r.id))
            last = int(rows[-1].id)
        self.pdq.build(codes, np.array(labels, dtype=np.int64))
        self.frames.build(fcodes, np.array(flabels, dtype=np.int64))
        self._through = last

    def add_items(self, items: Sequence[InventoryItem], conn: Connection | None = None) -> list[int]:
        """Store (or replace, same source and ref) these items and index them; returns row ids.

        With `conn`, the rows are written in the caller's transaction (a scan batch with its
        results); the in-memory index is updated at once, which a rolled-back transaction would
        leave ahead of the database until the next `load()`.
        """
        if not items:
            return []
        for it in items:
            if len(it.ref) > MAX_REF or len(it.source) > MAX_REF:
                raise ValueError(f"an inventory ref or source is longer than {MAX_REF} characters")
        with self._lock:
            if conn is not None:
                return self._add(conn, items)
            with self.db.write() as c:
                return self._add(c, items)

    def _add(self, conn: Connection, items: Sequence[InventoryItem]) -> list[int]:
        ids: list[int] = []
        now = datetime.now(UTC)
        for it in items:
            old = conn.execute(
                select(inventory.c.id, inventory.c.pdq, inventory.c.frames).where(
                    inventory.c.source == it.source, inventory.c.ref == it.ref
                )
            ).first()
            if old is not None:
                self._unindex(int(old.id), old.pdq, old.frames)
                conn.execute(delete(inventory).where(inventory.c.id == old.id))
            res = conn.execute(
                insert(inventory).values(
                    source=it.source,
                    ref=it.ref,
                    md5=it.md5,
                    pdq=it.pdq[0] if it.pdq else None,
                    pdq_variants=it.pdq[1:] or None,
                    frames=it.frames,
                    hashed_at=now,
                )
            )
            key = res.inserted_primary_key
            assert key is not None
            row_id = int(key[0])
            if it.pdq:
                self.pdq.add(row_id, it.pdq[0])
            for f in _good_frames(it.frames):
                self.frames.add(row_id, f)
            ids.append(row_id)
            if row_id == self._through + 1:
                self._through = row_id
        return ids

    def _unindex(self, row_id: int, pdq: str | None, frames: Any) -> None:
        if pdq:
            self.pdq.remove(row_id, pdq)
        for f in _good_frames(frames):
            self.frames.remove(row_id, f)

    def size(self) -> dict[str, int]:
        return {"inventory_pdq": len(self.pdq), "inventory_frames": len(self.frames)}

    @property
    def nbytes(self) -> int:
        return self.pdq.nbytes + self.frames.nbytes

    # -- matching ------------------------------------------------------------------------------------
    def match_entries(self, entries: Iterable[Any]) -> list[RetroHit]:
        """Hosted items that these entries match. An entry is anything with entry_id, type,
        value and frames (store.Entry); the best match per (item, entry) is kept."""
        self.refresh()
        found: dict[tuple[int, int], tuple[str, int]] = {}

        def keep(item_id: int, entry_id: int, kind: str, d: int) -> None:
            k = (item_id, entry_id)
            if k not in found or d < found[k][1]:
                found[k] = (kind, d)

        md5s: dict[str, list[int]] = {}
        pdqs: dict[str, list[int]] = {}
        videos: list[Any] = []
        for e in entries:
            if e.type == "md5":
                md5s.setdefault(e.value, []).append(int(e.entry_id))
            elif e.type in ("pdq", "pdq80", "pdq70"):
                if e.type == "pdq":  # window hashes describe a crop: no whole hosted item to compare
                    pdqs.setdefault(e.value, []).append(int(e.entry_id))
            elif e.type == "vpdq":
                videos.append(e)
        if md5s:
            values = sorted(md5s)
            with self.db.read() as conn:
                for i in range(0, len(values), 500):
                    rows = conn.execute(
                        select(inventory.c.id, inventory.c.md5).where(
                            inventory.c.md5.in_(values[i : i + 500])
                        )
                    )
                    for r in rows:
                        for eid in md5s[r.md5]:
                            keep(int(r.id), eid, "md5", 0)
        if pdqs:
            values = sorted(pdqs)
            for value, res in zip(values, self.pdq.search(values), strict=True):
                for item_id, d in res:
                    for eid in pdqs[value]:
                        keep(int(item_id), eid, "pdq", int(d))
            for value, res in zip(values, self.frames.search(values), strict=True):
                for item_id, d in res:
                    for eid in pdqs[value]:
                        keep(int(item_id), eid, "pdq", int(d))
        for e in videos:
            self._match_video(e, keep)
        if not found:
            return []
        rows_by_id = self._rows({k[0] for k in found})
        hits = []
        for (item_id, eid), (kind, d) in sorted(found.items()):
            row = rows_by_id.get(item_id)
            if row is not None:
                hits.append(RetroHit(row.ref, eid, kind, d, row.md5, row.pdq, row.source, item_id))
        return hits

    def _match_video(self, e: Any, keep: Any) -> None:
        target_frames = [VpdqFrame.parse(f) for f in e.frames or []]
        good = sorted({f.pdq for f in target_frames if f.q >= PDQ_MIN_QUALITY})
        if not good:
            return
        cands: set[int] = set()
        for res in self.frames.search(good):
            cands.update(int(i) for i, _ in res)
        if not cands:
            return
        target = VpdqHash(tuple(target_frames))
        for item_id, r in self._rows(cands).items():
            query = VpdqHash(tuple(VpdqFrame.parse(f) for f in r.frames or []))
            vm = vpdq_match(query, target, threshold=self.vpdq_share)
            if vm.is_match:
                keep(
                    item_id, int(e.entry_id), "vpdq", round(100 * (1 - min(vm.query_share, vm.target_share)))
                )

    def _rows(self, ids: Iterable[int]) -> dict[int, Any]:
        id_list = sorted(set(ids))
        out: dict[int, Any] = {}
        with self.db.read() as conn:
            for i in range(0, len(id_list), 500):
                for r in conn.execute(select(inventory).where(inventory.c.id.in_(id_list[i : i + 500]))):
                    out[int(r.id)] = r
        return out

    def by_refs(self, refs: Sequence[str]) -> list[Any]:
        return rows_by_refs(self.db, refs)

    def get(self, source: str, ref: str) -> Any:
        with self.db.read() as conn:
            return conn.execute(
                select(inventory).where(inventory.c.source == source, inventory.c.ref == ref)
            ).first()

    def count(self) -> int:
        return count_rows(self.db)

    def close(self) -> None:
        """Nothing to release: the index is this process's memory."""


def rows_by_refs(db: Database, refs: Sequence[str]) -> list[Any]:
    """The rows (any scan source) of these refs: the legal desk's named items' own hashes."""
    wanted = sorted(set(refs))
    out: list[Any] = []
    with db.read() as conn:
        for i in range(0, len(wanted), 500):
            q = select(inventory.c.id, inventory.c.source, inventory.c.ref, inventory.c.md5, inventory.c.pdq)
            out += list(conn.execute(q.where(inventory.c.ref.in_(wanted[i : i + 500]))))
    return out


def count_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(inventory)).scalar() or 0)


def _good_frames(frames: Any) -> list[str]:
    return sorted({f["pdq"] for f in frames or [] if int(f.get("q", 0)) >= PDQ_MIN_QUALITY})
