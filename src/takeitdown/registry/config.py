"""Registry settings: command-line options first, then the `TAKEITDOWN_*` variables below.

`VARIABLES` is the one list of what the registry reads from its environment; `Settings.from_env`
validates all of it at start (a bad value stops the start with a message naming the variable),
and docs/registry.md's settings table is generated from it (tests/registry/test_settings.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from takeitdown.protocol import MAX_ITEMS_PER_CASE, MAX_REPORTS_PER_BATCH, MAX_VPDQ_FRAMES
from takeitdown.registry.db import default_url
from takeitdown.settings import Var, load

DATABASE_URL = Var(
    "TAKEITDOWN_REGISTRY_DATABASE_URL",
    str,
    "sqlite:///takeitdown-data/registry.db",
    "`sqlite:///path` or `postgresql://...` (psycopg 3); also `--database-url`",
    deprecated=("TAKEITDOWN_DATABASE_URL",),
    secret=True,  # may hold a password
)

VARIABLES = (
    DATABASE_URL,
    Var("TAKEITDOWN_MAX_ITEMS", int, MAX_ITEMS_PER_CASE, "items a case may hold", 1, 10_000),
    Var(
        "TAKEITDOWN_MAX_BODY_BYTES",
        int,
        4 * 1024 * 1024,
        "largest request body in bytes (413 above it)",
        1024,
        1024**3,
    ),
    Var(
        "TAKEITDOWN_CASE_RATE_PER_MINUTE",
        float,
        30.0,
        "case creations a client may make per minute; `0` turns the limit off",
        0,
        1e6,
    ),
    Var("TAKEITDOWN_CASE_BURST", int, 60, "how many it may make at once before the rate applies", 1, 1e6),
    Var(
        "TAKEITDOWN_IDEMPOTENCY_TTL",
        float,
        86400.0,
        "seconds an `Idempotency-Key` reply is remembered",
        1,
        7 * 86400,
    ),
    Var(
        "TAKEITDOWN_SUPPORT_LINKS",
        str,
        None,
        "a JSON file of support lines the page shows per language and country (none by default)",
        optional=True,
    ),
    Var(
        "TAKEITDOWN_PUBLISH_INTERVAL",
        float,
        60.0,
        "seconds between feed publications: submissions are stored at once and published in "
        "batches, in random order; `0` publishes each at once (links a case's hashes: tests only)",
        0,
        3600,
    ),
    Var(
        "TAKEITDOWN_QUARANTINE_DISPUTES",
        int,
        2,
        "distinct platforms whose reviewers report `false_positive` on an unconfirmed entry "
        "before it is quarantined",
        1,
        1000,
    ),
    Var(
        "TAKEITDOWN_REQUIRE_CONTENT_REF",
        bool,
        True,
        "refuse reports without a `content_ref`; `false` takes them from older nodes (all of a "
        "platform's reports without one then count as one piece of content)",
    ),
    Var(
        "TAKEITDOWN_REPORT_RATE_PER_MINUTE",
        float,
        6000.0,
        "outcome reports a platform may send per minute; `0` turns the limit off",
        0,
        1e7,
    ),
    Var(
        "TAKEITDOWN_REPORT_BURST",
        int,
        2000,
        "reports a platform may send at once before the rate applies (at least one batch)",
        MAX_REPORTS_PER_BATCH,
        1e7,
    ),
    Var(
        "TAKEITDOWN_FEED_MAX_BYTES",
        int,
        1024 * 1024,
        "largest feed page in bytes of entries (an entry larger than this goes alone)",
        1024,
        256 * 1024**2,
    ),
    Var(
        "TAKEITDOWN_MAX_VIDEO_FRAMES",
        int,
        1800,
        "vPDQ frames one video may carry (30 minutes at one frame a second)",
        1,
        MAX_VPDQ_FRAMES,
    ),
    Var(
        "TAKEITDOWN_MAX_CASE_FRAMES",
        int,
        6000,
        "vPDQ frames one case may carry in all",
        1,
        10 * MAX_VPDQ_FRAMES,
    ),
    Var(
        "TAKEITDOWN_METRICS_TOKEN",
        str,
        None,
        "operator token for `GET /metrics` (`Authorization: Bearer <token>`); unset: /metrics is off",
        secret=True,
        optional=True,
    ),
    Var(
        "TAKEITDOWN_BODY_TIMEOUT",
        float,
        30.0,
        "seconds a request body may take to arrive (408 after)",
        1,
        3600,
    ),
    Var(
        "TAKEITDOWN_ALLOWED_ORIGINS",
        str,
        None,
        "comma-separated extra origins allowed to POST /v1/cases (the registry's own is always allowed)",
        optional=True,
    ),
)


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The URL given, else TAKEITDOWN_REGISTRY_DATABASE_URL (or the deprecated shared name), else
    the default SQLite file."""
    if explicit:
        return explicit
    return str(load([DATABASE_URL], environ)["database_url"]) or default_url()


@dataclass
class Settings:
    database_url: str = dataclasses.field(default_factory=default_url)
    max_items: int = MAX_ITEMS_PER_CASE
    max_body_bytes: int = 4 * 1024 * 1024
    # Case creation per client: a token bucket (rate per minute, burst). 0 turns it off.
    case_rate_per_minute: float = 30.0
    case_burst: int = 60
    idempotency_ttl_seconds: float = 86400.0
    # A JSON file of support lines the page shows per language and country (registry/support.py).
    support_links_file: str | None = None
    feed_max_limit: int = 10_000
    max_reports: int = MAX_REPORTS_PER_BATCH
    publish_interval: float = 60.0
    quarantine_disputes: int = 2
    require_content_ref: bool = True
    report_rate_per_minute: float = 6000.0
    report_burst: int = 2000
    feed_max_bytes: int = 1024 * 1024
    max_video_frames: int = 1800
    max_case_frames: int = 6000
    metrics_token: str | None = None
    body_timeout: float = 30.0
    allowed_origins: str | None = None
    forwarded_allow_ips: str | None = None  # `serve --forwarded-allow-ips`; None trusts no proxy

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Every variable in VARIABLES, validated; `overrides` (command-line options) win."""
        values = load(VARIABLES, os.environ if environ is None else environ)
        values["idempotency_ttl_seconds"] = values.pop("idempotency_ttl")
        values["support_links_file"] = values.pop("support_links")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
