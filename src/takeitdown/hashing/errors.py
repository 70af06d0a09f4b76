"""The errors of hashing a file: one tree, one stable `code` each, a message for the person.

Every path that reads media (the CLI, the node's upload check, the node's scan) raises only
these, so a caller can catch `HashingError` and carry on with the next file.
"""

from __future__ import annotations


class HashingError(Exception):
    """A file that cannot be hashed: corrupt, truncated, empty, too large or of an unsupported format.

    The message is meant for the person: it says what is wrong, never how the code failed.
    """

    code = "media.unreadable"


class FileUnavailable(HashingError):
    """Missing, not a regular file, or unreadable (permissions, I/O error)."""

    code = "file.unavailable"


class EmptyFile(HashingError):
    code = "file.empty"


class UnsupportedMedia(HashingError):
    """Neither a photo nor a video in a format we accept (decided from the first bytes)."""

    code = "media.unsupported"


class DamagedMedia(HashingError):
    """A format we accept, but the file is damaged, truncated or inconsistent."""

    code = "media.damaged"


class MediaTooLarge(HashingError):
    """More pixels, frames or decoding work than the limits allow (bombs land here)."""

    code = "media.too_large"
