"""Fixtures: a real registry server (uvicorn in a subprocess) on SQLite and on PostgreSQL.

Every test that uses `server` runs twice, once per database. PostgreSQL: a fresh database
`takeitdown_test_<random>` on 127.0.0.1:5432 (user postgres), dropped afterwards; skipped with
a reason when no server answers there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.registry.helpers import (
    DatabaseTarget,
    Server,
    cli,
    drop_database,
    make_database,
    start_server,
    stop_server,
)

DB_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session", params=DB_PARAMS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseTarget]:
    target = make_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    yield target
    drop_database(target)


@pytest.fixture(scope="session")
def server(database: DatabaseTarget, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(database, tmp_path_factory.mktemp(f"server-{database.kind}"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def platform_key(server: Server) -> str:
    """A platform key made through the real CLI."""
    out = cli(
        "registry", "platform", "add", f"platform-{secrets.token_hex(3)}", database_url=server.database_url
    )
    return out.stdout.strip()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
