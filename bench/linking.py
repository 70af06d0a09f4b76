"""The linking attack: can a platform group one case's hashes from the feed alone?

A platform reads the feed as often as it likes and tries to tell which hashes came in one case
(to link a person's images, or to time a submission) by three signals: neighbouring `seq`s,
neighbouring `entry_id`s, and arriving in the same poll. For each signal this prints the pair
precision: of the hash pairs the signal puts together, the share that really are one case's
(1.0 = the attack works perfectly; chance = (k-1)/(n-1)).

Before: each submission published in its own transaction (TAKEITDOWN_PUBLISH_INTERVAL=0, which
is how the registry worked before batching; its entry ids were then a counter in insertion
order, so the entry-id signal was the seq signal). After: batched publication (as by the
publisher every interval) with random order and random 63-bit ids.

    python bench/linking.py                           # 400 cases of 4 hashes, 25 a batch
    python bench/linking.py --cases 1000 --per-batch 50
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import tempfile
from itertools import combinations
from pathlib import Path

from takeitdown.protocol import Md5Hash
from takeitdown.registry import store as store_module
from takeitdown.registry.db import Database
from takeitdown.registry.store import Store
from takeitdown.registry.validation import parse_items


def attack(store: Store, cases: int, per_case: int, per_batch: int | None) -> dict[str, float]:
    owner: dict[str, int] = {}
    appeared: dict[str, int] = {}
    after = store.last_seq()
    seen: list[dict[str, object]] = []
    for n in range(cases):
        values = [secrets.token_hex(16) for _ in range(per_case)]
        owner.update((v, n) for v in values)
        store.create_cases([parse_items([("image", [Md5Hash(v).to_json() for v in values])])])
        if per_batch is not None and (n + 1) % per_batch == 0:
            store.publish_pending()
        # the platform polls after every submission: the finest time it can have
        lines, after, _ = store.read_feed(after, 100_000)
        for line in lines:
            e = json.loads(line)
            appeared[e["value"]] = n
            seen.append(e)
    store.publish_pending()
    lines, after, _ = store.read_feed(after, 100_000)
    seen.extend(json.loads(line) for line in lines)
    for e in seen:
        appeared.setdefault(str(e["value"]), cases)

    def adjacency(key: str) -> float:
        ordered = sorted(seen, key=lambda e: int(e[key]))  # type: ignore[call-overload]
        pairs = list(zip(ordered, ordered[1:], strict=False))
        return sum(owner[str(a["value"])] == owner[str(b["value"])] for a, b in pairs) / len(pairs)

    groups: dict[int, list[str]] = {}
    for value, when in appeared.items():
        groups.setdefault(when, []).append(value)
    same = total = 0
    for members in groups.values():
        for a, b in combinations(members, 2):
            total += 1
            same += owner[a] == owner[b]
    return {
        "seq": adjacency("seq"),
        "entry_id": adjacency("entry_id"),
        "same poll": same / total if total else 0.0,
        "chance": (per_case - 1) / (len(seen) - 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--per-case", type=int, default=4)
    ap.add_argument("--per-batch", type=int, default=25, help="cases arriving in one publish interval")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        random_ids = store_module.new_entry_id
        for name, at_once, batch in (("before", True, None), ("after", False, args.per_batch)):
            db = Database(f"sqlite:///{Path(tmp) / (name + '.db')}")
            db.migrate()
            # before: entry ids from a counter, in insertion order, as the old registry gave them
            store_module.new_entry_id = itertools.count(1).__next__ if at_once else random_ids
            results[name] = attack(Store(db, publish_at_once=at_once), args.cases, args.per_case, batch)
            db.dispose()
        store_module.new_entry_id = random_ids
    print(f"{args.cases} cases of {args.per_case} hashes; after: {args.per_batch} cases a batch")
    print(f"{'signal':<10} {'before':>8} {'after':>8} {'chance':>8}   (pair precision)")
    for signal in ("seq", "entry_id", "same poll"):
        print(
            f"{signal:<10} {results['before'][signal]:>8.3f} {results['after'][signal]:>8.3f} "
            f"{results['after']['chance']:>8.4f}"
        )


if __name__ == "__main__":
    main()
