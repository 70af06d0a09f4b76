"""Node settings: `VARIABLES` is the one list of what the node reads from its environment.

`node_settings` validates all of it at start (a bad value stops the start with a message naming
the variable and what it accepts); docs/node.md's settings table is generated from the same list
(tests/node/test_settings.py holds the docs to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.util import find_spec
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
    Var(
        "TAKEITDOWN_NODE_VPDQ_VERDICT",
        ("review", "block"),
        "review",
        "how strong a vPDQ (video) match is: `review` = near, `block` = strong",
    ),
    # Per trust state (docs/node.md, "Policy"). The defaults post nothing that matches before a
    # reviewer saw it, and remove nothing for good on an entry no platform has confirmed.
    Var(
        "TAKEITDOWN_NODE_ON_CONFIRMED",
        ("block", "hold"),
        "block",
        "a strong match to an entry platforms confirmed: `block` (final, no review) or `hold`",
    ),
    Var(
        "TAKEITDOWN_NODE_ON_UNCONFIRMED",
        ("hold", "block"),
        "hold",
        "a strong match to an unconfirmed entry: `hold` (not posted) or `block` (provisional); "
        "either way a high-priority review decides",
    ),
    Var(
        "TAKEITDOWN_NODE_ON_NEAR",
        ("hold", "review"),
        "hold",
        "a near match (PDQ past the block distance): `hold` or `review` (posted, reviewed afterwards)",
    ),
)

SYNC = (
    Var("TAKEITDOWN_NODE_MAX_UPLOAD_MB", float, 50.0, "bigger uploads to `/v1/match` get 413", 0.01, 4096),
    Var(
        "TAKEITDOWN_NODE_MAX_CONCURRENT_CHECKS",
        int,
        2,
        "files `/v1/match` decodes at once (each may take a core and up to ~500 MB); more wait",
        1,
        256,
    ),
    Var(
        "TAKEITDOWN_NODE_CHECK_WAIT_SECONDS",
        float,
        5.0,
        "how long a file check waits for a free slot before a 503 with Retry-After",
        0,
        600,
    ),
    Var(
        "TAKEITDOWN_NODE_BODY_TIMEOUT_SECONDS",
        float,
        30.0,
        "a request body not fully received within this gets 408 (a body trickling in forever)",
        1,
        3600,
    ),
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
        "TAKEITDOWN_NODE_MAX_PAGE_MB",
        float,
        8.0,
        "a feed page larger than this is given up and asked again with half the entries (one valid "
        "entry is at most ~5 MB), so sync memory stays bounded",
        6,
        1024,
    ),
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

CONSOLE = (
    Var(
        "TAKEITDOWN_NODE_WEBHOOK_URL",
        str,
        None,
        "where the node POSTs signed events (docs/webhooks.md); unset: events wait in the outbox",
    ),
    Var(
        "TAKEITDOWN_NODE_WEBHOOK_SECRET",
        str,
        None,
        "the shared secret of the events' HMAC-SHA256 signature (16+ characters; needed with the URL)",
        secret=True,
    ),
    Var(
        "TAKEITDOWN_NODE_WEBHOOK_MAX_ATTEMPTS",
        int,
        12,
        "failed deliveries before an event becomes a dead letter (listed in the console)",
        1,
        1000,
    ),
    Var(
        "TAKEITDOWN_NODE_WEBHOOK_BACKOFF_BASE",
        float,
        1.0,
        "seconds; the first webhook retry delay (doubling, with jitter)",
        0.01,
        3600,
    ),
    Var(
        "TAKEITDOWN_NODE_WEBHOOK_BACKOFF_CAP",
        float,
        600.0,
        "seconds; the longest webhook retry delay",
        0.1,
        86400,
    ),
    Var(
        "TAKEITDOWN_NODE_CONTENT_URL",
        str,
        None,
        "the platform's URL of a content item for reviewers' browsers, with `{ref}` (e.g. "
        "`https://media.internal/review/{ref}`); unset: the console shows no content",
    ),
    Var(
        "TAKEITDOWN_NODE_SESSION_MINUTES",
        float,
        480.0,
        "minutes a console sign-in lasts",
        1,
        7 * 24 * 60,
    ),
    Var(
        "TAKEITDOWN_NODE_SIGNIN_ATTEMPTS",
        int,
        5,
        "failed sign-ins in a row that lock an account",
        1,
        100,
    ),
    Var(
        "TAKEITDOWN_NODE_LOCKOUT_MINUTES",
        float,
        15.0,
        "minutes a locked account stays locked",
        0.01,
        7 * 24 * 60,
    ),
    Var(
        "TAKEITDOWN_NODE_AUDIT_RETENTION_DAYS",
        int,
        0,
        "days the audit log keeps a row (0: for ever); older rows are pruned, the chain anchored",
        0,
        36500,
    ),
    Var(
        "TAKEITDOWN_NODE_HOUSEKEEPING_MINUTES",
        float,
        60.0,
        "minutes between runs of the audit log's retention (the legal desk's personal-data purge runs on "
        "its own clock, `TAKEITDOWN_NODE_TAKEDOWN_TICK_SECONDS`)",
        0.01,
        7 * 24 * 60,
    ),
)

DESK = (
    Var(
        "TAKEITDOWN_NODE_PII_RETENTION_DAYS",
        float,
        30.0,
        "days a legal request's name, contact and statement are kept after it closes",
        0,
        3650,
    ),
    Var(
        "TAKEITDOWN_NODE_TAKEDOWN_RATE_PER_MINUTE",
        float,
        6.0,
        "legal requests one client may send a minute (`0`: no limit)",
        0,
        10_000,
    ),
    Var(
        "TAKEITDOWN_NODE_TAKEDOWN_ABANDON_DAYS",
        float,
        30.0,
        "days a legal request marked incomplete waits for its requester; unanswered, it is closed as "
        "abandoned and its personal data deleted after the retention like a closed one's",
        1,
        3650,
    ),
    Var(
        "TAKEITDOWN_NODE_TAKEDOWN_TICK_SECONDS",
        float,
        60.0,
        "how often the legal desk records missed deadlines, gives the 36-hour warnings, closes "
        "abandoned requests and deletes expired personal data",
        1,
        3600,
    ),
    Var(
        "TAKEITDOWN_NODE_PLATFORM_NAME",
        str,
        None,
        'the platform\'s name on the legal request form (`/takedown`); unset: "this platform"',
    ),
    Var(
        "TAKEITDOWN_NODE_TAKEDOWN_NOTICE",
        str,
        None,
        "an extra plain-text paragraph on the legal request form (e.g. other ways to reach you)",
        optional=True,
    ),
)
PII_KEY = Var(
    "TAKEITDOWN_NODE_PII_KEY",
    str,
    None,
    "32 bytes, URL-safe base64: seals the legal desk's personal data (`takeitdown node pii-key` makes one); "
    "without it the request form is closed",
    secret=True,
)

# The inventory of hosted items' hashes (docs/node.md, "The inventory"): in this process's memory,
# or split across Ray actors for platforms whose inventory does not fit one machine (docs/scale.md).
INVENTORY = (
    Var(
        "TAKEITDOWN_NODE_INVENTORY_SHARDS",
        int,
        0,
        "`0`: hosted items' hashes are indexed in the node's own memory; N: in N shards on Ray actors "
        "(the `ray` extra), none in the node",
        0,
        4096,
    ),
    Var(
        "TAKEITDOWN_NODE_RAY_ADDRESS",
        str,
        None,
        "the Ray cluster the shards run on (e.g. `10.0.0.5:6379`); unset: a Ray instance started on this "
        "machine",
        optional=True,
    ),
    Var(
        "TAKEITDOWN_NODE_INVENTORY_DIR",
        str,
        None,
        "where the shards are saved, one `.npz` a shard (every actor must read it: a shared file system "
        "for a cluster of machines); unset: `inventory-shards` beside the SQLite file, else "
        "`takeitdown-data/inventory-shards`",
        optional=True,
    ),
    Var(
        "TAKEITDOWN_NODE_INVENTORY_SHARD_CPUS",
        float,
        1.0,
        "CPUs Ray reserves for each shard's actor",
        0.01,
        256,
    ),
    Var(
        "TAKEITDOWN_NODE_INVENTORY_SAVE_MINUTES",
        float,
        60.0,
        "minutes between saves of the shards (and at stop); a restart loads them and adds only newer rows",
        0.01,
        7 * 24 * 60,
    ),
)

VARIABLES = (DATABASE_URL, API_KEY, ADMIN_TOKEN, PII_KEY, *POLICY, *SYNC, *CONSOLE, *DESK, *INVENTORY)


def inventory_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The inventory settings; shards > 0 without Ray installed is refused here, at start."""
    values = load(INVENTORY, environ)
    if values["inventory_shards"] and find_spec("ray") is None:
        raise SettingsError(
            f"TAKEITDOWN_NODE_INVENTORY_SHARDS={values['inventory_shards']} needs Ray: install takeitdown's "
            "ray extra, `pip install '.[ray]'` in a checkout or `pip install "
            "'takeitdown-<version>-py3-none-any.whl[ray]'` from a wheel (or set it to 0)"
        )
    return values


