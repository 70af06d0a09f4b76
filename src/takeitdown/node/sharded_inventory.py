"""The inventory of hosted items' hashes, split across Ray actors, for platforms too big for one node.

The inventory (issue 12) keeps every scanned item's hashes so that a hash arriving later on the
feed is matched against what is hosted without reading a file again (retro-matching). A billion
items' hashes do not fit one machine (64 bytes a PDQ code in the index, more with the rotations),
so here the inventory is cut by item into shards, each an exact index (`InventoryShard`: the same
`PdqIndex` code as the hash list), each held by a Ray actor. A new feed entry is sent to every
shard at once and the hits come back merged: the same hits one shard holding every item gives
(a test compares). Each shard saves to and loads from its own file.

The interface, which a single-machine inventory has as well (`InventoryShard` is one):
`add_items([(ref, ItemHashes)])`, `match_entries([Entry]) -> [RetroHit]`, `save(dir)`,
`load(dir)`, `len()`. `record_hits` puts hits on the review queue (source "retro").
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from takeitdown.hashing import PDQ_MIN_QUALITY, VpdqHash, vpdq_match
from takeitdown.node.index import PdqIndex, hex_to_codes
from takeitdown.node.matcher import ItemHashes, Policy
from takeitdown.node.store import Entry, NodeStore
from takeitdown.protocol import VpdqFrame


@dataclass(frozen=True, order=True)
class RetroHit:
    """A hosted item (`ref`) that a feed entry matches."""

    ref: str
    entry_id: int
    type: str  # "md5" | "pdq" | "vpdq"
    distance: int
    md5: str | None = None  # the item's own hashes, for the review item
    pdq: str | None = None

    def match_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "type": self.type, "distance": self.distance, "source": "registry"}


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
    """An exact inventory of some items: MD5, every PDQ a scan checks, and video frames.

    Per item (row): its ref, MD5 (16 bytes, zero if none), the PDQ in its stored orientation (32
    bytes, zero if none), and in one `PdqIndex` labelled by row every PDQ the scan checks for it
    (the 8 orientations of each picture, a video's frames). A video's frames are also kept as
    vPDQ, so a vPDQ entry is decided by the same rule as in a scan.
    """

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.index = PdqIndex(threshold=max(self.policy.review_distance, 31))
        self.refs = _Refs()
        self.md5 = np.zeros((0, 16), dtype=np.uint8)
        self.pdq0 = np.zeros((0, 32), dtype=np.uint8)
        self.videos: dict[int, list[dict[str, Any]]] = {}  # row -> vPDQ frames (JSON)
        self._md5_sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # bulk codes not yet indexed

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def nbytes(self) -> int:
        self._flush()
        return (
            self.index.nbytes + self.md5.nbytes + self.pdq0.nbytes + len(self.refs.blob) + 8 * len(self.refs)
        )

    # -- adding ------------------------------------------------------------------------------------
    def add_items(self, items: Iterable[tuple[str, ItemHashes | dict[str, Any]]]) -> int:
        refs: list[str] = []
        md5s: list[bytes] = []
        firsts: list[bytes] = []
        codes: list[str] = []
        rows: list[int] = []
        row = len(self.refs)
        for ref, h in items:
            h = h if isinstance(h, ItemHashes) else ItemHashes.from_json(h)
            refs.append(ref)
            md5s.append(bytes.fromhex(h.md5.value) if h.md5 else bytes(16))
            firsts.append(bytes.fromhex(h.pdq[0].value) if h.pdq else bytes(32))
            mine = {p.value for p in h.pdq if p.quality is None or p.quality >= PDQ_MIN_QUALITY}
            if h.vpdq is not None:
                mine |= {f.pdq for f in h.vpdq.frames if f.q >= PDQ_MIN_QUALITY}
                self.videos[row] = [f.to_json() for f in h.vpdq.frames]
            codes += sorted(mine)
            rows += [row] * len(mine)
            row += 1
        self._append(refs, md5s, firsts)
        if codes:
            self._pending.append((hex_to_codes(codes), np.array(rows, dtype=np.int64)))
        return len(refs)

    def add_codes(self, refs: Sequence[str], codes: np.ndarray, md5: np.ndarray | None = None) -> int:
        """Bulk: one PDQ (and optionally one MD5) an item, as (n, 32) or (n, 4) arrays."""
        c = np.ascontiguousarray(codes).reshape(len(refs), -1).view(np.uint8).reshape(len(refs), 32)
        start = len(self.refs)
        self.refs.add(refs)
        self.md5 = np.concatenate([self.md5, np.zeros((len(refs), 16), np.uint8) if md5 is None else md5])
        self.pdq0 = np.concatenate([self.pdq0, c])
        self._md5_sorted = None
        self._pending.append((c.view(np.uint64).reshape(-1, 4), np.arange(start, start + len(refs))))
        return len(refs)

    def _append(self, refs: list[str], md5s: list[bytes], firsts: list[bytes]) -> None:
        if not refs:
            return
        self.refs.add(refs)
        self.md5 = np.concatenate([self.md5, np.frombuffer(b"".join(md5s), np.uint8).reshape(-1, 16)])
        self.pdq0 = np.concatenate([self.pdq0, np.frombuffer(b"".join(firsts), np.uint8).reshape(-1, 32)])
        self._md5_sorted = None

    def _flush(self) -> None:
        """Index what was added: small additions one by one, a bulk one by a rebuild."""
        if not self._pending:
            return
        codes = np.concatenate([c for c, _ in self._pending])
        rows = np.concatenate([r for _, r in self._pending])
        self._pending = []
        if len(codes) < 10_000:
            for c, r in zip(codes, rows.tolist(), strict=True):
                self.index.add(r, c)
            return
        old_codes, old_rows = self.index.export()
        self.index.build(np.concatenate([old_codes, codes]), np.concatenate([old_rows, rows]))

    # -- matching -------------------------------------------------------------------------------------
    def match_entries(self, entries: Sequence[Entry]) -> list[RetroHit]:
        """Every item each entry matches, as a scan with the entry on the list would find it."""
        self._flush()
        hits: list[RetroHit] = []
        md5s = [e for e in entries if e.type == "md5"]
        if md5s:
            hits += self._md5_hits(md5s)
        pdqs = [e for e in entries if e.type == "pdq"]
        if pdqs:
            found = self.index.search([e.value for e in pdqs], self.policy.review_distance)
            for e, res in zip(pdqs, found, strict=True):
                best: dict[int, int] = {}
                for row, d in res:
                    best[int(row)] = min(d, best.get(int(row), 999))
                hits += [self._hit(row, e.entry_id, "pdq", d) for row, d in best.items()]
        for e in entries:
            if e.type == "vpdq":
                hits += self._vpdq_hits(e)
        return sorted(hits)

    def _md5_hits(self, entries: list[Entry]) -> list[RetroHit]:
        if self._md5_sorted is None:
            keys = self.md5[:, :8].copy().view(np.uint64).ravel()
            order = np.argsort(keys, kind="stable")
            self._md5_sorted = (keys[order], order)
        keys, order = self._md5_sorted
        want = np.frombuffer(b"".join(bytes.fromhex(e.value) for e in entries), np.uint8).reshape(-1, 16)
        wkeys = want[:, :8].copy().view(np.uint64).ravel()
        lo = np.searchsorted(keys, wkeys, side="left")
        hi = np.searchsorted(keys, wkeys, side="right")
        out = []
        for e, w, a, b in zip(entries, want, lo.tolist(), hi.tolist(), strict=True):
            for row in order[a:b].tolist():
                if bytes(self.md5[row]) == bytes(w):
                    out.append(self._hit(row, e.entry_id, "md5", 0))
        return out

    def _vpdq_hits(self, e: Entry) -> list[RetroHit]:
        frames = sorted({str(f["pdq"]) for f in e.frames or [] if int(f.get("q", 0)) >= PDQ_MIN_QUALITY})
        if not frames or not self.videos:
            return []
        cands = {int(row) for res in self.index.search(frames, 31) for row, _ in res} & self.videos.keys()
        target = VpdqHash(tuple(VpdqFrame.parse(f) for f in e.frames or []))
        out = []
        for row in sorted(cands):
            item = VpdqHash(tuple(VpdqFrame.parse(f) for f in self.videos[row]))
            vm = vpdq_match(item, target, threshold=self.policy.vpdq_share)
            if vm.is_match:
                d = round(100 * (1 - min(vm.query_share, vm.target_share)))
                out.append(self._hit(row, e.entry_id, "vpdq", d))
        return out

    def _hit(self, row: int, entry_id: int, kind: str, distance: int) -> RetroHit:
        md5 = bytes(self.md5[row])
        pdq = bytes(self.pdq0[row])
        return RetroHit(
            self.refs[row],
            entry_id,
            kind,
            int(distance),
            md5.hex() if any(md5) else None,
            pdq.hex() if any(pdq) else None,
        )

    # -- persistence -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One file (numpy .npz, uncompressed), written aside and renamed, so a crash keeps the old one."""
        self._flush()
        codes, rows = self.index.export()
        blob, ends = self.refs.arrays()
        videos = json.dumps({str(k): v for k, v in self.videos.items()}).encode()
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(
                f, codes=codes, rows=rows, blob=blob, ends=ends, md5=self.md5, pdq0=self.pdq0,
                videos=np.frombuffer(videos, np.uint8),
            )  # fmt: skip
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, policy: Policy | None = None) -> InventoryShard:
        shard = cls(policy)
        with np.load(Path(path)) as z:
            shard.refs = _Refs.of(z["blob"], z["ends"])
            shard.md5, shard.pdq0 = z["md5"], z["pdq0"]
            shard.videos = {int(k): v for k, v in json.loads(z["videos"].tobytes() or b"{}").items()}
            if len(z["codes"]):
                shard.index.build(z["codes"], z["rows"])
        return shard


