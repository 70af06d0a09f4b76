"""`takeitdown hma-reporter`: a platform's decisions reach the registry as reports, once each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.node.helpers import Registry
from tests.threatexchange.helpers import case_status, read_feed, submit_random


def reporter(*args: str, key: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TX_TAKEITDOWN_API_KEY"}
    env["HOME"] = str(cwd)
    if key is not None:
        env["TX_TAKEITDOWN_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "hma-reporter", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def _case_with_ids(registry: Registry, key: str) -> tuple[dict[str, Any], list[int]]:
    case = submit_random(registry, 2)
    ids = [e["entry_id"] for e in read_feed(registry, key) if e["op"] == "add"]
    return case, ids


def test_decisions_by_entry_id_are_reported_once(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("hma-platform")
    case, ids = _case_with_ids(registry, key)
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text(
        "\n".join(
            json.dumps(d)
            for d in [
                {"entry_id": ids[0], "decision": "removed", "content_ref": "post:1"},
                {"entry_id": ids[0], "decision": "removed", "content_ref": "post:2"},  # another copy
                {"entry_id": ids[1], "decision": "upload_blocked", "content_ref": "upload:9"},
                {"entry_id": ids[2], "decision": "true_positive", "content_ref": "post:3"},
            ]
        )
        + "\n"
    )
    r = reporter(str(decisions), "--registry", registry.url, key=key, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "accepted 4, already reported 0, rejected 0" in r.stdout
    outcomes = case_status(registry, case)["outcomes"]
    assert (outcomes["removed"], outcomes["upload_blocked"], outcomes["match_found"]) == (2, 1, 1)

    again = reporter(str(decisions), "--registry", registry.url, key=key, cwd=tmp_path)
    assert "accepted 0, already reported 4" in again.stdout
    assert case_status(registry, case)["outcomes"] == outcomes


def test_bad_decisions_are_named_and_the_good_ones_still_sent(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("hma-platform")
    case, ids = _case_with_ids(registry, key)
    decisions = tmp_path / "d.jsonl"
    decisions.write_text(
        json.dumps({"entry_id": ids[0], "decision": "false_positive", "content_ref": "u:1"}) + "\n"
        + json.dumps({"entry_id": ids[0], "decision": "maybe", "content_ref": "u:1"}) + "\n"
        + "not json\n"
        + json.dumps({"entry_id": 999_999, "decision": "removed", "content_ref": "u:2"}) + "\n"
        + json.dumps({"bank": "B", "bank_content_id": 5, "decision": "removed", "content_ref": "u:3"})
        + "\n" + json.dumps({"entry_id": ids[1], "decision": "removed"}) + "\n"
    )  # fmt: skip
    r = reporter(str(decisions), "--registry", registry.url, key=key, cwd=tmp_path)
    assert r.returncode == 1
    assert "accepted 1" in r.stdout and "rejected 5" in r.stdout
    assert "line 2: unknown decision 'maybe'" in r.stderr and "line 3:" in r.stderr
    assert "999999" in r.stderr and "needs --hma" in r.stderr
    assert "line 6: content_ref is missing" in r.stderr
    assert case_status(registry, case)["outcomes"]["false_positive"] == 1


def test_a_missing_decisions_file_is_a_clear_error(registry: Registry, tmp_path: Path) -> None:
    r = reporter(str(tmp_path / "nowhere.jsonl"), "--registry", registry.url, key="tdk_x", cwd=tmp_path)
    assert r.returncode == 2 and "Cannot read" in r.stderr and "Traceback" not in r.stderr


def test_missing_key(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("")
    r = reporter(str(tmp_path / "d.jsonl"), "--registry", registry.url, key=None, cwd=tmp_path)
    assert r.returncode == 2 and "TX_TAKEITDOWN_API_KEY" in r.stderr


class _HmaBankContent(BaseHTTPRequestHandler):
    """Stand-in for HMA's `GET /c/bank/<bank>/content/<id>?include_signals=true`, in the shape
    OpenMediaMatch's curation blueprint answers (BankContentResponse): `collab_metadata` is always
    empty (HMA keeps no link to the exchange entry), `signals` names the item's hashes."""

    content: dict[int, dict[str, str]] = {}  # bank content id -> {signal type: value}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        cid = int(parts[4]) if len(parts) == 5 and parts[:2] == ["c", "bank"] else -1
        if parts[2:3] != ["TAKEITDOWN"] or cid not in self.content:
            self.send_response(404)
            self.end_headers()
            return
        answer: dict[str, Any] = {
            "id": cid, "disable_until_ts": 0, "collab_metadata": {}, "original_media_uri": None,
            "bank": {"name": "TAKEITDOWN", "matching_enabled_ratio": 1.0},
        }  # fmt: skip
        if "include_signals=true" in query:
            answer["signals"] = self.content[cid]
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_bank_content_ids_are_resolved_through_hma_and_the_feed(registry: Registry, tmp_path: Path) -> None:
    key = registry.add_platform("hma-platform")
    case = submit_random(registry, 2)
    adds = [e for e in read_feed(registry, key) if e["op"] == "add"]
    pdq = next(e for e in adds if e["type"] == "pdq")
    md5 = next(e for e in adds if e["type"] == "md5")
    _HmaBankContent.content = {
        41: {"pdq": pdq["value"]},
        43: {"photo_md5": md5["value"].upper()},  # HMA may keep another case
        44: {"pdq": "0" * 64},  # a hash the registry does not list
    }
    hma = ThreadingHTTPServer(("127.0.0.1", 0), _HmaBankContent)
    threading.Thread(target=hma.serve_forever, daemon=True).start()
    try:
        decisions = tmp_path / "d.jsonl"
        lines = [
            {"bank": "TAKEITDOWN", "bank_content_id": 41, "decision": "removed", "content_ref": "p:1"},
            {"bank": "TAKEITDOWN", "bank_content_id": 42, "decision": "removed", "content_ref": "p:2"},
            {"bank": "TAKEITDOWN", "bank_content_id": 43, "decision": "upload_blocked", "content_ref": "p:3"},
            {"bank": "TAKEITDOWN", "bank_content_id": 44, "decision": "removed", "content_ref": "p:4"},
        ]
        decisions.write_text("".join(json.dumps(d) + "\n" for d in lines))
        hma_url = f"http://127.0.0.1:{hma.server_address[1]}"
        r = reporter(str(decisions), "--registry", registry.url, "--hma", hma_url, key=key, cwd=tmp_path)
    finally:
        hma.shutdown()
    assert "accepted 2" in r.stdout, r.stdout + r.stderr
    assert "HMA has no content 42" in r.stderr
    assert "line 4: no live registry entry" in r.stderr
    outcomes = case_status(registry, case)["outcomes"]
    assert (outcomes["removed"], outcomes["upload_blocked"]) == (1, 1)
    assert httpx.get(registry.url + "/healthz").status_code == 200
