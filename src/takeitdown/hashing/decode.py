"""Safe image decoding for PDQ: refuse bombs before decoding, orient, shrink, convert to RGB.

PDQ boils every image down to 64x64 luminance, so decoding a 12 MP photo at full size is wasted
work: JPEGs are decoded with libjpeg's DCT-domain scaling (`Image.draft`) and other formats are
shrunk by the same integer box factor right after decoding. Nothing is written to disk.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from takeitdown.hashing.errors import (
    DamagedMedia,
    FileUnavailable,
    HashingError,
    MediaTooLarge,
    UnsupportedMedia,
)

pillow_heif.register_heif_opener()

DEFAULT_MAX_PIXELS = 100_000_000
# What decoding one image may hold in memory, estimated from mode x pixels before any pixel is
# decoded (`decode_bytes`): a 25 KB 1-bit 10000x10000 PNG used to peak at 575 MB.
DEFAULT_MAX_DECODE_BYTES = 512 * 2**20
# Bytes a pixel takes in Pillow once decoded, by mode (Pillow keeps RGB in 4 bytes).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2}
# How Pillow's plugins and pillow-heif report a damaged or hostile file. Their parsers are not
# hardened against every input: besides OSError and ValueError the fuzzer has found struct.error
# (a GIF block cut short), TypeError and KeyError (a TIFF without its size tags), IndexError (a
# truncated GIF frame table), RuntimeError (libheif refusing a picture larger than its header).
DECODER_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    RuntimeError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)
# Single-channel modes: reduced in greyscale before turning RGB (exact: R = G = B).
_GREY_MODES = {"1", "L", "I", "I;16", "I;16B", "I;16L", "F"}
# Images are shrunk by an integer factor while both sides stay >= this. Measured on 12 MP
# phone photos (bench/hashing.py): 1024 keeps PDQ within 8 bits of a full-size decode, where
# 512 let 3% of photos drift to 12-14 bits.
PDQ_WORK_SIZE = 1024

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF"}

ImageSource = str | Path | bytes | BinaryIO
# (displayed width, displayed height) -> DCT block size 1, 2, 4 or 8, or 0 for "not this path"
BlockChooser = Callable[[int, int], int]


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source, formats=None)
    except Image.DecompressionBombError as e:
        raise MediaTooLarge(
            "The image has more pixels than the megapixel limit allows; it may be a decompression bomb."
        ) from e
    except UnidentifiedImageError as e:
        raise UnsupportedMedia("This is not an image format we can read (or the file is damaged).") from e
    except FileNotFoundError as e:
        raise FileUnavailable("The file does not exist.") from e
    except OSError as e:
        raise DamagedMedia(f"The file could not be read: {e.strerror or 'damaged file'}.") from e
    except DECODER_ERRORS as e:  # some Pillow plugins, e.g. a truncated APNG fdAT
        raise DamagedMedia("This image is damaged and could not be read.") from e


def open_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image lazily, checking format and pixel count before any pixel is decoded."""
    image = _open(source)
    if image.format not in SUPPORTED_FORMATS:
        image.close()
        raise UnsupportedMedia(
            f"{image.format} images are not supported; use JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC."
        )
    width, height = image.size
    if width < 1 or height < 1:
        raise DamagedMedia("The image has no pixels.")
    if width * height > max_pixels:
        raise MediaTooLarge(
            f"The image is {width}x{height} pixels, more than the {max_pixels // 1_000_000} megapixel "
            "limit; it may be a decompression bomb."
        )
    return image


def decode_bytes(image: Image.Image) -> int:
    """The memory `load_image` will hold at its peak for this opened (not yet decoded) image:
    the decoded pixels, the colour conversion, and a copy when EXIF says to rotate."""
    pixels = image.width * image.height
    held = _MODE_BYTES.get(image.mode, 4)
    if image.mode in _GREY_MODES:
        convert = 0 if image.mode == "L" else 1  # to L first; RGB only after the shrink
    elif image.mode == "RGB":
        convert = 0
    else:
        convert = 8 if image.mode == "P" and "transparency" in image.info else 4
    try:
        turned = image.getexif().get(0x0112, 1) not in (None, 1)  # orientation tag
    except Exception:  # noqa: BLE001 - a broken EXIF block rotates nothing
        turned = False
    return pixels * (held + convert + (held if turned else 0))


