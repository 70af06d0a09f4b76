"""The node's video sampler (`hashing/scenes.py`) against a listed video whose picture moves
fast: Meta's 4-second doorknob sample changes by a median 128 bits from one second to the next,
so most of the node's frames at 4 a second from a random phase are near no listed frame (the
device lists one a second). Before `device_grid`, the listed file itself was `allow`."""

from __future__ import annotations

from pathlib import Path

from takeitdown.hashing import hash_file, vpdq_of_video
from takeitdown.hashing.scenes import device_grid, query_frames
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.store import NodeStore
from tests.node.helpers import conformance

VIDEO = "vpdq/videos/doorknob-hd-no-bar.mp4"


def test_the_node_samples_the_devices_frames_too() -> None:
    video = conformance(VIDEO)
    device = vpdq_of_video(video)
    for phase in (0.0, 0.1, 0.2):
        query = query_frames(video, phase=phase)
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
