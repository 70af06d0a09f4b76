"""Registry settings: command-line options first, then `TAKEITDOWN_*` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from takeitdown.registry.db import default_url


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("TAKEITDOWN_DATABASE_URL") or default_url()
    )
    max_items: int = field(default_factory=lambda: _env_int("TAKEITDOWN_MAX_ITEMS", 100))
    max_body_bytes: int = field(
        default_factory=lambda: _env_int("TAKEITDOWN_MAX_BODY_BYTES", 4 * 1024 * 1024)
    )
    # Case creation per client: a token bucket (rate per minute, burst). 0 turns it off.
    case_rate_per_minute: float = field(
        default_factory=lambda: _env_float("TAKEITDOWN_CASE_RATE_PER_MINUTE", 30)
    )
    case_burst: int = field(default_factory=lambda: _env_int("TAKEITDOWN_CASE_BURST", 60))
    idempotency_ttl_seconds: float = field(
        default_factory=lambda: _env_float("TAKEITDOWN_IDEMPOTENCY_TTL", 86400)
    )
    # A JSON file of support lines the page shows per language and country (registry/support.py).
    support_links_file: str | None = field(
        default_factory=lambda: os.environ.get("TAKEITDOWN_SUPPORT_LINKS") or None
    )
    feed_max_limit: int = 10_000
    max_reports: int = 1000
