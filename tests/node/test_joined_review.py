"""Review items joined by content: one decision settles every upload, hosted copy and scan
finding joined to the item, its events name them all, and a withdrawal finds the item through
any entry a joined copy matched. Also: the withdrawal, its event and its audit row are one
transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from takeitdown.hashing import Md5Hash
from takeitdown.node.events import EventOutbox
from takeitdown.node.inventory import InventoryItem
from takeitdown.node.matcher import Policy
from takeitdown.node.service import Node
from tests.node.test_policy import MD5_A, MD5_B, Feed, _node, _pdq

PDQ_X = _pdq(0x3C3C3C3C3C3C3C3C << 128)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = _node(tmp_path, Policy())
    yield n
    n.stop()


def _events(node: Node, kind: str) -> list[dict]:
    return [e for e in EventOutbox(node.db).all_events() if e["type"] == kind]


def test_a_decision_settles_every_upload_joined_to_the_item(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A))
    first = node.check_upload([Md5Hash(MD5_A)], ref="post-1", account="acct-1")
    second = node.check_upload([Md5Hash(MD5_A)], ref="post-2", account="acct-2")
    assert first.review_id is not None and first.review_id == second.review_id
    assert first.action_id != second.action_id
    item = node.desk.get(first.review_id)
    assert item["refs"] == ["post-1", "post-2"] and item["accounts"] == ["acct-1", "acct-2"]
    node.decide(first.review_id, "remove", person="alice", reason="same photo")
    for checked in (first, second):
        action = node.store.get_action(checked.action_id)  # type: ignore[arg-type]
        assert action is not None and (action["status"], action["final"]) == ("upheld", True), action
    sent = {(r["entry_id"], r["outcome"], r["content_ref"]) for r in node.store.unsent()}
    assert sent == {(1, "upload_blocked", "post-1"), (1, "upload_blocked", "post-2")}
    decided = _events(node, "review.decided")
    assert len(decided) == 1
    data = decided[0]["data"]
    assert data["refs"] == ["post-1", "post-2"] and data["accounts"] == ["acct-1", "acct-2"]
    assert data["decided_by"] == "alice"


def test_not_a_match_releases_every_joined_upload(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A))
    held = [node.check_upload([Md5Hash(MD5_A)], ref=f"p{i}") for i in range(3)]
    assert len({h.review_id for h in held}) == 1
    node.decide(held[0].review_id, "not_a_match", person="bob")  # type: ignore[arg-type]
    statuses = [node.store.get_action(h.action_id)["status"] for h in held]  # type: ignore[arg-type,index]
    assert statuses == ["released"] * 3
    fp = sorted(r["content_ref"] for r in node.store.unsent() if r["outcome"] == "false_positive")
    assert fp == ["p0", "p1", "p2"]


def test_a_second_hosted_copy_is_kept_and_reported_with_the_first(node: Node) -> None:
    node.inventory.add_items(
        [
            InventoryItem("hosted", "photo-1", MD5_B, [PDQ_X]),
            InventoryItem("hosted", "photo-1-copy", MD5_B, []),
        ]
    )
    feed = Feed(node)
    changes = node.store.apply_page([feed.line("add", 5, "md5", MD5_B)], feed.seq)
    node.matcher.apply(changes)
    made = node.desk.retro(changes)
    assert len(made) == 1  # one piece of content, one item
    item = node.desk.get(made[0])
    assert sorted(item["refs"]) == ["photo-1", "photo-1-copy"], item
    node.decide(made[0], "remove", person="alice")
    removed = sorted(r["content_ref"] for r in node.store.unsent() if r["outcome"] == "removed")
    assert removed == ["photo-1", "photo-1-copy"]
    refs = _events(node, "review.decided")[0]["data"]["refs"]
    assert sorted(refs) == ["photo-1", "photo-1-copy"]


def test_scan_findings_of_the_same_content_join_one_item_also_on_rescan(node: Node) -> None:
    match = [{"entry_id": 1, "type": "md5", "distance": 0, "source": "registry", "trust": "unconfirmed"}]
    finding = ("a.jpg", MD5_A, None, match)
    node.store.record_scan("src", [], [finding, ("b.jpg", MD5_A, None, match)])
    node.store.record_scan("src", [], [finding])  # --rescan finds it again
    items = node.store.list_review("all")
    assert len(items) == 1 and items[0]["refs"] == ["a.jpg", "b.jpg"], items


def test_a_withdrawal_finds_an_item_through_an_entry_only_a_joined_copy_matched(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "pdq", PDQ_X))
    from takeitdown.hashing import PdqHash

    first = node.check_upload([Md5Hash(MD5_A)], ref="u1")
    second = node.check_upload([Md5Hash(MD5_A), PdqHash(PDQ_X, 100)], ref="u2")
    assert first.review_id == second.review_id
    feed.page(feed.line("remove", 1, "md5", MD5_A))
    assert node.desk.get(first.review_id)["status"] == "pending"  # still stands on entry 2  # type: ignore[arg-type]
    feed.page(feed.line("remove", 2, "pdq", PDQ_X))
    assert node.desk.get(first.review_id)["status"] == "withdrawn"  # type: ignore[arg-type]


def test_the_withdrawal_its_event_and_its_audit_row_commit_together(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A))
    held = node.check_upload([Md5Hash(MD5_A)], ref="post-1", account="acct-1")

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("the audit write failed")

    import takeitdown.node.withdrawal as withdrawal

    monkeypatch.setattr(withdrawal.audit, "append", broken)
    with pytest.raises(RuntimeError):
        node.store.apply_page([feed.line("remove", 1, "md5", MD5_A)], feed.seq)
    # nothing happened: the entry is listed, the hold stands, no event, the cursor did not move
    assert node.store.counts() == {"md5": 1} and node.store.cursor() == feed.seq - 1
    assert node.store.get_action(held.action_id)["status"] == "pending"  # type: ignore[arg-type,index]
    assert _events(node, "entry.withdrawn") == []
    monkeypatch.undo()
    node.matcher.apply(node.store.apply_page([feed.line("remove", 1, "md5", MD5_A)], feed.seq))
    assert node.store.get_action(held.action_id)["status"] == "lifted"  # type: ignore[arg-type,index]
    [event] = _events(node, "entry.withdrawn")
    assert event["data"]["refs"] == ["post-1"] and event["data"]["accounts"] == ["acct-1"]
    assert event["data"]["lifted"]["action_ids"] == [held.action_id]
    rows = node.audit.rows(action="withdrawal")
    assert [(r["subject"], r["reason"]) for r in rows] == [("entry:1", "withdrawal applied")]
    assert rows[0]["details"]["event_id"] == event["id"] and node.audit.verify().ok
