"""Registry benchmark: case submissions/s and feed entries/s, over HTTP and raw, SQLite and PostgreSQL.

For each database it starts a real registry (`takeitdown serve` in a subprocess) and measures:
  * case submissions per second: cases of 4 hashes (2 images, PDQ + MD5 each), 16 concurrent
    clients on keep-alive connections, against the raw rate of the same inserts done directly
    through the registry's store (SQLAlchemy, no HTTP) from 16 threads, one case a transaction;
  * feed entries per second: a full read of the feed (default 1,000,000 entries) following
    `next` with limit=10000 (pages also end at 1 MiB of entries) and parsing each page, against
    the raw rate of the same paged reads through the registry's store (`Store.read_page`,
    SQLAlchemy, no HTTP, no JSON).
The feed is filled through the store's own code (`create_cases`, then `publish_pending` as the
server's publisher does), so its rows are exactly what the registry writes.
Each line prints the HTTP rate, the raw rate and their ratio (HTTP / raw).

Goal on SQLite on the project machine: >= 1,000 submissions/s and the 1M feed read in < 10 s.

    python bench/registry.py                      # 1,000,000 feed entries, SQLite + PostgreSQL
    python bench/registry.py --entries 100000 --cases 2000 --only sqlite   # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from takeitdown.registry.db import Database
from takeitdown.registry.store import Store
from takeitdown.registry.validation import parse_items
from wire import random_image_item  # bench/wire.py: through takeitdown.protocol

PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CLIENTS = 16
FEED_LIMIT = 10_000  # entries a page asks for (the API's maximum)
FEED_MAX_BYTES = 1024 * 1024  # the byte bound of a page, the same for the server and the store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def case_items() -> list[dict[str, Any]]:
    return [random_image_item() for _ in range(2)]


# -- the server --------------------------------------------------------------------------------


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    # One client address; each submission published at once, as the raw baseline does.
    env = {
        **os.environ,
        "TAKEITDOWN_CASE_RATE_PER_MINUTE": "0",
        "TAKEITDOWN_PUBLISH_INTERVAL": "0",
        "TAKEITDOWN_FEED_MAX_BYTES": str(FEED_MAX_BYTES),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "takeitdown.cli", "serve", "--port", str(port), "--database-url", url],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "server.err").open("wb"),
        cwd=workdir,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the registry did not start: {(workdir / 'server.err').read_text()[-2000:]}")


# -- submissions -------------------------------------------------------------------------------


async def _submit_worker(port: int, bodies: list[bytes]) -> None:
    """One keep-alive HTTP/1.1 connection posting its bodies one after another.

    A minimal client on purpose: on a 2-core machine a heavy client library would measure
    itself more than the server.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST /v1/cases HTTP/1.1\r\nHost: registry\r\nContent-Type: application/json\r\nContent-Length: "
    for body in bodies:
        writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        reply = await reader.readexactly(length)
        if b" 201 " not in status:
            raise SystemExit(f"submission failed: {status!r} {reply[:300]!r}")
    writer.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_submissions(port: int, n: int) -> float:
    bodies = [json.dumps({"items": case_items()}).encode() for _ in range(n)]
    per = [bodies[i::CLIENTS] for i in range(CLIENTS)]

    async def run() -> None:
        await asyncio.gather(*(_submit_worker(port, b) for b in per))

    t0 = time.perf_counter()
    asyncio.run(run())
    return n / (time.perf_counter() - t0)


def raw_submissions(store: Store, n: int) -> float:
    cases = [parse_items([(i["kind"], i["hashes"]) for i in case_items()]) for _ in range(n)]
    per = [cases[i::CLIENTS] for i in range(CLIENTS)]

    def work(mine: list[Any]) -> None:
        for case in mine:
            store.create_cases([case])

    threads = [threading.Thread(target=work, args=(p,)) for p in per]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n / (time.perf_counter() - t0)


# -- the feed ----------------------------------------------------------------------------------


def fill_feed(store: Store, target: int, batch: int = 5000) -> int:
    """Grow the feed to at least `target` entries through the registry's own code.

    Cases of 4 hashes (2 images, PDQ + MD5: half the entries PDQ with quality, half MD5) are
    validated by `parse_items`, stored by `Store.create_cases` in transactions of `batch` cases
    and published by `publish_pending`, as the server's publisher does: random order, each row's
    JSON line, byte size and running hash. So the rows stay what the registry writes however the
    store evolves. Returns the last seq.
    """
    filler = Store(store.db, publish_at_once=False, feed_max_bytes=store.feed_max_bytes)
    have = filler.last_seq()
    shown = time.monotonic()
    while have < target:
        n = min(batch, -(-(target - have) // 4))
        filler.create_cases([parse_items([(i["kind"], i["hashes"]) for i in case_items()]) for _ in range(n)])
        filler.publish_pending()
        have = filler.last_seq()
        if time.monotonic() - shown > 10:
            print(f"  ... {have:,} entries", file=sys.stderr, flush=True)
            shown = time.monotonic()
    if not store.db.is_sqlite:
        with store.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE feed")
            conn.exec_driver_sql("VACUUM ANALYZE entries")
    return have


def http_feed(port: int, key: str) -> tuple[int, float]:
    after, count = 0, 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}) as c:
        t0 = time.perf_counter()
        while True:
            r = c.get("/v1/feed", params={"after": after, "limit": FEED_LIMIT})
            r.raise_for_status()
            page = json.loads(r.content)
            count += len(page["entries"])
            after = page["next"]
            if not page["more"]:
                break
        return count, time.perf_counter() - t0


