"""Which kind of media a file is, decided from its first bytes (never from its name).

The page's hasher (webshared/worker.js) follows the same table; tests/vectors holds the
shared cases both are tested on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from takeitdown.hashing.errors import EmptyFile, FileUnavailable, UnsupportedMedia

MediaKind = Literal["image", "video"]
SNIFF_BYTES = 400  # enough for three MPEG-TS packet starts

# ISO base media (ftyp box) brands that are still images (HEIF/HEIC/AVIF); the rest are video.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
# QuickTime files may start with another top-level atom instead of ftyp.
_QT_ATOMS = {b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}

SUPPORTED_TEXT = "JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC; MP4, MOV, WebM, MKV, AVI"


def sniff(head: bytes) -> MediaKind | None:
    """The kind named by these first bytes, or None if no format we accept starts this way."""
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image"
    if head[:6] in (b"GIF87a", b"GIF89a") or head.startswith(b"BM"):
        return "image"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM (EBML)
        return "video"
    if head[4:8] == b"ftyp":  # the major brand says still image (HEIF family) or movie
        return "image" if head[8:12] in _IMAGE_BRANDS else "video"
    if head[4:8] in _QT_ATOMS:
        return "video"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS: sync every 188
        return "video"
    return None


def classify(source: str | Path | bytes) -> MediaKind:
    """ "image" or "video" from the first bytes; a clear HashingError for anything else."""
    if isinstance(source, bytes):
        head = source[:SNIFF_BYTES]
    else:
        path = Path(source)
        if not path.exists():
            raise FileUnavailable("The file does not exist.")
        if not path.is_file():
            raise FileUnavailable("This is not a file.")
        try:
            with path.open("rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            raise FileUnavailable(f"The file could not be read: {e.strerror or 'I/O error'}.") from e
    if not head:
        raise EmptyFile("The file is empty.")
    kind = sniff(head)
    if kind is None:
        raise UnsupportedMedia(
            f"This is neither a photo nor a video we can read ({SUPPORTED_TEXT}), or the file is damaged."
        )
    return kind
