"""Benchmark: `takeitdown hash` against a typical PDQ hasher on 12 MP phone photos, in CPU time.

Baseline (named "pillow-full+pdqhash"): decode each photo at full size with Pillow and run
`pdqhash.compute` on it, in this process, as most PDQ hashers do. Ours: the `takeitdown hash
--json` command on the same files, end to end: process start-up, imports, reading, MD5 and
SHA-256, the whole-image PDQ and its two window PDQs, and its worker processes.

The figure that counts is CPU seconds per photo (process CPU time, user + system, children
included), which does not depend on how many cores the machine has or how busy it is; wall
time is printed beside it. Also printed: the PDQ distance between the two hashes of each
photo. Goal: ratio >= 10 in CPU per photo, 99% of hashes within distance 8 of the baseline's.
`--windows` also checks the window hashes against the reference PDQ of the same full-size crop.

    python bench/hashing.py [--count 100] [--windows]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phone_photos import phone_photos  # noqa: E402
from takeitdown.hashing import PdqHash  # noqa: E402
from takeitdown.hashing.windows import WINDOW_PERCENTS, window_box  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reference(image: Image.Image) -> PdqHash:
    bits, quality = pdqhash.compute(np.asarray(image))
    return PdqHash.from_bits(bits, int(quality))


def baseline(paths: list[Path]) -> tuple[float, float, dict[str, PdqHash]]:
    """(CPU seconds, wall seconds, hashes) of the baseline, in this process."""
    cpu, wall = time.process_time(), time.perf_counter()
    hashes = {str(path): _reference(Image.open(path).convert("RGB")) for path in paths}
    return time.process_time() - cpu, time.perf_counter() - wall, hashes


def ours(paths: list[Path]) -> tuple[float, float, dict[str, dict]]:
    """(CPU seconds, wall seconds, records) of `takeitdown hash --json`, children included."""
    command = [sys.executable, "-m", "takeitdown.cli", "hash", "--json", *map(str, paths)]
    cpu, wall = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    cpu, wall = _children_cpu() - cpu, time.perf_counter() - wall
    return cpu, wall, {r["path"]: r for r in map(json.loads, done.stdout.splitlines())}


def _summary(distances: np.ndarray) -> str:
    return (
        f"median {np.median(distances):.0f}, p99 {np.percentile(distances, 99):.0f}, "
        f"worst {distances.max()}, within 8: {100 * np.mean(distances <= 8):.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="phone photos to hash (default 100)")
    parser.add_argument("--windows", action="store_true", help="also check the window hashes")
    args = parser.parse_args()

    paths = phone_photos(args.count)
    for path in paths:  # warm the page cache so both sides read from memory
        path.read_bytes()

    n = len(paths)
    print(
        f"hashing {n} photos of 4032x3024 (JPEG q90); {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    base_cpu, base_wall, base_hashes = baseline(paths)
    our_cpu, our_wall, records = ours(paths)
    if set(base_hashes) != set(records):
        raise SystemExit("the two hashers did not hash the same files")

    print(f"{'':44s} {'CPU s/photo':>12s} {'wall photos/s':>14s}")
    print(f"{'baseline pillow-full+pdqhash (1 process)':44s} {base_cpu / n:12.4f} {n / base_wall:14.2f}")
    print(f"{'takeitdown hash --json (start-up included)':44s} {our_cpu / n:12.4f} {n / our_wall:14.2f}")
    print(
        f"ratio, CPU per photo: {base_cpu / our_cpu:.1f}x   (goal >= 10x)   wall: {base_wall / our_wall:.1f}x"
    )
    whole = np.array([base_hashes[p].distance(PdqHash(r["pdq"], r["quality"])) for p, r in records.items()])
    print(f"PDQ distance to baseline: {_summary(whole)}   (goal: 99% within 8)")
    if args.windows:
        for percent in WINDOW_PERCENTS:
            distances = []
            for path in paths:
                image = Image.open(path).convert("RGB")
                reference = _reference(image.crop(window_box(image.width, image.height, percent)))
                ours_hash = records[str(path)]["windows"][f"pdq{percent}"]
                distances.append(reference.distance(PdqHash(ours_hash, reference.quality)))
            print(f"pdq{percent} window vs reference crop: {_summary(np.array(distances))}")


if __name__ == "__main__":
    main()
