"""Case numbers, case secrets and platform API keys: making them, storing them, checking them.

Secrets and keys are >= 128-bit random values, so a salted SHA-256 is enough to store them (a
slow KDF protects guessable passwords, which these are not, and would cap submissions/s).
Checks use `hmac.compare_digest`; an unknown id is checked against a dummy so it takes the
same path and time as a wrong secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# Easy to read aloud: no 0/O and no 1/I.
CASE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CASE_ID_RE = re.compile(rf"TD-[{CASE_ALPHABET}]{{4}}-[{CASE_ALPHABET}]{{4}}")

KEY_PREFIX = "tdk_"
KEY_ID_LEN = 12
PLATFORM_KEY_RE = re.compile(rf"{KEY_PREFIX}([0-9a-f]{{{KEY_ID_LEN}}})_([A-Za-z0-9_-]{{32,100}})")

_DUMMY_SALT = secrets.token_bytes(16)
_DUMMY_HASH = hashlib.sha256(_DUMMY_SALT + b"never-a-secret").digest()


def new_case_id() -> str:
    """Eight characters of a 32-letter alphabet: 40 random bits, taken 5 bits a character."""
    n = int.from_bytes(secrets.token_bytes(5), "big")
    chars = "".join(CASE_ALPHABET[(n >> (5 * i)) & 31] for i in range(8))
    return f"TD-{chars[:4]}-{chars[4:]}"


def normalize_case_id(text: str) -> str | None:
    """The canonical case number, or None if it cannot be one (spaces and case forgiven)."""
    text = text.strip().upper().replace(" ", "")
    return text if CASE_ID_RE.fullmatch(text) else None


# Case secrets are read off a screen and typed on a phone: the case alphabet (no 0/O, no 1/I),
# 28 characters (140 bits) in groups of four. Secrets made before were `token_urlsafe(24)`,
# which mixes O/0 and l/I/1; they are stored hashed as they were and stay valid as typed.
SECRET_CHARS = 28
SECRET_GROUP = 4
_SECRET_RE = re.compile(rf"[{CASE_ALPHABET}]{{{SECRET_CHARS}}}")


def new_secret() -> str:
    chars = "".join(secrets.choice(CASE_ALPHABET) for _ in range(SECRET_CHARS))
    return _grouped(chars)


def _grouped(chars: str) -> str:
    return "-".join(chars[i : i + SECRET_GROUP] for i in range(0, len(chars), SECRET_GROUP))


def normalize_secret(text: str) -> str | None:
    """The canonical form of a new-style secret typed loosely (any case, spaces, dashes or not),
    or None when it is not one. Old secrets never normalize: they must be typed exactly."""
    chars = re.sub(r"[\s-]", "", text).upper()
    return _grouped(chars) if _SECRET_RE.fullmatch(chars) else None


def hash_secret(secret: str) -> tuple[bytes, bytes]:
    salt = secrets.token_bytes(16)
    return salt, hashlib.sha256(salt + secret.encode()).digest()


def check_secret(secret: str, salt: bytes | None, stored: bytes | None) -> bool:
    """Constant-time check; pass None for an unknown id to spend the same time and fail.

    A case secret is tried as typed (old secrets, platform keys) and in its canonical form, so
    "abcd efgh ..." opens the case of "ABCD-EFGH-..."; both are always compared."""
    candidates = [secret]
    canonical = normalize_secret(secret)
    candidates.append(canonical if canonical is not None else secret)
    if salt is None or stored is None:
        salt, stored = _DUMMY_SALT, _DUMMY_HASH
        for candidate in candidates:
            hmac.compare_digest(hashlib.sha256(salt + candidate.encode()).digest(), stored)
        return False
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(hashlib.sha256(salt + candidate.encode()).digest(), stored)
    return ok


def new_platform_key() -> tuple[str, str, str]:
    """(full key, key id, secret part); the key id lets us find the row, the secret is hashed."""
    key_id = secrets.token_hex(KEY_ID_LEN // 2)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{key_id}_{secret}", key_id, secret


def split_platform_key(key: str) -> tuple[str, str] | None:
    match = PLATFORM_KEY_RE.fullmatch(key.strip())
    return (match.group(1), match.group(2)) if match else None


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
