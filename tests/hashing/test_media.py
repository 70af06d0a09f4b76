"""Media kind from the first bytes, never the name; every refusal is one HashingError subclass."""

from __future__ import annotations

from pathlib import Path

import pytest

from takeitdown.hashing import (
    DamagedMedia,
    EmptyFile,
    FileUnavailable,
    HashingError,
    UnsupportedMedia,
    classify,
    hash_file,
)
from takeitdown.hashing.media import sniff


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image"),
        (b"GIF89a" + b"\0" * 20, "image"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image"),
        (b"II*\x00" + b"\0" * 20, "image"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "image"),
        (b"\0\0\0\x18ftypisom\0\0\0\0isomiso2", "video"),
        (b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "video"),
        (b"\x1a\x45\xdf\xa3" + b"\0" * 20, "video"),
        (b"RIFF\0\0\0\0AVI LIST", "video"),
        ((b"\x47" + b"\0" * 187) * 3, "video"),
        (b"hello, I am text", None),
        (b"\x47" + b"\0" * 20, None),  # one sync byte is not a transport stream
        (b"%PDF-1.7", None),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_a_jpeg_named_mp4_is_a_photo_and_a_video_named_jpg_is_a_video(
    tmp_path: Path, conformance: Path
) -> None:
    photo = tmp_path / "photo.mp4"
    photo.write_bytes((conformance / "pdq/bridge-mods/aaa-orig.jpg").read_bytes())
    assert classify(photo) == "image" and hash_file(photo).kind == "image"
    video = next((conformance / "vpdq/videos").glob("*.mp4"))
    renamed = tmp_path / "clip.jpg"
    renamed.write_bytes(video.read_bytes())
    assert classify(renamed) == "video" and hash_file(renamed).kind == "video"


def test_refusals_are_one_tree_with_codes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    for path, error, code in [
        (tmp_path / "missing.jpg", FileUnavailable, "file.unavailable"),
        (tmp_path, FileUnavailable, "file.unavailable"),
        (empty, EmptyFile, "file.empty"),
        (text, UnsupportedMedia, "media.unsupported"),
        (truncated, DamagedMedia, "media.damaged"),
    ]:
        with pytest.raises(error) as info:
            hash_file(path)
        assert isinstance(info.value, HashingError) and info.value.code == code
    with pytest.raises(EmptyFile):
        classify(b"")
