"""The node's parts on their own: store (feed pages), matcher (policy, rotations, vPDQ), scan, CLI."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from takeitdown.hashing import Md5Hash, PdqHash, VpdqHash, hash_file
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher, Policy
from takeitdown.node.scan import scan
from takeitdown.node.store import NodeStore
from tests.node.helpers import conformance


def _store(tmp_path: Path) -> NodeStore:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    return NodeStore(db)


def _pdq(v: int) -> str:
    return f"{v:064x}"


def _add(eid: int, kind: str, value: str, seq: int, **kw: object) -> dict:
    out = {
        "seq": seq,
        "op": "add",
        "type": kind,
        "value": value,
        "quality": kw.get("quality"),
        "entry_id": eid,
        "frames": kw.get("frames"),
    }
    if "trust" in kw:
        out["trust"] = kw["trust"]
    return out


def _rm(eid: int, kind: str, value: str, seq: int) -> dict:
    return {
        "seq": seq,
        "op": "remove",
        "type": kind,
        "value": value,
        "quality": None,
        "entry_id": eid,
        "frames": None,
    }


def test_feed_items_without_an_entry_id_are_skipped_not_stalling(tmp_path: Path) -> None:
    # A page the node cannot fully read must not stop it for good: every item it can apply
    # applies, the cursor moves past the page, and the rest is skipped.
    store = _store(tmp_path)
    page = [
        "not an object",
        {"seq": 1, "op": "add", "type": "pdq", "value": _pdq(9)},  # no entry_id
        {**_add(0, "md5", "e" * 32, 2), "entry_id": "abc"},
        {**_add(0, "md5", "e" * 32, 3), "entry_id": True},
        {**_add(0, "md5", "e" * 32, 4), "entry_id": 2**70},
        _add(6, "md5", "f" * 32, 5),
    ]
    changes = store.apply_page(page, 5)
    assert [(c.op, c.entry.entry_id, c.entry.value) for c in changes] == [("add", 6, "f" * 32)]
    assert store.cursor() == 5


def test_feed_pages_apply_net_changes_and_move_cursor(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.cursor() == 0
    page = [
        _add(1, "pdq", _pdq(1), 1, quality=90),
        _add(2, "md5", "a" * 32, 2),
        _add(3, "pdq", _pdq(3), 3),
        _rm(3, "pdq", _pdq(3), 4),
        _add(4, "pdq", "not-hex", 5),
        _add(5, "sha256", "b" * 64, 6),
    ]
    changes = store.apply_page(page, 6)
    assert [(c.op, c.entry.entry_id) for c in changes] == [("add", 1), ("add", 2)]
    assert store.cursor() == 6
    assert store.apply_page(page, 6) == []  # a page read twice changes nothing
    changes = store.apply_page([_rm(1, "pdq", _pdq(1), 7), _add(1, "pdq", _pdq(1), 8, quality=90)], 8)
    assert changes == []  # removed and re-added within a page: net nothing
    changes = store.apply_page([_rm(2, "md5", "a" * 32, 9)], 9)
    assert [(c.op, c.entry.type) for c in changes] == [("remove", "md5")]
    assert store.entry_ids() == {(1, "pdq", _pdq(1))}
    assert store.cursor() == 9


def test_policy_thresholds_and_md5(tmp_path: Path) -> None:
    store = _store(tmp_path)
    base = 0xABCDEF1234567890 << 100
    # thresholds on confirmed entries, near matches posted and reviewed: block / review / allow
    m = Matcher(store, Policy(on_near="review"))
    page = [
        _add(10, "pdq", _pdq(base), 1, quality=100, trust="confirmed"),
        _add(11, "md5", "c" * 32, 2, trust="confirmed"),
    ]
    m.apply(store.apply_page(page, 2))

    def flipped(k: int) -> PdqHash:
        v = base
        for b in range(k):
            v ^= 1 << (b * 5)
        return PdqHash(_pdq(v), 100)

    assert m.check_hashes([flipped(10)]).verdict == "block"
    assert m.check_hashes([flipped(11)]).verdict == "review"
    assert m.check_hashes([flipped(31)]).verdict == "review"
    assert m.check_hashes([flipped(32)]).verdict == "allow"
    assert m.check_hashes([PdqHash(_pdq(base), 20)]).verdict == "allow"  # low quality: no PDQ match
    v = m.check_hashes([Md5Hash("c" * 32)])
    assert (
        v.verdict == "block"
        and v.final
        and v.to_json()["matches"][0]
        == {
            "entry_id": 11,
            "type": "md5",
            "distance": 0,
            "source": "registry",
            "trust": "confirmed",
        }
    )
    strict = Matcher(store, Policy(block_distance=0, review_distance=20, on_near="review"))
    strict.load()
    assert strict.check_hashes([flipped(5)]).verdict == "review"
    assert strict.check_hashes([flipped(21)]).verdict == "allow"
    with pytest.raises(ValueError):
        Policy(block_distance=20, review_distance=10)


def test_rotated_and_flipped_files_match_the_original(tmp_path: Path) -> None:
    store = _store(tmp_path)
    orig = hash_file(conformance("pdq/reg-test-input/dih/bridge-1-original.jpg"))
    m = Matcher(store)
    m.apply(store.apply_page([_add(1, "pdq", orig.pdq.value, 1, quality=orig.pdq.quality)], 1))
    dih = conformance("pdq/reg-test-input/dih")
    for p in sorted(dih.glob("*.jpg")):
        v = m.check_file(p)  # a strong match to an unconfirmed entry: held for a reviewer
        assert v.verdict == "hold" and not v.final, (p.name, v.to_json())
        assert m.check_file(p.read_bytes()).verdict == "hold"
    # only the original orientation: a rotation is far away
    assert orig.pdq.distance(hash_file(dih / "bridge-2-rotate-90.jpg").pdq) > 31  # type: ignore[union-attr]


def _vpdq_file(name: str) -> VpdqHash:
    frames = []
    for line in conformance(f"vpdq/hashes/{name}.txt").read_text().splitlines():
        i, q, h, t = line.split(",")
        frames.append({"i": int(i), "t": float(t), "q": int(q), "pdq": h})
    return VpdqHash.parse(frames)


def test_vpdq_through_the_frame_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    target = _vpdq_file("chair-19-sd-bar")
    m = Matcher(store)
    m.apply(store.apply_page([_add(7, "vpdq", "d" * 64, 1, frames=target.to_json()["frames"])], 1))
    assert m.size()["vpdq_frames"] > 0
    same = m.check_hashes([_vpdq_file("chair-20-sd-bar")])
    assert same.verdict == "hold" and same.matches[0].entry_id == 7 and same.matches[0].type == "vpdq"
    assert m.check_hashes([_vpdq_file("doorknob-hd-no-bar")]).verdict == "allow"
    m.apply(store.apply_page([_rm(7, "vpdq", "d" * 64, 2)], 2))
    assert m.size()["vpdq_frames"] == 0
    assert m.check_hashes([_vpdq_file("chair-20-sd-bar")]).verdict == "allow"


def test_scan_folder_resumes_and_sends_findings_to_review(tmp_path: Path) -> None:
    store = _store(tmp_path)
    orig = conformance("pdq/bridge-mods/aaa-orig.jpg")
    h = hash_file(orig)
    m = Matcher(store)
    m.apply(
        store.apply_page(
            [_add(1, "pdq", h.pdq.value, 1, quality=h.pdq.quality), _add(2, "md5", h.md5.value, 2)], 2
        )
    )
    folder = tmp_path / "hosted"
    folder.mkdir()
    shutil.copy(orig, folder / "a-same.jpg")
    img = Image.open(orig).convert("RGB")
    img.resize((img.width // 3, img.height // 3)).save(folder / "b-small.jpg", quality=70)
    shutil.copy(conformance("pdq/reg-test-input/labelme-subset/q0003.jpg"), folder / "c-other.jpg")
    (folder / "d-broken.jpg").write_bytes(b"\xff\xd8\xffnot an image")
    s = scan(folder, m, workers=1)
    assert (s.total, s.scanned, s.skipped, s.errors, s.hold) == (4, 4, 0, 1, 2)
    items = store.list_review()
    assert sorted(i["ref"] for i in items) == ["a-same.jpg", "b-small.jpg"]
    assert all(i["source"] == "scan" and i["matches"] for i in items)
    # a second run resumes: only the new file is hashed
    buf = io.BytesIO()
    img.rotate(180).save(buf, "JPEG", quality=85)
    (folder / "e-rotated.jpg").write_bytes(buf.getvalue())
    s = scan(folder, m, workers=2)
    assert (s.total, s.scanned, s.skipped, s.hold) == (5, 1, 4, 1)
    # a JSONL manifest of {"id", "path"}
    manifest = tmp_path / "items.jsonl"
    manifest.write_text(
        '{"id": "post-1", "path": "hosted/a-same.jpg"}\n\n{"id": "post-2", "path": "hosted/c-other.jpg"}\n'
    )
    s = scan(manifest, m, workers=1)
    assert (s.total, s.scanned, s.hold) == (2, 2, 1)
    # post-1 is a-same.jpg again: it joins that open item (one decision settles both refs)
    joined = [i for i in store.list_review() if "post-1" in i["refs"]]
    assert len(joined) == 1 and joined[0]["refs"] == ["a-same.jpg", "post-1"], joined


def test_an_item_id_too_long_to_store_is_an_error_and_the_scan_goes_on(tmp_path: Path) -> None:
    # Before: inventory.add_items raised ValueError for the whole batch, and again on every resume.
    from takeitdown.node.inventory import Inventory

    store = _store(tmp_path)
    inventory = Inventory(store.db)
    orig = conformance("pdq/bridge-mods/aaa-orig.jpg")
    long_id = "post-" + "9" * 1100
    manifest = tmp_path / "items.jsonl"
    manifest.write_text(f'{{"id": "{long_id}", "path": "{orig}"}}\n{{"id": "post-1", "path": "{orig}"}}\n')
    s = scan(manifest, Matcher(store), workers=1, inventory=inventory)
    assert (s.total, s.scanned, s.errors) == (2, 2, 1)
    assert inventory.count() == 1  # post-1 is kept; the long one is not cut to fit
    again = scan(manifest, Matcher(store), workers=1, inventory=inventory)  # a resume: nothing to do
    assert (again.total, again.skipped, again.scanned, again.errors) == (2, 2, 0, 0)
    with store.db.read() as conn:
        from sqlalchemy import text

        errors = conn.execute(text("SELECT item_id, error FROM node_scan_results WHERE ok = 0")).all()
    assert len(errors) == 1 and errors[0][0].startswith("sha256:") and "1024" in errors[0][1]


def test_serve_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAKEITDOWN_")}
    cmd = [sys.executable, "-m", "takeitdown.cli", "node", "serve", "--registry", "http://127.0.0.1:9"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1 and "TAKEITDOWN_NODE_ADMIN_TOKEN" in r.stderr and "Traceback" not in r.stderr
    env["TAKEITDOWN_NODE_ADMIN_TOKEN"] = "x" * 32
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1 and "TAKEITDOWN_NODE_API_KEY" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "takeitdown.cli",
            "node",
            "scan",
            str(tmp_path / "nope"),
            "--database-url",
            f"sqlite:///{tmp_path / 'n.db'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "no such folder" in r.stderr and "Traceback" not in r.stderr
