"""Guards of the public origin, attacked: cross-site submissions, proxy headers, junk PDQs,
frame floods, pages bounded in bytes, a body that trickles in, metrics without a token."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from takeitdown.protocol import FeedEntry, FeedPage, chain_next, chain_start
from tests.registry.helpers import (
    DatabaseTarget,
    Server,
    bearer,
    feed_end,
    rand_hex,
    read_all,
    start_server,
    stop_server,
    store_for,
)


def video(frames: int, bits_pdq: str | None = None) -> dict[str, Any]:
    return {
        "kind": "video",
        "hashes": [
            {
                "type": "vpdq",
                "frames": [
                    {"i": i, "t": float(i), "q": 80, "pdq": bits_pdq or ("0f" * 16 + rand_hex(32))}
                    for i in range(frames)
                ],
            }
        ],
    }


def pdq_item(value: str, quality: int) -> dict[str, Any]:
    return {"kind": "image", "hashes": [{"type": "pdq", "value": value, "quality": quality}]}


# -- cross-site ---------------------------------------------------------------------------------


def test_case_post_needs_json_content_type(client: httpx.Client) -> None:
    body = json.dumps({"items": [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]}]})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        headers = {} if ctype is None else {"Content-Type": ctype}
        r = client.post("/v1/cases", content=body, headers=headers)
        assert r.status_code == 415, (ctype, r.text)
        assert r.json()["code"] == "body.media_type"
    r = client.post("/v1/cases", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201


def test_foreign_origin_is_refused(client: httpx.Client, server: Server) -> None:
    body = {"items": [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]}]}
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Origin": "http://localhost:1"},
        {"Sec-Fetch-Site": "cross-site"},  # a browser that left out Origin
        {"Origin": "http://["},  # not a URL at all (was a 500: urlsplit's ValueError)
    ):
        r = client.post("/v1/cases", json=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["code"] == "request.cross_site"
    own = f"http://{urlsplit(server.url).netloc}"
    assert client.post("/v1/cases", json=body, headers={"Origin": own}).status_code == 201
    assert client.post("/v1/cases", json=body).status_code == 201  # not a browser: no Origin


def test_a_real_browser_on_another_origin_cannot_submit(server: Server, tmp_path: Any) -> None:
    """Chromium on http://localhost:<other port> tries the no-cors text/plain trick and a JSON
    fetch against the registry on 127.0.0.1: no case is made."""
    from tests.web.helpers import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    import subprocess
    import sys

    from tests.registry.helpers import free_port

    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title>")
    port = free_port()
    site = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = store_for(server.database_url)

    def cases() -> int:
        with store.db.read() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one())

    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        from playwright.sync_api import sync_playwright

        before = cases()
        body = json.dumps({"items": [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]}]})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://localhost:{port}/")  # another origin than 127.0.0.1:<registry>
                results = page.evaluate(
                    """async ([url, body]) => {
                        const out = [];
                        try {
                            await fetch(url, {method: "POST", mode: "no-cors", body,
                                              headers: {"Content-Type": "text/plain"}});
                            out.push("no-cors sent");
                        } catch (e) { out.push("no-cors failed"); }
                        try {
                            const r = await fetch(url, {method: "POST", body,
                                                        headers: {"Content-Type": "application/json"}});
                            out.push("json " + r.status);
                        } catch (e) { out.push("json blocked"); }
                        return out;
                    }""",
                    [server.url + "/v1/cases", body],
                )
            finally:
                browser.close()
        assert results[0] == "no-cors sent"  # the browser did send it: the registry refused it
        assert results[1] == "json blocked"  # the preflight is never granted
        assert cases() == before
    finally:
        site.terminate()
        site.wait(timeout=10)


# -- PDQ plausibility and frame caps ------------------------------------------------------------


def test_implausible_pdq_is_refused(client: httpx.Client) -> None:
    md5 = {"type": "md5", "value": rand_hex(32)}
    for value in ("0" * 64, "f" * 64, "0" * 56 + "ffffffff", "f" * 48 + "0" * 16):
        r = client.post(
            "/v1/cases", json={"items": [pdq_item(value, 100), {"kind": "image", "hashes": [md5]}]}
        )
        assert r.status_code == 201, r.text
        (rej,) = r.json()["rejected"]
        assert rej["index"] == 0 and rej["code"] == "hash.implausible", rej
    # A real PDQ (128 bits set) goes in; a flat image's all-zero PDQ at quality 0 is kept, unlisted.
    assert client.post("/v1/cases", json={"items": [pdq_item("0f" * 32, 90)]}).json()["rejected"] == []
    assert client.post("/v1/cases", json={"items": [pdq_item("0" * 64, 0)]}).json()["rejected"] == []
    r = client.post("/v1/cases", json={"items": [video(3, bits_pdq="0" * 64)]})
    assert r.status_code == 422 and r.json()["rejected"][0]["code"] == "hash.implausible"


def test_frame_caps(client: httpx.Client) -> None:
    r = client.post("/v1/cases", json={"items": [video(1801)]})
    assert r.status_code == 422, r.text
    assert r.json()["rejected"][0]["code"] == "hash.too_many_frames"
    assert client.post("/v1/cases", json={"items": [video(1800)]}).status_code == 201  # 30 minutes
    r = client.post("/v1/cases", json={"items": [video(1500) for _ in range(5)]})
    assert r.status_code == 422 and r.json()["code"] == "case.too_many_frames"


# -- a server of their own: small pages, a short body timeout, no metrics token -------------------


@pytest.fixture(scope="module")
def tight(database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "TAKEITDOWN_FEED_MAX_BYTES": "4096",
        "TAKEITDOWN_BODY_TIMEOUT": "1",
        "TAKEITDOWN_METRICS_TOKEN": "",
    }
    srv = start_server(database, tmp_path_factory.mktemp("tight"), env)
    yield srv
    stop_server(srv)


def test_pages_are_bounded_in_bytes_and_the_chain_checks(tight: Server) -> None:
    key = str(store_for(tight.database_url).platform_add(f"bytes-{rand_hex(6)}"))
    with tight.client() as c:
        start = feed_end(c, key)
        md5s = [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]} for _ in range(60)]
        assert c.post("/v1/cases", json={"items": [*md5s, video(100), video(100)]}).status_code == 201
        read_all(c, key, after=start)  # waits for the publisher
        after, pages, seen = start, [], []
        page = FeedPage.parse(c.get("/v1/feed", params={"after": after}, headers=bearer(key)).json())
        chain = page.base
        while True:
            raw = c.get("/v1/feed", params={"after": after, "limit": 1000}, headers=bearer(key))
            page = FeedPage.parse(raw.json())
            assert page.base == chain  # each page starts where the last one ended
            lines = [FeedEntry.parse(e).to_wire() for e in page.entries]  # what a node can rebuild
            for line in lines:
                chain = chain_next(chain, line)
            assert page.head == chain
            sizes = [len(line) for line in lines]
            pages.append(sizes)
            seen.extend(page.entries)
            after = page.next
            if not page.more:
                break
        assert [e["seq"] for e in seen] == list(range(start + 1, start + 1 + len(seen)))
        assert len(seen) == 62
        for sizes in pages:
            assert sum(sizes) <= 4096 or len(sizes) == 1, sizes  # a big video goes alone
        assert any(len(s) == 1 and s[0] > 4096 for s in pages)
        if start == 0:
            assert FeedPage.parse(
                c.get("/v1/feed", params={"after": 0, "limit": 1}, headers=bearer(key)).json()
            ).base == chain_start(page.epoch or "")


def test_a_body_that_trickles_is_cut(tight: Server) -> None:
    host, port = urlsplit(tight.url).hostname, urlsplit(tight.url).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(
            b"POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"items": ['
        )
        started = time.monotonic()
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        took = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"code":"body.too_slow"' in reply.replace(b" ", b"")
    assert took < 8


def test_metrics_are_off_without_an_operator_token(tight: Server) -> None:
    with tight.client() as c:
        r = c.get("/metrics")
        assert r.status_code == 404 and "TAKEITDOWN_METRICS_TOKEN" in r.json()["detail"]


# -- proxy headers ---------------------------------------------------------------------------------


def _rate_limited_server(database: DatabaseTarget, tmp: Any, *args: str) -> Server:
    env = {"TAKEITDOWN_CASE_RATE_PER_MINUTE": "1", "TAKEITDOWN_CASE_BURST": "2"}
    return start_server(database, tmp, env, args)


def _posts(server: Server, forwarded: list[str]) -> list[int]:
    body = {"items": [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]}]}
    with server.client() as c:
        return [c.post("/v1/cases", json=body, headers={"X-Forwarded-For": f}).status_code for f in forwarded]


def test_forwarded_for_is_not_believed_by_default(
    database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory
) -> None:
    srv = _rate_limited_server(database, tmp_path_factory.mktemp("noproxy"))
    try:
        # From loopback, each request claiming another client: still one client, one bucket.
        assert _posts(srv, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [201, 201, 429]
    finally:
        stop_server(srv)


def test_forwarded_for_from_a_trusted_proxy_keys_the_limit(
    database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory
) -> None:
    srv = _rate_limited_server(
        database, tmp_path_factory.mktemp("proxy"), "--forwarded-allow-ips", "127.0.0.1"
    )
    try:
        assert _posts(srv, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [201, 201, 201]
        assert _posts(srv, ["10.0.0.9", "10.0.0.9", "10.0.0.9"]) == [201, 201, 429]
    finally:
        stop_server(srv)
