"""How many of its 256 bits a real PDQ sets: the spread on the conformance set.

The registry refuses distributable PDQs outside 96..160 bits (registry/validation.py); this
prints what real hashes look like, to check that bound keeps its margin:

    python bench/pdq_bits.py            # photos and videos under ../shared/conformance
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from takeitdown.hashing import hash_file

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT.parent / "shared" / "conformance"


def main() -> None:
    if not CONFORMANCE.exists():
        sys.exit(f"no conformance folder at {CONFORMANCE}")
    counts: dict[str, list[tuple[int, int]]] = {"photo": [], "our vpdq frame": [], "meta vpdq frame": []}
    for f in sorted((CONFORMANCE / "vpdq").rglob("*.txt")):
        for line in f.read_text().splitlines():
            parts = line.strip().split(",")
            if len(parts) >= 3 and len(parts[2]) == 64:
                counts["meta vpdq frame"].append((int(parts[2], 16).bit_count(), int(parts[1])))
    for f in sorted(CONFORMANCE.rglob("*")):
        if f.is_dir() or f.suffix in (".json", ".txt", ".md"):
            continue
        try:
            r = hash_file(f)
        except Exception:  # noqa: BLE001 - unreadable test inputs are part of the set
            continue
        if hasattr(r, "pdq"):
            counts["photo"].append((r.pdq.bit_count(), r.pdq.quality or 0))
        else:
            counts["our vpdq frame"].extend((fr.hash.bit_count(), fr.q) for fr in r.vpdq.frames)
    print(f"{'what':<16} {'n':>6} {'min':>4} {'max':>4} {'mean':>6} {'sd':>5}   (quality >= 50)")
    for kind, rows in counts.items():
        bits = [b for b, q in rows if q >= 50]
        if bits:
            print(
                f"{kind:<16} {len(bits):>6} {min(bits):>4} {max(bits):>4} "
                f"{statistics.mean(bits):>6.1f} {statistics.pstdev(bits):>5.1f}"
            )


if __name__ == "__main__":
    main()
