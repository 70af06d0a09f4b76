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

from takeitdown.protocol import MAX_ITEMS_PER_CASE, MAX_REPORTS_PER_BATCH
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Every variable in VARIABLES, validated; `overrides` (command-line options) win."""
        values = load(VARIABLES, os.environ if environ is None else environ)
        values["idempotency_ttl_seconds"] = values.pop("idempotency_ttl")
        values["support_links_file"] = values.pop("support_links")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
