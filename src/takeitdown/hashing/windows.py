"""Centred window hashes: PDQ of the middle 80% and the middle 70% of a photo (docs/matching.md).

A repost cropped by a few percent a side no longer matches the whole-image PDQ (a 2% crop of
one edge moves it a median 26 bits), but it still contains the middle of the photo. The device
sends these two windows beside the whole-image hash; the platform searches its upload for the
sub-window that lines up with them (`takeitdown.node.subwindows`).

The window box is integer arithmetic that the page's JS (webshared/pdq.js `windowBox`) repeats
exactly: a margin of round(side * (100 - percent) / 200) pixels on every edge.
"""

from __future__ import annotations

from PIL import Image

from takeitdown.hashing.pdq import pdq_of_image
from takeitdown.protocol import PdqWindowHash

WINDOW_PERCENTS: tuple[int, ...] = (80, 70)


def window_box(width: int, height: int, percent: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred window keeping `percent` of each side."""
    mx = (width * (100 - percent) + 100) // 200
    my = (height * (100 - percent) + 100) // 200
    return mx, my, width - mx, height - my


def window_hashes(image: Image.Image) -> tuple[PdqWindowHash, ...]:
    """The 80% and 70% window PDQs of a decoded image (as `load_image` gives it)."""
    out = []
    for percent in WINDOW_PERCENTS:
        box = window_box(image.width, image.height, percent)
        pdq = pdq_of_image(image.crop(box))
        out.append(PdqWindowHash(pdq.value, pdq.quality, percent))
    return tuple(out)
