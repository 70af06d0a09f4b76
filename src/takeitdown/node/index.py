"""Exact PDQ radius search at millions of hashes: multi-index hashing (Norouzi et al.).

The 256 bits are cut into m chunks (table t covers bits [offs[t], offs[t] + w)). If a stored
hash is within distance r of the query and the chunk radii satisfy sum(radii[t] + 1) > r, then by
pigeonhole at least one chunk differs by at most radii[t] bits, so probing every key within
radii[t] of the query's chunk in every table finds every match. Candidates are verified by the
exact Hamming distance, so the result equals brute force.

Memory (the goal is under 64 bytes a stored hash):
- codes, 30 B, stored in the key order of table 0, so table 0 needs no row ids (and its
  bits: the bucket a row sits in gives them);
- labels (entry ids), 4 B, only if asked for: the node's main index stores none and maps a
  matched code back to its entry through the database, since a PDQ value is one entry;
- tables 1..m-1: row ids of 3 bytes (4 above 2**24 rows), read a pass ahead of use;
- every table: a unary bucket bitmap (one bit per entry and per bucket) and a sample of
  bucket starts every 64 buckets, instead of an offsets array: about 0.28 B a hash a table
  at 10M;
- a tombstone bitmap (1/8 B) for removals.
Recent adds go to a small buffer that is brute-forced; `compact()` folds buffer and tombstones
into a new segment (run it in the background; adds and removes keep working meanwhile).
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from takeitdown.node import _kernels as K

DEFAULT_THRESHOLD = 31
SAMPLE_SHIFT = 6  # a bucket-start sample every 64 buckets: a lookup scans a word or two
ID3_MAX_ROWS = 2**24  # row ids take 3 bytes up to here, 4 above


def hex_to_codes(values: Sequence[str]) -> np.ndarray:
    """PDQ hex strings -> (n, 4) uint64 (the byte order does not matter to Hamming distance)."""
    if not values:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = bytes.fromhex("".join(values))
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4).copy()


def _as_codes(codes: np.ndarray | Sequence[str]) -> np.ndarray:
    if isinstance(codes, np.ndarray):
        arr = np.ascontiguousarray(codes)
        if arr.dtype == np.uint8 and arr.size % 32 == 0:
            arr = arr.reshape(-1, 32).view(np.uint64)
        elif arr.dtype == np.uint64 and arr.size % 4 == 0:
            arr = arr.reshape(-1, 4)
        if arr.dtype != np.uint64 or arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError("codes must be (n, 32) uint8 or (n, 4) uint64")
        return np.ascontiguousarray(arr)
    return hex_to_codes(list(codes))


@dataclass(frozen=True)
class Layout:
    """Which bits each table covers and how far it probes."""

    offs: np.ndarray  # int64 bit offsets
    widths: np.ndarray  # int64 chunk widths
    radii: np.ndarray  # int64 probe radius per table
    masks: np.ndarray  # uint32 xor masks, per table, by increasing weight
    mask_off: np.ndarray  # int64 start of each table's masks in `masks`

    @classmethod
    def plan(cls, n: int, threshold: int, tables: int = 9, width: int | None = None) -> Layout:
        # Chunks about log2(n) bits wide keep buckets near one entry; the bitmap costs
        # 2**width bits, so the width is capped at 24 to keep the whole under 64 bytes a hash.
        if width is None:
            width = min(24, 256 // tables, max(12, math.ceil(math.log2(max(n, 2)))))
        tables = min(tables, 256 // width)
        need = threshold + 1  # sum(radii + 1) must exceed the threshold
        base, extra = divmod(need, tables)
        radii = [base if t < extra else base - 1 for t in range(tables)]
        if min(radii) < 0:
            radii = [max(0, r) for r in radii]
        step = 256 // tables
        offs = [t * step for t in range(tables)]
        masks: list[np.ndarray] = []
        mask_off = [0]
        for r in radii:
            # Probes ordered by sample block: neighbouring probes then share the block's sample and
            # bitmap words (and their ids lie close), so most lookups hit the cache.
            m = _masks(width, r)
            m = m[np.lexsort((m, m >> SAMPLE_SHIFT))]
            masks.append(m)
            mask_off.append(mask_off[-1] + len(m))
        return cls(
            offs=np.array(offs, dtype=np.int64),
            widths=np.full(tables, width, dtype=np.int64),
            radii=np.array(radii, dtype=np.int64),
            masks=np.concatenate(masks).astype(np.uint32),
            mask_off=np.array(mask_off, dtype=np.int64),
        )


def _masks(width: int, radius: int) -> np.ndarray:
    out = [0]
    for k in range(1, radius + 1):
        for bits in itertools.combinations(range(width), k):
            out.append(sum(1 << b for b in bits))
    return np.array(out, dtype=np.uint32)


class Segment:
    """An immutable multi-index over n codes (plus a mutable tombstone bitmap)."""

    def __init__(self, codes: np.ndarray, labels: np.ndarray | None, layout: Layout) -> None:
        n = len(codes)
        self.n = n
        self.layout = layout
        w0, off0 = int(layout.widths[0]), int(layout.offs[0])
        keys0 = K.chunk_keys(codes, off0, w0)
        order = np.argsort(keys0, kind="stable")
        codes = np.ascontiguousarray(codes[order])
        # Stored without table 0's bits (the bucket a row sits in gives them back): 3 words in
        # `hi`, the rest of word 0 in `lo` bytes. 30 bytes a code instead of 32 at 10M.
        self.hi = np.ascontiguousarray(codes[:, 1:4])
        self.lo_bytes = (64 - w0 + 7) // 8
        self.lo = np.ascontiguousarray(
            (codes[:, 0] >> np.uint64(w0)).view(np.uint8).reshape(n, 8)[:, : self.lo_bytes]
        )
        self.labels = (
            None
            if labels is None
            else labels[order].astype(np.uint32 if labels.max(initial=0) < 2**32 else np.int64)
        )
        del keys0, order
        self.idb = idb = 3 if n <= ID3_MAX_ROWS else 4
        m = len(layout.offs)
        self.ids = np.zeros((m - 1) * n * idb, dtype=np.uint8)  # (m - 1) tables x n rows x idb bytes
        bms: list[np.ndarray] = []
        samples: list[np.ndarray] = []
        for t in range(m):
            keys = K.chunk_keys(codes, int(layout.offs[t]), int(layout.widths[t]))
            if t == 0:
                skeys = keys
            else:
                order = np.argsort(keys, kind="stable").astype(np.uint32)
                skeys = keys[order]
                low_bytes = order.view(np.uint8).reshape(n, 4)[:, :idb]  # little-endian
                self.ids[(t - 1) * n * idb : t * n * idb] = low_bytes.reshape(-1)
                del order
            bm, smp = _bucket_bitmap(skeys, int(layout.widths[t]))
            bms.append(bm)
            samples.append(smp)
            del keys, skeys
        self.bm = np.concatenate(bms)
        self.bm_off = np.cumsum([0] + [len(b) for b in bms[:-1]]).astype(np.int64)
        self.samples = np.concatenate(samples)
        self.s_off = np.cumsum([0] + [len(s) for s in samples[:-1]]).astype(np.int64)
        self.tomb = np.zeros((n + 63) // 64 + 1, dtype=np.uint64)
        self.dead = 0
        del codes
        self._ns0 = int(self.s_off[1]) if m > 1 else len(self.samples)
        # What the search kernels read, in their order (see `_kernels.search_segment`). The
        # tombstone bitmap is the same array object, so removals show at once.
        lay = layout
        self.arrays = (
            self.hi, self.lo, self.tomb, self.n, lay.offs, lay.widths, lay.radii, lay.masks,
            lay.mask_off, self.bm, self.bm_off, self.samples, self.s_off, SAMPLE_SHIFT, self.ids,
            self.idb,
        )  # fmt: skip

    def codes(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Full (n, 4) codes of the given rows (all rows by default), table-0 bits restored."""
        w0 = int(self.layout.widths[0])
        if rows is None:
            nb = 1 << w0
            bits = np.unpackbits(self.bm[: (self.n + nb + 63) // 64 + 1].view(np.uint8), bitorder="little")
            key0 = np.flatnonzero(bits[: self.n + nb]).astype(np.int64) - np.arange(self.n, dtype=np.int64)
            rows_ = np.arange(self.n)
        else:
            rows_ = np.asarray(rows, dtype=np.int64)
            key0 = np.array(
                [K.key_of_row(self.bm, self.samples, self._ns0, SAMPLE_SHIFT, int(r)) for r in rows_],
                dtype=np.int64,
            )
        low = np.zeros((len(rows_), 8), dtype=np.uint8)
        low[:, : self.lo_bytes] = self.lo[rows_]
        out = np.empty((len(rows_), 4), dtype=np.uint64)
        out[:, 0] = (low.view(np.uint64)[:, 0] << np.uint64(w0)) | key0.astype(np.uint64)
        out[:, 1:] = self.hi[rows_]
        return out

    @property
    def nbytes(self) -> int:
        parts = (self.hi, self.lo, self.ids, self.bm, self.samples, self.tomb)
        return sum(a.nbytes for a in parts) + (self.labels.nbytes if self.labels is not None else 0)

    def keys(self, rows: np.ndarray) -> list[int | str]:
        """What matches report: the labels, or (unlabelled) the codes as hex."""
        if self.labels is not None:
            return list(self.labels[rows].tolist())
        return [c.tobytes().hex() for c in self.codes(rows)]

    def search(self, queries: np.ndarray, threshold: int, cap: int = 32) -> list[list[tuple[int | str, int]]]:
        q = len(queries)
        rows = np.empty((q, cap), dtype=np.int64)
        dist = np.empty((q, cap), dtype=np.int32)
        cnt = np.zeros(q, dtype=np.int64)
        fn = K.search_segment if q >= 8 else K.search_segment_serial
        fn(queries, threshold, self.arrays, rows, dist, cnt)
        over = np.nonzero(cnt > cap)[0]
        kept = np.minimum(cnt, cap)
        hit = np.arange(cap) < kept[:, None]
        keys, dists = self.keys(rows[hit]), dist[hit].tolist()
        out, at = [], 0
        for k in kept.tolist():
            out.append(list(zip(keys[at : at + k], dists[at : at + k], strict=True)))
            at += k
        for i in over:  # rare: more matches than the slab holds; redo that query with room
            out[i] = self.search(queries[i : i + 1], threshold, cap=int(cnt[i]))[0]
        return out

    def kill(self, code: np.ndarray, label: int) -> bool:
        lay = self.layout
        rows = K.find_exact(code, self.hi, self.lo, self.bm, self.samples, SAMPLE_SHIFT, int(lay.widths[0]))
        for r in rows:
            r = int(r)
            same = self.labels is None or int(self.labels[r]) == label
            if same and not (int(self.tomb[r >> 6]) >> (r & 63)) & 1:
                self.tomb[r >> 6] |= np.uint64(1 << (r & 63))
                self.dead += 1
                return True
        return False

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        bits = np.unpackbits(self.tomb.view(np.uint8), bitorder="little")[: self.n].astype(bool)
        keep = ~bits
        labels = (
            self.labels[keep].astype(np.int64) if self.labels is not None else np.zeros(keep.sum(), np.int64)
        )
        return self.codes()[keep], labels


def _bucket_bitmap(sorted_keys: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Unary bucket bitmap (see `_kernels.bucket_range`) and its start samples."""
    n = len(sorted_keys)
    nb = 1 << width
    total = n + nb
    words = (total + 63) // 64 + 2
    bits = np.zeros(words * 64, dtype=np.uint8)
    bits[np.arange(n, dtype=np.int64) + sorted_keys.astype(np.int64)] = 1  # entry i at i + key
    bm = np.packbits(bits, bitorder="little").view(np.uint64)
    del bits
    # start of bucket x = (entries with key < x) + x
    step = 1 << SAMPLE_SHIFT
    xs = np.arange(0, nb + step, step, dtype=np.int64)
    starts = np.searchsorted(sorted_keys, xs, side="left").astype(np.int64) + xs
    dtype = np.uint32 if total < 2**32 else np.int64
    return bm, starts.astype(dtype)


class PdqIndex:
    """Exact PDQ Hamming-radius index with adds and removes that need no rebuild.

    Thread-safe: one lock guards the structure; searches hold it for the length of a query.
    """

    def __init__(
        self,
        threshold: int = DEFAULT_THRESHOLD,
        *,
        labelled: bool = True,
        tables: int | None = None,
        width: int | None = None,
        buffer_limit: int = 50_000,
        probe_radius: int | None = None,
    ) -> None:
        self.threshold = threshold
        # The radius the tables are probed for. Below `threshold` the search is exact only up to
        # it: a stored hash farther away (up to `threshold`) is found when one of its chunks is
        # within that chunk's probe radius, which near copies of a picture almost always meet
        # (their differing bits bunch up; pigeonhole assumes they spread evenly), while the probes
        # cost many times fewer (the window indexes: docs/matching.md measures the recall).
        self.probe_radius = threshold if probe_radius is None else min(probe_radius, threshold)
        self.labelled = labelled
        # Under 64 bytes a hash at 10M: 10 tables with 4-byte labels, 11 without.
        self._tables = tables or (10 if labelled else 11)
        self._width = width
        self.buffer_limit = buffer_limit
        self._lock = threading.RLock()
        self._segment: Segment | None = None
        self._buf_codes = np.zeros((1024, 4), dtype=np.uint64)
        self._buf_labels = np.zeros(1024, dtype=np.int64)
        self._buf_n = 0
        self._compacting = False
        self._removed_during_compaction: list[tuple[np.ndarray, int]] = []

    # -- pickling (to ship a built index to scan workers: its arrays travel, not a rebuild) -----
    def __getstate__(self) -> dict[str, object]:
        with self._lock:
            state = dict(self.__dict__)
            n = self._buf_n
            state["_buf_codes"] = self._buf_codes[: max(n, 1)].copy()
            state["_buf_labels"] = self._buf_labels[: max(n, 1)].copy()
        del state["_lock"]
        state["_compacting"] = False
        state["_removed_during_compaction"] = []
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("probe_radius", self.threshold)
        self._lock = threading.RLock()

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """Every live (code, label) as (n, 4) uint64 codes and int64 labels: to save or rebuild."""
        with self._lock:
            seg = self._segment
            codes, labels = (
                seg.live() if seg is not None else (np.zeros((0, 4), np.uint64), np.zeros(0, np.int64))
            )
            n = self._buf_n
            alive = self._buf_labels[:n] != -1 if self.labelled else np.ones(n, dtype=bool)
            return (
                np.concatenate([codes, self._buf_codes[:n][alive]]),
                np.concatenate([labels, self._buf_labels[:n][alive]]),
            )

    # -- size -------------------------------------------------------------------------------
    def __len__(self) -> int:
        seg = self._segment
        return (seg.n - seg.dead if seg else 0) + self._buf_n

    @property
    def nbytes(self) -> int:
        seg = self._segment
        return (seg.nbytes if seg else 0) + self._buf_n * 40

    # -- bulk build ---------------------------------------------------------------------------
    def build(
        self, codes: np.ndarray | Sequence[str], labels: Iterable[int] | np.ndarray | None = None
    ) -> None:
        """Replace the content with these codes (the fast way to load millions)."""
        arr = _as_codes(codes)
        if labels is None:
            if self.labelled:
                raise ValueError("this index stores labels: pass them")
            labels = np.zeros(len(arr), dtype=np.int64)
        lab = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels), dtype=np.int64)
        if len(arr) != len(lab):
            raise ValueError("codes and labels differ in length")
        seg = self._make_segment(arr, lab) if len(arr) else None
        with self._lock:
            self._segment = seg
            self._buf_n = 0

    def _make_segment(self, codes: np.ndarray, labels: np.ndarray) -> Segment:
        layout = Layout.plan(len(codes), self.probe_radius, self._tables, self._width)
        return Segment(codes, labels if self.labelled else None, layout)

    def _key(self, i: int) -> int | str:
        return int(self._buf_labels[i]) if self.labelled else self._buf_codes[i].tobytes().hex()

    # -- updates ------------------------------------------------------------------------------
    def add(self, label: int, code: str | np.ndarray) -> None:
        c = _as_codes([code]) if isinstance(code, str) else _as_codes(code).reshape(1, 4)
        with self._lock:
            if self._buf_n == len(self._buf_codes):
                self._buf_codes = np.concatenate([self._buf_codes, np.zeros_like(self._buf_codes)])
                self._buf_labels = np.concatenate([self._buf_labels, np.zeros_like(self._buf_labels)])
            self._buf_codes[self._buf_n] = c[0]
            self._buf_labels[self._buf_n] = label if self.labelled else 0
            self._buf_n += 1
            # The buffer may grow to a quarter of the segment, so a long catch-up costs O(n) rebuilds
            # in total rather than one rebuild every `buffer_limit` adds.
            seg_n = self._segment.n if self._segment is not None else 0
            grow = self._buf_n >= max(self.buffer_limit, seg_n // 4) and not self._compacting
        if grow:
            self.compact()

    def remove(self, label: int, code: str | np.ndarray) -> bool:
        c = (_as_codes([code]) if isinstance(code, str) else _as_codes(code).reshape(1, 4))[0]
        with self._lock:
            n = self._buf_n
            same = (self._buf_codes[:n] == c).all(axis=1)
            live = self._buf_labels[:n] == label if self.labelled else self._buf_labels[:n] != -1
            hit = np.nonzero(same & live)[0]
            if len(hit) and self._compacting:
                # The buffer is being split by a running compaction: mark, do not move rows.
                self._buf_labels[int(hit[0])] = -1
                self._removed_during_compaction.append((c.copy(), label))
                return True
            if len(hit):
                i = int(hit[0])
                last = n - 1
                self._buf_codes[i] = self._buf_codes[last]
                self._buf_labels[i] = self._buf_labels[last]
                self._buf_n = last
                return True
            if self._compacting:
                self._removed_during_compaction.append((c.copy(), label))
            return self._segment.kill(c, label) if self._segment else False

    def compact(self) -> None:
        """Fold the buffer and the tombstones into a new segment; safe alongside updates."""
        with self._lock:
            if self._compacting:
                return
            self._compacting = True
            seg = self._segment
            taken = self._buf_n
            buf_codes = self._buf_codes[:taken].copy()
            buf_labels = self._buf_labels[:taken].copy()
            self._removed_during_compaction = []
        try:
            if seg is not None:
                codes, labels = seg.live()
                codes = np.concatenate([codes, buf_codes])
                labels = np.concatenate([labels, buf_labels])
            else:
                codes, labels = buf_codes, buf_labels
            new = self._make_segment(codes, labels) if len(codes) else None
            with self._lock:
                # Buffer rows taken into the new segment leave the buffer; later ones stay.
                alive = self._buf_labels[taken : self._buf_n] != -1
                kept_codes = self._buf_codes[taken : self._buf_n][alive].copy()
                kept_labels = self._buf_labels[taken : self._buf_n][alive].copy()
                rest = len(kept_labels)
                self._segment = new
                self._buf_codes[:rest] = kept_codes
                self._buf_labels[:rest] = kept_labels
                self._buf_n = rest
                for c, label in self._removed_during_compaction:
                    if new is not None:
                        new.kill(c, label)
        finally:
            with self._lock:
                self._compacting = False
                self._removed_during_compaction = []

    # -- search -------------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray | Sequence[str], threshold: int | None = None
    ) -> list[list[tuple[int | str, int]]]:
        """For each query, every stored (label, distance) with distance <= threshold."""
        thr = self.threshold if threshold is None else threshold
        if thr > self.threshold:
            raise ValueError(f"threshold {thr} is above the index's build threshold {self.threshold}")
        q = _as_codes(queries)
        with self._lock:
            seg = self._segment
            out = seg.search(q, thr) if seg is not None else [[] for _ in range(len(q))]
            n = self._buf_n
            if n:
                cap = 32
                rows = np.empty((len(q), cap), dtype=np.int64)
                dist = np.empty((len(q), cap), dtype=np.int32)
                cnt = np.zeros(len(q), dtype=np.int64)
                K.search_brute(q, thr, self._buf_codes, n, rows, dist, cnt)
                for i in range(len(q)):
                    if cnt[i] > cap:
                        c = q[i : i + 1]
                        d = np.bitwise_count(self._buf_codes[:n] ^ c).sum(axis=1)
                        hits = np.nonzero(d <= thr)[0]
                        out[i] += [(self._key(int(r)), int(d[r])) for r in hits if self._buf_labels[r] != -1]
                    else:
                        out[i] += [
                            (self._key(int(r)), int(dd))
                            for r, dd in zip(rows[i, : cnt[i]], dist[i, : cnt[i]], strict=True)
                            if self._buf_labels[r] != -1
                        ]
        return out

    def search_one(self, code: str, threshold: int | None = None) -> list[tuple[int | str, int]]:
        return self.search([code], threshold)[0]


def warm_up() -> float:
    """Compile (or load from numba's cache) every search kernel now, not on the first upload.

    Builds a small index of each kind the node uses, searches it through the segment and the
    buffer paths, and returns the seconds it took.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2**63, size=(2048, 4), dtype=np.uint64)
    for labelled in (False, True):
        index = PdqIndex(labelled=labelled)
        index.build(codes, np.arange(len(codes), dtype=np.int64) if labelled else None)
        index.add(1, codes[0])  # the buffer path
        index.search(codes[:4])
    return time.perf_counter() - started
