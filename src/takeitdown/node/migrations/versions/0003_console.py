"""Review console, audit trail, webhooks and inventory: accounts and sessions, the chained audit
log, the webhook outbox, the inventory of hosted hashes; review items say who decided and why,
the uploader's opaque account id, and the inventory item a retro match found.

Revision ID: node_0003
Revises: node_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0003"
down_revision = "node_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(256), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "node_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "node_audit",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    op.create_index("node_ix_audit_action", "node_audit", ["action", "seq"])
    op.create_table(
        "node_audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "node_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("node_ix_events_due", "node_events", ["delivered_at", "dead_at", "next_attempt_at"])
    op.create_table(
        "node_inventory",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("ref", sa.String(1024), nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("pdq_variants", sa.JSON(), nullable=True),
        sa.Column("frames", sa.JSON(), nullable=True),
        sa.Column("hashed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "ref", name="node_uq_inventory_item"),
    )
    op.create_index("node_ix_inventory_md5", "node_inventory", ["md5"])
    with op.batch_alter_table("node_review_items") as t:
        t.add_column(sa.Column("decided_by", sa.String(160), nullable=True))
        t.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        t.add_column(sa.Column("account", sa.String(256), nullable=True))
        t.add_column(sa.Column("inventory_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_review_items") as t:
        for name in ("inventory_id", "account", "decision_reason", "decided_by"):
            t.drop_column(name)
    for name in (
        "node_inventory",
        "node_events",
        "node_audit_head",
        "node_audit",
        "node_sessions",
        "node_users",
    ):
        op.drop_table(name)
