"""The only personal data in the system: a legal requester's name, contact and statement.

Sealed with AES-256-GCM under a key from the environment (TAKEITDOWN_NODE_PII_KEY, 32 bytes in
base64), bound to the request id as associated data so a row cannot be moved to another request.
The node keeps the ciphertext in its own table and deletes it a configurable time after the
request closes (takedown.py). Nothing here is logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class PiiKeyError(ValueError):
    """The key is missing or malformed (clear message for the operator; the key is never shown)."""


def new_key() -> str:
    """A fresh key in the form TAKEITDOWN_NODE_PII_KEY takes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class Sealer:
    def __init__(self, key_b64: str) -> None:
        try:
            key = base64.urlsafe_b64decode(key_b64.strip().encode())
        except (binascii.Error, ValueError):
            raise PiiKeyError("TAKEITDOWN_NODE_PII_KEY must be 32 bytes in URL-safe base64") from None
        if len(key) != 32:
            raise PiiKeyError("TAKEITDOWN_NODE_PII_KEY must be 32 bytes in URL-safe base64")
        self._aead = AESGCM(key)

    @classmethod
    def from_env(cls) -> Sealer | None:
        raw = os.environ.get("TAKEITDOWN_NODE_PII_KEY", "").strip()
        return cls(raw) if raw else None

    def seal(self, request_id: str, data: dict[str, Any]) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = json.dumps(data, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plain, request_id.encode())

    def open(self, request_id: str, blob: bytes) -> dict[str, Any]:
        try:
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], request_id.encode())
        except InvalidTag:
            raise PiiKeyError("this record was sealed with another key, or altered") from None
        out: dict[str, Any] = json.loads(plain)
        return out
