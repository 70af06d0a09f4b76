"""The node's CPU per photo upload, window search included, at 10M listed images (issue 17).

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/window_cost.py               # 10M listed
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/window_cost.py --listed 1000000

A node whose three PDQ indexes (whole image, `pdq80`, `pdq70` windows) hold --listed entries
each: the hashes of the listed photos (the first --photos distinct pictures of
bench/photoset.py) and random 256-bit codes for the rest (real codes of millions of photos are
not to be had; random codes spread evenly over the multi-index's buckets, real ones cluster
more, so real lookups may cost somewhat more). Each upload is one photo as a 1024 px JPEG:
unrelated ones (nothing matches, so the whole search runs: the worst case) and listed ones
cropped 5% a side (the search stops at the first agreed match). CPU is `process_time` of the
node's whole check (`Matcher.check_file`: decode, hashes, photo rectangles, window codes,
lookups) on one thread, with the pieces it spends on split out. Baseline: the window indexes
probed for the whole radius 31 (exact multi-index hashing, as before
`windowsearch.PROBE_RADIUS`); the new ones probe for 19 and verify up to 31. "caught" shows
what the cheaper probes cost in recall.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from edits import crop  # noqa: E402
from photoset import photos  # noqa: E402
from takeitdown.hashing import ImageHashes, hash_image_bytes, load_image, pdq_dihedral  # noqa: E402
from takeitdown.node import picturesearch, windowsearch  # noqa: E402
from takeitdown.node.db import Database  # noqa: E402
from takeitdown.node.index import PdqIndex, hex_to_codes  # noqa: E402
from takeitdown.node.matcher import Matcher  # noqa: E402
from takeitdown.node.store import NodeStore  # noqa: E402
from takeitdown.node.windowsearch import WindowIndex  # noqa: E402
from wire import feed_add  # noqa: E402


def _jpeg(im) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def node(listed: int, hashes: list[ImageHashes], probe_radius: int) -> Matcher:
    """A node with `listed` entries in each PDQ index: the listed photos' hashes first (entry ids
    1..), random codes after (no entry rows: they can only cost lookups, never match)."""
    rng = np.random.default_rng(17)
    tmp = Path(tempfile.mkdtemp())
    db = Database(f"sqlite:///{tmp / 'node.db'}")
    db.migrate()
    store = NodeStore(db)
    m = Matcher(store)
    page = [feed_add(k + 1, k + 1, "pdq", h.pdq.value, h.pdq.quality) for k, h in enumerate(hashes)]
    m.apply(store.apply_page(page, len(page)))
    m.windows = WindowIndex(probe_radius=probe_radius)
    for k, window in enumerate((80, 70)):
        real = hex_to_codes([h.windows[k].value for h in hashes])
        rest = rng.integers(0, 2**64, size=(max(0, listed - len(real)), 4), dtype=np.uint64)
        m.windows.index(window).build(np.concatenate([real, rest]), np.arange(1, listed + 1, dtype=np.int64))
    rest = rng.integers(0, 2**64, size=(max(0, listed - len(hashes)), 4), dtype=np.uint64)
    m.pdq.build(np.concatenate([hex_to_codes([h.pdq.value for h in hashes]), rest]))
    return m


class Timed:
    """Adds up the CPU the check spends in some functions, by wrapping them for a while."""

    PIECES = {
        "rectangles": (picturesearch.PictureSearch, "__init__"),
        "codes": (windowsearch.Picture, "codes"),
        "lookups": (PdqIndex, "search"),
    }

    def __init__(self) -> None:
        self.cpu = dict.fromkeys(self.PIECES, 0.0)
        self.queries = 0

    def __enter__(self) -> Timed:
        self._saved = {name: getattr(owner, attr) for name, (owner, attr) in self.PIECES.items()}
        for name, (owner, attr) in self.PIECES.items():
            setattr(owner, attr, self._wrap(name, self._saved[name]))
        return self

    def _wrap(self, name: str, fn):  # type: ignore[no-untyped-def]
        def timed(*a, **k):  # type: ignore[no-untyped-def]
            t = time.process_time()
            out = fn(*a, **k)
            self.cpu[name] += time.process_time() - t
            if name == "lookups":
                self.queries += len(a[1])
            return out

        return timed

    def __exit__(self, *exc: object) -> None:
        for name, (owner, attr) in self.PIECES.items():
            setattr(owner, attr, self._saved[name])


def distinct(pictures: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Pictures of whole-image quality >= 50, none within 64 bits (any orientation) of an earlier
    one (light and dark variants of a wallpaper are one picture)."""
    out, seen = [], []
    for name, im in pictures:
        data = _jpeg(im)
        if (hash_image_bytes(data).pdq.quality or 0) < 50:
            continue
        turned = pdq_dihedral(load_image(data))
        if any(min(t.distance(s) for t in turned) < 64 for s in seen):
            continue
        out.append((name, im))
        seen.append(turned[0])
    return out


