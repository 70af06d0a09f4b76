"""What the node matches of an upload beyond its own hashes (docs/matching.md):

- the photo rectangles found inside each picture (`candidates.photo_boxes`), whose whole-image
  PDQs in 8 orientations join the upload's own PDQ queries;
- the window search (`windowsearch`) in the picture and in those rectangles, giving window
  matches that agree (both windows at one place: auto-action) or not (one window: review).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from takeitdown.hashing import PdqHash, pdq_dihedral
from takeitdown.node.candidates import photo_boxes
from takeitdown.node.windowsearch import Picture, WindowHit, WindowIndex, inner_hits, search

if TYPE_CHECKING:
    from takeitdown.node.matcher import Match

MAX_SEARCHED_PICTURES = 2  # of a multi-frame upload, the first pictures get the window search
MAX_BOXES = 3  # photo rectangles per picture
BOX_WORK_SIZE = 1024  # long side of the copy the rectangles are found on (the bench's photos)


class PictureSearch:
    def __init__(self, pictures: list[Image.Image], windows: WindowIndex) -> None:
        self.windows = windows
        self.pdqs: list[PdqHash] = []
        self.searched: list[Image.Image] = []
        for picture in pictures:
            crops = [picture.crop(box) for box in _boxes(picture)[:MAX_BOXES]]
            for crop in crops:
                self.pdqs += pdq_dihedral(crop)
            # The window search runs in the picture itself and in the first photo rectangle found
            # (a wrong rectangle, say a flat sky taken for a band, must not hide the picture).
            self.searched += [picture, *crops[:1]]

    def matches(self) -> list[Match]:
        """Window matches over every searched picture, best per entry; stops at an agreed one."""
        from takeitdown.node.matcher import Match

        if not len(self.windows):
            return []
        best: dict[tuple[int, str], Match] = {}

        def keep(m: Match) -> None:
            key = (int(m.entry_id or 0), m.type)
            have = best.get(key)
            if have is None or (m.agreed, -m.distance) > (have.agreed, -have.distance):
                best[key] = m

        for image in self.searched:
            picture = Picture(image)
            for hit in search(picture, self.windows):
                if hit.window == 80:
                    inner = _best(inner_hits(picture, self.windows, hit))
                    keep(Match(hit.entry_id, "pdq80", hit.distance, agreed=inner is not None))
                    if inner is not None:
                        keep(Match(inner.entry_id, "pdq70", inner.distance, agreed=True))
                else:
                    keep(Match(hit.entry_id, "pdq70", hit.distance, agreed=False))
            if any(m.agreed for m in best.values()):
                break
        return sorted(best.values(), key=lambda m: (not m.agreed, m.distance, m.entry_id or 0))


def _best(hits: list[WindowHit]) -> WindowHit | None:
    return min(hits, key=lambda h: h.distance) if hits else None


def _boxes(picture: Image.Image) -> list[tuple[int, int, int, int]]:
    """The photo rectangles of a picture, found on a copy of at most BOX_WORK_SIZE px: edges are
    placed to a pixel of that copy (0.1% of a side, where PDQ needs 1%), and a 10000 x 10000
    upload costs 0.2 CPU-s instead of 2.1 (and 300 MB) at full size."""
    scale = min(1.0, BOX_WORK_SIZE / max(picture.size))
    if scale == 1:
        return photo_boxes(np.asarray(picture.convert("RGB")))
    factor = math.ceil(max(picture.size) / BOX_WORK_SIZE)  # an integer box filter: the cheap one
    small = (picture if picture.mode in ("RGB", "L") else picture.convert("RGB")).reduce(factor)
    small = small.convert("RGB")
    sx, sy = picture.width / small.width, picture.height / small.height
    boxes = photo_boxes(np.asarray(small))
    return [(round(a * sx), round(b * sy), round(c * sx), round(d * sy)) for a, b, c, d in boxes]
