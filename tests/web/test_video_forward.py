"""The page decodes MP4 videos forward once (web/videoforward.js) and hashes the frames Python does.

Videos are made here from a conformance clip with PyAV: key frames every 250 frames (x264's
default, sparse), every 30 (one a second, as phones record) and open groups of pictures (frames
shown before their key frame refer back to the previous group, so the page must not cut that
group short). Each is held to `takeitdown.hashing`'s vPDQ frame by frame, and the page must say
it decoded forward; without WebCodecs the page seeks a <video> instead and still agrees.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import av
import numpy as np
import pytest

from takeitdown.hashing import VpdqHash, hash_file, vpdq_match
from takeitdown.protocol import PdqHash

from .helpers import CONFORMANCE, answer_questions, goto, wait_hashed

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLIP = CONFORMANCE / "vpdq" / "videos" / "chair-orig-22-sd-bar.mp4"
SECONDS = 20


def clip_frames() -> list[np.ndarray]:
    if not CLIP.exists():
        pytest.skip(f"{CLIP} not found")
    with av.open(str(CLIP)) as clip:
        return [f.to_ndarray(format="rgb24", width=360, height=540) for f in clip.decode(video=0)]


def make_video(path: Path, frames: list[np.ndarray], gop: int, x264_params: str = "scenecut=0") -> Path:
    """360x540 H.264 at 30 fps with B-frames, a key frame every `gop` frames (no others)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 360, 540, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "crf": "23", "bf": "3", "x264-params": x264_params}
        for n in range(SECONDS * 30):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[n % len(frames)]), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def key_frames(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [n for n, p in enumerate(container.demux(video=0)) if p.is_keyframe and p.size]


def hash_on_page(new_page, registry_url: str, paths: list[Path], without_webcodecs: bool = False):  # type: ignore[no-untyped-def]
    page = new_page()
    if without_webcodecs:
        page.add_init_script("delete window.VideoDecoder;")
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(p) for p in paths])
    wait_hashed(page)
    return page.evaluate(
        """() => [...document.querySelectorAll('#file-list li')].map(li => ({
            state: li.dataset.state, decoded: li.dataset.decoded,
            status: li.querySelector('.file-status').textContent,
            hashes: li.querySelector('.file-hashes').textContent}))"""
    )


def assert_same_as_python(path: Path, row: dict[str, str]) -> None:
    assert row["state"] == "done", f"{path.name}: {row['status']}"
    got = {h["type"]: h for h in json.loads(row["hashes"])}
    python = hash_file(path)
    assert got["md5"]["value"] == python.md5.value
    ours = VpdqHash.parse(got["vpdq"]["frames"])
    # The same frames (one a second, by index and time) ...
    assert [f.i for f in ours.frames] == [f.i for f in python.vpdq.frames], path.name
    assert [f.t for f in ours.frames] == pytest.approx([f.t for f in python.vpdq.frames], abs=1e-3)
    # ... hashed alike, within the existing page-vs-Python tolerance for video frames.
    distances = [
        PdqHash(a.pdq).distance(PdqHash(b.pdq))
        for a, b in zip(ours.frames, python.vpdq.frames, strict=True)
        if min(a.q, b.q) >= 50
    ]
    assert len(distances) >= SECONDS * 3 // 4, (path.name, distances)
    assert statistics.median(distances) <= 8 and max(distances) <= 16, (path.name, distances)
    assert vpdq_match(ours, python.vpdq).is_match and vpdq_match(python.vpdq, ours).is_match


def test_page_decodes_forward_and_matches_python_by_frame(new_page, registry_url, tmp_path: Path) -> None:
    frames = clip_frames()
    videos = [
        make_video(tmp_path / "sparse-keys.mp4", frames, gop=250),
        make_video(tmp_path / "key-every-second.mp4", frames, gop=30),
        make_video(tmp_path / "open-gop.mp4", frames, gop=60, x264_params="open-gop=1:scenecut=0"),
    ]
    # The files are what they claim: 3 key frames in 600, 20, and open groups every 2 s.
    assert key_frames(videos[0]) == [0, 250, 500]
    assert key_frames(videos[1]) == list(range(0, 600, 30))
    assert len(key_frames(videos[2])) >= 9
    rows = hash_on_page(new_page, registry_url, videos)
    for path, row in zip(videos, rows, strict=True):
        assert row["decoded"] == "forward", f"{path.name}: {row}"
        assert_same_as_python(path, row)


def test_page_seeks_where_the_browser_has_no_webcodecs(new_page, registry_url, tmp_path: Path) -> None:
    video = make_video(tmp_path / "sparse-keys.mp4", clip_frames()[: 30 * 8], gop=250)
    [row] = hash_on_page(new_page, registry_url, [video], without_webcodecs=True)
    assert row["decoded"] == "seek", row
    assert_same_as_python(video, row)
