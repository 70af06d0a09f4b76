"""vPDQ frame hashes of a video through PyAV: one frame a second by default.

Meta's vPDQ hashes frames at a fixed interval with PDQ; we do the same, applying the stream's
rotation metadata (phones record portrait video as rotated landscape) and shrinking each frame
to PDQ's working size first, as for photos.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from takeitdown.hashing.errors import (
    DamagedMedia,
    FileUnavailable,
    HashingError,
    MediaTooLarge,
    UnsupportedMedia,
)
from takeitdown.hashing.pdq import pdq_of_pixels
from takeitdown.protocol import MAX_VPDQ_FRAMES, VpdqFrame, VpdqHash

DEFAULT_SECONDS_PER_HASH = 1.0
# Unlike photos, frames are hashed at up to full HD: shrinking SD frames to 512 px moved the
# hashes of Meta's fine-pattern sample videos by up to 32 bits, while 4K gains nothing.
VIDEO_WORK_SIZE = 1920

# FFmpeg demuxers we accept (MP4/MOV/3GP, MKV/WebM, AVI, MPEG-TS). FFmpeg would otherwise also
# "play" text files (the tty demuxer), raw images and much else as video.
VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts"}


# Decoding costs per pixel whatever is sampled: every frame of a 119 KB 4K video of 3,000 frames
# took 20 s of CPU. A video may decode this many pixels at its full frame rate (about 120 4K or
# 480 full-HD frames); past it, or when the header says it will be, only its keyframes are
# decoded, and past twice it (every frame a keyframe) the video is refused as too costly.
MAX_DECODED_PIXELS = 1_000_000_000


class DecodeBudget:
    """Counts the pixels decoded from one video stream and cuts decoding down to keyframes
    (FFmpeg's skip_frame) before the budget runs out; `MediaTooLarge` past twice the budget."""

    def __init__(self, stream: av.video.stream.VideoStream, limit: int = MAX_DECODED_PIXELS) -> None:
        self.stream, self.limit, self.decoded = stream, limit, 0
        self.keyframes_only = False
        ctx = stream.codec_context
        if ctx is None:  # FFmpeg found a stream but no decoder for it
            raise DamagedMedia("The video's picture format is not one we can decode.")
        frames = stream.frames or 0
        if not frames and stream.duration and stream.time_base and stream.average_rate:
            frames = int(float(stream.duration * stream.time_base) * float(stream.average_rate))
        if frames * (ctx.width or 0) * (ctx.height or 0) > limit:
            self._cut()

    def _cut(self) -> None:
        self.stream.codec_context.skip_frame = "NONKEY"
        self.keyframes_only = True

    def spend(self, frame: av.VideoFrame) -> None:
        self.decoded += frame.width * frame.height
        if self.decoded > self.limit and not self.keyframes_only:
            self._cut()
        if self.decoded > 2 * self.limit:
            raise MediaTooLarge(
                f"Decoding this video costs more than {2 * self.limit // 1_000_000} megapixels "
                "even at keyframes only; send a shorter or smaller version."
            )


def _scaled_size(width: int, height: int, work_size: int) -> tuple[int, int]:
    scale = min(1.0, work_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _rotate(pixels: np.ndarray, rotation: int) -> np.ndarray:
    # PyAV reports the display matrix angle counter-clockwise, in degrees.
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, k=turns)) if turns else pixels


def vpdq_of_video(
    path: str | Path,
    seconds_per_hash: float = DEFAULT_SECONDS_PER_HASH,
    work_size: int | None = VIDEO_WORK_SIZE,
    max_frames: int = MAX_VPDQ_FRAMES,
    max_decoded_pixels: int = MAX_DECODED_PIXELS,
) -> VpdqHash:
    """Hash the frame shown at each multiple of `seconds_per_hash` (0 s, 1 s, 2 s, ...).
    Decoding is bounded by `max_decoded_pixels` (`DecodeBudget`)."""
    if seconds_per_hash <= 0:
        raise ValueError("seconds_per_hash must be positive")
    frames: list[VpdqFrame] = []
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if container.format.name not in VIDEO_CONTAINERS:
                raise UnsupportedMedia("This video format is not supported; use MP4, MOV, WebM, MKV or AVI.")
            if not container.streams.video:
                raise DamagedMedia("The file has no video track.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            budget = DecodeBudget(stream, max_decoded_pixels)
            time_base, start_pts = stream.time_base, stream.start_time
            start = float(start_pts * time_base) if start_pts is not None and time_base else 0.0
            next_time = 0.0
            for index, frame in enumerate(container.decode(stream)):
                budget.spend(frame)
                if frame.pts is None or frame.time_base is None:
                    continue
                t = float(frame.pts * frame.time_base) - start
                # Take the first frame at or after each sampling point (with a little slack
                # for timestamps rounded by the container).
                if t + 1e-3 < next_time:
                    continue
                if len(frames) >= max_frames:
                    raise MediaTooLarge(f"The video is too long to hash (limit {max_frames} frames).")
                width, height = frame.width, frame.height
                if work_size and max(width, height) > work_size:
                    width, height = _scaled_size(width, height, work_size)
                pixels = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                pixels = _rotate(pixels, getattr(frame, "rotation", 0) or 0)
                pdq = pdq_of_pixels(pixels)
                frames.append(VpdqFrame(i=index, t=max(t, 0.0), q=pdq.quality or 0, pdq=pdq.value))
                while next_time <= t + 1e-3:
                    next_time += seconds_per_hash
    except HashingError:
        raise
    except FileNotFoundError as e:
        raise FileUnavailable("The file does not exist.") from e
    except (av.FFmpegError, OSError, ValueError, MemoryError) as e:
        raise DamagedMedia("The video is damaged or in a format we cannot read.") from e
    if not frames:
        raise DamagedMedia("The video has no frames that could be decoded.")
    return VpdqHash(tuple(frames))
