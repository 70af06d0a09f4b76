"""Any valid feed applies in bounded memory: the 36,000-frame vPDQ flood, served with no byte cap.

The attack (issue 11): 59 cases with one 36,000-frame vPDQ each made a 215 MB page; a fresh node
needed 2.35 GB to apply it and never got past it under a 2.5 GB limit. Here a smaller flood (20
such entries, a 72 MB page) from a loopback feed; the node's Syncer runs in a subprocess that
reports its peak RSS and its RSS once synced (the index it keeps), as bench/sync_flood.py does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.node.feed_server import FloodFeed

ROOT = Path(__file__).resolve().parents[2]


def _bench_module(name: str):  # type: ignore[no-untyped-def]
    """A bench script loaded by path: putting bench/ on sys.path would let bench/threatexchange.py
    shadow the threatexchange library for every test collected after this one."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _bench_module("sync_flood").run

pytestmark = pytest.mark.slow


def test_a_flood_of_huge_vpdq_entries_applies_in_bounded_memory() -> None:
    with FloodFeed(entries=20) as feed:
        whole = len(feed.page(0, 20))
        assert whole > 60 * 2**20  # one page of everything, if a node asks for it
        r = run(ROOT / "src", feed.url, deadline=600)
        limits = [limit for _after, limit in feed.requests]
    assert r["entries"] == 20 and r["cursor"] == 20 and r["frames"] == 20 * 36_000
    # the node gave the 1000-entry page up and asked for fewer, never reading one whole
    assert limits[0] == 1000 and min(limits) < 8
    above = r["peak_mb"] - r["index_mb"]
    print(f"flood of 20: peak {r['peak_mb']:.0f} MB, kept {r['index_mb']:.0f} MB, above {above:.0f} MB")
    # the old node held the whole page parsed several times over (~ 6 x 72 MB above its index)
    assert above < 150, r
