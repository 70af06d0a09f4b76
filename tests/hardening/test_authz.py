"""Authorization matrix: every endpoint of the registry and of the node, with every wrong credential.

For each protected endpoint: no credential, a malformed header, a wrong value, a case secret where
a platform key is due and the reverse, a revoked key, a rotated-out key, another case's secret, the
node's admin token on the registry and the platform key on the node. Each must be refused, and the
right credential must be accepted (so the test can fail). Every operation in each server's live
OpenAPI must appear here, classified as protected or public on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.hardening.conftest import ADMIN_TOKEN, Creds
from tests.node.helpers import NodeProc
from tests.registry.helpers import METRICS_TOKEN, Server, image_item

NO_CASE = {"code": "case.not_found", "detail": "No case with that number and secret."}


@dataclass
class Endpoint:
    method: str
    path: str  # with {case_id} filled in by the test
    body: dict | None = None  # type: ignore[type-arg]


def _call(base: str, ep: Endpoint, auth: str | None, path: str | None = None) -> httpx.Response:
    headers = {} if auth is None else {"Authorization": auth}
    return httpx.request(ep.method, base + (path or ep.path), json=ep.body, headers=headers, timeout=30)


def _openapi_ops(url: str, headers: dict[str, str] | None = None) -> set[str]:
    doc = httpx.get(url + "/openapi.json", headers=headers or {}, timeout=30).json()
    return {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops}


# -- registry ------------------------------------------------------------------------------------

# anonymous by design
REGISTRY_PUBLIC = {"POST /v1/cases", "GET /healthz", "GET /livez", "GET /readyz", "GET /metrics"}
REGISTRY_PLATFORM = {
    "GET /v1/feed": Endpoint("GET", "/v1/feed?after=0&limit=5"),
    "POST /v1/reports": Endpoint("POST", "/v1/reports", {"reports": []}),
}
REGISTRY_CASE = {"GET /v1/cases/{case_id}": "GET", "DELETE /v1/cases/{case_id}": "DELETE"}


def test_registry_matrix_covers_every_operation(registry_server: Server) -> None:
    ops = _openapi_ops(registry_server.url)
    assert ops == REGISTRY_PUBLIC | set(REGISTRY_PLATFORM) | set(REGISTRY_CASE), ops


def _platform_refusals(c: Creds) -> dict[str, str | None]:
    return {
        "none": None,
        "empty bearer": "Bearer",
        "basic scheme": f"Basic {c.platform_key}",
        "no scheme": c.platform_key,
        "wrong key": "Bearer tdk_0123456789ab_" + "A" * 43,
        "garbage": "Bearer not-a-key",
        "key with last char changed": "Bearer "
        + c.platform_key[:-1]
        + ("A" if c.platform_key[-1] != "A" else "B"),
        "case secret": f"Bearer {c.case_secret}",
        "revoked key": f"Bearer {c.revoked_key}",
        "rotated-out key": f"Bearer {c.rotated_old_key}",
        "node admin token": f"Bearer {ADMIN_TOKEN}",
    }


@pytest.mark.parametrize("op", list(REGISTRY_PLATFORM))
def test_registry_platform_endpoints_refuse_wrong_credentials(
    registry_server: Server, creds: Creds, op: str
) -> None:
    ep = REGISTRY_PLATFORM[op]
    for name, auth in _platform_refusals(creds).items():
        r = _call(registry_server.url, ep, auth)
        assert r.status_code == 401, (op, name, r.status_code, r.text)
        assert r.headers.get("www-authenticate") == "Bearer", (op, name)
        assert "entries" not in r.text and "accepted" not in r.text, (op, name)
    ok = _call(registry_server.url, ep, f"Bearer {creds.platform_key}")
    assert ok.status_code == 200, ok.text


def _case_refusals(c: Creds) -> dict[str, tuple[str, str | None, int]]:
    """name -> (case id, Authorization, expected status)."""
    return {
        "none": (c.case_id, None, 401),
        "empty bearer": (c.case_id, "Bearer", 401),
        "basic scheme": (c.case_id, f"Basic {c.case_secret}", 401),
        "wrong secret": (c.case_id, "Bearer " + "x" * 32, 404),
        "secret with last char changed": (c.case_id, "Bearer " + c.case_secret[:-1] + "A", 404),
        "another case's secret": (c.case_id, f"Bearer {c.other_case_secret}", 404),
        "platform key": (c.case_id, f"Bearer {c.platform_key}", 404),
        "node admin token": (c.case_id, f"Bearer {ADMIN_TOKEN}", 404),
        "right secret, unknown case": ("TD-2222-2222", f"Bearer {c.case_secret}", 404),
        "right secret, other case": (c.other_case_id, f"Bearer {c.case_secret}", 404),
    }


@pytest.mark.parametrize("op", list(REGISTRY_CASE))
def test_registry_case_endpoints_refuse_wrong_credentials(
    registry_server: Server, creds: Creds, op: str
) -> None:
    method = REGISTRY_CASE[op]
    for name, (case_id, auth, status) in _case_refusals(creds).items():
        r = _call(registry_server.url, Endpoint(method, f"/v1/cases/{case_id}"), auth)
        assert r.status_code == status, (op, name, r.status_code, r.text)
        if status == 404:  # unknown case and wrong secret look the same: no case-id oracle
            assert r.json() == NO_CASE, (op, name, r.text)
    # Nothing was withdrawn by any of those attempts.
    st = _call(
        registry_server.url, Endpoint("GET", f"/v1/cases/{creds.case_id}"), f"Bearer {creds.case_secret}"
    )
    assert st.status_code == 200 and st.json()["status"] == "active", st.text
    other = f"/v1/cases/{creds.other_case_id}"
    assert (
        _call(registry_server.url, Endpoint("GET", other), f"Bearer {creds.other_case_secret}").json()[
            "status"
        ]
        == "active"
    )


def test_registry_case_right_secret_accepted(registry_server: Server, creds: Creds) -> None:
    with registry_server.client() as c:
        r = c.post("/v1/cases", json={"items": [image_item()]})
        case_id, secret = r.json()["case_id"], r.json()["case_secret"]
        assert (
            c.get(f"/v1/cases/{case_id.lower()}", headers={"Authorization": f"Bearer {secret}"}).status_code
            == 200
        )
        d = c.delete(f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"})
        assert d.status_code == 200 and d.json()["status"] == "withdrawn", d.text
        # A withdrawn case is still readable with its own secret, and still refused without it.
        w = creds.withdrawn_case_id
        assert (
            c.get(
                f"/v1/cases/{w}", headers={"Authorization": f"Bearer {creds.withdrawn_case_secret}"}
            ).json()["status"]
            == "withdrawn"
        )
        assert (
            c.get(f"/v1/cases/{w}", headers={"Authorization": f"Bearer {creds.case_secret}"}).status_code
            == 404
        )


def test_registry_public_endpoints_need_nothing(registry_server: Server) -> None:
    with registry_server.client() as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/metrics").status_code == 401  # the operator's token only (issue 11)
        assert c.post("/v1/cases", json={"items": [image_item()]}).status_code == 201


# -- node ----------------------------------------------------------------------------------------

NODE_PUBLIC = {
    "GET /healthz",
    "GET /livez",
    "GET /readyz",
    "GET /metrics",
    # The TAKE IT DOWN Act form is open to anyone by law; reading or adding to a request needs
    # its secret (tests/node/test_takedown.py attacks those).
    "POST /v1/takedown-requests",
    "GET /v1/takedown-requests/{request_id}",
    "POST /v1/takedown-requests/{request_id}/information",
}
NODE_ADMIN: dict[str, Callable[[], Endpoint]] = {
    "GET /v1/actions": lambda: Endpoint("GET", "/v1/actions"),
    "GET /v1/actions/{action_id}": lambda: Endpoint("GET", "/v1/actions/1"),
    "GET /v1/audit": lambda: Endpoint("GET", "/v1/audit"),
    "GET /v1/audit/export": lambda: Endpoint("GET", "/v1/audit/export"),
    "GET /v1/audit/verify": lambda: Endpoint("GET", "/v1/audit/verify"),
    "GET /v1/console/health": lambda: Endpoint("GET", "/v1/console/health"),
    "GET /v1/console/items/{review_id}": lambda: Endpoint("GET", "/v1/console/items/1"),
    "POST /v1/console/items/{review_id}/reveal": lambda: Endpoint("POST", "/v1/console/items/1/reveal", {}),
    "GET /v1/console/queue": lambda: Endpoint("GET", "/v1/console/queue"),
    "GET /v1/desk/requests": lambda: Endpoint("GET", "/v1/desk/requests"),
    "GET /v1/desk/requests/{request_id}": lambda: Endpoint("GET", "/v1/desk/requests/TR-2222-2222"),
    "POST /v1/desk/requests/{request_id}/{action}": lambda: Endpoint(
        "POST", "/v1/desk/requests/TR-2222-2222/remove", {}
    ),
    "GET /v1/users": lambda: Endpoint("GET", "/v1/users"),
    "POST /v1/users": lambda: Endpoint("POST", "/v1/users", {"name": "mallory", "role": "admin"}),
    "POST /v1/users/{name}/disable": lambda: Endpoint("POST", "/v1/users/alice/disable", {}),
    "GET /v1/webhooks/dead": lambda: Endpoint("GET", "/v1/webhooks/dead"),
    "POST /v1/webhooks/dead/{row}/retry": lambda: Endpoint("POST", "/v1/webhooks/dead/1/retry", {}),
    "POST /v1/match": lambda: Endpoint(
        "POST", "/v1/match", {"hashes": [{"type": "md5", "value": "ab" * 16}]}
    ),
    "GET /v1/review": lambda: Endpoint("GET", "/v1/review"),
    "POST /v1/review/{review_id}": lambda: Endpoint(
        "POST", "/v1/review/999999", {"decision": "remove", "reviewer": "alice"}
    ),
}
NODE_DOCS = ["/openapi.json", "/docs", "/redoc"]  # the API description is behind the token too


def test_node_matrix_covers_every_operation(node_server: NodeProc) -> None:
    ops = _openapi_ops(node_server.url, node_server.auth)
    assert ops == NODE_PUBLIC | set(NODE_ADMIN), ops


def test_node_refuses_wrong_credentials(node_server: NodeProc, creds: Creds) -> None:
    refusals = {
        "none": None,
        "empty bearer": "Bearer",
        "basic scheme": f"Basic {ADMIN_TOKEN}",
        "no scheme": ADMIN_TOKEN,
        "wrong token": "Bearer " + "y" * len(ADMIN_TOKEN),
        "token prefix": f"Bearer {ADMIN_TOKEN[:-1]}",
        "token plus a char": f"Bearer {ADMIN_TOKEN}x",
        "registry platform key": f"Bearer {creds.platform_key}",
        "case secret": f"Bearer {creds.case_secret}",
    }
    for op, make in NODE_ADMIN.items():
        for name, auth in refusals.items():
            r = _call(node_server.url, make(), auth)
            assert r.status_code == 401, (op, name, r.status_code, r.text)
            assert "verdict" not in r.text and "items" not in r.text, (op, name)
    for path in NODE_DOCS:
        for name, auth in refusals.items():
            r = _call(node_server.url, Endpoint("GET", path), auth)
            assert r.status_code == 401, (path, name, r.status_code)


def test_node_right_token_accepted(node_server: NodeProc) -> None:
    auth = f"Bearer {ADMIN_TOKEN}"
    assert _call(node_server.url, NODE_ADMIN["POST /v1/match"](), auth).json()["verdict"] == "allow"
    assert _call(node_server.url, NODE_ADMIN["GET /v1/review"](), auth).status_code == 200
    assert (
        _call(node_server.url, NODE_ADMIN["POST /v1/review/{review_id}"](), auth).status_code == 404
    )  # past auth
    assert _call(node_server.url, Endpoint("GET", "/openapi.json"), auth).status_code == 200
    assert httpx.get(node_server.url + "/healthz").status_code == 200
    assert httpx.get(node_server.url + "/metrics").status_code == 200


def test_public_endpoints_reveal_no_hash_and_no_case(registry_server: Server, node_server: NodeProc) -> None:
    """What anyone can read (/healthz, /metrics, the OpenAPI of the registry) names no hash or case."""
    item = image_item()
    with registry_server.client() as c:
        made = c.post("/v1/cases", json={"items": [item]}).json()
        c.get(f"/v1/cases/{made['case_id']}", headers={"Authorization": f"Bearer {made['case_secret']}"})
        public = [c.get(p).text for p in ("/healthz", "/metrics", "/openapi.json", "/")]
        public.append(c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text)
    public += [httpx.get(node_server.url + p, timeout=30).text for p in ("/healthz", "/metrics")]
    needles = [h["value"] for h in item["hashes"]] + [made["case_id"], made["case_secret"]]
    for text in public:
        for needle in needles:
            assert needle not in text and needle.lower() not in text.lower()
