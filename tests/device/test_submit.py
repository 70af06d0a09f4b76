"""`takeitdown submit`, `case status|withdraw` and `hash --wire`, run as a person would, on a registry."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from takeitdown.device.client import wire_json
from takeitdown.device.prepare import (
    MSG_DUPLICATE,
    MSG_EMPTY,
    MSG_NOTHING,
    MSG_TOO_LONG,
    MSG_UNKNOWN,
    PAGE_WORDS,
    to_item,
)
from takeitdown.hashing import hash_file
from takeitdown.hashing.files import VideoHashes
from takeitdown.protocol import CaseItem, Md5Hash, Sha256Hash, VpdqFrame, VpdqHash, case_body
from tests.node.helpers import Registry

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def photo(path: Path, seed: int, size: int = 96) -> Path:
    rng = np.random.default_rng(seed)
    small = (rng.random((12, 12, 3)) * 255).astype("uint8")
    Image.fromarray(small).resize((size, size), Image.BICUBIC).save(path)
    return path


def test_hash_wire_prints_exactly_the_case_body(tmp_path: Path) -> None:
    a = photo(tmp_path / "a.png", 1)
    b = photo(tmp_path / "b.png", 2)
    twin = tmp_path / "twin.png"
    twin.write_bytes(a.read_bytes())
    r = run("hash", "--wire", str(a), str(b), str(twin), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    expected = case_body(CaseItem.parse(h.kind, h.wire_hashes()) for h in (hash_file(a), hash_file(b)))
    assert lines[0] == wire_json(expected)
    assert MSG_DUPLICATE in r.stderr


def test_submit_splits_into_cases_and_writes_a_private_receipt(registry: Registry, tmp_path: Path) -> None:
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(205):
        photo(pics / f"{i:03}.png", 100 + i, size=48)
    receipt = tmp_path / "receipt.json"
    r = run("submit", str(pics), "--registry", registry.url, "--yes", "--receipt", str(receipt),
            "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    assert "205 files will be sent as 3 cases" in r.stdout and "Your cases are open" in r.stdout
    assert stat.S_IMODE(receipt.stat().st_mode) == 0o600
    data = json.loads(receipt.read_text())
    assert data["registry"] == registry.url
    assert [c["items_accepted"] for c in data["cases"]] == [100, 100, 5]
    assert all(c["case_id"] in r.stdout for c in data["cases"])
    assert all(c["case_secret"] not in r.stdout for c in data["cases"])  # secrets only in the receipt

    status = run("case", "status", "--receipt", str(receipt), "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert [json.loads(line)["items"] for line in status.stdout.splitlines()] == [100, 100, 5]


def test_confirm_then_status_then_withdraw(registry: Registry, tmp_path: Path) -> None:
    a = photo(tmp_path / "a.png", 1)
    receipt = tmp_path / "r.json"
    args = ("submit", str(a), "--registry", registry.url, "--receipt", str(receipt))
    no = run(*args, cwd=tmp_path, stdin="n\n")
    assert no.returncode == 1 and "Nothing was sent." in no.stdout
    assert not receipt.exists()
    assert "What will be sent" in no.stdout and hash_file(a).pdq.value in no.stdout  # shown before asking

    yes = run(*args, cwd=tmp_path, stdin="y\n")
    assert yes.returncode == 0, yes.stderr
    case = json.loads(receipt.read_text())["cases"][0]

    st = run("case", "status", case["case_id"], "--receipt", str(receipt), cwd=tmp_path)
    assert "Your case is active." in st.stdout and "Files in this case: 1" in st.stdout
    assert "No reports yet." in st.stdout

    wrong = run("case", "status", case["case_id"], "--registry", registry.url, cwd=tmp_path,
                env={"TAKEITDOWN_CASE_SECRET": "not-the-secret"})  # fmt: skip
    assert wrong.returncode == 1 and "No case with that number and secret." in wrong.stderr

    w = run("case", "withdraw", "--receipt", str(receipt), "--yes", cwd=tmp_path)
    assert w.returncode == 0 and f"Done. Your case {case['case_id']} is withdrawn." in w.stdout
    st = run("case", "status", "--receipt", str(receipt), cwd=tmp_path)
    assert "This case has been withdrawn." in st.stdout


def test_status_says_when_part_of_the_case_is_under_review(registry: Registry, tmp_path: Path) -> None:
    """An entry quarantined (here by the operator's CLI, as disputes from several platforms do):
    `case status` says so in plain words; --json carries the registry's `under_review`."""
    a = photo(tmp_path / "a.png", 77)
    receipt = tmp_path / "r.json"
    sub = run("submit", str(a), "--registry", registry.url, "--yes", "--receipt", str(receipt), cwd=tmp_path)
    assert sub.returncode == 0, sub.stderr
    st = run("case", "status", "--receipt", str(receipt), cwd=tmp_path)
    assert "Your case is active." in st.stdout and "paused" not in st.stdout

    key = registry.add_platform(f"review-{os.getpid()}")
    md5 = hash_file(a).md5.value
    feed = httpx.get(f"{registry.url}/v1/feed", params={"limit": 10000},
                     headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    eid = next(e["entry_id"] for e in feed["entries"] if e["value"] == md5 and e["op"] == "add")
    q = run("registry", "entries", "quarantine", str(eid), "--database-url", registry.db_url, cwd=tmp_path)
    assert q.returncode == 0, q.stderr

    st = run("case", "status", "--receipt", str(receipt), cwd=tmp_path)
    assert st.returncode == 0, st.stderr
    assert "Your case is active." in st.stdout
    assert "Part of your case is paused while it is checked again." in " ".join(st.stdout.split())
    js = run("case", "status", "--receipt", str(receipt), "--json", cwd=tmp_path)
    assert json.loads(js.stdout)["under_review"] is True


def test_files_that_cannot_be_sent(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a photo")
    r = run("submit", str(tmp_path / "empty.jpg"), str(tmp_path / "notes.txt"), "--registry", registry.url,
            "--yes", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 1
    assert MSG_EMPTY in r.stdout and MSG_UNKNOWN in r.stdout
    assert MSG_NOTHING in r.stderr
    assert not list(tmp_path.glob("takeitdown-receipt-*"))


def test_the_cli_says_what_the_page_says() -> None:
    """Every sentence the submit command shares with the page is the page's English text."""
    page = json.loads((ROOT / "src/takeitdown/registry/web/i18n/en.json").read_text())
    for key, words in PAGE_WORDS.items():
        assert words == page[key], key


def test_a_video_longer_than_ten_minutes_is_refused_like_the_page() -> None:
    frames = tuple(VpdqFrame(i, float(i), 80, "ab" * 32) for i in range(0, 602, 50)) + (
        VpdqFrame(602, 601.0, 80, "ab" * 32),
    )
    long_video = VideoHashes(Md5Hash("0" * 32), Sha256Hash("0" * 64), VpdqHash(frames))
    assert to_item(long_video)[1] == MSG_TOO_LONG
    short = VideoHashes(Md5Hash("0" * 32), Sha256Hash("0" * 64), VpdqHash(frames[:-1]))
    assert to_item(short)[0] is not None


class DropFirstReply:
    """A loopback proxy that forwards to the registry but drops the reply to the first case POST."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.dropped: dict[str, Any] | None = None
        self.keys: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:])
            length = int({k.lower(): v for k, v in headers.items()}.get("content-length", "0"))
            while len(body) < length:
                body += conn.recv(65536)
            wanted = ("content-type", "idempotency-key", "authorization")
            keep = {k: v for k, v in headers.items() if k.lower() in wanted}
            r = httpx.request(method, self.target + path, content=body, headers=keep, timeout=30)
            if method == "POST" and path == "/v1/cases":
                self.keys.append({k.lower(): v for k, v in keep.items()}["idempotency-key"])
                if self.dropped is None:
                    self.dropped = r.json()
                    return  # the case was created, but the reply is lost on the way back
            reply = (
                f"HTTP/1.1 {r.status_code} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(r.content)}\r\nConnection: close\r\n\r\n"
            ).encode() + r.content
            conn.sendall(reply)

    def close(self) -> None:
        self.sock.close()


def test_a_lost_reply_is_retried_with_the_same_key_and_one_case(registry: Registry, tmp_path: Path) -> None:
    proxy = DropFirstReply(registry.url)
    try:
        a = photo(tmp_path / "a.png", 5)
        receipt = tmp_path / "r.json"
        r = run("submit", str(a), "--registry", proxy.url, "--yes", "--receipt", str(receipt), cwd=tmp_path)
        assert r.returncode == 0, r.stderr + r.stdout
    finally:
        proxy.close()
    assert proxy.dropped is not None
    assert len(proxy.keys) == 2 and proxy.keys[0] == proxy.keys[1]
    case = json.loads(receipt.read_text())["cases"][0]
    assert case["case_id"] == proxy.dropped["case_id"]  # one case, not two
    assert case["case_secret"] == proxy.dropped["case_secret"]


@pytest.mark.parametrize("url", ["ftp://example.org", "registry.example.org"])
def test_a_bad_registry_address_is_a_clear_error(tmp_path: Path, url: str) -> None:
    a = photo(tmp_path / "a.png", 1)
    r = run("submit", str(a), "--registry", url, "--yes", cwd=tmp_path)
    assert r.returncode == 2 and "must start with https://" in r.stderr


def test_an_unwritable_receipt_place_is_refused_before_anything_is_sent(
    registry: Registry, tmp_path: Path
) -> None:
    a = photo(tmp_path / "a.png", 1)
    nowhere = tmp_path / "no" / "r.json"
    r = run("submit", str(a), "--registry", registry.url, "--yes", "--receipt", str(nowhere), cwd=tmp_path)
    assert r.returncode == 2 and "Cannot write the receipt" in r.stderr
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    r = run("submit", str(a), "--registry", registry.url, "--yes", "--receipt", str(existing), cwd=tmp_path)
    assert r.returncode == 2 and "never overwritten" in r.stderr
    assert existing.read_text() == "{}"