def run(m: Matcher, uploads: list[tuple[str, bytes]]) -> dict[str, float]:
    totals = dict.fromkeys(("all", "rectangles", "codes", "lookups", "queries", "caught"), 0.0)
    for _, data in uploads:
        with Timed() as timer:
            t = time.process_time()
            verdict = m.check_file(data)
            totals["all"] += time.process_time() - t
        for piece, cpu in timer.cpu.items():
            totals[piece] += cpu
        totals["queries"] += timer.queries
        totals["caught"] += verdict.verdict != "allow"
    return {k: v / len(uploads) for k, v in totals.items()} | {"caught": totals["caught"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listed", type=int, default=10_000_000, help="entries in each PDQ index")
    ap.add_argument("--photos", type=int, default=8, help="listed photos (their crops are uploads)")
    ap.add_argument("--unrelated", type=int, default=8, help="unrelated photos uploaded")
    ap.add_argument("--baseline-uploads", type=int, default=3, help="uploads a kind, baseline")
    args = ap.parse_args()
    pics = distinct(photos())
    listed, others = pics[: args.photos], pics[args.photos : args.photos + args.unrelated]
    hashes = [hash_image_bytes(_jpeg(im)) for _, im in listed]
    uploads = {
        "unrelated photo": [(n, _jpeg(im)) for n, im in others],
        "listed photo cropped 5% a side": [(n, _jpeg(crop(im, 0.05, 0.05, 0.05, 0.05))) for n, im in listed],
    }
    print(f"{len(listed)} listed photos, {len(others)} unrelated uploads (of {len(pics)} distinct pictures)")
    print(f"{args.listed:,} entries in each PDQ index (whole image, 80% and 70% windows)")
    print(
        "| probes for | upload | check_file CPU s | rectangles | window codes | lookups | queries | caught |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = {}
    radii = {"baseline (exact)": windowsearch.COARSE_RADIUS, "new": windowsearch.PROBE_RADIUS}
    for name, radius in radii.items():
        t = time.process_time()
        m = node(args.listed, hashes, radius)
        built = time.process_time() - t
        run(m, uploads["unrelated photo"][:1])  # compile and warm the kernels
        for kind, batch in uploads.items():
            batch = batch if name == "new" else batch[: args.baseline_uploads]
            r = run(m, batch)
            rows[(name, kind)] = r
            print(
                f"| {name}: {radius} | {kind} | {r['all']:.3f} | {r['rectangles']:.3f} | {r['codes']:.3f} | "
                f"{r['lookups']:.3f} | {r['queries']:.0f} | {r['caught']:.0f}/{len(batch)} |",
                flush=True,
            )
        print(f"(node built in {built:.0f} CPU-s)")
        del m
    for kind in uploads:
        new = rows[("new", kind)]
        line = f"{kind}: {new['all']:.3f} CPU-s a photo upload (budget 0.5)"
        if ("baseline (exact)", kind) in rows:
            base = rows[("baseline (exact)", kind)]
            line += f", baseline {base['all']:.3f}: x{base['all'] / new['all']:.1f} less"
        print(line)


if __name__ == "__main__":
    main()
