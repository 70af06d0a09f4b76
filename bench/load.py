"""Load test: a registry and a node under mixed good traffic, then the same under a flood of bad requests.

Starts a real registry (`takeitdown serve`, SQLite in a temp folder, the DEFAULT per-client rate
limit of case submissions) and a real node following it (`takeitdown node serve`), each a uvicorn
subprocess on 127.0.0.1, and drives them from this separate process. Everything stays on loopback:
the servers listen on 127.0.0.1; clients use loopback source addresses (127.0.1.x for the people
submitting, each its own address as on the internet, 127.0.0.2 for the flooder) so the
registry's per-address rate limit can tell them apart.

Good traffic, four kinds at once: submissions (a person submits a case from a fresh connection),
status checks (GET /v1/cases/{id} with the secret), feed reads (a platform paging the feed) and
matches (POST /v1/match on the node). Phase 1 runs it alone; phase 2 adds flood threads sending
case submissions from one address (valid, malformed, oversized, with rotating X-Forwarded-For),
feed reads with wrong keys, and matches with a wrong token. For each kind it prints sustained
requests/s, p50, p99 and error rate (anything but the expected 2xx counts as an error for good
traffic), then what the flood got back and whether the rate limit held.

Bounded: each phase --seconds (default 15), at most --max-requests in total, then the servers are
stopped and the temp folder removed.

    .venv/bin/python bench/load.py                 # 15 s a phase
    .venv/bin/python bench/load.py --seconds 5     # quick
    .venv/bin/python bench/load.py --uploads [--before REF]   # cost of one upload (upload_cost.py)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from takeitdown.protocol import Md5Hash, PdqHash
from takeitdown.registry.db import Database
from takeitdown.registry.store import Store
from takeitdown.registry.validation import parse_items
from wire import random_image_item  # bench/wire.py: through takeitdown.protocol

HOST = "127.0.0.1"
ADMIN_TOKEN = secrets.token_urlsafe(24)
SSL_CONTEXT = ssl.create_default_context()
RATE_PER_MINUTE, BURST = 30, 60  # the registry's defaults (registry/config.py), set explicitly


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rand_hex(n: int) -> str:
    return secrets.token_hex(n // 2)


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early (code {proc.returncode}); see its log")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int, ok: bool) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if not ok:
                self.errors[kind] += 1


@dataclass
class Env:
    registry: str
    node: str
    platform_key: str
    cases: list[tuple[str, str]]  # (case id, secret) for status checks
    known_pdq: list[str]  # on the feed, so some matches block
    feed_last: int


class Budget:
    def __init__(self, max_requests: int) -> None:
        self.left = max_requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            self.left -= 1
            return self.left >= 0


def timed(stats: Stats, kind: str, expect: Callable[[int], bool], call: Callable[[], httpx.Response]) -> None:
    started = time.perf_counter()
    try:
        status = call().status_code
    except httpx.HTTPError:
        status = 0  # connection refused / reset / timeout
    stats.record(kind, time.perf_counter() - started, status, expect(status))


# -- good traffic -------------------------------------------------------------------------------

_person = iter(range(10**9))
_person_lock = threading.Lock()


def person_address() -> str:
    """A new loopback address per person (127.0.1.1 .. 127.0.250.250): each submits a couple of cases."""
    with _person_lock:
        n = next(_person) // 2
    return f"127.0.{1 + (n // 250) % 250}.{1 + n % 250}"


def submitter(env: Env, stats: Stats, stop: threading.Event, budget: Budget, _rng: random.Random) -> None:
    while not stop.is_set() and budget.take():
        # A fresh connection per person; the shared SSL context spares httpx building one each time
        # (plain HTTP here, but httpx makes a context per client, which cost ~50 ms and capped the rate).
        transport = httpx.HTTPTransport(local_address=person_address(), verify=SSL_CONTEXT)
        with httpx.Client(transport=transport, timeout=30) as c:
            body = {"items": [random_image_item() for _ in range(2)]}
            timed(stats, "submit", lambda s: s == 201, partial(c.post, env.registry + "/v1/cases", json=body))


def status_checker(env: Env, stats: Stats, stop: threading.Event, budget: Budget, rng: random.Random) -> None:
    with httpx.Client(timeout=30) as c:
        while not stop.is_set() and budget.take():
            case_id, secret = rng.choice(env.cases)
            auth = {"Authorization": f"Bearer {secret}"}
            timed(
                stats,
                "status",
                lambda s: s == 200,
                partial(c.get, f"{env.registry}/v1/cases/{case_id}", headers=auth),
            )


def feed_reader(env: Env, stats: Stats, stop: threading.Event, budget: Budget, rng: random.Random) -> None:
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {env.platform_key}"}) as c:
        while not stop.is_set() and budget.take():
            after = rng.randint(0, max(0, env.feed_last - 100))
            page = {"after": after, "limit": 100}
            timed(stats, "feed", lambda s: s == 200, partial(c.get, env.registry + "/v1/feed", params=page))


def matcher(env: Env, stats: Stats, stop: threading.Event, budget: Budget, rng: random.Random) -> None:
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        while not stop.is_set() and budget.take():
            pdq = rng.choice(env.known_pdq) if rng.random() < 0.2 else rand_hex(64)
            body = {"hashes": [PdqHash(pdq, 90).to_json(), Md5Hash(rand_hex(32)).to_json()]}
            timed(stats, "match", lambda s: s == 200, partial(c.post, env.node + "/v1/match", json=body))


# -- the flood ------------------------------------------------------------------------------------

BIG = b'{"items": [' + b'{"kind": "image", "hashes": []},' * 200_000 + b"]}"  # > 4 MB


def flooder(env: Env, stats: Stats, stop: threading.Event, budget: Budget, rng: random.Random) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=30) as c:
        while not stop.is_set() and budget.take():
            pick = rng.random()
            fwd = {"X-Forwarded-For": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.1"}
            if pick < 0.45:  # valid cases, one address pretending to be many: must hit 429
                body = {"items": [random_image_item()]}
                timed(stats, "flood:submit", lambda s: s in (201, 429),
                      partial(c.post, env.registry + "/v1/cases", json=body, headers=fwd))  # fmt: skip
            elif pick < 0.6:
                timed(stats, "flood:bad-body", lambda s: 400 <= s < 500,
                      lambda: c.post(env.registry + "/v1/cases", content=b"{" + os.urandom(200),
                                     headers={"Content-Type": "application/json"}))  # fmt: skip
            elif pick < 0.62:
                timed(stats, "flood:oversized", lambda s: s == 413,
                      lambda: c.post(env.registry + "/v1/cases", content=BIG,
                                     headers={"Content-Type": "application/json"}))  # fmt: skip
            elif pick < 0.8:
                bad = {"Authorization": "Bearer tdk_" + rand_hex(12) + "_" + secrets.token_urlsafe(32)}
                timed(stats, "flood:feed-bad-key", lambda s: s == 401,
                      partial(c.get, env.registry + "/v1/feed", headers=bad))  # fmt: skip
            elif pick < 0.9:
                guess = {"Authorization": "Bearer " + secrets.token_urlsafe(24)}
                url = env.registry + f"/v1/cases/TD-{rand_hex(4).upper()}-2222"
                timed(stats, "flood:status-guess", lambda s: s == 404, partial(c.get, url, headers=guess))
            else:
                timed(stats, "flood:match-bad-token", lambda s: s == 401,
                      lambda: c.post(env.node + "/v1/match", json={"hashes": []},
                                     headers={"Authorization": "Bearer wrong"}))  # fmt: skip


# -- running ----------------------------------------------------------------------------------------


def run_phase(
    env: Env, seconds: float, workers: dict[Callable[..., None], int], budget: Budget
) -> tuple[Stats, float]:
    stats, stop = Stats(), threading.Event()
    threads = [
        threading.Thread(target=fn, args=(env, stats, stop, budget, random.Random(i * 7919 + n)), daemon=True)
        for i, (fn, count) in enumerate(workers.items())
        for n in range(count)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    deadline = started + seconds
    while time.monotonic() < deadline and budget.left > 0:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(60)
    return stats, time.monotonic() - started


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000


def summarize(title: str, stats: Stats, elapsed: float) -> dict[str, Any]:
    print(f"\n{title} ({elapsed:.1f} s)")
    print(f"{'kind':24} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}  statuses")
    out = {}
    for kind in sorted(stats.latencies):
        lat = stats.latencies[kind]
        n = len(lat)
        err = stats.errors[kind] / n if n else 0.0
        codes = dict(sorted(stats.statuses[kind].items()))
        p50, p99 = pct(lat, 50), pct(lat, 99)
        print(f"{kind:24} {n:>9} {n / elapsed:>8.1f} {p50:>8.1f} {p99:>8.1f} {err:>8.2%}  {codes}")
        out[kind] = {"requests": n, "rps": round(n / elapsed, 1), "p50_ms": round(p50, 1),
                     "p99_ms": round(p99, 1), "error_rate": round(err, 4), "statuses": codes}  # fmt: skip
    return out


def start_servers(tmp: Path, preload_cases: int) -> tuple[Env, list[subprocess.Popen[bytes]]]:
    db_url = f"sqlite:///{tmp / 'registry.db'}"
    db = Database(db_url)
    db.migrate()
    store = Store(db)
    parsed = [parse_items([("image", random_image_item()["hashes"])]) for _ in range(preload_cases)]
    made: list[tuple[str, str]] = []
    for i in range(0, len(parsed), 500):
        made += store.create_cases(parsed[i : i + 500])
    known = [next(iter(p.hashes.values())).value for p in parsed[:200]]
    key = store.platform_add("load-platform")
    node_key = store.platform_add("load-node")
    store.publish_pending()  # as the server's publisher would at its first tick: the feed is full
    feed_last = store.last_seq()
    db.dispose()

    env = {k: v for k, v in os.environ.items() if k != "TAKEITDOWN_DATABASE_URL"}
    env.update(TAKEITDOWN_CASE_RATE_PER_MINUTE=str(RATE_PER_MINUTE), TAKEITDOWN_CASE_BURST=str(BURST))
    env.update(TAKEITDOWN_PUBLISH_INTERVAL="1")  # batched as in production, short for the run
    rport, nport = free_port(), free_port()
    procs = []
    with (tmp / "registry.log").open("wb") as log:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "takeitdown.cli", "serve", "--host", HOST, "--port", str(rport),
             "--database-url", db_url], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp))  # fmt: skip
    registry = f"http://{HOST}:{rport}"
    wait_up(registry, procs[0])
    nenv = {**env, "TAKEITDOWN_NODE_API_KEY": node_key, "TAKEITDOWN_NODE_ADMIN_TOKEN": ADMIN_TOKEN,
            "TAKEITDOWN_NODE_DATABASE_URL": f"sqlite:///{tmp / 'node.db'}",
            "TAKEITDOWN_NODE_POLL_SECONDS": "1"}  # fmt: skip
    with (tmp / "node.log").open("wb") as log:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "takeitdown.cli", "node", "serve", "--registry", registry, "--host", HOST,
             "--port", str(nport)], stdout=log, stderr=subprocess.STDOUT, env=nenv, cwd=tmp))  # fmt: skip
    node = f"http://{HOST}:{nport}"
    wait_up(node, procs[1])
    deadline = time.monotonic() + 120
    while httpx.get(node + "/healthz", timeout=5).json()["sync"]["cursor"] < feed_last:
        if time.monotonic() > deadline:
            raise SystemExit("the node did not catch up with the feed within 120 s")
        time.sleep(0.3)
    return Env(registry, node, key, made, known, feed_last), procs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15, help="length of each phase")
    ap.add_argument("--max-requests", type=int, default=300_000, help="cap on all requests sent")
    ap.add_argument("--preload", type=int, default=5000, help="cases stored before the servers start")
    ap.add_argument("--flooders", type=int, default=4, help="flood threads in phase 2")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--uploads", action="store_true", help="only the worst-case cost of one upload")
    ap.add_argument("--before", help="with --uploads: also measure this git ref (the baseline)")
    ap.add_argument("--cases", nargs="*", help="with --uploads: 4k-video, 1bit-png, vpdq-36k (default all)")
    args = ap.parse_args()
    if args.uploads:
        from upload_cost import main as upload_cost  # bench/ is on sys.path when run as a script

        return upload_cost(args.before, tuple(args.cases or ()) or ("4k-video", "1bit-png", "vpdq-36k"))
    tmp = Path(tempfile.mkdtemp(prefix="takeitdown-load-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print(
            f"starting a registry and a node on {HOST} (SQLite, {args.preload} cases preloaded) ...",
            flush=True,
        )
        env, procs = start_servers(tmp, args.preload)
        good = {submitter: 2, status_checker: 2, feed_reader: 2, matcher: 2}
        budget = Budget(args.max_requests)
        base, t1 = run_phase(env, args.seconds, good, budget)
        results = {"baseline": summarize("phase 1: good traffic alone", base, t1)}
        flood, t2 = run_phase(env, args.seconds, {**good, flooder: args.flooders}, budget)
        results["under_flood"] = summarize(
            "phase 2: the same good traffic under a flood of bad requests", flood, t2
        )

        accepted = flood.statuses["flood:submit"].get(201, 0)
        bound = BURST + RATE_PER_MINUTE / 60 * t2
        five = sum(n for k in flood.statuses for s, n in flood.statuses[k].items() if s >= 500)
        five += sum(n for k in base.statuses for s, n in base.statuses[k].items() if s >= 500)
        print(f"\nrate limit: the flood address got {accepted} cases accepted in {t2:.1f} s "
              f"(limit {BURST} burst + {RATE_PER_MINUTE}/min = {bound:.0f}); "
              f"{flood.statuses['flood:submit'].get(429, 0)} refused with 429 "
              "(its rotating X-Forwarded-For is not trusted)")  # fmt: skip
        good_kinds = ["submit", "status", "feed", "match"]
        good_err = {k: results["under_flood"].get(k, {}).get("error_rate", 1.0) for k in good_kinds}
        print(f"good traffic error rate under the flood: {good_err}; 5xx seen in both phases: {five}")
        held = accepted <= bound and all(v == 0 for v in good_err.values()) and five == 0
        print("RESULT:", "rate limits held and good traffic kept flowing" if held else "NOT HELD")
        results["rate_limit"] = {
            "flood_cases_accepted": accepted,
            "bound": round(bound),
            "held": held,
            "5xx": five,
        }
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0 if held else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
