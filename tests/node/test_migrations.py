"""Node migrations: a database made before the `node_` table prefix upgrades with its data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, inspect, text

from takeitdown.node.db import MIGRATIONS, Database
from takeitdown.node.schema import REVIEW_EXTRA, metadata

NODE_0001_TABLES = ("entries", "sync_state", "review_items", "block_list", "scan_results", "outbox")


def test_unprefixed_tables_from_before_node_0002_are_renamed_with_their_rows(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    legacy = MetaData()
    # The schema as node_0001 made it before the prefix: its tables, without later columns.
    later = {c.name for c in REVIEW_EXTRA}
    for table in metadata.sorted_tables:
        if table.name.removeprefix("node_") not in NODE_0001_TABLES:
            continue
        copy = table.to_metadata(legacy, name=table.name.removeprefix("node_"))
        for col in [c for c in copy.columns if c.name in later]:
            copy._columns.remove(col)
        for index in copy.indexes:
            index.name = str(index.name).removeprefix("node_")
    with db.write() as conn:
        legacy.create_all(conn)
        conn.execute(text("CREATE TABLE node_alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO node_alembic_version VALUES ('node_0001')"))
        conn.execute(
            text("INSERT INTO entries (entry_id, type, value) VALUES (7, 'md5', '" + "a" * 32 + "')")
        )
        conn.execute(text("INSERT INTO sync_state (id, cursor) VALUES (1, 42)"))
    db.migrate()
    with db.read() as conn:
        names = set(inspect(conn).get_table_names())
        assert "entries" not in names and "sync_state" not in names
        assert conn.execute(text("SELECT entry_id FROM node_entries")).scalar_one() == 7
        assert conn.execute(text("SELECT cursor FROM node_sync_state")).scalar_one() == 42
        indexes = {i["name"] for i in inspect(conn).get_indexes("node_entries")}
    assert indexes == {"node_ix_entries_type_value"}
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.write() as conn:  # at head: nothing more to do
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    db.dispose()
