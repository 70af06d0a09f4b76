"""End to end: a real registry and a real node (uvicorn servers on loopback), as in issue 5's Show."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageOps

from takeitdown.hashing import hash_file
from tests.node.helpers import Registry, conformance, start_node, wait_for

pytestmark = pytest.mark.slow


def _jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _variants(path: Path) -> dict[str, bytes]:
    img = Image.open(path).convert("RGB")
    w, h = img.size
    cx, cy = w // 100, h // 100  # PDQ tolerates ~1% a side; 2% is already past 31 on this photo
    return {
        "resized to half": _jpeg(img.resize((w // 2, h // 2), Image.Resampling.LANCZOS)),
        "recompressed at q40": _jpeg(img, 40),
        "cropped 1% each side": _jpeg(img.crop((cx, cy, w - cx, h - cy))),
        "rotated 90": _jpeg(img.rotate(90, expand=True)),
        "mirrored": _jpeg(ImageOps.mirror(img)),
    }


def _flip_bits(hex_value: str, n: int) -> str:
    v = int(hex_value, 16)
    for b in range(n):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


def test_case_sync_match_review_report_withdraw(registry: Registry, tmp_path: Path) -> None:
    original = conformance("pdq/bridge-mods/aaa-orig.jpg")
    unrelated = conformance("pdq/reg-test-input/labelme-subset/q0003.jpg")
    key = registry.add_platform("example-platform")
    node = start_node(registry, key, tmp_path, extra_env={"TAKEITDOWN_NODE_MAX_UPLOAD_MB": "2"})
    try:
        client = httpx.Client(base_url=node.url, headers=node.auth, timeout=60)
        # Without the admin token nothing but /healthz and /metrics answers.
        assert httpx.post(node.url + "/v1/match", json={"hashes": []}).status_code == 401
        assert httpx.get(node.url + "/v1/review", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert httpx.get(node.url + "/metrics").status_code == 200

        # A person submits a case from the image's hashes (computed on "their device").
        hashes = hash_file(original)
        r = httpx.post(
            registry.url + "/v1/cases", json={"items": [{"kind": "image", "hashes": hashes.wire_hashes()}]}
        )
        assert r.status_code == 201, r.text
        case = r.json()
        case_auth = {"Authorization": f"Bearer {case['case_secret']}"}

        # The node syncs.
        wait_for(
            lambda: node.health()["entries"].get("pdq") == 1 and node.health()["entries"].get("md5") == 1,
            what="node to sync the case",
        )
        health = node.health()
        assert health["index"]["pdq"] == 1 and health["sync"]["last_success"]

        # The same image is held: not posted, and first in the review queue (the entry is
        # unconfirmed: one anonymous submission never blocks for good on its own).
        data = original.read_bytes()
        r = client.post("/v1/match", files={"file": ("x.jpg", data, "image/jpeg")})
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "hold" and r.json()["final"] is False
        held = r.json()
        action = client.get(f"/v1/actions/{held['action_id']}").json()
        assert action["kind"] == "hold" and action["status"] == "pending" and action["ref"] == held["ref"]
        types = {m["type"] for m in r.json()["matches"]}
        assert types == {"md5", "pdq"}

        # Edited copies are held (never allowed).
        verdicts = {}
        for name, blob in _variants(original).items():
            r = client.post("/v1/match", files={"file": ("v.jpg", blob, "image/jpeg")})
            assert r.status_code == 200, (name, r.text)
            verdicts[name] = (
                r.json()["verdict"],
                min(m["distance"] for m in r.json()["matches"]) if r.json()["matches"] else None,
            )
        assert all(v == "hold" for v, _ in verdicts.values()), verdicts

        # An unrelated image is allowed.
        r = client.post("/v1/match", files={"file": ("u.jpg", unrelated.read_bytes(), "image/jpeg")})
        assert r.json()["verdict"] == "allow" and r.json()["final"] is True and r.json()["matches"] == []

        # Undecodable and oversize input get clear 4xx answers.
        r = client.post(
            "/v1/match", files={"file": ("bad.jpg", b"\xff\xd8\xff not really a jpeg", "image/jpeg")}
        )
        assert r.status_code == 422 and "detail" in r.json()
        r = client.post("/v1/match", files={"file": ("big.jpg", b"\xff" * (3 * 2**20), "image/jpeg")})
        assert r.status_code == 413 and "2 MB" in r.json()["detail"]
        r = client.post("/v1/match", content=b"hello", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415
        r = client.post("/v1/match", json={"hashes": [{"type": "pdq", "value": "xyz"}]})
        assert r.status_code == 400 and "PDQ" in r.json()["detail"]

        # A near copy (PDQ 20 bits away) is held for review too; the reviewer removes it.
        near = _flip_bits(hashes.pdq.value, 20)
        r = client.post(
            "/v1/match", json={"hashes": [{"type": "pdq", "value": near, "quality": 100}], "ref": "post-123"}
        )
        body = r.json()
        assert body["verdict"] == "hold" and body["matches"][0]["distance"] == 20, body
        review_id = body["review_id"]
        queue = client.get("/v1/review", params={"order": "priority"}).json()["items"]
        assert any(i["id"] == review_id and i["ref"] == "post-123" and i["priority"] == 1 for i in queue)
        r = client.post(f"/v1/review/{review_id}", json={"decision": "remove", "reviewer": "alice"})
        assert r.status_code == 200 and r.json()["status"] == "removed", r.text
        assert (
            client.post(
                f"/v1/review/{review_id}", json={"decision": "remove", "reviewer": "alice"}
            ).status_code
            == 409
        )
        assert (
            client.post("/v1/review/999999", json={"decision": "remove", "reviewer": "alice"}).status_code
            == 404
        )
        assert client.post(
            f"/v1/review/{review_id}", json={"decision": "maybe", "reviewer": "alice"}
        ).status_code in (400, 409)

        # The removed item's own hash is now on the local block list: blocked at once.
        r = client.post("/v1/match", json={"hashes": [{"type": "pdq", "value": near, "quality": 100}]})
        assert r.json()["verdict"] == "block"
        assert any(m["source"] == "local" and m["distance"] == 0 for m in r.json()["matches"])

        # The case status on the registry shows what the platform reported.
        def outcomes() -> dict | None:
            st = httpx.get(f"{registry.url}/v1/cases/{case['case_id']}", headers=case_auth).json()
            o = st["outcomes"]
            return st if o["upload_blocked"] >= 1 else None

        status = wait_for(outcomes, what="outcomes to reach the registry")
        assert status["platforms_received"] >= 1

        # The reviewer's decision went as a reviewed report: the registry confirms the entry, the
        # new state comes back on the feed, and the listed PDQ now blocks outright.
        listed = [{"type": "pdq", "value": hashes.pdq.value, "quality": 100}]

        def blocks_for_good() -> dict | None:
            r = client.post("/v1/match", json={"hashes": listed, "ref": "post-124"}).json()
            registry_matches = [m for m in r["matches"] if m["source"] == "registry"]
            confirmed = registry_matches and all(m["trust"] == "confirmed" for m in registry_matches)
            return r if r["verdict"] == "block" and r["final"] and confirmed else None

        wait_for(blocks_for_good, what="the confirmation to come back on the feed")

        # Withdrawing the case removes its hashes from the node.
        r = httpx.delete(f"{registry.url}/v1/cases/{case['case_id']}", headers=case_auth)
        assert r.status_code == 200 and r.json()["status"] == "withdrawn"
        wait_for(
            lambda: node.health()["index"]["pdq"] == 0 and not node.health()["entries"],
            what="withdrawal to reach the node",
        )
        r = client.post("/v1/match", files={"file": ("x.jpg", data, "image/jpeg")})
        assert [m for m in r.json()["matches"] if m["source"] == "registry"] == []
        # ... and lifts what stood only on them: the reviewer's local block and the held upload.
        r = client.post("/v1/match", json={"hashes": [{"type": "pdq", "value": near, "quality": 100}]})
        assert r.json()["verdict"] == "allow", r.json()
        action = client.get(f"/v1/actions/{held['action_id']}").json()
        assert action["status"] == "lifted" and "withdrawn" in action["reason"], action
        print("variant verdicts (verdict, best distance):", verdicts)
    finally:
        node.stop()
