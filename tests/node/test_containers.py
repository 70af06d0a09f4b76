"""Every picture of a file is checked as a photo (issue 17): a listed photo hidden behind a 50 ms
cover frame of a GIF, APNG or animated WebP, as page 2 of a TIFF, or as the only picture of a
4-second MP4, is caught by the node, and the device (CLI) submits every picture's hashes."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from takeitdown.hashing import hash_file
from takeitdown.hashing.frames import MAX_FRAMES, picture_hashes
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.store import NodeStore
from tests.node.helpers import conformance

PHOTO = "pdq/reg-test-input/labelme-subset/q0122.jpg"


def _listed(tmp_path: Path) -> tuple[Matcher, Image.Image]:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    photo_path = conformance(PHOTO)
    h = hash_file(photo_path)
    m = Matcher(store)
    entry = {"seq": 1, "op": "add", "type": "pdq", "value": h.pdq.value, "quality": h.pdq.quality}
    entry["entry_id"] = 5
    m.apply(store.apply_page([entry], 1))
    return m, Image.open(photo_path).convert("RGB")


def _cover(size: tuple[int, int]) -> Image.Image:
    """A busy unrelated cover picture (noise blocks), so the first frame alone says nothing."""
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, size=(size[1] // 16 + 1, size[0] // 16 + 1, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.NEAREST)


def _animation(photo: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    frames = [_cover(photo.size), photo]
    kw = {"save_all": True, "append_images": frames[1:], "duration": [50, 4000], "loop": 0}
    if fmt == "WEBP":
        kw["lossless"] = False
        kw["quality"] = 90
    frames[0].save(buf, format=fmt, **kw)
    return buf.getvalue()


def _tiff(photo: Image.Image) -> bytes:
    buf = io.BytesIO()
    _cover(photo.size).save(buf, format="TIFF", save_all=True, append_images=[photo])
    return buf.getvalue()


def _mp4(photo: Image.Image, path: Path, seconds: int = 4, fps: int = 25) -> Path:
    w, h = (photo.width // 2) * 2, (photo.height // 2) * 2
    frame_pixels = np.asarray(photo.resize((w, h)))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for _ in range(seconds * fps):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame_pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_photo_behind_a_cover_frame_of_an_animation_is_caught(tmp_path: Path, fmt: str) -> None:
    m, photo = _listed(tmp_path)
    data = _animation(photo, fmt)
    assert Image.open(io.BytesIO(data)).n_frames == 2  # type: ignore[attr-defined]
    # the cover frame alone would pass: the first-frame hash is far from the photo
    first = Image.open(io.BytesIO(data)).convert("RGB")
    assert m.check_file(_png(first)).verdict == "allow"
    verdict = m.check_file(data)
    assert verdict.verdict != "allow", verdict.to_json()
    assert 5 in verdict.registry_entry_ids()
    # the device (CLI, page) submits the hidden picture's hashes too
    path = tmp_path / f"anim.{fmt.lower()}"
    path.write_bytes(data)
    wire = hash_file(path).wire_hashes()
    pdqs = [w["value"] for w in wire if w["type"] == "pdq"]
    assert len(pdqs) == 2
    assert m.check_hashes([_parse(w) for w in wire]).verdict != "allow"


def test_page_two_of_a_tiff_is_caught(tmp_path: Path) -> None:
    m, photo = _listed(tmp_path)
    data = _tiff(photo)
    verdict = m.check_file(data)
    assert verdict.verdict != "allow" and 5 in verdict.registry_entry_ids(), verdict.to_json()
    assert len(picture_hashes(data)) == 2


def test_photo_as_the_only_picture_of_a_video_is_caught(tmp_path: Path) -> None:
    m, photo = _listed(tmp_path)
    video = _mp4(photo, tmp_path / "still.mp4")
    verdict = m.check_file(video)
    assert verdict.verdict != "allow", verdict.to_json()
    assert any(x.type == "pdq" and x.entry_id == 5 for x in verdict.matches)
    assert m.check_file(video.read_bytes()).verdict != "allow"


def test_frame_caps_bound_a_long_animation(tmp_path: Path) -> None:
    """A GIF of many distinct frames is hashed up to the cap, not without end."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (80, 8, 8, 3), dtype=np.uint8)
    frames = [Image.fromarray(n).resize((64, 64)) for n in noise]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=20)
    stills = picture_hashes(buf.getvalue())
    assert 1 < len(stills) <= MAX_FRAMES
    # what a case item carries stays within the item's 20 hashes
    path = tmp_path / "many.gif"
    path.write_bytes(buf.getvalue())
    assert len(hash_file(path).wire_hashes()) <= 20


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _parse(w: dict) -> object:
    from takeitdown.hashing import parse_hash

    return parse_hash(w)
