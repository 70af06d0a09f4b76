"""The inventory: hosted items' hashes kept, matched against entries that arrive later."""

from __future__ import annotations

import secrets

from takeitdown.node.db import Database
from takeitdown.node.inventory import Inventory, InventoryItem
from takeitdown.node.store import Entry


def _flip(hex64: str, bits: int) -> str:
    n = int(hex64, 16) ^ ((1 << bits) - 1)
    return f"{n:064x}"


def test_entries_match_hosted_items_by_md5_pdq_and_video_frames_and_survive_a_reload(
    node_db_url: str,
) -> None:
    db = Database(node_db_url)
    db.migrate()
    inv = Inventory(db)
    photo_pdq = secrets.token_hex(32)
    frame = secrets.token_hex(32)
    frames = [{"i": i, "t": float(i), "q": 90, "pdq": frame} for i in range(3)]
    ids = inv.add_items(
        [
            InventoryItem("src", "photo-1", "a" * 32, [photo_pdq]),
            InventoryItem("src", "video-1", "b" * 32, [], frames),
            InventoryItem("src", "other", "c" * 32, [secrets.token_hex(32)]),
        ]
    )
    assert len(ids) == 3
    new = [
        Entry(1, "md5", "a" * 32),
        Entry(2, "pdq", _flip(photo_pdq, 5), 90),  # 5 bits away: a near copy
        Entry(3, "vpdq", "", None, frames),
        Entry(4, "pdq", _flip(photo_pdq, 40), 90),  # too far
    ]

    def seen(inventory: Inventory) -> set[tuple[str, int, str, int]]:
        return {(h.ref, h.entry_id, h.type, h.distance) for h in inventory.match_entries(new)}

    want = {("photo-1", 1, "md5", 0), ("photo-1", 2, "pdq", 5), ("video-1", 3, "vpdq", 0)}
    assert seen(inv) == want
    again = Inventory(db)
    again.load()  # a restarted node finds the same from the database
    assert seen(again) == want
    # a rescan replaces an item's hashes: the old PDQ no longer matches
    inv.add_items([InventoryItem("src", "photo-1", "d" * 32, [secrets.token_hex(32)])])
    assert {h.ref for h in inv.match_entries(new)} == {"video-1"}
    assert inv.count() == 3
    db.dispose()


def test_the_audit_chain_and_the_event_outbox_on_this_database(node_db_url: str) -> None:
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.events import EventOutbox

    db = Database(node_db_url)
    db.migrate()
    log = AuditLog(db)
    for i in range(3):
        log.append("alice", "decision", f"review:{i}", "because", {"n": i})
    assert log.verify().ok and log.rows()[0]["at"].endswith("+00:00")
    outbox = EventOutbox(db)
    eid = outbox.emit("retro.found", {"ref": "x"})
    due = outbox.due()
    assert [r.event_id for r in due] == [eid]
    outbox.failed(due[0].id, "boom", 3600)
    assert outbox.due() == [] and outbox.counts() == {"delivered": 0, "dead": 0, "pending": 1}
    db.dispose()
