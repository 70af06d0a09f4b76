"""Inventory benchmark: memory an item takes in the node's inventory index, at 1M and 10M items.

    .venv/bin/python bench/inventory.py            # 1M and 10M hosted photos
    .venv/bin/python bench/inventory.py --quick    # 100k and 1M (seconds, for a shared machine)

The inventory (node/inventory.py) keeps in memory one exact PdqIndex labelled with the item's
row id, with each photo's as-stored PDQ; MD5s, refs and the other hashes stay in the database
(indexed), so they cost the node no memory. Printed: the index's own bytes per item (its arrays),
the process's peak RSS growth per item as a cross-check, build CPU seconds, and the CPU time of
matching 1,000 new entries (half planted near copies) against it, with the share of planted
copies found (it must be 1.0: the index is exact). Baseline: a flat array of the 32-byte codes
plus 8-byte labels (40 B an item), the least a list of hashes can take without compression.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from takeitdown.node.index import PdqIndex, warm_up  # noqa: E402

FLAT = 40  # bytes an item: 32-byte code + 8-byte label


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int, queries: int = 1000, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    labels = np.arange(1, n + 1, dtype=np.int64)
    before = rss_mb()
    cpu = time.process_time()
    index = PdqIndex(threshold=31)  # labelled: the inventory's row id
    index.build(codes, labels)
    build_cpu = time.process_time() - cpu
    grown = max(0.0, rss_mb() - before) * 2**20
    planted = rng.choice(n, size=queries // 2, replace=False)
    q = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    for j, row in enumerate(planted):
        c = codes[row].copy()
        bits = rng.choice(256, size=int(rng.integers(1, 32)), replace=False)
        for b in bits:
            c[b // 8] ^= 1 << (b % 8)
        q[j] = c
    cpu = time.process_time()
    res = index.search(q)
    match_cpu = time.process_time() - cpu
    found = sum(int(planted[j] + 1) in {int(lab) for lab, _ in res[j]} for j in range(len(planted)))
    per = index.nbytes / n
    print(
        f"{n:>11,} items: index {per:5.1f} B/item ({per / FLAT:.2f}x the flat 40 B baseline), "
        f"peak RSS growth {grown / n:5.1f} B/item, build {build_cpu:6.1f} CPU s, "
        f"1,000 new entries matched in {match_cpu * 1000:7.1f} CPU ms, "
        f"planted copies found {found / len(planted):.3f}"
    )
    del index, codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100k and 1M items instead of 1M and 10M")
    ap.add_argument("--sizes", type=int, nargs="*")
    args = ap.parse_args()
    warm_up()  # compile the search kernels first: their memory and time are not the inventory's
    sizes = args.sizes or ([100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000])
    for n in sizes:
        run(n)


if __name__ == "__main__":
    main()
