"""Registry probes, and a busy or locked database answering 503 with Retry-After, never 500."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from sqlalchemy.exc import OperationalError

from takeitdown.registry.metrics import Metrics
from takeitdown.registry.middleware import GuardMiddleware
from tests.registry.helpers import Server


def test_livez_and_readyz(server: Server) -> None:
    import httpx

    assert httpx.get(server.url + "/livez", timeout=10).json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz", timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("error", "status"),
    [(OperationalError("INSERT ...", {}, Exception("database is locked")), 503), (RuntimeError("bug"), 500)],
)
def test_a_locked_database_is_503_with_retry_after_and_a_bug_is_a_plain_500(
    error: Exception, status: int
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise error

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    guard = GuardMiddleware(app, Metrics())
    anyio.run(guard, {"type": "http", "method": "POST", "path": "/v1/cases"}, receive, send)
    assert sent[0]["status"] == status
    headers = dict(sent[0]["headers"])
    body = json.loads(sent[1]["body"])
    assert "locked" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    if status == 503:
        assert headers[b"retry-after"] == b"2" and body["code"] == "unavailable"
    else:
        assert body["code"] == "internal"


@pytest.mark.postgres
def test_readyz_is_503_when_the_database_is_gone(tmp_path: Any) -> None:
    """A real registry on PostgreSQL whose database is dropped under it: /readyz says 503 with
    Retry-After (an orchestrator stops sending it traffic), /livez still answers, nothing is a 500."""
    import httpx

    from tests.registry.helpers import drop_database, make_database, start_server, stop_server

    target = make_database("postgresql", tmp_path)  # skips with a reason without PostgreSQL
    server = start_server(target, tmp_path)
    try:
        assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
        drop_database(target)  # WITH (FORCE): its connections are cut
        r = httpx.get(server.url + "/readyz", timeout=30)
        assert r.status_code == 503 and r.headers["retry-after"] and r.json()["code"] == "unavailable"
        assert httpx.get(server.url + "/livez", timeout=10).status_code == 200
        case = {"items": [{"kind": "image", "hashes": [{"type": "md5", "value": "a" * 32}]}]}
        assert httpx.post(server.url + "/v1/cases", json=case, timeout=30).status_code == 503
    finally:
        stop_server(server)
        drop_database(target)
