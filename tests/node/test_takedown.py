"""The TAKE IT DOWN desk: the four elements, the 48-hour clock, copies, the record, the privacy."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from takeitdown.node.compliance import as_csv, compliance_report
from takeitdown.node.db import Database
from takeitdown.node.inventory import Inventory, InventoryItem
from takeitdown.node.pii import PiiKeyError, Sealer, new_key
from takeitdown.node.takedown import Desk, RequestError, case_items, inventory_copy_finder, parse_request
from tests.node.helpers import Registry, start_node

PDQ = "f0" * 32
NEAR = "f1" + "f0" * 31  # 1 bit away
FAR = "0f" * 32
MD5 = "ab" * 16

REQUEST = {
    "signature": "Jordan Example",
    "acting_for": "self",
    "content": ["https://platform.example/p/1", "post:2"],
    "statement": "I never agreed to this being shared.",
    "contact": "jordan@example.org",
    "hashes": [{"type": "md5", "value": MD5}, {"type": "pdq", "value": PDQ, "quality": 90}],
}


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    inventory = Inventory(db)  # the node's own inventory of scanned items, as a scan fills it
    inventory.add_items(
        [
            InventoryItem("scan", "hosted:identical", MD5, [FAR]),
            InventoryItem("scan", "hosted:near", "cd" * 16, [NEAR]),
            InventoryItem("scan", "hosted:unrelated", "ef" * 16, [FAR]),
        ]
    )
    events: list[tuple[str, dict]] = []
    d = Desk(
        db, Sealer(new_key()), inventory_copy_finder(inventory), lambda e, p, conn=None: events.append((e, p))
    )
    d.events = events  # type: ignore[attr-defined]
    return d


def test_a_removal_its_event_and_its_audit_row_commit_together(tmp_path: Path) -> None:
    # The desk on the node's own event outbox and audit log: when the audit write fails, the
    # removal is not asked and no event goes out; when it works, all three are there.
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.events import EventOutbox

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    outbox, log = EventOutbox(db), AuditLog(db)
    fail = {"on": False}

    def record(*args: object, conn: object = None) -> None:
        if fail["on"] and args[1] == "takedown.remove":
            raise RuntimeError("the audit write failed")
        log.append(*args, conn=conn)  # type: ignore[arg-type]

    desk = Desk(db, Sealer(new_key()), None, outbox.emit, record)
    receipt = desk.submit(parse_request(REQUEST))
    rid, secret = receipt["request_id"], receipt["request_secret"]
    fail["on"] = True
    with pytest.raises(RuntimeError):
        desk.remove(rid, "desk-alice")
    assert desk.status(rid, secret)["state"] == "valid" and outbox.all_events() == []
    fail["on"] = False
    desk.remove(rid, "desk-alice")
    assert desk.status(rid, secret)["state"] == "removing"
    assert [e["type"] for e in outbox.all_events()] == ["takedown.remove"]
    assert [r["action"] for r in log.rows()] == ["takedown.received", "takedown.remove"]
    db.dispose()


@pytest.mark.parametrize("element", ["signature", "content", "statement", "contact", "acting_for"])
def test_each_missing_element_is_named(element: str) -> None:
    for empty in (None, "", "   "):
        data = {**REQUEST, element: empty}
        with pytest.raises(RequestError) as info:
            parse_request(data)
        assert info.value.missing == [element]
    with pytest.raises(RequestError) as info:
        parse_request({"hashes": []})
    assert info.value.missing == ["signature", "content", "statement", "contact", "acting_for"]
    assert "type your full name" in str(info.value)


def test_a_request_runs_to_removal_with_its_copies_and_the_record_shows_it(desk: Desk) -> None:
    t0 = datetime.now(UTC)
    receipt = desk.submit(parse_request(REQUEST), received=t0)
    deadline = (t0 + timedelta(hours=48)).isoformat(timespec="seconds").replace("+00:00", "Z")
    assert receipt["deadline"] == deadline
    rid, secret = receipt["request_id"], receipt["request_secret"]
    assert desk.status(rid, "wrong") is None and desk.status("TR-2222-2222", secret) is None
    assert desk.status(rid, secret)["state"] == "valid"

    queue = desk.queue(at=t0 + timedelta(hours=37))
    assert queue[0]["warning"] is True and queue[0]["time_left"] == "11 h 00 min"

    asked = desk.remove(rid, actor="desk-alice")
    assert set(asked["refs"]) == {"https://platform.example/p/1", "post:2", "hosted:identical"}
    assert asked["likely_copies"] == ["hosted:near"]  # listed for review, not removed blindly
    event, payload = desk.events[-1]  # type: ignore[attr-defined]
    assert event == "takedown.remove" and set(payload["refs"]) == set(asked["refs"])
    assert "Jordan" not in json.dumps(payload) and "jordan@" not in json.dumps(payload)

    partial = desk.confirm_removed(rid, ["post:2"], at=t0 + timedelta(hours=3))
    assert not partial["closed"] and desk.status(rid, secret)["state"] == "removing"
    done = desk.confirm_removed(
        rid, ["https://platform.example/p/1", "hosted:identical"], at=t0 + timedelta(hours=5)
    )
    assert done["closed"]
    status = desk.status(rid, secret)
    assert (status["state"], status["items_removed"], status["copies_removed"]) == ("closed", 2, 1)
    assert "removed" in status["in_words"]

    late = desk.submit(parse_request({**REQUEST, "hashes": []}), received=t0)
    desk.record_breaches(at=t0 + timedelta(hours=49))
    desk.remove(late["request_id"], "desk-bob")
    desk.confirm_removed(late["request_id"], REQUEST["content"], at=t0 + timedelta(hours=50))

    report = compliance_report(desk.db, t0 - timedelta(days=1), t0 + timedelta(days=3))
    assert report["received"] == 2 and report["removed"] == 2
    assert report["removed_within_48h"] == 1 and report["removed_within_48h_share"] == 0.5
    assert report["median_hours_to_removal"] == 27.5 and report["worst_hours_to_removal"] == 50.0
    assert [b["request_id"] for b in report["breaches"]] == [late["request_id"]]
    assert (report["identical_copies_found"], report["identical_copies_removed"]) == (1, 1)
    assert (report["likely_copies_found"], report["likely_copies_removed"]) == (1, 0)
    assert "Jordan" not in json.dumps(report) and "breach," in as_csv(report)


def test_incomplete_stops_the_clock_until_the_requester_answers(desk: Desk) -> None:
    receipt = desk.submit(parse_request(REQUEST))
    rid, secret = receipt["request_id"], receipt["request_secret"]
    desk.mark_incomplete(rid, "We cannot find post:2; please send its full link.", "desk-alice")
    status = desk.status(rid, secret)
    assert status["state"] == "incomplete" and status["deadline"] is None
    assert "please send its full link" in status["in_words"]
    assert desk.queue()[0]["time_left"].startswith("the clock is stopped")
    assert desk.add_information(rid, secret, ["https://platform.example/p/2"], None)
    status = desk.status(rid, secret)
    assert status["state"] == "valid" and status["items_named"] == 3
    again = datetime.fromisoformat(status["deadline"].replace("Z", "+00:00"))
    assert timedelta(hours=47, minutes=59) < again - datetime.now(UTC) <= timedelta(hours=48)


def test_personal_data_is_sealed_apart_and_deleted_after_retention(desk: Desk) -> None:
    receipt = desk.submit(parse_request(REQUEST))
    rid = receipt["request_id"]
    with desk.db.read() as conn:
        raw = b"".join(bytes(r[0]) for r in conn.execute(text("SELECT sealed FROM node_takedown_pii")))
        other = json.dumps(
            [list(map(str, r)) for r in conn.execute(text("SELECT * FROM node_takedown_requests"))]
        )
    for secret_text in ("Jordan", "jordan@example.org", "never agreed"):
        assert secret_text.encode() not in raw and secret_text not in other
    assert desk.detail(rid)["personal"]["contact"] == "jordan@example.org"
    with pytest.raises(PiiKeyError):
        Sealer(new_key()).open(rid, raw)  # another key cannot read it
    desk.decline(rid, "Not on this platform.", "desk-alice")
    assert desk.purge_expired(at=datetime.now(UTC) + timedelta(days=29)) == 0
    assert desk.purge_expired(at=datetime.now(UTC) + timedelta(days=31)) == 1
    assert desk.detail(rid)["personal"] == {"deleted": True}


def test_the_form_and_api_on_a_real_node(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("desk-platform")
    node = start_node(registry, key, tmp_path, extra_env={"TAKEITDOWN_NODE_PII_KEY": new_key()})
    try:
        form = httpx.get(node.url + "/takedown", timeout=10)
        assert form.status_code == 200 and "within 48 hours" in form.text
        assert "default-src 'none'" in form.headers["content-security-policy"]
        missing = httpx.post(node.url + "/v1/takedown-requests", json={**REQUEST, "contact": ""}, timeout=10)
        assert missing.status_code == 422 and missing.json()["code"] == "takedown.incomplete"
        assert missing.json()["missing"] == ["contact"]
        assert httpx.post(node.url + "/v1/takedown-requests", content=json.dumps(REQUEST), timeout=10,
                          headers={"content-type": "text/plain"}).status_code == 415  # fmt: skip
        foreign = httpx.post(node.url + "/v1/takedown-requests", json=REQUEST, timeout=10,
                             headers={"origin": "https://evil.example"})  # fmt: skip
        assert foreign.status_code == 403 and foreign.json()["code"] == "request.cross_site"
        minor = {**REQUEST, "minor": True, "share_consent": True}
        made = httpx.post(node.url + "/v1/takedown-requests", json=minor, timeout=30)
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["registry_case"]["shared"] and body["registry_case"]["case_id"].startswith("TD-")
        shared = body["registry_case"]
        case_auth = {"Authorization": f"Bearer {shared['case_secret']}"}
        case = httpx.get(registry.url + f"/v1/cases/{shared['case_id']}", headers=case_auth, timeout=10)
        assert case.status_code == 200 and case.json()["items"] >= 1
        mine_auth = {"Authorization": f"Bearer {body['request_secret']}"}
        mine_url = node.url + f"/v1/takedown-requests/{body['request_id']}"
        mine = httpx.get(mine_url, headers=mine_auth, timeout=10)
        assert mine.json()["state"] == "valid" and mine.json()["shared_with_registry"] is True
        assert (
            httpx.get(node.url + "/v1/desk/requests", timeout=10).status_code == 401
        )  # desk needs the token
        desk = httpx.get(node.url + "/v1/desk/requests", headers=node.auth, timeout=10).json()
        assert [r["request_id"] for r in desk["requests"]] == [body["request_id"]]
        log = node.log.read_text()
        assert "Jordan" not in log and "jordan@example.org" not in log
    finally:
        node.stop()
    out = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "node", "compliance-report", "--since", "2026-01-01",
         "--database-url", node.db_url, "--csv", str(tmp_path / "r.csv")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["received"] == 1 and "received,1" in (tmp_path / "r.csv").read_text()


def test_without_a_key_the_form_says_it_is_closed(registry: Registry, tmp_path: Path) -> None:
    node = start_node(registry, registry.add_platform("no-desk"), tmp_path)
    try:
        r = httpx.post(node.url + "/v1/takedown-requests", json=REQUEST, timeout=10)
        assert r.status_code == 503 and r.json()["code"] == "unavailable"
    finally:
        node.stop()


class Clock:
    """An injected clock: the desk's idea of now, moved by the test."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def _audit(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as conn:
        rows = conn.execute(text("SELECT actor, action, subject FROM node_audit ORDER BY seq")).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def clocked(tmp_path: Path) -> tuple[Desk, Clock, list[tuple[str, dict]]]:
    """A desk with an injected clock, the real audit log and a list of the events it emits."""
    from takeitdown.node.audit import AuditLog

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    clock = Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
    events: list[tuple[str, dict]] = []
    d = Desk(
        db,
        Sealer(new_key()),
        notify=lambda e, p, conn=None: events.append((e, p)),
        record=AuditLog(db).append,
        retention=timedelta(days=30),
        abandon_after=timedelta(days=14),
        clock=clock,
    )
    return d, clock, events


