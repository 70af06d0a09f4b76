"""Policy per trust state, the record of every block and hold, and withdrawal reaching everything.

Each test attacks one promise: an anonymous (unconfirmed) entry never blocks for good without a
reviewer; nothing that matches is posted unreviewed by default; a quarantine or withdrawal lifts
what stood only on it and stops its reports; reports carry a content_ref.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from takeitdown.hashing import Md5Hash, PdqHash
from takeitdown.node.matcher import Policy
from takeitdown.node.service import Node, NodeSettings
from takeitdown.node.store import content_ref
from takeitdown.protocol import MAX_CONTENT_REF

MD5_A = "a" * 32
MD5_B = "b" * 32
BASE = 0x5A5A5A5A5A5A5A5A << 120


def _pdq(v: int) -> str:
    return f"{v:064x}"


def _near(k: int) -> PdqHash:
    v = BASE
    for b in range(k):
        v ^= 1 << (b * 7)
    return PdqHash(_pdq(v), 100)


class Feed:
    """Feed pages as a registry serves them, applied through the node's own store and matcher."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.seq = 0

    def line(self, op: str, eid: int, kind: str, value: str, trust: str | None = None) -> dict:
        self.seq += 1
        out = {"seq": self.seq, "op": op, "type": kind, "value": value, "quality": None, "entry_id": eid}
        out["frames"] = None
        if kind == "pdq" and op == "add":
            out["quality"] = 100
        if trust is not None:
            out["trust"] = trust
        return out

    def page(self, *lines: dict) -> None:
        self.node.matcher.apply(self.node.store.apply_page(list(lines), self.seq))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = _node(tmp_path, Policy())
    yield n
    n.stop()


def _node(tmp_path: Path, policy: Policy) -> Node:
    # A node that never reaches its registry (nothing listens on port 9): pages are applied by hand.
    settings = NodeSettings(
        registry_url="http://127.0.0.1:9",
        api_key="k" * 20,
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        policy=policy,
    )
    return Node(settings)


def test_an_unconfirmed_entry_never_blocks_silently_or_for_good(node: Node) -> None:
    # The attack: submit a lawful image's MD5 anonymously. By default the upload is held (not
    # posted, not removed), recorded, and put first in the review queue; nothing is reported yet.
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "pdq", _pdq(BASE)))
    checked = node.check_upload([Md5Hash(MD5_A)], ref="post-1")
    out = checked.to_json()
    assert out["verdict"] == "hold" and out["final"] is False and out["ref"] == "post-1"
    assert out["matches"][0]["trust"] == "unconfirmed"
    assert checked.review_id is not None and checked.action_id is not None
    item = node.store.list_review(by_priority=True)[0]
    assert item["id"] == checked.review_id and item["priority"] == 1
    action = node.store.get_action(checked.action_id)
    assert action is not None
    assert (action["kind"], action["final"], action["status"], action["ref"]) == (
        "hold",
        False,
        "pending",
        "post-1",
    )
    assert action["entry_ids"] == [1] and action["matches"][0]["trust"] == "unconfirmed"
    assert node.store.unsent() == []  # no report on an unreviewed match

    # a near match (PDQ 20 bits away) is held too: nothing that matches is posted unreviewed
    near = node.check_upload([_near(20)], ref="post-2")
    assert near.verdict.verdict == "hold" and not near.verdict.final and near.action_id

    # the reviewer's decision is final: remove upholds it and reports upload_blocked with the ref
    node.decide(checked.review_id, "remove", person="alice")
    action = node.store.get_action(checked.action_id)
    assert action is not None and (action["status"], action["final"]) == ("upheld", True)
    assert [(r["entry_id"], r["outcome"], r["content_ref"]) for r in node.store.unsent()] == [
        (1, "upload_blocked", "post-1")
    ]
    # not_a_match releases the other one and reports false_positive
    assert near.review_id is not None
    node.decide(near.review_id, "not_a_match", person="alice")
    released = node.store.get_action(near.action_id)  # type: ignore[arg-type]
    assert released is not None and released["status"] == "released"
    assert ("false_positive", "post-2") in {(r["outcome"], r["content_ref"]) for r in node.store.unsent()}


def test_confirmed_entries_block_outright_and_each_block_is_recorded(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "md5", MD5_B))
    feed.page(feed.line("state", 1, "md5", MD5_A, trust="confirmed"))
    assert node.matcher.confirmed == {1}
    blocked = node.check_upload([Md5Hash(MD5_A)])
    out = blocked.to_json()
    assert out["verdict"] == "block" and out["final"] is True and "review_id" not in out
    assert out["ref"].startswith("node-")  # the caller gave no ref: the node made one
    action = node.store.get_action(blocked.action_id)  # type: ignore[arg-type]
    assert action is not None and (action["kind"], action["status"], action["final"]) == (
        "block",
        "upheld",
        True,
    )
    assert [(r["entry_id"], r["outcome"], r["content_ref"]) for r in node.store.unsent()] == [
        (1, "upload_blocked", out["ref"])
    ]
    # a near match to a confirmed entry is still only held (a near match may be another photo)
    assert node.check_upload([Md5Hash(MD5_B)]).verdict.verdict == "hold"
    # an upload matching a confirmed and an unconfirmed entry is blocked, but upload_blocked goes
    # only to the confirmed one: an unreviewed match must not confirm the other entry
    both = node.check_upload([Md5Hash(MD5_A), Md5Hash(MD5_B)], ref="both")
    assert both.verdict.verdict == "block" and both.verdict.final
    assert {r["entry_id"] for r in node.store.unsent() if r["content_ref"] == "both"} == {1}
    listed = node.store.list_actions()
    assert [a["kind"] for a in listed] == ["block", "hold", "block"]


