"""MD5 and SHA-256 of a file's bytes, streamed so a 4 GB video costs constant memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from takeitdown.protocol import Md5Hash, Sha256Hash

CHUNK_SIZE = 1 << 20


def digest_bytes(data: bytes) -> tuple[Md5Hash, Sha256Hash]:
    return Md5Hash(hashlib.md5(data).hexdigest()), Sha256Hash(hashlib.sha256(data).hexdigest())


def digest_file(path: str | Path) -> tuple[Md5Hash, Sha256Hash]:
    md5 = hashlib.md5()
    sha256 = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            md5.update(chunk)
            sha256.update(chunk)
    return Md5Hash(md5.hexdigest()), Sha256Hash(sha256.hexdigest())
