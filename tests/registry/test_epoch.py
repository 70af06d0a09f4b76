"""A registry restored from a backup mid-life: a node holding (epoch, next, head) notices.

SQLite only (the backup is SQLite's online backup API and the restore a file copy, as an
operator would do it); the running hash itself is the same code on PostgreSQL
(test_guards.py::test_pages_are_bounded_in_bytes_and_the_chain_checks runs on both).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from takeitdown.protocol import FeedEntry, FeedPage, chain_next, chain_start
from tests.registry.helpers import DatabaseTarget, bearer, cli, start_server, stop_server, store_for


def cases(c: httpx.Client, n: int) -> None:
    for _ in range(n):
        item = {"kind": "image", "hashes": [{"type": "md5", "value": secrets.token_hex(16)}]}
        assert c.post("/v1/cases", json={"items": [item]}).status_code == 201


def sync(c: httpx.Client, key: str, after: int = 0) -> tuple[str, int, str, list[dict[str, Any]]]:
    """Read to the end as a node does, checking the chain page by page: (epoch, next, head, entries)."""
    from tests.registry.helpers import wait_published

    wait_published(c)
    page = FeedPage.parse(c.get("/v1/feed", params={"after": after}, headers=bearer(key)).json())
    chain, epoch, seen = page.base, page.epoch, []
    while True:
        page = FeedPage.parse(c.get("/v1/feed", params={"after": after}, headers=bearer(key)).json())
        assert page.epoch == epoch and page.base == chain
        for item in page.entries:
            chain = chain_next(str(chain), FeedEntry.parse(item).to_wire())
        assert page.head == chain
        seen.extend(page.entries)
        after = page.next
        if not page.more:
            return str(epoch), after, str(chain), seen


def test_a_restored_backup_is_noticed(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    target = DatabaseTarget("sqlite", f"sqlite:///{db}", sqlite_path=db)
    store = store_for(target.url)
    store.db.migrate()
    key = str(store.platform_add("node-a"))
    srv = start_server(target, tmp_path / "one")
    try:
        with srv.client() as c:
            cases(c, 3)
            epoch, c1, h1, _ = sync(c, key)
            assert sync(c, key)[0] == epoch
            backup = tmp_path / "backup.db"
            with sqlite3.connect(db) as live, sqlite3.connect(backup) as copy:
                live.backup(copy)
            cases(c, 3)
            _, c2, h2, _ = sync(c, key, after=c1)
    finally:
        stop_server(srv)

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    backup.rename(db)
    srv = start_server(target, tmp_path / "two")
    try:
        with srv.client() as c:
            # Restored, nothing new yet: the node's cursor is past the end.
            r = c.get("/v1/feed", params={"after": c2}, headers=bearer(key))
            assert r.status_code == 400 and r.json()["code"] == "feed.cursor_past_end"
            assert r.json()["epoch"] == epoch
            # New submissions fill the seqs again: same epoch, but the chain at the cursor differs.
            cases(c, 5)
            deadline = time.monotonic() + 60  # published by the next batch, not at once
            while (r := c.get("/v1/feed", params={"after": c2}, headers=bearer(key))).status_code != 200:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.2)
            page = FeedPage.parse(r.json())
            assert page.epoch == epoch and page.base != h2
            # A node at c1 (before the backup) is consistent and keeps going...
            assert (
                FeedPage.parse(c.get("/v1/feed", params={"after": c1}, headers=bearer(key)).json()).base == h1
            )
            # ... until the operator starts a new epoch: then every node resyncs.
            cli("registry", "new-epoch", database_url=target.url)
            page = FeedPage.parse(c.get("/v1/feed", params={"after": c1}, headers=bearer(key)).json())
            assert page.epoch != epoch and page.base != h1
            new_epoch, end, head, entries = sync(c, key)  # from 0: the chain holds in the new epoch
            assert new_epoch == page.epoch
            assert [e["seq"] for e in entries] == list(range(1, end + 1))
            assert FeedPage.parse(
                c.get("/v1/feed", params={"after": 0, "limit": 1}, headers=bearer(key)).json()
            ).base == chain_start(new_epoch)
            assert head != h2
    finally:
        stop_server(srv)
        store.db.dispose()
