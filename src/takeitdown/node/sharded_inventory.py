"""The inventory of hosted items' hashes, split across Ray actors, for platforms too big for one node.

The inventory (issue 12) keeps every scanned item's hashes so that a hash arriving later on the
feed is matched against what is hosted without reading a file again (retro-matching). A billion
items' hashes do not fit one machine (64 bytes a PDQ code in the index, more with the rotations),
so here the inventory is cut by item into shards, each an exact index (`InventoryShard`: the same
`PdqIndex` code as the hash list), each held by a Ray actor. A new feed entry is sent to every
shard at once and the hits come back merged: the same hits one shard holding every item gives
(a test compares). Each shard saves to and loads from its own file.

The interface is the node's own inventory's (`inventory.Inventory`, issue 12): `add_items(
[InventoryItem])`, `match_entries(entries) -> [RetroHit]`, and its `RetroHit`s, so a
`ReviewDesk` takes a `ShardedInventory` in its place and puts hits on the review queue (source
"retro") the same way. Shards persist with `save()` and load when opened on their directory.
The serving node uses it through `ray_inventory.RayInventory` (TAKEITDOWN_NODE_INVENTORY_SHARDS),
which feeds it the database's inventory rows.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from takeitdown.hashing import PDQ_MIN_QUALITY, VpdqHash, vpdq_match
from takeitdown.node.index import PdqIndex, hex_to_codes
from takeitdown.node.inventory import InventoryItem, RetroHit
from takeitdown.protocol import VpdqFrame


class _Refs:
    """Item refs as one byte blob and an array of ends: about len(ref) + 8 bytes an item, not a
    Python string (and list slot) each."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.ends = np.zeros(0, dtype=np.int64)

    def add(self, refs: Sequence[str]) -> None:
        encoded = [r.encode("utf-8") for r in refs]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        self.ends = np.concatenate([self.ends, len(self.blob) + np.cumsum(lengths)])
        self.blob += b"".join(encoded)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, row: int) -> str:
        start = int(self.ends[row - 1]) if row else 0
        return self.blob[start : int(self.ends[row])].decode("utf-8")

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.frombuffer(bytes(self.blob), dtype=np.uint8), self.ends

    @classmethod
    def of(cls, blob: np.ndarray, ends: np.ndarray) -> _Refs:
        r = cls()
        r.blob = bytearray(blob.tobytes())
        r.ends = np.asarray(ends, dtype=np.int64)
        return r


