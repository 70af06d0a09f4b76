"""Sync flood: memory and stalls of a fresh node applying 59 vPDQ entries of 36,000 frames each.

The attack (issue 11): one address submitted 59 cases with one 36,000-frame vPDQ each, a 215 MB
feed page. A fresh node needed 2.35 GB and 75 s to apply it, never got past it under a 2.5 GB
limit, and its parsing stalled the event loop. Here a loopback feed (tests/node/feed_server.py)
serves exactly that feed, with no byte cap, and a fresh node's Syncer applies it in a subprocess:

- `peak MB`: the process's peak RSS (VmHWM) while syncing;
- `index MB`: its RSS after the sync (the frame index and everything that stays);
- `above index`: peak minus that: what syncing costs on top of what the node keeps;
- `stall ms`: the longest a 5 ms sleeper thread overslept (what an event loop in the same
  process would have waited for the interpreter), and CPU seconds.

Runs the code on PYTHONPATH ("after") and, with --before REF, the same bench on `git archive REF`
of this repository ("before"), then prints both and the ratios:

    PYTHONPATH=src .venv/bin/python bench/sync_flood.py --before cdc9ce3
    PYTHONPATH=src .venv/bin/python bench/sync_flood.py --entries 10     # quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.node.feed_server import FloodFeed  # noqa: E402

CHILD = r"""
import json, os, resource, sys, threading, time
import httpx
from takeitdown.node.db import Database
from takeitdown.node.matcher import Matcher
from takeitdown.node.metrics import NodeMetrics
from takeitdown.node.store import NodeStore
from takeitdown.node.sync import Syncer

def rss_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")

url, db_url, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
db = Database(db_url); db.migrate()
store = NodeStore(db)
matcher = Matcher(store); matcher.load()
client = httpx.Client(base_url=url, timeout=600)
syncer = Syncer(store, matcher, client, NodeMetrics(), 1000, 1.0)
stall = [0.0]
done = threading.Event()
def sleeper():
    while not done.is_set():
        t = time.perf_counter(); time.sleep(0.005)
        stall[0] = max(stall[0], time.perf_counter() - t - 0.005)
threading.Thread(target=sleeper, daemon=True).start()
start_rss = rss_mb("VmRSS:")
wall, cpu = time.perf_counter(), time.process_time()
pages = 0
while time.perf_counter() - wall < deadline:
    pages += 1
    if not syncer.sync_once():
        break
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
done.set()
import gc; gc.collect()
out = {"seconds": wall, "cpu": cpu, "requests": pages, "start_mb": start_rss, "peak_mb": rss_mb("VmHWM:"),
       "index_mb": rss_mb("VmRSS:"), "stall_ms": stall[0] * 1000, "frames": matcher.size()["vpdq_frames"],
       "entries": store.counts().get("vpdq", 0), "cursor": syncer.cursor}
print("RESULT " + json.dumps(out))
"""


def run(src: Path, url: str, deadline: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="takeitdown-flood-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, url, f"sqlite:///{tmp}/node.db", str(deadline)],
            capture_output=True,
            text=True,
            env=env,
            timeout=deadline + 600,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise SystemExit(f"the sync subprocess failed:\n{proc.stderr[-3000:]}")


def extract(ref: str, into: Path) -> Path:
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "src"], check=True)
    with tarfile.open(archive) as t:
        t.extractall(into, filter="data")
    return into / "src"


def show(name: str, r: dict[str, Any]) -> None:
    above = r["peak_mb"] - r["index_mb"]
    print(
        f"{name:8} {r['entries']:>4}/{r['want']:<4} {r['seconds']:>8.1f} {r['cpu']:>7.1f} "
        f"{r['peak_mb']:>8.0f} {r['index_mb']:>8.0f} {above:>11.0f} {r['stall_ms']:>9.0f} {r['requests']:>8}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=59)
    ap.add_argument("--frames", type=int, default=36_000)
    ap.add_argument("--before", help="a git ref to measure too (the baseline), e.g. cdc9ce3")
    ap.add_argument("--deadline", type=float, default=600, help="seconds a sync may take")
    args = ap.parse_args()
    print(f"making the flood feed: {args.entries} vPDQ entries x {args.frames} frames ...", flush=True)
    with FloodFeed(args.entries, args.frames) as feed:
        size = len(feed.page(0, args.entries)) / 2**20
        print(f"the whole feed in one page: {size:.0f} MB", flush=True)
        results: dict[str, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory(prefix="takeitdown-before-") as tmp:
            runs = [("after", ROOT / "src")]
            if args.before:
                runs.insert(0, ("before", extract(args.before, Path(tmp))))
            for name, src in runs:
                served = feed.bytes_served
                results[name] = {**run(src, feed.url, args.deadline), "want": args.entries}
                results[name]["served_mb"] = (feed.bytes_served - served) / 2**20
                print(f"{name}: done ({results[name]['served_mb']:.0f} MB served)", flush=True)
    print(
        f"\n{'code':8} {'entries':>9} {'wall s':>8} {'CPU s':>7} {'peak MB':>8} {'index MB':>8} "
        f"{'above index':>11} {'stall ms':>9} {'requests':>8}"
    )
    for name, r in results.items():
        show(name, r)
    if "before" in results:
        b, a = results["before"], results["after"]
        ratio = (b["peak_mb"] - b["index_mb"]) / max(1.0, a["peak_mb"] - a["index_mb"])
        print(
            f"\nafter vs before: memory above the index {ratio:.1f}x less, "
            f"peak {b['peak_mb'] / a['peak_mb']:.1f}x less, "
            f"longest stall {b['stall_ms'] / max(1.0, a['stall_ms']):.1f}x shorter, "
            f"CPU {b['cpu'] / max(0.01, a['cpu']):.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
