"""The review console's API on a real node beside a real registry: retro-matching hosted content
with no file read again, decisions with a person and a reason, the audit trail, events."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from takeitdown.hashing import hash_file
from tests.node.helpers import ROOT, Registry, conformance, free_port, start_node, wait_for

pytestmark = pytest.mark.slow

SECRET = "webhook-secret-0123456789"
RECEIVER = ROOT / "docs" / "examples" / "webhook_receiver.py"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "node", *args], capture_output=True, text=True, timeout=300
    )


def _events(out: Path) -> list[dict]:
    return [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []


def _flip_bits(hex_value: str, n: int) -> str:
    v = int(hex_value, 16)
    for b in range(n):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


@pytest.fixture
def receiver(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port), "--secret", SECRET, "--out", str(out)]
    )
    yield f"http://127.0.0.1:{port}/hook", out
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_a_case_made_after_the_scan_finds_the_hosted_copy_without_reading_it_again(
    registry: Registry, tmp_path: Path, receiver: tuple[str, Path]
) -> None:
    hook, out = receiver
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    pics = ["pdq/bridge-mods/aaa-orig.jpg", "pdq/reg-test-input/labelme-subset/q0003.jpg"]
    for i, rel in enumerate(pics):
        shutil.copy(conformance(rel), hosted / f"item-{i}.jpg")
    original_hashes = hash_file(hosted / "item-0.jpg")
    key = registry.add_platform("retro-platform")
    node = start_node(
        registry,
        key,
        tmp_path,
        extra_env={"TAKEITDOWN_NODE_WEBHOOK_URL": hook, "TAKEITDOWN_NODE_WEBHOOK_SECRET": SECRET},
    )
    try:
        scan = _cli("scan", str(hosted), "--database-url", node.db_url, "--workers", "1")
        assert scan.returncode == 0, scan.stderr
        assert "2 scanned now" in scan.stderr
        again = _cli("scan", str(hosted), "--database-url", node.db_url, "--workers", "1")
        assert "0 scanned now, 2 done before" in again.stderr
        # the files are gone: whatever is found from now on is found without reading them
        shutil.rmtree(hosted)
        r = httpx.post(
            registry.url + "/v1/cases",
            json={"items": [{"kind": "image", "hashes": original_hashes.wire_hashes()}]},
        )
        assert r.status_code == 201, r.text
        client = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        items = wait_for(
            lambda: [i for i in client.get("/v1/console/queue").json()["items"] if i["source"] == "retro"],
            60,
            what="the retro review item",
        )
        assert len(items) == 1 and items[0]["ref"] == "item-0.jpg", items
        assert {m["type"] for m in items[0]["matches"]} == {"md5", "pdq"}  # one item, both hashes
        assert items[0]["created_at"].endswith("+00:00")
        found = wait_for(
            lambda: [e for e in _events(out) if e["type"] == "retro.found"], 30, what="the event"
        )
        assert found[0]["data"]["ref"] == "item-0.jpg"
        assert node.health()["inventory"]["items"] == 2
        audit = client.get("/v1/audit", params={"action": "retro"}).json()["rows"]
        assert audit and audit[0]["actor"] == "node" and audit[0]["subject"] == "ref:item-0.jpg"
    finally:
        node.stop()


def test_decisions_need_a_person_and_leave_an_audit_row_and_an_event(
    registry: Registry, tmp_path: Path, receiver: tuple[str, Path]
) -> None:
    hook, out = receiver
    original = conformance("pdq/bridge-mods/aaa-orig.jpg")
    hashes = hash_file(original)
    key = registry.add_platform("review-platform")
    node = start_node(
        registry,
        key,
        tmp_path,
        extra_env={"TAKEITDOWN_NODE_WEBHOOK_URL": hook, "TAKEITDOWN_NODE_WEBHOOK_SECRET": SECRET},
    )
    try:
        made = _cli("user", "add", "alice", "--role", "reviewer", "--database-url", node.db_url)
        assert made.returncode == 0, made.stderr
        alice = made.stdout.strip()
        assert "alice" not in alice and len(alice) > 20
        listed = _cli("user", "list", "--database-url", node.db_url).stdout
        assert "alice\treviewer\tactive" in listed and alice not in listed
        r = httpx.post(
            registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": hashes.wire_hashes()}]}
        )
        assert r.status_code == 201
        wait_for(lambda: node.health()["entries"].get("pdq") == 1, what="sync")
        admin = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        near = {"hashes": [{"type": "pdq", "value": _flip_bits(hashes.pdq.value, 20), "quality": 100}]}
        first = admin.post("/v1/match", json={**near, "ref": "post-1", "account": "acct-42"}).json()
        second = admin.post("/v1/match", json={**near, "ref": "post-2", "account": "acct-42"}).json()
        # held (the default for a near match: nothing matching is posted unreviewed), one item
        assert first["verdict"] == "hold" and first["review_id"] == second["review_id"]
        r = admin.post("/v1/match", json={**near, "ref": "x" * 1025})
        assert r.status_code == 422 and r.json()["code"] == "ref.too_long"

        rid = first["review_id"]
        r = admin.post(f"/v1/review/{rid}", json={"decision": "remove"})
        assert r.status_code == 422 and r.json()["code"] == "review.no_person"
        as_alice = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {alice}"}, timeout=30)
        r = as_alice.post(f"/v1/review/{rid}", json={"decision": "escalate"})
        assert r.status_code == 422 and r.json()["code"] == "review.reason_missing"
        r = as_alice.post(
            f"/v1/review/{rid}", json={"decision": "remove", "reason": "same photo, re-encoded"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["decided_by"] == "alice" and r.json()["decision_reason"] == "same photo, re-encoded"
        assert as_alice.get("/v1/audit").status_code == 403  # reviewers do not read the log

        rows = admin.get("/v1/audit", params={"action": "decision"}).json()["rows"]
        assert [(x["actor"], x["subject"], x["reason"]) for x in rows] == [
            ("alice", f"review:{rid}", "same photo, re-encoded")
        ]
        assert admin.get("/v1/audit/verify").json()["ok"] is True
        export = admin.get("/v1/audit/export")
        assert export.status_code == 200 and all(json.loads(x)["row_hash"] for x in export.text.splitlines())
        decided = wait_for(
            lambda: [e for e in _events(out) if e["type"] == "review.decided"], 30, what="event"
        )
        assert decided[0]["data"]["decided_by"] == "alice" and decided[0]["data"]["account"] == "acct-42"
        assert decided[0]["data"]["decision"] == "remove"
        # a disabled account's token stops at once
        assert _cli("user", "disable", "alice", "--database-url", node.db_url).returncode == 0
        assert as_alice.get("/v1/console/queue").status_code == 401
    finally:
        node.stop()


def test_console_sign_in_locks_out_and_needs_the_csrf_token(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("signin-platform")
    node = start_node(registry, key, tmp_path, extra_env={"TAKEITDOWN_NODE_SIGNIN_ATTEMPTS": "3"})
    try:
        bob = _cli("user", "add", "bob", "--role", "admin", "--database-url", node.db_url).stdout.strip()
        c = httpx.Client(base_url=node.url, timeout=30)
        page = c.get("/console/")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        r = c.post("/v1/console/signin", json={"name": "bob", "secret": bob})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = r.json()["csrf"]
        assert c.get("/v1/users").status_code == 200  # the cookie alone reads
        r = c.post("/v1/users", json={"name": "carol", "role": "reviewer"})
        assert r.status_code == 403 and r.json()["code"] == "csrf.invalid"  # but cannot change anything
        r = c.post("/v1/users", json={"name": "carol", "role": "reviewer"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201 and r.json()["secret"]
        other = httpx.Client(base_url=node.url, timeout=30)
        for _ in range(3):
            r = other.post("/v1/console/signin", json={"name": "carol", "secret": "guess"})
        assert r.status_code == 429 and r.json()["code"] == "signin.locked"
        carol = c.post("/v1/users", json={"name": "dave"}, headers={"X-CSRF-Token": csrf})
        assert carol.status_code == 201
        rows = httpx.get(node.url + "/v1/audit", params={"action": "user"}, headers=node.auth).json()["rows"]
        assert [(x["actor"], x["subject"]) for x in rows] == [
            ("cli", "user:bob"),
            ("bob", "user:carol"),
            ("bob", "user:dave"),
        ]
    finally:
        node.stop()


def test_wrong_tokens_are_limited_per_client_and_never_lock_an_account(
    registry: Registry, tmp_path: Path
) -> None:
    key = registry.add_platform("token-platform")
    node = start_node(registry, key, tmp_path, extra_env={"TAKEITDOWN_NODE_SIGNIN_ATTEMPTS": "3"})
    try:
        alice = _cli(
            "user", "add", "alice", "--role", "reviewer", "--database-url", node.db_url
        ).stdout.strip()
        uid = alice.split(".")[0]
        as_alice = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {alice}"}, timeout=30)
        assert as_alice.get("/v1/console/queue").status_code == 200
        statuses = []
        for i in range(80):  # each wrong token costs a scrypt check; the bucket refills 1 per 2 s
            r = httpx.get(
                node.url + "/v1/console/queue",
                headers={"Authorization": f"Bearer {uid}.a-wrong-guess-{i:08d}"},
                timeout=30,
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["code"] == "rate_limited" and r.headers["retry-after"] == "60"
                break
        assert statuses[-1] == 429 and set(statuses[:-1]) == {401} and len(statuses) > 30, statuses
        # the token alice used a moment ago still works, and so does her console sign-in
        assert as_alice.get("/v1/console/queue").status_code == 200
        r = httpx.post(node.url + "/v1/console/signin", json={"name": "alice", "secret": alice})
        assert r.status_code == 200, r.text
        assert httpx.get(node.url + "/v1/users", headers=node.auth).json()["users"][0]["locked"] is False
        assert httpx.get(node.url + "/v1/console/queue", headers=node.auth).status_code == 200
    finally:
        node.stop()
