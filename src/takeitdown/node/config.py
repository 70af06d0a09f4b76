"""Node settings: `VARIABLES` is the one list of what the node reads from its environment.

`node_settings` validates all of it at start (a bad value stops the start with a message naming
the variable and what it accepts); docs/node.md's settings table is generated from the same list
(tests/node/test_settings.py holds the docs to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from takeitdown.settings import SettingsError, Var, load

DEFAULT_SQLITE_PATH = Path("takeitdown-data") / "node.db"

DATABASE_URL = Var(
    "TAKEITDOWN_NODE_DATABASE_URL",
    str,
    f"sqlite:///{DEFAULT_SQLITE_PATH}",
    "`sqlite:///path` or `postgresql://...` (psycopg 3); also `--database-url`",
    deprecated=("TAKEITDOWN_DATABASE_URL",),
    secret=True,  # may hold a password
)
API_KEY = Var(
    "TAKEITDOWN_NODE_API_KEY",
    str,
    None,
    "the platform key the registry issued (`takeitdown registry platform add NAME` prints it)",
    secret=True,
)
ADMIN_TOKEN = Var(
    "TAKEITDOWN_NODE_ADMIN_TOKEN",
    str,
    None,
    "what callers of this node's API must send as `Authorization: Bearer` (16+ characters)",
    secret=True,
)
MIN_ADMIN_TOKEN = 16

POLICY = (
    Var(
        "TAKEITDOWN_NODE_BLOCK_DISTANCE",
        int,
        10,
        "PDQ distance at or under which an upload is blocked",
        0,
        64,
    ),
    Var(
        "TAKEITDOWN_NODE_REVIEW_DISTANCE", int, 31, "PDQ distance at or under which it goes to review", 0, 64
    ),
    Var("TAKEITDOWN_NODE_VPDQ_VERDICT", ("review", "block"), "review", "what a vPDQ (video) match gives"),
)

SYNC = (
    Var("TAKEITDOWN_NODE_MAX_UPLOAD_MB", float, 50.0, "bigger uploads to `/v1/match` get 413", 0.01, 4096),
    Var(
        "TAKEITDOWN_NODE_POLL_SECONDS",
        float,
        10.0,
        "how often to ask the registry for new entries once caught up",
        0.1,
        86400,
    ),
    Var("TAKEITDOWN_NODE_PAGE_SIZE", int, 1000, "feed entries asked for a page", 1, 10_000),
    Var(
        "TAKEITDOWN_NODE_OUTBOX_SECONDS",
        float,
        5.0,
        "how often queued reports are sent (also at once after a decision)",
        0.1,
        86400,
    ),
    Var(
        "TAKEITDOWN_NODE_BACKOFF_BASE",
        float,
        1.0,
        "seconds; first retry delay after a registry error",
        0.01,
        3600,
    ),
    Var(
        "TAKEITDOWN_NODE_BACKOFF_CAP", float, 300.0, "seconds; longest retry delay (full jitter)", 0.1, 86400
    ),
    Var(
        "TAKEITDOWN_NODE_MAX_LAG_SECONDS",
        float,
        600.0,
        "`/readyz` fails when the node last held the whole list longer ago than this",
        1,
        30 * 86400,
    ),
)

VARIABLES = (DATABASE_URL, API_KEY, ADMIN_TOKEN, *POLICY, *SYNC)


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The URL given, else TAKEITDOWN_NODE_DATABASE_URL (or the deprecated shared name), else
    the default SQLite file."""
    return explicit or str(load([DATABASE_URL], environ)["database_url"])


def policy_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return load(POLICY, environ)


def sync_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return load(SYNC, environ)


def admin_token(environ: Mapping[str, str] | None = None) -> str:
    token = load([ADMIN_TOKEN], environ)["admin_token"]
    if token is None or len(token) < MIN_ADMIN_TOKEN:
        raise SettingsError(
            f"set TAKEITDOWN_NODE_ADMIN_TOKEN to a secret of at least {MIN_ADMIN_TOKEN} characters (e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`); every API call but "
            "the health probes and /metrics must send it as `Authorization: Bearer <token>`"
        )
    return str(token)


def api_key(environ: Mapping[str, str] | None = None) -> str:
    key = load([API_KEY], environ)["api_key"]
    if not key:
        raise SettingsError(
            "set TAKEITDOWN_NODE_API_KEY to the platform key the registry gave you "
            "(`takeitdown registry platform add NAME` prints it)"
        )
    return str(key)
