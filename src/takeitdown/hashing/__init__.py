"""On-device hashing: safe decoding, PDQ, MD5/SHA-256, vPDQ, and the hash value types.

This package imports nothing from `registry` or `node`: it is the code that runs on the
person's device.
"""

from takeitdown.hashing.types import (
    PDQ_MATCH_THRESHOLD,
    PDQ_MIN_QUALITY,
    AnyHash,
    InvalidHash,
    Md5Hash,
    PdqHash,
    Sha256Hash,
    VpdqFrame,
    VpdqHash,
    parse_hash,
)

__all__ = [
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "AnyHash",
    "InvalidHash",
    "Md5Hash",
    "PdqHash",
    "Sha256Hash",
    "VpdqFrame",
    "VpdqHash",
    "parse_hash",
]
