"""PDQ's blur-and-decimate to 64x64, computed from a JPEG decoded at 1/2, 1/4 or 1/8 scale.

The reference (`pdqhash`, Meta's C++) turns a full-size luma plane into 64x64 with two passes
of a box filter along each axis (its "Jarosz" tent filter, window ceil(side / 128)) and then
takes the value at 64 centred points. That is linear and separable, so each output value is a
fixed weighted sum of full-size pixels: `axis_weights` builds those weights from the reference's
own box rule (`box1DFloat`: edges average only the pixels they have). libjpeg's DCT scaling
gives, for free, the mean of every s x s block of the full-size luma (exactly so at 1/8, where
it keeps only the DC coefficient), so the weights are summed per block and applied to the
small plane. The 64x64 result goes to `pdqhash` itself (see `pdq.pdq_of_buffer64`), which
passes a 64x64 input through unchanged to its DCT, median and quality steps.

What this skips: the full-size decode, the colour planes, and pdqhash's float filtering of 12
million pixels. What it costs: the block means stand in for the pixels inside each block,
which moves a few near-median bits at most (docs/hashing.md has the measured distances).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SIDE = 64  # PDQ's downsampled side


def jarosz_window(side: int) -> int:
    """The reference's box window for one axis (computeJaroszFilterWindowSize(side, 64))."""
    return (side + 2 * SIDE - 1) // (2 * SIDE)


def _box_transposed(y: np.ndarray, window: int) -> np.ndarray:
    """B^T @ y for the reference's box filter B along axis 0 of y (n x k).

    B averages, for output o, the inputs [o + h - window, o + h) clipped to the vector, with
    h = (window + 2) // 2: the window the C++ slides, including its shrinking edges.
    """
    n, k = y.shape
    half = (window + 2) // 2
    out_index = np.arange(n)
    lo = np.maximum(0, out_index + half - window)
    hi = np.minimum(n, out_index + half)
    share = (y / (hi - lo)[:, None]).ravel()
    columns = np.arange(k)
    size = (n + 1) * k
    diff = np.bincount((lo[:, None] * k + columns).ravel(), share, size)
    diff -= np.bincount((hi[:, None] * k + columns).ravel(), share, size)
    return np.cumsum(diff.reshape(n + 1, k), axis=0)[:n]


@dataclass(frozen=True)
class Band:
    """A 64 x n operator stored as its band: output i is sum(weights[i] * x[start[i] + t])."""

    start: np.ndarray  # (64,) int
    weights: np.ndarray  # (64, taps) float64, zero past each row's band

    @property
    def index(self) -> np.ndarray:
        return self.start[:, None] + np.arange(self.weights.shape[1])


@lru_cache(maxsize=256)
def axis_weights(full: int, offset: int, length: int, block: int, flipped: bool) -> Band:
    """Weights that take one axis of a block-scaled plane to PDQ's 64 samples.

    `full` is the axis length at full size, [offset, offset + length) the part being hashed
    (a window, or the whole axis), in the displayed orientation; `block` is the DCT scale
    (1, 2, 4 or 8); `flipped` says the stored image runs the other way along this axis (EXIF
    orientation), which decides where its partial edge block lies.
    """
    window = jarosz_window(length)
    samples = ((np.arange(SIDE) + 0.5) * length / SIDE).astype(np.int64)
    select = np.zeros((length, SIDE))
    select[samples, np.arange(SIDE)] = 1.0
    dense = _box_transposed(_box_transposed(select, window), window).T  # 64 x length
    blocks = -(-full // block)
    position = np.arange(offset, offset + length)
    # the block of the small plane that each full-size position falls in
    small = blocks - 1 - (full - 1 - position) // block if flipped else position // block
    # `small` never decreases along the axis, so each block is one run of columns to add up.
    first = np.flatnonzero(np.r_[True, small[1:] != small[:-1]])
    summed = np.zeros((SIDE, blocks))
    summed[:, small[first]] = np.add.reduceat(dense, first, axis=1)
    # The running sums leave rounding dust (~1e-17) outside each band: not part of it.
    summed[summed < 1e-12] = 0.0
    nonzero = summed != 0
    start = nonzero.argmax(axis=1)
    stop = blocks - nonzero[:, ::-1].argmax(axis=1)
    taps = int((stop - start).max())
    start = np.minimum(start, blocks - taps)  # keep every row's band inside the plane
    rows = np.arange(SIDE)[:, None]
    weights = summed[rows, start[:, None] + np.arange(taps)]
    return Band(start.astype(np.int64), np.ascontiguousarray(weights))


def downsample64(plane: np.ndarray, rows: Band, columns: Band) -> np.ndarray:
    """The 64x64 float buffer PDQ would compute, from a (block-scaled) luma plane."""
    across = (plane[:, columns.index] * columns.weights).sum(axis=2)  # H x 64
    return (across[rows.index] * rows.weights[:, :, None]).sum(axis=1)  # 64 x 64
