"""PDQ of many sub-windows of one picture at once, for the window search (docs/matching.md).

PDQ is linear up to its last step: luma -> two passes of box filters along each axis (Jarosz)
-> 64x64 decimation -> 16x16 DCT -> one bit per coefficient above the median. For a
sub-window rows [a, b) x columns [c, d), the 16x16 coefficients are (D Y) L (D X)^T, where Y
(64 x h) and X (64 x w) are the filter-and-decimate operators of PDQ's reference for a side
of b - a and d - c samples, placed at offsets a and c. So the picture's luma is multiplied
once by each distinct row operator (16 x H), and every window then costs a 16 x W by W x 16
product: about 1,300 windows (and their 8 rotations and flips, free in the DCT domain) take
tens of milliseconds where 10,000 calls to pdqhash would take seconds. The result equals
pdqhash on the cropped picture up to float rounding (tests/node/test_window_match.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# Rec. 601 luma, as PDQ's reference computes it.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@lru_cache(maxsize=1)
def _dct() -> np.ndarray:
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    return np.sqrt(2 / 64) * np.cos(np.pi / 2 / 64 * i * (2 * j + 1))


def _box(n: int, window: int) -> np.ndarray:
    """The reference's 1-D box filter (window shrinking at the edges) as an n x n matrix."""
    half = (window + 2) // 2
    k = np.arange(n)
    lo = np.maximum(0, k - (window - half))
    hi = np.minimum(n - 1, k + half - 1)
    j = np.arange(n)
    inside = (j[None, :] >= lo[:, None]) & (j[None, :] <= hi[:, None])
    return inside / (hi - lo + 1)[:, None]


@lru_cache(maxsize=512)
def axis_operator(n: int) -> np.ndarray:
    """(16, n): DCT rows 1..16 of the 64 decimated samples of two box passes along n samples
    (float32, as PDQ's reference computes: the same bits, twice as fast as double)."""
    window = max(1, (n + 2 * 64 - 1) // (2 * 64))
    box = _box(n, window)
    rows = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    decimated = box[rows] @ box  # two passes: the sampled rows of B.B
    return np.ascontiguousarray(_dct() @ decimated, dtype=np.float32)


def luma_of(pixels: np.ndarray) -> np.ndarray:
    """Float luma of an H x W x 3 uint8 array (or an H x W one already grey)."""
    if pixels.ndim == 2:
        return pixels.astype(np.float64)
    return pixels.astype(np.float32) @ LUMA.astype(np.float32)


def window_coefficients(
    luma: np.ndarray, rows: list[tuple[int, int]], cols: list[tuple[int, int]]
) -> np.ndarray:
    """(len(rows), len(cols), 16, 16) PDQ coefficients of every window rows[i] x cols[j]."""
    height, width = luma.shape
    luma = luma.astype(np.float32)
    col_ops = np.zeros((len(cols), 16, width), dtype=np.float32)
    for j, (c0, c1) in enumerate(cols):
        col_ops[j, :, c0:c1] = axis_operator(c1 - c0)
    flat_cols = col_ops.reshape(len(cols) * 16, width)
    out = np.empty((len(rows), len(cols), 16, 16), dtype=np.float32)
    for i, (r0, r1) in enumerate(rows):
        left = axis_operator(r1 - r0) @ luma[r0:r1]  # 16 x W
        out[i] = (left @ flat_cols.T).reshape(16, len(cols), 16).transpose(1, 0, 2)
    return out


# The 8 rotations and flips act on the coefficients as transposes and sign patterns: flipping
# a side maps cos((i+1)(2j+1)pi/128) to (-1)^(i+1) times itself.
_SIGN = np.where(np.arange(1, 17) % 2 == 1, -1.0, 1.0)


def dihedral(coeffs: np.ndarray, orientations: tuple[int, ...] = tuple(range(8))) -> np.ndarray:
    """(..., len(orientations), 16, 16): the coefficients of those rotations and flips of each
    window (0 as is, 1 rows flipped, 2 columns flipped, 3 both; 4-7 the same, transposed)."""
    signs = (None, _SIGN[:, None], _SIGN[None, :], _SIGN[:, None] * _SIGN[None, :])
    out = []
    for o in orientations:
        turned = coeffs if o % 4 == 0 else coeffs * signs[o % 4]
        out.append(np.swapaxes(turned, -1, -2) if o >= 4 else turned)
    return np.stack(out, axis=-3)


def to_codes(coeffs: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 index codes (the byte order of the hex form) of (n, 16, 16) coefficients."""
    flat = coeffs.reshape(-1, 256)
    median = np.partition(flat, 127, axis=1)[:, 127:128]  # the reference's lower middle value
    bits = flat > median
    # bit k = i*16 + j is bit k of the 256-bit number the hex spells: byte 0 holds bits 255..248
    packed = np.packbits(bits[:, ::-1], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64).reshape(-1, 4)


def codes_to_hex(codes: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in np.ascontiguousarray(codes).reshape(-1, 4)]


def quality_of(luma: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> int:
    """PDQ's quality of one window (the gradient sum of its 64 x 64 decimated picture)."""
    r0, r1 = rows
    c0, c1 = cols
    a = _decimated(r1 - r0) @ luma[r0:r1, c0:c1].astype(np.float64) @ _decimated(c1 - c0).T
    a = a.astype(np.float32)
    d = (
        np.trunc((a[:-1] - a[1:]) * 100 / 255).__abs__().sum()
        + np.trunc((a[:, :-1] - a[:, 1:]) * 100 / 255).__abs__().sum()
    )
    return int(min(100, int(d) // 90))


@lru_cache(maxsize=64)
def _decimated(n: int) -> np.ndarray:
    window = max(1, (n + 2 * 64 - 1) // (2 * 64))
    box = _box(n, window)
    rows = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    return box[rows] @ box
