"""The feed: order, dedup, withdrawal of shared hashes, re-adds, vPDQ, cursors and keys."""

from __future__ import annotations

import hashlib
import json

import httpx

from tests.registry.helpers import (
    Server,
    bearer,
    feed_end,
    image_item,
    rand_hex,
    random_pdq,
    read_all,
    store_for,
    video_item,
    wait_published,
)


def submit(client: httpx.Client, items: list[dict]) -> dict:  # type: ignore[type-arg]
    r = client.post("/v1/cases", json={"items": items})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_entries_in_order_with_dedup(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    shared = {"type": "md5", "value": rand_hex(32)}
    a = image_item()
    b = {"kind": "image", "hashes": [shared, {"type": "pdq", "value": random_pdq(), "quality": 70}]}
    submit(client, [a, b])
    submit(client, [{"kind": "image", "hashes": [shared]}])  # the same hash in a second case
    entries, end = read_all(client, platform_key, after=start)
    seqs = [e["seq"] for e in entries]
    assert seqs == list(range(start + 1, end + 1))  # in order, no gaps, nothing twice
    keys = [(e["type"], e["value"]) for e in entries]
    assert len(keys) == len(set(keys)) == 4  # shared md5 appears once
    assert all(e["op"] == "add" for e in entries)
    pdq = next(e for e in entries if e["value"] == a["hashes"][0]["value"])
    assert pdq["type"] == "pdq" and pdq["quality"] == 90 and pdq["frames"] is None
    md5 = next(e for e in entries if e["value"] == shared["value"])
    assert md5["quality"] is None and isinstance(md5["entry_id"], int)


def test_low_quality_pdq_is_kept_but_not_distributed(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    low = {"type": "pdq", "value": rand_hex(64), "quality": 49}
    md5 = {"type": "md5", "value": rand_hex(32)}
    body = submit(client, [{"kind": "image", "hashes": [low, md5]}])
    entries, _ = read_all(client, platform_key, after=start)
    assert [e["value"] for e in entries] == [md5["value"]]
    status = client.get(f"/v1/cases/{body['case_id']}", headers=bearer(body["case_secret"])).json()
    assert status["items"] == 1
    # The same PDQ from another case at good quality does go out.
    submit(client, [{"kind": "image", "hashes": [{**low, "quality": 80}]}])
    entries, _ = read_all(client, platform_key, after=start)
    assert (entries[-1]["value"], entries[-1]["quality"]) == (low["value"], 80)


def test_withdraw_with_a_hash_shared_by_two_cases(client: httpx.Client, platform_key: str) -> None:
    shared = {"type": "pdq", "value": random_pdq(), "quality": 88}
    only_a = {"type": "md5", "value": rand_hex(32)}
    only_b = {"type": "md5", "value": rand_hex(32)}
    case_a = submit(client, [{"kind": "image", "hashes": [shared, only_a]}])
    case_b = submit(client, [{"kind": "image", "hashes": [shared, only_b]}])
    start = feed_end(client, platform_key)

    assert (
        client.delete(f"/v1/cases/{case_a['case_id']}", headers=bearer(case_a["case_secret"])).status_code
        == 200
    )
    entries, mid = read_all(client, platform_key, after=start)
    assert [(e["op"], e["value"]) for e in entries] == [("remove", only_a["value"])]  # shared stays

    assert (
        client.delete(f"/v1/cases/{case_b['case_id']}", headers=bearer(case_b["case_secret"])).status_code
        == 200
    )
    entries, end = read_all(client, platform_key, after=mid)
    assert sorted((e["op"], e["value"]) for e in entries) == sorted(
        [("remove", shared["value"]), ("remove", only_b["value"])]
    )
    removed_shared = next(e for e in entries if e["value"] == shared["value"])

    # Submitted again later: a new add with the same entry_id.
    submit(client, [{"kind": "image", "hashes": [shared]}])
    entries, _ = read_all(client, platform_key, after=end)
    assert [(e["op"], e["value"], e["entry_id"]) for e in entries] == [
        ("add", shared["value"], removed_shared["entry_id"])
    ]


def test_vpdq_entries_carry_frames_and_a_stable_value(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    item = video_item(frames=4)
    body = submit(client, [item])
    entries, mid = read_all(client, platform_key, after=start)
    vpdq = next(e for e in entries if e["type"] == "vpdq")
    frames = item["hashes"][0]["frames"]
    assert vpdq["frames"] == [{"i": f["i"], "t": f["t"], "q": f["q"], "pdq": f["pdq"]} for f in frames]
    canonical = json.dumps(vpdq["frames"], separators=(",", ":"), sort_keys=True)
    assert vpdq["value"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert vpdq["quality"] is None
    client.delete(f"/v1/cases/{body['case_id']}", headers=bearer(body["case_secret"]))
    entries, _ = read_all(client, platform_key, after=mid)
    removed = next(e for e in entries if e["type"] == "vpdq")
    assert removed["op"] == "remove" and removed["frames"] is None and removed["entry_id"] == vpdq["entry_id"]


def test_paging_follows_next(client: httpx.Client, platform_key: str) -> None:
    start = feed_end(client, platform_key)
    submit(client, [image_item() for _ in range(5)])  # 10 entries
    wait_published(client)
    r = client.get("/v1/feed", params={"after": start, "limit": 3}, headers=bearer(platform_key)).json()
    assert len(r["entries"]) == 3 and r["more"] is True and r["next"] == r["entries"][-1]["seq"]
    entries, end = read_all(client, platform_key, after=start, limit=3)
    assert len(entries) == 10 and end == start + 10
    r = client.get("/v1/feed", params={"after": end}, headers=bearer(platform_key)).json()
    assert (r["entries"], r["next"], r["more"]) == ([], end, False)
    assert r["base"] == r["head"]  # nothing served: the running hash did not move


def test_bad_cursors_and_limits(client: httpx.Client, platform_key: str) -> None:
    end = feed_end(client, platform_key)
    h = bearer(platform_key)
    for params, status, words in [
        ({"after": -1}, 422, "after"),
        ({"after": "abc"}, 422, "after"),
        ({"after": "1.5"}, 422, "after"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": 10001}, 422, "limit"),
        ({"after": end + 1000}, 400, "past the end"),
    ]:
        r = client.get("/v1/feed", params=params, headers=h)
        assert r.status_code == status, (params, r.text)
        assert words in r.json()["detail"]


def test_bad_keys(server: Server, client: httpx.Client) -> None:
    name = "keys-" + rand_hex(6)
    store = store_for(server.database_url)
    key = store.platform_add(name)
    assert client.get("/v1/feed", headers=bearer(key)).status_code == 200
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Token " + key},
        bearer("garbage"),
        bearer(key[:-2] + "xx"),
        bearer("tdk_" + "0" * 12 + "_" + "a" * 43),
    ):
        r = client.get("/v1/feed", headers=headers)
        assert r.status_code == 401, headers
        assert "key" in r.json()["detail"]
    new = store.platform_rotate(name)
    assert client.get("/v1/feed", headers=bearer(key)).status_code == 401
    assert client.get("/v1/feed", headers=bearer(new)).status_code == 200
    store.platform_revoke(name)
    assert client.get("/v1/feed", headers=bearer(new)).status_code == 401
    assert client.post("/v1/reports", json={"reports": []}, headers=bearer(new)).status_code == 401


def test_platforms_received_counts_readers_past_the_case(server: Server, client: httpx.Client) -> None:
    body = submit(client, [image_item()])
    status_url, auth = f"/v1/cases/{body['case_id']}", bearer(body["case_secret"])
    before = client.get(status_url, headers=auth).json()["platforms_received"]
    key = store_for(server.database_url).platform_add("reader-" + rand_hex(6))
    assert client.get(status_url, headers=auth).json()["platforms_received"] == before
    read_all(client, key, limit=10000)
    assert client.get(status_url, headers=auth).json()["platforms_received"] == before + 1
