"""`entry.withdrawn` and `entry.quarantined` through a real sync: a real registry, a real node and a
real webhook receiver on loopback. A person withdraws a case and the registry quarantines an
entry; the platform hears of each, with every ref and uploader account the node had acted on,
and the audit log records each as applied."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.node.helpers import ROOT, Registry, free_port, start_node, wait_for
from tests.registry.helpers import random_pdq

pytestmark = pytest.mark.slow

SECRET = "webhook-secret-0123456789"
RECEIVER = ROOT / "docs" / "examples" / "webhook_receiver.py"


def _events(out: Path, kind: str) -> list[dict]:
    lines = out.read_text().splitlines() if out.exists() else []
    return [e for e in (json.loads(x) for x in lines) if e["type"] == kind]


def _hashes() -> list[dict]:
    """An image's hashes as a device sends them (a PDQ with half its bits set, as real ones have)."""
    return [
        {"type": "md5", "value": secrets.token_hex(16)},
        {"type": "pdq", "value": random_pdq(), "quality": 100},
    ]


def test_withdrawal_and_quarantine_tell_the_platform_what_the_node_had_acted_on(
    registry: Registry, tmp_path: Path
) -> None:
    port = free_port()
    out = tmp_path / "events.jsonl"
    receiver = subprocess.Popen(
        [sys.executable, str(RECEIVER), "--port", str(port), "--secret", SECRET, "--out", str(out)]
    )
    key = registry.add_platform("withdrawal-platform")
    node = start_node(
        registry,
        key,
        tmp_path,
        extra_env={
            "TAKEITDOWN_NODE_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "TAKEITDOWN_NODE_WEBHOOK_SECRET": SECRET,
        },
    )
    try:
        first, other = _hashes(), _hashes()
        cases = []
        for h in (first, other):
            r = httpx.post(registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": h}]})
            assert r.status_code == 201, r.text
            cases.append(r.json())
        wait_for(lambda: node.health()["entries"].get("pdq") == 2, what="the node to sync both cases")
        admin = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)

        # two uploads of the first image (one review item, two holds) and one of the other
        def upload(h: list[dict], ref: str, account: str) -> dict:
            r = admin.post("/v1/match", json={"hashes": h, "ref": ref, "account": account})
            assert r.status_code == 200 and r.json()["verdict"] == "hold", r.text
            return r.json()  # type: ignore[no-any-return]

        p1, p2 = upload(first, "post-1", "acct-1"), upload(first, "post-2", "acct-2")
        p3 = upload(other, "post-3", "acct-3")
        assert p1["review_id"] == p2["review_id"] != p3["review_id"]
        first_entries = admin.get(f"/v1/actions/{p1['action_id']}").json()["entry_ids"]
        other_entries = admin.get(f"/v1/actions/{p3['action_id']}").json()["entry_ids"]
        assert len(first_entries) == 2 and len(other_entries) == 2  # MD5 and PDQ each

        # The person withdraws the first case.
        auth = {"Authorization": f"Bearer {cases[0]['case_secret']}"}
        r = httpx.delete(f"{registry.url}/v1/cases/{cases[0]['case_id']}", headers=auth)
        assert r.status_code == 200
        withdrawn = wait_for(
            lambda: len(_events(out, "entry.withdrawn")) == 2 and _events(out, "entry.withdrawn"),
            60,
            what="two entry.withdrawn events",
        )
        assert sorted(e["data"]["entry_id"] for e in withdrawn) == sorted(first_entries)
        for e in withdrawn:
            d = e["data"]
            assert d["reason"] == "withdrawn"
            assert d["refs"] == ["post-1", "post-2"] and d["accounts"] == ["acct-1", "acct-2"], d
            assert d["action_ids"] == sorted([p1["action_id"], p2["action_id"]])
            assert d["review_ids"] == [p1["review_id"]]
            # both entries left in one page: each event names what that lifted (the holds, so the
            # platform can post the uploads) and the review item it closed
            assert d["lifted"]["action_ids"] == sorted([p1["action_id"], p2["action_id"]])
            assert d["lifted"]["refs"] == ["post-1", "post-2"]
            assert d["lifted"]["review_ids"] == [p1["review_id"]]
        for p in (p1, p2):
            assert admin.get(f"/v1/actions/{p['action_id']}").json()["status"] == "lifted"

        # The registry's operator quarantines one entry of the other case.
        quarantined_id = other_entries[0]
        q = subprocess.run(
            [
                sys.executable,
                "-m",
                "takeitdown.cli",
                "registry",
                "entries",
                "quarantine",
                str(quarantined_id),
                "--database-url",
                registry.db_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert q.returncode == 0, q.stderr
        [quarantined] = wait_for(lambda: _events(out, "entry.quarantined"), 60, what="entry.quarantined")
        d = quarantined["data"]
        assert d["entry_id"] == quarantined_id and d["reason"] == "quarantined"
        assert d["refs"] == ["post-3"] and d["accounts"] == ["acct-3"]
        # the hold still stands on the other, listed entry: nothing lifted
        assert d["lifted"]["action_ids"] == []
        assert admin.get(f"/v1/actions/{p3['action_id']}").json()["status"] == "pending"

        rows = admin.get("/v1/audit", params={"limit": 1000}).json()["rows"]
        applied = sorted((r["action"], r["subject"], r["reason"]) for r in rows if r["actor"] == "node")
        want = [("withdrawal", f"entry:{e}", "withdrawal applied") for e in first_entries]
        want.append(("quarantine", f"entry:{quarantined_id}", "quarantine applied"))
        assert sorted(want) == [a for a in applied if a[0] in ("withdrawal", "quarantine")]
        assert admin.get("/v1/audit/verify").json()["ok"] is True
    finally:
        node.stop()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(10)