class InventoryShard:
    """An exact inventory of some items, matched as `inventory.Inventory` matches (a test compares).

    Per item (row): its source and ref, MD5 (16 bytes, zero if none), the PDQ as stored (32
    bytes, zero if none) in a `PdqIndex` labelled by row, a video's good frames in a second one,
    and a video's vPDQ frames for the frame-share rule.
    """

    def __init__(self, threshold: int = 31, vpdq_share: float = 0.8) -> None:
        self.threshold = threshold
        self.vpdq_share = vpdq_share
        self.index = PdqIndex(threshold=threshold)  # as-stored PDQ, label = row
        self.frames = PdqIndex(threshold=threshold)  # good frames of videos, label = row
        self.refs = _Refs()
        self.source_names: list[str] = []  # few distinct scan sources: a 4-byte id an item
        self.source_ids = np.zeros(0, dtype=np.uint32)
        self.md5 = np.zeros((0, 16), dtype=np.uint8)
        self.pdq0 = np.zeros((0, 32), dtype=np.uint8)
        self.videos: dict[int, list[dict[str, Any]]] = {}  # row -> vPDQ frames (JSON)
        self._md5_sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"index": [], "frames": []}

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def nbytes(self) -> int:
        self._flush()
        refs = len(self.refs.blob) + self.refs.ends.nbytes + self.source_ids.nbytes
        return self.index.nbytes + self.frames.nbytes + self.md5.nbytes + self.pdq0.nbytes + refs

    # -- adding ------------------------------------------------------------------------------------
    def add_items(self, items: Iterable[InventoryItem]) -> int:
        items = list(items)
        row = len(self.refs)
        codes: list[str] = []
        rows: list[int] = []
        fcodes: list[str] = []
        frows: list[int] = []
        for it in items:
            if it.pdq:
                codes.append(it.pdq[0])
                rows.append(row)
            if it.frames:
                self.videos[row] = list(it.frames)
                good = _good_frames(it.frames)
                fcodes += good
                frows += [row] * len(good)
            row += 1
        self.refs.add([it.ref for it in items])
        self._add_sources([it.source for it in items])
        md5 = b"".join(bytes.fromhex(it.md5) if it.md5 else bytes(16) for it in items)
        pdq = b"".join(bytes.fromhex(it.pdq[0]) if it.pdq else bytes(32) for it in items)
        self.md5 = np.concatenate([self.md5, np.frombuffer(md5, np.uint8).reshape(-1, 16)])
        self.pdq0 = np.concatenate([self.pdq0, np.frombuffer(pdq, np.uint8).reshape(-1, 32)])
        self._md5_sorted = None
        if codes:
            self._pending["index"].append((hex_to_codes(codes), np.array(rows, dtype=np.int64)))
        if fcodes:
            self._pending["frames"].append((hex_to_codes(fcodes), np.array(frows, dtype=np.int64)))
        return len(items)

    def add_codes(
        self, refs: Sequence[str], codes: np.ndarray, md5: np.ndarray | None = None, source: str = ""
    ) -> int:
        """Bulk: one PDQ (and optionally one MD5) an item, as (n, 32) or (n, 4) arrays."""
        c = np.ascontiguousarray(codes).reshape(len(refs), -1).view(np.uint8).reshape(len(refs), 32)
        start = len(self.refs)
        self.refs.add(refs)
        self._add_sources([source] * len(refs))
        self.md5 = np.concatenate([self.md5, np.zeros((len(refs), 16), np.uint8) if md5 is None else md5])
        self.pdq0 = np.concatenate([self.pdq0, c])
        self._md5_sorted = None
        self._pending["index"].append((c.view(np.uint64).reshape(-1, 4), np.arange(start, start + len(refs))))
        return len(refs)

    def _add_sources(self, sources: list[str]) -> None:
        known = {name: i for i, name in enumerate(self.source_names)}
        ids = []
        for src in sources:
            if src not in known:
                known[src] = len(self.source_names)
                self.source_names.append(src)
            ids.append(known[src])
        self.source_ids = np.concatenate([self.source_ids, np.array(ids, dtype=np.uint32)])

    def _flush(self) -> None:
        """Index what was added: small additions one by one, a bulk one by a rebuild."""
        for name, index in (("index", self.index), ("frames", self.frames)):
            pending = self._pending[name]
            if not pending:
                continue
            codes = np.concatenate([c for c, _ in pending])
            rows = np.concatenate([r for _, r in pending])
            self._pending[name] = []
            if len(codes) < 10_000:
                for c, r in zip(codes, rows.tolist(), strict=True):
                    index.add(r, c)
                continue
            old_codes, old_rows = index.export()
            index.build(np.concatenate([old_codes, codes]), np.concatenate([old_rows, rows]))

    # -- matching -------------------------------------------------------------------------------------
    def match_entries(self, entries: Iterable[Any]) -> list[RetroHit]:
        """Every item each entry matches, best per (item, entry), in the order `Inventory` keeps."""
        self._flush()
        found: dict[tuple[int, int], tuple[str, int]] = {}

        def keep(row: int, entry_id: int, kind: str, d: int) -> None:
            k = (row, entry_id)
            if k not in found or d < found[k][1]:
                found[k] = (kind, d)

        md5s: dict[str, list[int]] = {}
        pdqs: dict[str, list[int]] = {}
        videos: list[Any] = []
        for e in entries:
            if e.type == "md5":
                md5s.setdefault(e.value, []).append(int(e.entry_id))
            elif e.type == "pdq":  # window hashes (pdq80, pdq70) describe a crop: no whole item
                pdqs.setdefault(e.value, []).append(int(e.entry_id))
            elif e.type == "vpdq":
                videos.append(e)
        if md5s:
            for row, value in self._md5_rows(sorted(md5s)):
                for eid in md5s[value]:
                    keep(row, eid, "md5", 0)
        if pdqs:
            values = sorted(pdqs)
            for index in (self.index, self.frames):
                for value, res in zip(values, index.search(values), strict=True):
                    for label, d in res:
                        for eid in pdqs[value]:
                            keep(int(label), eid, "pdq", int(d))
        for e in videos:
            self._match_video(e, keep)
        return [self._hit(row, eid, kind, d) for (row, eid), (kind, d) in sorted(found.items())]

    def _md5_rows(self, values: list[str]) -> list[tuple[int, str]]:
        if self._md5_sorted is None:
            keys = self.md5[:, :8].copy().view(np.uint64).ravel()
            order = np.argsort(keys, kind="stable")
            self._md5_sorted = (keys[order], order)
        keys, order = self._md5_sorted
        want = np.frombuffer(b"".join(bytes.fromhex(v) for v in values), np.uint8).reshape(-1, 16)
        wkeys = want[:, :8].copy().view(np.uint64).ravel()
        lo = np.searchsorted(keys, wkeys, side="left").tolist()
        hi = np.searchsorted(keys, wkeys, side="right").tolist()
        out = []
        for value, w, a, b in zip(values, want, lo, hi, strict=True):
            out += [(row, value) for row in order[a:b].tolist() if bytes(self.md5[row]) == bytes(w)]
        return out

    def _match_video(self, e: Any, keep: Any) -> None:
        target_frames = [VpdqFrame.parse(f) for f in e.frames or []]
        good = sorted({f.pdq for f in target_frames if f.q >= PDQ_MIN_QUALITY})
        if not good:
            return
        cands = sorted({int(row) for res in self.frames.search(good) for row, _ in res})
        target = VpdqHash(tuple(target_frames))
        for row in cands:
            query = VpdqHash(tuple(VpdqFrame.parse(f) for f in self.videos.get(row) or []))
            vm = vpdq_match(query, target, threshold=self.vpdq_share)
            if vm.is_match:
                keep(row, int(e.entry_id), "vpdq", round(100 * (1 - min(vm.query_share, vm.target_share))))

    def _hit(self, row: int, entry_id: int, kind: str, distance: int) -> RetroHit:
        md5 = bytes(self.md5[row])
        pdq = bytes(self.pdq0[row])
        own_md5 = md5.hex() if any(md5) else None
        own_pdq = pdq.hex() if any(pdq) else None
        source = self.source_names[int(self.source_ids[row])]
        return RetroHit(self.refs[row], entry_id, kind, int(distance), own_md5, own_pdq, source)

    # -- persistence -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One file (numpy .npz, uncompressed), written aside and renamed, so a crash keeps the old one."""
        self._flush()
        codes, rows = self.index.export()
        fcodes, frows = self.frames.export()
        blob, ends = self.refs.arrays()
        names = json.dumps(self.source_names).encode()
        videos = json.dumps({str(k): v for k, v in self.videos.items()}).encode()
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(
                f, codes=codes, rows=rows, fcodes=fcodes, frows=frows, blob=blob, ends=ends,
                names=np.frombuffer(names, np.uint8), source_ids=self.source_ids, md5=self.md5,
                pdq0=self.pdq0, videos=np.frombuffer(videos, np.uint8),
            )  # fmt: skip
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, threshold: int = 31, vpdq_share: float = 0.8) -> InventoryShard:
        shard = cls(threshold, vpdq_share)
        with np.load(Path(path)) as z:
            shard.refs = _Refs.of(z["blob"], z["ends"])
            shard.source_names = json.loads(z["names"].tobytes())
            shard.source_ids = z["source_ids"]
            shard.md5, shard.pdq0 = z["md5"], z["pdq0"]
            shard.videos = {int(k): v for k, v in json.loads(z["videos"].tobytes() or b"{}").items()}
            if len(z["codes"]):
                shard.index.build(z["codes"], z["rows"])
            if len(z["fcodes"]):
                shard.frames.build(z["fcodes"], z["frows"])
        return shard