def test_the_clock_warns_once_records_breaches_abandons_and_deletes_without_anyone_looking(
    clocked: tuple[Desk, Clock, list[tuple[str, dict]]],
) -> None:
    desk, clock, events = clocked
    t0 = clock.t
    late = desk.submit(parse_request(REQUEST))["request_id"]
    quiet = desk.submit(parse_request(REQUEST))["request_id"]
    desk.mark_incomplete(quiet, "Which post? Please send its link.", "dana")
    clock.t = t0 + timedelta(hours=35, minutes=59)
    assert desk.tick() == {"breaches": 0, "warnings": 0, "abandoned": 0, "purged": 0}
    clock.t = t0 + timedelta(hours=36)
    assert desk.tick()["warnings"] == 1
    clock.t = t0 + timedelta(hours=40)
    assert desk.tick()["warnings"] == 0  # once
    assert [e for e, p in events] == ["takedown.warning"] and events[0][1]["request_id"] == late
    clock.t = t0 + timedelta(hours=48, seconds=1)
    assert desk.tick()["breaches"] == 1 and desk.tick()["breaches"] == 0
    assert [e for e, _ in events] == ["takedown.warning", "takedown.breach"]
    assert set(events[1][1]) == {"request_id", "deadline"}  # ids and times only
    rows = _audit(desk.db)
    assert ("node", "takedown.warning", late) in rows and ("node", "takedown.breach", late) in rows
    assert desk.detail(late)["breach"] == "not removed within 48 hours of the valid request"

    # The incomplete request nobody answers is closed after 14 days, its personal data 30 days later.
    clock.t = t0 + timedelta(days=14, minutes=1)
    assert desk.tick()["abandoned"] == 1
    assert desk.detail(quiet)["state"] == "abandoned"
    clock.t = t0 + timedelta(days=44)
    assert desk.tick()["purged"] == 0
    clock.t = t0 + timedelta(days=44, minutes=2)
    assert desk.tick()["purged"] == 1
    assert desk.detail(quiet)["personal"] == {"deleted": True}
    assert desk.detail(late)["personal"]["contact"] == "jordan@example.org"  # still open: kept
    assert ("node", "takedown.personal_data_deleted", quiet) in _audit(desk.db)


