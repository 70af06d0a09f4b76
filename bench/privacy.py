"""What the window hashes reveal: invert PDQ codes back to a thumbnail, with and without the
windows, on pictures the inverter never saw (issue 17, docs/matching.md).

    OPENBLAS_NUM_THREADS=1 python bench/privacy.py            # features cached in bench/data/
    OPENBLAS_NUM_THREADS=1 python bench/privacy.py --rebuild  # hash everything again (~140 CPU-s)

The inverters take about 7 CPU-min; a montage of held-out reconstructions is written to
bench/out/privacy_montage.png (not committed).

Pictures: bench/photoset.py (conformance photographs, Debian wallpapers) and, where installed,
the photographs and paintings inside GCompris's Qt resource files (/usr/share/gcompris-qt/rcc,
opaque pictures of at least 200 px). Pictures whose whole-image PDQ is within 64 bits of another
(light/dark variants of a wallpaper) are grouped; a fifth of the groups is held out whole, so
no test picture, nor a variant of it, is ever trained on.

Samples: each picture, shrunk to 512 px, is augmented (random crop keeping 60-100% of each side
at a random place, a mirror half the time, brightness/contrast/saturation x 0.85-1.15), saved
as a JPEG (quality 90) and hashed with the device's own code (`hash_image_bytes`: the `pdq`,
`pdq80` and `pdq70` a case item carries, bit for bit). Samples whose three hashes do not all
reach quality 50 (not distributed) are dropped.

Target: the 32x32 and the 64x64 grey thumbnail of the augmented picture, normalised per
picture (PDQ keeps signs about the median, so brightness and contrast are not recoverable from
any of these codes).

Feature sets (bits as +-1):
- pdq: the 256 bits of the whole-image PDQ (what was sent before issue 17);
- pdq+windows: pdq, pdq80, pdq70 (768 bits, what the device sends now);
- pdq80+pdq70 alone;
- grid 3x3 and grid 9x9: the PDQ of every tile of a 3x3 / 9x9 grid (2,304 / 20,736 bits), meant
  as leaky references, alone and beside pdq (the grid bits then weighted, the weight chosen on
  the validation split). Measured: a linear inverter on ~2,500 samples gets little out of them
  (docs/matching.md says why), so they show the limit of this method more than leakage.

Inverters: ridge regression (closed form through an eigendecomposition; the penalty chosen on a validation
split of the training groups) and a one-hidden-layer MLP (numpy, Adam, early stopping) for the
smaller sets. Score: per held-out sample, the Pearson correlation between the reconstruction
and the true thumbnail, over the whole thumbnail and over its middle 70% (where the windows
look); the mean over samples, against predicting the mean thumbnail.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import struct
import sys
import time
import zlib
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageEnhance  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from photoset import _rcc_files, photos  # noqa: E402
from takeitdown.hashing import hash_image_bytes, load_image, pdq_of_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "data" / "privacy_features.npz"
OUT = ROOT / "bench" / "out"
GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
WORK_SIDE = 512
THUMBS = (32, 64)
TRAIN_AUGS, TEST_AUGS = 8, 3
GRIDS = (3, 9)
GRID_WEIGHTS = (0.1, 0.3, 1.0)
RIDGE_PENALTIES = [10.0**e for e in np.arange(0, 6.51, 0.5)]


# -- pictures ----------------------------------------------------------------------------------
def gcompris_pictures() -> list[tuple[str, Image.Image]]:
    """Opaque raster pictures of at least 200 px inside GCompris's resource files."""
    out = []
    for rcc in sorted(GCOMPRIS.glob("*.rcc")) if GCOMPRIS.is_dir() else []:
        try:
            files = _rcc_files(rcc)
        except (struct.error, zlib.error, UnicodeDecodeError):
            continue
        for name, raw in files:
            if name.rsplit(".", 1)[-1].lower() not in ("jpg", "jpeg", "png", "webp"):
                continue
            try:
                im = Image.open(io.BytesIO(raw))
                if min(im.size) < 200:
                    continue
                im.load()
            except OSError:
                continue
            if "A" in im.getbands() or im.mode == "P" and "transparency" in im.info:
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
                if (alpha < 250).mean() > 0.01:
                    continue  # a cut-out on a transparent ground, not a picture
            out.append((f"{rcc.stem}:{name}", im.convert("RGB")))
    return out


