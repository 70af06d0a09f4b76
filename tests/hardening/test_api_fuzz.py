"""API fuzzing with schemathesis against the live OpenAPI of the registry and of the node.

Real uvicorn servers on loopback (the session fixtures of conftest.py). For every operation,
schemathesis generates requests from the served `/openapi.json` (valid and, in the negative
phase, invalid ones) and checks each response: never a 5xx, and the body matches the response
schema the server itself documents, with the documented content type. Bounded: SCHEMATHESIS_EXAMPLES
(default 30) examples per operation and mode. Credentials are the right ones for each route, so
the requests get past authorization into the handlers (the refusals have their own test).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.hardening.conftest import ADMIN_TOKEN, Creds
from tests.node.helpers import NodeProc
from tests.registry.helpers import (
    Server,
    cli,
    drop_database,
    image_item,
    make_database,
    start_server,
    stop_server,
)

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis not installed (pip install -e '.[test]')"
)
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz_operation(
    op: Any, mode: Any, base_url: str, headers: dict[str, str], checks: list[Any]
) -> dict[int, int]:
    counts: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)  # fmt: skip
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks)

    try:
        run()
    except Unsatisfiable:
        # e.g. negative data for an operation without parameters or body: nothing can be invalid
        assert mode == GenerationMode.NEGATIVE, f"no positive example for {op.label}"
    return counts


def _run_operations(
    base_url: str, headers_for: Any, extra_checks: list[Any], modes: list[Any]
) -> dict[str, Any]:
    # The node's schema itself is behind the admin token: load it with the same headers.
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", headers=headers_for("/openapi.json"))
    seen: dict[str, Any] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in modes:
            seen[f"{op.label} [{mode.value}]"] = _fuzz_operation(
                op, mode, base_url, headers_for(op.path), CHECKS + extra_checks
            )
    return seen


def test_registry_openapi_fuzz(registry_server: Server, creds: Creds) -> None:
    def headers_for(path: str) -> dict[str, str]:
        if path.startswith("/v1/cases/"):
            return {"Authorization": f"Bearer {creds.case_secret}"}
        return {"Authorization": f"Bearer {creds.platform_key}"}

    seen = _run_operations(
        registry_server.url,
        headers_for,
        [status_code_conformance],
        [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    )
    assert any("POST /v1/cases" in k for k in seen), seen
    assert not any(code >= 500 for counts in seen.values() for code in counts), seen
    # The run got past authorization into the handlers: feed pages served, submissions judged.
    assert seen["GET /v1/feed [positive]"].get(200, 0) > 0, seen
    assert seen["POST /v1/cases [positive]"].get(422, 0) > 0, seen
    with registry_server.client() as c:
        assert c.get("/healthz").status_code == 200
    print("registry schemathesis status counts:", seen)


def test_node_openapi_fuzz(node_server: NodeProc) -> None:
    seen = _run_operations(
        node_server.url,
        lambda _path: {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        [],
        [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    )
    assert any("/v1/review" in k for k in seen), seen
    assert not any(code >= 500 for counts in seen.values() for code in counts), seen
    assert node_server.health()["status"] == "ok"
    print("node schemathesis status counts:", seen)


@pytest.mark.postgres
def test_registry_openapi_fuzz_postgresql(tmp_path: Path) -> None:
    """The same on PostgreSQL, which refuses what SQLite stores (a NUL in text was a 500 there)."""
    target = make_database("postgresql", tmp_path)  # skips with a reason when unreachable
    server = start_server(target, tmp_path / "log")
    try:
        key = cli("registry", "platform", "add", "schemathesis-pg", database_url=target.url).stdout.strip()
        with server.client() as c:
            secret = c.post("/v1/cases", json={"items": [image_item()]}).json()["case_secret"]

        def headers_for(path: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {secret if path.startswith('/v1/cases/') else key}"}

        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        seen = _run_operations(server.url, headers_for, [status_code_conformance], modes)
        assert not any(code >= 500 for counts in seen.values() for code in counts), seen
        assert seen["GET /v1/feed [positive]"].get(200, 0) > 0, seen
        print("registry (PostgreSQL) schemathesis status counts:", seen)
    finally:
        stop_server(server)
        drop_database(target)