def _good_frames(frames: Any) -> list[str]:
    return sorted({f["pdq"] for f in frames or [] if int(f.get("q", 0)) >= PDQ_MIN_QUALITY})


def shard_of(ref: str, shards: int) -> int:
    """Which shard holds an item: stable across runs and machines (not Python's salted hash)."""
    return zlib.crc32(ref.encode("utf-8")) % shards


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "a sharded inventory needs Ray: install takeitdown's ray extra, `pip install '.[ray]'` in a"
            " checkout or `pip install 'takeitdown-<version>-py3-none-any.whl[ray]'` from a wheel"
        ) from e
    return ray


class _ShardActor:
    """What each Ray actor runs: one `InventoryShard`, saved to and loaded from its own file."""

    def __init__(self, threshold: int, vpdq_share: float, path: str | None) -> None:
        p = Path(path) if path else None
        if p is not None and p.exists():
            self.shard = InventoryShard.load(p, threshold, vpdq_share)
        else:
            self.shard = InventoryShard(threshold, vpdq_share)

    def add_items(self, items: list[InventoryItem]) -> int:
        return self.shard.add_items(items)

    def add_codes(self, refs: list[str], codes: np.ndarray, md5: np.ndarray | None = None) -> int:
        return self.shard.add_codes(refs, codes, md5)

    def match_entries(self, entries: list[Any]) -> list[RetroHit]:
        return self.shard.match_entries(entries)

    def save(self, path: str) -> None:
        self.shard.save(path)

    def size(self) -> tuple[int, int]:
        return len(self.shard), self.shard.nbytes

    def cpu_seconds(self) -> float:
        return time.process_time()


