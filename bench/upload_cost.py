"""Worst-case cost of one upload at the node: CPU seconds and peak MB, for the files of issue 11.

Each case runs in a fresh subprocess that sets up what it needs (not counted), then measures one
check the way `POST /v1/match` runs it (`Matcher.check_file` / `check_hashes`): CPU seconds of
the whole process (every decoder thread included) and the peak RSS above what it held before
(VmHWM, reset through /proc/self/clear_refs). Goal: each under 2 CPU-s and 300 MB.

- `4k-video`: a 119 KB-class 4K (3840x2160) H.264 video of 3,000 frames; every frame used to be
  decoded (20 s of CPU);
- `1bit-png`: a 1-bit 10000x10000 PNG of ~25 KB (it peaked at 575 MB);
- `vpdq-36k`: a 36,000-frame vPDQ query against a listed 36,000-frame video (93 s, 1.7 GB with a
  full query x target matrix).

    PYTHONPATH=src .venv/bin/python bench/load.py --uploads [--before REF]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import gc, json, sys, time
from pathlib import Path

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")

case, data = sys.argv[1], Path(sys.argv[2])
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.store import NodeStore
db = Database(f"sqlite:///{data / (case + '.db')}"); db.migrate()
store = NodeStore(db)
m = Matcher(store)
check = None
if case == "vpdq-36k":
    import random
    from takeitdown.protocol import FeedEntry, VpdqHash
    rng = random.Random(3)
    frames = [{"i": k, "t": float(k), "q": 100, "pdq": f"{rng.getrandbits(256):064x}"} for k in range(36000)]
    line = FeedEntry(1, "add", 1, "vpdq", "e" * 64, None, VpdqHash.parse(frames).frames).to_wire()
    m.apply(store.apply_page([json.loads(line)], 1))
    near = [{**f, "pdq": f"{int(f['pdq'], 16) ^ 0b10110:064x}"} for f in frames]
    query = VpdqHash.parse(near)
    check = lambda: m.check_hashes([query])
else:
    path = data / {"4k-video": "4k-3000.mp4", "1bit-png": "1bit-10000.png"}[case]
    check = lambda: m.check_file(path)
gc.collect()
base = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to now
cpu = time.process_time(); wall = time.perf_counter()
try:
    verdict = check().verdict
except Exception as e:
    verdict = f"refused: {type(e).__name__}: {e}"
cpu = time.process_time() - cpu; wall = time.perf_counter() - wall
peak = status("VmHWM:") - base
print("RESULT " + json.dumps({"cpu": cpu, "wall": wall, "peak_mb": peak, "verdict": verdict}))
"""

CASES = ("4k-video", "1bit-png", "vpdq-36k")


def make_files(data: Path, cases: tuple[str, ...] = CASES) -> None:
    """The attack files the cases need (made into `data`)."""
    from PIL import Image

    png = data / "1bit-10000.png"
    if "1bit-png" in cases and not png.exists():
        image = Image.new("1", (10000, 10000), 0)
        image.paste(1, (4000, 4000, 6000, 6000))  # one white square: a real, compressible picture
        image.save(png, optimize=True)
    mp4 = data / "4k-3000.mp4"
    if "4k-video" in cases and not mp4.exists():
        import av
        import numpy as np

        with av.open(str(mp4), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 3840, 2160, "yuv420p"
            stream.options = {"preset": "ultrafast", "crf": "51", "g": "600"}
            pixels = np.zeros((2160, 3840, 3), dtype=np.uint8)
            for n in range(3000):
                pixels[:] = 0
                x = (n * 7) % 3600
                pixels[1000:1100, x : x + 200] = 255  # a small moving box
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def run(src: Path, case: str, data: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(data)], capture_output=True, text=True, env=env, timeout=1800
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise SystemExit(f"{case} failed:\n{proc.stderr[-3000:]}")


def main(before: str | None = None, cases: tuple[str, ...] = CASES) -> int:
    with tempfile.TemporaryDirectory(prefix="takeitdown-uploads-") as tmp:
        data = Path(tmp)
        print("making the attack files (a 4K video of 3,000 frames takes a while) ...", flush=True)
        make_files(data, cases)
        for f in sorted(data.iterdir()):
            print(f"  {f.name}: {f.stat().st_size / 1024:.0f} KB")
        runs = [("after", ROOT / "src")]
        if before:
            old = data / "before"
            old.mkdir()
            archive = old / "src.tar"
            subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), before, "src"], check=True)
            with tarfile.open(archive) as t:
                t.extractall(old, filter="data")
            runs.insert(0, (f"before ({before})", old / "src"))
        print(f"\n{'upload':10} {'code':18} {'CPU s':>7} {'wall s':>7} {'peak MB':>8}  verdict")
        worst = {"cpu": 0.0, "peak_mb": 0.0}
        for case in cases:
            for name, src in runs:
                r = run(src, case, data)
                print(
                    f"{case:10} {name:18} {r['cpu']:>7.2f} {r['wall']:>7.2f} {r['peak_mb']:>8.0f}  "
                    f"{r['verdict']}"
                )
                if name == "after":
                    worst = {k: max(worst[k], r[k]) for k in worst}
        ok = worst["cpu"] < 2 and worst["peak_mb"] < 300
        print(
            f"\nworst case now: {worst['cpu']:.2f} CPU-s, {worst['peak_mb']:.0f} MB per upload "
            f"(goal: under 2 CPU-s and 300 MB): {'met' if ok else 'NOT met'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None, tuple(sys.argv[2:]) or CASES))
