"""Fixtures for the page tests: a real registry server and Debian's Chromium through Playwright.

One browser and one server per session keep the suite short; each test gets its own context.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .helpers import CHROMIUM, CHROMIUM_ARGS, DESKTOP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def registry_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database URL of the test registry (a fresh SQLite file)."""
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"


@pytest.fixture(scope="session")
def registry_url(registry_db: str) -> Iterator[str]:
    """A real registry (`takeitdown serve`) on a loopback port with its own SQLite file."""
    port = free_port()
    db = Path(registry_db.removeprefix("sqlite:///"))
    log = db.parent / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "TAKEITDOWN_DATABASE_URL"}
    env["TAKEITDOWN_PUBLISH_INTERVAL"] = "0"  # the flow test reads the feed right after submitting
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "takeitdown.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                registry_db,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=db.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`takeitdown serve` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`takeitdown serve` did not answer /healthz in 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser, registry_url):  # type: ignore[no-untyped-def]
    """Factory: a page in a fresh context (own storage) at a viewport; errors fail the test."""
    contexts = []
    errors: list[str] = []

    def make(viewport: dict[str, int] = DESKTOP, locale: str = "en-US"):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=viewport, locale=locale, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The page must work within its Content Security Policy, without a single violation.
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        return page

    yield make
    for c in contexts:
        c.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"
