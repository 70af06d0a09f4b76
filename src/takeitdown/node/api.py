"""The node's HTTP API: match, review, health and metrics.

Every endpoint but /healthz and /metrics needs `Authorization: Bearer <TAKEITDOWN_NODE_ADMIN_TOKEN>`.
Errors are `{"detail": "..."}` with a 4xx; nothing a client sends can produce a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from takeitdown.hashing import HashingError, InvalidHash, parse_hash
from takeitdown.node.console_api import is_open_console_path, mount_console, session_user
from takeitdown.node.service import Node
from takeitdown.node.store import ReviewError
from takeitdown.node.takedown_api import is_public as is_takedown_path
from takeitdown.node.takedown_api import mount_takedown
from takeitdown.node.users import is_user_token
from takeitdown.protocol import PROBLEM_SCHEMA, Problem, ProblemCode
from takeitdown.ratelimit import RateLimiter
from takeitdown.sqldb import RETRY_AFTER_SECONDS, is_unavailable

log = logging.getLogger("takeitdown.node.api")

OPEN_PATHS = {"/healthz", "/livez", "/readyz", "/metrics"}
# Failed per-user tokens a client may send a minute (each may cost a scrypt check). Failed tokens
# never lock the account they name: anyone can write `u<id>.<anything>`.
FAILED_TOKENS_PER_MINUTE = 30
FAILED_TOKENS_BURST = 30
# Our errors are protocol.Problem bodies {"code", "detail"}, not FastAPI's default list.
PROBLEM: dict[int | str, dict[str, Any]] = {
    code: {"description": "Error", "content": {"application/json": {"schema": PROBLEM_SCHEMA}}}
    for code in (400, 401, 403, 404, 409, 422)
}
# The body is read by hand (size limit first), so FastAPI cannot infer it: described here.
MATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["hashes"],
                    "properties": {
                        "hashes": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 100,
                            "items": {"type": "object"},
                        },
                        "ref": {"type": "string"},
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}, "ref": {"type": "string"}},
                }
            },
        },
    }
}


class TooLarge(Exception):
    pass


MAX_REF = 1024
MAX_ACCOUNT = 256


class RefTooLong(ValueError):
    pass


def _clean_ref(ref: str, limit: int = MAX_REF) -> str:
    """The caller's reference as the database can store it: no lone surrogate (JSON allows
    "\\ud800", UTF-8 does not) and no NUL (PostgreSQL text refuses it). Longer than `limit`:
    refused (RefTooLong), never cut, since a cut ref could name another item."""
    if len(ref) > limit:
        raise RefTooLong
    return ref.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


REVIEW_STATUSES = ("pending", "escalated", "removed", "not_a_match", "withdrawn", "all")
ACTION_STATUSES = ("pending", "upheld", "released", "lifted", "all")


def _error(
    status: int, code: ProblemCode, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(Problem(status, code, detail, extra).to_wire(), status_code=status, headers=headers)


_HTTP_CODES = {
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    413: ProblemCode.BODY_TOO_LARGE,
    415: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
    503: ProblemCode.UNAVAILABLE,
}


class TooSlow(Exception):
    pass


async def _read_limited(request: Request, limit: int, seconds: float = 30.0) -> bytes:
    """The body, at most `limit` bytes (plus room for a multipart envelope), read within
    `seconds` in all: a body that trickles in forever would hold a connection for good."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit + 64 * 1024:  # room for the multipart envelope
                    raise TooLarge
                chunks.append(chunk)
    except TimeoutError:
        raise TooSlow from None
    return b"".join(chunks)


def _too_slow(seconds: float) -> JSONResponse:
    return _error(
        408, ProblemCode.BODY_TOO_SLOW, f"The request body did not arrive within {seconds:g} seconds."
    )


