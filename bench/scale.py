"""Scale benchmark: the backlog scan on each engine, where an item's time goes, the sharded
retro-match, and from those measurements a projection for 1 billion items.

    .venv/bin/python bench/scale.py            # 24 photos a run, 10M inventory items (a few minutes)
    .venv/bin/python bench/scale.py --quick    # 8 photos a run, 1M inventory items

1. Per-item cost split, one process, CPU time (time.process_time), on generated 12 MP phone
   photos (bench/phone_photos.py, 4032x3024 JPEG q90): read (the file's bytes, from the page
   cache), decode (Pillow, with JPEG draft mode as the node decodes), hash (MD5 + PDQ of the 8
   rotations and flips) and match (Matcher.check against --entries random PDQ entries).
2. Scan throughput, wall time, the same photos through `scan.scan` with `LocalEngine` (2
   processes; pool start included, as every scan pays it) and `RayEngine` (a Ray instance on
   this machine with 2 CPUs, already running as a cluster would be; warmed once). Runs
   alternate, best of --rounds; the ratio ray/local is the Ray engine's overhead (goal <= 1.2).
3. Sharded retro-match: --inventory random PDQ codes as hosted items over --shards Ray actors,
   then --entries-new new feed entries (half near copies of hosted items) matched on every shard
   at once. Build time, match time, bytes an item.
4. The projection: the measured per-item CPU cost and Ray overhead scaled to 1e9 items on
   clusters of several sizes, and the inventory's memory and shard count at 1e9 items.

Prints a Markdown table for docs/scale.md. The machine is shared: CPU times are steadier than
wall times; both are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from takeitdown.hashing import (  # noqa: E402
    Md5Hash,  # noqa: E402
    load_image,
    pdq_dihedral,
)
from takeitdown.node.db import Database  # noqa: E402
from takeitdown.node.matcher import ItemHashes, Matcher  # noqa: E402
from takeitdown.node.store import Entry, NodeStore  # noqa: E402
from wire import feed_adds  # noqa: E402

BILLION = 1_000_000_000


def random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def node_with_entries(tmp: str, n: int) -> tuple[Database, Matcher]:
    db = Database(f"sqlite:///{tmp}/node.db")
    db.migrate()
    store = NodeStore(db)
    rng = np.random.default_rng(3)
    codes = random_codes(rng, n)
    page = feed_adds(("pdq", codes[i].tobytes().hex(), 90) for i in range(n))
    store.apply_page(page, n)
    m = Matcher(store)
    m.load()
    return db, m


def cost_split(paths: list[Path], matcher: Matcher) -> dict[str, float]:
    """Mean CPU seconds a photo for each step, one process."""
    tot = {"read": 0.0, "decode": 0.0, "hash": 0.0, "match": 0.0}
    for p in paths:
        t0 = time.process_time()
        data = p.read_bytes()
        t1 = time.process_time()
        image = load_image(data)
        t2 = time.process_time()
        md5 = Md5Hash.parse(hashlib.md5(data).hexdigest())
        pdqs = pdq_dihedral(image)
        t3 = time.process_time()
        matcher.check(ItemHashes(md5=md5, pdq=pdqs))
        t4 = time.process_time()
        for k, a, b in (("read", t0, t1), ("decode", t1, t2), ("hash", t2, t3), ("match", t3, t4)):
            tot[k] += b - a
    return {k: v / len(paths) for k, v in tot.items()}


def _descendants_cpu() -> float:
    """CPU seconds used so far by every live process below this one (Ray's raylet, GCS, workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(d))
        cpu[int(d)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def _cpu_now(engine: str) -> float:
    """This process's CPU, plus the local pool's exited workers or Ray's live processes."""
    import resource

    own = time.process_time()
    if engine == "local":
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own + ru.ru_utime + ru.ru_stime
    return own + _descendants_cpu()


def engine_runs(paths: list[Path], matcher: Matcher, rounds: int) -> dict[str, tuple[float, float]]:
    """For each engine, over `rounds` alternating runs (a fresh source folder each): the best
    photos/s (wall) and the least CPU seconds a photo, counting every process the engine uses."""
    from takeitdown.node.engines import LocalEngine
    from takeitdown.node.ray_engine import RayEngine
    from takeitdown.node.scan import scan

    best = {"local": 0.0, "ray": 0.0}
    cpu = {"local": float("inf"), "ray": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        run = 0

        def folder(n: int) -> Path:
            nonlocal run
            run += 1
            d = Path(tmp) / f"run-{run}"
            d.mkdir()
            for p in paths[:n]:
                (d / p.name).symlink_to(p.resolve())
            return d

        ray_engine = RayEngine()
        scan(folder(4), matcher, engine=ray_engine)  # warm: workers up, matcher shipped once
        c0, t0 = _cpu_now("ray") - time.process_time(), time.perf_counter()
        time.sleep(10)
        idle = (_cpu_now("ray") - time.process_time() - c0) / (time.perf_counter() - t0)
        print(f"  Ray's own processes, idle: {idle * 1000:.0f} ms CPU a second", flush=True)
        for r in range(rounds):
            for name in ("local", "ray") if r % 2 == 0 else ("ray", "local"):
                engine = LocalEngine(2) if name == "local" else ray_engine
                src = folder(len(paths))
                c0 = _cpu_now(name)
                s = scan(src, matcher, engine=engine)
                c = (_cpu_now(name) - c0) / s.scanned
                print(
                    f"  {name}: {s.scanned} photos in {s.seconds:.1f}s = {s.per_second:.2f}/s wall, "
                    f"{c * 1000:.0f} ms CPU a photo",
                    flush=True,
                )
                best[name] = max(best[name], s.per_second)
                cpu[name] = min(cpu[name], c)
                if name == "ray":
                    net = c - idle * s.seconds / s.scanned
                    print(f"    less Ray's idle background: {net * 1000:.0f} ms CPU a photo", flush=True)
                    cpu["ray_net"] = min(cpu.get("ray_net", float("inf")), net)
    return {**{k: (best[k], cpu[k]) for k in best}, "ray_net": (0.0, cpu["ray_net"])}


def retro_match(n_items: int, n_entries: int, shards: int) -> dict[str, float]:
    from takeitdown.node.sharded_inventory import ShardedInventory

    rng = np.random.default_rng(11)
    inv = ShardedInventory(shards, cpus=0.5)
    try:
        t = time.perf_counter()
        step = 1_000_000
        planted = []
        for start in range(0, n_items, step):
            k = min(step, n_items - start)
            codes = random_codes(rng, k)
            if len(planted) < n_entries // 2:
                take = rng.choice(k, size=min(k, n_entries // 2 - len(planted)), replace=False)
                planted += [codes[i].copy() for i in take]
            inv.add_codes([f"i{start + j}" for j in range(k)], codes)
        load_s = time.perf_counter() - t
        queries = random_codes(rng, n_entries)
        for i, row in enumerate(planted):  # near copies: 1 to 31 bits flipped
            for b in rng.choice(256, size=int(rng.integers(1, 32)), replace=False):
                row[b // 8] ^= np.uint8(1 << (b % 8))
            queries[i] = row
        entries = [Entry(i + 1, "pdq", q.tobytes().hex(), 90) for i, q in enumerate(queries)]
        t = time.perf_counter()
        inv.match_entries(entries[:10])  # the first call builds each shard's index
        build_s = time.perf_counter() - t
        cpu0 = inv.cpu_seconds()
        t = time.perf_counter()
        hits = inv.match_entries(entries)
        match_s = time.perf_counter() - t
        shard_cpu = max(b - a for a, b in zip(cpu0, inv.cpu_seconds(), strict=True))
        sizes = inv.sizes()
    finally:
        inv.close()
    found = len({h.entry_id for h in hits if h.entry_id <= len(planted)})
    return {
        "load_s": load_s,
        "build_s": build_s,
        "match_s": match_s,
        "shard_cpu_s": shard_cpu,
        "hits": len(hits),
        "planted_found": found / max(len(planted), 1),
        "bytes_per_item": sum(b for _, b in sizes) / max(sum(n for n, _ in sizes), 1),
        "items": sum(n for n, _ in sizes),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="8 photos, 1M inventory items")
    ap.add_argument("--photos", type=int, default=None)
    ap.add_argument("--entries", type=int, default=100_000, help="PDQ entries on the node's list")
    ap.add_argument("--inventory", type=int, default=None, help="inventory items (default 10M, quick 1M)")
    ap.add_argument("--entries-new", type=int, default=10_000, help="new feed entries to retro-match")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-retro", action="store_true", help="skip the sharded retro-match")
    args = ap.parse_args()
    photos = args.photos or (8 if args.quick else 24)
    inventory = args.inventory or (1_000_000 if args.quick else 10_000_000)

    import ray

    from phone_photos import phone_photos

    print(f"== photos: {photos} generated 12 MP phone photos", flush=True)
    paths = phone_photos(photos)
    with tempfile.TemporaryDirectory() as tmp:
        db, matcher = node_with_entries(tmp, args.entries)
        print(f"== cost split, one process, CPU s a photo (list of {args.entries:,} PDQ entries)", flush=True)
        cost_split(paths[:2], matcher)  # warm (numba, caches)
        split = cost_split(paths, matcher)
        per_item = sum(split.values())
        for k, v in split.items():
            print(f"  {k}: {v * 1000:.1f} ms ({v / per_item:.0%})")
        print(f"  total: {per_item * 1000:.1f} ms a photo", flush=True)

        ray_tmp = tempfile.mkdtemp(prefix="tid-bench-ray-", dir="/tmp")
        ray.init(
            address="local", num_cpus=2, object_store_memory=400 * 2**20, include_dashboard=False,
            log_to_driver=False, _temp_dir=ray_tmp,
        )  # fmt: skip
        try:
            print("== scan throughput, wall time (2 processes / a 2-CPU Ray instance)", flush=True)
            runs = engine_runs(paths, matcher, args.rounds)
            (local, local_cpu), (remote, ray_cpu) = runs["local"], runs["ray"]
            overhead = ray_cpu / local_cpu
            net = runs["ray_net"][1] / local_cpu
            print(
                f"  best: local {local:.2f}/s {local_cpu * 1000:.0f} ms CPU, ray {remote:.2f}/s "
                f"{ray_cpu * 1000:.0f} ms CPU; Ray overhead (CPU a photo) {overhead:.2f}x, wall "
                f"{local / remote:.2f}x; less Ray's idle background {net:.2f}x",
                flush=True,
            )
            db.dispose()
            print(f"== sharded retro-match: {args.entries_new:,} new entries against {inventory:,} items "
                  f"on {args.shards} shards", flush=True)  # fmt: skip
            if args.no_retro:
                return
            rm = retro_match(inventory, args.entries_new, args.shards)
            print(
                f"  load {rm['load_s']:.1f}s, index build {rm['build_s']:.1f}s, match {rm['match_s']:.2f}s "
                f"wall, {rm['shard_cpu_s']:.2f}s CPU on the busiest shard "
                f"({args.entries_new / rm['match_s']:,.0f} entries/s), {rm['hits']} hits, planted found "
                f"{rm['planted_found']:.1%}, {rm['bytes_per_item']:.1f} bytes an item",
                flush=True,
            )
        finally:
            ray.shutdown()
    projection(split, per_item, overhead, net, rm, inventory, args.shards, args.entries_new)


def projection(
    split: dict[str, float], per_item: float, overhead: float, net: float, rm: dict[str, float],
    inventory: int, shards: int, entries_new: int,
) -> None:  # fmt: skip
    over = max(overhead, 1.0)
    print("\n== projection for 1e9 items (from the figures above; Markdown for docs/scale.md)\n")
    print("| measured here | value |\n| --- | --- |")
    for k, v in split.items():
        print(f"| {k}, CPU a photo | {v * 1000:.1f} ms |")
    print(f"| scan CPU a photo, all steps | {per_item * 1000:.1f} ms |")
    print(f"| Ray engine overhead (CPU a photo, Ray engine / local engine) | {overhead:.2f}x |")
    print(f"| the same, less the CPU Ray's own processes use when idle | {net:.2f}x |")
    per_shard = inventory / shards
    what = f"retro-match, {entries_new:,} entries, {inventory:,} items on {shards} shards"
    print(f"| {what}: wall / CPU of the busiest shard | {rm['match_s']:.2f} s / {rm['shard_cpu_s']:.2f} s |")
    print(f"| inventory bytes an item (one PDQ code) | {rm['bytes_per_item']:.1f} B |")
    print("\n| cluster (cores) | 1e9 photos take | items/s |\n| --- | --- | --- |")
    for cores in (100, 1_000, 5_000, 20_000):
        secs = BILLION * per_item * over / cores
        print(f"| {cores:,} | {_duration(secs)} | {cores / (per_item * over):,.0f} |")
    for days in (1, 7, 30):
        cores = BILLION * per_item * over / (days * 86_400)
        print(f"| {cores:,.0f} cores to finish in {days} day{'s' if days > 1 else ''} | | |")
    one = rm["bytes_per_item"] * BILLION
    eight = (rm["bytes_per_item"] + 7 * 64) * BILLION  # 7 more orientations a picture, 64 B a code
    shards_1b = BILLION / per_shard
    print("\n| inventory at 1e9 items | value |\n| --- | --- |")
    print(f"| memory, one PDQ an item | {one / 2**30:,.0f} GiB |")
    print(f"| memory, 8 orientations a picture (as scans check) | {eight / 2**30:,.0f} GiB |")
    print(f"| shards of {per_shard:,.0f} items (as measured) | {shards_1b:,.0f} |")
    print(
        f"| retro-match of {entries_new:,} entries, one core a shard | about {rm['shard_cpu_s']:.1f} s "
        "(each shard does what a measured shard did, all at once) |"
    )


def _duration(secs: float) -> str:
    if secs >= 2 * 86_400:
        return f"{secs / 86_400:,.1f} days"
    if secs >= 2 * 3_600:
        return f"{secs / 3_600:,.1f} hours"
    return f"{secs / 60:,.0f} minutes"


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