class ShardedInventory:
    """The inventory over `shards` Ray actors (by item); `directory` keeps one file a shard.

    Opening it on a directory that holds shard files loads them (each actor reads its own).
    The directory must be readable by the actors: a local disk for a one-machine cluster, a
    shared file system otherwise.
    """

    def __init__(
        self,
        shards: int,
        directory: str | Path | None = None,
        threshold: int = 31,
        vpdq_share: float = 0.8,
        cpus: float = 1,
    ) -> None:
        ray = _ray()
        if shards < 1:
            raise ValueError("need at least one shard")
        self.n = shards
        self.directory = Path(directory).resolve() if directory else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            found = sorted(self.directory.glob("shard-*-of-*.npz"))
            if found and any(not p.name.endswith(f"-of-{shards:04d}.npz") for p in found):
                raise ValueError(f"{self.directory} holds shards of another split than {shards}")
        actor = ray.remote(num_cpus=cpus)(_ShardActor)
        self.actors = [actor.remote(threshold, vpdq_share, self._file(i)) for i in range(shards)]

    def _file(self, i: int) -> str | None:
        return str(self.directory / f"shard-{i:04d}-of-{self.n:04d}.npz") if self.directory else None

    def add_items(self, items: Iterable[InventoryItem]) -> int:
        parts: list[list[InventoryItem]] = [[] for _ in range(self.n)]
        for it in items:
            parts[shard_of(it.ref, self.n)].append(it)
        ray = _ray()
        return sum(ray.get([a.add_items.remote(p) for a, p in zip(self.actors, parts, strict=True) if p]))

    def add_codes(self, refs: Sequence[str], codes: np.ndarray, md5: np.ndarray | None = None) -> int:
        """Bulk: one PDQ an item (and optionally one MD5), routed by ref like `add_items`."""
        ray = _ray()
        where = np.array([shard_of(r, self.n) for r in refs], dtype=np.int64)
        calls = []
        for i, a in enumerate(self.actors):
            sel = np.flatnonzero(where == i)
            if len(sel):
                part_refs = [refs[j] for j in sel.tolist()]
                calls.append(a.add_codes.remote(part_refs, codes[sel], None if md5 is None else md5[sel]))
        return sum(ray.get(calls))

    def match_entries(self, entries: Iterable[Any]) -> list[RetroHit]:
        """Every shard at once; hits merged in one order. Entries: store.Entry or alike."""
        ray = _ray()
        batch = ray.put(list(entries))
        hits = [h for part in ray.get([a.match_entries.remote(batch) for a in self.actors]) for h in part]
        return sorted(hits)

    def save(self) -> None:
        if self.directory is None:
            raise ValueError("this inventory was opened without a directory")
        _ray().get([a.save.remote(self._file(i)) for i, a in enumerate(self.actors)])

    def sizes(self) -> list[tuple[int, int]]:
        """(items, bytes) of each shard."""
        return list(_ray().get([a.size.remote() for a in self.actors]))

    def __len__(self) -> int:
        return sum(n for n, _ in self.sizes())

    def cpu_seconds(self) -> list[float]:
        """CPU seconds each shard's actor process has used (what a benchmark on a shared machine
        can trust more than wall time)."""
        return list(_ray().get([a.cpu_seconds.remote() for a in self.actors]))

    def close(self) -> None:
        ray = _ray()
        for a in self.actors:
            ray.kill(a)
        self.actors = []
