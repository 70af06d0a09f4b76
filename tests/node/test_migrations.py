"""Node migrations: a database made before the `node_` table prefix upgrades with its data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from takeitdown.node.db import MIGRATIONS, Database

OLD_TABLES = ("entries", "sync_state", "review_items", "block_list", "scan_results", "outbox")
OLD_INDEXES = {
    "ix_entries_type_value": ("entries", "type, value"),
    "ix_review_status": ("review_items", "status, id"),
    "ix_block_type_value": ("block_list", "type, value"),
    "ix_outbox_unsent": ("outbox", "sent_at, created_at"),
}


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def test_unprefixed_tables_from_before_node_0002_are_renamed_with_their_rows(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _config()
    with db.write() as conn:  # the schema node_0001 made, then as it was before the prefix
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "node_0001")
        for index in OLD_INDEXES:
            conn.execute(text(f"DROP INDEX node_{index}"))
        for table in OLD_TABLES:
            conn.execute(text(f"ALTER TABLE node_{table} RENAME TO {table}"))
        for index, (table, cols) in OLD_INDEXES.items():
            conn.execute(text(f"CREATE INDEX {index} ON {table} ({cols})"))
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
    with db.write() as conn:  # at head: nothing more to do
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    db.dispose()


def test_node_0005_upgrades_a_database_with_reviews_and_blocks_linking_their_entries(
    tmp_path: Path,
) -> None:
    # A node_0004 database holding a pending review and a local block: after node_0005 both are
    # linked to their entries, so a later withdrawal finds and closes them.
    db = Database(f"sqlite:///{tmp_path / 'n2.db'}")
    cfg = _config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "node_0004")
        conn.execute(
            text(
                "INSERT INTO node_review_items (source, ref, matches, status, created_at) VALUES "
                "('upload', 'p1', '[{\"entry_id\": 5, \"type\": \"md5\", \"distance\": 0}]', 'pending', "
                "'2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO node_block_list (type, value, entry_ids, created_at) VALUES "
                "('md5', '" + "b" * 32 + "', '[5, 6]', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text("INSERT INTO node_entries (entry_id, type, value) VALUES (5, 'md5', '" + "b" * 32 + "')")
        )
    db.migrate()
    with db.read() as conn:
        links = conn.execute(text("SELECT kind, ref_id, entry_id FROM node_entry_links ORDER BY 1, 3")).all()
        trust = conn.execute(text("SELECT trust FROM node_entries")).scalar_one()
    assert [tuple(r) for r in links] == [("block", 1, 5), ("block", 1, 6), ("review", 1, 5)]
    assert trust == "unconfirmed"
    db.dispose()


def test_node_0007_keeps_the_refs_of_uploads_joined_before_it(tmp_path: Path) -> None:
    # A node_0005 database where a second upload of the same content joined the first one's item:
    # only its action named it. After node_0007 the item keeps both refs, so a decision settles both.
    db = Database(f"sqlite:///{tmp_path / 'n3.db'}")
    cfg = _config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "node_0005")
        conn.execute(
            text(
                "INSERT INTO node_review_items (source, ref, matches, status, created_at, priority) VALUES "
                "('upload', 'p1', '[]', 'pending', '2026-01-01 00:00:00', 1)"
            )
        )
        for ref in ("p1", "p2", "p2"):  # p2 sent twice: one joined ref
            conn.execute(
                text(
                    "INSERT INTO node_actions (created_at, kind, final, source, ref, matches, entry_ids, "
                    "review_id, status) VALUES ('2026-01-01 00:00:00', 'hold', 0, 'upload', :ref, '[]', "
                    "'[]', 1, 'pending')"
                ),
                {"ref": ref},
            )
    db.migrate()
    with db.read() as conn:
        refs = conn.execute(text("SELECT review_id, source, ref, action_id FROM node_review_refs")).all()
        accounts = conn.execute(text("SELECT account FROM node_actions")).scalars().all()
    assert [tuple(r) for r in refs] == [(1, "upload", "p2", 2)]
    assert accounts == [None, None, None]
    db.dispose()


def test_node_0008_gives_old_takedown_requests_their_clock_columns(tmp_path: Path) -> None:
    # A node_0007 database with a request on its way to removal and one waiting for its requester:
    # the first can no longer be marked incomplete, the second waits from the upgrade (not from its
    # receipt, which would abandon it early).
    db = Database(f"sqlite:///{tmp_path / 'n8.db'}")
    cfg = _config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "node_0007_review_refs")
        for rid, state, clock in (("TR-AAAA-AAAA", "removing", "'2026-06-01 10:00:00'"),
                                  ("TR-BBBB-BBBB", "incomplete", "NULL")):  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO node_takedown_requests (id, secret_salt, secret_hash, acting_for, "
                    "share_consent, hashes, state, received_at, clock_from) VALUES "
                    f"('{rid}', x'00', x'00', 'self', 0, '[]', '{state}', '2026-06-01 10:00:00', {clock})"
                )
            )
    db.migrate()
    with db.read() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT id, validated_at IS NOT NULL AND incomplete_at IS NULL "
                    "FROM node_takedown_requests"
                )
            ).all()
        )
        waiting = conn.execute(
            text("SELECT incomplete_at > '2026-06-02' FROM node_takedown_requests WHERE id = 'TR-BBBB-BBBB'")
        ).scalar_one()
        indexes = {i["name"] for i in inspect(conn).get_indexes("node_inventory")}
    assert rows == {"TR-AAAA-AAAA": 1, "TR-BBBB-BBBB": 0} and waiting == 1
    assert "node_ix_inventory_ref" in indexes
    with db.write() as conn:  # and back down
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "node_0007_review_refs")
        cols = {c["name"] for c in inspect(conn).get_columns("node_takedown_requests")}
    assert "validated_at" not in cols
    db.dispose()


def test_node_0009_inventory_ids_are_not_reused_after_a_rescan_of_the_newest_item(tmp_path: Path) -> None:
    # Before: a rescan of the newest item deleted its row and the new row got its id back, so a
    # reader taking the rows above the last id it saw (the serving node) missed the new hashes.
    from takeitdown.node.inventory import Inventory, InventoryItem

    db = Database(f"sqlite:///{tmp_path / 'n9.db'}")
    cfg = _config()
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "node_0008_takedown_clock")
        for i, ref in ((1, "a"), (2, "b")):
            conn.execute(
                text(
                    "INSERT INTO node_inventory (id, source, ref, md5, hashed_at) "
                    f"VALUES ({i}, 's', '{ref}', '{str(i) * 32}', '2026-06-01 10:00:00')"
                )
            )
    db.migrate()
    with db.read() as conn:
        assert conn.execute(text("SELECT id, ref FROM node_inventory ORDER BY id")).all() == [
            (1, "a"),
            (2, "b"),
        ]
        indexes = {i["name"] for i in inspect(conn).get_indexes("node_inventory")}
        unique = {u["name"] for u in inspect(conn).get_unique_constraints("node_inventory")}
    assert indexes == {"node_ix_inventory_md5", "node_ix_inventory_ref"}
    assert unique == {"node_uq_inventory_item"}
    assert Inventory(db).add_items([InventoryItem("s", "b", "9" * 32)]) == [3]  # not 2 again
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")  # a new database: the same
    fresh.migrate()
    inv = Inventory(fresh)
    assert inv.add_items([InventoryItem("s", "a", "1" * 32), InventoryItem("s", "b", "2" * 32)]) == [1, 2]
    assert inv.add_items([InventoryItem("s", "b", "3" * 32)]) == [3]
    with db.write() as conn:  # and back down, rows kept
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "node_0008_takedown_clock")
        assert conn.execute(text("SELECT count(*) FROM node_inventory")).scalar_one() == 2
    db.dispose()
    fresh.dispose()
