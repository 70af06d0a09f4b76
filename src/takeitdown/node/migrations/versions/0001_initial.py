"""Initial node schema: entries, sync cursor, review queue, block list, scan results, outbox.

The tables carry the `node_` prefix since node_0002 (databases made before it are renamed there).

Revision ID: node_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "node_entries",
        sa.Column("entry_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("frames", sa.JSON(), nullable=True),
    )
    op.create_index("node_ix_entries_type_value", "node_entries", ["type", "value"])
    op.create_table(
        "node_sync_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "node_review_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(1024), nullable=True),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("node_ix_review_status", "node_review_items", ["status", "id"])
    op.create_table(
        "node_block_list",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("entry_ids", sa.JSON(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("node_ix_block_type_value", "node_block_list", ["type", "value"])
    op.create_table(
        "node_scan_results",
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("item_id", sa.String(1024), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("source", "item_id", name="uq_scan_item"),
    )
    op.create_table(
        "node_outbox",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("node_ix_outbox_unsent", "node_outbox", ["sent_at", "created_at"])


def downgrade() -> None:
    for table in (
        "node_outbox",
        "node_scan_results",
        "node_block_list",
        "node_review_items",
        "node_sync_state",
        "node_entries",
    ):
        op.drop_table(table)
