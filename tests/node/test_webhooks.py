"""Webhooks: signed events from the durable outbox reach a real receiver, which is killed and
restarted mid-delivery, and no event is lost; failures end as dead letters that can be retried."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from takeitdown.node.db import Database
from takeitdown.node.events import EventOutbox
from takeitdown.node.webhooks import WebhookSender
from takeitdown.protocol import verify_webhook, webhook_signature
from tests.node.helpers import ROOT, free_port, wait_for

RECEIVER = ROOT / "docs" / "examples" / "webhook_receiver.py"
SECRET = "webhook-secret-0123456789"


def _receiver(port: int, out: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port), "--secret", SECRET, "--out", str(out)]
    )

    def up() -> bool:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/", content=b"{}", timeout=1).status_code == 401
        except httpx.HTTPError:
            return False

    wait_for(up, 20, what="the receiver")
    return proc


def _received(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_no_event_is_lost_when_the_receiver_dies_mid_delivery(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    outbox = EventOutbox(db)
    ids = [outbox.emit("upload.blocked", {"ref": f"post-{i}", "account": "acct-7"}) for i in range(150)]
    port = free_port()
    out = tmp_path / "events.jsonl"
    receiver = _receiver(port, out)
    sender = WebhookSender(
        outbox, f"http://127.0.0.1:{port}/hook", SECRET, interval=0.05, backoff_base=0.05, backoff_cap=0.3
    )
    sender.start()
    try:
        wait_for(lambda: len(_received(out)) >= 20, 30, interval=0.01, what="the first deliveries")
        receiver.send_signal(signal.SIGKILL)  # mid-delivery: the sender is still working the queue
        receiver.wait(10)
        got_before = len(_received(out))
        assert got_before < len(ids), "the receiver died too late to test anything"
        ids += [outbox.emit("entry.withdrawn", {"entry_id": 9, "refs": ["post-1"]}) for _ in range(10)]
        wait_for(lambda: sender.last_error is not None, 10, what="a failed delivery")
        receiver = _receiver(port, out)
        wait_for(lambda: len(_received(out)) == len(ids), 60, what="every event delivered")
        wait_for(lambda: outbox.counts()["pending"] == 0, 10, what="the outbox to empty")
    finally:
        sender.stop()
        receiver.terminate()
        receiver.wait(10)
    got = _received(out)
    assert sorted(e["id"] for e in got) == sorted(ids)  # each once: the receiver skips repeats
    assert {e["data"].get("account") for e in got if e["type"] == "upload.blocked"} == {"acct-7"}
    assert outbox.counts() == {"delivered": len(ids), "dead": 0, "pending": 0}
    db.dispose()


def test_failed_deliveries_become_dead_letters_that_can_be_retried(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    outbox = EventOutbox(db)
    eid = outbox.emit("retro.found", {"ref": "hosted-1"})
    port = free_port()  # nothing listens here
    sender = WebhookSender(outbox, f"http://127.0.0.1:{port}/", SECRET, max_attempts=3, backoff_base=0.01)
    for _ in range(50):
        sender.send_once()
        if outbox.dead_letters():
            break
        time.sleep(0.02)
    dead = outbox.dead_letters()
    assert [d["id"] for d in dead] == [eid] and dead[0]["attempts"] == 3
    assert "unreachable" in dead[0]["last_error"]
    out = tmp_path / "events.jsonl"
    receiver = _receiver(port, out)
    try:
        assert outbox.requeue(dead[0]["row"])
        assert sender.send_once() == 1
    finally:
        receiver.terminate()
        receiver.wait(10)
        sender.stop()
    assert [e["id"] for e in _received(out)] == [eid] and outbox.dead_letters() == []
    db.dispose()


def test_a_signature_is_refused_when_forged_or_replayed() -> None:
    body = b'{"id":"x"}'
    now = int(time.time())
    good = webhook_signature(SECRET, now, body)
    assert verify_webhook(SECRET, body, str(now), good, now)
    assert not verify_webhook(SECRET, body + b" ", str(now), good, now)  # body changed
    assert not verify_webhook("another-secret-000000", body, str(now), good, now)
    assert not verify_webhook(SECRET, body, str(now), good, now + 301)  # replayed later
    # and the timestamp is signed: moving it forward breaks the signature
    assert not verify_webhook(SECRET, body, str(now + 200), good, now + 200)
