"""How many frames of a listed video an evader must replace for the node to let it through
(issue 17, docs/matching.md "Sampling evasion"): before issue 17, on main, and now.

    OPENBLAS_NUM_THREADS=1 python bench/sampling_evasion.py          # about 13 CPU-min (3 trials)
    OPENBLAS_NUM_THREADS=1 python bench/sampling_evasion.py --skip-caught --strategies "random frames"

Three samplers of an upload, each matched against a video listed as the device lists it
(`hash_file`: one frame a second from 0 s, 23 frames for 673) on a real node database:
- *before*: the query sampled as the device samples (`vpdq_of_video`), the node before issue 17;
- *main*: 4 frames a second from a random phase plus scene cuts, the query share over all of
  them (`query_sample(device_frames=False)`, the vPDQ rule alone: nothing else is listed);
- *now*: `Matcher.check_file` on the file.

First table: the listed video itself uploaded again (Meta's vPDQ sample videos as they are,
where ../shared/conformance has them; synthetic videos re-encoded, at three speeds of motion).

Then the evasion video: 673 frames at 30 fps (22.4 s), 320x240, H.264 (libx264, CRF 23) in MP4:
five shots, each a pan and zoom over a different photograph of bench/photoset.py (`--motion`
scales them), with hard cuts between them. The evader starts from the listed file, replaces k
frames with the frames at the same places of an unrelated video of the same kind (five other
photographs) and re-encodes, by one of:
- `5 device points +-r`: 5 of the 23 frames the device hashes, and r frames either side;
- `all device points +-r`: all 23, and r frames either side;
- `random frames`: k frames chosen at random;
- `one stretch`: k consecutive frames at a random place;
- `every n-th`: every n-th frame, from a random offset.
For each k (from small to large shares of the 673 frames) `--trials` arrangements are made
(each a new random draw, re-encoded, checked once: a new phase each time); a k *escapes* when
most trials are `allow`. The smallest escaping k is reported per strategy and sampler.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import av  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from photoset import photos  # noqa: E402
from takeitdown.hashing import hash_file, pdq_of_image, vpdq_match, vpdq_of_video  # noqa: E402
from takeitdown.hashing.scenes import query_sample  # noqa: E402
from takeitdown.node.db import Database  # noqa: E402
from takeitdown.node.matcher import Matcher  # noqa: E402
from takeitdown.node.store import NodeStore  # noqa: E402
from wire import feed_add  # noqa: E402

FPS = 30
FRAMES = 673
SIZE = (320, 240)
SHOTS = (150, 120, 143, 130, 130)  # frames a shot, 673 in all


def _pictures(count: int, skip: int) -> list[Image.Image]:
    """`count` textured pictures (whole-image quality >= 70) after the first `skip` such."""
    good = [im for _, im in photos() if (pdq_of_image(im).quality or 0) >= 70]
    return good[skip : skip + count]


def render(pictures: list[Image.Image], seed: int, motion: float = 1.0) -> np.ndarray:
    """FRAMES x H x W x 3: one slow pan-and-zoom shot per picture, hard cuts between them.
    `motion` scales the pan and the zoom of every shot (1: the centre moves up to 30% of the
    picture and the zoom changes by up to a third over a shot of 4-5 s)."""
    rng = random.Random(seed)
    out = np.zeros((FRAMES, SIZE[1], SIZE[0], 3), dtype=np.uint8)
    at = 0
    aspect = SIZE[0] / SIZE[1]
    for pic, n in zip(pictures, SHOTS, strict=True):
        w, h = pic.size
        cw0 = min(w, h * aspect)  # the largest crop of the video's aspect
        z0, z1 = rng.uniform(0.75, 0.95), rng.uniform(0.6, 0.8)  # zoom in or out over the shot
        if rng.random() < 0.5:
            z0, z1 = z1, z0
        c0 = (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
        c1 = (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
        z1 = z0 + (z1 - z0) * motion
        c1 = (c0[0] + (c1[0] - c0[0]) * motion, c0[1] + (c1[1] - c0[1]) * motion)
        for k in range(n):
            f = k / (n - 1)
            z = z0 + (z1 - z0) * f
            cw, ch = cw0 * z, cw0 * z / aspect
            cx = (c0[0] + (c1[0] - c0[0]) * f) * w
            cy = (c0[1] + (c1[1] - c0[1]) * f) * h
            x0 = min(max(cx - cw / 2, 0), w - cw)
            y0 = min(max(cy - ch / 2, 0), h - ch)
            frame = pic.resize(
                SIZE, Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch), reducing_gap=2.0
            )
            out[at + k] = np.asarray(frame)
        at += n
    return out


def encode(frames: np.ndarray, path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(
            "libx264", rate=FPS, options={"crf": "23", "preset": "veryfast", "threads": "1"}
        )
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])


def device_points() -> list[int]:
    """The frames `vpdq_of_video` hashes: the first at or after each whole second."""
    return sorted({math.ceil(s * FPS) for s in range(FRAMES) if math.ceil(s * FPS) < FRAMES})


# -- strategies: (parameter) -> frame indices to replace ----------------------------------------
def around_points(r: int, rng: random.Random) -> set[int]:
    return {i + d for i in device_points() for d in range(-r, r + 1) if 0 <= i + d < FRAMES}


def some_points(r: int, rng: random.Random) -> set[int]:
    """5 of the 23 device points (just over the 20% the rule allows to miss), r frames either side."""
    return {i + d for i in rng.sample(device_points(), 5) for d in range(-r, r + 1) if 0 <= i + d < FRAMES}


def random_frames(k: int, rng: random.Random) -> set[int]:
    return set(rng.sample(range(FRAMES), k))


def stretch(k: int, rng: random.Random) -> set[int]:
    start = rng.randint(0, FRAMES - k)
    return set(range(start, start + k))


def every_nth(n: int, rng: random.Random) -> set[int]:
    return set(range(rng.randrange(n), FRAMES, n))


SHARES = (0.02, 0.035, 0.05, 0.075, 0.10, 0.125, 0.15, 0.175, 0.20, 0.25, 0.30, 0.40, 0.50)
STRATEGIES = {
    "5 device points +-r": (some_points, [0, 1, 2, 3, 4, 6, 8, 11, 15]),
    "all device points +-r": (around_points, [0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 14]),
    "random frames": (random_frames, [round(s * FRAMES) for s in SHARES]),
    "one stretch": (stretch, [round(s * FRAMES) for s in SHARES]),
    "every n-th": (every_nth, [50, 30, 20, 15, 12, 10, 8, 7, 6, 5, 4, 3, 2]),
}
CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "vpdq" / "videos"
REAL = ("chair-orig-22-sd-bar.mp4", "doorknob-hd-no-bar.mp4", "pattern-hd-no-bar.mp4")
RULES = ("before", "main", "now")


class Node:
    """A node database with one listed video, listed as the device lists it."""

    def __init__(self, listed: Path, tmp: Path) -> None:
        self.vpdq = hash_file(listed).vpdq  # type: ignore[union-attr]
        db = Database(f"sqlite:///{tmp / f'{listed.stem}.db'}")
        db.migrate()
        store = NodeStore(db)
        self.m = Matcher(store)
        frames = self.vpdq.to_json()["frames"]
        self.m.apply(store.apply_page([feed_add(1, 1, "vpdq", "d" * 64, frames=frames)], 1))

    def verdicts(self, path: Path) -> dict[str, str]:
        """before: the query sampled as the device samples (the node's sampler before issue 17);
        main: 4 a second from a random phase plus cuts, as on main at 8a672c0 (the vPDQ rule
        alone: nothing else is listed); now: `Matcher.check_file`, this code."""

        def rule(query) -> str:  # type: ignore[no-untyped-def]
            return "review" if vpdq_match(query, self.vpdq).is_match else "allow"

        return {
            "before": rule(vpdq_of_video(path)),
            "main": rule(query_sample(path, device_frames=False).frames),
            "now": self.m.check_file(path).verdict,
        }

    def motion(self) -> float:
        f = [int(x.pdq, 16) for x in self.vpdq.frames]
        return float(np.median([bin(a ^ b).count("1") for a, b in zip(f, f[1:], strict=False)]))


def caught_table(tmp: Path, trials: int, pictures: list[Image.Image]) -> None:
    """Is the listed video itself caught, unchanged or re-encoded, before / on main / now?"""
    print("\nthe listed video itself, uploaded again: 'allow' counts (a new random phase each check)")
    print("| video | frames | median bits, device frames 1 s apart | upload | before | main | now |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    cases: list[tuple[str, Path, Path]] = []
    for name in REAL:
        if (CONFORMANCE / name).exists():
            cases.append((f"{name} (Meta's vPDQ sample)", CONFORMANCE / name, CONFORMANCE / name))
    for motion in (0.25, 0.5, 1.0):
        listed = encode(render(pictures, seed=1, motion=motion), tmp / f"synthetic-{motion}.mp4")
        again = encode(decode(listed), tmp / f"synthetic-{motion}-again.mp4")
        cases.append((f"synthetic, motion {motion}", listed, again))
    for label, listed, upload in cases:
        node = Node(listed, tmp)
        with av.open(str(listed)) as c:
            n = c.streams.video[0].frames
        got = [node.verdicts(upload) for _ in range(trials)]
        allow = {r: sum(g[r] == "allow" for g in got) for r in RULES}
        kind = "the same file" if upload == listed else "re-encoded"
        print(
            f"| {label} | {n} | {node.motion():.0f} | {kind} | "
            + " | ".join(f"{allow[r]}/{trials}" for r in RULES)
            + " |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3, help="arrangements (and phases) per k")
    ap.add_argument("--strategies", default="", help="comma-separated names (default: all)")
    ap.add_argument("--motion", type=float, default=0.25, help="pan/zoom speed of the evasion video")
    ap.add_argument("--skip-caught", action="store_true", help="skip the 'listed video itself' table")
    args = ap.parse_args()
    t_start = time.process_time()
    tmp = Path(tempfile.mkdtemp(prefix="evasion-"))
    pictures = _pictures(10, 0)
    if not args.skip_caught:
        caught_table(tmp, args.trials, pictures[:5])

    listed = encode(render(pictures[:5], seed=1, motion=args.motion), tmp / "listed.mp4")
    decoy = render(pictures[5:], seed=2, motion=args.motion)  # the unrelated video spliced in
    node = Node(listed, tmp)
    print(
        f"\nevasion: listed video {FRAMES} frames at {FPS} fps, {SIZE[0]}x{SIZE[1]}, motion {args.motion} "
        f"(median {node.motion():.0f} bits between device frames 1 s apart); device vPDQ "
        f"{len(node.vpdq.frames)} frames"
    )
    source = decode(listed)  # the evader starts from the listed file itself

    def trial(replaced: set[int]) -> tuple[dict[str, str], int]:
        frames = source.copy()
        idx = sorted(replaced)
        frames[idx] = decoy[idx]
        return node.verdicts(encode(frames, tmp / "upload.mp4")), len(idx)

    print(f"re-encoded, nothing replaced: {trial(set())[0]}")
    names = [s for s in STRATEGIES if not args.strategies or s in args.strategies.split(",")]
    rng = random.Random(17)
    summary = []
    print(f"\n{args.trials} trials a row; 'allow' counts (the evader escapes in that trial)")
    print("| strategy | parameter | frames replaced | share | before | main | now |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        make, params = STRATEGIES[name]
        first: dict[str, int | None] = dict.fromkeys(RULES)
        for param in params:
            results = [trial(make(param, rng)) for _ in range(args.trials)]
            k = round(float(np.mean([r[1] for r in results])))
            allow = {r: sum(v[r] == "allow" for v, _ in results) for r in RULES}
            print(
                f"| {name} | {param} | {k} | {k / FRAMES:.1%} | "
                + " | ".join(f"{allow[r]}/{args.trials}" for r in RULES)
                + " |",
                flush=True,
            )
            for r in RULES:
                if first[r] is None and allow[r] * 2 > args.trials:
                    first[r] = k
            if all(v is not None for v in first.values()):
                break
        summary.append((name, first))
    print("\nsmallest k that escapes (allow in most trials)")
    print("| strategy | before (1 fps from 0 s) | main (4 fps, phase, cuts) | now (main + device frames) |")
    print("| --- | --- | --- | --- |")
    for name, first in summary:
        cells = [
            f"{k} of {FRAMES} ({k / FRAMES:.1%})" if k is not None else "none up to the last k tried"
            for k in (first[r] for r in RULES)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\n{time.process_time() - t_start:.0f} CPU-s")


if __name__ == "__main__":
    main()
