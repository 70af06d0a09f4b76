"""`Idempotency-Key` for case submission: a retry returns the same case, secret included.

We store case secrets only as salted hashes, so the reply of a first submission cannot be
rebuilt from the database. We keep it instead in this process's memory for 24 hours, keyed by
a salted hash of the Idempotency-Key and checked against a hash of the request body. Nothing
is written to disk; after a restart a retry makes a new case (a duplicate case is harmless:
the hashes are deduplicated on the feed). Concurrent requests with one key are serialized.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


class IdempotencyCache:
    def __init__(self, ttl_seconds: float = 24 * 3600, max_entries: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._salt = secrets.token_bytes(16)
        self._entries: OrderedDict[bytes, tuple[float, bytes, dict[str, Any]]] = OrderedDict()
        self._stripes = [asyncio.Lock() for _ in range(256)]  # one key -> always one lock
        self._lock = threading.Lock()

    def key(self, header: str) -> bytes:
        return hashlib.blake2b(header.encode(), key=self._salt, digest_size=16).digest()

    def lock_for(self, key: bytes) -> asyncio.Lock:
        """Hold this while checking for and making the case, so a double submit makes one."""
        return self._stripes[key[0]]

    def get(self, key: bytes, body_hash: bytes) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            while self._entries:
                first_key, (stored_at, _, _) = next(iter(self._entries.items()))
                if now - stored_at < self.ttl:
                    break
                del self._entries[first_key]
            hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[1] != body_hash:
            raise IdempotencyConflict
        return hit[2]

    def put(self, key: bytes, body_hash: bytes, response: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), body_hash, response)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
