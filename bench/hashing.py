"""Benchmark: `takeitdown hash` against a typical PDQ hasher on 12 MP phone photos.

Baseline (named "pillow-full+pdqhash"): decode each photo at full size with Pillow and run
`pdqhash.compute` on it, one process, as most PDQ hashers do. Ours: the `takeitdown hash --json`
command on the same folder, timed end to end (process start-up included), every core.

Prints images per second for both, their ratio, and the PDQ distance between the two hashes of
each photo (worst and 99th percentile). Goal: ratio >= 10 on a 2-core machine, 99% of hashes
within distance 8 of the baseline's.

    python bench/hashing.py [--count 100]
"""

from __future__ import annotations

import argparse
import json
import os
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


def baseline(paths: list[Path]) -> tuple[float, dict[str, PdqHash]]:
    start = time.perf_counter()
    hashes = {}
    for path in paths:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        bits, quality = pdqhash.compute(pixels)
        hashes[str(path)] = PdqHash.from_bits(bits, int(quality))
    return time.perf_counter() - start, hashes


def ours(paths: list[Path]) -> tuple[float, dict[str, PdqHash]]:
    command = [sys.executable, "-m", "takeitdown.cli", "hash", "--json", *map(str, paths)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    hashes = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        hashes[record["path"]] = PdqHash(record["pdq"], record["quality"])
    return elapsed, hashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="phone photos to hash (default 100)")
    args = parser.parse_args()

    paths = phone_photos(args.count)
    # Warm the page cache so both sides read from memory.
    for path in paths:
        path.read_bytes()

    print(f"hashing {len(paths)} photos of 4032x3024 (JPEG q90) on {os.cpu_count()} cores")
    base_time, base_hashes = baseline(paths)
    our_time, our_hashes = ours(paths)
    if set(base_hashes) != set(our_hashes):
        raise SystemExit("the two hashers did not hash the same files")

    base_rate = len(paths) / base_time
    our_rate = len(paths) / our_time
    distances = np.array([base_hashes[p].distance(our_hashes[p]) for p in base_hashes])
    print(f"baseline pillow-full+pdqhash (1 process): {base_rate:8.2f} images/s")
    print(f"takeitdown hash (all cores, CLI start-up): {our_rate:8.2f} images/s")
    print(f"ratio: {our_rate / base_rate:.1f}x   (goal >= 10x)")
    print(
        f"PDQ distance to baseline: median {np.median(distances):.0f}, "
        f"p99 {np.percentile(distances, 99):.0f}, worst {distances.max()}, "
        f"within 8: {100 * np.mean(distances <= 8):.1f}%   (goal: 99% within 8)"
    )


if __name__ == "__main__":
    main()
