"""Hash one file on this device: an image (PDQ + MD5 + SHA-256) or a video (vPDQ + MD5 + SHA-256)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS
from takeitdown.hashing.digest import digest_bytes, digest_file
from takeitdown.hashing.errors import EmptyFile
from takeitdown.hashing.frames import MAX_SUBMITTED_STILLS, StillHashes, picture_hashes
from takeitdown.hashing.media import classify
from takeitdown.hashing.video import vpdq_of_video
from takeitdown.protocol import Md5Hash, PdqHash, PdqWindowHash, Sha256Hash, VpdqHash


@dataclass(frozen=True)
class ImageHashes:
    md5: Md5Hash
    sha256: Sha256Hash
    pdq: PdqHash  # of the first picture
    kind: Literal["image"] = "image"
    # every distinct picture (frame, page) with its window hashes, the first one first
    stills: tuple[StillHashes, ...] = ()

    @property
    def windows(self) -> tuple[PdqWindowHash, ...]:
        return self.stills[0].windows if self.stills else ()

    def wire_hashes(self) -> list[dict[str, Any]]:
        """The hashes as a case item sends them (DESIGN.md wire format): PDQ and MD5, then the
        windows, then the other pictures of an animation or multi-page file (docs/matching.md)."""
        out = [self.pdq.to_json(), self.md5.to_json()]
        for still in self.stills[:MAX_SUBMITTED_STILLS]:
            out += [h for h in still.wire_hashes() if h != out[0]]
        return out


@dataclass(frozen=True)
class VideoHashes:
    md5: Md5Hash
    sha256: Sha256Hash
    vpdq: VpdqHash
    kind: Literal["video"] = "video"

    def wire_hashes(self) -> list[dict[str, Any]]:
        return [self.vpdq.to_json(), self.md5.to_json()]


FileHashes = ImageHashes | VideoHashes


def hash_image_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHashes:
    """Hash an image held in memory (an upload); nothing is written to disk."""
    if not data:
        raise EmptyFile("The file is empty.")
    md5, sha256 = digest_bytes(data)
    stills = tuple(picture_hashes(data, max_pixels))
    return ImageHashes(md5=md5, sha256=sha256, pdq=stills[0].pdq, stills=stills)


def hash_file(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> FileHashes:
    """Hash a photo or a video, deciding which by its content, not its name."""
    path = Path(path)
    if classify(path) == "image":
        data = path.read_bytes()  # read once for the decode and both digests
        stills = tuple(picture_hashes(data, max_pixels))
        md5, sha256 = digest_bytes(data)
        return ImageHashes(md5=md5, sha256=sha256, pdq=stills[0].pdq, stills=stills)
    vpdq = vpdq_of_video(path)
    md5, sha256 = digest_file(path)
    return VideoHashes(md5=md5, sha256=sha256, vpdq=vpdq)
