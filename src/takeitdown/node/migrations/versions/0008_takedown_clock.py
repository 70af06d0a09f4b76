"""The TAKE IT DOWN desk's clock: when a request was validated, marked incomplete, warned.

- `validated_at`: the desk validated it (or asked for removal); from then on it can no longer be
  marked incomplete, so the 48-hour clock cannot be restarted;
- `incomplete_at`: when the desk asked the requester for more (an unanswered request is closed as
  abandoned after TAKEITDOWN_NODE_TAKEDOWN_ABANDON_DAYS, and its personal data then expires);
- `warned_at`: the 36-hour warning was given (once);
- an index on the inventory's `ref`: the desk looks the named items' own hashes up by ref.

Revision ID: node_0008_takedown_clock
Revises: node_0007_review_refs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0008_takedown_clock"
down_revision = "node_0007_review_refs"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("node_takedown_requests") as t:
        t.add_column(sa.Column("validated_at", TZ, nullable=True))
        t.add_column(sa.Column("incomplete_at", TZ, nullable=True))
        t.add_column(sa.Column("warned_at", TZ, nullable=True))
    # Requests already on their way to removal count as validated; a request already waiting for
    # its requester waits from now (its real start was not recorded), so nobody is cut short.
    op.execute(
        "UPDATE node_takedown_requests SET validated_at = clock_from "
        "WHERE state IN ('removing', 'closed') AND clock_from IS NOT NULL"
    )
    op.execute(
        "UPDATE node_takedown_requests SET incomplete_at = CURRENT_TIMESTAMP WHERE state = 'incomplete'"
    )
    op.create_index("node_ix_inventory_ref", "node_inventory", ["ref"])


def downgrade() -> None:
    op.drop_index("node_ix_inventory_ref", table_name="node_inventory")
    with op.batch_alter_table("node_takedown_requests") as t:
        t.drop_column("warned_at")
        t.drop_column("incomplete_at")
        t.drop_column("validated_at")
