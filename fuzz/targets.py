"""Fuzz targets: one function per parser or decoder, shared by atheris (fuzz/fuzz.py) and the CI tests.

Each target takes raw bytes and either returns or raises `Finding`. The invariant everywhere:
only the documented errors escape (`InvalidHash` for hash values, `HashingError` for files, a
4xx for an HTTP request); any other exception, and any 5xx, is a finding.

The HTTP targets call the real FastAPI apps in-process through ASGI (no socket): the same code
uvicorn runs, tens of times faster per input, so the fuzzer gets through far more inputs. The
requests are built the way uvicorn would hand them over (ASCII path, latin-1 header values
without CR/LF), so a finding here is reachable over the wire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

# Pixel cap for the image targets: the check is the same code whatever the cap; a lower one keeps
# fuzzed "10000x10000 PNG" headers from spending seconds on pixels that only burn time.
FUZZ_MAX_PIXELS = 4_000_000


class Finding(AssertionError):
    """An input broke the invariant: an undocumented exception or a 5xx escaped."""

    def __init__(self, message: str, signature: str | None = None) -> None:
        super().__init__(message)
        self.signature = signature


_FRAME = re.compile(r'File "[^"]*/(takeitdown/[^"]+)", line (\d+)')
_EXC = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit|Interrupt)\w*):", re.M)


def log_signature(route: str, status: int, log: str) -> str:
    """'route -> status ExcType at takeitdown/file.py:line' from a server's logged traceback."""
    frames = _FRAME.findall(log)
    excs = _EXC.findall(log)
    where = f"{frames[-1][0]}:{frames[-1][1]}" if frames else "?"
    return f"{route} -> {status} {excs[-1] if excs else '?'} at {where}"


# -- structured values from bytes ---------------------------------------------------------------


