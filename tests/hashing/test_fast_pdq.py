"""The fast photo path: PDQ's own blur-and-decimate from a DCT-scaled luma decode (hashing.photo).

Checked against the reference itself (`pdqhash` on the full-size picture), not against our
older path: the filter weights, the luma carried into pdqhash, every EXIF orientation, the
window crops, sizes that are not a multiple of the block, and what falls back.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from takeitdown.hashing import HashingError, hash_file
from takeitdown.hashing.decode import _ORIENTATIONS, load_scaled_jpeg_luma
from takeitdown.hashing.pdq import _rgb_of_luma, pdq_of_buffer64
from takeitdown.hashing.photo import choose_block, jpeg_photo_hashes
from takeitdown.hashing.prefilter import axis_weights, downsample64
from takeitdown.hashing.windows import WINDOW_PERCENTS, window_box
from takeitdown.protocol import PdqHash

BRIDGE = "pdq/reg-test-input/dih/bridge-1-original.jpg"


def reference(image: Image.Image) -> PdqHash:
    bits, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    return PdqHash.from_bits(bits, int(quality))


def grey3(plane: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(plane[:, :, None], 3, axis=2))


def jpeg(image: Image.Image, orientation: int = 1, **options: object) -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95, exif=exif.tobytes(), **options)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo(conformance: Path) -> Image.Image:
    """A natural photo at a size that is not a multiple of 8 (partial edge blocks)."""
    return Image.open(conformance / BRIDGE).convert("RGB").resize((2403, 1507), Image.Resampling.BICUBIC)


@pytest.mark.parametrize(("height", "width"), [(3024, 4032), (1507, 2403), (700, 513)])
def test_weights_are_the_references_blur_and_decimate(photo: Image.Image, height: int, width: int) -> None:
    plane = np.asarray(photo.convert("L").resize((width, height)))
    expected, quality = pdqhash.compute_float(grey3(plane))
    buffer = downsample64(
        plane.astype(np.float64),
        axis_weights(height, 0, height, 1, False),
        axis_weights(width, 0, width, 1, False),
    )
    got, got_quality = pdqhash.compute_float(_rgb_of_luma(buffer))
    # float32 sums in a different order, and luma carried to ~0.05: DCT values agree to ~0.1
    assert np.abs(expected - got).max() < 0.2, np.abs(expected - got).max()
    assert abs(quality - got_quality) <= 1


def test_window_weights_are_the_reference_on_the_crop(photo: Image.Image) -> None:
    plane = np.asarray(photo.convert("L"))
    left, top, right, bottom = window_box(plane.shape[1], plane.shape[0], 70)
    expected, _ = pdqhash.compute_float(grey3(plane[top:bottom, left:right]))
    rows = axis_weights(plane.shape[0], top, bottom - top, 1, False)
    columns = axis_weights(plane.shape[1], left, right - left, 1, False)
    got, _ = pdqhash.compute_float(_rgb_of_luma(downsample64(plane.astype(np.float64), rows, columns)))
    assert np.abs(expected - got).max() < 0.2


def test_rgb_of_luma_carries_the_luma_closely() -> None:
    luma = np.random.default_rng(7).uniform(0, 255, (64, 64))
    luma[0, :6] = [0, 0.4, 1.7, 253.6, 254.9, 255]
    rgb = _rgb_of_luma(luma).astype(np.float64)
    carried = rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
    assert np.abs(carried - luma).max() < 0.06  # plain rounding to a grey level: 0.5


def test_orientation_table_turns_like_exif_transpose() -> None:
    pixels = np.random.default_rng(3).integers(0, 255, (5, 7), dtype=np.uint8)
    for orientation, (transpose, flip_rows, flip_cols) in _ORIENTATIONS.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG", exif=exif.tobytes())
        shown = np.asarray(ImageOps.exif_transpose(Image.open(buf)))
        ours = pixels.T if transpose else pixels
        ours = ours[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1]
        assert np.array_equal(shown, ours), orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_hashes_like_the_reference_on_the_turned_photo(
    photo: Image.Image, orientation: int
) -> None:
    data = jpeg(photo, orientation)
    luma = load_scaled_jpeg_luma(data, choose_block)
    assert luma is not None and luma.block == 4  # 2403 x 1507: scaled, with partial edge blocks
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    result = jpeg_photo_hashes(data)
    assert result is not None
    whole, windows = result
    assert whole.distance(reference(shown)) <= 8
    for percent, window in zip(WINDOW_PERCENTS, windows, strict=True):
        crop = shown.crop(window_box(shown.width, shown.height, percent))
        assert window.window == percent
        assert PdqHash(window.value, window.quality).distance(reference(crop)) <= 8, percent


def test_hash_file_takes_the_fast_path_and_stays_on_the_reference(photo: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg(photo))
    assert jpeg_photo_hashes(path) is not None
    result = hash_file(path)
    assert result.kind == "image"
    assert result.pdq.distance(reference(Image.open(path))) <= 8


def test_progressive_and_greyscale_jpegs_take_the_fast_path(photo: Image.Image) -> None:
    for image, options in ((photo, {"progressive": True}), (photo.convert("L"), {})):
        data = jpeg(image, **options)
        result = jpeg_photo_hashes(data)
        assert result is not None
        assert result[0].distance(reference(Image.open(io.BytesIO(data)))) <= 8


def test_what_the_fast_path_leaves_to_the_ordinary_one(photo: Image.Image) -> None:
    png = io.BytesIO()
    photo.save(png, "PNG")
    cmyk = io.BytesIO()
    photo.convert("CMYK").save(cmyk, "JPEG", quality=90)
    small = io.BytesIO()
    photo.resize((320, 200)).save(small, "JPEG", quality=90)
    for data in (png.getvalue(), cmyk.getvalue(), small.getvalue()):
        assert jpeg_photo_hashes(data) is None
    assert choose_block(4032, 3024) == 8 and choose_block(1600, 1004) == 2 and choose_block(320, 200) == 0


def test_a_truncated_jpeg_is_a_clean_error(photo: Image.Image) -> None:
    data = jpeg(photo)
    with pytest.raises(HashingError, match="damaged or incomplete"):
        jpeg_photo_hashes(data[: len(data) // 2])


def test_a_flat_buffer_hashes_like_the_reference_on_a_flat_picture() -> None:
    grey = np.full((64, 64), 117.4)
    bits, quality = pdqhash.compute(grey3(np.full((640, 480), 117, dtype=np.uint8)))
    ours = pdq_of_buffer64(grey)
    assert ours.quality == quality == 0
