"""The choices web/videoforward.js makes before decoding, run in node on hand-made sample tables.

Which frames it picks (as takeitdown.hashing.video picks them), how far into each group of
pictures it feeds the decoder, and which H.264 samples it may leave out. The browser tests
(test_video_forward.py) hold the result to Python's hashes; these pin the rules themselves.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from .helpers import ROOT

MODULE = ROOT / "src" / "takeitdown" / "webshared" / "videoforward.js"

SCRIPT = """
const m = await import(process.argv[1]);
const cases = JSON.parse(process.argv[2]);
const out = {};
out.picks = cases.picks.map(({ times, timescale }) => [...m.pickFrames(times, timescale)]);
out.limits = cases.limits.map(({ samples, picked, restarts }) =>
  m.feedLimits(samples, new Set(picked), new Set(restarts)));
out.nal = cases.nal.map(({ bytes, lengthSize }) => {
  const data = Uint8Array.from(bytes);
  return [m.h264Droppable(data, lengthSize), m.h264Idr(data, lengthSize)];
});
console.log(JSON.stringify(out));
"""


def run(cases: dict) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run web/videoforward.js outside the browser")
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, str(MODULE), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


def nal(header: int, size: int = 3, length_size: int = 4) -> list[int]:
    return list(size.to_bytes(length_size, "big")) + [header] + [0xAA] * (size - 1)


def limits(samples: list[dict], picked: list[int], restarts: list[int]) -> list[int]:
    cases = {"picks": [], "nal": [], "limits": [{"samples": samples, "picked": picked, "restarts": restarts}]}
    return list(run(cases)["limits"][0])


def gop(cts: list[int], key_first: bool = True) -> list[dict]:
    return [{"cts": c, "is_sync": key_first and n == 0} for n, c in enumerate(cts)]


def test_picks_the_first_frame_at_or_after_each_second_in_presentation_order() -> None:
    # 10 fps in decode order I P B B (composition times 1, 4, 2, 3 ...), 32 frames starting at
    # 1 tick (an edit-list shift): frames 0, 10, 20, 30 of presentation order, at 0, 1, 2, 3 s.
    decode_order = []
    for base in range(0, 32, 4):
        decode_order += [base + 1, base + 4, base + 2, base + 3]
    out = run({"picks": [{"times": decode_order, "timescale": 10}], "limits": [], "nal": []})
    assert dict(out["picks"][0]) == {
        1: {"i": 0, "t": 0},
        11: {"i": 10, "t": 1},
        21: {"i": 20, "t": 2},
        31: {"i": 30, "t": 3},
    }
    # Variable frame rate: a gap skips a second; a frame 0.5 ms early still counts (1 ms slack).
    out = run({"picks": [{"times": [0, 500, 999.5, 2500, 3000], "timescale": 1000}], "limits": [], "nal": []})
    assert out["picks"][0] == [
        [0, {"i": 0, "t": 0}],
        [999.5, {"i": 2, "t": 0.9995}],
        [2500, {"i": 3, "t": 2.5}],
        [3000, {"i": 4, "t": 3}],
    ]


def test_groups_are_cut_after_their_last_pick_only_before_a_clean_restart() -> None:
    # Three groups of 4 samples (key first); picks at samples 1 and 9.
    samples = gop([0, 3, 1, 2]) + gop([4, 7, 5, 6]) + gop([8, 11, 9, 10])
    # Group 1 up to sample 1; group 2 (nothing picked) skipped; the last group up to its pick.
    assert limits(samples, [1, 9], restarts=[4, 8]) == [1] * 4 + [-1] * 4 + [9] * 4
    # Key frames that are not IDR pictures: nothing is cut but the last group.
    assert limits(samples, [1, 9], restarts=[]) == [3] * 4 + [7] * 4 + [9] * 4
    # An IDR whose group shows a frame before it (a leading picture, cts 3 < 4): no cut before it.
    leading = gop([0, 2, 1, 5]) + gop([4, 3, 6, 7])
    assert limits(leading, [0], restarts=[4]) == [3] * 4 + [-1] * 4


def test_only_h264_samples_no_frame_refers_to_may_be_left_out() -> None:
    cases = [
        {"bytes": nal(0x01), "lengthSize": 4},  # non-IDR slice, nal_ref_idc 0: droppable
        {"bytes": nal(0x06) + nal(0x01), "lengthSize": 4},  # SEI then an unreferenced slice
        {"bytes": nal(0x21), "lengthSize": 4},  # nal_ref_idc 1: a reference
        {"bytes": nal(0x01) + nal(0x41), "lengthSize": 4},  # one referenced slice of two
        {"bytes": nal(0x65, length_size=2), "lengthSize": 2},  # IDR slice
        {"bytes": nal(0x06), "lengthSize": 4},  # no slice at all
        {"bytes": nal(0x01)[:-1], "lengthSize": 4},  # cut short: unreadable
    ]
    out = run({"picks": [], "limits": [], "nal": cases})["nal"]
    assert out == [
        [True, False],
        [True, False],
        [False, False],
        [False, False],
        [False, True],
        [False, False],
        [False, False],
    ]