def create_app(node: Node, admin_token: str, start_threads: bool = True) -> FastAPI:
    token = admin_token.encode()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start_threads:
            node.start()
        try:
            yield
        finally:
            node.stop()

    app = FastAPI(title="takeitdown platform node", lifespan=lifespan)
    limit = node.settings.max_upload_bytes
    body_seconds = node.settings.body_timeout_seconds
    # File checks at once: each may hold a decoder's memory and a core; more wait briefly, then 503.
    checks = asyncio.Semaphore(node.settings.max_concurrent_checks)
    failed_tokens = RateLimiter(FAILED_TOKENS_PER_MINUTE, FAILED_TOKENS_BURST)
    check_wait = node.settings.check_wait_seconds

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        # Machines send the admin token; people their own token or the console's session cookie
        # (with the CSRF token on every call that changes something). request.state.user is the
        # person (None for the admin token), so a decision always knows who made it.
        request.state.user = None
        path = request.url.path
        if path not in OPEN_PATHS and not is_open_console_path(path) and not is_takedown_path(path):
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            given = given.strip()
            ok = scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token)
            if not ok and scheme.lower() == "bearer" and is_user_token(given):
                client = request.client.host if request.client else None
                room = failed_tokens.has_room(client)  # over the limit: only recently verified tokens
                user = await run_in_threadpool(node.users.from_token, given, room)
                ok = user is not None
                request.state.user = user
                if not ok:
                    failed_tokens.wait_for(client, 1.0)
                    if not room:
                        return _error(
                            429,
                            ProblemCode.RATE_LIMITED,
                            "Too many wrong tokens from this client; wait a minute.",
                            {"Retry-After": "60"},
                        )
            if not ok and not header:
                problem = await run_in_threadpool(session_user, node, request)
                if problem is not None:
                    return problem
                ok = request.state.user is not None
            if not ok:
                return _error(
                    401,
                    ProblemCode.AUTH_INVALID if given else ProblemCode.AUTH_MISSING,
                    "Send the node's admin token or your own token as `Authorization: Bearer <token>`, "
                    "or sign in to the console.",
                    {"WWW-Authenticate": "Bearer"},
                )
        try:
            return await call_next(request)
        except Exception as exc:  # noqa: BLE001 - a client never sees a traceback
            if is_unavailable(exc):
                log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
                return _error(
                    503,
                    ProblemCode.UNAVAILABLE,
                    "The node's database is busy; try again shortly.",
                    {"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            log.exception("unexpected error on %s", request.url.path)
            return _error(500, ProblemCode.INTERNAL, "Internal error; the node logged it.")

    @app.exception_handler(RequestValidationError)
    async def _validation(_r: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        detail = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return _error(422, ProblemCode.BODY_SHAPE, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(
            exc.status_code, _HTTP_CODES.get(exc.status_code, ProblemCode.BODY_SHAPE), str(exc.detail)
        )

    @app.get("/healthz")
    def healthz() -> Any:
        return node.health()

    @app.get("/livez", summary="Liveness: the process answers")
    def livez() -> Any:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: synced, registry reachable, lag within bounds, database up")
    def readyz() -> Any:
        reasons = node.readiness()
        if reasons:
            return _error(
                503, ProblemCode.UNAVAILABLE, "; ".join(reasons), {"Retry-After": "10"}, reasons=reasons
            )
        return {"status": "ready"}

    @app.get("/metrics", response_class=Response)  # Prometheus text, not JSON, in the OpenAPI too
    def metrics() -> Response:
        node.health()  # refresh gauges
        return Response(generate_latest(node.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/match", responses=PROBLEM, openapi_extra=MATCH_BODY)
    async def match(request: Request) -> Any:
        ctype = request.headers.get("content-type", "")
        try:
            body = await _read_limited(request, limit, body_seconds)
        except TooSlow:
            return _too_slow(body_seconds)
        except TooLarge:
            return _error(
                413,
                ProblemCode.BODY_TOO_LARGE,
                f"The upload is larger than the node's limit of {limit // 2**20} MB.",
            )
        ref: str | None = None
        if ctype.startswith("multipart/form-data"):
            request._body = body  # let Starlette parse what we already read under the limit
            try:
                form = await request.form()
            except Exception:  # noqa: BLE001 - malformed multipart
                return _error(400, ProblemCode.BODY_SHAPE, "Could not read the multipart form.")
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return _error(
                    400, ProblemCode.BODY_MISSING_FIELD, 'Send the file in a multipart field named "file".'
                )
            data = await upload.read()
            raw_ref = form.get("ref")
            raw_account = form.get("account")
            source: Any = data
        elif ctype.startswith("application/json"):
            try:
                payload = json.loads(body)
            except (ValueError, RecursionError):  # RecursionError: nesting too deep
                return _error(400, ProblemCode.BODY_NOT_JSON, "The body is not valid JSON.")
            hashes = payload.get("hashes") if isinstance(payload, dict) else None
            if not isinstance(hashes, list) or not hashes:
                return _error(
                    400, ProblemCode.BODY_SHAPE, 'Send {"hashes": [{"type": ..., "value": ...}, ...]}.'
                )
            if len(hashes) > 100:
                return _error(400, ProblemCode.BODY_SHAPE, "At most 100 hashes a request.")
            try:
                source = [parse_hash(h) for h in hashes]
            except InvalidHash as e:
                return _error(400, ProblemCode.HASH_INVALID, f"Invalid hash: {e}", hash_code=e.code)
            raw_ref = payload.get("ref")
            raw_account = payload.get("account")
        else:
            return _error(
                415,
                ProblemCode.UNSUPPORTED_MEDIA_TYPE,
                "Send multipart/form-data with a `file`, or application/json with `hashes`.",
            )
        try:
            ref = _clean_ref(str(raw_ref)) if raw_ref not in (None, "") else None
        except RefTooLong:
            return _error(422, ProblemCode.REF_TOO_LONG, f"ref is longer than {MAX_REF} characters.")
        try:
            account = _clean_ref(str(raw_account), MAX_ACCOUNT) if raw_account not in (None, "") else None
        except RefTooLong:
            return _error(
                422, ProblemCode.ACCOUNT_INVALID, f"account is longer than {MAX_ACCOUNT} characters."
            )
        if isinstance(source, list):  # hashes only: a lookup, no decoding
            return await _check(source, ref, account)
        try:
            if checks.locked():  # every slot busy: wait a little for one
                await asyncio.wait_for(checks.acquire(), check_wait)
            else:
                await checks.acquire()
        except TimeoutError:
            return _error(
                503,
                ProblemCode.UNAVAILABLE,
                f"The node is checking {node.settings.max_concurrent_checks} files already; retry shortly.",
                {"Retry-After": "2"},
            )
        try:
            return await _check(source, ref, account)
        finally:
            checks.release()

    async def _check(source: Any, ref: str | None, account: str | None) -> Any:
        try:
            checked = await run_in_threadpool(node.check_upload, source, ref, account)
        except HashingError as e:
            return _error(
                422, ProblemCode.UPLOAD_UNREADABLE, f"Could not hash the file: {e}", media_code=e.code
            )
        return checked.to_json()

    @app.get("/v1/review", responses=PROBLEM)
    def review_list(status: str = "pending", limit: int = 100, after: int = 0, order: str = "id") -> Any:
        if status not in REVIEW_STATUSES:
            return _error(400, ProblemCode.QUERY_INVALID, f"status must be {', '.join(REVIEW_STATUSES)}")
        if order not in ("id", "priority"):
            return _error(400, ProblemCode.QUERY_INVALID, "order must be id or priority")
        if not 1 <= limit <= 1000:
            return _error(400, ProblemCode.QUERY_INVALID, "limit must be from 1 to 1000")
        if not 0 <= after < 2**63:  # beyond SQLite's integers
            return _error(400, ProblemCode.QUERY_INVALID, "after must be a review id from 0 to 2**63-1")
        return {"items": node.store.list_review(status, limit, after, by_priority=order == "priority")}

    @app.get("/v1/actions", responses=PROBLEM)
    def actions_list(status: str = "all", limit: int = 100, after: int = 0) -> Any:
        """Every block and hold the node made (read-only): for review and appeal."""
        if status not in ACTION_STATUSES:
            return _error(400, ProblemCode.QUERY_INVALID, f"status must be {', '.join(ACTION_STATUSES)}")
        if not 1 <= limit <= 1000:
            return _error(400, ProblemCode.QUERY_INVALID, "limit must be from 1 to 1000")
        if not 0 <= after < 2**63:
            return _error(400, ProblemCode.QUERY_INVALID, "after must be an action id from 0 to 2**63-1")
        return {"actions": node.store.list_actions(status, limit, after)}

    @app.get("/v1/actions/{action_id}", responses=PROBLEM)
    def action_get(action_id: int) -> Any:
        found = node.store.get_action(action_id) if 0 < action_id < 2**63 else None
        if found is None:
            return _error(404, ProblemCode.NOT_FOUND, f"No action {action_id}.")
        return found

    @app.post("/v1/review/{review_id}", responses=PROBLEM)
    async def review_decide(review_id: int, request: Request) -> Any:
        if not 0 < review_id < 2**63:  # beyond SQLite's integers: cannot exist
            return _error(404, ProblemCode.REVIEW_NOT_FOUND, f"No review item {review_id}.")
        try:
            payload = json.loads(await _read_limited(request, 64 * 1024, body_seconds))
        except TooSlow:
            return _too_slow(body_seconds)
        except (ValueError, RecursionError, TooLarge):  # RecursionError: nesting too deep
            return _error(400, ProblemCode.BODY_SHAPE, 'Send JSON {"decision": "remove" | "not_a_match"}.')
        payload = payload if isinstance(payload, dict) else {}
        decision = payload.get("decision")
        reason = payload.get("reason")
        policy_reason = payload.get("policy_reason")
        if policy_reason is not None and (
            not isinstance(policy_reason, str)
            or not 1 <= len(policy_reason) <= 1000
            or not policy_reason.isprintable()
        ):
            return _error(
                400, ProblemCode.BODY_SHAPE, "policy_reason must be 1 to 1000 printable characters."
            )
        user = request.state.user
        if user is not None:
            person = user.name
        else:  # the admin token: the platform's own tool names the person it authenticated
            named = payload.get("reviewer")
            person = f"{named} (admin token)" if isinstance(named, str) and 0 < len(named) <= 128 else None
        try:
            return await run_in_threadpool(
                node.decide,
                review_id,
                str(decision),
                person,
                str(reason) if reason is not None else None,
                policy_reason,
            )
        except ReviewError as e:
            return _error(e.status, e.code, e.detail)

    mount_console(app, node)
    # The legal request form and its API are public by law: anyone, with or without an account.
    mount_takedown(
        app,
        node.takedown,
        node.client,
        node.settings.takedown_rate_per_minute,
        platform_name=node.settings.platform_name,
        notice=node.settings.takedown_notice,
    )
    _document_problems(app)

    return app


def _document_problems(app: FastAPI) -> None:
    """Validation errors are answered as problem bodies (the handler above), so the OpenAPI
    document says so for every route instead of FastAPI's default list of dicts."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                for response in op.get("responses", {}).values():
                    body = response.get("content", {}).get("application/json", {})
                    if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        body["schema"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
