"""Every picture of a multi-picture image file: the frames of an animated GIF, WebP or APNG and
the pages of a multi-page TIFF.

Only the first frame used to be hashed, so a listed photo shown after a 50 ms cover frame, or
as page 2 of a TIFF, went through. Each frame is decoded as the whole image would be (shrunk to
PDQ's work size) and hashed as a photo; identical frames are hashed once. Caps keep a file of
thousands of frames (or a frame bomb) bounded: at most `MAX_FRAMES` frames and
`MAX_TOTAL_PIXELS` decoded pixels in all.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from takeitdown.hashing.decode import (
    DEFAULT_MAX_PIXELS,
    PDQ_WORK_SIZE,
    ImageSource,
    _to_rgb,
    decoding,
    load_image,
    open_image,
)
from takeitdown.hashing.errors import HashingError
from takeitdown.hashing.pdq import pdq_of_image
from takeitdown.hashing.photo import jpeg_photo_hashes
from takeitdown.hashing.windows import window_hashes
from takeitdown.protocol import PdqHash, PdqWindowHash

MAX_FRAMES = 64  # frames (or pages) hashed per file
MAX_TOTAL_PIXELS = 400_000_000  # decoded pixels over all frames of one file
# Frames this close count as the same picture (a re-encoded still, a cursor blink).
SAME_FRAME_DISTANCE = 8


@dataclass(frozen=True)
class Still:
    """One picture of a file: its index (frame or page), its decoded pixels and its PDQ."""

    index: int
    image: Image.Image
    pdq: PdqHash


def _n_frames(image: Image.Image) -> int:
    """Counting frames reads the whole file: a damaged one is a HashingError, like any damage."""
    with decoding():
        return int(getattr(image, "n_frames", 1) or 1)


def frame_count(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """How many frames or pages the image file holds (1 for an ordinary photo)."""
    image = open_image(source, max_pixels)
    try:
        return _n_frames(image)
    finally:
        image.close()


def _shrink(image: Image.Image) -> Image.Image:
    factor = min(8, image.width // PDQ_WORK_SIZE, image.height // PDQ_WORK_SIZE)
    return image.reduce(factor) if factor > 1 else image


def iter_frames(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS, max_frames: int = MAX_FRAMES
) -> Iterator[tuple[int, Image.Image]]:
    """(index, RGB frame) for each frame or page, up to the caps, composited as a viewer shows it."""
    image = open_image(source, max_pixels)
    try:
        count = min(_n_frames(image), max_frames)
        budget = MAX_TOTAL_PIXELS
        for index in range(count):
            try:
                with decoding():
                    image.seek(index)
                    if image.width * image.height > max_pixels:  # a later page may be the bomb
                        return
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                        image.load()
                    budget -= image.width * image.height
                    if budget < 0:
                        return
                    frame = ImageOps.exif_transpose(image.copy()) if index == 0 else image.copy()
                    frame = _shrink(_to_rgb(frame))
            except HashingError:
                if index == 0:
                    raise
                return  # a damaged later frame: the frames before it still count
            yield index, frame
    finally:
        image.close()


def distinct_stills(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS, max_frames: int = MAX_FRAMES
) -> list[Still]:
    """The frames of a multi-frame file that differ from every earlier one, each with its PDQ."""
    out: list[Still] = []
    for index, frame in iter_frames(source, max_pixels, max_frames):
        pdq = pdq_of_image(frame)
        if any(s.pdq.distance(pdq) <= SAME_FRAME_DISTANCE for s in out):
            continue
        out.append(Still(index, frame, pdq))
    return out


@dataclass(frozen=True)
class StillHashes:
    """The photo hashes of one picture of a file: whole-image PDQ and its two window PDQs."""

    index: int
    pdq: PdqHash
    windows: tuple[PdqWindowHash, ...]

    def wire_hashes(self) -> list[dict[str, Any]]:
        return [self.pdq.to_json(), *(w.to_json() for w in self.windows)]


# A case item carries at most 20 hashes (protocol.MAX_HASHES_PER_ITEM): the MD5 and three a
# picture, so at most six pictures of one file go to the registry.
MAX_SUBMITTED_STILLS = 6


def picture_hashes(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[StillHashes]:
    """Photo hashes of every distinct picture of an image file, the first picture first.

    An ordinary photo gives one; an animation or a multi-page file one per distinct frame or
    page (up to the caps above).
    """
    if frame_count(source, max_pixels) <= 1:
        fast = jpeg_photo_hashes(source, max_pixels)  # a single-picture JPEG: one 1/8-scale luma decode
        if fast is not None:
            return [StillHashes(0, *fast)]
        image = load_image(source, max_pixels, luma_only=True)
        return [StillHashes(0, pdq_of_image(image), window_hashes(image))]
    if isinstance(source, bytes | str | Path):
        stills = distinct_stills(source, max_pixels)
    else:  # a stream: read it once more from the start
        source.seek(0)
        stills = distinct_stills(source, max_pixels)
    if not stills:
        raise HashingError("The image has no frames that could be decoded.")
    return [StillHashes(s.index, s.pdq, window_hashes(s.image)) for s in stills]
