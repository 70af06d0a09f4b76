"""Store each feed entry's JSON with its row, so a feed page is one string join.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The same JSON `store.feed_line` writes, built by the database for rows that exist already.
BACKFILL = (
    'UPDATE feed SET line = \'{"seq":\' || seq || \',"op":"\' || op || \'","type":"\' || type'
    ' || \'","value":"\' || value || \'","quality":\' || coalesce(CAST(quality AS TEXT), \'null\')'
    " || ',\"entry_id\":' || entry_id || ',\"frames\":' || coalesce(CASE WHEN type = 'vpdq' AND op = 'add'"
    " THEN (SELECT frames FROM entries WHERE entries.entry_id = feed.entry_id) END, 'null') || '}'"
)


def upgrade() -> None:
    op.add_column("feed", sa.Column("line", sa.Text, nullable=True))
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("line")
