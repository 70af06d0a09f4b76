"""Helpers: a real registry and a real node, each a uvicorn server in a subprocess on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT.parent / "shared" / "conformance"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def conformance(rel: str) -> Path:
    p = CONFORMANCE / rel
    if not p.exists():
        pytest.skip(f"conformance data not found at {p} (see ../shared/conformance/README.md)")
    return p


REGISTRY_METRICS_TOKEN = "registry-metrics-token-for-tests"  # /metrics needs it (issue 11)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up:\n{log.read_text()[-3000:]}")


@dataclass
class Registry:
    url: str
    db_url: str
    proc: subprocess.Popen[bytes]

    def add_platform(self, name: str) -> str:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "takeitdown.cli",
                "registry",
                "platform",
                "add",
                name,
                "--database-url",
                self.db_url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        key = out.stdout.strip()
        assert key and "\n" not in key, out
        return key


# The registry the node tests run against. Each submission is published at once: these tests are
# about the node, not the publisher.
REGISTRY_TEST_ENV = {
    "TAKEITDOWN_CASE_RATE_PER_MINUTE": "0",
    "TAKEITDOWN_MAX_ITEMS": "1000",
    "TAKEITDOWN_PUBLISH_INTERVAL": "0",
    "TAKEITDOWN_METRICS_TOKEN": REGISTRY_METRICS_TOKEN,
}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    log = tmp_path / "registry.log"
    env = {**os.environ, **REGISTRY_TEST_ENV}
    env.pop("TAKEITDOWN_DATABASE_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "takeitdown.cli", "serve", "--port", str(port), "--database-url", db_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", proc, log)
        yield Registry(url, db_url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class NodeProc:
    url: str
    db_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def health(self) -> dict:
        return httpx.get(self.url + "/healthz", timeout=10).json()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_node(
    registry: Registry,
    key: str,
    workdir: Path,
    page_size: int = 1000,
    extra_env: dict[str, str] | None = None,
) -> NodeProc:
    port = free_port()
    db_url = f"sqlite:///{workdir / 'node.db'}"
    log = workdir / f"node-{port}.log"
    env = {
        **os.environ,
        "TAKEITDOWN_NODE_API_KEY": key,
        "TAKEITDOWN_NODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "TAKEITDOWN_NODE_DATABASE_URL": db_url,
        "TAKEITDOWN_NODE_POLL_SECONDS": "0.3",
        "TAKEITDOWN_NODE_OUTBOX_SECONDS": "0.3",
        "TAKEITDOWN_NODE_PAGE_SIZE": str(page_size),
        "TAKEITDOWN_NODE_BACKOFF_BASE": "0.2",
        "TAKEITDOWN_NODE_BACKOFF_CAP": "2",
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "takeitdown.cli",
                "node",
                "serve",
                "--registry",
                registry.url,
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", proc, log, timeout=120)
    return NodeProc(url, db_url, proc, log)


def wait_for(pred, timeout: float = 60, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


PG = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def node_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A node database URL: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'node.db'}"
        return
    import secrets

    import psycopg

    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432; PostgreSQL variant skipped")
    name = f"takeitdown_node_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
