"""Alembic migrations: a database made at revision 0001 upgrades to head with its feed intact."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config

from takeitdown.protocol import chain_next, chain_start
from takeitdown.registry.db import MIGRATIONS, Database
from takeitdown.registry.store import Store, feed_line
from tests.registry.helpers import DatabaseTarget, drop_database, make_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path) -> Iterator[DatabaseTarget]:  # type: ignore[no-untyped-def]
    target = make_database(request.param, tmp_path)
    yield target
    drop_database(target)


def test_upgrade_from_0001_backfills_feed_lines(fresh: DatabaseTarget) -> None:
    db = Database(fresh.url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    frames = '[{"i":0,"pdq":"' + "a" * 64 + '","q":90,"t":0.0}]'
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO entries (entry_id, type, value, quality, frames, live) VALUES "
            "(1, 'pdq', '"
            + "b" * 64
            + "', 80, NULL, 1), (2, 'vpdq', '"
            + "c" * 64
            + "', NULL, '"
            + frames
            + "', 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO feed (seq, op, entry_id, type, value, quality) VALUES "
            "(1, 'add', 1, 'pdq', '" + "b" * 64 + "', 80), (2, 'add', 2, 'vpdq', '" + "c" * 64 + "', NULL),"
            " (3, 'remove', 2, 'vpdq', '" + "c" * 64 + "', NULL)"
        )
        conn.exec_driver_sql("UPDATE feed_counter SET last_seq = 3 WHERE id = 1")
    db.migrate()  # to head
    store = Store(db)
    lines, nxt, more = store.read_feed(0, 10)
    # 0003: the running hash over the lines already served, from this database's new epoch.
    page = store.read_page(0, 10)
    chain = chain_start(page.epoch)
    for line in lines:
        chain = chain_next(chain, line)
    assert (page.base, page.head) == (chain_start(page.epoch), chain)
    assert store.read_page(3, 10).base == chain
    # What was live is on the feed already: nothing to publish again, trust unconfirmed.
    assert store.pending() == 0 and store.publish_pending() == 0
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT entry_id, on_feed, add_seq, trust FROM entries ORDER BY 1").all()
    assert [(r[0], bool(r[1]), r[2], r[3]) for r in rows] == [
        (1, True, 1, "unconfirmed"),
        (2, False, 2, "unconfirmed"),
    ]
    db.dispose()
    assert (nxt, more) == (3, False)
    assert lines == [
        feed_line(1, "add", 1, "pdq", "b" * 64, 80, None),
        feed_line(2, "add", 2, "vpdq", "c" * 64, None, frames),
        feed_line(3, "remove", 2, "vpdq", "c" * 64, None, None),
    ]
    assert json.loads(lines[1])["frames"][0]["q"] == 90
