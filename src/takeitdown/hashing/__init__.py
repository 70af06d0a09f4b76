"""On-device hashing: safe decoding, PDQ, MD5/SHA-256, vPDQ, and the hash value types.

This package imports nothing from `registry` or `node`: it is the code that runs on the
person's device.
"""

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS, load_image, open_image
from takeitdown.hashing.digest import digest_bytes, digest_file
from takeitdown.hashing.errors import HashingError
from takeitdown.hashing.files import FileHashes, ImageHashes, VideoHashes, hash_file, hash_image_bytes
from takeitdown.hashing.pdq import pdq_dihedral, pdq_of_image, pdq_of_pixels
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
from takeitdown.hashing.video import vpdq_of_video
from takeitdown.hashing.vpdq_match import VpdqMatch, vpdq_match

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "AnyHash",
    "FileHashes",
    "HashingError",
    "ImageHashes",
    "InvalidHash",
    "Md5Hash",
    "PdqHash",
    "Sha256Hash",
    "VideoHashes",
    "VpdqFrame",
    "VpdqHash",
    "VpdqMatch",
    "digest_bytes",
    "digest_file",
    "hash_file",
    "hash_image_bytes",
    "load_image",
    "open_image",
    "parse_hash",
    "pdq_dihedral",
    "pdq_of_image",
    "pdq_of_pixels",
    "vpdq_match",
    "vpdq_of_video",
]
