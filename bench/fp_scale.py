"""False positives at scale (issue 17): unrelated-pair distances measured the way the node
compares them, extrapolated to 10M listed images and 1B uploads a year.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/fp_scale.py

or in shards (each under 15 minutes on a loaded 2-core machine), then one report:

    python bench/fp_scale.py --uploads 0:409 --save /tmp/s0.npz
    python bench/fp_scale.py --uploads 409:800 --save /tmp/s1.npz
    python bench/fp_scale.py --uploads 800:1182 --save /tmp/s2.npz
    python bench/fp_scale.py --merge /tmp/s0.npz /tmp/s1.npz /tmp/s2.npz

(docs/matching.md, "False positives at scale", has the figures of 2026-12-07 and what they mean.)

Photos: bench/photoset.py (counts per source printed). Every picture is both *listed* and
*uploaded*; a pair (upload, listed) counts as unrelated when they come from different pictures
(a tile is never paired with its own picture or its sibling tiles). Figures are given for the
independent pictures alone and with the tiles.

- Listed side, as the device sends it: `hash_image_bytes` of the picture's JPEG (quality 90):
  `pdq`, `pdq80`, `pdq70`; a hash of quality < 50 is not distributed, so not listed.
- Upload side, as `Matcher.check_file` queries: the JPEG decoded by `load_image`; whole-image
  codes = the 8 orientations of its PDQ and of each photo rectangle (`PictureSearch.pdqs`),
  quality >= 50; window codes = `windowsearch.Picture(...).codes(...)` with `search()`'s grids in
  the picture and in its first photo rectangle: the 80% grid (full in orientations 0 and 2,
  coarse in the 6 others) against `pdq80`, and the 70%-alone grids against `pdq70` (run when no
  80% window hit, so for every unrelated upload).
- Agreement (`PictureSearch.matches`): an 80% hit is agreed when the 70% window where it puts
  it (`inner_hits`: 81 codes around it) is within the radius of the listed `pdq70`. Measured on
  the best 80% window of each (upload, listed) pair, for every pair.

Every distance of every (query code, listed code) pair is counted (numba), per index. The tail
below the smallest observed distances is extrapolated with three models (see docs/matching.md,
"False positives at scale"): a log-linear fit of log P(d <= t) over the observed low tail, a
normal fit and a beta-binomial fit (moments) of the whole distribution. Expected false matches a
year = uploads x codes per upload x listed codes x P(d <= t).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from photoset import Photo, counts, photo_records  # noqa: E402
from takeitdown.hashing import PDQ_MIN_QUALITY, hash_image_bytes, load_image, pdq_dihedral  # noqa: E402
from takeitdown.node import windowsearch as ws  # noqa: E402
from takeitdown.node.index import hex_to_codes  # noqa: E402
from takeitdown.node.picturesearch import PictureSearch  # noqa: E402

LISTED = 10_000_000
UPLOADS = 1_000_000_000
KINDS = ("whole", "w80", "w70")
AGREE_LOWEST = 8  # agreement measured for the 8 listed pictures closest to an upload's 80% windows
AGREE_RANDOM = 4  # and for 4 others at random
JOINT_COMPLETE = 85  # the joint distance is measured for (nearly) every pair up to here


def _jpeg(im) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


# -- the two sides --------------------------------------------------------------------------------
def listed_codes(photo: Photo) -> dict[str, np.ndarray]:
    """(1, 4) codes of pdq, pdq80, pdq70 as the device sends them ((0, 4) when not sent)."""
    h = hash_image_bytes(_jpeg(photo.image))
    out = {}
    for kind, x in zip(KINDS, (h.pdq, *h.windows), strict=True):
        ok = (x.quality or 0) >= PDQ_MIN_QUALITY
        out[kind] = hex_to_codes([x.value] if ok else [])
    return out


class Upload:
    """What the node looks up for one upload, with where each window code lies."""

    def __init__(self, photo: Photo) -> None:
        image = load_image(_jpeg(photo.image))
        whole = [h for h in pdq_dihedral(image) if (h.quality or 0) >= PDQ_MIN_QUALITY]
        extra = PictureSearch([image], ws.WindowIndex())  # photo rectangles (boxes only)
        whole += [h for h in extra.pdqs if (h.quality or 0) >= PDQ_MIN_QUALITY]
        self.boxes = len(extra.searched) - 1  # photo rectangles searched (the first found)
        self.codes = {"whole": hex_to_codes(sorted({h.value for h in whole}))}
        self.pictures = [ws.Picture(im) for im in extra.searched]
        self.where80: list[
            tuple[int, tuple[float, float, float, float], int]
        ] = []  # picture, box, orientation
        c80, c70 = [], []
        for p, pic in enumerate(self.pictures):
            h, w = pic.height, pic.width
            for trims, orients in ((ws.TRIMS_80, ws.COMMON), (ws.TRIMS_COARSE, ws.RARE)):
                rows, cols = ws._ranges(h, trims), ws._ranges(w, trims)
                if not rows or not cols:
                    continue
                codes, ri, ci, oi = pic.codes(rows, cols, orients)
                c80.append(codes)
                for r, c, o in zip(ri, ci, oi, strict=True):
                    (r0, r1), (c0, c1) = rows[r], cols[c]
                    self.where80.append((p, (c0 / w, r0 / h, c1 / w, r1 / h), int(o)))
            free, fixed = ws.TRIMS_70_FREE, ws.TRIMS_70_FIXED
            for rows, cols in (
                (ws._ranges(h, free), ws._ranges(w, fixed, fixed)),
                (ws._ranges(h, fixed, fixed), ws._ranges(w, free)),
            ):
                if rows and cols:
                    c70.append(pic.codes(rows, cols, ws.COMMON)[0])
        self.codes["w80"] = np.concatenate(c80) if c80 else np.zeros((0, 4), np.uint64)
        self.codes["w70"] = np.concatenate(c70) if c70 else np.zeros((0, 4), np.uint64)

    def inner(self, k: int, listed70: np.ndarray) -> int:
        """Best distance of the 70% windows `inner_hits` looks up for 80% window k to a pdq70."""
        p, box, orientation = self.where80[k]

        class One:  # a one-entry "index" that returns every distance
            def __len__(self) -> int:
                return 1

            def search(self, codes: np.ndarray) -> list[list[tuple[int, int]]]:
                return [[(0, int(d))] for d in _dist_to(codes, listed70[0])]

        windows = ws.WindowIndex()
        windows.w70 = One()  # type: ignore[assignment]
        hits = ws.inner_hits(self.pictures[p], windows, ws.WindowHit(0, 80, 0, box, orientation))
        return min((h.distance for h in hits), default=257)


def _dist_to(codes: np.ndarray, one: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.ascontiguousarray(codes) ^ one[None, :]).sum(axis=1)


def window_quality(records: list[Photo]) -> np.ndarray:
    """The quality of each picture's `pdq80` as the device computes it (cached)."""
    key = hashlib.sha256("\n".join(f"{p.group}:{p.name}" for p in records).encode()).hexdigest()[:12]
    cache = Path(__file__).resolve().parent / "data" / f"fp_wq-{key}.npy"
    if cache.exists():
        return np.load(cache)  # type: ignore[no-any-return]
    out = np.array([hash_image_bytes(_jpeg(p.image)).windows[0].quality or 0 for p in records])
    np.save(cache, out)
    return out


