"""The node's video sampler (`hashing/scenes.py`) against a listed video whose picture moves
fast: Meta's 4-second doorknob sample changes by a median 128 bits from one second to the next,
so most of the node's frames at 4 a second from a random phase are near no listed frame (the
device lists one a second). Before `device_grid`, the listed file itself was `allow`. And
single swapped frames, each a scene cut the node samples, no longer outvote the rest."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

from takeitdown.hashing import hash_file, vpdq_match, vpdq_of_video
from takeitdown.hashing.scenes import device_grid, query_sample
from takeitdown.node.db import Database
from takeitdown.node.matcher import ItemHashes, Matcher
from takeitdown.node.store import NodeStore
from tests.node.helpers import conformance

VIDEO = "vpdq/videos/doorknob-hd-no-bar.mp4"
PHOTO = "pdq/reg-test-input/labelme-subset/q0122.jpg"


def test_the_node_samples_the_devices_frames_too() -> None:
    video = conformance(VIDEO)
    device = vpdq_of_video(video)
    for phase in (0.0, 0.1, 0.2):
        query = query_sample(video, phase=phase).frames
        assert len(query.frames) > len(device.frames)
        assert [(f.i, f.pdq) for f in device_grid(query).frames] == [(f.i, f.pdq) for f in device.frames]
    assert device_grid(device) == device


def test_a_listed_fast_moving_video_uploaded_unchanged_is_caught(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    video = conformance(VIDEO)
    frames = hash_file(video).vpdq.to_json()["frames"]  # type: ignore[union-attr]
    entry = {"seq": 1, "op": "add", "type": "vpdq", "value": "d" * 64, "entry_id": 9, "frames": frames}
    m = Matcher(store)
    m.apply(store.apply_page([entry], 1))
    for _ in range(3):  # a new random phase each time
        verdict = m.check_file(video)
        assert verdict.verdict != "allow"
        assert [x.entry_id for x in verdict.matches] == [9]


def _panning_video(path: Path, swap: set[int], frames: int = 300, fps: int = 30) -> Path:
    """A slow 10-second pan over a photograph, 320x240; the frames in `swap` are replaced by
    distinct noise pictures (an evader's unrelated frames)."""
    photo = Image.open(conformance(PHOTO)).convert("RGB")
    w, h = photo.size
    rng = np.random.default_rng(5)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"threads": "1"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for n in range(frames):
            if n in swap:
                small = rng.integers(0, 256, size=(15, 20, 3), dtype=np.uint8)
                pixels = np.asarray(Image.fromarray(small).resize((320, 240), Image.Resampling.BILINEAR))
            else:
                x = 0.1 * w * n / frames  # 10% of the photo's width over the 10 s
                box = (x, 0.05 * h, x + 0.85 * w, 0.05 * h + 0.85 * w * 3 / 4)
                pixels = np.asarray(photo.resize((320, 240), Image.Resampling.BILINEAR, box=box))
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_single_swapped_frames_do_not_outvote_the_rest(tmp_path: Path) -> None:
    """The device's 10 frames and 10 others swapped (20 of 300): each swapped frame is a scene
    cut the node samples, and so is the frame after it. Counted among the query's frames they
    made over a fifth of them near no listed frame (allow); over the node's regular frames,
    fewer (caught)."""
    listed = _panning_video(tmp_path / "listed.mp4", set())
    others = np.random.default_rng(11).choice([i for i in range(300) if i % 30], 10, replace=False)
    swapped = _panning_video(tmp_path / "swapped.mp4", set(range(0, 300, 30)) | {int(i) for i in others})
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    frames = hash_file(listed).vpdq.to_json()["frames"]  # type: ignore[union-attr]
    entry = {"seq": 1, "op": "add", "type": "vpdq", "value": "d" * 64, "entry_id": 4, "frames": frames}
    m = Matcher(store)
    m.apply(store.apply_page([entry], 1))
    target = hash_file(listed).vpdq  # type: ignore[union-attr]
    sample = query_sample(swapped, phase=0.1)
    assert not vpdq_match(sample.frames, target).is_match  # all frames: the cuts outvote
    assert not vpdq_match(device_grid(sample.frames), target).is_match  # the device's frames: all swapped
    assert vpdq_match(sample.regular, target).query_share >= 0.8
    # At this phase; at a phase within a frame of the device's whole seconds, a quarter of the
    # regular frames are device frames, so check_file lets this through about one time in four
    # (docs/matching.md, "Sampling evasion": not fixed).
    item = ItemHashes(vpdq=sample.frames, vpdq_regular=sample.regular)
    assert [x.entry_id for x in m.check(item).matches] == [4]
    assert m.check(ItemHashes(vpdq=sample.frames)).verdict == "allow"  # main's rule: all frames


def test_each_regular_frame_is_drawn_in_its_own_slot(tmp_path: Path) -> None:
    """With one phase for every slot, the regular frames sat in lock-step with the device's whole
    seconds (one in four *was* a device frame whenever the phase fell near a whole second), so
    swapping the device frames took a quarter of them too. Each slot now draws its own time."""
    video = _panning_video(tmp_path / "pan.mp4", swap=set())  # 10 s at 30 fps: 40 slots
    step = 0.25
    fixed = query_sample(video, phase=0.1).regular.frames
    drawn = query_sample(video).regular.frames
    assert 36 <= len(drawn) <= 41  # four a second

    def places(frames: tuple) -> set[int]:  # which of a slot's 7-8 frames was taken
        return {round((f.t % step) * 30) % 8 for f in frames}

    assert len(places(fixed)) <= 2
    assert len(places(drawn)) >= 5, places(drawn)  # drawn at random, not in step