def shard_of(ref: str, shards: int) -> int:
    """Which shard holds an item: stable across runs and machines (not Python's salted hash)."""
    return zlib.crc32(ref.encode("utf-8")) % shards


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ImportError("a sharded inventory needs Ray: pip install 'takeitdown[ray]'") from e
    return ray


class _ShardActor:
    """What each Ray actor runs: one `InventoryShard`, saved to and loaded from its own file."""

    def __init__(self, policy: Policy, path: str | None) -> None:
        p = Path(path) if path else None
        self.shard = (
            InventoryShard.load(p, policy) if p is not None and p.exists() else InventoryShard(policy)
        )

    def add_items(self, items: list[tuple[str, dict[str, Any]]]) -> int:
        return self.shard.add_items(items)

    def add_codes(self, refs: list[str], codes: np.ndarray, md5: np.ndarray | None = None) -> int:
        return self.shard.add_codes(refs, codes, md5)

    def match_entries(self, entries: list[Entry]) -> list[RetroHit]:
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
        self, shards: int, directory: str | Path | None = None, policy: Policy | None = None, cpus: float = 1
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
        self.actors = [actor.remote(policy or Policy(), self._file(i)) for i in range(shards)]

    def _file(self, i: int) -> str | None:
        return str(self.directory / f"shard-{i:04d}-of-{self.n:04d}.npz") if self.directory else None

    def add_items(self, items: Iterable[tuple[str, ItemHashes]]) -> int:
        parts: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(self.n)]
        for ref, h in items:
            parts[shard_of(ref, self.n)].append((ref, h.to_json()))
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

    def match_entries(self, entries: Sequence[Entry]) -> list[RetroHit]:
        """Every shard at once; hits merged in one order (the order one shard gives)."""
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


def record_hits(store: NodeStore, hits: Iterable[RetroHit]) -> int:
    """Put retro-match hits on the review queue: one item per hosted item, source "retro"."""
    by_ref: dict[str, list[RetroHit]] = {}
    for h in hits:
        by_ref.setdefault(h.ref, []).append(h)
    with store.db.write() as conn:
        for ref, hs in sorted(by_ref.items()):
            first = hs[0]
            store.add_review("retro", ref, first.md5, first.pdq, [h.match_json() for h in hs], conn)
    return len(by_ref)
