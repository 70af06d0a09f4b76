"""SIGKILL the node in the middle of a large sync; after a restart its set equals the registry's."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.node.helpers import Registry, start_node, wait_for
from tests.registry.helpers import random_pdq

pytestmark = pytest.mark.slow

ITEMS_PER_CASE = 1000
CASES = 25  # 25 x 1000 items x (PDQ + MD5) = 50,000 entries


def _registry_set(registry: Registry, key: str) -> tuple[set[tuple[int, str, str]], int]:
    """Replay the whole feed: the live (entry_id, type, value) set and the final cursor."""
    live: dict[int, tuple[str, str]] = {}
    after = 0
    with httpx.Client(base_url=registry.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while True:
            page = c.get("/v1/feed", params={"after": after, "limit": 10000}).json()
            for e in page["entries"]:
                if e["op"] == "add":
                    live[e["entry_id"]] = (e["type"], e["value"])
                else:
                    live.pop(e["entry_id"], None)
            after = page["next"]
            if not page["more"]:
                break
    return {(k, t, v) for k, (t, v) in live.items()}, after


def _node_set(db_url: str) -> set[tuple[int, str, str]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT entry_id, type, value FROM node_entries")).all()
    engine.dispose()
    return {(int(a), b, c) for a, b, c in rows}


def test_sigkill_mid_sync_then_restart_matches_registry(registry: Registry, tmp_path: Path) -> None:
    rng = random.Random(5)
    cases = []
    with httpx.Client(base_url=registry.url, timeout=120) as c:
        for _ in range(CASES):
            items = [
                {
                    "kind": "image",
                    "hashes": [
                        {"type": "pdq", "value": random_pdq(rng), "quality": 90},
                        {"type": "md5", "value": f"{rng.getrandbits(128):032x}"},
                    ],
                }
                for _ in range(ITEMS_PER_CASE)
            ]
            r = c.post("/v1/cases", json={"items": items})
            assert r.status_code == 201, r.text
            cases.append(r.json())
        # Withdrawals too, so the feed carries removes as well as adds.
        for case in cases[3:5]:
            r = c.delete(
                f"/v1/cases/{case['case_id']}", headers={"Authorization": f"Bearer {case['case_secret']}"}
            )
            assert r.status_code == 200
    key = registry.add_platform("node-under-test")
    reader = registry.add_platform("test-reader")
    want, last = _registry_set(registry, reader)
    assert len(want) == (CASES - 2) * ITEMS_PER_CASE * 2

    node = start_node(registry, key, tmp_path, page_size=500)
    # Kill it twice at different points of the sync.
    for fraction in (0.15, 0.55):
        wait_for(
            lambda f=fraction, n=node: n.health()["sync"]["cursor"] >= f * last,
            interval=0.02,
            timeout=120,
            what=f"sync to pass {fraction:.0%}",
        )
        cursor = node.health()["sync"]["cursor"]
        node.kill()
        assert 0 < cursor < last, "the kill must land in the middle of the sync"
        node = start_node(registry, key, tmp_path, page_size=500)
    try:
        wait_for(
            lambda: node.health()["sync"]["cursor"] == last and node.health()["sync"]["caught_up_at"],
            timeout=180,
            what="the restarted node to catch up",
        )
        got = _node_set(node.db_url)
        assert got == want
        h = node.health()
        assert h["index"]["pdq"] == sum(1 for _, t, _ in want if t == "pdq")
        assert h["entries"] == {"pdq": len(want) // 2, "md5": len(want) // 2}
    finally:
        node.stop()
