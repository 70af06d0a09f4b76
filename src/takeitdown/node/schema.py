"""The node's tables (SQLAlchemy Core). Changes go through an Alembic migration in `migrations/`.

Every table and index name starts with `node_`, so a node can share a database with a registry.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# The registry's hash list as this node last saw it: one row per live entry.
entries = Table(
    "node_entries",
    metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(8), nullable=False),
    Column("value", String(64), nullable=False),
    Column("quality", Integer, nullable=True),
    Column("frames", JSON, nullable=True),
    # TrustState: unconfirmed | confirmed (quarantined entries move to node_quarantined)
    Column("trust", String(16), nullable=False, server_default="unconfirmed"),
    Index("node_ix_entries_type_value", "type", "value"),
)

# Entries the registry quarantined: off the index and every lookup, kept (frames and all) so a
# `state` entry that restores one brings it back without the registry sending the hash again.
quarantined = Table(
    "node_quarantined",
    metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(8), nullable=False),
    Column("value", String(64), nullable=False),
    Column("quality", Integer, nullable=True),
    Column("frames", JSON, nullable=True),
    Column("since", DateTime(timezone=True), nullable=False),
)

# One row (id 1): the feed cursor, written in the same transaction as the entries of a page.
sync_state = Table(
    "node_sync_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("cursor", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    # The registry's epoch and running hash at `cursor` (FeedPage.head), to check the next page's
    # epoch and base against: a mismatch means the registry was reset or restored (sync.py).
    Column("epoch", String(128), nullable=True),
    Column("head", String(128), nullable=True),
    Column("resyncs", Integer, nullable=False, server_default="0"),
    Column("last_resync_at", DateTime(timezone=True), nullable=True),
    Column("last_resync_reason", Text, nullable=True),
    # After a resync has caught up, what stood on entries the registry no longer has is lifted.
    Column("sweep_due", Boolean, nullable=False, server_default="0"),
)

# Items waiting for a human: scan findings and uploads sent to review.
review_items = Table(
    "node_review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # "scan" | "upload"
    Column("ref", String(1024), nullable=True),  # the platform's own id or path of the content
    Column("md5", String(32), nullable=True),
    Column("pdq", String(64), nullable=True),
    Column("matches", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | removed | not_a_match | withdrawn
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    # 1 (high): an upload held or provisionally blocked, waiting on this decision; 0: the rest
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("reason", Text, nullable=True),  # why it was closed without a decision, or the policy reason
    Index("node_ix_review_status", "status", "id"),
)

# Hashes of content the platform removed itself: re-uploads are blocked at once.
block_list = Table(
    "node_block_list",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(8), nullable=False),  # "md5" | "pdq"
    Column("value", String(64), nullable=False),
    Column("entry_ids", JSON, nullable=False),  # registry entries the removed item matched
    Column("review_id", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A reviewer's own platform-policy reason: the block stays when its entries are withdrawn.
    Column("policy_reason", Text, nullable=True),
    Index("node_ix_block_type_value", "type", "value"),
)

# Scan progress: one row per item of a scan source, so a stopped scan resumes.
scan_results = Table(
    "node_scan_results",
    metadata,
    Column("source", String(1024), nullable=False),
    Column("item_id", String(1024), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("verdict", String(8), nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("source", "item_id", name="uq_scan_item"),
)

# Outcomes to report to the registry; `sent_at` is set only after a 2xx.
outbox = Table(
    "node_outbox",
    metadata,
    Column("report_id", String(36), primary_key=True),
    Column("entry_id", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("content_ref", String(200), nullable=True),  # protocol.Report.content_ref
    # protocol.Report.reviewed: a reviewer decided it (only that confirms an entry), migration 0006
    Column("reviewed", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False),
    Index("node_ix_outbox_unsent", "sent_at", "created_at"),
)

# -- review console, audit trail, webhooks, inventory (migration node_0003) ----------------------

# Reviewer and admin accounts. The secret is kept as a scrypt hash (users.py), never in clear.
users = Table(
    "node_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # reviewer | admin
    Column("secret_hash", String(256), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("failed", Integer, nullable=False),  # failed sign-ins in a row
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Console sessions: the cookie's SHA-256 (the cookie itself is never stored) and its CSRF token.
sessions = Table(
    "node_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# The audit log: append-only, each row's hash covers the previous row's hash (audit.py).
audit = Table(
    "node_audit",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(160), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(256), nullable=True),
    Column("reason", Text, nullable=True),
    Column("details", JSON, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    Index("node_ix_audit_action", "action", "seq"),
)

# The chain's head (one row): writers update it in the transaction that appends, which also
# serialises concurrent appends on PostgreSQL (the row lock) as BEGIN IMMEDIATE does on SQLite.
audit_head = Table(
    "node_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("row_hash", String(64), nullable=False),
)

# Webhook outbox (events.py, webhooks.py): durable, retried with backoff, dead-lettered at last.
events = Table(
    "node_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("dead_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("node_ix_events_due", "delivered_at", "dead_at", "next_attempt_at"),
)

# The hashes of what the platform hosts (inventory.py), kept by scans so that entries arriving
# later are matched against hosted content without reading the files again.
inventory = Table(
    "node_inventory",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(1024), nullable=False),
    Column("ref", String(1024), nullable=False),
    Column("md5", String(32), nullable=True),
    Column("pdq", String(64), nullable=True),  # as stored (the indexed one)
    Column("pdq_variants", JSON, nullable=True),  # rotations and flips, as the scan hashed them
    Column("frames", JSON, nullable=True),  # a video's vPDQ frames
    Column("hashed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source", "ref", name="node_uq_inventory_item"),
    Index("node_ix_inventory_md5", "md5"),
    Index("node_ix_inventory_ref", "ref"),  # node_0006: the legal desk looks named items up by ref
    sqlite_autoincrement=True,  # node_0009: an id is never reused (readers take rows above the last seen)
)

# Who decided a review item, and the uploader's opaque account id the platform sent (if any).
REVIEW_EXTRA = (
    Column("decided_by", String(160), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("account", String(256), nullable=True),
    Column("inventory_id", Integer, nullable=True),
)
for _c in REVIEW_EXTRA:
    review_items.append_column(_c)

# TAKE IT DOWN Act requests (node/takedown.py). The requester's name, contact and statement are
# the only personal data in the system: they live apart, sealed (node_takedown_pii), and expire.
takedown_requests = Table(
    "node_takedown_requests",
    metadata,
    Column("id", String(16), primary_key=True),  # TR-XXXX-XXXX
    Column("secret_salt", LargeBinary(16), nullable=False),
    Column("secret_hash", LargeBinary(32), nullable=False),
    Column("acting_for", String(16), nullable=False),  # self | authorized
    Column("minor", Boolean, nullable=True),  # the person depicted was under 18 (if said)
    Column("share_consent", Boolean, nullable=False),  # consent to send the hashes to the registry
    Column("hashes", JSON, nullable=False),  # wire-format hashes computed in the requester's browser
    Column("state", String(16), nullable=False),  # valid | incomplete | removing | closed | declined
    Column("note", Text, nullable=True),  # what the desk told the requester (incomplete, declined)
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("clock_from", DateTime(timezone=True), nullable=True),  # when the valid request was had
    Column("deadline", DateTime(timezone=True), nullable=True),
    Column("removed_at", DateTime(timezone=True), nullable=True),  # every ref confirmed removed
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("breach", Text, nullable=True),  # why the deadline was missed; never cleared
    Column("case_id", String(16), nullable=True),  # registry case made with consent
    # node_0006: validated (no more `incomplete` after it), asked for more, warned at 36 h
    Column("validated_at", DateTime(timezone=True), nullable=True),
    Column("incomplete_at", DateTime(timezone=True), nullable=True),
    Column("warned_at", DateTime(timezone=True), nullable=True),
    Index("node_ix_takedown_state", "state", "deadline"),
)

takedown_pii = Table(
    "node_takedown_pii",
    metadata,
    Column("request_id", String(16), primary_key=True),
    # AES-GCM: {"signature", "contact", "statement", "answers": [{"at", "note"}]}
    Column("sealed", LargeBinary, nullable=False),
    Column("purge_after", DateTime(timezone=True), nullable=True),
)

# One row per piece of content a request names or the desk found: the requested items and the
# identical (MD5) and likely (PDQ) copies found in the inventory.
takedown_items = Table(
    "node_takedown_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(16), nullable=False),
    Column("ref", String(1024), nullable=False),
    Column("kind", String(16), nullable=False),  # requested | identical_copy | likely_copy
    Column("state", String(16), nullable=False),  # pending | removing | removed | kept
    Column("distance", Integer, nullable=True),
    Column("note", Text, nullable=True),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("request_id", "ref", name="node_uq_takedown_item"),
)

# During a resync: the hashes of entries something stood on, as they were before it. A restored
# registry may give the same entry id to another hash; only the same id AND hash is still listed.
resync_prior = Table(
    "node_resync_prior",
    metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),
    Column("type", String(8), nullable=False),
    Column("value", String(64), nullable=False),
)

# Every block and hold the node made, so it can be reviewed and appealed (GET /v1/actions).
# status: pending (a reviewer decides) | upheld (final: by policy or by a reviewer) | released
# (a reviewer found no match) | lifted (every entry it stood on left the list).
actions = Table(
    "node_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(8), nullable=False),  # "block" | "hold"
    Column("final", Boolean, nullable=False),  # True: no reviewer needed to see it
    Column("source", String(16), nullable=False),  # "upload"
    Column("ref", String(200), nullable=False),  # the upload's content_ref
    Column("md5", String(32), nullable=True),
    Column("pdq", String(64), nullable=True),
    Column("matches", JSON, nullable=False),  # each with entry_id, type, distance, source, trust
    Column("entry_ids", JSON, nullable=False),
    Column("review_id", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("policy_reason", Text, nullable=True),  # a reviewer's reason to keep it after withdrawal
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Index("node_ix_actions_status", "status", "id"),
)
# The uploader's opaque account id the platform sent with the match request (migration node_0007).
actions.append_column(Column("account", String(256), nullable=True))

# Every further ref joined to a review item of the same content (a second upload, another hosted
# copy, a scan finding again): the decision settles each, and events name them all. The item's
# own ref stays in node_review_items.ref (migration node_0007).
review_refs = Table(
    "node_review_refs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("review_id", Integer, nullable=False),
    Column("source", String(16), nullable=False),  # upload | scan | retro
    Column("ref", String(1024), nullable=False),
    Column("account", String(256), nullable=True),
    Column("action_id", Integer, nullable=True),  # the hold or block waiting on the item, if any
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("review_id", "source", "ref", name="node_uq_review_ref"),
)

# Which registry entries each review item, local block and action stands on, so a withdrawal
# finds what to lift or close without reading every row. kind: "review" | "block" | "action".
entry_links = Table(
    "node_entry_links",
    metadata,
    Column("entry_id", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("ref_id", Integer, nullable=False),
    Index("node_ix_entry_links_entry", "entry_id", "kind"),
)
