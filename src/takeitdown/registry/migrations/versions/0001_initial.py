"""The registry's first schema: cases, entries, case_hashes, feed, feed_counter, platforms, reports.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", Id, primary_key=True),
        sa.Column("case_id", sa.String(16), nullable=False, unique=True),
        sa.Column("secret_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("created_on", sa.Date, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("entry_id", Id, primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("quality", sa.Integer, nullable=True),
        sa.Column("frames", sa.Text, nullable=True),
        sa.Column("live", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("type", "value", name="uq_entries_type_value"),
    )
    op.create_table(
        "case_hashes",
        sa.Column("case_pk", Id, sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("entry_id", Id, sa.ForeignKey("entries.entry_id"), primary_key=True),
        sa.Column("listed", sa.Boolean, nullable=False),
    )
    op.create_index("ix_case_hashes_entry", "case_hashes", ["entry_id"])
    op.create_table(
        "feed",
        sa.Column("seq", Id, primary_key=True, autoincrement=False),
        sa.Column("op", sa.String(6), nullable=False),
        sa.Column("entry_id", Id, sa.ForeignKey("entries.entry_id"), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("quality", sa.Integer, nullable=True),
    )
    op.create_index("ix_feed_entry", "feed", ["entry_id"])
    counter = op.create_table(
        "feed_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "last_seq": 0}])
    op.create_table(
        "platforms",
        sa.Column("id", Id, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("key_id", sa.String(16), nullable=False, unique=True),
        sa.Column("key_salt", sa.LargeBinary(16), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_on", sa.Date, nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True),
        sa.Column("platform_id", Id, sa.ForeignKey("platforms.id"), nullable=False),
        sa.Column("report_id", sa.String(100), nullable=False),
        sa.Column("entry_id", Id, sa.ForeignKey("entries.entry_id"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_on", sa.Date, nullable=False),
        sa.UniqueConstraint("platform_id", "report_id", name="uq_reports_platform_report"),
    )
    op.create_index("ix_reports_entry", "reports", ["entry_id"])


def downgrade() -> None:
    for name in ("reports", "platforms", "feed_counter", "feed", "case_hashes", "entries", "cases"):
        op.drop_table(name)