# -- counting -------------------------------------------------------------------------------------
@njit(cache=True)
def _popcount(x):  # type: ignore[no-untyped-def]
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True)
def _pairs(q, listed, lgroup, ugroup, hist, best, arg):  # type: ignore[no-untyped-def]
    """Add every (query code, listed code) distance to hist; best/arg: per listed code the
    smallest distance and which query code gave it. Listed codes of the upload's group skipped."""
    for j in range(listed.shape[0]):
        if lgroup[j] == ugroup:
            continue
        b, a = 999, -1
        for i in range(q.shape[0]):
            d = 0
            for w in range(4):
                d += _popcount(q[i, w] ^ listed[j, w])
            hist[d] += 1
            if d < b:
                b, a = d, i
        best[j], arg[j] = b, a


# -- tail models ----------------------------------------------------------------------------------
def log10_cdf_loglinear(
    hist: np.ndarray, t: int, lo_count: int = 10, hi_share: float = 1e-4, hi_t: int = 256
) -> tuple[float, str]:
    """log10 P(d <= t) from a straight line through log10 P(d <= s) over the observed low tail:
    s from the first distance with >= lo_count pairs at or below it to where P reaches hi_share
    (and s <= hi_t)."""
    n = hist.sum()
    cum = np.cumsum(hist)
    s = np.arange(len(hist))
    ok = (cum >= lo_count) & (cum / n <= hi_share) & (s <= hi_t)
    if ok.sum() < 3:
        return float("nan"), "too few"
    slope, icpt = np.polyfit(s[ok], np.log10(cum[ok] / n), 1)
    return float(min(0.0, slope * t + icpt)), f"{s[ok][0]}-{s[ok][-1]}, {slope:.3f}/bit"


