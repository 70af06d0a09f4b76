"""Outcome reports: accepted, idempotent per report id, validated, shown on the case status."""

from __future__ import annotations

import uuid

import httpx

from tests.registry.helpers import bearer, feed_end, rand_hex, random_pdq, read_all


def test_reports_show_on_the_case_status(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    md5 = {"type": "md5", "value": rand_hex(32)}
    pdq = {"type": "pdq", "value": random_pdq(), "quality": 77}
    case = client.post("/v1/cases", json={"items": [{"kind": "image", "hashes": [md5, pdq]}]}).json()
    entries, _ = read_all(client, platform_key, after=start)
    ids = {e["value"]: e["entry_id"] for e in entries}

    def rep(value: str, outcome: str, ref: str) -> dict[str, object]:
        rid = str(uuid.uuid4())
        return {"report_id": rid, "entry_id": ids[value], "outcome": outcome, "content_ref": ref}

    reports = [
        rep(md5["value"], "match_found", "post-1"),
        rep(md5["value"], "removed", "post-1"),
        rep(pdq["value"], "upload_blocked", "upload-2"),
        rep(pdq["value"], "removed", "post-3"),
        rep(pdq["value"], "false_positive", "post-4"),
    ]
    r = client.post("/v1/reports", json={"reports": reports}, headers=bearer(platform_key))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 5, "duplicates": 0, "rejected": []}
    # Sent again (a retry): counted as duplicates, not twice.
    r = client.post("/v1/reports", json={"reports": reports[:3]}, headers=bearer(platform_key))
    assert r.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    status = client.get(f"/v1/cases/{case['case_id']}", headers=bearer(case["case_secret"])).json()
    assert status["outcomes"] == {"match_found": 1, "removed": 2, "upload_blocked": 1, "false_positive": 1}
    assert status["platforms_received"] >= 1


def test_bad_reports_are_rejected_one_by_one(client: httpx.Client, platform_key: str) -> None:
    client.post(
        "/v1/cases", json={"items": [{"kind": "image", "hashes": [{"type": "md5", "value": rand_hex(32)}]}]}
    )
    entries, _ = read_all(client, platform_key, after=max(0, feed_end(client, platform_key) - 1))
    good_id = entries[-1]["entry_id"]
    rid = str(uuid.uuid4())
    ref = {"content_ref": "c-1"}
    reports = [
        {"report_id": rid, "entry_id": good_id, "outcome": "removed", **ref},
        {"report_id": str(uuid.uuid4()), "entry_id": good_id, "outcome": "deleted", **ref},
        {"report_id": str(uuid.uuid4()), "entry_id": 10**12, "outcome": "removed", **ref},
        {"report_id": "", "entry_id": good_id, "outcome": "removed", **ref},
        {"report_id": str(uuid.uuid4()), "entry_id": "7", "outcome": "removed", **ref},
        {"report_id": str(uuid.uuid4()), "entry_id": good_id, **ref},
        {"report_id": str(uuid.uuid4()), "entry_id": good_id, "outcome": "removed", "note": "x", **ref},
        "not an object",
        {"report_id": rid, "entry_id": good_id, "outcome": "removed", **ref},  # same id twice in a batch
        {"report_id": str(uuid.uuid4()), "entry_id": good_id, "outcome": "removed"},  # no content_ref
        {"report_id": str(uuid.uuid4()), "entry_id": good_id, "outcome": "removed", **ref, "reviewed": 1},
    ]
    r = client.post("/v1/reports", json={"reports": reports}, headers=bearer(platform_key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 1 and body["duplicates"] == 1
    reasons = {x["index"]: x["reason"] for x in body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert "outcome must be one of" in reasons[1]
    assert "not a live entry you have received" in reasons[2]
    assert "missing: content_ref" in reasons[9]
    assert "reviewed must be true or false" in reasons[10]
    assert "report_id" in reasons[3]
    assert "entry_id" in reasons[4]
    assert "missing: outcome" in reasons[5]
    assert "unknown report fields: note" in reasons[6]
    assert "object" in reasons[7]


def test_report_batch_errors(client: httpx.Client, platform_key: str) -> None:
    h = bearer(platform_key)
    too_many = [{"report_id": str(i), "entry_id": 1, "outcome": "removed"} for i in range(1001)]
    r = client.post("/v1/reports", json={"reports": too_many}, headers=h)
    assert r.status_code == 422 and "At most 1000" in r.json()["detail"]
    r = client.post("/v1/reports", json={"reports": [], "extra": 1}, headers=h)
    assert r.status_code == 422 and "Unknown field 'extra'" in r.json()["detail"]
    r = client.post("/v1/reports", content=b"{oops", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.post("/v1/reports", json={"reports": []}).status_code == 401
    assert client.post("/v1/reports", json={"reports": []}, headers=h).json() == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
    }
