"""Fetching the feed through the python-threatexchange extension, against the node's own sync.

One real registry (SQLite, filled through its own store like bench/registry.py), one platform key,
then three readers of the same feed, each in its own process so that its time, CPU time and
peak memory (ru_maxrss of that process) are its own:

  * node sync (the baseline): `takeitdown node`'s Syncer.sync_once until caught up: pages into
    the node's SQLite store and its in-memory index;
  * extension, HMA-style: TakeItDownSignalExchangeAPI.fetch_iter, deltas merged with
    dict.update and handed off every 5,000 records (what HMA's fetcher does before its commit);
  * extension + in-memory merge: the library's naive_fetch_merge into one dict (the whole list
    as records, what the CLI keeps);
  * threatexchange CLI: `threatexchange fetch --skip-index-rebuild` (the same, plus the CLI's
    pickle of the state on disk). Skipped with --no-cli.

Each line prints wall seconds, CPU seconds, peak RSS, and the ratio to the node sync.

    python bench/threatexchange.py                       # 1,000,000 entries
    python bench/threatexchange.py --entries 100000      # a quick run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import registry as registry_bench  # noqa: E402 - bench/registry.py: the feed filler and server
from takeitdown.registry.db import Database  # noqa: E402
from takeitdown.registry.store import Store  # noqa: E402

NODE = """
import sys, time
from takeitdown.node.service import Node, NodeSettings
url, key, db, page = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
node = Node(NodeSettings(registry_url=url, api_key=key, database_url=db, page_size=page))
t0 = time.perf_counter()
while node.syncer.sync_once():
    pass
print(node.store.cursor(), node.matcher.size(), round(time.perf_counter() - t0, 2))
"""

EXTENSION = """
import sys, time
from takeitdown.threatexchange import TakeItDownCollabConfig, TakeItDownSignalExchangeAPI
from takeitdown.threatexchange.exchange import RegistryClient
url, key, page, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "keep"
collab = TakeItDownCollabConfig("bench", "takeitdown", True, url, page)
api = TakeItDownSignalExchangeAPI(collab, RegistryClient(url, key))
state, pending, seen, t0 = {}, {}, 0, time.perf_counter()
for delta in api.fetch_iter([], None):
    if keep:
        api.naive_fetch_merge(state, delta.updates)
    else:  # HMA: merge deltas with dict.update, commit (here: drop) every 5,000 records
        pending.update(delta.updates)
        if len(pending) >= 5000:
            seen += len(pending)
            pending = {}
    cursor = delta.checkpoint.cursor
print(cursor, len(state) if keep else seen + len(pending), round(time.perf_counter() - t0, 2))
"""


def run_child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one child, reaped with wait4 to read its own rusage."""
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out_f, stderr=err_f, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out_f.seek(0)
        err_f.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:3])} failed: {err_f.read().decode()[-2000:]}")
        out = out_f.read().decode().strip()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--page-size", type=int, default=10_000)
    ap.add_argument("--no-cli", action="store_true", help="skip the threatexchange CLI run")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tid-bench-tx-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'registry.db'}"
        db = Database(url)
        db.migrate()
        t0 = time.perf_counter()
        filled = registry_bench.fill_feed(Store(db), opts.entries)
        db.dispose()
        print(f"filled {filled:,} feed entries in {time.perf_counter() - t0:.1f} s")
        key = subprocess.run(
            [sys.executable, "-m", "takeitdown.cli", "registry", "platform", "add", "bench",
             "--database-url", url],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        proc, port = registry_bench.start_server(url, work)
        registry = f"http://127.0.0.1:{port}"
        rows: list[tuple[str, float, float, float, str]] = []
        try:
            node_db = f"sqlite:///{work / 'node.db'}"
            node = run_child([sys.executable, "-c", NODE, registry, key, node_db, str(opts.page_size)])
            rows.append(("node sync (baseline)", *node))
            for mode, name in (
                ("stream", "extension, HMA-style commits"),
                ("keep", "extension + in-memory merge"),
            ):
                ext = run_child([sys.executable, "-c", EXTENSION, registry, key, str(opts.page_size), mode])
                rows.append((name, *ext))
            if not opts.no_cli:
                env = {**os.environ, "TX_STATEDIR": str(work / "tx"), "TX_TAKEITDOWN_API_KEY": key}
                tx = [sys.executable, "-m", "threatexchange"]
                subprocess.run([*tx, "config", "extensions", "add", "takeitdown.threatexchange"],
                               env=env, check=True, capture_output=True)  # fmt: skip
                subprocess.run([*tx, "config", "collab", "edit", "takeitdown", "bench", "--create",
                                "--registry-url", registry, "--page-size", str(opts.page_size)],
                               env=env, check=True, capture_output=True)  # fmt: skip
                cli = run_child([*tx, "fetch", "--skip-index-rebuild"], env)
                rows.append(("threatexchange fetch (CLI)", *cli))
        finally:
            proc.terminate()
            proc.wait(15)

    base_wall, base_cpu = rows[0][1], rows[0][2]
    print(f"\n{opts.entries:,} entries, pages of {opts.page_size:,}; one process each; ratio = x / node sync")
    print(f"{'reader':32} {'wall s':>8} {'CPU s':>8} {'peak MB':>9} {'wall x':>7} {'CPU x':>7}  output")
    for name, wall, cpu, rss, out in rows:
        print(
            f"{name:32} {wall:8.1f} {cpu:8.1f} {rss:9.0f} {wall / base_wall:7.2f} {cpu / base_cpu:7.2f}  "
            + textwrap.shorten(out, 60)
        )


if __name__ == "__main__":
    main()
