"""Exponential backoff with full jitter (each wait is random in [0, min(cap, base * 2**n)])."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, base: float = 1.0, cap: float = 300.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return random.uniform(0, min(self.cap, self.base * 2 ** min(self.failures, 30)))

    def reset(self) -> None:
        self.failures = 0