def test_the_node_runs_the_clock_in_its_background(
    clocked: tuple[Desk, Clock, list[tuple[str, dict]]],
) -> None:
    from takeitdown.node.takedown_ticker import DeskTicker

    desk, clock, events = clocked
    rid = desk.submit(parse_request(REQUEST))["request_id"]
    clock.t += timedelta(hours=49)
    ticker = DeskTicker(desk, interval=0.05)
    ticker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while not events and datetime.now(UTC) < deadline:
            ticker.wake()
            import time

            time.sleep(0.05)
    finally:
        ticker.stop()
    assert ("takedown.breach", rid) in [(e, p["request_id"]) for e, p in events]
    assert ticker.last_error is None and ticker.ticks >= 1


def test_incomplete_only_before_validation_and_the_answer_is_kept_sealed(
    clocked: tuple[Desk, Clock, list[tuple[str, dict]]],
) -> None:
    desk, clock, _ = clocked
    t0 = clock.t
    checked = desk.submit(parse_request(REQUEST))["request_id"]
    desk.validate(checked, "dana")
    clock.t = t0 + timedelta(hours=47)
    with pytest.raises(RequestError) as info:
        desk.mark_incomplete(checked, "Send more.", "dana")  # at hour 47: no restart of the clock
    assert info.value.status == 409 and "cannot be stopped or restarted" in str(info.value)
    assert desk.detail(checked)["deadline"] == "2026-06-03T12:00:00Z"

    clock.t = t0
    receipt = desk.submit(parse_request(REQUEST))
    rid, secret = receipt["request_id"], receipt["request_secret"]
    clock.t = t0 + timedelta(hours=2)
    desk.mark_incomplete(rid, "We cannot find post:2; please send its full link.", "dana")
    with pytest.raises(RequestError) as info:
        desk.add_information(rid, secret, ["https://platform.example/" + "x" * 1100], None)
    assert info.value.status == 422 and "1024" in str(info.value)  # refused, never cut
    with pytest.raises(RequestError):
        desk.add_information(rid, secret, [], "n" * 5000)
    clock.t = t0 + timedelta(hours=10)
    note = "It is the second photo, posted by user jordans_ex on 3 May."
    assert desk.add_information(rid, secret, ["https://platform.example/p/2"], note)
    status = desk.status(rid, secret)
    assert status["state"] == "valid" and status["deadline"] == "2026-06-03T22:00:00Z"  # answer + 48 h
    personal = desk.detail(rid)["personal"]
    assert personal["answers"] == [{"at": "2026-06-01T22:00:00Z", "note": note}]
    with desk.db.read() as conn:
        raw = b"".join(bytes(r[0]) for r in conn.execute(text("SELECT sealed FROM node_takedown_pii")))
    assert b"jordans_ex" not in raw  # sealed like the name and contact
    assert ("requester", "takedown.answered", rid) in _audit(desk.db)

    desk.remove(rid, "dana")
    desk.confirm_removed(rid, ["https://platform.example/p/1", "post:2", "https://platform.example/p/2"],
                         at=t0 + timedelta(hours=50))  # fmt: skip
    report = compliance_report(desk.db, t0 - timedelta(days=1), t0 + timedelta(days=3))
    # measured from receipt: 50 h; within 48 h of the valid request (the answer at hour 10)
    assert report["worst_hours_to_removal"] == 50.0
    assert (report["removed_within_48h"], report["removed_within_48h_of_receipt"]) == (1, 0)
    assert report["clock_stopped"] == [{"request_id": rid, "hours": 10.0}]
    assert f"clock_stopped,{rid}: 10.0 h" in as_csv(report)


