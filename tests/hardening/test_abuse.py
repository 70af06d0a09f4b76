"""Abusive takedowns (hashes of lawful content): what stands between a bad submission and a removal.

Against the real registry and node: a near match goes to human review instead of being blocked;
the reviewer's "not a match" travels back to the registry as a false_positive the case shows;
a low-quality PDQ (which matches too much) never reaches the node.
"""

from __future__ import annotations

import secrets

import httpx

from tests.node.helpers import NodeProc, wait_for
from tests.registry.helpers import Server, bearer, random_pdq


def _flip(hex64: str, bits: int) -> str:
    n = int(hex64, 16)
    for b in range(bits):
        n ^= 1 << (b * 7)
    return f"{n:064x}"


def test_near_match_goes_to_review_and_not_a_match_reaches_the_case(
    registry_server: Server, node_server: NodeProc
) -> None:
    lawful = random_pdq()  # stands for the PDQ of someone else's lawful photo
    low_q = secrets.token_hex(32)
    items = [
        {"kind": "image", "hashes": [{"type": "pdq", "value": v, "quality": q}]}
        for v, q in ((lawful, 90), (low_q, 30))
    ]
    body = {"items": items}
    with registry_server.client() as c:
        made = c.post("/v1/cases", json=body).json()
    auth = node_server.auth

    def match(value: str) -> dict:  # type: ignore[type-arg]
        r = httpx.post(node_server.url + "/v1/match", headers=auth, timeout=30,
                       json={"hashes": [{"type": "pdq", "value": value, "quality": 90}]})  # fmt: skip
        assert r.status_code == 200, r.text
        return r.json()

    # The node syncs the hash. An anonymous (unconfirmed) entry never blocks on its own: an exact
    # PDQ copy is held for a reviewer (not posted, not removed for good), a near copy too.
    wait_for(lambda: match(lawful)["verdict"] == "hold", timeout=60, what="the node to sync the case")
    exact = match(lawful)
    assert exact["final"] is False and "review_id" in exact and "action_id" in exact, exact
    near = match(_flip(lawful, 20))
    assert near["verdict"] == "hold" and "review_id" in near, near
    # Quality 30 is kept with the case but never distributed: the node cannot match it.
    assert match(low_q)["verdict"] == "allow"

    # The reviewer says it is not a match: the registry hears it, and the case shows it.
    r = httpx.post(f"{node_server.url}/v1/review/{near['review_id']}",
                   json={"decision": "not_a_match", "reviewer": "alice"},
                   headers=auth, timeout=30)  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "not_a_match", r.text

    def outcomes() -> dict | None:  # type: ignore[type-arg]
        with registry_server.client() as c:
            st = c.get(f"/v1/cases/{made['case_id']}", headers=bearer(made["case_secret"])).json()
        return st["outcomes"] if st["outcomes"]["false_positive"] >= 1 else None

    got = wait_for(outcomes, timeout=60, what="the false_positive report to reach the registry")
    assert got["false_positive"] == 1 and got["removed"] == 0, got
