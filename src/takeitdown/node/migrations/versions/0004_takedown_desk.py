"""The TAKE IT DOWN Act request desk: requests, their sealed personal data, their items.

Revision ID: node_0004
Revises: node_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0004"
down_revision = "node_0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "node_takedown_requests",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("secret_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("acting_for", sa.String(16), nullable=False),
        sa.Column("minor", sa.Boolean, nullable=True),
        sa.Column("share_consent", sa.Boolean, nullable=False),
        sa.Column("hashes", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("clock_from", TZ, nullable=True),
        sa.Column("deadline", TZ, nullable=True),
        sa.Column("removed_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("breach", sa.Text, nullable=True),
        sa.Column("case_id", sa.String(16), nullable=True),
    )
    op.create_index("node_ix_takedown_state", "node_takedown_requests", ["state", "deadline"])
    op.create_table(
        "node_takedown_pii",
        sa.Column("request_id", sa.String(16), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("purge_after", TZ, nullable=True),
    )
    op.create_table(
        "node_takedown_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(1024), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("distance", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("confirmed_at", TZ, nullable=True),
        sa.UniqueConstraint("request_id", "ref", name="node_uq_takedown_item"),
    )


def downgrade() -> None:
    op.drop_table("node_takedown_items")
    op.drop_table("node_takedown_pii")
    op.drop_index("node_ix_takedown_state", table_name="node_takedown_requests")
    op.drop_table("node_takedown_requests")