def _shrink(im: Image.Image, side: int = WORK_SIDE) -> Image.Image:
    scale = side / max(im.size)
    if scale < 1:
        im = im.resize(
            (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS
        )
    return im


def _groups(pictures: list[Image.Image]) -> list[int]:
    """Group label per picture: pictures whose PDQs are within 64 bits share one (union-find)."""
    codes = np.array([np.frombuffer(bytes.fromhex(pdq_of_image(p).value), dtype=np.uint8) for p in pictures])
    bits = np.unpackbits(codes, axis=1).astype(np.int16)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    parent = list(range(len(pictures)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(dist <= 64, 1)), strict=True):
        parent[find(int(i))] = find(int(j))
    return [find(i) for i in range(len(pictures))]


# -- samples -----------------------------------------------------------------------------------
def _augment(im: Image.Image, rng: random.Random) -> Image.Image:
    w, h = im.size
    cw, ch = round(w * rng.uniform(0.6, 1.0)), round(h * rng.uniform(0.6, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    out = im.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.85, 1.15))
    out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.85, 1.15))
    return ImageEnhance.Color(out).enhance(rng.uniform(0.85, 1.15))


def _bits(value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def _sample(im: Image.Image) -> dict[str, np.ndarray] | None:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    h = hash_image_bytes(data)  # the device's hashes, as a case item carries them
    hashes = [h.pdq, *h.stills[0].windows]
    if [getattr(x, "window", 100) for x in hashes] != [100, 80, 70]:
        raise AssertionError("unexpected window order")
    if any((x.quality or 0) < 50 for x in hashes):
        return None
    decoded = load_image(data)
    out = {"pdq": _bits(h.pdq.value), "windows": np.concatenate([_bits(x.value) for x in hashes[1:]])}
    for n in GRIDS:
        tiles = []
        for r in range(n):
            for c in range(n):
                box = (
                    c * decoded.width // n,
                    r * decoded.height // n,
                    (c + 1) * decoded.width // n,
                    (r + 1) * decoded.height // n,
                )
                tiles.append(_bits(pdq_of_image(decoded.crop(box)).value))
        out[f"grid{n}"] = np.concatenate(tiles)
    grey = decoded.convert("L")
    for side in THUMBS:
        thumb = np.asarray(grey.resize((side, side), Image.Resampling.BOX), dtype=np.float32)
        out[f"thumb{side}"] = thumb.ravel()
    return out


def build(seed: int = 17) -> dict[str, np.ndarray]:
    t0 = time.process_time()
    found = [(n, _shrink(im)) for n, im in photos()]
    n_photoset = len(found)
    found += [(n, _shrink(im)) for n, im in gcompris_pictures()]
    print(f"{len(found)} pictures ({n_photoset} from photoset.py, {len(found) - n_photoset} from GCompris)")
    group = _groups([im for _, im in found])
    labels = sorted(set(group))
    rng = random.Random(seed)
    rng.shuffle(labels)
    test_groups = set(labels[: len(labels) // 5])
    print(f"{len(labels)} groups of near-identical pictures; {len(test_groups)} held out")
    rows: dict[str, list[np.ndarray]] = {}
    meta: list[tuple[int, int, int]] = []  # picture, group, is_test
    dropped = 0
    for k, (_, im) in enumerate(found):
        test = group[k] in test_groups
        for _ in range(TEST_AUGS if test else TRAIN_AUGS):
            s = _sample(_augment(im, rng))
            if s is None:
                dropped += 1
                continue
            for key, v in s.items():
                rows.setdefault(key, []).append(v)
            meta.append((k, group[k], int(test)))
    print(
        f"{len(meta)} samples ({dropped} dropped: a hash of quality < 50); "
        f"{time.process_time() - t0:.0f} CPU-s"
    )
    out = {key: np.array(v) for key, v in rows.items()}
    out["meta"] = np.array(meta)
    out["names"] = np.array([n for n, _ in found])
    return out


# -- inverters ---------------------------------------------------------------------------------
def _targets(thumbs: np.ndarray) -> np.ndarray:
    t = thumbs - thumbs.mean(axis=1, keepdims=True)
    return t / (t.std(axis=1, keepdims=True) + 1e-6)


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / (np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1)) + 1e-9)


class Ridge:
    """Ridge regression for many penalties at once: through the eigenvectors of X^T X, or of
    X X^T (the kernel form) when there are more features than rows."""

    def __init__(self, x: np.ndarray) -> None:
        self.xm = x.mean(axis=0)
        self.xc = x - self.xm
        self.dual = self.xc.shape[1] > self.xc.shape[0]
        lam, self.vec = np.linalg.eigh(self.xc @ self.xc.T if self.dual else self.xc.T @ self.xc)
        self.lam = np.maximum(lam, 0)

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(projection of the centred targets on the eigenvectors, target mean)."""
        ym = y.mean(axis=0)
        yc = y - ym
        return (self.vec.T @ yc if self.dual else self.vec.T @ (self.xc.T @ yc)), ym

    def features(self, x: np.ndarray) -> np.ndarray:
        """What `predict` multiplies: the centred rows, or their kernel against the training rows."""
        return (x - self.xm) @ self.xc.T if self.dual else x - self.xm

    def predict(self, feats: np.ndarray, fitted: tuple[np.ndarray, np.ndarray], penalty: float) -> np.ndarray:
        proj, ym = fitted
        scaled = self.vec @ (proj / (self.lam + penalty)[:, None])  # dual: Xc^T U (L + p)^-1 U^T Y
        return feats @ scaled + ym


def ridge(
    x_tr: np.ndarray, ys: list[np.ndarray], fit: np.ndarray, x_te: np.ndarray
) -> list[tuple[np.ndarray, float, float]]:
    """(prediction for x_te, penalty, validation r), one per target set in `ys`; each penalty
    is the best on the training rows outside `fit`."""
    part, whole = Ridge(x_tr[fit]), Ridge(x_tr)
    val = ~fit
    f_val, f_te = part.features(x_tr[val]), whole.features(x_te)
    out = []
    for y in ys:
        fitted = part.fit(y[fit])
        scores = [pearson(part.predict(f_val, fitted, p), y[val]).mean() for p in RIDGE_PENALTIES]
        best = RIDGE_PENALTIES[int(np.argmax(scores))]
        out.append((whole.predict(f_te, whole.fit(y), best), best, max(scores)))
    return out


def mlp(
    x_tr: np.ndarray, y_tr: np.ndarray, fit: np.ndarray, x_te: np.ndarray, hidden: int = 512, seed: int = 0
) -> tuple[np.ndarray, int]:
    """A one-hidden-layer ReLU MLP, Adam on the squared error with weight decay; the epoch count
    chosen on the validation rows, then retrained on all training rows for that many."""

    def train(x: np.ndarray, y: np.ndarray, epochs: int, xv: np.ndarray | None, yv: np.ndarray | None):  # type: ignore[no-untyped-def]
        g = np.random.default_rng(seed)
        d = x.shape[1]
        p = [
            g.normal(0, np.sqrt(2 / d), (d, hidden)).astype(np.float32),
            np.zeros(hidden, np.float32),
            g.normal(0, np.sqrt(1 / hidden), (hidden, y.shape[1])).astype(np.float32),
            np.zeros(y.shape[1], np.float32),
        ]
        m = [np.zeros_like(q) for q in p]
        v = [np.zeros_like(q) for q in p]
        lr, decay, step, history = 1e-3, 1e-4, 0, []
        for _ in range(epochs):
            order = g.permutation(len(x))
            for s in range(0, len(x), 64):
                b = order[s : s + 64]
                xb, yb = x[b], y[b]
                # input dropout (0.2): the bits are noisy, and this is the regulariser that helped
                xb = xb * (g.random(xb.shape, dtype=np.float32) > 0.2) / 0.8
                h = np.maximum(xb @ p[0] + p[1], 0)
                err = (h @ p[2] + p[3] - yb) / len(b)
                gh = (err @ p[2].T) * (h > 0)
                grads = [xb.T @ gh, gh.sum(0), h.T @ err, err.sum(0)]
                step += 1
                for i, gr in enumerate(grads):
                    gr = gr + decay * p[i]
                    m[i] = 0.9 * m[i] + 0.1 * gr
                    v[i] = 0.999 * v[i] + 0.001 * gr * gr
                    p[i] -= lr * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
            if xv is not None and yv is not None:
                history.append(float(pearson(np.maximum(xv @ p[0] + p[1], 0) @ p[2] + p[3], yv).mean()))
        return p, history

    x_tr, y_tr, x_te = x_tr.astype(np.float32), y_tr.astype(np.float32), x_te.astype(np.float32)
    _, history = train(x_tr[fit], y_tr[fit], 40, x_tr[~fit], y_tr[~fit])
    epochs = int(np.argmax(history)) + 1
    p, _ = train(x_tr, y_tr, epochs, None, None)
    return np.maximum(x_te @ p[0] + p[1], 0) @ p[2] + p[3], epochs


# -- bytes -------------------------------------------------------------------------------------
def byte_cost(data: dict[str, np.ndarray]) -> None:
    im = Image.new("RGB", (64, 64))
    im.putdata([(x * 4, y * 4, (x ^ y) * 4) for y in range(64) for x in range(64)])
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    wire = hash_image_bytes(buf.getvalue()).wire_hashes()
    sizes = {h["type"]: len(json.dumps(h, separators=(",", ":"))) for h in wire}
    pdq_json = sizes["pdq"]
    win_json = sizes.get("pdq80", 0) + sizes.get("pdq70", 0)
    print("\nbytes per photo")
    print("| | before (pdq) | now (pdq, pdq80, pdq70) | added |")
    print("| --- | --- | --- | --- |")
    print("| hash bits | 32 B | 96 B | 64 B |")
    print("| raw (32 B code + 1 B quality each) | 33 B | 99 B | 66 B |")
    print(
        f"| JSON on the wire (compact, per hash object) | {pdq_json} B | "
        f"{pdq_json + win_json} B | {win_json} B |"
    )
    print("| node index (PdqIndex at 10M: 63.2 B a hash, docs/node.md) | 63 B | 190 B | 126 B |")
    print("(the md5 object, unchanged, is not counted; at 10M listed photos the window indexes add ~1.26 GB)")


# -- report ------------------------------------------------------------------------------------
def montage(rows: list[list[np.ndarray]], titles: list[str], path: Path, side: int, scale: int = 2) -> None:
    cell = side * scale
    pad = 4
    out = Image.new("L", ((cell + pad) * len(titles) + pad, (cell + pad) * len(rows) + pad), 255)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            a = img.reshape(side, side)
            a = np.clip((a - a.mean()) / (a.std() + 1e-6) * 50 + 128, 0, 255).astype(np.uint8)
            tile = Image.fromarray(a).resize((cell, cell), Image.Resampling.NEAREST)
            out.paste(tile, (pad + c * (cell + pad), pad + r * (cell + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    print(f"montage: {path} (columns: {', '.join(titles)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rebuild", action="store_true", help="hash the pictures again (else use the cache)")
    ap.add_argument("--no-mlp", action="store_true")
    args = ap.parse_args()
    if args.rebuild or not CACHE.exists():
        data = build()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(CACHE, **data)
    data = dict(np.load(CACHE))
    meta = data["meta"]
    test = meta[:, 2] == 1
    train = ~test
    # validation split for choosing penalties and epochs: a fifth of the training groups
    g = np.random.default_rng(5)
    tr_groups = np.unique(meta[train, 1])
    val_groups = set(g.choice(tr_groups, len(tr_groups) // 5, replace=False).tolist())
    fit = np.array([grp not in val_groups for grp in meta[train, 1]])
    ys = {side: _targets(data[f"thumb{side}"].astype(np.float64)) for side in THUMBS}
    print(
        f"{len(meta)} samples of {len(np.unique(meta[:, 0]))} pictures: {train.sum()} training "
        f"({len(np.unique(meta[train, 0]))} pictures), {test.sum()} test ({len(np.unique(meta[test, 0]))} "
        f"pictures, none trained on)"
    )
    pm = lambda b: b.astype(np.float64) * 2 - 1  # noqa: E731
    sets = {
        "pdq (256 bits)": ["pdq"],
        "pdq+pdq80+pdq70 (768 bits)": ["pdq", "windows"],
        "pdq80+pdq70 only (512 bits)": ["windows"],
        "grid 3x3 tile PDQs (2,304 bits)": ["grid3"],
        "grid 9x9 tile PDQs (20,736 bits)": ["grid9"],
        "pdq + grid 3x3 (2,560 bits)": ["pdq", "grid3"],
        "pdq + grid 9x9 (20,992 bits)": ["pdq", "grid9"],
    }
    # One penalty for every bit lets thousands of weak grid bits drown the 256 of pdq; in the
    # "pdq + grid" sets the grid bits are scaled by a weight chosen on the validation rows (a
    # second penalty), so that those sets can only do as well as pdq alone or better.
    results: list[tuple[str, str, int, np.ndarray, str]] = []  # features, inverter, side, prediction, note
    for name, keys in sets.items():
        t0 = time.process_time()
        x = pm(np.concatenate([data[k] for k in keys], axis=1))
        weights = GRID_WEIGHTS if name.startswith("pdq + grid") else (1.0,)
        best: list[tuple[np.ndarray, float, float, float]] = []
        for weight in weights:
            xw = x.copy()
            xw[:, 256:] *= weight if len(weights) > 1 else 1.0
            got = ridge(xw[train], [ys[side][train] for side in THUMBS], fit, xw[test])
            for j, (p, penalty, val_r) in enumerate(got):
                if len(best) <= j or val_r > best[j][2]:
                    best[j : j + 1] = [(p, penalty, val_r, weight)]
        for side, (p, penalty, _, weight) in zip(THUMBS, best, strict=True):
            note = f"penalty {penalty:g}" + (f", grid weight {weight:g}" if len(weights) > 1 else "")
            results.append((name, "ridge", side, p, note))
        if not args.no_mlp and x.shape[1] <= 768:
            p, epochs = mlp(x[train], ys[32][train], fit, x[test])
            results.append((name, "MLP 512", 32, p, f"{epochs} epochs"))
        print(f"  {name}: {time.process_time() - t0:.0f} CPU-s", flush=True)

    def centre(side: int) -> np.ndarray:
        c = np.zeros((side, side), bool)
        c[round(side * 0.15) : round(side * 0.85), round(side * 0.15) : round(side * 0.85)] = True
        return c.ravel()

    def score(p: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        y_te, c = ys[side][test], centre(side)
        return pearson(p, y_te), pearson(p[:, c], y_te[:, c])

    for side in THUMBS:
        y_tr, y_te = ys[side][train], ys[side][test]
        mean_pred = np.repeat(y_tr.mean(axis=0, keepdims=True), len(y_te), axis=0)
        base_whole, base_centre = score(mean_pred, side)
        rows = [r for r in results if r[2] == side]
        ref = {kind: score(p, side) for n, kind, _, p, _ in rows if n.startswith("pdq (")}
        print(f"\nheld-out reconstruction: mean per-sample Pearson r with the true {side}x{side} thumbnail")
        print("| features | inverter | r, whole | r, middle 70% | whole vs pdq | middle vs pdq | note |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        print(f"| none (mean thumbnail) | - | {base_whole.mean():.3f} | {base_centre.mean():.3f} | | | |")
        for name, kind, _, p, note in rows:
            whole, mid = score(p, side)
            rw, rc = ref[kind]
            print(
                f"| {name} | {kind} | {whole.mean():.3f} | {mid.mean():.3f} | "
                f"{whole.mean() / rw.mean():.2f}x | {mid.mean() / rc.mean():.2f}x | {note} |"
            )
        a = score(next(r[3] for r in rows if r[1] == "ridge" and r[0].startswith("pdq (")), side)
        b = score(next(r[3] for r in rows if r[1] == "ridge" and r[0].startswith("pdq+")), side)
        d, dm = b[0] - a[0], b[1] - a[1]
        print(
            f"ridge, per test sample, r(pdq+windows) - r(pdq): whole median {np.median(d):+.3f} "
            f"(p10 {np.percentile(d, 10):+.3f}, p90 {np.percentile(d, 90):+.3f}), middle median "
            f"{np.median(dm):+.3f}; standard error of a mean r: {a[0].std() / np.sqrt(len(d)):.3f}"
        )
    byte_cost(data)
    # montage at the larger side: the first test sample of 10 test pictures spread over the test set
    side = THUMBS[-1]
    first: dict[int, int] = {}
    for i, (pic, _, _) in enumerate(meta[test]):
        first.setdefault(int(pic), i)
    picks = list(first.values())[:: max(1, len(first) // 10)][:10]
    shown = [r for r in results if r[2] == side and r[1] == "ridge"]
    titles = ["truth", *(r[0].split(" (")[0] for r in shown)]
    rows_ = [[ys[side][test][i], *(r[3][i] for r in shown)] for i in picks]
    montage(rows_, titles, OUT / "privacy_montage.png", side)


if __name__ == "__main__":
    main()
