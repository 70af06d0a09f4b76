"""Node tables and indexes get a `node_` prefix, so a node and a registry can share a database.

Before this, both roles had a table called `entries`: a node started on the registry's database
(for example through the old shared TAKEITDOWN_DATABASE_URL) failed with "table entries already
exists". node_0001 now creates the prefixed names itself; a database that a node made before
that (its tables unprefixed, `sync_state` among them) is renamed here. Index names are
database-wide on SQLite and PostgreSQL, so they move too.

Revision ID: node_0002
Revises: node_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "node_0002"
down_revision = "node_0001"
branch_labels = None
depends_on = None

TABLES = ("entries", "sync_state", "review_items", "block_list", "scan_results", "outbox")
# (old index name, table before the rename, columns)
INDEXES = (
    ("ix_entries_type_value", "entries", ["type", "value"]),
    ("ix_review_status", "review_items", ["status", "id"]),
    ("ix_block_type_value", "block_list", ["type", "value"]),
    ("ix_outbox_unsent", "outbox", ["sent_at", "created_at"]),
)


def upgrade() -> None:
    names = set(sa.inspect(op.get_bind()).get_table_names())
    if "sync_state" not in names:  # made by the current node_0001: already prefixed
        return
    for index, table, _cols in INDEXES:
        op.drop_index(index, table_name=table)
    for table in TABLES:
        op.rename_table(table, f"node_{table}")
    for index, table, cols in INDEXES:
        op.create_index(f"node_{index}", f"node_{table}", cols)


def downgrade() -> None:
    pass  # the prefixed names are also what node_0001 makes now: nothing to undo
