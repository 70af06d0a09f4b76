"""The inventory of hosted items' hashes: one exact shard, and shards on Ray actors.

Shown: a shard finds exactly the items a scan would find with the entries on the list (MD5, PDQ
in every orientation, vPDQ); it saves and loads; on a real Ray cluster, entries matched against
3 shards at once give the hits one shard gives, at thousands of items against brute force too;
the shards persist and reload; hits go to the review queue as source "retro" with no file read
(the files are deleted first).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from takeitdown.node.matcher import ItemHashes
from takeitdown.node.scan import hash_item, iter_items
from takeitdown.node.sharded_inventory import InventoryShard, RetroHit, record_hits, shard_of
from takeitdown.node.store import Entry
from tests.node.scan_world import World, make_world


def _hosted(w: World) -> list[tuple[str, ItemHashes]]:
    out = []
    for it in iter_items(w.folder):
        _, h, _ = hash_item(it)
        if h is not None:
            out.append((it.id, ItemHashes.from_json(h)))
    return out


def _entries(w: World) -> list[Entry]:
    return [e for kind in ("md5", "pdq", "vpdq") for batch in w.store.iter_entries(kind) for e in batch]


def _what_a_scan_finds(w: World, hosted: list[tuple[str, ItemHashes]]) -> set[tuple[str, int, str, int]]:
    found = set()
    for ref, h in hosted:
        for m in w.matcher.check(h).matches:
            if m.source == "registry" and m.entry_id is not None:
                found.add((ref, m.entry_id, m.type, m.distance))
    return found


def _keys(hits: list[RetroHit]) -> set[tuple[str, int, str, int]]:
    return {(h.ref, h.entry_id, h.type, h.distance) for h in hits}


def test_a_shard_finds_what_a_scan_with_the_entries_listed_finds(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    hosted = _hosted(w)
    shard = InventoryShard()
    assert shard.add_items(hosted) == len(hosted) == len(w.names) - 1  # the broken file has no hashes
    hits = shard.match_entries(_entries(w))
    expected = _what_a_scan_finds(w, hosted)
    assert _keys(hits) == expected
    assert {t for _, _, t, _ in expected} == {"md5", "pdq", "vpdq"}
    rotated = [h for h in hits if h.ref == "e-rot.png"]
    assert rotated and rotated[0].pdq == dict(hosted)["e-rot.png"].pdq[0].value  # the item's own hash
    # save and load: the same hits; more items after loading are found too
    shard.save(tmp_path / "inv.npz")
    again = InventoryShard.load(tmp_path / "inv.npz")
    assert len(again) == len(shard) and again.match_entries(_entries(w)) == hits
    p3 = dict(hosted)["p003.jpg"]
    again.add_items([("copy-of-3", p3)])
    assert {h.ref for h in again.match_entries(_entries(w))} == {h.ref for h in hits} | {"copy-of-3"}
    # an entry matching nothing hosted finds nothing
    assert shard.match_entries([Entry(99, "pdq", "f" * 64, 100), Entry(98, "md5", "0" * 32)]) == []


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
    # the files are gone now: retro-matching reads no file
    shutil.rmtree(w.folder)
    reopened = ShardedInventory(3, tmp_path / "shards", cpus=0.5)
    try:
        assert len(reopened) == len(hosted)
        assert reopened.match_entries(entries) == hits
        with pytest.raises(ValueError, match="another split"):
            ShardedInventory(2, tmp_path / "shards")
        n = record_hits(w.store, hits)
    finally:
        reopened.close()
    retro = [i for i in w.store.list_review("all") if i["source"] == "retro"]
    assert n == len(retro) == len({h.ref for h in hits})
    by_ref = {i["ref"]: i for i in retro}
    for h in hits:
        assert h.match_json() in by_ref[h.ref]["matches"]


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
    assert _keys(hits) == expected and len(expected) >= 30
