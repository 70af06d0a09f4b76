"""The scan engine seam: the local engine through it, fsspec URLs, bounded in-flight work, and a
detached matcher (what Ray workers get) answering exactly as the node does."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from takeitdown.node.engines import LocalEngine, make_engine
from takeitdown.node.matcher import ItemHashes
from takeitdown.node.scan import Item, ScanSourceError, hash_item, iter_items, scan, source_key
from tests.node.scan_world import findings, make_world, recorded


def _expected_kinds(world_names: list[str]) -> None:
    assert "v-clip.mp4" in world_names and "z-broken.jpg" in world_names


def test_local_engine_scans_and_records_every_item_once(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    _expected_kinds(w.names)
    s = scan(w.folder, w.matcher, engine=LocalEngine(2))
    assert (s.total, s.scanned, s.errors) == (len(w.names), len(w.names), 1)
    rows = recorded(w.store, source_key(w.folder))
    assert set(rows) == set(w.names)
    verdicts = {k: v[1] for k, v in rows.items()}
    # listed PDQs and their edits, the listed MD5, the local block: stopped (held while the entry
    # is unconfirmed, blocked on the platform's own block list); the video: review
    for name in ("p001.jpg", "p002.jpg", "p003.jpg", "p005.jpg", "p007.jpg", "p008.jpg", "e-rot.png"):
        assert verdicts[name] in ("block", "hold"), name
    assert verdicts["e-small.jpg"] != "allow" and verdicts["e-q30.jpg"] != "allow"
    assert verdicts["v-clip.mp4"] in ("review", "hold")  # a video match is never final unreviewed
    assert verdicts["p000.jpg"] == "allow" and verdicts["p004.jpg"] == "allow"
    assert rows["z-broken.jpg"][0] is False and rows["z-broken.jpg"][2]
    refs = {f[0] for f in findings(w.store)}
    assert refs == {n for n, v in verdicts.items() if v in ("block", "hold", "review")}
    # one process and two give the same records
    again = scan(w.folder, w.matcher, engine=LocalEngine(1))
    assert again.scanned == 0 and again.skipped == len(w.names)


def test_fsspec_url_folder_and_manifest_give_the_same_results_as_paths(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    w = make_world(tmp_path, video=False)
    url = w.folder.as_uri()  # file:///... through fsspec, the way s3:// or gs:// would go
    items = list(iter_items(url))
    assert [i.id for i in items] == w.names and all(i.path.startswith("file://") for i in items)
    by_path = {i.id: hash_item(i)[1:] for i in iter_items(w.folder)}
    by_url = {i.id: hash_item(i)[1:] for i in items}
    assert by_url == by_path
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps({"id": "post-1", "path": "hosted/p001.jpg"})
        + "\n"
        + json.dumps({"id": "post-2", "path": (w.folder / "p000.jpg").as_uri()})
        + "\n"
    )
    s = scan(manifest.as_uri(), w.matcher, engine=LocalEngine(1))
    assert (s.total, s.scanned, s.block + s.hold, s.errors) == (2, 2, 1, 0)
    assert recorded(w.store, manifest.as_uri()) == {
        "post-1": (True, "hold", None),
        "post-2": (True, "allow", None),
    }
    with pytest.raises(ScanSourceError, match="no such folder"):
        list(iter_items((tmp_path / "missing").as_uri()))
    with pytest.raises(ScanSourceError, match="no filesystem"):
        list(iter_items("nosuchproto://bucket/x"))
    _, h, err = hash_item(Item("gone", (tmp_path / "gone.jpg").as_uri()))
    assert h is None and err and err.startswith("cannot read the file")


def test_an_id_listed_twice_is_scanned_once(tmp_path: Path) -> None:
    w = make_world(tmp_path, pictures=9, video=False)
    manifest = tmp_path / "dup.jsonl"
    line = json.dumps({"id": "same", "path": str(w.folder / "p001.jpg")})
    manifest.write_text(line + "\n" + line + "\n")
    s = scan(manifest, w.matcher, engine=LocalEngine(1))
    assert s.scanned == 1 and recorded(w.store, source_key(manifest)) == {"same": (True, "hold", None)}


def test_a_big_manifest_is_resumed_a_chunk_at_a_time_with_duplicates_far_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a scan holds of the manifest is bounded by the lookup chunk and the work in flight,
    not by the manifest: done ids are asked of the database a chunk at a time. An id listed again
    much later (after the first was recorded, or while it is in flight) is still scanned once."""
    import takeitdown.node.scan as scan_module

    monkeypatch.setattr(scan_module, "LOOKUP_CHUNK", 3)
    w = make_world(tmp_path, pictures=9, video=False)
    ids = [f"post-{i}" for i in range(12)] + ["post-0", "post-5", "post-11", "post-3"]
    manifest = tmp_path / "big.jsonl"
    manifest.write_text(
        "".join(json.dumps({"id": i, "path": str(w.folder / "p000.jpg")}) + "\n" for i in ids)
    )
    asked: list[int] = []
    lookup = w.store.scan_done_among
    monkeypatch.setattr(
        w.store, "scan_done_among", lambda key, chunk: asked.append(len(chunk)) or lookup(key, chunk)
    )
    s = scan(manifest, w.matcher, engine=LocalEngine(1, chunk=1, in_flight=1), batch=2)
    assert (s.total, s.scanned, s.skipped) == (16, 12, 0)
    assert set(recorded(w.store, source_key(manifest))) == set(ids)
    assert asked and max(asked) <= 3  # never the whole source at once
    again = scan(manifest, w.matcher, engine=LocalEngine(1))
    assert (again.scanned, again.skipped) == (0, 16)