def raw_feed(store: Store) -> tuple[int, float]:
    """The same paged reads as the API (`Store.read_page`: sizes, then the lines up to the byte
    bound), rows fetched, no JSON, no HTTP."""
    after, count = 0, 0
    t0 = time.perf_counter()
    while True:
        page = store.read_page(after, FEED_LIMIT)
        count += len(page.lines)
        after = page.next
        if not page.more:
            break
    return count, time.perf_counter() - t0


# -- one database ------------------------------------------------------------------------------


def bench_database(
    name: str, url: str, cases: int, entries: int, workdir: Path
) -> list[tuple[str, float, float]]:
    db = Database(url)
    db.migrate()
    store = Store(db, publish_at_once=True, feed_max_bytes=FEED_MAX_BYTES)
    key = store.platform_add("bench")
    proc, port = start_server(url, workdir)
    try:
        print(f"[{name}] submissions: {cases} cases over HTTP ...", file=sys.stderr, flush=True)
        cpu0 = cpu_seconds(proc.pid)
        http_sub = http_submissions(port, cases)
        server_cpu_ms = (cpu_seconds(proc.pid) - cpu0) * 1000 / cases
        print(f"[{name}] submissions: {cases} cases raw ...", file=sys.stderr, flush=True)
        raw_sub = raw_submissions(store, cases)
        print(f"[{name}] filling the feed to {entries:,} entries ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        fill_feed(store, entries)
        print(f"[{name}]   filled in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        raw_count, raw_s = raw_feed(store)
        cpu0 = cpu_seconds(proc.pid)
        http_count, http_s = http_feed(port, key)
        feed_cpu_s = cpu_seconds(proc.pid) - cpu0
        assert http_count == raw_count, (http_count, raw_count)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        db.dispose()
    rows: list[Any] = [
        ("case submissions/s (4 hashes, 16 clients)", http_sub, raw_sub),
        ("  server CPU ms per submission (HTTP)", server_cpu_ms, float("nan")),
        (f"feed entries/s (full read of {http_count:,})", http_count / http_s, raw_count / raw_s),
        (f"  full feed read, seconds ({http_count:,})", http_s, raw_s),
        http_count,
        feed_cpu_s,
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="feed size for the read test")
    parser.add_argument("--cases", type=int, default=5000, help="cases to submit (each way)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="run one database only")
    args = parser.parse_args()

    results: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="takeitdown-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "sqlite"):
            results["sqlite"] = bench_database(
                "sqlite", f"sqlite:///{work / 'bench.db'}", args.cases, args.entries, work
            )
        if args.only in (None, "postgresql"):
            try:
                import psycopg

                dbname = f"takeitdown_bench_{secrets.token_hex(4)}"
                with psycopg.connect(PG, autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{dbname}"')
            except Exception as exc:  # noqa: BLE001
                print(
                    f"PostgreSQL skipped: not reachable at 127.0.0.1:5432 ({type(exc).__name__})",
                    file=sys.stderr,
                )
            else:
                try:
                    results["postgresql"] = bench_database(
                        "postgresql",
                        f"postgresql://postgres@127.0.0.1:5432/{dbname}",
                        args.cases,
                        args.entries,
                        work,
                    )
                finally:
                    with psycopg.connect(PG, autocommit=True) as c:
                        c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    print(f"\n{'database':<11} {'measure':<44} {'HTTP':>12} {'raw (store)':>15} {'ratio':>7}")
    for db_name, rows in results.items():
        for measure, http_rate, raw_rate in rows[:4]:
            ratio = http_rate / raw_rate
            raw_text = "" if raw_rate != raw_rate else f"{raw_rate:,.1f}"  # nan: no raw counterpart
            ratio_text = "" if ratio != ratio else f"{ratio:.2f}"
            print(f"{db_name:<11} {measure:<44} {http_rate:>12,.1f} {raw_text:>15} {ratio_text:>7}")
    if "sqlite" in results:
        sub = results["sqlite"][0][1]
        cpu_ms = results["sqlite"][1][1]
        print(f"\ngoal (SQLite): submissions >= 1,000/s: {'MET' if sub >= 1000 else 'MISSED'} ({sub:,.0f}/s)")
        print(
            f"  the server spent {cpu_ms:.2f} ms of CPU a submission: {1000 / cpu_ms:,.0f}/s on one free core"
        )
        secs = results["sqlite"][3][1]
        count = results["sqlite"][4]
        per_million = secs * 1_000_000 / count
        print(
            f"goal (SQLite): feed read of 1M in < 10 s: {secs:.1f} s for {count:,} entries "
            f"({per_million:.1f} s per million): {'MET' if per_million < 10 else 'MISSED'}"
        )
        print(f"  the server spent {results['sqlite'][5]:.1f} s of CPU on that read")
    print(f"load average while running: {os.getloadavg()[0]:.1f} (this machine has {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
