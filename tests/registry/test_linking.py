"""The linking attack on the publication: a platform polling the feed after every submission
tries to group one case's hashes by neighbouring seqs and by arriving together.

Batched publication must bring both signals down to the batch (random order, random ids),
while the feed stays gap-free; published at once (the old way) both give a case away.
bench/linking.py measures the same at a larger size.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from takeitdown.registry.db import Database
from takeitdown.registry.store import Store
from takeitdown.registry.validation import parse_items
from tests.registry.helpers import DatabaseTarget, drop_database, make_database

CASES, PER_CASE, PER_BATCH = 60, 4, 20


def attack(store: Store, per_batch: int | None) -> tuple[float, float, list[dict[str, Any]]]:
    owner: dict[str, int] = {}
    appeared: dict[str, int] = {}
    after = store.last_seq()
    seen: list[dict[str, Any]] = []
    for n in range(CASES):
        values = [secrets.token_hex(16) for _ in range(PER_CASE)]
        owner.update((v, n) for v in values)
        store.create_cases([parse_items([("image", [{"type": "md5", "value": v} for v in values])])])
        if per_batch is not None and (n + 1) % per_batch == 0:
            store.publish_pending()
        lines, after, _ = store.read_feed(after, 100_000)
        for line in lines:
            e = json.loads(line)
            appeared[e["value"]] = n
            seen.append(e)
    pairs = list(zip(seen, seen[1:], strict=False))
    seq_precision = sum(owner[a["value"]] == owner[b["value"]] for a, b in pairs) / len(pairs)
    groups: dict[int, list[str]] = {}
    for value, when in appeared.items():
        groups.setdefault(when, []).append(value)
    together = [owner[a] == owner[b] for g in groups.values() for a, b in combinations(g, 2)]
    return seq_precision, sum(together) / len(together), seen


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseTarget]:
    # A database of its own: no server's publisher may cut the batches short.
    target = make_database(request.param, tmp_path)
    yield target
    drop_database(target)


def test_batched_publication_unlinks_a_case(fresh: DatabaseTarget) -> None:
    db = Database(fresh.url)
    db.migrate()
    try:
        at_once = Store(db, publish_at_once=True)
        batched = Store(db)
        before_seq, before_poll, _ = attack(at_once, None)
        after_seq, after_poll, seen = attack(batched, PER_BATCH)
    finally:
        db.dispose()
    # Published at once: neighbours and poll groups are the case itself.
    assert before_seq > 0.7 and before_poll == 1.0
    # Batched: no better than picking within a batch of 20 cases (chance there: 3/79 = 0.04).
    assert after_seq < 0.15 and after_poll < 0.1, (after_seq, after_poll)
    # ... and still every seq once, in order, with no gap.
    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(seqs[0], seqs[0] + CASES * PER_CASE))
    ids = [e["entry_id"] for e in seen]
    assert len(set(ids)) == len(ids) and max(ids) > 2**50
