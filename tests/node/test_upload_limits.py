"""The node's upload path under abuse: a body that trickles in forever, and more file checks at
once than the node allows. A real node (uvicorn subprocess) on loopback; no registry needed."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.node.helpers import NodeProc, Registry, start_node

NOWHERE = Registry("http://127.0.0.1:9", "", None)  # type: ignore[arg-type]


@pytest.fixture
def strict_node(tmp_path: Path) -> Iterator[NodeProc]:
    env = {
        "TAKEITDOWN_NODE_BODY_TIMEOUT_SECONDS": "2",
        "TAKEITDOWN_NODE_MAX_CONCURRENT_CHECKS": "1",
        "TAKEITDOWN_NODE_CHECK_WAIT_SECONDS": "0",
    }
    node = start_node(NOWHERE, "k" * 20, tmp_path, extra_env=env)
    try:
        yield node
    finally:
        node.stop()


def test_a_trickling_body_gets_408_and_extra_checks_get_503(strict_node: NodeProc) -> None:
    host, port = "127.0.0.1", int(strict_node.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(
            b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {strict_node.auth['Authorization'].split()[1]}\r\n".encode()
            + b"Content-Length: 100000\r\n\r\n{"
        )
        started = time.monotonic()
        while time.monotonic() - started < 6:  # a byte a second: never done within 2 s
            try:
                s.sendall(b" ")
            except OSError:
                break
            time.sleep(1)
        s.settimeout(20)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"body.too_slow" in reply

    image = Image.new("1", (9000, 9000), 0)  # slow enough to decode that checks overlap
    buf = io.BytesIO()
    image.save(buf, "PNG")
    png = buf.getvalue()

    def upload(_: int) -> httpx.Response:
        files = {"file": ("a.png", png, "image/png")}
        return httpx.post(strict_node.url + "/v1/match", files=files, headers=strict_node.auth, timeout=120)

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(upload, range(6)))
    codes = sorted(r.status_code for r in replies)
    assert 200 in codes and 503 in codes and set(codes) <= {200, 503}, codes
    busy = next(r for r in replies if r.status_code == 503)
    assert busy.headers["retry-after"] and busy.json()["code"] == "unavailable"
    # hashes only are a lookup, not a decode: never refused for being busy
    r = httpx.post(strict_node.url + "/v1/match", json={"hashes": [{"type": "md5", "value": "a" * 32}]},
                   headers=strict_node.auth, timeout=30)  # fmt: skip
    assert r.status_code == 200 and r.json()["verdict"] == "allow"