def test_policy_knobs_provisional_block_and_post_then_review(tmp_path: Path) -> None:
    node = _node(tmp_path, Policy(on_unconfirmed="block", on_near="review"))
    try:
        feed = Feed(node)
        feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "pdq", _pdq(BASE)))
        provisional = node.check_upload([Md5Hash(MD5_A)], ref="p")
        assert provisional.verdict.verdict == "block" and provisional.verdict.final is False
        assert provisional.review_id is not None  # a block on an unconfirmed entry is always reviewed
        assert node.store.unsent() == []
        posted = node.check_upload([_near(20)], ref="q")
        assert posted.verdict.verdict == "review" and posted.action_id is None and posted.review_id
    finally:
        node.stop()
    with pytest.raises(ValueError):
        Policy(on_unconfirmed="allow")


def test_quarantine_takes_an_entry_off_the_index_and_restore_brings_it_back(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "pdq", _pdq(BASE)))
    held = node.check_upload([_near(3)], ref="held-1")
    assert held.verdict.verdict == "hold"
    node.store.queue_reports([(2, "false_positive", "x")])
    feed.page(feed.line("state", 2, "pdq", _pdq(BASE), trust="quarantined"))
    assert node.matcher.size()["pdq"] == 0 and node.store.counts() == {"md5": 1}
    assert node.store.trust_counts() == {"unconfirmed": 1, "quarantined": 1}
    assert node.check_upload([_near(3)]).verdict.verdict == "allow"
    # what stood only on it was closed, with the reason, and its queued report dropped
    item = node.store.list_review(status="all")[0]
    assert (item["status"], item["reason"]) == (
        "withdrawn",
        "every registry entry it matched was quarantined",
    )
    action = node.store.get_action(held.action_id)  # type: ignore[arg-type]
    assert action is not None and action["status"] == "lifted" and "quarantined" in action["reason"]
    assert node.store.unsent() == []
    # restored (here straight to confirmed): back in the index, from its own stored hash
    feed.page(feed.line("state", 2, "pdq", _pdq(BASE), trust="confirmed"))
    assert node.matcher.size()["pdq"] == 1 and node.matcher.confirmed == {2}
    assert node.check_upload([_near(3)]).verdict.verdict == "block"
    # a fresh matcher loads the same state from the database
    node.matcher.load()
    assert node.matcher.confirmed == {2} and node.matcher.size()["pdq"] == 1


def test_withdrawal_lifts_local_blocks_unless_a_reviewer_kept_one_for_policy(node: Node) -> None:
    # The attack on the teen's withdrawal: a reviewer's `remove` put the content on the node's
    # own block list; withdrawing the case must lift that block, unless the platform recorded
    # its own policy reason to keep it.
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "md5", MD5_B))
    first = node.check_upload([Md5Hash(MD5_A)], ref="u1")
    second = node.check_upload([Md5Hash(MD5_B)], ref="u2")
    assert first.review_id and second.review_id
    node.decide(first.review_id, "remove", person="alice")
    node.decide(
        second.review_id, "remove", policy_reason="nudity policy 4.2, independent of the list", person="alice"
    )
    again = node.check_upload([Md5Hash(MD5_A)], ref="u3")  # now blocked by the local block too
    assert any(m.source == "local" for m in again.verdict.matches) and again.verdict.final
    sent_before = {r["report_id"] for r in node.store.unsent()}
    assert sent_before
    node.store.mark_sent(sorted(sent_before))
    node.store.queue_reports([(1, "removed", "late")])  # queued, not yet sent

    feed.page(feed.line("remove", 1, "md5", MD5_A), feed.line("remove", 2, "md5", MD5_B))
    assert node.store.unsent() == []  # nothing goes out for a withdrawn entry
    assert node.check_upload([Md5Hash(MD5_A)]).verdict.verdict == "allow"  # block lifted
    kept = node.check_upload([Md5Hash(MD5_B)])
    assert kept.verdict.verdict == "block" and [m.source for m in kept.verdict.matches] == ["local"]
    statuses = {a["ref"]: a["status"] for a in node.store.list_actions()}
    assert statuses["u1"] == "lifted" and statuses["u3"] == "lifted"
    assert statuses["u2"] == "upheld"  # upheld with a platform-policy reason: it stays
    # the reasons survive a restart: the matcher's index rebuilds without the lifted block
    node.matcher.load()
    assert node.check_upload([Md5Hash(MD5_A)]).verdict.verdict == "allow"
    assert node.check_upload([Md5Hash(MD5_B)]).verdict.verdict == "block"


def test_review_standing_on_a_withdrawn_and_a_live_entry_stays_but_reports_only_the_live(node: Node) -> None:
    feed = Feed(node)
    feed.page(feed.line("add", 1, "md5", MD5_A), feed.line("add", 2, "pdq", _pdq(BASE)))
    both = node.check_upload([Md5Hash(MD5_A), _near(2)], ref="mixed")
    feed.page(feed.line("remove", 1, "md5", MD5_A))
    item = node.store.list_review()[0]
    assert item["id"] == both.review_id and item["status"] == "pending"
    node.decide(both.review_id, "remove", person="alice")  # type: ignore[arg-type]
    assert {(r["entry_id"], r["outcome"]) for r in node.store.unsent()} == {(2, "upload_blocked")}


def test_content_ref_fits_the_protocol() -> None:
    assert content_ref("post-123") == "post-123"
    long = "x/" * 300
    digest = content_ref(long)
    assert digest.startswith("sha256:") and len(digest) <= MAX_CONTENT_REF and digest == content_ref(long)
    assert content_ref("tab\there").startswith("sha256:")  # not printable: never sent as is
    made = content_ref(None)
    assert made.startswith("node-") and made != content_ref(None)
