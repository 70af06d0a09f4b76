"""Trust states and honest case status, attacked as a platform (or several) would.

- new entries go out `unconfirmed`; only a reviewed `removed`/`upload_blocked` confirms;
- `false_positive` from enough distinct platforms quarantines (a `state` entry), the case says
  "under review", and the operator lists, quarantines and restores from the CLI;
- a case counts only reports made after it, one per (platform, content, outcome), and only on
  entries the platform has read; unknown, withdrawn and never-distributed ids get one reply.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.registry.helpers import (
    DatabaseTarget,
    Server,
    bearer,
    cli,
    feed_end,
    rand_hex,
    read_all,
    start_server,
    stop_server,
    store_for,
)


def new_platform(server: Server) -> str:
    """A platform account (made in process: the CLI itself is tested in test_platform_cli)."""
    return str(store_for(server.database_url).platform_add(f"platform-{secrets.token_hex(4)}"))


def submit(client: httpx.Client, hashes: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post("/v1/cases", json={"items": [{"kind": "image", "hashes": hashes}]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def report(
    client: httpx.Client, key: str, entry_id: int, outcome: str, ref: str = "c", reviewed: bool = False
) -> dict[str, Any]:
    item = {
        "report_id": str(uuid.uuid4()),
        "entry_id": entry_id,
        "outcome": outcome,
        "content_ref": ref,
        "reviewed": reviewed,
    }
    r = client.post("/v1/reports", json={"reports": [item]}, headers=bearer(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def status(client: httpx.Client, case: dict[str, Any]) -> dict[str, Any]:
    return dict(client.get(f"/v1/cases/{case['case_id']}", headers=bearer(case["case_secret"])).json())


def md5() -> dict[str, str]:
    return {"type": "md5", "value": rand_hex(32)}


def entry_of(client: httpx.Client, key: str, start: int, value: str) -> dict[str, Any]:
    entries, _ = read_all(client, key, after=start)
    return next(e for e in entries if e["value"] == value and e["op"] == "add")


def test_trust_moves_only_on_reviewed_decisions(client: httpx.Client, server: Server) -> None:
    a, b, c = new_platform(server), new_platform(server), new_platform(server)
    start = feed_end(client, a)
    h = md5()
    case = submit(client, [h])
    entry = entry_of(client, a, start, h["value"])
    assert entry["trust"] == "unconfirmed"
    eid = entry["entry_id"]
    feed_end(client, b), feed_end(client, c)  # every platform has read it

    # An automatic block and a bare match say nothing about the content: no change.
    assert report(client, a, eid, "upload_blocked")["accepted"] == 1
    assert report(client, a, eid, "match_found")["accepted"] == 1
    # One platform disputing, even many times, is not enough.
    for n in range(3):
        report(client, a, eid, "false_positive", ref=f"a-{n}", reviewed=True)
    after_one, _ = read_all(client, a, after=feed_end(client, a) - 0)
    assert status(client, case)["under_review"] is False
    # A second platform disputes: quarantined, published as a state entry, the case says so.
    mark = feed_end(client, a)
    report(client, b, eid, "false_positive", reviewed=True)
    entries, _ = read_all(client, a, after=mark)
    assert [(e["op"], e["entry_id"], e["trust"]) for e in entries] == [("state", eid, "quarantined")]
    assert entries[0]["frames"] is None and entries[0]["value"] == h["value"]
    assert status(client, case)["under_review"] is True

    # The operator sees it and restores it: back to unconfirmed, and disputes no longer flip it.
    out = cli("registry", "entries", "disputed", database_url=server.database_url).stdout
    line = next(x for x in out.splitlines() if x.startswith(f"{eid}\t"))
    assert "quarantined" in line and "disputes=2" in line and "confirmations=0" in line
    mark = feed_end(client, a)
    cli("registry", "entries", "restore", str(eid), database_url=server.database_url)
    entries, _ = read_all(client, a, after=mark)
    assert [(e["op"], e["trust"]) for e in entries] == [("state", "unconfirmed")]
    feed_end(client, c)
    report(client, c, eid, "false_positive", reviewed=True)
    assert status(client, case)["under_review"] is False
    # A reviewer's removal confirms it.
    mark = feed_end(client, a)
    report(client, c, eid, "removed", reviewed=True)
    entries, _ = read_all(client, a, after=mark)
    assert [(e["op"], e["trust"]) for e in entries] == [("state", "confirmed")]
    # The operator can still quarantine a confirmed entry by hand, and nothing flips it back.
    mark = feed_end(client, a)
    cli("registry", "entries", "quarantine", str(eid), database_url=server.database_url)
    report(client, a, eid, "removed", ref="again", reviewed=True)
    entries, _ = read_all(client, a, after=mark)
    assert [(e["op"], e["trust"]) for e in entries] == [("state", "quarantined")]
    bad = cli("registry", "entries", "restore", "12345", database_url=server.database_url, check=False)
    assert bad.returncode == 1 and "no entry has entry_id 12345" in bad.stderr


def test_confirmed_entries_are_not_quarantined_by_disputes(client: httpx.Client, server: Server) -> None:
    a, b, c = new_platform(server), new_platform(server), new_platform(server)
    start = feed_end(client, a)
    h = md5()
    case = submit(client, [h])
    eid = entry_of(client, a, start, h["value"])["entry_id"]
    feed_end(client, b), feed_end(client, c)
    report(client, a, eid, "removed", reviewed=True)
    report(client, b, eid, "false_positive", reviewed=True)
    report(client, c, eid, "false_positive", reviewed=True)
    mark = feed_end(client, a)
    assert status(client, case)["under_review"] is False
    entries, _ = read_all(client, a, after=mark)
    assert entries == []  # confirmed once, no further state change


def test_a_new_case_over_an_old_hash_shows_no_earlier_outcomes(client: httpx.Client, server: Server) -> None:
    key = new_platform(server)
    start = feed_end(client, key)
    h = md5()
    first = submit(client, [h])
    eid = entry_of(client, key, start, h["value"])["entry_id"]
    report(client, key, eid, "removed", ref="old-post", reviewed=True)
    assert status(client, first)["outcomes"]["removed"] == 1
    # Someone submits the same hash later (to learn whether it was acted on): nothing shows.
    probe = submit(client, [h])
    assert status(client, probe)["outcomes"] == {
        "match_found": 0,
        "removed": 0,
        "upload_blocked": 0,
        "false_positive": 0,
    }
    # What happens after the new case does count for it.
    report(client, key, eid, "upload_blocked", ref="new-upload", reviewed=True)
    assert status(client, probe)["outcomes"]["upload_blocked"] == 1
    assert status(client, first)["outcomes"]["upload_blocked"] == 1


def test_one_piece_of_content_counts_once(client: httpx.Client, server: Server) -> None:
    key, other = new_platform(server), new_platform(server)
    start = feed_end(client, key)
    a, b = md5(), {"type": "pdq", "value": "f0" * 32, "quality": 90}
    case = submit(client, [a, b])
    entries, _ = read_all(client, key, after=start)
    ids = [e["entry_id"] for e in entries if e["value"] in (a["value"], b["value"])]
    assert len(ids) == 2
    feed_end(client, other)
    # One upload matched both the MD5 and the PDQ; then the same post reported 1,000 times.
    items = [
        {"report_id": str(uuid.uuid4()), "entry_id": ids[n % 2], "outcome": "removed", "content_ref": "p-1"}
        for n in range(1000)
    ]
    r = client.post("/v1/reports", json={"reports": items}, headers=bearer(key))
    assert r.json()["accepted"] == 1000, r.text[:300]
    assert status(client, case)["outcomes"]["removed"] == 1
    # Another platform's post, and another outcome on the same post, are further facts.
    report(client, other, ids[0], "removed", ref="p-1")
    report(client, key, ids[0], "match_found", ref="p-1")
    out = status(client, case)["outcomes"]
    assert (out["removed"], out["match_found"]) == (2, 1)


def test_unknown_withdrawn_and_unread_entries_get_one_reply(client: httpx.Client, server: Server) -> None:
    key, late = new_platform(server), new_platform(server)
    start = feed_end(client, key)
    gone, kept = md5(), md5()
    case = submit(client, [gone])
    submit(client, [kept])
    gone_id = entry_of(client, key, start, gone["value"])["entry_id"]
    kept_id = entry_of(client, key, start, kept["value"])["entry_id"]
    client.delete(f"/v1/cases/{case['case_id']}", headers=bearer(case["case_secret"]))
    feed_end(client, key)  # the remove is published and read
    low = {"type": "pdq", "value": "0f" * 32, "quality": 20}  # kept, never distributed
    submit(client, [low])
    replies = {}
    for name, eid, who in (
        ("unknown", 2**62 + 12345, key),
        ("withdrawn", gone_id, key),
        ("unread", kept_id, late),  # `late` never read the feed
    ):
        body = report(client, who, eid, "removed")
        assert body["accepted"] == 0
        (rej,) = body["rejected"]
        replies[name] = (rej["code"], rej["reason"].replace(str(eid), "N"))
    assert len(set(replies.values())) == 1, replies
    assert report(client, key, kept_id, "removed")["accepted"] == 1


def test_entry_ids_are_random_63_bit(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    submit(client, [md5() for _ in range(10)])
    entries, _ = read_all(client, platform_key, after=start)
    ids = [e["entry_id"] for e in entries]
    assert len(ids) == 10 and all(0 < i < 2**63 for i in ids)
    assert max(ids) > 2**50  # not a counter
    assert sorted(ids) != ids or sorted(ids, reverse=True) != ids


@pytest.fixture(scope="module")
def limited(database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"TAKEITDOWN_REPORT_RATE_PER_MINUTE": "1", "TAKEITDOWN_REPORT_BURST": "1000"}
    srv = start_server(database, tmp_path_factory.mktemp("limited"), env)
    yield srv
    stop_server(srv)


def test_reports_are_rate_limited_per_platform(limited: Server) -> None:
    key, other = new_platform(limited), new_platform(limited)
    junk = [
        {"report_id": str(n), "entry_id": 1, "outcome": "removed", "content_ref": "x"} for n in range(1000)
    ]
    with limited.client() as c:
        assert c.post("/v1/reports", json={"reports": junk}, headers=bearer(key)).status_code == 200
        r = c.post("/v1/reports", json={"reports": junk[:5]}, headers=bearer(key))
        assert r.status_code == 429 and r.json()["code"] == "reports.rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        # Another platform has its own bucket.
        assert c.post("/v1/reports", json={"reports": junk[:5]}, headers=bearer(other)).status_code == 200
