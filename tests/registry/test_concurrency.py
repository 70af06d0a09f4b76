"""The feed never skips: 8 concurrent writers x 2,000 entries while a reader follows `next`.

Publication is batched (the server's publisher, every 0.2 s here, in random order within a
batch): writers only commit dirty entries, and the reader must still see every one exactly once
and every seq without a gap.

The writers are real concurrent transactions (8 threads, 8 connections, on PostgreSQL truly in
parallel), each stalling a random moment mid-transaction so that transactions commit in an
order different from the one they started in (the case that breaks feeds whose seq is given
out at insert time). The reader follows the feed through the HTTP API at the same time.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from typing import Any

import pytest

from takeitdown.registry.store import Store
from takeitdown.registry.validation import parse_items
from tests.registry.helpers import Server, bearer, feed_end, store_for

WRITERS = 8
ENTRIES_PER_WRITER = 2000
HASHES_PER_CASE = 4


class StallingStore(Store):
    """Sleeps a random moment after the entry upserts, before the seqs are handed out."""

    def _change_live(self, conn: Any, rows: Any) -> Any:
        out = super()._change_live(conn, rows)
        time.sleep(random.random() * 0.003)
        return out


@pytest.mark.slow
def test_reader_sees_every_committed_entry_once_in_order(server: Server, platform_key: str) -> None:
    with server.client() as c:
        start = feed_end(c, platform_key)
    store = StallingStore(store_for(server.database_url).db)
    committed: set[tuple[str, str]] = set()
    lock = threading.Lock()
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(ENTRIES_PER_WRITER // HASHES_PER_CASE):
                values = [secrets.token_hex(16) for _ in range(HASHES_PER_CASE)]
                hashes = [{"type": "md5", "value": v} for v in values]
                store.create_cases([parse_items([("image", hashes)])])
                with lock:
                    committed.update(("md5", v) for v in values)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    seen: list[dict[str, Any]] = []
    reads_during_writes = 0

    def reader() -> None:
        nonlocal reads_during_writes
        after = start
        with server.client() as c:
            while True:
                # read the flags before the page: a final full pass once all is published
                finished = done.is_set() and store.pending() == 0
                r = c.get("/v1/feed", params={"after": after, "limit": 500}, headers=bearer(platform_key))
                assert r.status_code == 200, r.text
                page = r.json()
                seen.extend(page["entries"])
                after = page["next"]
                if not finished:
                    reads_during_writes += 1
                if finished and not page["more"]:
                    return
                if not page["entries"]:
                    time.sleep(0.005)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    read_thread = threading.Thread(target=reader)
    read_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    read_thread.join(timeout=120)
    store.db.dispose()
    assert not errors, errors
    assert not read_thread.is_alive()

    assert len(committed) == WRITERS * ENTRIES_PER_WRITER
    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(start + 1, start + 1 + len(seen)))  # in order, no gap, no repeat
    got = [(e["type"], e["value"]) for e in seen]
    assert len(got) == len(set(got))  # each once
    assert set(got) == committed  # exactly the committed set
    assert all(e["op"] == "add" for e in seen)
    assert reads_during_writes > 5  # the reader really did follow the feed while writers wrote


class NaiveStore(StallingStore):
    """The classic bug, for contrast: seqs from a sequence at insert time, commit whenever."""

    def _append_feed(self, conn: Any, rows: Any) -> int:
        for op, entry_id, type_, value, quality, _frames in rows:
            conn.exec_driver_sql(
                "INSERT INTO feed (seq, op, entry_id, type, value, quality, line) "
                "VALUES (nextval('naive_seq'), %s, %s, %s, %s, %s, %s)",
                (op, entry_id, type_, value, quality, value),
            )
        time.sleep(random.random() * 0.003)  # commit a moment later, as a busy server would
        return 0


@pytest.mark.slow
@pytest.mark.postgres
def test_the_same_check_catches_a_feed_numbered_at_insert_time(tmp_path: Any) -> None:
    """Shows the test above has teeth: the same writers and reader on a naive feed lose entries."""
    from takeitdown.registry.db import Database
    from tests.registry.helpers import drop_database, make_database

    target = make_database("postgresql", tmp_path)
    try:
        db = Database(target.url)
        db.migrate()
        with db.write() as conn:
            conn.exec_driver_sql("CREATE SEQUENCE naive_seq")
        store = NaiveStore(db)
        committed: set[str] = set()
        done = threading.Event()
        seen: list[str] = []

        def writer() -> None:
            for _ in range(100):
                values = [secrets.token_hex(16) for _ in range(HASHES_PER_CASE)]
                store.create_cases([parse_items([("image", [{"type": "md5", "value": v} for v in values])])])
                committed.update(values)

        def reader() -> None:
            after = 0
            while True:
                finished = done.is_set()
                lines, after, more = store.read_feed(after, 500)
                seen.extend(lines)  # NaiveStore puts the bare value in `line`
                if finished and not more:
                    return

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
        read_thread = threading.Thread(target=reader)
        read_thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        read_thread.join(timeout=60)
        db.dispose()
        assert len(committed) == WRITERS * 100 * HASHES_PER_CASE
        assert len(committed - set(seen)) > 0  # entries committed behind the reader: lost for good
    finally:
        drop_database(target)