def test_copies_of_the_named_items_themselves_are_found_queued_and_blocked(tmp_path: Path) -> None:
    from takeitdown.node.takedown import Copy, inventory_hashes

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    inventory = Inventory(db)
    inventory.add_items(
        [
            InventoryItem("scan", "post:named", MD5, [PDQ]),  # the item the request names
            InventoryItem("scan", "post:reupload", MD5, [PDQ]),  # the same file again
            InventoryItem("scan", "post:resized", "cd" * 16, [NEAR]),  # the same picture, resized
            InventoryItem("scan", "post:other", "ef" * 16, [FAR]),
        ]
    )
    reviews: list[tuple[str, Copy]] = []
    blocked: list[tuple[list[tuple[str, str]], str]] = []
    desk = Desk(
        db,
        Sealer(new_key()),
        inventory_copy_finder(inventory),
        hashes_of=inventory_hashes(inventory),
        queue_review=lambda rid, c, conn=None: reviews.append((rid, c)) or 41,
        block=lambda values, why, conn=None: blocked.append((values, why)) or len(values),
    )
    rid = desk.submit(parse_request({**REQUEST, "content": ["post:named"], "hashes": []}))["request_id"]
    asked = desk.remove(rid, "dana")
    assert sorted(asked["refs"]) == ["post:named", "post:reupload"]  # found with no hash from the requester
    assert asked["likely_copies"] == ["post:resized"] and asked["blocked_hashes"] == 2
    assert [(r, c.ref, c.md5, c.pdq) for r, c in reviews] == [(rid, "post:resized", "cd" * 16, NEAR)]
    items = {i["ref"]: i for i in desk.detail(rid, with_personal_data=False)["items"]}
    assert (items["post:resized"]["state"], items["post:resized"]["note"]) == ("in_review", "review:41")
    assert "post:other" not in items
    assert blocked == [([("md5", MD5), ("pdq", PDQ)], f"TAKE IT DOWN Act request {rid}")]
    assert desk.copy_reviewed(41, "remove", "rita") == rid
    still = desk.confirm_removed(rid, ["post:named", "post:reupload"])
    assert still == {"closed": False, "still_removing": ["post:resized"]}
    assert desk.confirm_removed(rid, ["post:resized"])["closed"]


