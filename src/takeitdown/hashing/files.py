"""Hash one file on this device: an image (PDQ + MD5 + SHA-256) or a video (vPDQ + MD5 + SHA-256)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS
from takeitdown.hashing.digest import digest_bytes, digest_file
from takeitdown.hashing.errors import HashingError
from takeitdown.hashing.frames import MAX_SUBMITTED_STILLS, StillHashes, picture_hashes
from takeitdown.hashing.types import Md5Hash, PdqHash, PdqWindowHash, Sha256Hash, VpdqHash
from takeitdown.hashing.video import vpdq_of_video


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


def _looks_like_image(path: Path) -> bool:
    """True when Pillow recognises the header (it reads only the first bytes)."""
    try:
        with Image.open(path) as image:
            return image.format is not None
    except Image.DecompressionBombError:
        return True  # an image, and load_image refuses it with the clear message
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):  # damaged header
        return False


def hash_image_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHashes:
    """Hash an image held in memory (an upload); nothing is written to disk."""
    if not data:
        raise HashingError("The file is empty.")
    md5, sha256 = digest_bytes(data)
    stills = tuple(picture_hashes(data, max_pixels))
    return ImageHashes(md5=md5, sha256=sha256, pdq=stills[0].pdq, stills=stills)


def hash_file(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> FileHashes:
    """Hash a photo or a video, deciding which by its content, not its name."""
    path = Path(path)
    if not path.is_file():
        raise HashingError("The file does not exist." if not path.exists() else "This is not a file.")
    if path.stat().st_size == 0:
        raise HashingError("The file is empty.")
    if _looks_like_image(path):
        stills = tuple(picture_hashes(path, max_pixels))
        md5, sha256 = digest_file(path)
        return ImageHashes(md5=md5, sha256=sha256, pdq=stills[0].pdq, stills=stills)
    try:
        vpdq = vpdq_of_video(path)
    except HashingError as e:
        raise HashingError(
            "This is neither a photo nor a video we can read (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC; "
            "MP4, MOV, WebM, MKV, AVI), or the file is damaged."
        ) from e
    md5, sha256 = digest_file(path)
    return VideoHashes(md5=md5, sha256=sha256, vpdq=vpdq)
