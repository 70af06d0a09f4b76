"""The inventory of hosted items' hashes split across Ray actors, against the node's own.

Shown: one shard finds exactly what the node's inventory (`inventory.Inventory`) finds on the
same items (MD5, PDQ, a PDQ in a video's frames, vPDQ); it saves and loads; on a real Ray
cluster, entries matched on 3 shards at once give the hits one shard gives, and at 30,000
items the hits brute force gives; the shards persist and reload; a `ReviewDesk` over the
sharded inventory puts the hits on the review queue as source "retro", with no file read (the
files are deleted first).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from takeitdown.node.inventory import Inventory, InventoryItem, RetroHit
from takeitdown.node.scan import hash_item, iter_items, source_key
from takeitdown.node.sharded_inventory import InventoryShard, shard_of
from takeitdown.node.store import Change, Entry
from tests.node.scan_world import World, make_world


def _hosted(w: World) -> list[InventoryItem]:
    out = []
    for it in iter_items(w.folder):
        _, h, _ = hash_item(it)
        if h is not None:
            out.append(InventoryItem.from_hashes(source_key(w.folder), it.id, h))
    return out


def _entries(w: World) -> list[Entry]:
    return [e for kind in ("md5", "pdq", "vpdq") for batch in w.store.iter_entries(kind) for e in batch]


def _keys(hits: list[RetroHit]) -> list[tuple]:
    return sorted((h.ref, h.entry_id, h.type, h.distance, h.md5, h.pdq, h.source) for h in hits)


def test_a_shard_finds_what_the_node_inventory_finds(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    hosted = _hosted(w)
    node_inventory = Inventory(w.store.db)
    node_inventory.add_items(hosted)
    shard = InventoryShard()
    assert shard.add_items(hosted) == len(hosted) == len(w.names) - 1  # the broken file has no hashes
    entries = _entries(w)
    hits = shard.match_entries(entries)
    assert _keys(hits) == _keys(node_inventory.match_entries(entries))
    assert {h.type for h in hits} == {"md5", "pdq", "vpdq"}
    # save and load: the same hits; more items after loading are found too
    shard.save(tmp_path / "inv.npz")
    again = InventoryShard.load(tmp_path / "inv.npz")
    assert len(again) == len(shard) and again.match_entries(entries) == hits
    p3 = next(it for it in hosted if it.ref == "p003.jpg")
    again.add_items([InventoryItem("other", "copy-of-3", p3.md5, p3.pdq)])
    assert {h.ref for h in again.match_entries(entries)} == {h.ref for h in hits} | {"copy-of-3"}
    # entries matching nothing hosted, and a window hash (a crop), find nothing
    nothing = [Entry(99, "pdq", "f" * 64, 100), Entry(98, "md5", "0" * 32), Entry(97, "pdq80", p3.pdq[0])]
    assert shard.match_entries(nothing) == []


def test_index_export_is_every_live_code_once() -> None:
    from takeitdown.node.index import PdqIndex

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, size=(500, 32), dtype=np.uint8)
    ix = PdqIndex()
    ix.build(codes[:400], np.arange(400))
    for i in range(400, 500):
        ix.add(i, codes[i].view(np.uint64))
    ix.remove(7, codes[7].view(np.uint64))  # in the segment
    ix.remove(450, codes[450].view(np.uint64))  # in the buffer
    got, labels = ix.export()
    want = {(i, codes[i].tobytes()) for i in range(500) if i not in (7, 450)}
    assert {(int(lab), c.tobytes()) for lab, c in zip(labels, got, strict=True)} == want
    assert len(got) == len(ix) == 498


def test_shard_of_is_stable_and_spreads() -> None:
    assert shard_of("post-1", 7) == shard_of("post-1", 7)
    counts = np.bincount([shard_of(f"item-{i}", 4) for i in range(4000)], minlength=4)
    assert counts.min() > 900


@pytest.mark.slow
def test_sharded_retro_match_on_ray_equals_one_shard_persists_and_feeds_review(
    ray_cluster: str, tmp_path: Path
) -> None:
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.console import ReviewDesk
    from takeitdown.node.events import EventOutbox
    from takeitdown.node.sharded_inventory import ShardedInventory

    w = make_world(tmp_path)
    hosted = _hosted(w)
    one = InventoryShard()
    one.add_items(hosted)
    entries = _entries(w)
    inv = ShardedInventory(3, tmp_path / "shards", cpus=0.5)
    try:
        assert inv.add_items(hosted) == len(hosted)
        sizes = inv.sizes()
        assert sum(n for n, _ in sizes) == len(hosted) and all(n for n, _ in sizes)  # spread over all 3
        hits = inv.match_entries(entries)
        assert hits == one.match_entries(entries) and hits
        inv.save()
    finally:
        inv.close()
    shutil.rmtree(w.folder)  # the files are gone: retro-matching reads no file
    reopened = ShardedInventory(3, tmp_path / "shards", cpus=0.5)
    try:
        assert len(reopened) == len(hosted)
        assert reopened.match_entries(entries) == hits
        with pytest.raises(ValueError, match="another split"):
            ShardedInventory(2, tmp_path / "shards")
        desk = ReviewDesk(w.store, AuditLog(w.store.db), EventOutbox(w.store.db), reopened)  # type: ignore[arg-type]
        made = desk.retro([Change("add", e) for e in entries])
    finally:
        reopened.close()
    retro = [i for i in w.store.list_review("all") if i["source"] == "retro"]
    assert made and len(retro) == len(made)
    matched = [m for i in retro for m in i["matches"]]
    for h in hits:
        assert h.match_json() in matched


@pytest.mark.slow
def test_sharded_bulk_inventory_is_exact_against_brute_force(ray_cluster: str) -> None:
    from takeitdown.node.sharded_inventory import ShardedInventory

    rng = np.random.default_rng(5)
    n = 30_000
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    refs = [f"item-{i}" for i in range(n)]
    queries = rng.integers(0, 256, size=(60, 32), dtype=np.uint8)
    for k in range(30):  # half are near copies of hosted items (1 to 31 bits flipped)
        row = codes[rng.integers(n)].copy()
        for b in rng.choice(256, size=int(rng.integers(1, 32)), replace=False):
            row[b // 8] ^= np.uint8(1 << (b % 8))
        queries[k] = row
    entries = [Entry(1000 + k, "pdq", q.tobytes().hex(), 100) for k, q in enumerate(queries)]
    inv = ShardedInventory(2, cpus=0.5)
    try:
        inv.add_codes(refs, codes)
        hits = inv.match_entries(entries)
    finally:
        inv.close()
    bits = np.unpackbits(codes, axis=1)
    expected = set()
    for k, q in enumerate(queries):
        d = (bits != np.unpackbits(q)).sum(axis=1)
        expected |= {(refs[i], 1000 + k, "pdq", int(d[i])) for i in np.flatnonzero(d <= 31)}
    assert {(h.ref, h.entry_id, h.type, h.distance) for h in hits} == expected and len(expected) >= 30