def test_a_failed_step_leaves_no_review_item_no_block_no_breach_and_no_event(tmp_path: Path) -> None:
    # The desk on the node's own store, outbox and audit log: a removal's review items and blocks,
    # and a breach found by the clock, commit with their audit row and event or not at all.
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.events import EventOutbox
    from takeitdown.node.store import NodeStore
    from takeitdown.node.takedown import Copy, inventory_hashes

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    inventory = Inventory(db)
    inventory.add_items(
        [
            InventoryItem("scan", "post:named", MD5, [PDQ]),
            InventoryItem("scan", "post:resized", "cd" * 16, [NEAR]),
        ]
    )
    store, outbox, log = NodeStore(db), EventOutbox(db), AuditLog(db)
    fail: set[str] = set()

    def record(*args: object, conn: object = None) -> None:
        if args[1] in fail:
            raise RuntimeError("the audit write failed")
        log.append(*args, conn=conn)  # type: ignore[arg-type]

    def queue_review(rid: str, c: Copy, conn: object = None) -> int:
        return store.add_review("takedown", c.ref, c.md5, c.pdq, [], conn)

    def block(values: list[tuple[str, str]], why: str, conn: object = None) -> int:
        return len(store.add_local_blocks(values, why, conn))

    clock = Clock(datetime.now(UTC))
    desk = Desk(
        db,
        Sealer(new_key()),
        inventory_copy_finder(inventory),
        outbox.emit,
        record,
        hashes_of=inventory_hashes(inventory),
        queue_review=queue_review,
        block=block,
        clock=clock,
    )
    rid = desk.submit(parse_request({**REQUEST, "content": ["post:named"], "hashes": []}))["request_id"]

    def counts() -> tuple[int, int]:
        with db.read() as conn:
            reviews = conn.execute(text("SELECT count(*) FROM node_review_items")).scalar_one()
            blocks = conn.execute(text("SELECT count(*) FROM node_block_list")).scalar_one()
        return reviews, blocks

    clock.t += timedelta(hours=49)
    fail.add("takedown.breach")
    with pytest.raises(RuntimeError):
        desk.tick()
    assert desk.detail(rid)["breach"] is None and outbox.all_events() == []
    fail.clear()
    assert desk.record_breaches() == 1
    assert [e["type"] for e in outbox.all_events()] == ["takedown.breach"]

    fail.add("takedown.remove")
    with pytest.raises(RuntimeError):
        desk.remove(rid, "dana")
    assert desk.detail(rid)["state"] == "valid" and counts() == (0, 0)
    assert [e["type"] for e in outbox.all_events()] == ["takedown.breach"]
    fail.clear()
    asked = desk.remove(rid, "dana")
    assert asked["likely_copies"] == ["post:resized"] and asked["blocked_hashes"] == 2
    assert counts() == (1, 2)
    assert [e["type"] for e in outbox.all_events()] == ["takedown.breach", "takedown.remove"]
    assert [a for _, a, _ in _audit(db)] == ["takedown.received", "takedown.breach", "takedown.remove"]
    db.dispose()


