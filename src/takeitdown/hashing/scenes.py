"""The node's query-side video sampler: denser than the device's one frame a second, at times
the uploader cannot know, and at every scene cut.

The device hashes the frame at 0 s, 1 s, 2 s, ... (`video.vpdq_of_video`), so an evader who
swaps exactly those frames for others used to make a listed video pass. Here the node hashes
`per_second` frames a second, each at a random time within its own slot (one phase for all would
sit in lock-step with the device's whole seconds), plus the first frame after each cut
(a jump in a 16x16 thumbnail). docs/matching.md ("Sampling evasion") measures how many frames
an evader must replace: about 10% of a slowly moving video, but on one that moves fast still
5 of the device's 23 frames, as before. Every decoded frame is thumbnailed; only sampled
frames pay for a PDQ.

It also takes the frames the device takes (the first at or after each whole second), so that
`device_grid` can give the matcher the device's own sample: in a video whose picture changes
by more than 31 bits within half a second (a pan, a moving subject), most denser frames are
near no listed frame, and without that sample the listed file itself was let through
(docs/matching.md, "Sampling evasion").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from takeitdown.hashing.errors import HashingError
from takeitdown.hashing.pdq import pdq_of_pixels
from takeitdown.hashing.video import (
    DEFAULT_SECONDS_PER_HASH,
    MAX_DECODED_PIXELS,
    VIDEO_CONTAINERS,
    VIDEO_WORK_SIZE,
    DecodeBudget,
    _rotate,
    _scaled_size,
)
from takeitdown.protocol import MAX_VPDQ_FRAMES, VpdqFrame, VpdqHash

QUERY_FRAMES_PER_SECOND = 4.0
# Mean absolute change of a 16x16 grey thumbnail (0-255) that counts as a cut.
SCENE_CUT_DELTA = 24.0
THUMB = 16


@dataclass(frozen=True)
class QuerySample:
    """The frames the node hashed of a video, and which of them it took at its random phase.

    The frames at scene cuts are where the video's content put them, so where an uploader can
    put them: one frame swapped anywhere is a cut, then the frame after it is another. The
    matcher takes the share of the query's frames near a listed video over the `regular` ones
    only, so that swapped single frames cannot outvote the rest (docs/matching.md, "Sampling
    evasion"); all frames still count for finding the listed frames."""

    frames: VpdqHash
    regular: VpdqHash


def query_sample(
    path: str | Path,
    per_second: float = QUERY_FRAMES_PER_SECOND,
    phase: float | None = None,
    work_size: int = VIDEO_WORK_SIZE,
    max_frames: int = MAX_VPDQ_FRAMES,
    max_decoded_pixels: int = MAX_DECODED_PIXELS,
    device_frames: bool = True,
) -> QuerySample:
    """vPDQ frames of a video for matching it: `per_second` frames a second, each at a random time
    within its slot, plus the first frame of every scene, plus the frames the device hashes
    (`device_grid`; not with `device_frames=False`). Decoding is bounded (`video.DecodeBudget`):
    a video too costly to decode in full is sampled at its keyframes (each one is then taken)."""
    step = 1.0 / per_second
    draw = random.SystemRandom()

    def slot_time(slot: int) -> float:
        # Each regular frame at its own random time within its slot (with `phase`, the same for
        # all, for tests): one phase for all slots would sit in lock-step with the device's whole
        # seconds, so swapping the device frames would take one regular frame in four too
        # whenever that phase fell within a frame of a whole second (docs/matching.md).
        return slot * step + (draw.uniform(0, step) if phase is None else phase % step)

    frames: list[VpdqFrame] = []
    regular: list[VpdqFrame] = []
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if container.format.name not in VIDEO_CONTAINERS:
                raise HashingError("This video format is not supported; use MP4, MOV, WebM, MKV or AVI.")
            if not container.streams.video:
                raise HashingError("The file has no video track.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            budget = DecodeBudget(stream, max_decoded_pixels)
            time_base, start_pts = stream.time_base, stream.start_time
            start = float(start_pts * time_base) if start_pts is not None and time_base else 0.0
            slot = 0
            next_time = slot_time(slot)
            next_grid = 0.0  # the device's sampling points (video.vpdq_of_video)
            last_thumb: np.ndarray | None = None
            for index, frame in enumerate(container.decode(stream)):
                budget.spend(frame)
                if frame.pts is None or frame.time_base is None:
                    continue
                t = max(0.0, float(frame.pts * frame.time_base) - start)
                thumb = frame.to_ndarray(format="gray", width=THUMB, height=THUMB).astype(np.float32)
                cut = last_thumb is None or float(np.abs(thumb - last_thumb).mean()) >= SCENE_CUT_DELTA
                last_thumb = thumb
                due = t + 1e-3 >= next_time or budget.keyframes_only
                on_grid = device_frames and t + 1e-3 >= next_grid
                if not (due or cut or on_grid):
                    continue
                while next_time <= t + 1e-3:
                    slot += 1
                    next_time = slot_time(slot)
                while next_grid <= t + 1e-3:
                    next_grid += DEFAULT_SECONDS_PER_HASH
                if len(frames) >= max_frames:
                    break  # the frames so far still count
                width, height = frame.width, frame.height
                if max(width, height) > work_size:
                    width, height = _scaled_size(width, height, work_size)
                pixels = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                pdq = pdq_of_pixels(_rotate(pixels, getattr(frame, "rotation", 0) or 0))
                frames.append(VpdqFrame(i=index, t=t, q=pdq.quality or 0, pdq=pdq.value))
                if due:
                    regular.append(frames[-1])
    except HashingError:
        raise
    except FileNotFoundError as e:
        raise HashingError("The file does not exist.") from e
    except (av.FFmpegError, OSError, ValueError, MemoryError) as e:
        raise HashingError("The video is damaged or in a format we cannot read.") from e
    if not frames:
        raise HashingError("The video has no frames that could be decoded.")
    return QuerySample(VpdqHash(tuple(frames)), VpdqHash(tuple(regular)))


def device_grid(video: VpdqHash, seconds: float = DEFAULT_SECONDS_PER_HASH) -> VpdqHash:
    """The frames the device's sampler would take: the first at or after each multiple of
    `seconds`. Of `query_sample`'s frames these are the device's own frames (it samples them
    too); of a vPDQ the device made, all of its frames."""
    out: list[VpdqFrame] = []
    next_time = 0.0
    for frame in sorted(video.frames, key=lambda f: (f.t, f.i)):
        if frame.t + 1e-3 < next_time:
            continue
        out.append(frame)
        while next_time <= frame.t + 1e-3:
            next_time += seconds
    return VpdqHash(tuple(out))
