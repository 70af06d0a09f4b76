"""The node's CPU per photo upload with the window search, at millions of listed images (issue 17).

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/window_cost.py               # 10M listed
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/window_cost.py --listed 1000000

The node's two window indexes (`pdq80`, `pdq70`) hold --listed entries each: the windows of the
listed photos (the first --photos of bench/photoset.py) and random 256-bit codes for the rest
(real window codes of millions of photos are not to be had; random codes spread evenly over
the multi-index's buckets, real ones cluster more, so real lookups may cost somewhat more).
Each upload is one photo as a 1024 px JPEG: unrelated ones (no early exit: the whole search
runs) and listed ones cropped 5% a side (the search stops at the first agreed match). CPU is
`process_time` on one thread, split into the photo rectangles, the sub-window codes and the
index lookups. Baseline: the same indexes probed for the whole radius 31 (exact multi-index
hashing, as before `windowsearch.PROBE_RADIUS`); the new one probes for 19 and verifies up to 31.
The number of listed photos whose crop is still found (agreed) shows what the cheaper probes cost.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from edits import crop  # noqa: E402
from photoset import photos  # noqa: E402
from takeitdown.hashing import hash_image_bytes, load_image, pdq_dihedral  # noqa: E402
from takeitdown.node import windowsearch  # noqa: E402
from takeitdown.node.index import hex_to_codes  # noqa: E402
from takeitdown.node.picturesearch import PictureSearch  # noqa: E402
from takeitdown.node.windowsearch import WindowIndex  # noqa: E402


def _jpeg(im) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def build(listed: int, windows: list[tuple[str, str]], probe_radius: int) -> WindowIndex:
    """Window indexes of `listed` entries: the real windows first (labels 1..), random codes after."""
    rng = np.random.default_rng(17)
    index = WindowIndex(probe_radius=probe_radius)
    for k, which in enumerate((80, 70)):
        real = hex_to_codes([w[k] for w in windows])
        rest = rng.integers(0, 2**64, size=(max(0, listed - len(real)), 4), dtype=np.uint64)
        codes = np.concatenate([real, rest])
        labels = np.arange(1, len(codes) + 1, dtype=np.int64)
        index.index(which).build(codes, labels)
    return index


class Timed:
    """Wraps the window search's pieces to add up the CPU each takes."""

    def __init__(self) -> None:
        self.cpu = {"codes": 0.0, "lookups": 0.0}
        self.queries = 0
        self._codes = windowsearch.Picture.codes

    def __enter__(self) -> Timed:
        timed = self
        original = self._codes

        def codes(picture, *a, **k):  # type: ignore[no-untyped-def]
            t = time.process_time()
            out = original(picture, *a, **k)
            timed.cpu["codes"] += time.process_time() - t
            timed.queries += len(out[0])
            return out

        windowsearch.Picture.codes = codes  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        windowsearch.Picture.codes = self._codes  # type: ignore[method-assign]


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


def run(index: WindowIndex, uploads: list[tuple[str, bytes]]) -> dict[str, float]:
    totals = {"all": 0.0, "prepare": 0.0, "codes": 0.0, "lookups": 0.0, "queries": 0.0, "agreed": 0.0}
    for _, data in uploads:
        image = load_image(data)
        with Timed() as timer:
            t0 = time.process_time()
            search = PictureSearch([image], index)
            t1 = time.process_time()
            found = search.matches()
            t2 = time.process_time()
        totals["all"] += t2 - t0
        totals["prepare"] += t1 - t0
        totals["codes"] += timer.cpu["codes"]
        totals["lookups"] += (t2 - t1) - timer.cpu["codes"]
        totals["queries"] += timer.queries
        totals["agreed"] += any(m.agreed for m in found)
    return {k: v / len(uploads) for k, v in totals.items()} | {"agreed": totals["agreed"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listed", type=int, default=10_000_000, help="entries in each window index")
    ap.add_argument("--photos", type=int, default=8, help="listed photos (their crops are uploads)")
    ap.add_argument("--unrelated", type=int, default=8, help="unrelated photos uploaded")
    args = ap.parse_args()
    pics = distinct(photos())
    listed, others = pics[: args.photos], pics[args.photos : args.photos + args.unrelated]
    windows = []
    for _, im in listed:
        h = hash_image_bytes(_jpeg(im))
        windows.append((h.windows[0].value, h.windows[1].value))
    uploads = {
        "unrelated photo": [(n, _jpeg(im)) for n, im in others],
        "listed photo cropped 5% a side": [(n, _jpeg(crop(im, 0.05, 0.05, 0.05, 0.05))) for n, im in listed],
    }
    print(f"{len(listed)} listed photos, {len(others)} unrelated uploads (of {len(pics)} pictures)")
    print(f"{args.listed:,} entries in each window index")
    print("| probes for | upload | CPU s | rectangles | codes | lookups | queries | agreed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = {}
    radii = {"baseline (exact, 31)": windowsearch.COARSE_RADIUS, "new": windowsearch.PROBE_RADIUS}
    for name, radius in radii.items():
        t = time.process_time()
        index = build(args.listed, windows, radius)
        built = time.process_time() - t
        run(index, uploads["unrelated photo"][:1])  # compile and warm the kernels
        for kind, batch in uploads.items():
            r = run(index, batch)
            rows[(name, kind)] = r
            print(
                f"| {name}: {radius} | {kind} | {r['all']:.3f} | {r['prepare']:.3f} | {r['codes']:.3f} | "
                f"{r['lookups']:.3f} | {r['queries']:.0f} | {r['agreed']:.0f}/{len(batch)} |",
                flush=True,
            )
        print(f"(indexes built in {built:.0f} CPU-s)")
        del index
    for kind in uploads:
        base, new = rows[("baseline (exact, 31)", kind)], rows[("new", kind)]
        print(
            f"{kind}: {new['all']:.3f} CPU-s (budget 0.5), baseline {base['all']:.3f}: "
            f"x{base['all'] / new['all']:.1f} less"
        )


if __name__ == "__main__":
    main()
