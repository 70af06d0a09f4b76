"""Bounded cost per file: decode memory estimated before decoding, decoded video frames capped,
and a vPDQ comparison that never builds the query x target matrix (issue 11)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from takeitdown.hashing.decode import decode_bytes, load_image, open_image
from takeitdown.hashing.errors import MediaTooLarge
from takeitdown.hashing.pdq import pdq_dihedral
from takeitdown.hashing.scenes import query_sample
from takeitdown.hashing.video import vpdq_of_video
from takeitdown.hashing.vpdq_match import any_within


def _bitmap(size: int) -> bytes:
    image = Image.new("1", (size, size), 0)
    image.paste(1, (size // 3, size // 3, size // 2, size // 2))
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def test_decode_memory_is_estimated_before_decoding_and_refused_over_the_limit() -> None:
    data = _bitmap(10_000)
    assert len(data) < 100_000  # a small file ...
    image = open_image(data)
    assert decode_bytes(image) == 10_000 * 10_000 * 2  # ... held as 1 byte a pixel, then as L
    with pytest.raises(MediaTooLarge, match="MB"):
        load_image(data, max_decode_bytes=150 * 2**20)
    colour = Image.new("RGBA", (4000, 4000))
    assert decode_bytes(colour) == 4000 * 4000 * 8  # RGBA held, RGB made


def test_the_1bit_bomb_peaks_far_below_what_it_did(tmp_path: Path) -> None:
    # It peaked at 575 MB (held as 1 byte a pixel, turned RGB at full size, 4 bytes a pixel).
    png = tmp_path / "bomb.png"
    png.write_bytes(_bitmap(10_000))
    code = (
        "import sys; from takeitdown.hashing.decode import load_image; from takeitdown.hashing.pdq import "
        "pdq_dihedral; pdq_dihedral(load_image(sys.argv[1]));"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(png)], capture_output=True, text=True, check=True)
    peak_mb = int(out.stdout.strip()) / 1024
    assert peak_mb < 330, peak_mb  # the interpreter and libraries (~100 MB) plus 200 MB of pixels


@pytest.mark.parametrize("mode", ["1", "L", "I"])
def test_greyscale_is_shrunk_before_it_turns_rgb_with_the_same_hashes(mode: str) -> None:
    rng = np.random.default_rng(4)
    grey = Image.fromarray(rng.integers(0, 256, (2500, 2300), dtype=np.uint8), "L")
    image = grey.convert(mode)
    buf = io.BytesIO()
    image.save(buf, "TIFF" if mode == "I" else "PNG")  # PNG cannot hold 32-bit greyscale
    new = pdq_dihedral(load_image(buf.getvalue()))
    # the old path: RGB at full size, then the box shrink
    old_rgb = Image.open(io.BytesIO(buf.getvalue()))
    old_rgb = (old_rgb.convert("L") if old_rgb.mode != "L" else old_rgb).convert("RGB")
    factor = min(8, old_rgb.width // 1024, old_rgb.height // 1024)
    old = pdq_dihedral(old_rgb.reduce(factor) if factor > 1 else old_rgb)
    assert [h.value for h in new] == [h.value for h in old]


def _video(path: Path, frames: int, gop: int) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        pixels = np.zeros((240, 320, 3), dtype=np.uint8)
        for n in range(frames):
            pixels[:] = (n * 3) % 256
            pixels[100:140, (n * 5) % 280 : (n * 5) % 280 + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_video_decoding_is_capped_in_decoded_frames_not_only_sampled_ones(tmp_path: Path) -> None:
    video = _video(tmp_path / "v.mp4", frames=300, gop=30)  # 10 s, a keyframe a second
    full = query_sample(video, phase=0.1).frames
    per_frame = 320 * 240
    # a budget of 60 frames: the header says 300, so only keyframes are decoded (10 of them)
    cut = query_sample(video, phase=0.1, max_decoded_pixels=60 * per_frame).frames
    assert 8 <= len(cut.frames) <= 12 < len(full.frames)
    assert vpdq_of_video(video, max_decoded_pixels=60 * per_frame).frames  # the device's path too
    every = _video(tmp_path / "k.mp4", frames=120, gop=1)  # every frame a keyframe: refused
    with pytest.raises(MediaTooLarge):
        query_sample(every, max_decoded_pixels=20 * per_frame)


def test_vpdq_comparison_is_exact_without_the_matrix() -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        a = rng.integers(0, 2**63, size=(int(rng.integers(1, 200)), 4), dtype=np.uint64)
        b = rng.integers(0, 2**63, size=(int(rng.integers(1, 200)), 4), dtype=np.uint64)
        for i in range(0, len(a), 2):  # near copies of b, 0 to 40 bits away
            row = b[int(rng.integers(len(b)))].copy()
            for _ in range(int(rng.integers(0, 41))):
                row[int(rng.integers(4))] ^= np.uint64(1) << np.uint64(int(rng.integers(64)))
            a[i] = row
        for d in (0, 10, 31, 40):
            brute = (np.bitwise_count(a[:, None, :] ^ b[None, :, :]).sum(axis=2) <= d).any(axis=1)
            assert (any_within(a, b, d) == brute).all(), (trial, d)
