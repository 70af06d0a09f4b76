"""Image hashing against Meta's published PDQ test images, and every kind of bad input."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageOps

from takeitdown.hashing import (
    HashingError,
    PdqHash,
    digest_file,
    hash_file,
    hash_image_bytes,
    load_image,
    pdq_dihedral,
    pdq_of_image,
)

IMAGE_SUFFIXES = {".jpg", ".png", ".webp", ".tiff"}


def conformance_images(conformance: Path) -> list[Path]:
    return sorted(p for p in (conformance / "pdq").rglob("*") if p.suffix in IMAGE_SUFFIXES)


def test_every_expected_hash_within_tolerance(conformance: Path) -> None:
    expected = json.loads((conformance / "pdq" / "expected.json").read_text())
    assert len(expected["images"]) == 18
    for name, value in expected["images"].items():
        ours = hash_file(conformance / name)
        assert ours.kind == "image"
        distance = PdqHash(value).distance(ours.pdq)
        assert distance <= expected["tolerance"], f"{name}: distance {distance}"


def test_every_conformance_image_hashes_and_md5_is_of_the_bytes(conformance: Path) -> None:
    for path in conformance_images(conformance):
        if path.stat().st_size == 0:  # modes/LAB.tiff is an empty file in the published set
            with pytest.raises(HashingError, match="empty"):
                hash_file(path)
            continue
        result = hash_file(path)
        assert result.md5.value == hashlib.md5(path.read_bytes()).hexdigest()
        assert result.sha256.value == hashlib.sha256(path.read_bytes()).hexdigest()
        assert 0 <= result.pdq.quality <= 100


def test_every_pillow_mode_hashes_close_to_the_original(conformance: Path) -> None:
    modes = conformance / "pdq" / "misc-images" / "modes"
    original = hash_file(modes / "original.jpg").pdq
    checked = 0
    for path in sorted(modes.iterdir()):
        if path.suffix not in IMAGE_SUFFIXES or path.stat().st_size == 0:
            continue
        distance = original.distance(hash_file(path).pdq)
        assert distance <= 8, f"{path.name}: distance {distance}"
        checked += 1
    assert checked == 14


def test_exif_orientation_is_applied(conformance: Path) -> None:
    """Each exif-rotn photo hashes as its raw pixels turned the way the EXIF tag says.

    The four published files are four different shots (their upright images differ by over
    100 bits), so they are checked one by one against the reference's own rotations of the raw
    pixels: pdqhash.compute_dihedral order is original, rot90, rot180, rot270, ...
    """
    dihedral_index = {1: 0, 3: 2, 6: 3, 8: 1}  # EXIF orientation -> counter-clockwise turns
    folder = conformance / "pdq" / "reg-test-input" / "exif-rotn"
    for orientation, index in dihedral_index.items():
        path = folder / f"exif-rotn-{orientation}.jpg"
        ours = hash_file(path).pdq
        raw = Image.open(path)
        raw.draft("RGB", (1024, 1024))
        raw_turns = pdq_dihedral(raw.convert("RGB"))
        assert ours.distance(raw_turns[index]) <= 8
        assert all(ours.distance(h) > 64 for i, h in enumerate(raw_turns[:4]) if i != index)


def test_one_photo_under_every_exif_orientation_hashes_alike(conformance: Path) -> None:
    """The same photo stored in all 8 EXIF orientations (pixels turned, tag set so it displays
    upright) gives pairwise PDQ distances <= 8."""
    upright = Image.open(conformance / "pdq" / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg")
    upright = upright.convert("RGB").resize((1008, 756))
    # Storing with orientation n means the pixels are the upright image under the inverse
    # of the transform that displaying with tag n applies.
    hashes = []
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = upright
        # Find the stored pixels by undoing exif_transpose on a tagged probe.
        for candidate in [upright.transpose(t) for t in Image.Transpose] + [upright]:
            probe = candidate.copy()
            probe.info["exif"] = exif.tobytes()
            probe.getexif()[0x0112] = orientation
            shown = ImageOps.exif_transpose(probe)
            if shown.size == upright.size and np.array_equal(np.asarray(shown), np.asarray(upright)):
                stored = candidate
                break
        buffer = io.BytesIO()
        stored.save(buffer, "JPEG", quality=92, exif=exif)
        hashes.append(hash_image_bytes(buffer.getvalue()).pdq)
    distances = [a.distance(b) for a in hashes for b in hashes]
    assert max(distances) <= 8, distances


def test_fast_decode_stays_close_to_full_resolution(conformance: Path) -> None:
    path = conformance / "pdq" / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg"
    fast = load_image(path)
    assert max(fast.size) <= 2016  # decoded at half scale in the DCT domain
    bits, quality = pdqhash.compute(np.asarray(Image.open(path).convert("RGB")))
    assert pdq_of_image(fast).distance(PdqHash.from_bits(bits, int(quality))) <= 8


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"])
def test_each_supported_format_hashes_like_the_jpeg(conformance: Path, tmp_path: Path, fmt: str) -> None:
    original = conformance / "pdq" / "misc-images" / "modes" / "original.jpg"
    image = Image.open(original).convert("RGB")
    path = tmp_path / f"photo.{fmt.lower()}"
    options = {"quality": 90} if fmt in {"WEBP", "HEIF"} else {}
    image.save(path, fmt, **options)
    distance = hash_file(original).pdq.distance(hash_file(path).pdq)
    assert distance <= (20 if fmt == "GIF" else 12), f"{fmt}: distance {distance}"


def test_gif_hashes_its_first_frame(conformance: Path, tmp_path: Path) -> None:
    photo = Image.open(conformance / "pdq" / "misc-images" / "modes" / "original.jpg").convert("RGB")
    other = Image.open(conformance / "pdq" / "reg-test-input" / "labelme-subset" / "q2821.jpg")
    path = tmp_path / "anim.gif"
    photo.save(path, save_all=True, append_images=[other.convert("RGB").resize(photo.size)])
    first = tmp_path / "first.gif"
    photo.save(first)
    assert hash_file(path).pdq.distance(hash_file(first).pdq) <= 4


# --- bad input -------------------------------------------------------------------------------


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid little PNG whose header claims a huge size: a decompression bomb's signature."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data[12:29]  # chunk type + 13 data bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize("size", [(20_000, 20_000), (200_000, 1_000)])
def test_decompression_bomb_refused_before_decoding(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming_size(*size))
    with pytest.raises(HashingError, match="megapixel|too large"):
        hash_file(path)


def test_pixel_limit_is_configurable(conformance: Path) -> None:
    path = conformance / "pdq" / "misc-images" / "wee.jpg"  # 34x42
    with pytest.raises(HashingError, match="megapixel"):
        load_image(path, max_pixels=1000)
    assert hash_file(path, max_pixels=2000).pdq


def test_truncated_image(conformance: Path, tmp_path: Path) -> None:
    data = (conformance / "pdq" / "misc-images" / "modes" / "original.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(HashingError, match="damaged or incomplete"):
        hash_file(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("random.jpg", np.random.default_rng(7).bytes(50_000), "neither a photo nor a video"),
        ("empty.png", b"", "empty"),
        ("notes.txt", b"just some words, not a picture\n" * 20, "neither a photo nor a video"),
        ("notes.jpg", b"just some words, not a picture\n" * 20, "neither a photo nor a video"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(HashingError, match=message):
        hash_file(path)


def test_wrong_extension_is_decided_by_content(conformance: Path, tmp_path: Path) -> None:
    png = conformance / "pdq" / "misc-images" / "c.png"
    disguised = tmp_path / "c.jpg"
    disguised.write_bytes(png.read_bytes())
    assert hash_file(disguised).pdq == hash_file(png).pdq


def test_unsupported_image_format(tmp_path: Path) -> None:
    path = tmp_path / "picture.ppm"
    Image.new("RGB", (64, 64), "red").save(path, "PPM")
    with pytest.raises(HashingError, match="neither a photo nor a video we can read") as info:
        hash_file(path)
    assert info.value.code == "media.unsupported"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HashingError, match="does not exist"):
        hash_file(tmp_path / "nothing.jpg")


def test_in_memory_hash_matches_file_hash(conformance: Path) -> None:
    path = conformance / "pdq" / "misc-images" / "c.png"
    assert hash_image_bytes(path.read_bytes()) == hash_file(path)
    with pytest.raises(HashingError):
        hash_image_bytes(b"")


def test_digest_streams_in_constant_memory(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(256 * 1024 * 1024)  # sparse: 256 MB of zeros without using the disk
    tracemalloc.start()
    md5, sha256 = digest_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert md5.value == "1f5039e50bd66b290c56684d8550c6c2"
    assert peak < 8 * 1024 * 1024
