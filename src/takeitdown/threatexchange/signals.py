"""Signal types the registry carries that python-threatexchange lacks, and the vPDQ bridge.

python-threatexchange has `video_md5` but no MD5 for photos, so the registry's image MD5s
would be dropped; `PhotoMD5Signal` keeps them (exact match of the file's bytes). vPDQ goes
through the library's own vPDQ extension (`threatexchange.extensions.vpdq`), which needs the
`vpdq` package (a C++ build); without it vPDQ entries are not carried (docs/hma.md).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import random
import re
import typing as t

from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.photo import PhotoContent
from threatexchange.signal_type import signal_base

from takeitdown.protocol import VpdqFrame

_MD5 = re.compile(r"[0-9a-f]{32}")


class PhotoMD5Signal(
    signal_base.SimpleSignalType,
    signal_base.BytesHasher,
    signal_base.CanGenerateRandomSignal,
):
    """MD5 of a photo file's bytes. Exact: any re-save, crop or resize gives another MD5."""

    @classmethod
    def get_name(cls) -> str:
        return "photo_md5"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> type[signal_base.TrivialSignalTypeIndex]:
        return signal_base.TrivialSignalTypeIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        normalized = signal_str.strip().lower()
        if not _MD5.fullmatch(normalized):
            raise ValueError(f"{signal_str[:40]!r} is not an MD5 (32 hex characters)")
        return normalized

    @classmethod
    def hash_from_file(cls, file: pathlib.Path) -> str:
        digest = hashlib.md5()
        with open(file, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        return hashlib.md5(bytes_).hexdigest()

    @classmethod
    def get_random_signal(cls) -> str:
        return f"{random.randrange(16**32):032x}"

    @staticmethod
    def get_examples() -> list[str]:
        return ["d41d8cd98f00b204e9800998ecf8427e"]


def vpdq_signal_type() -> type[signal_base.SignalType] | None:
    """The library's VPDQSignal when its extension can load (it needs the `vpdq` package)."""
    try:
        from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    except ImportError:
        return None
    return t.cast(type[signal_base.SignalType], VPDQSignal)


def vpdq_signal_str(frames: t.Sequence[VpdqFrame]) -> str:
    """Frames in the vPDQ extension's signal form: a JSON list of "pdq,quality,seconds" strings.

    The seconds use the extension's own formatting (`{t:.3}`: three significant digits), so a
    string made here reads back with its `json_to_vpdq`.
    """
    return json.dumps([f"{f.pdq},{f.q},{float(f.t):.3}" for f in frames])