def inventory_dir(explicit: str | None, database: str) -> Path:
    """TAKEITDOWN_NODE_INVENTORY_DIR's value, else `inventory-shards` beside a SQLite database file,
    else under the default data folder."""
    if explicit:
        return Path(explicit)
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database)
    except Exception:  # noqa: BLE001 - the database URL is checked where it is opened
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).parent / "inventory-shards"
    return DEFAULT_SQLITE_PATH.parent / "inventory-shards"


def console_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    values = load(CONSOLE, environ)
    if values["webhook_url"]:
        if not str(values["webhook_url"]).startswith(("http://", "https://")):
            raise SettingsError("TAKEITDOWN_NODE_WEBHOOK_URL must be an http(s) URL")
        if not values["webhook_secret"] or len(values["webhook_secret"]) < 16:
            raise SettingsError(
                "TAKEITDOWN_NODE_WEBHOOK_SECRET must be set to 16+ characters when "
                "TAKEITDOWN_NODE_WEBHOOK_URL is set"
            )
    url = values["content_url"]
    if url and ("{ref}" not in url or not str(url).startswith(("http://", "https://", "/"))):
        raise SettingsError("TAKEITDOWN_NODE_CONTENT_URL must be an http(s) URL (or a path) holding {ref}")
    return values


def database_url(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The URL given, else TAKEITDOWN_NODE_DATABASE_URL (or the deprecated shared name), else
    the default SQLite file."""
    return explicit or str(load([DATABASE_URL], environ)["database_url"])


def policy_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return load(POLICY, environ)


def sync_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    return load((*SYNC, *DESK), environ)


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
