"""The node's database on SQLite and PostgreSQL: feed pages, review decisions, outbox, scan rows."""

from __future__ import annotations

from takeitdown.hashing import Md5Hash, PdqHash
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.store import NodeStore, ReviewError


def _pdq(v: int) -> str:
    return f"{v:064x}"


def test_store_and_matcher_on_both_databases(node_db_url: str) -> None:
    db = Database(node_db_url)
    db.migrate()
    db.migrate()  # idempotent
    store = NodeStore(db)
    try:
        page = [
            {
                "seq": 1,
                "op": "add",
                "type": "pdq",
                "value": _pdq(7 << 200),
                "quality": 90,
                "entry_id": 1,
                "frames": None,
            },
            {
                "seq": 2,
                "op": "add",
                "type": "md5",
                "value": "e" * 32,
                "quality": None,
                "entry_id": 2,
                "frames": None,
            },
            {
                "seq": 3,
                "op": "add",
                "type": "pdq",
                "value": _pdq(9),
                "quality": 90,
                "entry_id": 3,
                "frames": None,
            },
            {
                "seq": 4,
                "op": "remove",
                "type": "pdq",
                "value": _pdq(9),
                "quality": None,
                "entry_id": 3,
                "frames": None,
            },
        ]
        m = Matcher(store)
        m.apply(store.apply_page(page, 4))
        assert store.cursor() == 4 and store.counts() == {"pdq": 1, "md5": 1}
        again = Matcher(store)
        again.load()
        assert again.size()["pdq"] == 1
        near = PdqHash(_pdq((7 << 200) ^ 0b1111_1111_1111_1111_1111), 100)  # 20 bits away
        v = again.check_hashes([near, Md5Hash("f" * 32)])
        assert v.verdict == "hold" and [mm.entry_id for mm in v.matches] == [1]
        rid = store.add_review("upload", "post-9", "f" * 32, near.value, [mm.to_json() for mm in v.matches])
        item, blocks = store.decide(rid, "remove")
        assert item["status"] == "removed" and {b[1] for b in blocks} == {"md5", "pdq"}
        again.add_blocks(blocks)
        v = again.check_hashes([Md5Hash("f" * 32)])
        assert v.verdict == "block" and v.matches[0].source == "local" and v.matches[0].entry_id == 1
        try:
            store.decide(rid, "not_a_match")
        except ReviewError as e:
            assert e.status == 409
        else:
            raise AssertionError("a second decision must be refused")
        assert [r["outcome"] for r in store.unsent()] == ["removed"]
        store.record_scan("/srv", [{"item_id": "a", "ok": True, "verdict": "allow", "error": None}], [])
        assert store.scan_done_among("/srv", ["a", "b"]) == {"a"}
    finally:
        db.dispose()