def log10_cdf_normal(hist: np.ndarray, t: int) -> float:
    s = np.arange(len(hist))
    n = hist.sum()
    mean = (hist * s).sum() / n
    sd = math.sqrt((hist * (s - mean) ** 2).sum() / n)
    z = (t + 0.5 - mean) / sd
    return math.log10(max(0.5 * math.erfc(-z / math.sqrt(2)), 1e-300))


def log10_cdf_betabinom(hist: np.ndarray, t: int, bits: int = 256) -> float:
    """A beta-binomial with the distribution's mean and variance (method of moments)."""
    s = np.arange(len(hist))
    n = hist.sum()
    mean = (hist * s).sum() / n
    var = (hist * (s - mean) ** 2).sum() / n
    p = mean / bits
    rho = (var / (bits * p * (1 - p)) - 1) / (bits - 1)  # intra-class correlation
    if rho <= 0:
        rho = 1e-9
    a, b = p * (1 / rho - 1), (1 - p) * (1 / rho - 1)

    def logpmf(k: int) -> float:
        return (
            math.lgamma(bits + 1)
            - math.lgamma(k + 1)
            - math.lgamma(bits - k + 1)
            + math.lgamma(k + a)
            + math.lgamma(bits - k + b)
            - math.lgamma(bits + a + b)
            - math.lgamma(a)
            - math.lgamma(b)
            + math.lgamma(a + b)
        )

    logs = [logpmf(k) for k in range(t + 1)]
    top = max(logs)
    return (top + math.log(sum(math.exp(x - top) for x in logs))) / math.log(10)


