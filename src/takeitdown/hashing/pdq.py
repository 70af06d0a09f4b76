"""PDQ through Meta's reference implementation (the `pdqhash` package)."""

from __future__ import annotations

import numpy as np
import pdqhash
from PIL import Image

from takeitdown.protocol import PdqHash


def _pixels(image: Image.Image) -> np.ndarray:
    """An HxWx3 uint8 array for pdqhash. A greyscale image is given as a zero-copy view whose
    three channels are the same plane, so R=G=B=L and pdqhash's luma is L itself."""
    if image.mode == "L":
        plane = np.asarray(image, dtype=np.uint8)
        return np.lib.stride_tricks.as_strided(plane, shape=(*plane.shape, 3), strides=(*plane.strides, 0))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def pdq_of_pixels(pixels: np.ndarray) -> PdqHash:
    """PDQ of an HxWx3 uint8 RGB array."""
    bits, quality = pdqhash.compute(pixels)
    return PdqHash.from_bits(bits, int(quality))


def pdq_of_image(image: Image.Image) -> PdqHash:
    """PDQ (with quality) of a decoded image."""
    return pdq_of_pixels(_pixels(image))


def pdq_dihedral(image: Image.Image) -> list[PdqHash]:
    """PDQ of the 8 rotations and flips, in the reference's order: original, rotate 90, 180,
    270, flip x, flip y, flip about the main and the other diagonal."""
    hashes, quality = pdqhash.compute_dihedral(_pixels(image))
    return [PdqHash.from_bits(bits, int(quality)) for bits in hashes]


# pdqhash reads 8-bit RGB and takes its luma as 0.299 R + 0.587 G + 0.114 B. Rounding a float
# buffer to one grey level moves its DCT by up to 1, which flips near-median bits of flat
# pictures; nudging R, G and B apart by up to 3 levels reaches the wanted luma within 0.02.
_NUDGES = np.array([(r, g, b) for r in range(-3, 4) for g in range(-3, 4) for b in range(-3, 4)])
_NUDGE_LUMA = _NUDGES @ np.array([0.299, 0.587, 0.114])
_NUDGE_ORDER = np.argsort(_NUDGE_LUMA)
_NUDGE_SORTED = _NUDGE_LUMA[_NUDGE_ORDER]


def _rgb_of_luma(luma: np.ndarray) -> np.ndarray:
    """An 8-bit RGB array whose pdqhash luma is `luma` (0-255 floats) to within about 0.02."""
    luma = np.clip(luma, 0.0, 255.0)
    base = np.clip(np.rint(luma), 3, 252)
    rest = (luma - base).ravel()
    at = np.clip(np.searchsorted(_NUDGE_SORTED, rest), 1, len(_NUDGE_SORTED) - 1)
    nearer = np.where(rest - _NUDGE_SORTED[at - 1] < _NUDGE_SORTED[at] - rest, at - 1, at)
    nudge = _NUDGES[_NUDGE_ORDER[nearer]].reshape(*luma.shape, 3)
    return (base[..., None] + nudge).astype(np.uint8)


def pdq_of_buffer64(buffer: np.ndarray) -> PdqHash:
    """PDQ of an already blurred and decimated 64x64 luma buffer (`prefilter.downsample64`).

    pdqhash takes a 64x64 input as its 64x64 buffer as is (its box window is 1 pixel there), so
    only its DCT, median and quality steps run, on the luma carried by `_rgb_of_luma`.
    """
    bits, quality = pdqhash.compute(_rgb_of_luma(buffer))
    return PdqHash.from_bits(bits, int(quality))