def test_sealed_with_another_key_is_a_clear_503_and_many_refs_confirm(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    first = Desk(db, Sealer(new_key()))
    rid = first.submit(parse_request(REQUEST))["request_id"]
    for sealer in (Sealer(new_key()), None):  # the key was changed, or is not set
        with pytest.raises(RequestError) as info:
            Desk(db, sealer).detail(rid)
        assert (info.value.status, info.value.code) == (503, "takedown.pii_unreadable")
        assert Desk(db, sealer).detail(rid, with_personal_data=False)["request_id"] == rid
    first.remove(rid, "dana")
    # more refs than SQLite binds in one statement (999 before 3.32, 32766 since, 250000 on Debian)
    many = [f"post:{i}" for i in range(260_000)] + REQUEST["content"]
    assert first.confirm_removed(rid, many)["closed"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "node", *args], capture_output=True, text=True, timeout=300
    )


NUMBA_CACHE = {"NUMBA_CACHE_DIR": str(Path(__file__).resolve().parents[2] / "test-artifacts" / "numba-cache")}


@pytest.mark.slow
def test_only_desk_users_see_requests_copies_are_found_and_a_reupload_is_blocked(
    registry: Registry, tmp_path: Path
) -> None:
    from tests.node.helpers import conformance

    hosted = tmp_path / "hosted"
    hosted.mkdir()
    original = conformance("pdq/bridge-mods/aaa-orig.jpg")
    (hosted / "post-1.jpg").write_bytes(original.read_bytes())
    (hosted / "post-1-again.jpg").write_bytes(original.read_bytes())  # an identical copy
    (hosted / "post-1-small.jpg").write_bytes(conformance("pdq/bridge-mods/shrink-a-lot.jpg").read_bytes())
    env = {"TAKEITDOWN_NODE_PII_KEY": new_key(), **NUMBA_CACHE}
    node = start_node(registry, registry.add_platform("desk-roles"), tmp_path, extra_env=env)
    try:
        assert _cli("scan", str(hosted), "--database-url", node.db_url, "--workers", "1").returncode == 0
        secrets_ = {}
        for name, role in (("rita", "reviewer"), ("dana", "desk")):
            made = _cli("user", "add", name, "--role", role, "--database-url", node.db_url)
            assert made.returncode == 0, made.stderr
            secrets_[name] = made.stdout.strip()
        rita = httpx.Client(
            base_url=node.url, headers={"Authorization": f"Bearer {secrets_['rita']}"}, timeout=30
        )
        dana = httpx.Client(
            base_url=node.url, headers={"Authorization": f"Bearer {secrets_['dana']}"}, timeout=30
        )
        admin = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        made = httpx.post(node.url + "/v1/takedown-requests", json={**REQUEST, "content": ["post-1.jpg"]})
        rid = made.json()["request_id"]

        # A reviewer sees none of it: not the list, not the name and contact, no action.
        for call in (
            lambda: rita.get("/v1/desk/requests"),
            lambda: rita.get(f"/v1/desk/requests/{rid}"),
            lambda: rita.post(f"/v1/desk/requests/{rid}/remove", json={"actor": "someone else"}),
        ):
            r = call()
            assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
            assert "jordan" not in r.text.lower()
        assert dana.get("/v1/desk/requests").json()["requests"][0]["request_id"] == rid
        assert dana.get(f"/v1/desk/requests/{rid}").json()["personal"]["contact"] == "jordan@example.org"

        assert dana.post(f"/v1/desk/requests/{rid}/validate", json={}).status_code == 200
        late = dana.post(f"/v1/desk/requests/{rid}/incomplete", json={"reason": "more please"})
        assert late.status_code == 409  # validated: the clock cannot be restarted
        # The body's "actor" is not who acted: dana is signed in.
        asked = dana.post(f"/v1/desk/requests/{rid}/remove", json={"actor": "mallory"}).json()
        assert sorted(asked["refs"]) == ["post-1-again.jpg", "post-1.jpg"]
        assert asked["likely_copies"] == ["post-1-small.jpg"] and asked["blocked_hashes"] == 2
        queue = admin.get("/v1/console/queue", params={"source": "takedown"}).json()["items"]
        assert [(i["ref"], i["priority"]) for i in queue] == [("post-1-small.jpg", 1)]
        queue_ids = [i["id"] for i in queue]

        rows = admin.get("/v1/audit", params={"latest": "true", "limit": 50}).json()["rows"]
        actors = {(r["action"], r["actor"]) for r in rows if r["subject"] == rid}
        assert {
            ("takedown.viewed", "dana"),
            ("takedown.validated", "dana"),
            ("takedown.remove", "dana"),
        } <= actors
        assert not any("mallory" in r["actor"] for r in rows)

        # The removed picture cannot come back: the same file uploaded again is blocked.
        with original.open("rb") as f:
            again = admin.post("/v1/match", files={"file": ("again.jpg", f, "image/jpeg")}).json()
        assert (again["verdict"], again["final"]) == ("block", True), again
        assert any(m["source"] == "local" for m in again["matches"])

        # The platform's tool confirms with the admin token, naming its operator.
        done = admin.post(
            f"/v1/desk/requests/{rid}/confirm", json={"refs": asked["refs"], "actor": "ops-bot"}
        ).json()
        assert done["closed"] is True
        rows = admin.get("/v1/audit", params={"action": "takedown.confirmed"}).json()["rows"]
        assert [r["actor"] for r in rows] == ["ops-bot (admin token)"]

        # The reviewer finds the likely copy is the same picture: it joins the removal.
        decided = rita.post(f"/v1/review/{queue_ids[0]}", json={"decision": "remove", "reason": "same photo"})
        assert decided.status_code == 200, decided.text
        items = {
            i["ref"]: i["state"] for i in dana.get(f"/v1/desk/requests/{rid}?personal=false").json()["items"]
        }
        assert items == {
            "post-1.jpg": "removed",
            "post-1-again.jpg": "removed",
            "post-1-small.jpg": "removing",
        }
        admin.post(f"/v1/desk/requests/{rid}/confirm", json={"refs": ["post-1-small.jpg"]})
        items = {
            i["ref"]: i["state"] for i in dana.get(f"/v1/desk/requests/{rid}?personal=false").json()["items"]
        }
        assert items["post-1-small.jpg"] == "removed"

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(40):
                yield b" " * 10_000  # 400 KB with no Content-Length: the cap holds while streaming

        big = dana.post(f"/v1/desk/requests/{rid}/keep", content=chunks())
        assert big.status_code == 413 and big.json()["code"] == "body.too_large"
    finally:
        node.stop()

    # The key changed: the desk says why it cannot show the personal data, never a 500.
    node = start_node(
        registry, registry.add_platform("desk-rekeyed"), tmp_path,
        extra_env={"TAKEITDOWN_NODE_PII_KEY": new_key(), **NUMBA_CACHE},
    )  # fmt: skip
    try:
        r = httpx.get(node.url + f"/v1/desk/requests/{rid}", headers=node.auth, timeout=30)
        assert r.status_code == 503 and r.json()["code"] == "takedown.pii_unreadable", r.text
        r = httpx.get(node.url + f"/v1/desk/requests/{rid}?personal=false", headers=node.auth, timeout=30)
        assert r.status_code == 200 and r.json()["state"] == "closed"
    finally:
        node.stop()


def test_shared_hashes_become_one_registry_item_per_picked_file() -> None:
    """The form sends each file's wire hashes in turn (pdq, md5 / vpdq, md5): the registry case
    gets an image item and a video item, never one item holding every file's hashes."""
    frames = [{"i": 0, "t": 0.0, "q": 90, "pdq": PDQ}]
    photo = [{"type": "pdq", "value": PDQ, "quality": 90}, {"type": "md5", "value": MD5}]
    video = [{"type": "vpdq", "frames": frames}, {"type": "md5", "value": "cd" * 16}]
    other = [{"type": "pdq", "value": FAR, "quality": 80}, {"type": "md5", "value": "ef" * 16}]
    assert case_items(photo + video + other) == [
        {"kind": "image", "hashes": photo},
        {"kind": "video", "hashes": video},
        {"kind": "image", "hashes": other},
    ]
    assert case_items(REQUEST["hashes"]) == [{"kind": "image", "hashes": REQUEST["hashes"]}]  # md5 first
    assert case_items([{"type": "sha256", "value": "00" * 32}]) == []  # not a type the feed carries
