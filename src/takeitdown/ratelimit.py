"""Per-client rate limits (case creation at the registry, legal requests at a node), in memory only.

The key is a salted hash of the client address (the salt is random per process and never
stored), so even this short-lived dict holds no address; entries expire once their bucket is
full again. Nothing here is logged or persisted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
import time


class RateLimiter:
    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.enabled = per_minute > 0 and burst > 0
        self._salt = secrets.token_bytes(16)
        self._buckets: dict[bytes, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + 60

    def _key(self, client: str) -> bytes:
        # One IPv6 host usually holds a whole /64: limit that network, not each of its 2^64 addresses.
        try:
            ip = ipaddress.ip_address(client)
            if ip.version == 6 and ip.ipv4_mapped is None:  # type: ignore[union-attr]
                client = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        except ValueError:
            pass
        return hashlib.blake2b(client.encode(), key=self._salt, digest_size=16).digest()

    def has_room(self, client: str | None, cost: float = 1.0) -> bool:
        """Whether `cost` tokens are there now, without taking them (charge later with wait_for)."""
        if not self.enabled:
            return True
        key = self._key(client or "")
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate) >= cost

    def allow(self, client: str | None) -> bool:
        return self.wait_for(client, 1.0) == 0.0

    def wait_for(self, client: str | None, cost: float) -> float:
        """Take `cost` tokens and return 0, or take none and return the seconds to wait."""
        if not self.enabled:
            return 0.0
        key = self._key(client or "")
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            ok = tokens >= cost
            self._buckets[key] = (tokens - cost if ok else tokens, now)
            if now >= self._next_sweep:
                self._sweep(now)
            return 0.0 if ok else max(1.0, (cost - tokens) / self.rate)

    def _sweep(self, now: float) -> None:
        """Forget clients whose bucket has filled up again: they look like new clients."""
        full_after = self.burst / self.rate if self.rate else 0.0
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._next_sweep = now + 60
