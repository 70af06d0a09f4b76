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
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
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
    Index("node_ix_entries_type_value", "type", "value"),
)

# One row (id 1): the feed cursor, written in the same transaction as the entries of a page.
sync_state = Table(
    "node_sync_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("cursor", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
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
    Column("status", String(16), nullable=False),  # pending | removed | not_a_match
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False),
    Index("node_ix_outbox_unsent", "sent_at", "created_at"),
)
