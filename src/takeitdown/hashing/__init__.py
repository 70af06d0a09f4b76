"""On-device hashing: media dispatch, safe decoding, PDQ, MD5/SHA-256, vPDQ.

This package imports no role (`registry`, `node`): it is the code that runs on the person's
device. The hash value types live in `takeitdown.protocol` and are re-exported here.
"""

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS, load_image, open_image
from takeitdown.hashing.digest import digest_bytes, digest_file
from takeitdown.hashing.errors import (
    DamagedMedia,
    EmptyFile,
    FileUnavailable,
    HashingError,
    MediaTooLarge,
    UnsupportedMedia,
)
from takeitdown.hashing.files import FileHashes, ImageHashes, VideoHashes, hash_file, hash_image_bytes
from takeitdown.hashing.media import MediaKind, classify
from takeitdown.hashing.pdq import pdq_dihedral, pdq_of_image, pdq_of_pixels
from takeitdown.hashing.video import vpdq_of_video
from takeitdown.hashing.vpdq_match import VpdqMatch, vpdq_match
from takeitdown.protocol import (
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
    "DEFAULT_MAX_PIXELS",
    "PDQ_MATCH_THRESHOLD",
    "PDQ_MIN_QUALITY",
    "AnyHash",
    "DamagedMedia",
    "EmptyFile",
    "FileHashes",
    "FileUnavailable",
    "HashingError",
    "ImageHashes",
    "InvalidHash",
    "MediaKind",
    "MediaTooLarge",
    "Md5Hash",
    "PdqHash",
    "Sha256Hash",
    "UnsupportedMedia",
    "VideoHashes",
    "VpdqFrame",
    "VpdqHash",
    "VpdqMatch",
    "classify",
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
