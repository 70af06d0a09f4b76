"""The vPDQ match rule, as Meta's vPDQ defines it.

Frames below quality 50 are dropped and repeated hashes are counted once; then the share of
query frames with some target frame within distance 31, and the share of target frames with
some query frame within distance 31, must both reach the threshold.

Neither share needs the query x target distance matrix (36,000 x 36,000 frames was 93 s and
1.7 GB): by pigeonhole, two 256-bit hashes within 31 bits agree to within one bit on at least
one of their sixteen 16-bit chunks, so each frame is compared only with the frames that do
(found by binary search in the other video's sorted chunks), in batches of bounded size, and
stops being searched once it has found one. The answer is exactly the brute-force one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from takeitdown.protocol import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, VpdqHash

DEFAULT_MATCH_SHARE = 0.8
CHUNKS = 16  # of 16 bits: 16 x (1 + 1) > 31, so a pair within 31 agrees to 1 bit on one chunk
PAIRS_PER_BATCH = 1 << 20  # candidate pairs verified at once (32 MB of XORs)
_PROBES = np.concatenate([[0], 1 << np.arange(16)]).astype(np.uint16)


@dataclass(frozen=True)
class VpdqMatch:
    query_share: float
    target_share: float
    is_match: bool


def _unique_good_frames(video: VpdqHash, min_quality: int) -> np.ndarray:
    """The distinct frame hashes of quality >= min_quality, as an (n, 4) uint64 array."""
    values = sorted({f.pdq for f in video.frames if f.q >= min_quality})
    if not values:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(bytes.fromhex("".join(values)), dtype=">u8").astype(np.uint64)
    return raw.reshape(len(values), 4)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between rows a[i] and b[i]."""
    return np.bitwise_count(a ^ b).sum(axis=1, dtype=np.int32)


def _brute_any(a: np.ndarray, b: np.ndarray, distance: int) -> np.ndarray:
    """For a distance past the pigeonhole bound: blocks of rows, never the whole matrix."""
    hit = np.zeros(len(a), dtype=bool)
    rows = max(1, PAIRS_PER_BATCH // max(1, len(b)))
    for s in range(0, len(a), rows):
        x = np.bitwise_count(a[s : s + rows, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int32)
        hit[s : s + rows] = (x <= distance).any(axis=1)
    return hit


def any_within(a: np.ndarray, b: np.ndarray, distance: int = PDQ_MATCH_THRESHOLD) -> np.ndarray:
    """For each row of `a`, whether some row of `b` is within `distance` bits (exact)."""
    hit = np.zeros(len(a), dtype=bool)
    if len(a) == 0 or len(b) == 0:
        return hit
    if distance >= 2 * CHUNKS:
        return _brute_any(a, b, distance)
    a16, b16 = a.view(np.uint16).reshape(len(a), CHUNKS), b.view(np.uint16).reshape(len(b), CHUNKS)
    active = np.arange(len(a))
    for c in range(CHUNKS):
        order = np.argsort(b16[:, c], kind="stable")
        sorted_b = b16[order, c]
        for probe in _PROBES:
            if len(active) == 0:
                return hit
            keys = a16[active, c] ^ probe
            lo = np.searchsorted(sorted_b, keys, "left")
            counts = np.searchsorted(sorted_b, keys, "right") - lo
            ends = np.cumsum(counts)
            start = 0
            while start < len(active):  # batches of at most PAIRS_PER_BATCH candidate pairs
                base = ends[start - 1] if start else 0
                stop = max(start + 1, int(np.searchsorted(ends, base + PAIRS_PER_BATCH, "right")))
                n = counts[start:stop]
                rows = np.repeat(np.arange(start, stop), n)
                if len(rows):
                    offs = np.arange(len(rows)) - np.repeat(np.cumsum(n) - n, n)
                    cand = order[np.repeat(lo[start:stop], n) + offs]
                    close = _distances(a[active[rows]], b[cand]) <= distance
                    hit[active[rows[close]]] = True
                start = stop
            active = active[~hit[active]]
    return hit


def vpdq_match(
    query: VpdqHash,
    target: VpdqHash,
    threshold: float = DEFAULT_MATCH_SHARE,
    distance: int = PDQ_MATCH_THRESHOLD,
    min_quality: int = PDQ_MIN_QUALITY,
) -> VpdqMatch:
    q = _unique_good_frames(query, min_quality)
    t = _unique_good_frames(target, min_quality)
    if len(q) == 0 or len(t) == 0:
        return VpdqMatch(0.0, 0.0, False)
    query_share = float(any_within(q, t, distance).mean())
    target_share = float(any_within(t, q, distance).mean())
    return VpdqMatch(query_share, target_share, query_share >= threshold and target_share >= threshold)
