"""Reports go out through the outbox: retried while the registry is away, never counted twice."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from takeitdown.node.db import Database
from takeitdown.node.metrics import NodeMetrics
from takeitdown.node.outbox import OutboxSender
from takeitdown.node.schema import outbox
from takeitdown.node.store import NodeStore
from tests.node.helpers import Registry, free_port


def test_outbox_retries_and_resend_is_not_double_counted(registry: Registry, tmp_path: Path) -> None:
    r = httpx.post(
        registry.url + "/v1/cases",
        json={
            "items": [
                {"kind": "image", "hashes": [{"type": "md5", "value": "0123456789abcdef0123456789abcdef"}]}
            ]
        },
    )
    case = r.json()
    case_auth = {"Authorization": f"Bearer {case['case_secret']}"}
    key = registry.add_platform("p1")
    feed = httpx.get(registry.url + "/v1/feed", headers={"Authorization": f"Bearer {key}"}).json()
    entry_id = feed["entries"][0]["entry_id"]

    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    store.queue_reports([(entry_id, "removed")])

    # Registry unreachable: the row stays queued, with the attempt counted.
    dead = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RuntimeError):
        OutboxSender(store, dead, NodeMetrics()).send_once()
    assert store.outbox_counts() == {"pending": 1, "sent": 0}

    live = httpx.Client(base_url=registry.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    sender = OutboxSender(store, live, NodeMetrics())
    assert sender.send_once() == 1
    assert store.outbox_counts() == {"pending": 0, "sent": 1}
    status = httpx.get(f"{registry.url}/v1/cases/{case['case_id']}", headers=case_auth).json()
    assert status["outcomes"]["removed"] == 1

    # A crash between sending and marking: the same report_id goes again and is not counted twice.
    with db.write() as conn:
        conn.execute(update(outbox).values(sent_at=None))
    assert sender.send_once() == 1
    status = httpx.get(f"{registry.url}/v1/cases/{case['case_id']}", headers=case_auth).json()
    assert status["outcomes"]["removed"] == 1
    assert sender.send_once() == 0
