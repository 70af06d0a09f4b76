"""The vPDQ match rule, as Meta's vPDQ defines it.

Frames below quality 50 are dropped and repeated hashes are counted once; then the share of
query frames with some target frame within distance 31, and the share of target frames with
some query frame within distance 31, must both reach the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from takeitdown.protocol import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY, VpdqHash

DEFAULT_MATCH_SHARE = 0.8


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
    """Hamming distances between every row of a and every row of b."""
    xor = a[:, None, :] ^ b[None, :, :]
    return np.bitwise_count(xor).sum(axis=2, dtype=np.int32)


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
    close = np.zeros((len(q), len(t)), dtype=bool)
    # Blocks keep memory bounded for long videos.
    for start in range(0, len(q), 256):
        close[start : start + 256] = _distances(q[start : start + 256], t) <= distance
    query_share = float(close.any(axis=1).mean())
    target_share = float(close.any(axis=0).mean())
    return VpdqMatch(query_share, target_share, query_share >= threshold and target_share >= threshold)
