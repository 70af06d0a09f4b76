"""Regression tests for what fuzzing found, each against the real servers (and the parser itself).

Every one of these was a 500 (or an unexpected exception) before its fix(hardening) commit.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from takeitdown.hashing import InvalidHash, parse_hash
from tests.hardening.conftest import ADMIN_TOKEN, Creds
from tests.node.helpers import NodeProc
from tests.registry.helpers import Server, bearer, random_pdq, read_all


def _refused_plainly(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


# -- hash parser: a non-string "type" (found by fuzz/fuzz.py hash_parse) -----------------------


@pytest.mark.parametrize("kind", [{}, [], ["pdq"], {"a": 1}])
def test_parse_hash_unhashable_type_is_invalid_hash(kind: object) -> None:
    with pytest.raises(InvalidHash):
        parse_hash({"type": kind, "value": "ab" * 32})


def test_registry_case_with_unhashable_hash_type(registry_server: Server) -> None:
    body = {"items": [{"kind": "image", "hashes": [{"type": {}}]}]}
    with registry_server.client() as c:
        r = c.post("/v1/cases", json=body)
    _refused_plainly(r, 422)
    assert "unknown hash type" in r.json()["rejected"][0]["reason"]


def test_node_match_with_unhashable_hash_type(node_server: NodeProc) -> None:
    r = httpx.post(node_server.url + "/v1/match", json={"hashes": [{"type": []}]}, headers=node_server.auth)
    _refused_plainly(r, 400)


# -- integers beyond SQLite's 64 bits (found by registry_api and node_api) ---------------------


@pytest.mark.parametrize("after", [2**63, 2**64, 10**30])
def test_registry_feed_cursor_beyond_int64(registry_server: Server, creds: Creds, after: int) -> None:
    with registry_server.client() as c:
        r = c.get("/v1/feed", params={"after": after}, headers=bearer(creds.platform_key))
    _refused_plainly(r, 422)


@pytest.mark.parametrize("entry_id", [2**63, 2**64, 10**30])
def test_registry_report_entry_id_beyond_int64(registry_server: Server, creds: Creds, entry_id: int) -> None:
    body = {"reports": [{"report_id": "regression-1", "entry_id": entry_id, "outcome": "removed"}]}
    with registry_server.client() as c:
        r = c.post("/v1/reports", json=body, headers=bearer(creds.platform_key))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 0 and r.json()["rejected"][0]["index"] == 0


@pytest.mark.parametrize("after", [2**63, -(2**63) - 1, 10**30])
def test_node_review_list_cursor_beyond_int64(node_server: NodeProc, after: int) -> None:
    r = httpx.get(node_server.url + "/v1/review", params={"after": after}, headers=node_server.auth)
    _refused_plainly(r, 400)


@pytest.mark.parametrize("review_id", [2**63, 2**64, 10**30])
def test_node_review_decision_id_beyond_int64(node_server: NodeProc, review_id: int) -> None:
    r = httpx.post(
        f"{node_server.url}/v1/review/{review_id}",
        json={"decision": "remove", "reviewer": "alice"},
        headers=node_server.auth,
    )
    _refused_plainly(r, 404)


@pytest.mark.parametrize("review_id", [2**63, 2**64, 10**30, -(2**63) - 1])
@pytest.mark.parametrize("method", ["GET item", "POST reveal"])
def test_node_console_item_id_beyond_int64(node_server: NodeProc, review_id: int, method: str) -> None:
    # found in review: OverflowError from the database driver, a 500
    if method == "GET item":
        r = httpx.get(f"{node_server.url}/v1/console/items/{review_id}", headers=node_server.auth)
    else:
        r = httpx.post(f"{node_server.url}/v1/console/items/{review_id}/reveal", headers=node_server.auth)
    _refused_plainly(r, 404)
    assert r.json()["code"] == "review.not_found"


# -- JSON nested deeper than the decoder's recursion limit (RecursionError, not ValueError) ----

DEEP = b"[" * 200_000


def test_registry_case_body_nested_too_deep(registry_server: Server) -> None:
    with registry_server.client() as c:
        r = c.post("/v1/cases", content=DEEP, headers={"Content-Type": "application/json"})
        _refused_plainly(r, 400)
        assert c.get("/healthz").status_code == 200


def test_registry_reports_body_nested_too_deep(registry_server: Server, creds: Creds) -> None:
    with registry_server.client() as c:
        r = c.post(
            "/v1/reports",
            content=b'{"reports":' + DEEP,
            headers={"Content-Type": "application/json", **bearer(creds.platform_key)},
        )
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.parametrize("path", ["/v1/match", "/v1/review/1"])
def test_node_bodies_nested_too_deep(node_server: NodeProc, path: str) -> None:
    r = httpx.post(
        node_server.url + path,
        content=b'{"hashes":' + DEEP,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    _refused_plainly(r, 400)


# -- image decoders: Pillow raising ValueError on a damaged APNG (found by fuzz image) ---------

# 221 bytes the fuzzer made from a PNG seed: Pillow's APNG reader raises
# "ValueError: APNG contains truncated fDAT chunk" from Image.open.
TRUNCATED_APNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000020000000181000000000eea87cab000000006664415449444154789c05c1694c15040000e0ef3d2125da683d561a60a45ddeb054b28326eb120e3aa2538b471c35d52b8a54db6319361be78c1d6e52a3db7a4b647a52b6810a456bb2c051e59644e9e5b2716a9409f95daabdae76d02569ba1df2926d15d06c84023b84d46bf7b2f592e51be131259e96a52eca5027e5abb3cc27e64937c819153e56e4793fbb60a538cfdae573593eb3dc46fdadf5af558adcece8ff31337db34a6227750000000049454e44ae426082"
)


# -- image decoders: libheif refusing a HEIC whose picture outgrows its header (fuzz image) ----

# 1,072 bytes the fuzzer made from the HEIC seed: the header says 32x24, the HEVC stream decodes
# to 64x536870976, and libheif's size limit surfaced as a RuntimeError from pillow-heif.
HEIC_LARGER_THAN_DECLARED = bytes.fromhex(
    "0000001c6674797068656963000000006d696631686569636d6961660000017c6d657461000000000000002168646c72"
    "0000000000000000706963740000000000000000000000000000000022696c6f63000000004440000100010000000001"
    "a0000100000000000002900000002369696e6600000000000100000015696e6665020000000001000068766331000000"
    "000e7069746d000000000001000000fc69707270000000dc6970636f0000007568766343010370000000900000000000"
    "1ef000fcfdf8f800000f03600001001840010c01ffff03700000030090000003000003001eba02406100010029420101"
    "03700000030090000003000003001ea020810596eaae9ae6e021a0c08000000c80000003008462000100064401c173c1"
    "8900000013636f6c726e636c780001000d000680000000146973706500000000000000402000004000000028636c6170"
    "00000020000000010000001800000001ffffffe000000002ffffffd80000000200000010706978690000000003080808"
    "0000001869706d6100000000000000010001058102030584000002986d6461740000028c2801af13209bd39c2bf52006"
    "07fbaffa7423afdc11256b31ab4058dbd20b1977d3ab9466e241733e4bbe0c39c72a15e82c02618bdd1a6f924dd9f192"
    "23ee9b94f1fb640bc895e9a89f239105d3e3649dfbe41fef538b26d6aabc964bdb3a30066de4b6d5726e22a3bc122a04"
    "9c52eeddb4dab6c0895a80d584ac6d8b0c036170212a18b809adae0e79244c49383943fff5285bfdb3e1d07efa818e44"
    "b2704772d99410989bd6b705877e3ef36b766dffd47f4a743b91e2156aa064808eff036a9f29104d941ecab5ccbd04a4"
    "adbb0eeb9f75d249d2fee10fb185c90a84f0aabec1f95dc74220e2f6b40b7533b5ce1a99e214a8499be47f5d79fe195e"
    "53f7813704cb7b3997699355f7590b04d28cfd47bbf3d41fa7d7dae30b885a2c1cbc994b5033d89460e1151ba0043b57"
    "bbe7523b4f11b14a4ea324a748c9c3998f594f28722e66d65ced6fb7efdc86ff320f53644c695cb28390b6490c7de9ea"
    "618eb6cb46eed311aeb88b984c1a2a1bd9d2f4a467bd2d45d4c356a589391a3576cfa96ec7832ba8d9d655331dd2aa00"
    "83b1097000321027ac31bfe5bbd41688aec70a1d5b3b7eba088e29a0615edd6053ded72f5d151dcabc4b4ba54334dac9"
    "5299a692f1afe1753534007099bca88287d1124add423feab4585ea056dd0e3cf46c4ea933c72cc17bdf2ee7e6730f72"
    "03b9cb13a549665ae4f7d02d1962e757bf1ecddabeae51cb273c4cd125dc734a814fa40b92fd3c89a580bc943c1fdf50"
    "af8d8966e0d7a40d3ccf7907dd6a5c1d8bb10e652c7cf4f80d53346d24749cc5eb577010ee680fe27373c9bc1991b6d3"
    "aac36976f760c1a880f7205ccc32a388038dc0e40cf84825b41df2f82fb05338f2ef48ffffab32c6548bfea645302bc7"
    "2a12ff24cf7ae12a1783a724fed608c0"
)


# -- image decoders: Pillow raising IndexError counting the frames of a cut-off GIF (fuzz image) --

# 1,760 bytes the CI fuzz run made from the GIF seed: `n_frames` reads past the end of the file.
TRUNCATED_GIF = bytes.fromhex(
    "47494638376120001800870000330000660000cc0000003300333300663300993300cc3300ff33000066003366006666"
    "00996600cc6600ff6600009900669900999900ff990000cc0033cc0066cc0099cc00cccc00ffcc0066ff0099ff00ccff"
    "00ffff00000033330033660033990033cc0033ff0033003333333333663333993333cc3333ff33330066333366336666"
    "33996633cc6633ff6633009933339933669933999933cc9933ff993300cc3333cc3366cc3399cc33cccc33ffcc3300ff"
    "3333ff3366ff3399ff33ccff33ffff33000066660066990066cc0066ff0066003366333366663366993366cc3366ff33"
    "66006666336666666666996666cc6666ff6666009966339966669966999966cc9966ff996600cc6633cc6666cc6699cc"
    "66cccc66ffcc6600ff6633ff6666ff66ccff66ffff66000099330099660099990099cc0099ff00990033993333996633"
    "99993399cc3399ff3399006699336699666699996699cc6699009999339999669999999999cc9999ff999900cc9933cc"
    "9966cc9999cc99cccc99ffcc9900ff9933ff9966ff9999ff99ccff99ffff990000cc3300cc6600cc9900cccc00ccff00"
    "cc0033cc3333cc6633cc9933cccc33ccff33cc0066cc3366cc6666cc9966cccc66ccff66cc0099cc3399cc6699cc9999"
    "cccc99ccff99cc00cccc33cccc66cccc99ccccccccccffcccc00ffcc33ffcc66ffcc99ffccccffccffffcc6600ff9900"
    "ffff00ff0033ff3333ff6633ff9933ffcc33ffff33ff3366ff6666818181818181818181818181818181818181818181"
    "818181818181818181818181818181ff9966ffcc66ffff66ff0099ff3399ff6699ff9999ffcc99ffff99ff00ccff33cc"
    "ff99ccffccccff33ffff66ffff99ffffccffffffffff0000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "6c6c6c6c6c6c6c6c6c6c6c002c00000000200018004008ff001fd1a0b346942d299a8ecc30516013894899ec20400408"
    "4403588a8ee869a1e84e9338285208b934c30997093222bd6a724616a4375636b1408001d81c4a7b728cd84062c89345"
    "0938e000854b439e2f6bea8ca9f1c18a1d15575c158232e74e234e79e224b1a1e9053105a3b00832e4c3139d2c8e64b0"
    "19f5000016251eee98b031a5899c537d9c2858c306c302336ae2c4f9f4c3cf09086848a47831ac4a955aabaca89964a5"
    "8d1435595c459871e30eaa5c58823069042954a8183cd44c6173a60d9459704994896023939624949c8ce06325cd280a"
    "5c583c70e567098a38a538451185665667122212a55021c3d81800000000000000000000007465787400000000464200"
    "0058595a20000000000000f6d6000100000000d32d58595a20000000000000031600000333000002a458595a20000000"
    "0000006fa2000038f50000039058595a2000000000000062990000b785000018da58595a2000000000000024a0000099"
    "9900ff990000cc0033cc0066cc0099cc00cccc00ffcc0066ff0099ff00ccff00ffff00000033330033660033990033cc"
    "0033ff0033003333333333663333993333cc3333ff3333006633336633666633996633cc6633ff663300993333993366"
    "9933999933cc9933ff993300cc3333cc3366cc3399cc33cccc33ffcc3300ff3333ff3366ff3399ff33ccff33ffff3300"
    "0066660066990066cc0066ff0066003366333366663366993366cc3366ff3366006666336666666666996666cc6666ff"
    "6666009966339966669966999966cc9966ff996600cc6633cc6666cc6699cc66cccc66ffcc6600ff6633ff6666ff66cc"
    "ff66ffff66000099330099660099990099cc0099ff0099003399333399663399993399cc3399ff339900669933669966"
    "6699996699cc6699009999339999669999999999cc9999ff999900cc9933cc9966cc9999cc99cccc99ffcc9900ff9933"
    "ff9966ff9999ff99ccff99ffff990000cc3300cc6600cc9900cccc00ccff00cc0033cc3333cc6633cc9933cccc33ccff"
    "33cc0066cc3366cc6666cc99e288194f6872080d396cd0c22f7d5c9201cc01b09032450c65cc51c20888a4e18a1c6178"
    "f08b0a457cb249295608800315952c1080271a6311c51a8594d04228aa9c21481a3ec4b083044b9f118c0e3db472ca11"
    "2414d0041ca248c2462458c0810924bc6432892875a831410199dc60891c46dc11820d7e9cc1c90f390830ca1a54dc90"
    "891cc4aca0051633045042270c7c314a25a240a2c307648ca206046a0404003b"
)


# Later CI fuzz runs (files in found/): Pillow raising struct.error on a GIF block cut short
# while counting frames, and TypeError ("Missing dimensions") on a TIFF page without its size tags.
FOUND = Path(__file__).parent / "found"

DAMAGED_IMAGES = [
    ("u.png", TRUNCATED_APNG),
    ("u.heic", HEIC_LARGER_THAN_DECLARED),
    ("u.gif", TRUNCATED_GIF),
    ("v.gif", (FOUND / "gif-block-cut-short.gif").read_bytes()),
    ("u.tif", (FOUND / "tiff-without-size.tif").read_bytes()),
]


def test_a_later_frame_that_is_a_bomb_ends_the_frames_not_the_hash() -> None:
    """A GIF whose second frame claims 5,167 megapixels (Pillow's DecompressionBombError on seek,
    found by the CI fuzz run): the frames before it are hashed, the bomb is never decoded."""
    from takeitdown.hashing import hash_image_bytes

    hashes = hash_image_bytes((FOUND / "gif-later-frame-bomb.gif").read_bytes())
    assert hashes.kind == "image" and hashes.md5.value


@pytest.mark.parametrize(("name", "data"), DAMAGED_IMAGES)
def test_damaged_image_is_a_hashing_error(tmp_path, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    from takeitdown.hashing import HashingError, hash_file, hash_image_bytes

    with pytest.raises(HashingError, match="damaged"):
        hash_image_bytes(data)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(HashingError, match="damaged"):
        hash_file(path)


@pytest.mark.parametrize(("name", "data"), DAMAGED_IMAGES)
def test_damaged_image_through_every_node_path(tmp_path, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    """Bytes (an upload), a path, and a scan all refuse it with a HashingError; the scan records
    the file with its reason and goes on to the next file (before, it stopped for good)."""
    from takeitdown.hashing import DamagedMedia
    from takeitdown.node.db import Database
    from takeitdown.node.matcher import Matcher, hash_for_matching
    from takeitdown.node.scan import scan
    from takeitdown.node.store import NodeStore
    from tests.node.helpers import conformance

    with pytest.raises(DamagedMedia):
        hash_for_matching(data)
    folder = tmp_path / "hosted"
    folder.mkdir()
    (folder / name).write_bytes(data)
    with pytest.raises(DamagedMedia):
        hash_for_matching(folder / name)
    (folder / "fine.jpg").write_bytes(conformance("pdq/bridge-mods/aaa-orig.jpg").read_bytes())
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    db.migrate()
    matcher = Matcher(NodeStore(db))
    for _ in range(2):  # a rerun does not trip over the damaged file either
        summary = scan(folder, matcher, workers=1)
        assert summary.total == 2
    assert summary.skipped == 2 and summary.errors == 0  # all recorded by the first run
    with db.read() as conn:
        rows = {r.item_id: (r.ok, r.error) for r in conn.execute(sa.text("SELECT * FROM node_scan_results"))}
    assert rows["fine.jpg"] == (True, None)
    ok, reason = rows[name]
    assert not ok and "damaged" in reason
    db.dispose()


@pytest.mark.parametrize(("name", "data"), DAMAGED_IMAGES)
def test_node_upload_of_damaged_image(node_server: NodeProc, name: str, data: bytes) -> None:
    r = httpx.post(node_server.url + "/v1/match", files={"file": (name, data)}, headers=node_server.auth)
    _refused_plainly(r, 422)


# -- the served OpenAPI documents (found by schemathesis, tests/hardening/test_api_fuzz.py) ----


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict, ref: str) -> object:  # type: ignore[type-arg]
    assert ref.startswith("#/"), ref
    node: object = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_registry_openapi_refs_resolve_and_statuses_documented(registry_server: Server) -> None:
    doc = httpx.get(registry_server.url + "/openapi.json").json()
    for ref in _refs(doc):
        _resolve(doc, ref)  # the case body's ItemIn was "#/$defs/ItemIn": unresolvable
    reports = doc["paths"]["/v1/reports"]["post"]["responses"]
    assert {"400", "401", "413", "422"} <= set(reports)
    header = doc["paths"]["/v1/cases"]["post"]["parameters"][0]
    assert header["name"] == "Idempotency-Key" and header["schema"]["minLength"] == 1


def test_node_openapi_matches_its_replies(node_server: NodeProc) -> None:
    doc = httpx.get(node_server.url + "/openapi.json", headers=node_server.auth).json()
    for ref in _refs(doc):
        _resolve(doc, ref)
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]
    assert "application/json" not in metrics.get("content", {})
    for path, method in [("/v1/review", "get"), ("/v1/review/{review_id}", "post"), ("/v1/match", "post")]:
        schema = doc["paths"][path][method]["responses"]["422"]["content"]["application/json"]["schema"]
        assert schema["properties"]["detail"]["type"] == "string", (path, schema)
    assert "requestBody" in doc["paths"]["/v1/match"]["post"]


# -- rate limit per IPv6 /64 (found reading ratelimit.py for the threat model) ------------------


def test_rate_limit_counts_an_ipv6_slash64_as_one_client() -> None:
    from takeitdown.ratelimit import RateLimiter

    limiter = RateLimiter(per_minute=60, burst=3)
    # An attacker rotating through the 2^64 addresses of one /64 used to get a fresh bucket each time.
    same_net = [f"2001:db8:1:2::{i:x}" for i in range(1, 6)]
    assert [limiter.allow(a) for a in same_net] == [True, True, True, False, False]
    assert limiter.allow("2001:db8:1:3::1")  # the next /64 is another client
    assert [limiter.allow("192.0.2.7") for _ in range(4)] == [True, True, True, False]  # IPv4: per address
    assert limiter.allow("192.0.2.8")
    assert limiter.allow("::ffff:192.0.2.9")  # IPv4-mapped stays per address
    assert limiter.allow(None) and limiter.allow("not-an-address")


# -- strings a database cannot store (found probing PostgreSQL, then by node_api) ---------------

BAD_TEXT = ["a\x00b", "\ud800", "x\udfffy"]  # NUL (PostgreSQL text refuses it), lone surrogates (not UTF-8)


def _report_body(report_id_json: str, entry_id: int) -> bytes:
    # Written by hand: httpx will not encode a lone surrogate, JSON's "\ud800" escape will.
    report = (
        f'{{"report_id": {report_id_json}, "entry_id": {entry_id}, "outcome": "removed", "content_ref": "c"}}'
    )
    return f'{{"reports": [{report}]}}'.encode()


def _reports_refuse_bad_text(server: Server, key: str) -> None:
    import json

    with server.client() as c:
        made = c.post(
            "/v1/cases", json={"items": [{"kind": "image", "hashes": [{"type": "md5", "value": "ef" * 16}]}]}
        )
        assert made.status_code == 201, made.text
        entries, _ = read_all(c, key)
        eid = entries[-1]["entry_id"]
        for text in BAD_TEXT:
            r = c.post("/v1/reports", content=_report_body(json.dumps(text), eid),
                       headers={"Content-Type": "application/json", **bearer(key)})  # fmt: skip
            assert 200 <= r.status_code < 500, (text, r.status_code, r.text)
            if r.status_code == 200:
                assert r.json()["accepted"] == 0 and r.json()["rejected"], r.text


def test_registry_report_id_unstorable_text_sqlite(registry_server: Server, creds: Creds) -> None:
    _reports_refuse_bad_text(registry_server, creds.platform_key)


@pytest.mark.postgres
def test_registry_report_id_nul_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.registry.helpers import cli, drop_database, make_database, start_server, stop_server

    target = make_database("postgresql", tmp_path)  # skips with a reason when unreachable
    server = start_server(target, tmp_path / "log")
    try:
        key = cli("registry", "platform", "add", "nul-check", database_url=target.url).stdout.strip()
        _reports_refuse_bad_text(server, key)  # "a\x00b" was a 500 on PostgreSQL
    finally:
        stop_server(server)
        drop_database(target)


def test_node_match_ref_with_unstorable_text(registry_server: Server, node_server: NodeProc) -> None:
    import json

    from tests.node.helpers import wait_for

    value = random_pdq()
    with registry_server.client() as c:
        body = {"items": [{"kind": "image", "hashes": [{"type": "pdq", "value": value, "quality": 90}]}]}
        assert c.post("/v1/cases", json=body).status_code == 201
    near = f"{int(value, 16) ^ ((1 << 20) - 1):064x}"  # 20 bits away: the review path stores `ref`
    headers = {"Content-Type": "application/json", **node_server.auth}

    def match(ref: str) -> httpx.Response:
        hashes = json.dumps([{"type": "pdq", "value": near, "quality": 90}])
        body = f'{{"hashes": {hashes}, "ref": {json.dumps(ref)}}}'
        return httpx.post(node_server.url + "/v1/match", content=body, headers=headers, timeout=30)

    wait_for(lambda: match("sync?").json()["verdict"] == "hold", timeout=60, what="the node to sync")
    for text in BAD_TEXT:  # "\ud800" was a 500 (UnicodeEncodeError storing the review item)
        r = match(text)  # stored cleaned; its reports' content_ref is a digest (not printable)
        assert r.status_code == 200 and r.json()["verdict"] == "hold", (text, r.status_code, r.text)
    items = httpx.get(
        node_server.url + "/v1/review", params={"status": "all", "limit": 1000}, headers=node_server.auth
    )
    assert items.status_code == 200, items.text


# -- video: a stream FFmpeg finds but has no decoder for (fuzz video) ---------------------------

# 1,594 bytes the CI fuzz run made from a video seed: the stream's codec_context is None.
VIDEO_WITHOUT_DECODER = bytes.fromhex(
    "5249464656380000415649204c495354ec1100006864726c617669683800000090d00300000000000000000010090000"
    "080000000000000001000000000010002000000020000000000000000000000000000000000000004c49535494100000"
    "7374726c7374726838000000766964734d4a504700000000000000000000000001000000040000000000000008000000"
    "f8050000ffffffff0000000000000000200020007374726628000000280000002000000020000000010018004d524946"
    "4656380000415649204c495354ec1100006864726c6176696838b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
    "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
    "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b100000090d00300"
    "000000000000000010090000080000000000000001000000000010002000000020000000000000000000000000000000"
    "000000004c495354941000007374726c7374726838000000766964734d4a504700000000000000000000000001000000"
    "040000000000000008000000f8050000ffffffff00000000000000002000200073747266280000002800000020000000"
    "20000000010018004d4a5047000c0000000000000000000000000000000000004a554e4b181000000400000000000000"
    "3030646300000000000000000000000000000000000000000000003b0000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000002e00000000000000000000000000000000000000000000000000000000000000000000000000010000000400"
    "00000000000008000000f8050000ffffffff000000000000000020002000737472662800000028000000200000002000"
    "0000010018004d4a5047000c0000000000000000000000000000000000004a554e4b1810000004000000000000003030"
    "646300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000"
)


def test_video_without_a_decoder_is_a_hashing_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from takeitdown.hashing import DamagedMedia, hash_file
    from takeitdown.node.matcher import hash_for_matching

    path = tmp_path / "clip.mp4"
    path.write_bytes(VIDEO_WITHOUT_DECODER)
    for call in (
        lambda: hash_file(path),
        lambda: hash_for_matching(path),
        lambda: hash_for_matching(VIDEO_WITHOUT_DECODER),
    ):
        with pytest.raises(DamagedMedia):
            call()
