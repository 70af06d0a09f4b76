"""Crash consistency: SIGKILL the registry again and again under a load of submissions.

Client threads submit cases as fast as the server takes them (some cases share hashes, so the
dedup path is exercised). Meanwhile the server is killed with SIGKILL several times, each time
restarted on the same database (SQLite file, or a fresh PostgreSQL database). Afterwards every
case whose 201 the client received must be there: readable with its secret, active, with its
item count and with every hash it sent linked to it; each of those hashes on the feed exactly
once (one `add`, no `remove`); the feed's seqs 1..N without a gap or a repeat; no case id twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from takeitdown.hashing import VpdqHash
from takeitdown.registry.db import normalize_url
from tests.registry.helpers import (
    DatabaseTarget,
    Server,
    cli,
    drop_database,
    make_database,
    rand_hex,
    random_pdq,
    read_all,
    start_server,
    stop_server,
)

KILLS = int(os.environ.get("CRASH_KILLS", "3"))  # CRASH_KILLS=10 for a longer run
THREADS = 6
ENOUGH = 50  # acknowledged cases a run must reach for its checks to mean something
SHARED = [rand_hex(32) for _ in range(20)]  # md5 values several cases send: dedup under crashes


@dataclass
class Acked:
    case_id: str
    secret: str
    items: int
    hashes: set[tuple[str, str]]  # (type, feed value) of what the case sent, all distributable


@dataclass
class Load:
    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[Acked] = field(default_factory=list)
    tried: int = 0
    failed: int = 0  # connection refused/reset, timeouts: the server was down
    cut: int = 0  # of those, requests in flight when the server was killed
    server_errors: int = 0  # 5xx received
    other: list[str] = field(default_factory=list)


def _case(rng: random.Random) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    items, keys = [], set()
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.25:
            n = rng.randint(1, 4)
            frames = [{"i": i, "t": float(i), "q": 80, "pdq": random_pdq(rng)} for i in range(n)]
            items.append({"kind": "video", "hashes": [{"type": "vpdq", "frames": frames}]})
            keys.add(("vpdq", hashlib.sha256(VpdqHash.parse(frames).frames_json().encode()).hexdigest()))
        else:
            pdq, md5 = random_pdq(rng), rng.choice(SHARED) if rng.random() < 0.3 else rand_hex(32)
            items.append({"kind": "image", "hashes": [{"type": "pdq", "value": pdq, "quality": 90},
                                                      {"type": "md5", "value": md5}]})  # fmt: skip
            keys |= {("pdq", pdq), ("md5", md5)}
    return {"items": items}, keys


def _submitter(load: Load, seed: int) -> None:
    rng = random.Random(seed)
    while not load.stop.is_set():
        body, keys = _case(rng)
        with load.lock:
            load.tried += 1
        try:
            r = httpx.post(load.url + "/v1/cases", json=body, timeout=10)
        except httpx.HTTPError as exc:
            with load.lock:
                load.failed += 1
                if not isinstance(exc, httpx.ConnectError):  # sent, then the server died under it
                    load.cut += 1
            time.sleep(0.2)  # the server is down (killed): try again shortly
            continue
        with load.lock:
            if r.status_code == 201 and r.json().get("rejected"):  # every item must be storable
                load.other.append(f"201 with items refused: {r.text[:200]}")
            elif r.status_code == 201:
                out = r.json()
                load.acked.append(Acked(out["case_id"], out["case_secret"], len(body["items"]), keys))
            elif r.status_code >= 500:
                load.server_errors += 1
            else:
                load.other.append(f"{r.status_code} {r.text[:200]}")


def _linked_hashes(database_url: str) -> dict[str, set[tuple[str, str]]]:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c.case_id, e.type, e.value FROM cases c JOIN case_hashes ch ON ch.case_pk = c.id"
                " JOIN entries e ON e.entry_id = ch.entry_id"
            )).all()  # fmt: skip
    finally:
        engine.dispose()
    out: dict[str, set[tuple[str, str]]] = {}
    for case_id, type_, value in rows:
        out.setdefault(case_id, set()).add((type_, value))
    return out


def _kill_and_restart(server: Server, target: DatabaseTarget, logdir: Path) -> Server:
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    return start_server(target, logdir)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkill_under_load_loses_nothing(kind: str, tmp_path: Path) -> None:
    target = make_database(kind, tmp_path)  # skips with a reason when PostgreSQL is unreachable
    server = start_server(target, tmp_path / "run-0")
    load = Load(server.url)
    threads = [threading.Thread(target=_submitter, args=(load, i), daemon=True) for i in range(THREADS)]
    rng = random.Random(1)
    kills = 0
    try:
        for t in threads:
            t.start()
        for n in range(KILLS):
            time.sleep(rng.uniform(1.0, 2.0))
            with load.lock:
                before = len(load.acked)
            server = _kill_and_restart(server, target, tmp_path / f"run-{n + 1}")
            kills += 1
            load.url = server.url
            assert before > 0, "no case was acknowledged before the kill: the load is not running"
        # Some load on the last incarnation too, and enough cases in all to mean something: on a
        # busy shared machine the kills may leave few, so the load runs on until there are.
        time.sleep(1.5)
        deadline = time.monotonic() + 90
        while len(load.acked) <= ENOUGH and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        load.stop.set()
        for t in threads:
            t.join(15)
    try:
        assert not load.other, load.other[:5]
        acked = load.acked
        assert len({a.case_id for a in acked}) == len(acked), "a case id was handed out twice"
        # 1. every acknowledged case is there with its secret, active, with its items
        lost = []
        with server.client() as c:
            for a in acked:
                r = c.get(f"/v1/cases/{a.case_id}", headers={"Authorization": f"Bearer {a.secret}"})
                if r.status_code != 200 or r.json()["status"] != "active" or r.json()["items"] != a.items:
                    lost.append((a.case_id, r.status_code, r.text[:200]))
        # 2. with every hash it sent
        linked = _linked_hashes(target.url)
        missing = [(a.case_id, sorted(a.hashes - linked.get(a.case_id, set()))) for a in acked
                   if not a.hashes <= linked.get(a.case_id, set())]  # fmt: skip
        # 3. on the feed exactly once, and the feed without gaps or repeats
        key = cli("registry", "platform", "add", "crash-check", database_url=target.url).stdout.strip()
        with server.client() as c:
            entries, _ = read_all(c, key, limit=10000)
        seqs = [e["seq"] for e in entries]
        assert seqs == list(range(1, len(seqs) + 1)), "feed seqs have a gap or a repeat"
        adds: dict[tuple[str, str], int] = {}
        for e in entries:
            assert e["op"] == "add", e  # nothing was withdrawn in this test
            adds[(e["type"], e["value"])] = adds.get((e["type"], e["value"]), 0) + 1
        twice = [k for k, n in adds.items() if n != 1]
        wanted = set().union(*(a.hashes for a in acked)) if acked else set()
        not_on_feed = sorted(wanted - set(adds))
        report = {
            "database": kind, "kills": kills, "requests": load.tried, "acknowledged": len(acked),
            "failed_while_down": load.failed, "cut_mid_request": load.cut,
            "server_errors_5xx": load.server_errors, "cases_lost": len(lost),
            "cases_missing_hashes": len(missing), "hashes_not_on_feed": len(not_on_feed),
            "feed_entries": len(entries), "feed_entries_twice": len(twice),
        }  # fmt: skip
        print("crash consistency:", json.dumps(report))
        (tmp_path / "report.json").write_text(json.dumps(report))
        assert kills == KILLS
        assert not lost, lost[:5]
        assert not missing, missing[:5]
        assert not not_on_feed, not_on_feed[:5]
        assert not twice, twice[:5]
        assert load.server_errors == 0, "a 5xx reached a client"
        assert len(acked) > ENOUGH, report
    finally:
        stop_server(server)
        drop_database(target)
