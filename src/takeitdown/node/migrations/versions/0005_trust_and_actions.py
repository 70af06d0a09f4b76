"""Trust states, quarantine, the record of blocks and holds, withdrawal links, divergence marks.

- `node_entries.trust` (unconfirmed | confirmed) and `node_quarantined` (entries off the lists);
- `node_actions` (every block and hold) and `node_entry_links` (what stands on which entry);
- review items get a priority and a closing reason; local blocks a platform-policy reason;
- outbox rows carry the report's `content_ref`;
- `node_sync_state` keeps the registry's epoch and running hash at the cursor, and resyncs;
  `node_resync_prior` what linked entries were during a resync.

Revision ID: node_0005
Revises: node_0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "node_0005"
down_revision = "node_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("node_entries") as t:
        t.add_column(sa.Column("trust", sa.String(16), nullable=False, server_default="unconfirmed"))
    op.create_table(
        "node_quarantined",
        sa.Column("entry_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("frames", sa.JSON(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("node_sync_state") as t:
        t.add_column(sa.Column("epoch", sa.String(128), nullable=True))
        t.add_column(sa.Column("head", sa.String(128), nullable=True))
        t.add_column(sa.Column("resyncs", sa.Integer(), nullable=False, server_default="0"))
        t.add_column(sa.Column("last_resync_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("last_resync_reason", sa.Text(), nullable=True))
        t.add_column(sa.Column("sweep_due", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("node_review_items") as t:
        t.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        t.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("node_block_list") as t:
        t.add_column(sa.Column("policy_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("node_outbox") as t:
        t.add_column(sa.Column("content_ref", sa.String(200), nullable=True))
    op.create_table(
        "node_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("pdq", sa.String(64), nullable=True),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("entry_ids", sa.JSON(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("policy_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("node_ix_actions_status", "node_actions", ["status", "id"])
    op.create_table(
        "node_resync_prior",
        sa.Column("entry_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
    )
    op.create_table(
        "node_entry_links",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
    )
    op.create_index("node_ix_entry_links_entry", "node_entry_links", ["entry_id", "kind"])
    # What stood on which entry before this revision: review items and local blocks.
    conn = op.get_bind()
    links = sa.table("node_entry_links", sa.column("entry_id"), sa.column("kind"), sa.column("ref_id"))
    rows = []
    for rid, matches in conn.execute(sa.text("SELECT id, matches FROM node_review_items")):
        named = [m.get("entry_id") for m in _json(matches) if isinstance(m, dict)]
        rows += [{"entry_id": e, "kind": "review", "ref_id": rid} for e in _ints(named)]
    for bid, named in conn.execute(sa.text("SELECT id, entry_ids FROM node_block_list")):
        rows += [{"entry_id": e, "kind": "block", "ref_id": bid} for e in _ints(_json(named))]
    if rows:
        op.bulk_insert(links, rows)


def _json(raw: object) -> list[object]:
    data = json.loads(raw) if isinstance(raw, str) else raw
    return list(data) if isinstance(data, list) else []


def _ints(values: list[object]) -> set[int]:
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


def downgrade() -> None:
    op.drop_table("node_entry_links")
    op.drop_table("node_resync_prior")
    op.drop_table("node_actions")
    op.drop_table("node_quarantined")
    with op.batch_alter_table("node_outbox") as t:
        t.drop_column("content_ref")
    with op.batch_alter_table("node_block_list") as t:
        t.drop_column("policy_reason")
    with op.batch_alter_table("node_review_items") as t:
        t.drop_column("reason")
        t.drop_column("priority")
    with op.batch_alter_table("node_sync_state") as t:
        for c in ("sweep_due", "last_resync_reason", "last_resync_at", "resyncs", "head", "epoch"):
            t.drop_column(c)
    with op.batch_alter_table("node_entries") as t:
        t.drop_column("trust")