def load_image(
    source: ImageSource,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    work_size: int | None = PDQ_WORK_SIZE,
    luma_only: bool = False,
    max_decode_bytes: int | None = DEFAULT_MAX_DECODE_BYTES,
) -> Image.Image:
    """Decode an image to RGB with EXIF orientation applied, shrunk for PDQ.

    The image is reduced by the largest integer factor (at most 8) that keeps both sides at
    least `work_size`; `work_size=None` decodes at full size. With `luma_only`, a large colour
    JPEG comes back in mode L straight from its Y channel (the same Rec. 601 luma PDQ computes), which
    skips chroma decoding and colour conversion: a third less CPU per phone photo.
    An image whose decoding would hold more than `max_decode_bytes` (`decode_bytes`, after any
    JPEG DCT scaling) is refused before decoding; a greyscale one is shrunk before it turns RGB.
    """
    image = open_image(source, max_pixels)
    with decoding():
        if work_size and image.format in {"JPEG", "MPO"}:
            # DCT-domain downscale: libjpeg decodes at 1/2, 1/4 or 1/8 scale, never below the
            # requested size, so this is both fast and faithful.
            # Luma straight from the Y channel only where the DCT scaling kicks in: small,
            # near-flat images (quality < 10) can move many bits on the last rounding step.
            scaled = min(image.size) >= 2 * work_size
            image.draft("L" if luma_only and scaled else "RGB", (work_size, work_size))
        cost = decode_bytes(image)
        if max_decode_bytes is not None and cost > max_decode_bytes:
            raise MediaTooLarge(
                f"Decoding this {image.width}x{image.height} {image.mode} image would take about "
                f"{cost // 2**20} MB, more than the {max_decode_bytes // 2**20} MB limit."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
        image = ImageOps.exif_transpose(image) or image
        grey = image.mode in _GREY_MODES
        if grey and image.mode != "L":
            image = _to_rgb_grey(image)
        elif not (luma_only and image.mode == "L") and not grey:
            image = _to_rgb(image)
        if work_size:
            factor = min(8, image.width // work_size, image.height // work_size)
            if factor > 1:
                image = image.reduce(factor)
        if grey and not luma_only:
            image = image.convert("RGB")  # after the shrink: the same pixels, an 8th of the memory
        return image


@contextmanager
def decoding() -> Iterator[None]:
    """Every way a decoder reports a damaged file, as one HashingError."""
    try:
        yield
    except HashingError:
        raise
    except Image.DecompressionBombError as e:  # a frame or page larger than its header said
        raise MediaTooLarge("A picture in this file has more pixels than the limit allows.") from e
    except DECODER_ERRORS as e:
        raise DamagedMedia("The image is damaged or incomplete and could not be decoded.") from e


# EXIF orientation -> (transpose, flip rows, flip columns) of the stored pixels, applied in that
# order; the same turns as ImageOps.exif_transpose (tests/hashing/test_fast_pdq.py checks it).
_ORIENTATIONS = {
    1: (False, False, False),
    2: (False, False, True),  # FLIP_LEFT_RIGHT
    3: (False, True, True),  # ROTATE_180
    4: (False, True, False),  # FLIP_TOP_BOTTOM
    5: (True, False, False),  # TRANSPOSE
    6: (True, False, True),  # ROTATE_270
    7: (True, True, True),  # TRANSVERSE
    8: (True, True, False),  # ROTATE_90
}


@dataclass(frozen=True)
class ScaledLuma:
    """A JPEG's luma decoded at 1/block scale, turned the way it is displayed.

    `plane[i, j]` is the mean luma of one block x block square of the full-size picture; the
    full-size picture, as displayed, is `width` x `height`. `flip_rows`/`flip_cols` say the
    stored picture runs the other way along that displayed axis (its partial edge block, if
    any, is then at the start).
    """

    plane: np.ndarray
    width: int
    height: int
    block: int
    flip_rows: bool
    flip_cols: bool


def load_scaled_jpeg_luma(
    source: ImageSource, block_for: BlockChooser, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ScaledLuma | None:
    """Decode a single-picture JPEG's luma only, at the DCT scale `block_for(width, height)`.

    Returns None for what this path does not cover (not a JPEG, CMYK, several pictures, too
    small to scale): the caller then takes `load_image`. Entropy decoding of the whole file
    is still needed; skipped are the inverse DCT of all but the lowest frequencies, the
    chroma planes and the colour conversion.
    """
    image = open_image(source, max_pixels)
    try:
        if image.format not in {"JPEG", "MPO"} or image.mode not in {"L", "RGB"}:
            return None
        if int(getattr(image, "n_frames", 1) or 1) != 1:
            return None
        with decoding():
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            transpose, flip_rows, flip_cols = _ORIENTATIONS.get(orientation, _ORIENTATIONS[1])
            stored_w, stored_h = image.size
            width, height = (stored_h, stored_w) if transpose else (stored_w, stored_h)
            block = block_for(width, height)
            if block < 1:
                return None
            image.draft("L", (stored_w // block, stored_h // block))
            if image.mode != "L" or image.size != (-(-stored_w // block), -(-stored_h // block)):
                return None  # another scale or colour path than the weights assume
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
            plane = np.asarray(image)
    finally:
        image.close()
    if transpose:
        plane = plane.T
    plane = plane[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1]
    return ScaledLuma(plane, width, height, block, flip_rows, flip_cols)


def _to_rgb_grey(image: Image.Image) -> Image.Image:
    """A single-channel image as L, the way `_to_rgb` turns it grey."""
    if image.mode == "F":
        return image.point(lambda v: v).convert("L")
    return image.convert("L")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB the way a viewer would show it."""
    if image.mode == "RGB":
        return image
    if image.mode in {"I", "I;16", "I;16B", "I;16L", "F"}:
        # 32-bit int and float greyscale: Pillow clips to 0-255 when converting to L.
        image = image.point(lambda v: v).convert("L") if image.mode == "F" else image.convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in {"LAB", "HSV"}:
        # Pillow cannot convert these straight to RGB through the usual path.
        return Image.merge(image.mode, image.split()).convert("RGB")
    return image.convert("RGB")
