"""Review items joined by content keep every ref; actions keep the uploader's account id.

- `node_review_refs`: each further ref (upload, scan, retro) joined to an open review item of the
  same content, so a decision settles all of them and events name them all;
- `node_actions.account`: the opaque uploader id sent with the match request (for the
  `entry.withdrawn` / `entry.quarantined` events of a final block).

Uploads joined before this revision are found through their actions (same review id, another ref).

Revision ID: node_0007_review_refs
Revises: node_0006_reviewed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0007_review_refs"
down_revision = "node_0006_reviewed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("node_actions") as t:
        t.add_column(sa.Column("account", sa.String(256), nullable=True))
    op.create_table(
        "node_review_refs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(1024), nullable=False),
        sa.Column("account", sa.String(256), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("review_id", "source", "ref", name="node_uq_review_ref"),
    )
    # The second and later uploads joined to an item before now: their actions name them.
    op.execute(
        sa.text(
            "INSERT INTO node_review_refs (review_id, source, ref, action_id, created_at) "
            "SELECT a.review_id, 'upload', a.ref, MIN(a.id), MIN(a.created_at) FROM node_actions a "
            "JOIN node_review_items r ON r.id = a.review_id "
            "WHERE r.ref IS NULL OR a.ref <> r.ref GROUP BY a.review_id, a.ref"
        )
    )


def downgrade() -> None:
    op.drop_table("node_review_refs")
    with op.batch_alter_table("node_actions") as t:
        t.drop_column("account")
