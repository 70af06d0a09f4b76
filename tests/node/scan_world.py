"""A small hosted collection and a node list that matches part of it, for the scan-engine tests.

Generated, not downloaded: blocky random pictures (PDQ quality well above 50), edits of some
(resized, recompressed, rotated), a short generated video, an unreadable file. The node's list
holds the PDQ of some pictures, the MD5 of one, the vPDQ of the video, and a local block (a
reviewer removed one), so every lookup a match makes is exercised.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from takeitdown.hashing import hash_file
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.store import NodeStore


@dataclass
class World:
    store: NodeStore
    matcher: Matcher
    folder: Path
    names: list[str]


def picture(seed: int, size: int = 96) -> Image.Image:
    """Noise with a natural photo's spectrum (amplitude falling as 1/f^2): structure at every
    scale, so its PDQ survives resizing and recompression as a photo's does (flat or blocky
    synthetic pictures do not)."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    f[0, 0] = 1
    channels = []
    for _ in range(3):
        spec = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / f
        x = np.real(np.fft.ifft2(spec))
        channels.append((x - x.min()) / (x.max() - x.min()) * 255)
    return Image.fromarray(np.stack(channels, -1).astype(np.uint8))


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def write_video(path: Path, seed: int, frames: int = 12) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(frames):
            arr = np.asarray(picture(seed + i // 4, 64))
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _feed_add(eid: int, kind: str, value: str, **kw: object) -> dict:
    return {"seq": eid, "op": "add", "type": kind, "value": value, "entry_id": eid, **kw}


def make_world(tmp_path: Path, pictures: int = 10, video: bool = True) -> World:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    folder = tmp_path / "hosted"
    folder.mkdir()
    for i in range(pictures):
        (folder / f"p{i:03d}.jpg").write_bytes(jpeg(picture(i)))
    # edits of listed pictures: found again (resize, recompression, a rotation)
    (folder / "e-small.jpg").write_bytes(jpeg(picture(1).resize((48, 48))))
    (folder / "e-q30.jpg").write_bytes(jpeg(picture(2), 30))
    picture(3).rotate(90).save(folder / "e-rot.png")
    (folder / "z-broken.jpg").write_bytes(b"\xff\xd8\xffnot an image")
    if video:
        write_video(folder / "v-clip.mp4", 100)
    page = []
    eid = 0
    for i in (1, 2, 3, 5):
        h = hash_file(folder / f"p{i:03d}.jpg")
        eid += 1
        page.append(_feed_add(eid, "pdq", h.pdq.value, quality=h.pdq.quality))
    eid += 1
    page.append(_feed_add(eid, "md5", hash_file(folder / "p007.jpg").md5.value))
    if video:
        v = hash_file(folder / "v-clip.mp4")
        eid += 1
        page.append(_feed_add(eid, "vpdq", "d" * 64, frames=v.vpdq.to_json()["frames"]))
    m = Matcher(store)
    m.apply(store.apply_page(page, eid))
    # a reviewer removed picture 8 earlier (uploaded, matched nothing listed): a local block
    h8 = hash_file(folder / "p008.jpg")
    rid = store.add_review("upload", "old-upload", h8.md5.value, h8.pdq.value, [])
    _, blocks = store.decide(rid, "remove")
    m.add_blocks(blocks)
    names = sorted(p.name for p in folder.iterdir())
    return World(store, m, folder, names)


def recorded(store: NodeStore, source: str) -> dict[str, tuple[bool, str | None, str | None]]:
    from sqlalchemy import select

    from takeitdown.node.schema import scan_results

    with store.db.read() as conn:
        rows = conn.execute(select(scan_results).where(scan_results.c.source == source)).all()
    out: dict[str, tuple[bool, str | None, str | None]] = {}
    for r in rows:
        assert r.item_id not in out, f"{r.item_id} recorded twice"
        out[r.item_id] = (bool(r.ok), r.verdict, r.error)
    return out


def findings(store: NodeStore) -> list[tuple[str, str | None, str | None, list]]:
    return sorted(
        (i["ref"], i["md5"], i["pdq"], i["matches"])
        for i in store.list_review("all")
        if i["source"] == "scan"
    )
