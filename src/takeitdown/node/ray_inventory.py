"""The serving node's inventory on Ray shards (TAKEITDOWN_NODE_INVENTORY_SHARDS > 0).

`RayInventory` is the node's `NodeInventory` over a `ShardedInventory`: the hosted items' hashes
live in the shards' actors, never in the node's memory. The `node_inventory` rows stay the
record (a scan writes rows, as with the local inventory); this class feeds new rows into the
shards in id order and remembers how far it got (`through`).

- Start: if the shard directory holds a manifest (`inventory.json`: the split and `through`)
  written at the last save, each actor loads its shard file and only newer rows are added;
  otherwise (first start, another split, a crash during a save, a different database) the shard
  files are deleted and the shards rebuilt from every row, in batches.
- Rows another process adds are fed before each match and in the background (`start()`); the
  shards are saved every TAKEITDOWN_NODE_INVENTORY_SAVE_MINUTES and at `close()`.
- A row id skipped while feeding (on PostgreSQL a transaction that commits after a later one)
  is looked for again on each feed until GAP_SECONDS have passed (then it was rolled back or
  deleted).
- Shards never remove an item: a rescanned item's old hashes stay in its shard. So hits are
  checked against the rows: a hit whose item's current row holds other hashes is dropped, and
  the row's id is the hit's `inventory_id`.
- An actor that dies (its machine lost) fails the call: the shards are reopened from the saved
  files, caught up from the rows, and the call tried once more.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from takeitdown.node.background import BackgroundLoop
from takeitdown.node.db import Database
from takeitdown.node.inventory import InventoryItem, RetroHit, count_rows, rows_by_refs
from takeitdown.node.schema import inventory
from takeitdown.node.sharded_inventory import ShardedInventory, _ray

log = logging.getLogger("takeitdown.node.inventory")

MANIFEST = "inventory.json"
FEED_BATCH = 5_000  # rows read and sent to the shards at a time: the node's memory stays bounded
GAP_SECONDS = 600.0
MAX_GAPS = 10_000
T = TypeVar("T")


class InventoryStartError(RuntimeError):
    """The shards could not be started (no Ray cluster at the address, or none could start)."""


class RayInventory:
    def __init__(
        self,
        db: Database,
        shards: int,
        directory: str | Path,
        threshold: int = 31,
        vpdq_share: float = 0.8,
        cpus: float = 1.0,
        address: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if shards < 1:
            raise ValueError("need at least one shard")
        self.db = db
        self.n = shards
        self.directory = Path(directory).resolve()
        self.threshold = threshold
        self.vpdq_share = vpdq_share
        self.cpus = cpus
        self.clock = clock
        self._lock = threading.RLock()  # one feed or match at a time keeps `through` and the shards in step
        self._started_ray = _connect(address)
        self.through = 0  # rows up to this id (but the gaps) are in the shards
        self.gaps: dict[int, float] = {}  # row id skipped -> when first seen missing
        self.items = 0  # items the shards hold (a rescanned item's old rows included)
        self.opened = ""  # "loaded" (shard files) or "rebuilt" (from the rows), for logs and tests
        self._dirty = False
        self._feeder: _Feeder | None = None
        self.shards = self._open()

    # -- opening, saving, closing -------------------------------------------------------------------
    def _open(self) -> ShardedInventory:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = self._manifest()
        started = time.perf_counter()
        shards = self._actors(state)
        if state is not None and self.items != int(state.get("items", -1)):
            log.warning("the saved shard files do not hold what was saved: rebuilding from the database")
            shards.close()
            state = None
            shards = self._actors(None)
        self.shards = shards
        # A rebuild takes the rows committed as it reads them; the ids below them that it skips are
        # deleted rows (rescans), not rows still to come, so they are not watched as gaps.
        added = self._feed(watch_gaps=state is not None)
        if state is None and added:
            self.save()  # a rebuild can be long: a crash after it should not repeat it
        log.info(
            "inventory shards %s in %.1fs: %d shards, %d items, %d rows added, through row %d",
            self.opened, time.perf_counter() - started, self.n, self.items, added, self.through,
        )  # fmt: skip
        return shards

    def _actors(self, state: dict[str, Any] | None) -> ShardedInventory:
        """The shard actors: loading the saved files with `state`, else empty (old files deleted)."""
        if state is None:
            (self.directory / MANIFEST).unlink(missing_ok=True)
            for p in self.directory.glob("shard-*-of-*.npz*"):
                p.unlink()
            self.through, self.gaps, self.opened = 0, {}, "rebuilt"
        else:
            self.through = int(state["through"])
            self.gaps = {int(k): float(v) for k, v in (state.get("gaps") or {}).items()}
            self.opened = "loaded"
        try:
            shards = ShardedInventory(self.n, self.directory, self.threshold, self.vpdq_share, self.cpus)
            self.items = sum(n for n, _ in shards.sizes())
        except Exception as e:
            raise InventoryStartError(f"could not start {self.n} inventory shards on Ray: {e}") from e
        self._dirty = False
        return shards

    def _manifest(self) -> dict[str, Any] | None:
        """The last save's state, if the shard files there can be trusted for this database."""
        path = self.directory / MANIFEST
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            through, shards = int(state["through"]), int(state["shards"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):
            log.warning("%s is unreadable: rebuilding the inventory shards from the database", path)
            return None
        if shards != self.n:
            log.info("the saved shards are a split of %d, not %d: rebuilding them", shards, self.n)
            return None
        with self.db.read() as conn:
            top = conn.execute(select(func.max(inventory.c.id))).scalar() or 0
        if through > top:  # saved from another (or a restored) database
            log.warning("the saved shards are ahead of this database's rows: rebuilding from the database")
            return None
        return dict(state)

    def save(self) -> bool:
        """Save the shards if rows were added since the last save; True if saved."""
        with self._lock:
            if not self._dirty:
                return False
            manifest = self.directory / MANIFEST
            manifest.unlink(missing_ok=True)  # a crash while the files are written leaves no manifest
            self.shards.save()
            tmp = manifest.with_name(MANIFEST + ".tmp")
            state = {"shards": self.n, "through": self.through, "gaps": self.gaps, "items": self.items}
            tmp.write_text(json.dumps(state), encoding="utf-8")
            tmp.replace(manifest)
            self._dirty = False
            log.info("inventory shards saved through row %d (%d items)", self.through, self.items)
            return True

    def start(self, refresh_seconds: float, save_seconds: float) -> None:
        """Feed new rows every `refresh_seconds` and save every `save_seconds`, in the background."""
        self._feeder = _Feeder(self, refresh_seconds, save_seconds)
        self._feeder.start()

    def close(self) -> None:
        if self._feeder is not None:
            self._feeder.stop()
            self._feeder = None
        with self._lock:
            try:
                self.save()
            except Exception:  # noqa: BLE001 - the rows are the record: the next start rebuilds
                log.exception("saving the inventory shards failed")
            self.shards.close()
            if self._started_ray:
                _ray().shutdown()
                self._started_ray = False

    # -- feeding rows -------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Feed the shards the rows added since the last feed (in id order); returns how many."""
        with self._lock:
            return self._retrying(self._feed)

    def _feed(self, watch_gaps: bool = True) -> int:
        added = 0
        now = self.clock()
        if self.gaps:
            self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS}
            wanted = sorted(self.gaps)
            for i in range(0, len(wanted), 500):
                rows = self._rows(inventory.c.id.in_(wanted[i : i + 500]))
                added += self._send(rows)
                for r in rows:
                    self.gaps.pop(int(r.id), None)
        while True:
            rows = self._rows(inventory.c.id > self.through, limit=FEED_BATCH)
            if not rows:
                return added
            expected = self.through + 1
            for r in rows:
                for missing in range(expected, min(int(r.id), expected + MAX_GAPS) if watch_gaps else 0):
                    self.gaps.setdefault(missing, now)
                expected = int(r.id) + 1
            if len(self.gaps) > MAX_GAPS:  # keep the newest: the oldest are the likeliest deleted
                self.gaps = dict(sorted(self.gaps.items())[-MAX_GAPS:])
            added += self._send(rows)
            self.through = int(rows[-1].id)
            self._dirty = True

    def _rows(self, where: Any, limit: int | None = None) -> list[Any]:
        q = select(
            inventory.c.id, inventory.c.source, inventory.c.ref, inventory.c.md5, inventory.c.pdq,
            inventory.c.frames,
        ).where(where).order_by(inventory.c.id)  # fmt: skip
        with self.db.read() as conn:
            return list(conn.execute(q if limit is None else q.limit(limit)))

    def _send(self, rows: Sequence[Any]) -> int:
        if not rows:
            return 0
        items = [InventoryItem(r.source, r.ref, r.md5, [r.pdq] if r.pdq else [], r.frames) for r in rows]
        self.shards.add_items(items)
        self.items += len(items)
        self._dirty = True
        return len(items)

    # -- matching -----------------------------------------------------------------------------------
    def match_entries(self, entries: Iterable[Any]) -> list[RetroHit]:
        """Every shard at once (after feeding new rows); each hit checked against its item's row."""
        batch = list(entries)
        with self._lock:

            def match() -> list[RetroHit]:
                self._feed()
                return self.shards.match_entries(batch)

            hits = self._retrying(match)
        return self._current(hits)

    def _current(self, hits: list[RetroHit]) -> list[RetroHit]:
        """Hits on the items as their rows hold them now, the best per (item, entry), with row ids."""
        if not hits:
            return []
        rows = {(r.source, r.ref): r for r in rows_by_refs(self.db, [h.ref for h in hits])}
        best: dict[tuple[int, int], RetroHit] = {}
        for h in hits:
            row = rows.get((h.source, h.ref))
            if row is None or (row.md5, row.pdq) != (h.md5, h.pdq):
                continue  # a rescanned item's old hashes (its shard keeps them)
            key = (int(row.id), h.entry_id)
            if key not in best or h.distance < best[key].distance:
                best[key] = RetroHit(
                    h.ref, h.entry_id, h.type, h.distance, h.md5, h.pdq, h.source, inventory_id=int(row.id)
                )
        return [best[k] for k in sorted(best)]

    def _retrying(self, call: Callable[[], T]) -> T:
        """`call`, and once more after reopening the shards if an actor was lost."""
        ray = _ray()
        try:
            return call()
        except ray.exceptions.RayActorError as e:
            log.warning("an inventory shard was lost (%s): reopening the shards", type(e).__name__)
        try:
            self.shards.close()
        except Exception:  # noqa: BLE001 - the lost actors may not answer a kill
            log.debug("closing the lost shards failed", exc_info=True)
        self.shards = self._open()
        return call()

    # -- what the database answers ------------------------------------------------------------------
    def by_refs(self, refs: Sequence[str]) -> list[Any]:
        return rows_by_refs(self.db, refs)

    def count(self) -> int:
        return count_rows(self.db)

    def size(self) -> dict[str, int]:
        """Counted here, not asked of the actors: health probes must not wait on the cluster."""
        return {
            "inventory_shards": self.n,
            "inventory_shard_items": self.items,
            "inventory_through": self.through,
        }


class _Feeder(BackgroundLoop):
    thread_name = "takeitdown-inventory-shards"

    def __init__(self, inv: RayInventory, refresh_seconds: float, save_seconds: float) -> None:
        super().__init__()
        self.inv = inv
        self.refresh_seconds = refresh_seconds
        self.save_seconds = save_seconds

    def _run(self) -> None:
        next_save = time.monotonic() + self.save_seconds
        while not self._stop.is_set():
            try:
                self.inv.refresh()
                if time.monotonic() >= next_save:
                    next_save = time.monotonic() + self.save_seconds
                    self.inv.save()
            except Exception as e:  # noqa: BLE001 - the next round tries again; the rows are the record
                log.warning("feeding or saving the inventory shards failed (%s)", type(e).__name__)
            self._sleep(self.refresh_seconds)


def _connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` (unset: start one here) unless this process already has
    one; True if this call connected (and `close()` disconnects)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InventoryStartError(f"could not start or join {where} for the inventory shards: {e}") from e
    return True
