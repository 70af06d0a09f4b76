"""Outbox rows say whether a human reviewer made the decision they report.

The registry confirms an entry only on a *reviewed* `removed` or `upload_blocked`
(protocol.Report.reviewed); before this, every report a node sent went without it, so no
reviewer's decision could ever confirm an entry. Rows already queued stay unreviewed: which of
them came from a reviewer is not recorded.

Revision ID: node_0006_reviewed
Revises: node_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0006_reviewed"
down_revision = "node_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("node_outbox") as t:
        t.add_column(sa.Column("reviewed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("node_outbox") as t:
        t.drop_column("reviewed")
