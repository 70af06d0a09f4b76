"""The one error type for a file that cannot be hashed."""


class HashingError(Exception):
    """A file that is corrupt, truncated, empty, too large or of an unsupported format.

    The message is meant for the person: it says what is wrong, never how the code failed.
    """