def test_the_local_engine_keeps_a_bounded_number_of_items_in_flight(tmp_path: Path) -> None:
    w = make_world(tmp_path, pictures=9, video=False)
    paths = [str(w.folder / n) for n in w.names]
    pulled = 0
    worst = 0

    def endless() -> Iterator[Item]:
        nonlocal pulled
        while True:
            pulled += 1
            yield Item(str(pulled), paths[pulled % len(paths)])

    engine = LocalEngine(2, chunk=2, in_flight=2)
    for yielded, _ in enumerate(engine.run(endless(), w.matcher), 1):
        worst = max(worst, pulled - yielded)
        if yielded == 40:
            break
    assert worst <= 2 * 2 * 2 + 2  # workers x in_flight chunks x chunk items, plus one chunk


def test_a_detached_matcher_pickles_and_answers_as_the_database_does(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    with pytest.raises(TypeError, match="detached"):
        pickle.dumps(w.matcher)
    twin = pickle.loads(pickle.dumps(w.matcher.detached(), protocol=5))
    assert not hasattr(twin, "store")
    for name in w.names:
        _, h, _ = hash_item(Item(name, str(w.folder / name)))
        if h is not None:
            assert twin.check(ItemHashes.from_json(h)) == w.matcher.check(ItemHashes.from_json(h)), name


def test_unknown_engine_and_stray_address_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(ValueError, match="--engine ray"):
        make_engine("local", ray_address="127.0.0.1:6379")


def test_only_the_ray_modules_import_ray() -> None:
    # Ray is an extra: the node runs (and `--engine local` scans) without it installed.
    src = Path(__file__).resolve().parents[2] / "src" / "takeitdown"
    allowed = {"ray_engine.py", "sharded_inventory.py"}
    importers = sorted(
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name not in allowed and re.search(r"^\s*(import ray|from ray)\b", p.read_text(), re.M)
    )
    assert importers == []
    for name in allowed:
        p = src / "node" / name
        if p.exists():  # and there, only inside functions (lazily)
            assert not re.search(r"^(import ray|from ray)\b", p.read_text(), re.M), name
