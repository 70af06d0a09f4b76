"""Helpers for the registry tests: a real registry server (uvicorn in a subprocess), databases.

Every test that uses `server` runs twice, once per database. PostgreSQL: a fresh database
`takeitdown_test_<random>` on 127.0.0.1:5432 (user postgres), dropped afterwards; skipped with
a reason when no server answers there.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
METRICS_TOKEN = "operator-metrics-token-for-tests"
ROOT = Path(__file__).resolve().parents[2]


def pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str  # http://127.0.0.1:port
    database_url: str
    stdout: Path
    stderr: Path
    proc: subprocess.Popen[bytes]
    sqlite_path: Path | None = None
    pg_dbname: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def logs(self) -> bytes:
        return self.stdout.read_bytes() + self.stderr.read_bytes()


def cli(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `takeitdown ...` as a user would, in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"takeitdown {' '.join(args)} failed: {proc.stderr}")
    return proc


@dataclass
class DatabaseTarget:
    kind: str  # "sqlite" | "postgresql"
    url: str
    sqlite_path: Path | None = None
    pg_dbname: str | None = None


def make_database(kind: str, tmp: Path) -> DatabaseTarget:
    if kind == "sqlite":
        path = tmp / "registry.db"
        return DatabaseTarget("sqlite", f"sqlite:///{path}", sqlite_path=path)
    if not pg_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}; PostgreSQL variant skipped")
    import psycopg

    name = f"takeitdown_test_{secrets.token_hex(6)}"
    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return DatabaseTarget("postgresql", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}", pg_dbname=name)


def drop_database(target: DatabaseTarget) -> None:
    store = _STORES.pop(target.url, None)
    if store is not None:
        store.db.dispose()
    if target.pg_dbname is None:
        return
    import psycopg

    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{target.pg_dbname}" WITH (FORCE)')


def start_server(
    target: DatabaseTarget,
    logdir: Path,
    env_extra: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Server:
    port = free_port()
    env = dict(os.environ)
    env.pop("TAKEITDOWN_DATABASE_URL", None)
    # Batched publication as in production, with a short interval (read_all waits for it).
    env.update(
        {
            "TAKEITDOWN_CASE_RATE_PER_MINUTE": "0",
            "PYTHONUNBUFFERED": "1",
            "TAKEITDOWN_PUBLISH_INTERVAL": "0.2",
            "TAKEITDOWN_METRICS_TOKEN": METRICS_TOKEN,
        }
    )
    env.update(env_extra or {})
    logdir.mkdir(parents=True, exist_ok=True)
    out, err = logdir / "server.out", logdir / "server.err"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "takeitdown.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            target.url,
            *args,
        ],
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        cwd=logdir,
        env=env,
    )
    server = Server(
        f"http://127.0.0.1:{port}", target.url, out, err, proc, target.sqlite_path, target.pg_dbname
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"registry server exited: {err.read_text()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                _DATABASES[server.url] = target.url
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("registry server did not start within 60 s")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


# -- helpers used by several modules -------------------------------------------------------------


_system_random = random.SystemRandom()


def rand_hex(n: int) -> str:
    return secrets.token_hex(n // 2)


def random_pdq(rng: random.Random | None = None) -> str:
    """A random PDQ with half its bits set, as real ones have: the registry refuses a PDQ whose
    bit count no real photo gives, and a plain random 256-bit value is outside that range about
    once in 16,000 draws (enough to make a test that submits thousands flaky)."""
    bits = (rng or _system_random).sample(range(256), 128)
    return f"{sum(1 << b for b in bits):064x}"


def image_item(quality: int = 90) -> dict[str, Any]:
    return {
        "kind": "image",
        "hashes": [
            {"type": "pdq", "value": random_pdq(), "quality": quality},
            {"type": "md5", "value": rand_hex(32)},
        ],
    }


def video_item(frames: int = 3) -> dict[str, Any]:
    return {
        "kind": "video",
        "hashes": [
            {
                "type": "vpdq",
                "frames": [{"i": i, "t": float(i), "q": 80, "pdq": random_pdq()} for i in range(frames)],
            },
            {"type": "md5", "value": rand_hex(32)},
        ],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_DATABASES: dict[str, str] = {}  # server url -> its database url
_STORES: dict[str, Any] = {}


def wait_published(client: httpx.Client, timeout: float = 30.0) -> None:
    """Wait until the server's publisher has put everything submitted so far on the feed."""
    url = _DATABASES.get(str(client.base_url).rstrip("/"))
    if url is None:
        return
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = store_for(url)
    deadline = time.monotonic() + timeout
    while store.pending() and time.monotonic() < deadline:
        time.sleep(0.05)


def read_all(
    client: httpx.Client, key: str, after: int = 0, limit: int = 1000, wait: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """Follow `next` until `more` is false; returns the entries and the last cursor. Waits for
    the publisher first (`wait=False` reads what is on the feed now)."""
    if wait:
        wait_published(client)
    entries: list[dict[str, Any]] = []
    while True:
        r = client.get("/v1/feed", params={"after": after, "limit": limit}, headers=bearer(key))
        assert r.status_code == 200, r.text
        page = r.json()
        entries.extend(page["entries"])
        after = page["next"]
        if not page["more"]:
            return entries, after


def feed_end(client: httpx.Client, key: str) -> int:
    return read_all(client, key, limit=10000)[1]


def store_for(database_url: str):  # type: ignore[no-untyped-def]
    """An in-process Store on the same database as the server (faster than the CLI for setup)."""
    from takeitdown.registry.db import Database
    from takeitdown.registry.store import Store

    return Store(Database(database_url))
