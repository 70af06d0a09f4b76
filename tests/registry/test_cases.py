"""Case submission, status and withdrawal, with every error a submitter can cause."""

from __future__ import annotations

import json
import re

import httpx

from tests.registry.helpers import Server, bearer, image_item, rand_hex, random_pdq, video_item

CASE_ID = re.compile(r"TD-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def submit(client: httpx.Client, items: list[dict], **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return client.post("/v1/cases", json={"items": items}, **kwargs)


def test_submit_returns_readable_case_and_strong_secret(client: httpx.Client) -> None:
    r = submit(client, [image_item(), video_item()])
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"case_id", "case_secret", "items_accepted", "rejected"}
    assert CASE_ID.fullmatch(body["case_id"])  # no 0/O, no 1/I
    assert len(body["case_secret"]) >= 22  # >= 128 bits of url-safe base64
    assert body["items_accepted"] == 2 and body["rejected"] == []
    assert r.headers["cache-control"] == "no-store"


def test_status_and_withdraw(client: httpx.Client) -> None:
    body = submit(client, [image_item(), image_item(), video_item()]).json()
    cid, secret = body["case_id"], body["case_secret"]
    r = client.get(f"/v1/cases/{cid}", headers=bearer(secret))
    assert r.status_code == 200
    status = r.json()
    assert status == {
        "case_id": cid,
        "status": "active",
        "items": 3,
        "platforms_received": 0,
        "outcomes": {"match_found": 0, "removed": 0, "upload_blocked": 0, "false_positive": 0},
        "under_review": False,
    }
    # The case number may be typed in lower case with spaces.
    assert client.get(f"/v1/cases/{cid.lower()}", headers=bearer(secret)).json()["case_id"] == cid
    r = client.delete(f"/v1/cases/{cid}", headers=bearer(secret))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert client.get(f"/v1/cases/{cid}", headers=bearer(secret)).json()["status"] == "withdrawn"
    # Withdrawing twice is harmless.
    assert client.delete(f"/v1/cases/{cid}", headers=bearer(secret)).json()["status"] == "withdrawn"


def test_wrong_secret_and_unknown_case_get_the_same_404(client: httpx.Client) -> None:
    body = submit(client, [image_item()]).json()
    wrong = client.get(f"/v1/cases/{body['case_id']}", headers=bearer("x" * 32))
    unknown = client.get("/v1/cases/TD-2222-2222", headers=bearer(body["case_secret"]))
    garbage = client.get("/v1/cases/not-a-case", headers=bearer(body["case_secret"]))
    for r in (wrong, unknown, garbage):
        assert r.status_code == 404
        assert r.json() == {"code": "case.not_found", "detail": "No case with that number and secret."}
    assert wrong.content == unknown.content == garbage.content
    assert client.delete(f"/v1/cases/{body['case_id']}", headers=bearer("nope")).status_code == 404
    # Still active: the wrong secret withdrew nothing.
    r = client.get(f"/v1/cases/{body['case_id']}", headers=bearer(body["case_secret"]))
    assert r.json()["status"] == "active"


def test_missing_secret_is_401(client: httpx.Client) -> None:
    for r in (client.get("/v1/cases/TD-2222-2222"), client.delete("/v1/cases/TD-2222-2222")):
        assert r.status_code == 401
        assert "Bearer" in r.json()["detail"]
    r = client.get("/v1/cases/TD-2222-2222", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_bad_hash_rejects_that_item_only(client: httpx.Client) -> None:
    FRAME = {"i": 0, "t": 0, "q": 90, "pdq": random_pdq()}  # noqa: N806
    items = [
        image_item(),
        {"kind": "image", "hashes": [{"type": "pdq", "value": "abc", "quality": 90}]},
        {"kind": "image", "hashes": [{"type": "md5", "value": "g" * 32}]},
        {"kind": "image", "hashes": [{"type": "pdq", "value": rand_hex(64), "quality": 101}]},
        {"kind": "image", "hashes": [{"type": "sha1", "value": rand_hex(40)}]},
        {"kind": "image", "hashes": []},
        {"kind": "image", "hashes": [{"type": "vpdq", "frames": [FRAME]}]},
        {"kind": "audio", "hashes": [{"type": "md5", "value": rand_hex(32)}]},
        {"kind": "video", "hashes": [{"type": "vpdq", "frames": []}]},
        {"kind": "image", "hashes": ["not an object"]},
        {"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32), "extra": 1}]},
    ]
    r = submit(client, items)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["items_accepted"] == 1
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert sorted(reasons) == list(range(1, len(items)))
    assert "64 hex characters" in reasons[1]
    assert "hex characters" in reasons[2]
    assert "quality" in reasons[3]
    assert "unknown hash type" in reasons[4]
    assert "at least one hash" in reasons[5]
    assert "cannot carry a vpdq" in reasons[6]
    assert "kind" in reasons[7]
    assert "at least one frame" in reasons[8]
    assert "unknown fields" in reasons[10]


def test_all_items_bad_is_422_and_no_case(client: httpx.Client) -> None:
    r = submit(client, [{"kind": "image", "hashes": [{"type": "md5", "value": "xyz"}]}])
    assert r.status_code == 422
    body = r.json()
    assert "None of the items" in body["detail"] and body["rejected"][0]["index"] == 0


def test_structural_errors_are_clear_4xx(client: httpx.Client) -> None:
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 422, "JSON object"),
        (b'{"items": [], "name": "x"}', 422, "Unknown field 'name'"),
        (b'{"items": "abc"}', 422, "items"),
        (b"{}", 422, "Missing 'items'"),
        (b'{"items": []}', 422, "at least one item"),
        (b'{"items": [{"kind": "image"}]}', 422, "Missing 'items.0.hashes'"),
        (b'{"items": [{"kind": "image", "hashes": [], "filename": "me.jpg"}]}', 422, "Unknown field"),
        (b'{"items": [{"kind": 5, "hashes": []}]}', 422, "items.0.kind"),
    ]
    for raw, status, words in cases:
        r = client.post("/v1/cases", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == status, (raw, r.text)
        detail = r.json()["detail"]
        assert isinstance(detail, str) and words in detail, (raw, detail)
        assert "Traceback" not in r.text


def test_too_many_items(client: httpx.Client) -> None:
    items = [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]} for _ in range(101)]
    r = submit(client, items)
    assert r.status_code == 422 and "at most 100 items" in r.json()["detail"]
    assert submit(client, items[:100]).status_code == 201


