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