class Bytes:
    """A tiny FuzzedDataProvider that works without atheris (hypothesis and seeds use it too)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def int_in(self, low: int, high: int) -> int:
        span = high - low + 1
        if span <= 256:
            return low + self.byte() % span
        return low + int.from_bytes(self.take(8), "big") % span

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def text(self, max_len: int = 40) -> str:
        n = self.int_in(0, max_len)
        return self.take(n).decode("utf-8", "replace")

    def pick(self, options: list[Any]) -> Any:
        return options[self.byte() % len(options)]


KEYS = [
    "type", "value", "quality", "frames", "i", "t", "q", "pdq", "items", "kind", "hashes",
    "reports", "report_id", "entry_id", "outcome", "decision", "ref", "md5", "sha256", "vpdq",
]  # fmt: skip
WORDS = [
    "pdq", "md5", "sha256", "vpdq", "image", "video", "removed", "match_found", "upload_blocked",
    "false_positive", "remove", "not_a_match", "", "PDQ", "add", "\x00", "a\x00b", "\ud800", "\udfff x",
]  # fmt: skip
INTS = [0, 1, -1, 49, 50, 100, 101, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]
FLOATS = [0.0, -0.0, 1.5, -1.0, float("inf"), float("-inf"), float("nan"), 1e308, 5e-324]


def json_value(b: Bytes, depth: int = 0) -> Any:
    """A JSON-like value biased towards the wire format's keys, types and edge values."""
    kind = b.byte() % (12 if depth < 4 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return bool(b.byte() & 1)
    if kind == 2:
        return b.pick(INTS) if b.byte() & 1 else b.int_in(-(2**40), 2**40)
    if kind == 3:
        return b.pick(FLOATS)
    if kind == 4:
        return b.pick(WORDS)
    if kind == 5:
        return b.take(b.pick([16, 32, 8, 1, 0])).hex()  # hex of length 32/64/16/2/0
    if kind in (6, 7):
        return b.text()
    if kind in (8, 9):
        return [json_value(b, depth + 1) for _ in range(b.int_in(0, 4))]
    out: dict[str, Any] = {}
    for _ in range(b.int_in(0, 5)):
        key = b.pick(KEYS) if b.byte() % 4 else b.text(8)
        out[key] = json_value(b, depth + 1)
    return out


def hash_object(b: Bytes) -> Any:
    """A hash object that is valid-shaped most of the time, with one or two fields mutated."""
    kind = b.pick(["pdq", "md5", "sha256", "vpdq", "pdq", "other", "near"])
    obj: dict[str, Any]
    if kind == "near":  # a few bits from the entry the fuzz node holds: the review path
        n = int("ab" * 32, 16)
        for _ in range(b.int_in(0, 40)):
            n ^= 1 << b.int_in(0, 255)
        return {"type": "pdq", "value": f"{n:064x}", "quality": b.int_in(0, 100)}
    if kind == "pdq":
        obj = {"type": "pdq", "value": b.take(32).hex().ljust(64, "0"), "quality": b.int_in(0, 100)}
    elif kind == "md5":
        obj = {"type": "md5", "value": b.take(16).hex().ljust(32, "0")}
    elif kind == "sha256":
        obj = {"type": "sha256", "value": b.take(32).hex().ljust(64, "0")}
    elif kind == "vpdq":
        frames = [
            {"i": n, "t": float(n), "q": b.int_in(0, 100), "pdq": b.take(32).hex().ljust(64, "0")}
            for n in range(b.int_in(1, 3))
        ]
        obj = {"type": "vpdq", "frames": frames}
    else:
        return json_value(b)
    for _ in range(b.int_in(0, 2)):
        target: Any = obj
        now = obj.get("frames")
        if kind == "vpdq" and b.byte() & 1 and isinstance(now, list) and now:
            target = now[0]
        if not isinstance(target, dict):
            break
        key = b.pick([*target.keys(), b.pick(KEYS)])
        if b.byte() % 5 == 0:
            target.pop(key, None)
        else:
            target[key] = json_value(b, 2)
    return obj


# -- target 1: hash parsers -------------------------------------------------------------------


def target_hash_parse(data: bytes) -> None:
    from takeitdown.hashing import InvalidHash, PdqHash, VpdqHash, parse_hash

    b = Bytes(data)
    mode = b.byte() % 4
    try:
        if mode == 0:
            try:
                obj = json.loads(b.take(b.remaining()))
            except (ValueError, RecursionError):
                return
        else:
            obj = hash_object(b) if mode in (1, 2) else json_value(b)
        h = parse_hash(obj)
        # What a parsed value prints must parse and print the same again (a stable wire form: the
        # registry's dedup key is built from it). Not `again == h`: vPDQ times print rounded to ms.
        wire = h.to_json()
        again = parse_hash(json.loads(json.dumps(wire))).to_json()
        if again != wire:
            raise Finding(f"round trip changed {wire!r} into {again!r}")
        if isinstance(obj, dict) and "value" in obj:
            PdqHash.parse(obj.get("value"), obj.get("quality"))
        if isinstance(obj, dict) and "frames" in obj:
            VpdqHash.parse(obj.get("frames"))
    except InvalidHash:
        return
    except Finding:
        raise
    except Exception as exc:  # noqa: BLE001 - the finding itself
        raise Finding(f"parse_hash raised {type(exc).__name__}: {exc}") from exc


# -- target 2: image decoders -------------------------------------------------------------------


def target_image(data: bytes) -> None:
    from takeitdown.hashing import HashingError, hash_image_bytes

    try:
        h = hash_image_bytes(data, max_pixels=FUZZ_MAX_PIXELS)
    except HashingError:
        return
    except Exception as exc:  # noqa: BLE001
        raise Finding(f"hash_image_bytes raised {type(exc).__name__}: {exc}") from exc
    if len(h.pdq.value) != 64 or h.pdq.quality is None or not 0 <= h.pdq.quality <= 100:
        raise Finding(f"bad PDQ from a decoded image: {h.pdq!r}")


# -- target 3: the video path (hash_file decides by content) -------------------------------------

_tmpdir = tempfile.mkdtemp(prefix="takeitdown-fuzz-")


def target_video(data: bytes) -> None:
    from takeitdown.hashing import HashingError, hash_file

    path = Path(_tmpdir) / f"input-{threading.get_ident()}.bin"
    path.write_bytes(data)
    try:
        hash_file(path, max_pixels=FUZZ_MAX_PIXELS)
    except HashingError:
        return
    except Exception as exc:  # noqa: BLE001
        raise Finding(f"hash_file raised {type(exc).__name__}: {exc}") from exc
    finally:
        path.unlink(missing_ok=True)


# -- target 4: the registry's request validation (pure functions) --------------------------------


def target_registry_validation(data: bytes) -> None:
    from takeitdown.protocol import InvalidReport, Report
    from takeitdown.registry import keys
    from takeitdown.registry.validation import BadRequest, case_pairs, parse_items

    b = Bytes(data)
    mode = b.byte() % 3
    try:
        if mode == 0:
            try:
                body = json.loads(b.take(b.remaining()))
            except (ValueError, RecursionError):
                return
        elif mode == 1:
            items = [
                {
                    "kind": b.pick(["image", "video", "other"]),
                    "hashes": [hash_object(b) for _ in range(b.int_in(0, 3))],
                }
                for _ in range(b.int_in(0, 3))
            ]
            body = {"items": items} if b.byte() % 8 else json_value(b)
        else:
            body = json_value(b)
        try:
            pairs = case_pairs(body)
        except BadRequest:
            pairs = []
        parsed = parse_items(pairs)
        if parsed.items + len(parsed.rejected) != len(pairs):
            raise Finding("parse_items lost or doubled an item")
        for row in parsed.hashes.values():
            if row.type in ("pdq", "sha256", "vpdq") and len(row.value) != 64:
                raise Finding(f"stored value of the wrong length: {row!r}")
        try:  # the report parser refuses with InvalidReport and nothing else
            Report.parse(body, require_content_ref=True)
        except InvalidReport as exc:
            if not str(exc):
                raise Finding("report refused without a reason") from exc
        text = b.text(120)
        keys.bearer_token(text)
        keys.normalize_case_id(text)
        keys.split_platform_key(text)
    except Finding:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Finding(f"registry validation raised {type(exc).__name__}: {exc}") from exc


# -- in-process ASGI calls ---------------------------------------------------------------------

TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ErrorLog(logging.Handler):
    """Keeps the last logged error so a 5xx finding carries the server's own traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = self.format(record)


class AsgiCaller:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)
        logging.getLogger().setLevel(logging.ERROR)

    def call(
        self, method: str, raw_path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._call(method, raw_path, query, headers, body))

    async def _call(
        self, method: str, raw_path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent_body = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # a real client keeps the connection open
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        self.errors.last = ""
        try:
            await asyncio.wait_for(self.app(scope, receive, send), timeout=60)
        except Exception as exc:  # noqa: BLE001
            raise Finding(f"{method} {raw_path} raised {type(exc).__name__}: {exc}") from exc
        return status, b"".join(chunks)

    def check(
        self, method: str, raw_path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> int:
        status, out = self.call(method, raw_path, query, headers, body)
        if status >= 500 or status == 0:
            route = f"{method} /" + "/".join(unquote(raw_path).split("/")[1:3])
            raise Finding(
                f"{method} {raw_path}?{query!r} -> {status} {out[:300]!r}\nbody {body[:300]!r}\n"
                f"headers {headers!r}\nserver log:\n{self.errors.last[-3000:]}",
                log_signature(route, status, self.errors.last),
            )
        if status >= 400:
            try:
                detail = json.loads(out).get("detail")
            except (ValueError, AttributeError):
                detail = None
            if not isinstance(detail, str) or not detail:
                raise Finding(f"{method} {raw_path} -> {status} without a plain detail: {out[:300]!r}")
        return status


def header_value(b: Bytes, good: list[str]) -> bytes:
    """A header value as uvicorn would deliver it: latin-1, no CR/LF/NUL, stripped."""
    if good and b.byte() % 3:
        value = b.pick(good)
        if b.byte() % 4 == 0:  # mangle a good value a little
            value = b.pick(["", "bearer ", "Bearer  ", "Basic ", "BEARER "]) + value.split(" ", 1)[-1]
        raw = value.encode("latin-1", "replace")
    else:
        raw = b.take(b.int_in(0, 80))
    return bytes(c for c in raw if c not in (0, 10, 13)).strip(b" \t")


def query_string(b: Bytes, names: list[str]) -> bytes:
    parts = []
    for _ in range(b.int_in(0, 3)):
        name = b.pick(names) if b.byte() % 4 else b.text(6)
        value = (
            b.pick([str(v) for v in INTS] + ["", "abc", "1e3", "0x10", "-0", " 5", "٣"])
            if b.byte() & 1
            else b.text(12)
        )
        parts.append(quote(name, safe="") + "=" + quote(value, safe=""))
    return "&".join(parts).encode()


def path_segment(b: Bytes, good: list[str]) -> str:
    if good and b.byte() % 3:
        return quote(b.pick(good), safe="")
    return quote(b.text(30), safe="")


# -- target 5: the registry over ASGI ------------------------------------------------------------

_registry: dict[str, Any] = {}


def registry_app() -> dict[str, Any]:
    """One registry app on a throwaway SQLite file, with a platform key and a case to aim at."""
    if _registry:
        return _registry
    os.environ["TAKEITDOWN_CASE_RATE_PER_MINUTE"] = "0"
    from takeitdown.registry.api import create_app
    from takeitdown.registry.config import Settings

    path = Path(tempfile.mkdtemp(prefix="takeitdown-fuzz-reg-")) / "registry.db"
    # FUZZ_REGISTRY_DATABASE_URL=postgresql://... runs the same target on PostgreSQL (a fresh database).
    url = os.environ.get("FUZZ_REGISTRY_DATABASE_URL") or f"sqlite:///{path}"
    app = create_app(Settings(database_url=url, case_rate_per_minute=0))
    store = app.state.store
    tag = os.urandom(3).hex()  # a reused database already has these names
    key = store.platform_add(f"fuzz-platform-{tag}")
    revoked = store.platform_add(f"fuzz-revoked-{tag}")
    store.platform_revoke(f"fuzz-revoked-{tag}")
    caller = AsgiCaller(app)
    body = json.dumps(
        {
            "items": [
                {
                    "kind": "image",
                    "hashes": [
                        {"type": "pdq", "value": "ab" * 32, "quality": 90},
                        {"type": "md5", "value": "cd" * 16},
                    ],
                }
            ]
        }
    ).encode()
    status, out = caller.call("POST", "/v1/cases", b"", [(b"content-type", b"application/json")], body)
    assert status == 201, out
    case = json.loads(out)
    _registry.update(
        caller=caller, key=key, revoked=revoked, case_id=case["case_id"], secret=case["case_secret"]
    )
    return _registry


def target_registry_api(data: bytes) -> None:
    r = registry_app()
    b = Bytes(data)
    auths = [
        f"Bearer {r['key']}",
        f"Bearer {r['secret']}",
        f"Bearer {r['revoked']}",
        "Bearer tdk_0123456789ab_" + "x" * 40,
    ]
    ids = [r["case_id"], r["case_id"].lower(), "TD-2222-2222", "td 2222 2222", ""]
    route = b.byte() % 6
    headers: list[tuple[bytes, bytes]] = []
    if b.byte() % 4:
        headers.append((b"authorization", header_value(b, auths)))
    ctype = header_value(
        b, ["application/json", "text/plain", "application/json; charset=utf-8", "multipart/form-data"]
    )
    headers.append((b"content-type", ctype))
    if b.byte() % 5 == 0:
        headers.append((b"idempotency-key", header_value(b, ["k1", "x" * 201, ""])))
    if route == 0 or route == 1:  # POST /v1/cases: structured most of the time, raw bytes else
        if route == 0:
            items = [
                {
                    "kind": b.pick(["image", "video", "x"]),
                    "hashes": [hash_object(b) for _ in range(b.int_in(0, 3))],
                }
                for _ in range(b.int_in(0, 3))
            ]
            value: Any = {"items": items} if b.byte() % 6 else json_value(b)
            body = json.dumps(value).encode()
        elif b.byte() % 4 == 0:  # deep nesting: the JSON decoder's recursion limit
            depth = b.int_in(1, 200_000)
            body = b"[" * depth + b.take(b.remaining()) + b"]" * (depth if b.byte() & 1 else 0)
        else:
            body = b.take(b.remaining())
        r["caller"].check("POST", "/v1/cases", b"", headers, body)
    elif route == 2:
        method = b.pick(["GET", "DELETE", "HEAD", "PUT"])
        path = "/v1/cases/" + path_segment(b, ids)
        r["caller"].check(method, path, b"", headers, b"")
    elif route == 3:
        r["caller"].check("GET", "/v1/feed", query_string(b, ["after", "limit"]), headers, b"")
    elif route == 4:
        reports = [
            {
                "report_id": b.pick(["r1", "r2", b.text(10), ""]),
                "entry_id": b.pick(INTS) if b.byte() & 1 else json_value(b, 3),
                "outcome": b.pick(WORDS),
            }
            for _ in range(b.int_in(0, 3))
        ]
        value = {"reports": reports} if b.byte() % 6 else json_value(b)
        for report in reports if b.byte() % 4 == 0 else []:
            report.pop(b.pick(["report_id", "entry_id", "outcome"]))
        r["caller"].check("POST", "/v1/reports", b"", headers, json.dumps(value).encode())
    else:
        path = b.pick(
            [
                "/",
                "/healthz",
                "/metrics",
                "/index.html",
                "/docs",
                "/openapi.json",
                "/../etc/passwd",
                "/%2e%2e/",
            ]
        )
        r["caller"].check(
            b.pick(["GET", "POST", "HEAD", "OPTIONS"]), path + quote(b.text(10)), b"", headers, b""
        )


# -- target 6: the node over ASGI ----------------------------------------------------------------

_node: dict[str, Any] = {}
NODE_TOKEN = "fuzz-admin-token-0123456789"


def node_app() -> dict[str, Any]:
    """A node app (no sync threads) on a throwaway SQLite file, holding a few entries."""
    if _node:
        return _node
    from takeitdown.node.api import create_app
    from takeitdown.node.service import Node, NodeSettings

    path = Path(tempfile.mkdtemp(prefix="takeitdown-fuzz-node-")) / "node.db"
    node = Node(
        NodeSettings(
            registry_url="http://127.0.0.1:9",
            api_key="unused",
            database_url=f"sqlite:///{path}",
            max_upload_bytes=1 << 20,
        )
    )
    page = [
        {
            "seq": 1,
            "op": "add",
            "type": "pdq",
            "value": "ab" * 32,
            "quality": 90,
            "entry_id": 1,
            "frames": None,
        },
        {
            "seq": 2,
            "op": "add",
            "type": "md5",
            "value": "cd" * 16,
            "quality": None,
            "entry_id": 2,
            "frames": None,
        },
        {
            "seq": 3,
            "op": "add",
            "type": "vpdq",
            "value": "ef" * 32,
            "quality": None,
            "entry_id": 3,
            "frames": [
                {"i": 0, "t": 0.0, "q": 90, "pdq": "ab" * 32},
                {"i": 30, "t": 1.0, "q": 90, "pdq": "ab" * 31 + "00"},
            ],
        },
    ]
    node.matcher.apply(node.store.apply_page(page, 3))
    app = create_app(node, NODE_TOKEN, start_threads=False)
    _node.update(caller=AsgiCaller(app), node=node)
    return _node


def multipart(b: Bytes, file_bytes: bytes) -> tuple[bytes, bytes]:
    boundary = b.pick([b"xyzBOUNDARY", b"", b"--", b"a" * 71])
    name = b.pick([b"file", b"ref", b"other", b""])
    parts = [
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name + b'"; filename="u.jpg"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + file_bytes + b"\r\n"
    ]
    if b.byte() & 1:
        parts.append(
            b"--"
            + boundary
            + b'\r\nContent-Disposition: form-data; name="ref"\r\n\r\n'
            + b.take(20)
            + b"\r\n"
        )
    body = b"".join(parts) + (b"--" + boundary + b"--\r\n" if b.byte() % 4 else b"")
    return b"multipart/form-data; boundary=" + boundary, body


def target_node_api(data: bytes) -> None:
    n = node_app()
    b = Bytes(data)
    auths = [f"Bearer {NODE_TOKEN}"] * 6 + ["Bearer nope", ""]
    headers = [(b"authorization", header_value(b, auths))] if b.byte() % 8 else []
    route = b.byte() % 5
    caller: AsgiCaller = n["caller"]
    if route in (0, 1):  # JSON hashes
        value: Any = {"hashes": [hash_object(b) for _ in range(b.int_in(0, 4))], "ref": json_value(b, 3)}
        if b.byte() % 6 == 0:
            value = json_value(b)
        if route == 0:
            body = json.dumps(value).encode()
        elif b.byte() % 4 == 0:  # deep nesting: the JSON decoder's recursion limit
            body = b'{"hashes":' + b"[" * b.int_in(1, 200_000) + b.take(b.remaining())
        else:
            body = b.take(b.remaining())
        ctype = header_value(b, ["application/json"] * 5 + ["text/plain", "application/json; x"])
        caller.check("POST", "/v1/match", b"", [*headers, (b"content-type", ctype)], body)
    elif route == 2:  # a file upload: the decoders behind the node's own multipart parsing
        ctype, body = multipart(b, b.take(b.remaining()))
        caller.check("POST", "/v1/match", b"", [*headers, (b"content-type", ctype)], body)
    elif route == 3:
        caller.check("GET", "/v1/review", query_string(b, ["status", "limit", "after"]), headers, b"")
    else:
        rid = (
            b.pick(["1", "0", "-1", str(2**63), str(10**30), "abc", "1.5"])
            if b.byte() & 1
            else quote(b.text(10), safe="")
        )
        value = {"decision": b.pick(WORDS)} if b.byte() % 3 else json_value(b)
        caller.check(b.pick(["POST", "GET"]), "/v1/review/" + rid, b"", headers, json.dumps(value).encode())


TARGETS: dict[str, Callable[[bytes], None]] = {
    "hash_parse": target_hash_parse,
    "image": target_image,
    "video": target_video,
    "registry_validation": target_registry_validation,
    "registry_api": target_registry_api,
    "node_api": target_node_api,
}

# libFuzzer max_len per target: big enough for the seeds, small enough to stay fast.
MAX_LEN = {
    "hash_parse": 4096,
    "image": 65536,
    "video": 65536,
    "registry_validation": 4096,
    "registry_api": 8192,
    "node_api": 65536,
}

__all__ = ["FUZZ_MAX_PIXELS", "MAX_LEN", "TARGETS", "Bytes", "Finding"]