def test_oversize_body_by_length_and_by_stream(client: httpx.Client) -> None:
    big = b'{"items": [' + b" " * (4 * 1024 * 1024) + b"]}"
    r = client.post("/v1/cases", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: chunked transfer
        yield b'{"items": ['
        for _ in range(80):
            yield b" " * 65536
        yield b"]}"

    r = client.post("/v1/cases", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "4 MB" in r.json()["detail"]


def test_idempotent_retry_returns_the_same_case(client: httpx.Client) -> None:
    items = [image_item()]
    key = {"Idempotency-Key": rand_hex(32)}
    first = submit(client, items, headers=key)
    again = submit(client, items, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = submit(client, items, headers={"Idempotency-Key": rand_hex(32)})
    assert other.json()["case_id"] != first.json()["case_id"]
    # The same key with a different body is refused, not silently mixed up.
    r = submit(client, [image_item()], headers=key)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    r = submit(client, items, headers={"Idempotency-Key": "x" * 300})
    assert r.status_code == 400


def test_concurrent_retries_make_one_case(server: Server) -> None:
    import concurrent.futures

    body = json.dumps({"items": [image_item()]})
    key = {"Idempotency-Key": rand_hex(32), "Content-Type": "application/json"}

    def post(_: int) -> str:
        with server.client() as c:
            return str(c.post("/v1/cases", content=body, headers=key).json()["case_id"])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(post, range(6)))
    assert len(ids) == 1


def test_unknown_route_and_method(client: httpx.Client) -> None:
    assert client.get("/v1/nothing").status_code == 404
    r = client.put("/v1/cases", json={})
    assert r.status_code == 405 and r.json()["detail"]


def test_largest_case_is_stored_whole(client: httpx.Client) -> None:
    """100 items of 20 hashes: more rows than one statement carries, so the store splits them."""
    items = [
        {"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)} for _ in range(20)]}
        for _ in range(100)
    ]
    r = submit(client, items)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["items_accepted"] == 100 and body["rejected"] == []
    status = client.get(f"/v1/cases/{body['case_id']}", headers=bearer(body["case_secret"])).json()
    assert status["items"] == 100
    withdrawn = client.delete(f"/v1/cases/{body['case_id']}", headers=bearer(body["case_secret"]))
    assert withdrawn.json()["status"] == "withdrawn"


def test_wrong_secret_and_unknown_case_take_about_the_same_time(client: httpx.Client) -> None:
    """Both paths look the case up and check a salted hash; only a loose bound is testable here."""
    import statistics
    import time

    body = submit(client, [image_item()]).json()

    def took(path: str) -> float:
        t0 = time.perf_counter()
        assert client.get(path, headers=bearer("w" * 32)).status_code == 404
        return time.perf_counter() - t0

    client.get("/healthz")  # warm the connection
    # Interleaved, so a burst of load from elsewhere on a shared machine hits both alike.
    pairs = [(took(f"/v1/cases/{body['case_id']}"), took("/v1/cases/TD-2222-2222")) for _ in range(40)]
    wrong = statistics.median(w for w, _ in pairs)
    unknown = statistics.median(u for _, u in pairs)
    assert 0.5 < wrong / unknown < 2.0, (wrong, unknown)
