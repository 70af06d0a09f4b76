"""Nothing about the submitter is kept: search the database and the logs for address and UA."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.registry.helpers import (
    PG_HOST,
    PG_PORT,
    DatabaseTarget,
    Server,
    image_item,
    start_server,
    stop_server,
)

CLIENT_ADDRESS = "127.0.0.2"


@pytest.fixture
def probe_server(database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A server of its own: fresh logs, and a tight rate limit (burst 5) to check it in passing.
    env = {"TAKEITDOWN_CASE_RATE_PER_MINUTE": "1", "TAKEITDOWN_CASE_BURST": "5"}
    srv = start_server(database, tmp_path_factory.mktemp("privacy"), env)
    yield srv
    stop_server(srv)


def database_bytes(server: Server) -> bytes:
    if server.sqlite_path is not None:
        files = [server.sqlite_path] + [
            server.sqlite_path.with_name(server.sqlite_path.name + s) for s in ("-wal", "-shm")
        ]
        return b"".join(f.read_bytes() for f in files if f.exists())
    dump = subprocess.run(
        ["pg_dump", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", str(server.pg_dbname)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


def test_no_address_or_user_agent_in_database_or_logs(probe_server: Server) -> None:
    agent = f"PrivacyProbe/{secrets.token_hex(8)}"
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    headers = {"User-Agent": agent}
    with httpx.Client(base_url=probe_server.url, transport=transport, headers=headers, timeout=30) as c:
        made = [c.post("/v1/cases", json={"items": [image_item()]}) for _ in range(5)]
        assert all(r.status_code == 201 for r in made), [r.text for r in made]
        limited = c.post("/v1/cases", json={"items": [image_item()]})
        assert limited.status_code == 429 and "Too many cases" in limited.json()["detail"]
        case = made[0].json()
        auth = {"Authorization": f"Bearer {case['case_secret']}"}
        assert c.get(f"/v1/cases/{case['case_id']}", headers=auth).status_code == 200
        assert c.get("/v1/cases/TD-2222-2222", headers=auth).status_code == 404
        assert (
            c.post("/v1/cases", content=b"{bad", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
        assert c.delete(f"/v1/cases/{case['case_id']}", headers=auth).status_code == 200
    # The limit is per client: another address is not held back by the first one's bucket.
    with httpx.Client(base_url=probe_server.url, timeout=30) as other:
        assert other.post("/v1/cases", json={"items": [image_item()]}).status_code == 201

    stop_server(probe_server)  # flush and close everything before searching
    logs = probe_server.logs()
    data = database_bytes(probe_server)
    assert len(data) > 1000 and b"TD-" in data  # we are searching the real thing
    assert b"Uvicorn running" in logs or b"Registry listening" in logs
    for needle in (CLIENT_ADDRESS.encode(), agent.encode(), b"PrivacyProbe"):
        assert needle not in data, f"{needle!r} found in the database"
        assert needle not in logs, f"{needle!r} found in the server logs"
