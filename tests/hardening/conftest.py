"""Fixtures of the hardening tests: the registry's and the node's own server helpers, reused.

One real registry (uvicorn subprocess, SQLite file) and one real node following it, per session,
plus a few credentials of every kind for the authorization matrix.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.node.helpers import ADMIN_TOKEN, NodeProc, start_node
from tests.node.helpers import Registry as NodeRegistry
from tests.registry.helpers import (
    Server,
    bearer,
    cli,
    drop_database,
    image_item,
    make_database,
    start_server,
    stop_server,
)


@dataclass
class Creds:
    platform_key: str
    revoked_key: str
    rotated_old_key: str
    case_id: str
    case_secret: str
    other_case_id: str
    other_case_secret: str
    withdrawn_case_id: str
    withdrawn_case_secret: str


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    target = make_database("sqlite", tmp_path_factory.mktemp("hardening-db"))
    srv = start_server(target, tmp_path_factory.mktemp("hardening-registry"))
    yield srv
    stop_server(srv)
    drop_database(target)


def new_case(client: httpx.Client) -> tuple[str, str]:
    r = client.post("/v1/cases", json={"items": [image_item()]})
    assert r.status_code == 201, r.text
    return r.json()["case_id"], r.json()["case_secret"]


@pytest.fixture(scope="session")
def creds(registry_server: Server) -> Creds:
    db = registry_server.database_url
    key = cli("registry", "platform", "add", f"hard-{secrets.token_hex(3)}", database_url=db).stdout.strip()
    revoked_name = f"hard-revoked-{secrets.token_hex(3)}"
    revoked = cli("registry", "platform", "add", revoked_name, database_url=db).stdout.strip()
    cli("registry", "platform", "revoke", revoked_name, database_url=db)
    rotated_name = f"hard-rotated-{secrets.token_hex(3)}"
    old = cli("registry", "platform", "add", rotated_name, database_url=db).stdout.strip()
    cli("registry", "platform", "rotate", rotated_name, database_url=db)
    with registry_server.client() as c:
        case_id, secret = new_case(c)
        other_id, other_secret = new_case(c)
        wid, wsecret = new_case(c)
        assert c.delete(f"/v1/cases/{wid}", headers=bearer(wsecret)).status_code == 200
    return Creds(key, revoked, old, case_id, secret, other_id, other_secret, wid, wsecret)


@pytest.fixture(scope="session")
def node_server(registry_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProc]:
    key = cli(
        "registry",
        "platform",
        "add",
        f"hard-node-{secrets.token_hex(3)}",
        database_url=registry_server.database_url,
    ).stdout.strip()
    workdir: Path = tmp_path_factory.mktemp("hardening-node")
    node = start_node(
        NodeRegistry(registry_server.url, registry_server.database_url, registry_server.proc), key, workdir
    )
    yield node
    node.stop()


__all__ = ["ADMIN_TOKEN", "Creds"]
