"""The node's review console in real Chromium: sign in, work the queue with the keyboard, content
blurred until revealed, decide, and find the decision under the reviewer's name in the audit log."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from takeitdown.hashing import hash_file
from tests.node.helpers import ROOT, Registry, conformance, registry, start_node, wait_for  # noqa: F401
from tests.web.helpers import DESKTOP, shot

pytestmark = pytest.mark.slow

# compiled search kernels kept between runs: a node's first start compiles them (minutes when
# the machine is busy), later starts load them
NUMBA_CACHE = {"NUMBA_CACHE_DIR": str(ROOT / "test-artifacts" / "numba-cache")}


def _flip_bits(hex_value: str, n: int) -> str:
    v = int(hex_value, 16)
    for b in range(n):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


@pytest.fixture
def platform_media(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The platform's own media server (a second loopback origin), where the console's images live."""
    root = tmp_path / "media"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *_a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_a_reviewer_works_the_queue_by_keyboard_and_the_audit_log_names_them(
    browser,
    registry: Registry,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    platform_media: tuple[str, Path],
) -> None:
    media_url, media_root = platform_media
    original = conformance("pdq/bridge-mods/aaa-orig.jpg")
    for ref in ("post-1.jpg", "post-2.jpg"):
        shutil.copy(original, media_root / ref)
    key = registry.add_platform("console-platform")
    env = {"TAKEITDOWN_NODE_CONTENT_URL": media_url + "/{ref}", **NUMBA_CACHE}
    node = start_node(registry, key, tmp_path, extra_env=env)
    context = None
    try:
        made = subprocess.run(
            [sys.executable, "-m", "takeitdown.cli", "node", "user", "add", "alice", "--role", "admin",
             "--database-url", node.db_url],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        secret = made.stdout.strip()
        hashes = hash_file(original)
        r = httpx.post(
            registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": hashes.wire_hashes()}]}
        )
        assert r.status_code == 201
        wait_for(lambda: node.health()["entries"].get("pdq") == 1, what="sync")
        admin = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        for ref, bits in (("post-1.jpg", 20), ("post-2.jpg", 24)):
            near = [{"type": "pdq", "value": _flip_bits(hashes.pdq.value, bits), "quality": 100}]
            # a near match to an unconfirmed entry: not posted, and before a reviewer (the default policy)
            verdict = admin.post("/v1/match", json={"hashes": near, "ref": ref}).json()
            assert (verdict["verdict"], verdict["final"]) == ("hold", False), verdict

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(node.url + "/console/")
        page.get_by_label("Name").fill("alice")
        page.get_by_label("Secret").fill("wrong secret")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("do not match an active account").wait_for()
        page.get_by_label("Secret").fill(secret)
        page.get_by_label("Secret").press("Enter")
        page.locator("#items li").nth(1).wait_for()
        # before signing in, /v1/console/me and the wrong secret answered 401, as they should
        assert all("401" in e for e in errors), errors
        errors.clear()
        items = page.locator("#items li")
        assert items.count() == 2
        assert page.locator("#item-title").inner_text() == "post-1.jpg"  # oldest first
        # a function, not a bare expression: under the page's CSP Playwright cannot eval() one to poll it
        page.wait_for_function("() => document.getElementById('media-img').complete")
        img_filter = page.eval_on_selector("#media-img", "e => getComputedStyle(e).filter")
        assert "blur" in img_filter and "grayscale" in img_filter, img_filter
        assert page.eval_on_selector("#media-img", "e => e.naturalWidth") > 0  # loaded from the platform
        shot(page, "console-queue-blurred")

        page.locator("body").press("j")
        assert page.locator("#item-title").inner_text() == "post-2.jpg"
        assert items.nth(1).get_attribute("aria-selected") == "true"
        page.locator("body").press("k")
        assert page.locator("#item-title").inner_text() == "post-1.jpg"
        assert "blur" in page.eval_on_selector("#media-img", "e => getComputedStyle(e).filter")

        page.locator("body").press("v")
        page.locator("#revealed-note").wait_for()
        assert page.eval_on_selector("#media-img", "e => getComputedStyle(e).filter") == "none"
        shot(page, "console-revealed")

        page.locator("body").press("c")
        page.keyboard.type("the same photo, re-encoded")
        page.keyboard.press("Escape")
        page.locator("body").press("r")
        page.get_by_text("Decided: remove").wait_for()
        wait_for(lambda: items.count() == 1, 10, what="the queue to shrink")
        assert page.locator("#item-title").inner_text() == "post-2.jpg"
        # the next item comes blurred again
        assert "blur" in page.eval_on_selector("#media-img", "e => getComputedStyle(e).filter")

        page.get_by_role("button", name="Admin").click()
        row = page.locator("#audit tr", has_text="decision")
        row.first.wait_for()
        assert "alice" in row.first.inner_text() and "the same photo, re-encoded" in row.first.inner_text()
        reveal = page.locator("#audit tr", has_text="reveal").first.inner_text()
        assert "alice" in reveal and "review:" in reveal
        page.get_by_text("chain intact").wait_for()
        shot(page, "console-admin")
        assert not errors, errors

        rows = admin.get("/v1/audit", params={"action": "decision"}).json()["rows"]
        assert [(x["actor"], x["reason"]) for x in rows] == [("alice", "the same photo, re-encoded")]
        decided = admin.get("/v1/console/queue", params={"status": "removed"}).json()["items"]
        assert [(i["ref"], i["decided_by"]) for i in decided] == [("post-1.jpg", "alice")]
    finally:
        if context is not None:
            context.close()
        node.stop()
