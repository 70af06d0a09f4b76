"""A registry restored from a backup mid-life: the node notices, resyncs, and converges exactly.

The attack (issue 11): restore a backup, submit new cases, and the node resumed quietly, never
receiving the new entries (their seqs were below its cursor, or reused) and holding entries
nobody can withdraw. Real registry (uvicorn, SQLite file) and real node, both on loopback; the
backup is SQLite's online backup of the running registry's file.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.node.helpers import (
    REGISTRY_TEST_ENV,
    NodeProc,
    Registry,
    free_port,
    start_node,
    wait_for,
    wait_http,
)

pytestmark = pytest.mark.slow


class Restartable:
    """A registry server that can be stopped and started again on the same port and file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.db_path = workdir / "registry.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self.registry = Registry(f"http://127.0.0.1:{self.port}", f"sqlite:///{self.db_path}", None)  # type: ignore[arg-type]

    def start(self) -> None:
        log = self.workdir / "registry.log"
        env = {**os.environ, **REGISTRY_TEST_ENV}  # publishes at once, as the other node tests' registry
        env.pop("TAKEITDOWN_DATABASE_URL", None)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "takeitdown.cli", "serve", "--port", str(self.port), "--database-url",
                 self.registry.db_url],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
            )  # fmt: skip
        self.registry.proc = self.proc
        wait_http(self.registry.url + "/healthz", self.proc, log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def backup(self, to: Path) -> None:
        src, dst = sqlite3.connect(self.db_path), sqlite3.connect(to)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()

    def restore(self, backup: Path) -> None:
        self.stop()
        for suffix in ("-wal", "-shm"):
            Path(str(self.db_path) + suffix).unlink(missing_ok=True)
        self.db_path.write_bytes(backup.read_bytes())
        self.start()


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    r = Restartable(tmp_path)
    r.start()
    try:
        yield r
    finally:
        r.stop()


def _submit(url: str, rng: random.Random, cases: int, items: int = 5) -> list[str]:
    md5s = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(cases):
            batch = []
            for _ in range(items):
                md5 = f"{rng.getrandbits(128):032x}"
                md5s.append(md5)
                half = sum(1 << b for b in rng.sample(range(256), 128))  # half the bits set, as real PDQs
                pdq = {"type": "pdq", "value": f"{half:064x}", "quality": 90}
                batch.append({"kind": "image", "hashes": [pdq, {"type": "md5", "value": md5}]})
            r = c.post("/v1/cases", json={"items": batch})
            assert r.status_code == 201, r.text
    return md5s


def _registry_live(url: str, key: str) -> tuple[set[tuple[int, str, str]], int, str | None]:
    """Replay the whole feed: the live set (adds, minus removes and quarantines), end, epoch."""
    live: dict[int, tuple[str, str]] = {}
    off: set[int] = set()
    after, epoch = 0, None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        while True:
            page = c.get("/v1/feed", params={"after": after, "limit": 1000}).json()
            epoch = page.get("epoch")
            for e in page["entries"]:
                if e["op"] == "add":
                    live[e["entry_id"]] = (e["type"], e["value"])
                    off.discard(e["entry_id"])
                elif e["op"] == "remove":
                    live.pop(e["entry_id"], None)
                elif e.get("trust") == "quarantined":
                    off.add(e["entry_id"])
                else:
                    off.discard(e["entry_id"])
            after = page["next"]
            if not page["more"]:
                break
    return {(k, t, v) for k, (t, v) in live.items() if k not in off}, after, epoch


def _node_live(node: NodeProc) -> set[tuple[int, str, str]]:
    engine = create_engine(node.db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT entry_id, type, value FROM node_entries")).all()
    engine.dispose()
    return {(int(a), b, c) for a, b, c in rows}


@pytest.mark.parametrize("grown", [False, True], ids=["shorter-after-restore", "longer-after-restore"])
def test_restored_registry_node_resyncs_and_converges(
    restartable: Restartable, tmp_path: Path, grown: bool
) -> None:
    rng = random.Random(11)
    url = restartable.registry.url
    key = restartable.registry.add_platform("p1")
    _submit(url, rng, cases=3)  # A: in the backup
    node = start_node(restartable.registry, key, tmp_path)
    try:
        client = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        wait_for(lambda: _node_live(node) == _registry_live(url, key)[0] != set(), what="the first sync")
        backup = tmp_path / "backup.db"
        restartable.backup(backup)

        lost = _submit(url, rng, cases=4)  # B: submitted after the backup, lost by the restore
        wait_for(lambda: _node_live(node) == _registry_live(url, key)[0], what="B to reach the node")
        held = client.post("/v1/match", json={"hashes": [{"type": "md5", "value": lost[0]}], "ref": "u-1"})
        assert held.json()["verdict"] == "hold", held.text
        cursor_before = node.health()["sync"]["cursor"]

        restartable.restore(backup)
        # (while it resyncs, /readyz says why; caught only if a poll lands in that window)
        # C: new cases on the restored registry, fewer than B (the node's cursor is past the end)
        # or more (their seqs reuse B's: only the running hash on each page tells them apart)
        _submit(url, rng, cases=6 if grown else 1)
        registry_set, end, epoch = _registry_live(url, key)
        assert epoch is not None, "feed pages carry the epoch and running hash"
        assert (end >= cursor_before) == grown

        def converged() -> bool:
            h = node.health()["sync"]
            return h["resyncs"] >= 1 and not h["resyncing"] and _node_live(node) == registry_set

        wait_for(converged, timeout=120, what="the node to resync and converge")
        health = node.health()
        assert health["sync"]["cursor"] == end and health["sync"]["last_resync_reason"]
        assert _node_live(node) == registry_set  # exactly: nothing of B, everything of A and C
        # the hold on a lost entry (nobody could ever withdraw it) was lifted after the resync
        action = client.get(f"/v1/actions/{held.json()['action_id']}").json()
        assert action["status"] == "lifted", action
        review = client.get("/v1/review", params={"status": "all"}).json()["items"]
        assert [i["status"] for i in review] == ["withdrawn"]  # history kept, closed with reason
        metrics = httpx.get(node.url + "/metrics", timeout=10).text
        assert "takeitdown_node_sync_resyncs_total 1.0" in metrics
    finally:
        node.stop()


def test_a_resync_shows_in_readyz_and_survives_a_restart(tmp_path: Path) -> None:
    from takeitdown.node.service import Node, NodeSettings

    settings = NodeSettings(
        registry_url="http://127.0.0.1:9", api_key="k" * 20, database_url=f"sqlite:///{tmp_path / 'n.db'}"
    )
    node = Node(settings)
    node.store.apply_page(
        [{"seq": 1, "op": "add", "type": "md5", "value": "c" * 32, "quality": None, "entry_id": 4,
          "frames": None}], 1, epoch="e1", head="h1",
    )  # fmt: skip
    node.syncer.resync("the registry's epoch changed")
    assert node.store.counts() == {} and node.store.feed_mark().cursor == 0
    assert any("resyncing from scratch" in r for r in node.readiness())
    node.stop()
    again = Node(settings)  # killed mid-resync: it still knows, and finishes the sweep later
    try:
        assert again.syncer.resyncing and again.syncer.resyncs == 1 and again.syncer.epoch is None
        assert any("resyncing" in r for r in again.readiness())
    finally:
        again.stop()
