"""Health, metrics, OpenAPI, the page at / with its security headers, unit checks of helpers."""

from __future__ import annotations

import httpx

from takeitdown.ratelimit import RateLimiter
from takeitdown.registry import keys
from tests.registry.helpers import METRICS_TOKEN, bearer


def test_healthz_and_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert {"/v1/cases", "/v1/cases/{case_id}", "/v1/feed", "/v1/reports"} <= set(spec["paths"])
    # Swagger UI and ReDoc would load scripts from a CDN on the person's origin: off.
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_metrics_count_cases_feed_reads_and_requests(client: httpx.Client, platform_key: str) -> None:
    client.post(
        "/v1/cases", json={"items": [{"kind": "image", "hashes": [{"type": "md5", "value": "a" * 32}]}]}
    )
    client.get("/v1/feed", params={"limit": 5}, headers=bearer(platform_key))
    # Counts to the second would let a platform time a case: the operator's token only.
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(platform_key)).status_code == 401
    assert client.get("/metrics", headers=bearer(METRICS_TOKEN[:-1])).status_code == 401
    text = client.get("/metrics", headers=bearer(METRICS_TOKEN)).text
    assert "takeitdown_registry_cases_created_total" in text
    assert "takeitdown_registry_feed_reads_total{platform=" in text
    assert "takeitdown_registry_feed_entries_served_total" in text
    assert 'takeitdown_registry_requests_total{method="POST",route="/v1/cases",status="201"}' in text


def test_page_is_served_with_security_headers(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    for part in (
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "img-src 'self' blob: data:",
    ):
        assert part in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_case_ids_are_easy_to_read_aloud() -> None:
    ids = {keys.new_case_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cid in ids:
        assert keys.CASE_ID_RE.fullmatch(cid)
        assert not set(cid[3:]) & set("01OI")
    assert keys.normalize_case_id(" td-abcd-efgh ") == "TD-ABCD-EFGH"
    assert keys.normalize_case_id("TD-0000-0000") is None


def test_secret_check_is_constant_shape() -> None:
    salt, digest = keys.hash_secret("s3cret")
    assert keys.check_secret("s3cret", salt, digest)
    assert not keys.check_secret("s3creT", salt, digest)
    assert not keys.check_secret("s3cret", None, None)  # unknown id: same work, same answer


def test_rate_limiter_buckets_per_client() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    assert RateLimiter(per_minute=0, burst=0).allow("a")
    assert all(len(k) == 16 for k in limiter._buckets)  # hashed keys, never the address