# -- main -----------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="pictures to use (0: all)")
    ap.add_argument("--no-tiles", action="store_true")
    ap.add_argument("--uploads", default="", help="a:b, the uploads of this shard (default: all)")
    ap.add_argument("--save", default="", help="write this shard's counts to an .npz")
    ap.add_argument("--merge", nargs="*", default=[], help="report from these shards' .npz")
    args = ap.parse_args()
    if args.merge:
        shards = [np.load(f, allow_pickle=True) for f in args.merge]
        records = photo_records(tiles=not args.no_tiles, limit=args.limit or None)
        print(f"{len(records)} pictures: {counts(records)}; {len(shards)} shards")
        gid, tile = shards[0]["gid"], shards[0]["tile"]
        hist = {k: sum(x["hist_" + k] for x in shards) for k in KINDS}
        best = {k: np.minimum.reduce([x["best_" + k] for x in shards]) for k in KINDS}
        inner = np.minimum.reduce([x["inner"] for x in shards])
        per_upload = {k: [int(v) for x in shards for v in x["per_" + k]] for k in KINDS}
        boxes = sum(int(x["boxes"]) for x in shards)
        report(records, tile, gid, hist, best, inner, per_upload, boxes)
        return
    t0 = time.time()
    records = photo_records(tiles=not args.no_tiles, limit=args.limit or None)
    print(f"{len(records)} pictures: {counts(records)}", flush=True)
    groups = {g: i for i, g in enumerate(sorted({p.group for p in records}))}
    gid = np.array([groups[p.group] for p in records], dtype=np.int64)
    tile = np.array([p.source == "tile" for p in records])
    key = hashlib.sha256("\n".join(f"{p.group}:{p.name}" for p in records).encode()).hexdigest()[:12]
    cache = Path(__file__).resolve().parent / "data" / f"fp_listed-{key}.npz"
    if cache.exists():  # the device side of every picture, from an earlier shard
        raw = np.load(cache)
        listed = [{k: raw[f"{k}{i}"] for k in KINDS} for i in range(len(records))]
    else:
        listed = [listed_codes(p) for p in records]
        np.savez(cache, **{f"{k}{i}": x[k] for i, x in enumerate(listed) for k in KINDS})
    lcodes, lowner = {}, {}
    for kind in KINDS:
        lcodes[kind] = np.concatenate([x[kind] for x in listed])
        lowner[kind] = np.array(
            [i for i, x in enumerate(listed) for _ in range(len(x[kind]))], dtype=np.int64
        )
    print(
        "listed codes: " + ", ".join(f"{k} {len(lcodes[k])}" for k in KINDS) + f" ({time.time() - t0:.0f} s)",
        flush=True,
    )
    n = len(records)
    # hist[kind][subset]: subset 0 = independent pictures only (no tile on either side), 1 = all
    hist = {k: np.zeros((2, 257), dtype=np.int64) for k in KINDS}
    best = {k: np.full((n, n), 999, dtype=np.int16) for k in KINDS}  # [upload, listed picture]
    arg80 = np.full((n, n), -1, dtype=np.int64)
    inner = np.full((n, n), 999, dtype=np.int16)
    per_upload = {k: [] for k in KINDS}
    boxes = 0
    rng = np.random.default_rng(17)
    a, b = (int(x) for x in args.uploads.split(":")) if args.uploads else (0, len(records))
    for u in range(a, min(b, len(records))):
        up = Upload(records[u])
        boxes += up.boxes > 0
        for kind in KINDS:
            q = np.ascontiguousarray(up.codes[kind])
            per_upload[kind].append(len(q))
            if not len(q):
                continue
            lg = gid[lowner[kind]]
            for sub, keep in ((0, ~tile[lowner[kind]]), (1, np.ones(len(lg), bool))):
                if sub == 0 and tile[u]:
                    continue
                h = np.zeros(257, dtype=np.int64)
                b = np.full(int(keep.sum()), 999, dtype=np.int64)
                a = np.full(int(keep.sum()), -1, dtype=np.int64)
                _pairs(q, np.ascontiguousarray(lcodes[kind][keep]), lg[keep], gid[u], h, b, a)
                hist[kind][sub] += h
                if sub == 1:
                    owners = lowner[kind][keep]
                    best[kind][u, owners] = b
                    if kind == "w80":
                        arg80[u, owners] = a
        # agreement: the 70% window where the pair's best 80% window puts it, for the
        # AGREE_LOWEST listed pictures closest to this upload's 80% windows and AGREE_RANDOM others
        order = np.argsort(best["w80"][u], kind="stable")
        pick = [*order[:AGREE_LOWEST], *rng.choice(order[AGREE_LOWEST:], AGREE_RANDOM, replace=False)]
        for j in pick:
            if gid[j] != gid[u] and arg80[u, j] >= 0 and len(listed[j]["w70"]):
                inner[u, j] = up.inner(int(arg80[u, j]), listed[j]["w70"])
        if u % 50 == 0:
            print(f"  upload {u}/{n} ({time.time() - t0:.0f} s)", flush=True)
    if args.save:
        np.savez_compressed(
            args.save,
            gid=gid,
            tile=tile,
            inner=inner,
            boxes=boxes,
            **{f"hist_{k}": hist[k] for k in KINDS},
            **{f"best_{k}": best[k] for k in KINDS},
            **{f"per_{k}": np.array(per_upload[k]) for k in KINDS},
        )
    else:
        report(records, tile, gid, hist, best, inner, per_upload, boxes)
    print(f"({time.time() - t0:.0f} s)")


