"""The photo hashes of a single-picture JPEG (whole-image PDQ and its window PDQs) from one
luma decode at 1/2 to 1/8 scale: the fast path of `takeitdown hash` and of the node's uploads.

Everything else (other formats, CMYK, animations, tiny pictures) goes through `load_image`.
See `prefilter` for why the block means of a DCT-scaled decode are enough for PDQ.
"""

from __future__ import annotations

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS, ImageSource, ScaledLuma, load_scaled_jpeg_luma
from takeitdown.hashing.pdq import pdq_of_buffer64
from takeitdown.hashing.prefilter import axis_weights, downsample64, jarosz_window
from takeitdown.hashing.windows import WINDOW_PERCENTS, window_box
from takeitdown.protocol import PdqHash, PdqWindowHash

# Scales the fast path uses. At full scale (1) nothing is saved, and the per-pixel difference
# between the JPEG's Y and the luma of its decoded RGB, which PDQ sees unaveraged in a small
# picture (box window of 1-3 pixels), moved 8 bits of a 256 px conformance photo: such
# pictures take the ordinary path.
BLOCKS = (8, 4, 2)


def choose_block(width: int, height: int) -> int:
    """The largest DCT scale whose blocks are at most half the smallest box window used, or 0.

    Measured (docs/hashing.md): at that bound the block means move no more bits than the
    luma-versus-RGB rounding does; 12 MP photos get 1/8.
    """
    smallest = min(WINDOW_PERCENTS, default=100)
    window = min(jarosz_window(width * smallest // 100), jarosz_window(height * smallest // 100))
    return next((b for b in BLOCKS if 2 * b <= window), 0)


def _pdq(luma: ScaledLuma, box: tuple[int, int, int, int]) -> PdqHash:
    left, top, right, bottom = box
    rows = axis_weights(luma.height, top, bottom - top, luma.block, luma.flip_rows)
    columns = axis_weights(luma.width, left, right - left, luma.block, luma.flip_cols)
    return pdq_of_buffer64(downsample64(luma.plane, rows, columns))


def jpeg_photo_hashes(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[PdqHash, tuple[PdqWindowHash, ...]] | None:
    """(whole-image PDQ, window PDQs) of a single-picture JPEG, or None when this path does not apply."""
    luma = load_scaled_jpeg_luma(source, choose_block, max_pixels)
    if luma is None:
        return None
    whole = _pdq(luma, (0, 0, luma.width, luma.height))
    windows = []
    for percent in WINDOW_PERCENTS:
        pdq = _pdq(luma, window_box(luma.width, luma.height, percent))
        windows.append(PdqWindowHash(pdq.value, pdq.quality, percent))
    return whole, tuple(windows)
