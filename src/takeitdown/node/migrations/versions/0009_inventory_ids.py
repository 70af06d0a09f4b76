"""Inventory row ids are never used again (SQLite `AUTOINCREMENT`).

Whoever indexes the inventory (the node's own `Inventory.refresh`, the Ray shards' feed) takes
the rows above the last id it saw. Without AUTOINCREMENT, SQLite gives a new row the largest id
plus one, so a rescan of the newest item (delete its row, insert the new one) got the deleted
row's id back and its new hashes were never taken in. PostgreSQL's sequences never reuse an id:
nothing to do there.

Revision ID: node_0009_inventory_ids
Revises: node_0008_takedown_clock
"""

from __future__ import annotations

from alembic import op

revision = "node_0009_inventory_ids"
down_revision = "node_0008_takedown_clock"
branch_labels = None
depends_on = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # the table is copied with its rows, constraint and indexes; sqlite_sequence starts at the max id
    with op.batch_alter_table(
        "node_inventory", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