def report(records, tile, gid, hist, best, inner, per_upload, boxes) -> None:  # type: ignore[no-untyped-def]
    done = best["w80"].min(axis=1) < 999  # the uploads measured
    print(
        f"\nuploads measured: {done.sum()} ({(done & ~tile).sum()} independent pictures, "
        f"{(done & tile).sum()} tiles)"
    )
    print(f"uploads with a photo rectangle searched: {boxes}/{done.sum()}")
    cpu = {k: float(np.mean(v)) for k, v in per_upload.items()}
    top = {k: max(v) for k, v in per_upload.items()}
    print("codes per upload (mean, max): " + ", ".join(f"{k} {cpu[k]:.0f} {top[k]}" for k in KINDS))
    subsets = {"independent": (done & ~tile)[:, None] & ~tile[None, :], "with tiles": done[:, None] & True}
    s = np.arange(257)
    print("\n## Distances of every (query code, listed code) pair")
    print(
        "| index | pictures | code pairs | mean | sd | min | <= 31 | <= 50 | <= 60 | <= 70 | <= 80 | <= 90 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in KINDS:
        for sub, label in enumerate(subsets):
            h = hist[kind][sub]
            total = h.sum()
            mean = (h * s).sum() / total
            sd = math.sqrt((h * (s - mean) ** 2).sum() / total)
            cum = np.cumsum(h)
            cells = " | ".join(str(int(cum[t])) for t in (31, 50, 60, 70, 80, 90))
            print(
                f"| {kind} | {label} | {total:.3g} | {mean:.1f} | {sd:.1f} | {np.nonzero(h)[0][0]} "
                f"| {cells} |"
            )
    print("\n## Closest distance of each unrelated (upload, listed picture) pair, over the upload's codes")
    print("| index | pictures | pairs | median | min | <= 31 | <= 50 | <= 60 | <= 70 | <= 80 | <= 90 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    photo = np.array([p.source in ("gcompris", "conformance") for p in records])
    quality = np.array([p.quality for p in records])
    wq = window_quality(records)  # the listed 80% window's quality, as the device sends it
    gate = wq >= 80
    print(f"\nlisted pictures whose 80% window has quality >= 80: {(gate & ~tile).sum()}/{(~tile).sum()}")
    more = {
        "listed window quality >= 80": (done & ~tile)[:, None] & (~tile & gate)[None, :],
        "listed window quality >= 80, tiles": done[:, None] & gate[None, :],
        "photographs": (done & photo)[:, None] & photo[None, :],
        "quality >= 80": (done & ~tile & (quality >= 80))[:, None] & (~tile & (quality >= 80))[None, :],
        "artwork involved": subsets["independent"] & ~(photo[:, None] & photo[None, :]),
    }
    pair_hist = {}
    for kind in KINDS:
        for label, mask in {**subsets, **more}.items():
            m = best[kind][mask & (best[kind] < 999)].astype(np.int64)
            h = np.bincount(m, minlength=257)[:257]
            pair_hist[kind, label] = h
            cum = np.cumsum(h)
            cells = " | ".join(str(int(cum[t])) for t in (31, 50, 60, 70, 80, 90))
            print(f"| {kind} | {label} | {len(m)} | {np.median(m):.0f} | {m.min()} | {cells} |")
    print("\n## Closest unrelated (upload -> listed) pairs per index")
    for kind in KINDS:
        b = best[kind].astype(np.int64)
        flat = np.argsort(b, axis=None)[:10]
        pairs = [np.unravel_index(f, b.shape) for f in flat]
        print(f"{kind}: " + "; ".join(f"{b[u, j]} {records[u].name} -> {records[j].name}" for u, j in pairs))
    print("\n## Agreement: each measured pair's best 80% window, and the 70% window it implies")
    mask = (inner < 999) & (best["w80"] < 999)
    d80, d70 = best["w80"][mask].astype(float), inner[mask].astype(float)
    r = float(np.corrcoef(d80, d70)[0, 1])
    print(f"pairs measured {mask.sum()}; corr(d80, implied d70) = {r:.3f}")
    print("| best d80 <= | pairs | implied d70 <= 31 | <= 50 | <= 60 | <= 70 | <= 80 | median d70 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in (60, 70, 80, 90, 100, 256):
        sel = d80 <= t
        if sel.any():
            x = d70[sel]
            cells = " | ".join(str(int((x <= k).sum())) for k in (31, 50, 60, 70, 80))
            print(f"| {t} | {sel.sum()} | {cells} | {np.median(x):.0f} |")
    diff = d70 - d80
    low = d80 <= np.quantile(d80, 0.01)
    print(
        f"implied d70 - d80: all measured pairs mean {diff.mean():.1f} sd {diff.std():.1f}; "
        f"lowest 1% of d80 ({low.sum()} pairs, d80 <= {d80[low].max():.0f}) mean {diff[low].mean():.1f} "
        f"sd {diff[low].std():.1f} min {diff[low].min():.0f}, share <= 0: {(diff[low] <= 0).mean():.2f}"
    )
    extrapolate(hist, pair_hist, cpu, diff[low])
    # The joint event directly: max(best d80, implied d70) of a pair, over every pair of the
    # "with tiles" set (pairs not measured had a best d80 above the AGREE_LOWEST closest, so
    # their joint distance is higher still: they count as far).
    joint = np.maximum(d80, d70).astype(np.int64)
    jh = np.bincount(joint, minlength=257)[:257]
    jh[256] += int(pair_hist["w80", "with tiles"].sum()) - len(joint)
    cum = np.cumsum(jh)
    print("\n## Agreed windows, joint: max(best d80, implied d70) per picture pair (with tiles)")
    print(f"(fit up to {JOINT_COMPLETE}: above it not every pair's implied d70 was measured)")
    print("pairs at or below: " + ", ".join(f"<={t}: {cum[t]}" for t in range(60, 100, 5)))
    print("| t80/t70 | pair: log-linear on the joint distance, false matches a year | fit range |")
    print("| --- | --- | --- |")
    for t in (31, 24, 20, 16):
        x, fit = log10_cdf_loglinear(jh, t, lo_count=10, hi_share=1e-2, hi_t=JOINT_COMPLETE)
        print(f"| {t}/{t} | {UPLOADS * LISTED * 10**x:.2g} | {fit} |")
    print("\n## Per picture pair, log-linear, by subset: expected false matches a year")
    print("| subset | whole 10 | whole 31 | whole 16 | w80 31 | w80 20 | w70 31 | w70 20 | fit w80 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label in [*subsets, *more]:
        cells = []
        for kind, t in (
            ("whole", 10),
            ("whole", 31),
            ("whole", 16),
            ("w80", 31),
            ("w80", 20),
            ("w70", 31),
            ("w70", 20),
        ):
            x, _ = log10_cdf_loglinear(pair_hist[kind, label], t, lo_count=10, hi_share=1e-2)
            cells.append(f"{UPLOADS * LISTED * 10**x:.2g}")
        _, fit = log10_cdf_loglinear(pair_hist["w80", label], 0, lo_count=10, hi_share=1e-2)
        print(f"| {label} | " + " | ".join(cells) + f" | {fit} |")


def extrapolate(hist, pair_hist, cpu, offset) -> None:  # type: ignore[no-untyped-def]
    print(f"\n## Expected false matches a year: {UPLOADS:.0e} uploads, {LISTED:.0e} listed images")
    print("per code pair: uploads x codes per upload x listed x P(d <= t), P from the three fits;")
    print("per picture pair: uploads x listed x P(closest code of the pair <= t), log-linear fit.")
    print("agreed: the 80% figure times P(implied d70 - d80 <= t70 - t80) (offset of the lowest 1%).")
    rules = [("whole-image block", "whole", 10), ("whole-image review", "whole", 31)]
    rules += [(f"{w}% window alone (review)", f"w{w}", t) for w in (80, 70) for t in (31, 24, 20, 16)]
    rules += [("whole-image review", "whole", t) for t in (24, 20, 16)]
    head = (
        "| rule | t | code pairs <= t seen | code: log-linear | normal | beta-binomial | pair: log-linear |"
    )
    for sub, label in enumerate(("independent", "with tiles")):
        print(f"\n{label}:")
        print(head)
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, kind, t in rules:
            h, ph = hist[kind][sub], pair_hist[kind, label]
            code = UPLOADS * cpu[kind] * LISTED
            ll, _ = log10_cdf_loglinear(h, t)
            pll, _ = log10_cdf_loglinear(ph, t, lo_count=10, hi_share=1e-2)
            cells = [code * 10**x for x in (ll, log10_cdf_normal(h, t), log10_cdf_betabinom(h, t))]
            cells += [UPLOADS * LISTED * 10**pll]
            print(
                f"| {name} | {t} | {int(np.cumsum(h)[t])} | " + " | ".join(f"{c:.2g}" for c in cells) + " |"
            )
        for t80, t70 in ((31, 31), (24, 24), (20, 20), (16, 16), (24, 31), (20, 31), (16, 24)):
            share = max(float((offset <= t70 - t80).mean()), 1 / max(1, len(offset)))
            h, ph = hist["w80"][sub], pair_hist["w80", label]
            code = UPLOADS * cpu["w80"] * LISTED * share
            ll, _ = log10_cdf_loglinear(h, t80)
            pll, _ = log10_cdf_loglinear(ph, t80, lo_count=10, hi_share=1e-2)
            cells = [code * 10**x for x in (ll, log10_cdf_normal(h, t80), log10_cdf_betabinom(h, t80))]
            cells += [UPLOADS * LISTED * share * 10**pll]
            print(
                f"| agreed (block), x {share:.2f} | {t80}/{t70} | | "
                + " | ".join(f"{c:.2g}" for c in cells)
                + " |"
            )
    print("\nfit ranges (log-linear):")
    for kind in KINDS:
        for sub, label in enumerate(("independent", "with tiles")):
            _, a = log10_cdf_loglinear(hist[kind][sub], 0)
            _, b = log10_cdf_loglinear(pair_hist[kind, label], 0, lo_count=10, hi_share=1e-2)
            print(f"  {kind} {label}: code pairs {a}; picture pairs {b}")
    print("\nsensitivity of the log-linear fit to its range (with tiles, code pairs; false matches a year):")
    print("| index | t | P <= 1e-5 | P <= 1e-4 (table) | P <= 1e-3 | at least 3 pairs | at least 30 pairs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in KINDS:
        h = hist[kind][1]
        code = UPLOADS * cpu[kind] * LISTED
        for t in (31, 20):
            fits = [log10_cdf_loglinear(h, t, hi_share=x)[0] for x in (1e-5, 1e-4, 1e-3)]
            fits += [log10_cdf_loglinear(h, t, lo_count=c)[0] for c in (3, 30)]
            print(f"| {kind} | {t} | " + " | ".join(f"{code * 10**x:.2g}" for x in fits) + " |")


if __name__ == "__main__":
    main()
