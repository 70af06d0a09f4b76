"""The contract between roles: one wire form each, parsed strictly, and no role imported by it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from takeitdown.protocol import (
    CaseItem,
    FeedEntry,
    FeedPage,
    InvalidFeedEntry,
    InvalidHash,
    InvalidReport,
    Outcome,
    PdqHash,
    Problem,
    ProblemCode,
    Report,
    TrustState,
    VpdqHash,
    case_body,
    chain_next,
    chain_start,
)

PDQ = "f" * 16 + "0" * 48
FRAMES = [{"i": 0, "t": 0.0, "q": 90, "pdq": "a" * 64}, {"i": 30, "t": 1.0, "q": 80, "pdq": "b" * 64}]


def test_protocol_loads_no_media_library_and_no_role() -> None:
    code = (
        "import sys, takeitdown.protocol; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('av', 'PIL', 'pdqhash', 'pillow_heif', "
        "'numpy', "
        "'sqlalchemy', 'fastapi') or m.startswith(('takeitdown.registry', 'takeitdown.node', "
        "'takeitdown.hashing'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_server_does_not_load_media_libraries() -> None:
    code = (
        "import sys, takeitdown.registry.api; "
        "print([m for m in ('av', 'pdqhash', 'pillow_heif', 'takeitdown.hashing') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("trust", [None, TrustState.CONFIRMED])
def test_feed_entry_round_trips_through_its_wire_form(trust: TrustState | None) -> None:
    entries = [
        FeedEntry(7, "add", 3, "pdq", PDQ, 88, None, trust),
        FeedEntry(8, "add", 4, "md5", "c" * 32),
        FeedEntry(9, "add", 5, "vpdq", "d" * 64, None, VpdqHash.parse(FRAMES).frames, trust),
        FeedEntry(10, "remove", 5, "vpdq", "d" * 64),
        FeedEntry(11, "state", 3, "pdq", PDQ, 88, None, TrustState.QUARANTINED),
    ]
    for entry in entries:
        parsed = FeedEntry.parse(json.loads(entry.to_wire()))
        expected_trust = entry.trust or (TrustState.UNCONFIRMED if entry.op == "add" else None)
        assert parsed == FeedEntry(
            entry.seq,
            entry.op,
            entry.entry_id,
            entry.type,
            entry.value,
            entry.quality,
            entry.frames,
            expected_trust,
        )


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"seq": 1, "op": "add", "type": "pdq", "value": PDQ, "quality": 80},  # no entry_id
        {"seq": 1, "op": "add", "type": "pdq", "value": PDQ[:-1], "quality": 80, "entry_id": 1},
        {"seq": 1, "op": "zap", "type": "pdq", "value": PDQ, "entry_id": 1},
        {"seq": 1, "op": "add", "type": "sha256", "value": "a" * 64, "entry_id": 1},
        {"seq": 1, "op": "add", "type": "vpdq", "value": "d" * 64, "entry_id": 1, "frames": []},
        {"seq": 1, "op": "state", "type": "md5", "value": "c" * 32, "entry_id": 1},  # state with no trust
        {"seq": 1, "op": "add", "type": "md5", "value": "c" * 32, "entry_id": 1, "trust": "sure"},
        {"seq": True, "op": "add", "type": "md5", "value": "c" * 32, "entry_id": 1},
    ],
)
def test_feed_entry_parse_refuses_what_a_node_cannot_apply(bad: object) -> None:
    with pytest.raises(InvalidFeedEntry):
        FeedEntry.parse(bad)


def test_feed_page_reads_reset_marks_when_present() -> None:
    assert FeedPage.parse({"entries": [], "next": 0, "more": False}).epoch is None
    page = FeedPage.parse({"entries": [], "next": 5, "more": True, "epoch": "e1", "base": "00", "head": "11"})
    assert (page.next, page.more, page.epoch, page.base, page.head) == (5, True, "e1", "00", "11")
    with pytest.raises(InvalidFeedEntry):
        FeedPage.parse({"entries": {}, "next": 1})
    start = chain_start("e1")
    assert chain_next(start, "a") != chain_next(start, "b") and len(chain_next(start, "a")) == 64


def test_case_item_rules_carry_stable_codes() -> None:
    item = CaseItem.parse(
        "image", [{"type": "pdq", "value": PDQ, "quality": 90}, {"type": "md5", "value": "a" * 32}]
    )
    assert case_body([item]) == {"items": [item.to_wire()]}
    cases = [
        (("movie", [{"type": "md5", "value": "a" * 32}]), "item.bad_kind"),
        (("image", []), "item.no_hashes"),
        (("image", [{"type": "md5", "value": "a" * 32}] * 21), "item.too_many_hashes"),
        (("image", [{"type": "vpdq", "frames": FRAMES}]), "item.hash_not_allowed"),
        (("image", [{"type": "pdq", "value": "xyz"}]), "hash.invalid"),
        (("image", [{"type": "phash", "value": "a"}]), "hash.unknown_type"),
    ]
    for (kind, hashes), code in cases:
        with pytest.raises(InvalidHash) as info:
            CaseItem.parse(kind, hashes)
        assert info.value.code == code


def test_pdq_from_bits_matches_the_reference_bit_order() -> None:
    bits = [1] * 8 + [0] * 248
    assert PdqHash.from_bits(bits).value == "ff" + "0" * 62
    with pytest.raises(InvalidHash):
        PdqHash.from_bits([1, 0])


def test_report_and_outcome() -> None:
    r = Report.parse({"report_id": "r1", "entry_id": 9, "outcome": "removed", "content_ref": "post-1"})
    assert r.outcome is Outcome.REMOVED and r.to_wire()["content_ref"] == "post-1"
    assert Report.parse({"report_id": "r1", "entry_id": 9, "outcome": "removed"}).content_ref is None
    with pytest.raises(InvalidReport):
        Report.parse({"report_id": "r1", "entry_id": 9, "outcome": "removed"}, require_content_ref=True)
    for bad in (
        {"report_id": "r\x00", "entry_id": 9, "outcome": "removed"},
        {"report_id": "r", "entry_id": 0, "outcome": "removed"},
        {"report_id": "r", "entry_id": 1, "outcome": "deleted"},
    ):
        with pytest.raises(InvalidReport):
            Report.parse(bad)


def test_problem_wire_form() -> None:
    p = Problem(404, ProblemCode.CASE_NOT_FOUND, "No case.", {"x": 1})
    assert p.to_wire() == {"code": "case.not_found", "detail": "No case.", "x": 1}
    assert Problem.parse(404, p.to_wire()).code == "case.not_found"
    assert Problem.parse(502, "<html>").detail == "HTTP 502"
